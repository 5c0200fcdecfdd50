"""Selections answered as JSON built by PostgreSQL (backend.api.sqltree) answer what Python answers.

Every field a row type declares a SQL form for is selected, through every relation, and the answer
(data, errors, actual cost) is compared with graphql-core's over the same data: values chosen to
reach the forms' corners (currencies with 0 and 3 minor units, amounts that round half to even,
negative amounts that round to zero, quantities with trailing zeros, nulls, empty lists).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from graphql import parse
from graphql.execution.values import get_variable_values
from sqlalchemy import Numeric, String, literal, select, text

from backend.api import sqltree
from backend.api.executor import CompiledExecutor, _Plan
from backend.api.rows import RowObject
from backend.api.schema import build_schema
from backend.core.fetch import fetch
from backend.core.ids import from_global_id, to_global_id
from backend.core.money import MINOR_UNITS, round_money
from backend.modules.crm.graphql.types import CustomerType
from backend.modules.inventory.graphql.types import ProductNode
from backend.modules.inventory.units import show
from backend.modules.orders.graphql.types import OrderType
from tests.modules.orders.conftest import PERMISSIONS, Shop, same


def _row_types() -> list[type[RowObject]]:
    found, todo = [], list(RowObject.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls._sql:
            found.append(cls)
    return found


def _selection(schema, cls: type[RowObject], depth: int = 0) -> str:  # type: ignore[no-untyped-def]
    """Every field of ``cls`` with a SQL form, relations followed (their own forms selected)."""
    gql_type = next(t for t in schema.type_map.values()
                    if getattr(getattr(t, "extensions", {}).get("strawberry-definition"), "origin", None) is cls)
    by_python = {f.extensions["strawberry-definition"].python_name: name for name, f in gql_type.fields.items()
                 if f.extensions.get("strawberry-definition") is not None}
    parts = ["__typename"]
    for python_name, form in cls._sql.items():
        name = by_python[python_name]
        if isinstance(form, sqltree._Money):
            parts.append(f"{name} {{ amount currencyCode __typename }}")
        elif isinstance(form, sqltree._Relation):
            assert depth < 4, "relations nest too deep for this test"
            parts.append(f"{name} {{ {_selection(schema, form.child, depth + 1)} }}")
        else:
            parts.append(name)
    return " ".join(parts)


async def test_every_row_type_with_forms_is_reached_by_this_test(registry):
    reached = {"OrderType", "OrderLineType", "ProductNode", "CustomerType", "ContactType", "OpportunityType"}
    assert {cls.__name__ for cls in _row_types()} == reached


async def test_money_quantities_ids_and_enums_as_python_shows_them(db):
    amounts = ["0", "1", "1.2", "1.2345", "1.2350", "1.2450", "1.2451", "2.5", "3.5", "-0.0040", "-0.0050",
               "-0.0051", "-1.2450", "0.0005", "0.0015", "1500.5000", "1501.5000", "999999999.9950", "12"]
    async with db.app_engine.connect() as conn:
        for currency in ("USD", "JPY", "KWD", *MINOR_UNITS):
            for amount in amounts:
                value = Decimal(amount)
                shown = await conn.scalar(select(sqltree.money_text(
                    literal(value, Numeric(18, 4)), sqltree.minor_units(literal(currency, String)))))
                assert shown == str(round_money(value, currency)), (amount, currency)
        for quantity in ("3", "3.000", "2.50", "0.0010", "0", "1000", "1000.000", "-1.5"):
            shown = await conn.scalar(select(text("trim_scale(CAST(:q AS numeric(18, 4)))::text").bindparams(q=quantity)))
            assert shown == str(show(Decimal(quantity).quantize(Decimal("0.0001")))), quantity
        build = sqltree.global_id("PurchaseOrderLine").build
        for _ in range(5):
            pk = uuid.uuid4()
            assert await conn.scalar(select(build({"id": literal(pk)}))) == to_global_id("PurchaseOrderLine", pk)


@pytest.fixture
async def corners(shop: Shop, db) -> Shop:  # type: ignore[no-untyped-def]
    """Orders in three currencies with amounts that round half to even, customers with and without
    contacts, emails and open opportunities, a line with a discount and one with a fractional quantity."""
    jade = await shop.customer("Jade Tea House", email="jade@example.com", tags=["vip", "tea"])
    lin = await shop.customer("Lin Bakery")
    made = await shop("mutation($in: ContactCreateInput!) { contactCreate(input: $in) { userErrors { code } } }",
                      {"in": {"customerId": jade, "name": "Mei Jade", "email": "mei@example.com"}})
    assert made["data"]["contactCreate"]["userErrors"] == [], made
    for name, amount in (("Teahouse refit", "1200.50"), ("Cups", "80")):
        made = await shop("mutation($in: OpportunityCreateInput!) { opportunityCreate(input: $in) { userErrors "
                          "{ code } } }", {"in": {"customerId": jade, "name": name, "amount": amount}})
        assert made["data"]["opportunityCreate"]["userErrors"] == [], made
    tea = await shop.stocked("TEA", on_hand="40", unitPrice="12.50", unit="kg")
    cup = await shop.stocked("CUP", on_hand="3", unitPrice="4.99")
    numbers = []
    for customer, lines in ((jade, [{"productId": tea, "quantity": "2"}, {"productId": cup, "quantity": "1"}]),
                            (lin, [{"productId": cup, "quantity": "5"}]),
                            (jade, [{"productId": tea, "quantity": "1.5", "discountPercent": "10"}])):
        made = await shop.order(customer, lines)
        assert made["userErrors"] == [], made
        numbers.append(made["order"]["number"])
    await shop.act("orderSubmit", (await shop.order(lin, [{"productId": tea, "quantity": "1"}]))["order"]["id"])
    async with db.owner_engine.begin() as conn:  # values no mutation makes: amounts below the currency's unit
        await conn.execute(text("UPDATE ord_order SET currency = 'JPY', total = 1500.5, subtotal = 1501.5 "
                                "WHERE tenant_id = :t AND number = :n"), {"t": shop.tenant, "n": numbers[0]})
        await conn.execute(text("UPDATE ord_order SET currency = 'KWD', total = 1.2345, tax_total = 0.0005 "
                                "WHERE tenant_id = :t AND number = :n"), {"t": shop.tenant, "n": numbers[1]})
        await conn.execute(text("UPDATE ord_order SET total = 1.2450, discount_total = 0.0050 "
                                "WHERE tenant_id = :t AND number = :n"), {"t": shop.tenant, "n": numbers[2]})
    return shop


async def test_every_form_answers_as_python_does(corners: Shop, gql, reference, registry, count_sql):
    schema = build_schema(registry).graphql
    who = {"tenant": corners.tenant, "permissions": PERMISSIONS}
    count_sql.statements.clear()
    body = await same(gql, reference, f"""{{
        orders(first: 10) {{ nodes {{ {_selection(schema, OrderType)} }} }}
        customers(first: 10) {{ edges {{ node {{ {_selection(schema, CustomerType)} }} }} }}
        products(first: 10) {{ nodes {{ {_selection(schema, ProductNode)} }} }} }}""", **who)  # no relations: Python
    assert "errors" not in body
    assert sum("json_build_object" in s for s in count_sql.statements) == 2  # orders, customers
    orders = body["data"]["orders"]["nodes"]
    assert {o["currencyCode"] for o in orders} >= {"JPY", "KWD"}
    assert {o["total"]["amount"] for o in orders} >= {"1500", "1.234", "1.24"}  # half to even, per currency
    jade = next(c["node"] for c in body["data"]["customers"]["edges"] if c["node"]["name"] == "Jade Tea House")
    assert len(jade["opportunities"]) == 2 and jade["contacts"][0]["email"] == "mei@example.com"


async def test_a_selection_sql_cannot_say_stays_in_python(corners: Shop, gql, reference, count_sql):
    who = {"tenant": corners.tenant, "permissions": PERMISSIONS}
    count_sql.statements.clear()
    # createdAt (a timestamp), a resolver (trackingLink), a field with variables and another module's
    # gated field: each keeps its object on the Python path; the lines below, all plain, go to SQL.
    # Objects without relations below them (the opportunities) stay in Python too: their rows are in
    # hand, and computing a few leaves costs less than a statement.
    await same(gql, reference, """query($status: OpportunityStatus) { orders(first: 10) { nodes { number createdAt
        trackingLink lines { sku product { sku } } customer { name opportunities(status: $status) { name } invoices { id } } } } }""",
               {"status": "OPEN"}, **who)
    answered = [s for s in count_sql.statements if "json_build_object" in s]
    assert len(answered) == 1 and "FROM ord_order_line AS j1 " in answered[0]  # only the lines: all SQL can say


async def test_errors_beside_a_subtree_and_the_cost_of_what_was_answered(corners: Shop, gql, reference, count_sql):
    who = {"tenant": corners.tenant, "permissions": PERMISSIONS}
    customer = (await gql("{ customers(first: 1) { nodes { id } } }", **who))["data"]["customers"]["nodes"][0]["id"]
    count_sql.statements.clear()
    body = await same(gql, reference, """query($id: ID!) { orders(first: 10) { nodes { number lines { sku product { sku } } } }
        bad: node(id: $id) { ... on Customer { timeline(first: 999) { totalCount } } } }""", {"id": customer}, **who)
    assert body["errors"][0]["path"] == ["bad", "timeline"] and len(body["data"]["orders"]["nodes"]) == 4
    assert any("json_build_object" in s for s in count_sql.statements)


async def test_the_statement_reads_only_its_tenants_rows(corners: Shop, gql, db, registry, make_tenant):
    who = {"tenant": corners.tenant, "permissions": PERMISSIONS}
    page = await gql("{ orders(first: 10) { nodes { id } } }", **who)
    ids = [from_global_id(o["id"])[1] for o in page["data"]["orders"]["nodes"]]  # type: ignore[index]
    schema = build_schema(registry)
    executor = CompiledExecutor(schema.graphql, strawberry_schema=schema.strawberry, trees=sqltree.compile_tree)
    document = parse("{ orders(first: 1) { nodes { number lines { sku } customer { name } } } }")
    plan = _Plan(executor, document.definitions[0], {}, get_variable_values(schema.graphql, [], {}))  # type: ignore[arg-type]
    tree = plan.root.fields[0].shape.fields[0].shape.of.tree  # orders -> nodes -> [Order]
    assert tree is not None
    other = await make_tenant()
    for tenant, expected in ((corners.tenant, len(ids)), (other, 0)):
        async with db.transaction(tenant) as session:
            rows = await fetch(session, tree.prepared, {"batch_tenant": tenant, "batch_keys": ids})
            assert len(rows) == expected
    async with db.transaction(other) as session:  # naming the other tenant does not get past RLS
        assert await fetch(session, tree.prepared, {"batch_tenant": corners.tenant, "batch_keys": ids}) == []


@pytest.mark.parametrize("root,sort", [("orders", "{field: CREATED_AT, descending: false}"), ("orders", None),
                                       ("customers", None), ("customers", "{field: NAME, direction: DESC}")])
async def test_plain_lists_page_as_filtered_ones_do(corners: Shop, gql, count_sql, root, sort):
    """An unfiltered list runs a statement kept per selection (the tenant, cursor and size bound per request);
    every page, forwards and backwards, with its cursors and count, is the one the filtered path gives."""
    who = {"tenant": corners.tenant, "permissions": PERMISSIONS}
    # With relations below the nodes, the plain list builds its nodes' JSON in its page's statement
    # (Tree.with_page); the filtered one reads the page, then the nodes.
    node = "number customer { name } lines { sku }" if root == "orders" else "name contacts { name }"
    sorted_by = f", sort: {sort}" if sort else ""

    async def page(args: str, filtered: bool) -> dict:
        flt = ", filter: {}" if filtered else ""
        body = await gql(f"""{{ {root}({args}{flt}{sorted_by}) {{ totalCount edges {{ cursor node {{ {node} }} }}
            pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} }} }}""", **who)
        assert "errors" not in body, body
        return body["data"][root]

    seen, after = [], None
    while True:
        args = "first: 2" + (f', after: "{after}"' if after else "")
        count_sql.statements.clear()
        plain = await page(args, False)
        assert any("WITH page AS MATERIALIZED" in q for q in count_sql.queries), count_sql.queries
        filtered = await page(args, True)
        assert plain == filtered
        seen += [e["node"] for e in plain["edges"]]
        if not plain["pageInfo"]["hasNextPage"]:
            break
        after = plain["pageInfo"]["endCursor"]
    assert len(seen) == plain["totalCount"] >= 2
    before = (await page("first: 100", False))["edges"][-1]["cursor"]
    assert await page(f'last: 2, before: "{before}"', False) == await page(f'last: 2, before: "{before}"', True)


async def test_a_page_with_nested_lists_is_one_statement_whatever_its_size(corners: Shop, gql, count_sql):
    """The reference read (orders with totals, customers, lines and products): one statement, the page with
    every order's JSON and everything below it (backend.api.sqltree.Tree.with_page)."""
    who = {"tenant": corners.tenant, "permissions": PERMISSIONS}
    counts = []
    for size in (1, 4):
        count_sql.statements.clear()
        body = await gql("query($n: Int!) { orders(first: $n) { edges { node { number status total { amount } "
                         "customer { name } lines { quantity product { sku } } } } } }", {"n": size}, **who)
        assert len(body["data"]["orders"]["edges"]) == size
        counts.append(count_sql.queries)
    assert [len(c) for c in counts] == [1, 1], counts
    assert "WITH page AS MATERIALIZED" in counts[1][0] and "json_build_object" in counts[1][0]


async def test_nodes_selected_twice_are_answered_apart(corners: Shop, gql, reference, count_sql):
    """``nodes`` and ``edges { node }`` of one page are two positions with selections of their own: the page
    builds neither's JSON, each is answered as it asks (and as graphql-core answers)."""
    who = {"tenant": corners.tenant, "permissions": PERMISSIONS}
    count_sql.statements.clear()
    body = await same(gql, reference, """{ orders(first: 3) { nodes { number customer { name } }
        edges { cursor node { status lines { sku } } } } }""", **who)
    assert len(body["data"]["orders"]["nodes"]) == 3 and body["data"]["orders"]["edges"][0]["node"]["lines"]
    assert not any("WITH page" in s for s in count_sql.queries)
    assert sum("json_build_object" in s for s in count_sql.queries) == 2


async def test_request_transactions_plan_generically_and_without_jit(corners: Shop, db, gql, count_sql):
    """A query's transaction uses generic plans from the first execution (its page-with-JSON statement would
    be planned anew each time otherwise); other transactions keep PostgreSQL's default choice. No tenant's
    transaction compiles with JIT."""
    from backend.core.db import set_tenant

    async with db.sessionmaker() as session:
        await set_tenant(session, corners.tenant, generic_plans=True)
        assert (await session.execute(text("SHOW plan_cache_mode"))).scalar() == "force_generic_plan"
        assert (await session.execute(text("SHOW jit"))).scalar() == "off"
        await session.commit()
    async with db.transaction(corners.tenant) as session:
        assert (await session.execute(text("SHOW plan_cache_mode"))).scalar() == "auto"
        assert (await session.execute(text("SHOW jit"))).scalar() == "off"
    who = {"tenant": corners.tenant, "permissions": PERMISSIONS}
    count_sql.statements.clear()
    await gql("{ orders(first: 2) { nodes { number } } }", **who)
    assert any(s.startswith("SET LOCAL app.tenant_id") and s.endswith("; SET LOCAL jit = off; "
                                                                      "SET LOCAL plan_cache_mode = force_generic_plan")
               for s in count_sql.statements), count_sql.statements


async def test_a_page_builds_its_nodes_on_its_own_rows_or_by_their_ids(corners: Shop, registry, db):
    """``Tree.with_page``: on the page's rows when they hold every column the JSON reads, a one-to-one
    relation kept a lookup per row (``OFFSET 0``: pulled up into a join, the planner misled by the
    row-level policies' estimates read all the tenant's customers for each order); by id otherwise.
    Both answer as the tree's own statement does."""
    from sqlalchemy import select as select_

    from backend.api.relay import _page_template
    from backend.core.db import BATCH_TENANT
    from backend.modules.orders.models import Order

    schema = build_schema(registry)
    executor = CompiledExecutor(schema.graphql, strawberry_schema=schema.strawberry, trees=sqltree.compile_tree)
    document = parse("{ orders(first: 1) { nodes { number customer { name } lines { sku } } } }")
    plan = _Plan(executor, document.definitions[0], {}, get_variable_values(schema.graphql, [], {}))  # type: ignore[arg-type]
    tree = plan.root.fields[0].shape.fields[0].shape.of.tree
    table = Order.__table__
    keys = (table.c.created_at, table.c.id)
    full = select_(table.c.id, table.c.created_at, table.c.number, table.c.customer_id, table.c.currency).where(
        table.c.tenant_id == BATCH_TENANT)
    bare = select_(table.c.id, table.c.created_at).where(table.c.tenant_id == BATCH_TENANT)
    async with db.transaction(corners.tenant) as session:
        answers = []
        for template, expected in ((full, "OFFSET 0"), (bare, "= ANY (ARRAY[page.id])")):
            page, _ = _page_template(template, keys, False, False, True, True)
            combined = tree.with_page(page)
            assert combined is not page and expected in combined.sql, combined.sql
            rows = await fetch(session, combined, {"batch_tenant": corners.tenant, "page_limit": 10})
            own = {r.id: r.j for r in await fetch(session, tree.prepared, {"batch_tenant": corners.tenant,
                                                                            "batch_keys": [r.id for r in rows]})}
            assert rows and all(r._tree == tree.serial and r._j == own[r.id] for r in rows)
            answers.append([(r.id, r._j, r._c) for r in rows])
        assert answers[0] == answers[1]


async def test_a_pages_lists_are_read_once_for_all_its_rows(corners: Shop, gql, reference, count_sql):
    """A page's lists (a customer's contacts and open opportunities) are read for the whole page in one pass,
    grouped by customer, rather than once per row; they answer as graphql-core does, in the loaders' order,
    customers without any included. A list that takes columns from its parent (an order's lines, in the
    order's currency) is still read per row."""
    who = {"tenant": corners.tenant, "permissions": PERMISSIONS}
    jade = (await corners("{ customers(first: 10, sort: {field: NAME}) { nodes { id name } } }"))[
        "data"]["customers"]["nodes"][0]
    assert jade["name"] == "Jade Tea House"
    for name, primary in (("Ann Jade", False), ("Zhou Jade", True)):  # primary first, then by name
        made = await corners("mutation($in: ContactCreateInput!) { contactCreate(input: $in) { userErrors { code } } }",
                             {"in": {"customerId": jade["id"], "name": name, "isPrimary": primary}})
        assert made["data"]["contactCreate"]["userErrors"] == [], made
    query = """{ customers(first: 10) { edges { node { name contacts { name email }
        opportunities { name amount { amount currencyCode } } } } } }"""
    count_sql.statements.clear()
    await gql(query, **who)
    [statement] = count_sql.queries
    body = await same(gql, reference, query, **who)
    assert statement.count("AS MATERIALIZED") == 3 and statement.count("= ANY (CAST((SELECT array_agg(page.id)") == 2
    nodes = {e["node"]["name"]: e["node"] for e in body["data"]["customers"]["edges"]}
    assert [c["name"] for c in nodes["Jade Tea House"]["contacts"]] == ["Zhou Jade", "Ann Jade", "Mei Jade"]
    assert [o["name"] for o in nodes["Jade Tea House"]["opportunities"]] == ["Teahouse refit", "Cups"]
    assert nodes["Lin Bakery"]["contacts"] == [] and nodes["Lin Bakery"]["opportunities"] == []

    query = "{ orders(first: 10) { edges { node { number lines { sku } } } } }"
    count_sql.statements.clear()
    await gql(query, **who)
    [statement] = count_sql.queries
    await same(gql, reference, query, **who)
    assert "array_agg" not in statement and "= ANY (ARRAY[page.id])" in statement
