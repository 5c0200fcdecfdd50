"""Over the integrated graph, the compiled executor answers what graphql-core answers.

The same documents go to the application as served (compiled execution) and to one with
``compiled_execution`` off, for the same tenant and data: pages with nested lists and cross-module
fields, ``node``/``nodes`` with fragments, aliases, @skip/@include, bad input, a missing permission
and a switched-off module. Data, errors and the actual cost must be identical.
"""

from __future__ import annotations

import pytest

from tests.modules.orders.conftest import PERMISSIONS, Shop, same


@pytest.fixture
async def shop_with_orders(shop: Shop) -> Shop:
    jade, lin = await shop.customer("Jade Tea House"), await shop.customer("Lin Bakery", tags=["vip"])
    tea = await shop.stocked("TEA", on_hand="40", unitPrice="12.50", unit="kg")
    cup = await shop.stocked("CUP", on_hand="3", unitPrice="4.99")
    for customer, lines in ((jade, [{"productId": tea, "quantity": "2"}, {"productId": cup, "quantity": "1"}]),
                            (lin, [{"productId": cup, "quantity": "5"}]),
                            (jade, [{"productId": tea, "quantity": "1.5", "discountPercent": "10"}])):
        made = await shop.order(customer, lines)
        assert made["userErrors"] == [], made
        await shop.act("orderSubmit", made["order"]["id"])
    return shop


PAGE = """query($first: Int!, $withLines: Boolean!) { orders(first: $first) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { id number status channel tracking: trackingLink total { amount currencyCode }
    customer { name tags __typename } ...Lines @include(if: $withLines)
    discount: discountTotal @skip(if: $withLines) { amount } } } } }
fragment Lines on Order { lines { sku quantity backordered unitPrice { amount } discountPercent
  product { sku unitPrice { amount } stockLevels { onHand reserved warehouse { code } } } } }"""


async def test_pages_fragments_and_directives(shop_with_orders: Shop, gql, reference):
    who = {"tenant": shop_with_orders.tenant, "permissions": PERMISSIONS}
    body = await same(gql, reference, PAGE, {"first": 2, "withLines": True}, **who)
    assert body["data"]["orders"]["totalCount"] == 3 and len(body["data"]["orders"]["edges"]) == 2
    assert "lines" in body["data"]["orders"]["edges"][0]["node"]
    body = await same(gql, reference, PAGE, {"first": 10, "withLines": False}, **who)
    assert "lines" not in body["data"]["orders"]["edges"][0]["node"]
    await same(gql, reference, """{ customers(first: 10) { nodes { name contacts { firstName }
        opportunities { name } orders { number status lines { quantity } } } } }""", **who)


async def test_nodes_with_fragments_and_ids_that_find_nothing(shop_with_orders: Shop, gql, reference):
    who = {"tenant": shop_with_orders.tenant, "permissions": PERMISSIONS}
    page = await gql("{ orders(first: 1) { nodes { id customer { id } lines { id product { id } } } } }", **who)
    order = page["data"]["orders"]["nodes"][0]
    ids = [order["id"], order["customer"]["id"], order["lines"][0]["id"], order["lines"][0]["product"]["id"],
           "T3JkZXI6bm90LWEtdXVpZA", "nonsense"]
    await same(gql, reference, """query($ids: [ID!]!) { nodes(ids: $ids) { __typename id
        ... on Order { number lines { sku } } ... on Customer { name } ... on Product { sku }
        ... on OrderLine { quantity } } }""", {"ids": ids}, **who)


async def test_errors_permissions_and_modules(shop_with_orders: Shop, gql, reference, make_tenant):
    who = {"tenant": shop_with_orders.tenant, "permissions": PERMISSIONS}
    body = await same(gql, reference, "{ orders(first: 999) { totalCount } }", **who)
    assert body["errors"][0]["path"] == ["orders"]
    # graphql-core starts root fields concurrently on the request's one session: when one fails while
    # another is mid-query, the transaction breaks and the answer is an internal error. The compiled
    # executor runs root fields in order and answers with the field's own error.
    body = await gql("{ orders(first: 999) { totalCount } customers(first: 1) { totalCount } }", **who)
    assert body["data"] is None and [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    body = await same(gql, reference, '{ orders(first: 1, after: "not a cursor") { totalCount } }', **who)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    crm_only = {"tenant": shop_with_orders.tenant, "permissions": ("crm.read",)}
    body = await same(gql, reference, "{ customers(first: 5) { nodes { name orders { number } } } }", **crm_only)
    assert {c["orders"] == [] for c in body["data"]["customers"]["nodes"]} == {True}
    body = await same(gql, reference, "{ orders { totalCount } }", **crm_only)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    bare = await make_tenant(modules=["crm"])
    body = await same(gql, reference, "{ orders { totalCount } }", tenant=bare, permissions=PERMISSIONS)
    assert body["errors"][0]["extensions"]["code"] == "MODULE_DISABLED"
    await same(gql, reference, "query($n: Int!) { orders(first: $n) { totalCount } }", {"n": "x"}, **who)


async def test_only_the_selected_columns_are_loaded(shop_with_orders: Shop, python_path, reference, count_sql):
    """On the Python path (SQL subtrees off), loaders select only the columns of the selected fields."""
    gql = python_path
    who = {"tenant": shop_with_orders.tenant, "permissions": PERMISSIONS}
    query = "{ orders(first: 5) { nodes { number lines { quantity product { sku } } customer { name } } } }"
    count_sql.statements.clear()
    assert "errors" not in await gql(query, **who)
    compiled = list(count_sql.statements)
    await same(gql, reference, query, **who)
    orders_sql = next(s for s in compiled if "FROM ord_order " in s and "ord_order_line" not in s)
    lines_sql = next(s for s in compiled if "FROM ord_order_line" in s)
    assert "ord_order.number" in orders_sql and "billing_address" not in orders_sql and "notes" not in orders_sql
    assert "ord_order_line.quantity" in lines_sql and "line_total" not in lines_sql
    assert not any("crm_customer.email" in s for s in compiled)
    # The same types with other fields in one request: each selection loads what it needs.
    await same(gql, reference, """{ a: orders(first: 3) { nodes { number customer { name } lines { sku } } }
        b: orders(first: 3) { edges { node { notes billingAddress total { amount currencyCode } createdAt
           customer { email tags } lines { total { amount } backordered product { name unitPrice { amount } } } } } }
        c: customers(first: 5) { nodes { name email orders { number total { amount } } } } }""", **who)
    count_sql.statements.clear()
    await same(gql, reference, "{ customers(first: 5, sort: {field: NAME}) { nodes { name } } }", **who)
    page_sql = next(s for s in count_sql.statements if "FROM crm_customer" in s)
    assert "crm_customer.name" in page_sql and "custom_fields" not in page_sql and "website" not in page_sql


async def test_batched_fields_with_arguments(shop_with_orders: Shop, gql, reference):
    who = {"tenant": shop_with_orders.tenant, "permissions": (*PERMISSIONS, "crm.write")}
    customers = (await gql("{ customers(first: 5) { nodes { id } } }", **who))["data"]["customers"]["nodes"]
    make = ('mutation($in: OpportunityCreateInput!) { opportunityCreate(input: $in) { opportunity { id } '
            'userErrors { code } } }')
    for n, customer in enumerate(customers):
        for k in range(n + 1):
            made = await gql(make, {"in": {"customerId": customer["id"], "name": f"Deal {n}.{k}", "amount": "10"}},
                             **who)
            assert made["data"]["opportunityCreate"]["userErrors"] == []
    body = await same(gql, reference, """{ customers(first: 5) { nodes { name open: opportunities { name amount {
        amount } } all: opportunities(status: null) { name status } won: opportunities(status: WON) { name }
        contacts { name } } } }""", **who)
    assert sum(len(c["open"]) for c in body["data"]["customers"]["nodes"]) == 3  # 1 + 2 for the two customers
