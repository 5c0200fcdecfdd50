"""Routing and approval rules, other tenants' IDs, the disabled module, batching."""

from __future__ import annotations

from tests.modules.orders.conftest import PERMISSIONS, Shop
from tests.modules.orders.test_flow_api import FULFIL, SHIP


async def test_routing_rules_assign_and_auto_approve(shop: Shop):
    customer = await shop.customer(tags=["vip"])
    tea = await shop.stocked("TEA", "50", unitPrice="100")
    rule = """mutation($in: OrderRoutingRuleCreateInput!) { orderRoutingRuleCreate(input: $in) {
        routingRules { name position autoApprove } userErrors { field code } } }"""
    r = await shop(rule, {"in": {"name": "Small phone orders", "channel": "PHONE", "maxTotal": "500",
                                 "autoApprove": True}})
    assert r["data"]["orderRoutingRuleCreate"]["userErrors"] == []
    r = await shop(rule, {"in": {"name": "VIP first", "customerTag": "VIP", "position": 1}})
    assert [x["name"] for x in r["data"]["orderRoutingRuleCreate"]["routingRules"]] == ["VIP first",
                                                                                        "Small phone orders"]
    bad = await shop(rule, {"in": {"name": "x", "minTotal": "10", "maxTotal": "5"}})
    assert bad["data"]["orderRoutingRuleCreate"]["userErrors"][0]["code"] == "INVALID_RANGE"
    # The VIP rule matches first and does not approve.
    vip = (await shop.order(customer, [{"productId": tea, "quantity": "1"}], channel="PHONE"))["order"]["id"]
    assert (await shop.act("orderSubmit", vip))["order"]["status"] == "SUBMITTED"
    plain = await shop.customer("Plain Co")
    small = (await shop.order(plain, [{"productId": tea, "quantity": "2"}], channel="PHONE"))["order"]["id"]
    done = (await shop.act("orderSubmit", small))["order"]
    assert done["status"] == "APPROVED" and done["events"][-1]["note"] == "Rule: Small phone orders"
    large = (await shop.order(plain, [{"productId": tea, "quantity": "6"}], channel="PHONE"))["order"]["id"]
    assert (await shop.act("orderSubmit", large))["order"]["status"] == "SUBMITTED"  # over 500
    r = await shop("{ orders(first: 10, filter: {status: SUBMITTED}) { nodes { id } } }")
    assert {n["id"] for n in r["data"]["orders"]["nodes"]} == {vip, large}


async def test_another_tenants_orders_are_invisible_and_untouchable(shop: Shop, gql, make_tenant):
    customer = await shop.customer()
    tea = await shop.stocked("TEA", "5")
    oid = (await shop.order(customer, [{"productId": tea, "quantity": "1"}]))["order"]["id"]
    for step in ("orderSubmit", "orderApprove", "orderAllocate"):
        await shop.act(step, oid)
    fulfillment = (await shop(FULFIL, {"in": {"orderId": oid}}))["data"]["fulfillmentCreate"]["fulfillments"][0]["id"]
    other = Shop(gql, await make_tenant(), permissions=PERMISSIONS)
    assert (await other("query($id: ID!) { node(id: $id) { id } }", {"id": oid}))["data"]["node"] is None
    assert (await other("{ orders(first: 5) { totalCount } }"))["data"]["orders"]["totalCount"] == 0
    for mutation in ("orderCancel", "orderHold", "orderApprove", "orderSubmit"):
        assert (await other.act(mutation, oid))["userErrors"][0]["code"] == "NOT_FOUND"
    r = await other(SHIP, {"in": {"fulfillmentId": fulfillment, "carrier": "EMS", "trackingNumber": "1"}})
    assert r["data"]["shipmentShip"]["userErrors"][0]["code"] == "NOT_FOUND"
    r = await other(FULFIL, {"in": {"orderId": oid}})
    assert r["data"]["fulfillmentCreate"]["userErrors"][0]["code"] == "NOT_FOUND"
    their_customer = await other.customer("Theirs")
    made = await other.order(their_customer, [{"productId": tea, "quantity": "1"}])  # our product
    assert made["userErrors"][0]["code"] == "NOT_FOUND"
    r = await shop("query($id: ID!) { node(id: $id) { ... on Order { status } } }", {"id": oid})
    assert r["data"]["node"]["status"] == "ALLOCATED"


async def test_a_crm_only_tenant_has_no_orders(gql, make_tenant):
    crm_only = Shop(gql, await make_tenant(plan="free"), permissions=PERMISSIONS)
    r = await crm_only("{ orders(first: 5) { totalCount } }")
    assert r["errors"][0]["extensions"] == {"code": "MODULE_DISABLED", "module": "orders"}
    customer = await crm_only.customer()
    r = await crm_only("query($id: ID!) { node(id: $id) { ... on Customer { name orders { id } } } }",
                       {"id": customer})
    assert r["data"]["node"] == {"name": "Jade Tea House", "orders": []}


async def test_customer_orders_and_a_page_of_orders_are_constant_sql(shop: Shop, db, count_sql):
    from decimal import Decimal

    from backend.core.ids import from_global_id
    from backend.modules.orders import service as orders

    tea = from_global_id(await shop.stocked("TEA", "500"))[1]  # type: ignore[index]
    cup = from_global_id(await shop.stocked("CUP", "500"))[1]  # type: ignore[index]
    customers = [await shop.customer(f"Customer {i}") for i in range(3)]
    async with db.transaction(shop.tenant) as session:  # 52 orders through the service (the API's rate limit
        for i in range(52):                             # is not what this test is about)
            order = await orders.create_order(session, values=orders.OrderFields(
                customer_id=from_global_id(customers[i % 3])[1],  # type: ignore[index]
                lines=[orders.LineInput(tea, Decimal(1)), orders.LineInput(cup, Decimal(2))]))
            if i % 2:
                await orders.submit_order(session, order_id=order.id)
                await orders.approve_order(session, order_id=order.id)
                await orders.allocate_order(session, order_id=order.id)
                await orders.create_fulfillments(session, order_id=order.id)
    query = ("{ orders(first: %d) { nodes { number status total { amount } customer { name } "
             "lines { quantity product { sku } } fulfillments { status } } } }")
    counts = []
    for size in (5, 50):
        count_sql.statements.clear()
        r = await shop(query % size)
        assert "data" in r, r
        assert len(r["data"]["orders"]["nodes"]) == size, r
        counts.append(len(count_sql.queries))
    assert counts[0] == counts[1], count_sql.queries
    assert counts[1] <= 10
    r = await shop("query($id: ID!) { node(id: $id) { ... on Customer { orders { number } } } }",
                   {"id": customers[0]})
    assert len(r["data"]["node"]["orders"]) == 18
    count_sql.statements.clear()
    r = await shop("{ customers(first: 3) { nodes { name orders { number lines { sku } } } } }")
    assert sorted(len(n["orders"]) for n in r["data"]["customers"]["nodes"]) == [17, 17, 18]
    assert len(count_sql.queries) <= 8, count_sql.queries


async def test_winning_an_opportunity_can_draft_its_order(shop: Shop, gql, make_tenant):
    customer = await shop.customer()
    tea = await shop.stocked("TEA", "5", unitPrice="40")
    win = """mutation($in: OpportunityWinInput!) { opportunityWin(input: $in) {
        opportunity { status orders { number status total { amount } lines { sku quantity } } }
        userErrors { field code } } }"""

    async def opportunity(customer_id: str, client: Shop = shop) -> str:
        r = await client("""mutation($c: ID!) { opportunityCreate(input: {customerId: $c, name: "Spring tea",
            amount: "400"}) { opportunity { id } } }""", {"c": customer_id})
        return r["data"]["opportunityCreate"]["opportunity"]["id"]

    deal = await opportunity(customer)
    r = await shop(win, {"in": {"id": deal, "draftOrderLines": [{"productId": "bogus", "quantity": "10"}]}})
    assert r["data"]["opportunityWin"]["userErrors"] == [
        {"field": ["input", "draftOrderLines", "0", "productId"], "code": "NOT_FOUND"}]
    r = await shop(win, {"in": {"id": deal, "draftOrderLines": [{"productId": tea, "quantity": "10"}]}})
    won = r["data"]["opportunityWin"]["opportunity"]
    assert won["status"] == "WON" and won["orders"] == [
        {"number": won["orders"][0]["number"], "status": "DRAFT", "total": {"amount": "400.00"},
         "lines": [{"sku": "TEA", "quantity": "10"}]}]
    crm_only = Shop(gql, await make_tenant(plan="free"), permissions=shop.permissions)
    other_deal = await opportunity(await crm_only.customer(), crm_only)
    r = await crm_only(win, {"in": {"id": other_deal, "draftOrderLines": [{"productId": tea, "quantity": "1"}]}})
    assert r["data"]["opportunityWin"]["userErrors"] == [
        {"field": ["input", "draftOrderLines"], "code": "MODULE_DISABLED"}]
