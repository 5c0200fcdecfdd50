"""The order flow over HTTP: create, totals, review, allocation with backorders, shipping, delivery."""

from __future__ import annotations

from tests.modules.orders.conftest import Shop

FULFIL = """mutation($in: FulfillmentCreateInput!) { fulfillmentCreate(input: $in) {
  fulfillments { id warehouse { code } lines { sku quantity } } order { status } userErrors { field code } } }"""
SHIP = """mutation($in: ShipmentShipInput!) { shipmentShip(input: $in) {
  fulfillment { status carrier trackingNumber trackingUrl } order { status lines { shipped reserved } }
  userErrors { field code } } }"""
DELIVER = """mutation($in: ShipmentDeliverInput!) { shipmentDeliver(input: $in) {
  fulfillment { status } order { status completedAt events { to } } userErrors { field code } } }"""


async def test_the_whole_flow_from_draft_to_completed(shop: Shop):
    customer = await shop.customer()
    tea = await shop.stocked("TEA", "10", unitPrice="19.99", taxCategory="standard")
    r = await shop("""mutation { orderTaxRateSet(input: {taxCategory: "standard", rate: "13"}) {
        taxRates { taxCategory rate } userErrors { code } } }""")
    assert r["data"]["orderTaxRateSet"]["taxRates"] == [{"taxCategory": "standard", "rate": "13"}]
    made = await shop.order(customer, [{"productId": tea, "quantity": "3", "discountPercent": "7.5"}],
                            shippingAmount="12.5", idempotencyKey="web-cart-1")
    order = made["order"]
    assert made["userErrors"] == [] and order["status"] == "DRAFT" and order["number"].startswith("SO-")
    # 3 x 19.99 = 59.97; 7.5 % off = 4.50 (4.49775); taxed 13 % of 55.47 = 7.21 (7.2111); + 12.50 shipping
    assert (order["subtotal"], order["discountTotal"], order["taxTotal"], order["shippingTotal"], order["total"]) == (
        {"amount": "59.97"}, {"amount": "4.50"}, {"amount": "7.21"}, {"amount": "12.50"},
        {"amount": "75.18", "currencyCode": "USD"})
    again = await shop.order(customer, [{"productId": tea, "quantity": "3", "discountPercent": "7.5"}],
                             shippingAmount="12.5", idempotencyKey="web-cart-1")
    assert again["order"]["id"] == order["id"]
    oid = order["id"]
    assert (await shop.act("orderSubmit", oid))["order"]["status"] == "SUBMITTED"
    assert (await shop.act("orderApprove", oid))["order"]["status"] == "APPROVED"
    allocated = (await shop.act("orderAllocate", oid))["order"]
    assert allocated["status"] == "ALLOCATED" and allocated["lines"][0]["reserved"] == "3"
    r = await shop(FULFIL, {"in": {"orderId": oid}})
    fulfillment = r["data"]["fulfillmentCreate"]["fulfillments"][0]
    assert fulfillment["lines"] == [{"sku": "TEA", "quantity": "3"}] and fulfillment["warehouse"]["code"] == "MAIN"
    r = await shop(SHIP, {"in": {"fulfillmentId": fulfillment["id"], "carrier": "SF Express",
                                 "trackingNumber": "SF1234567890"}})
    shipped = r["data"]["shipmentShip"]
    assert shipped["order"]["status"] == "SHIPPED" and shipped["order"]["lines"] == [{"shipped": "3", "reserved": "0"}]
    assert shipped["fulfillment"]["trackingUrl"].endswith("/SF1234567890")
    level = (await shop("query($id: ID!) { node(id: $id) { ... on Product { stockLevels { onHand reserved } } } }",
                        {"id": tea}))["data"]["node"]["stockLevels"]
    assert level == [{"onHand": "7", "reserved": "0"}]
    r = await shop("""{ stockMoves(first: 5, filter: {kind: SHIPMENT}) { nodes { quantity sourceId } } }""")
    assert r["data"]["stockMoves"]["nodes"] == [{"quantity": "-3", "sourceId": fulfillment["id"]}]
    r = await shop(DELIVER, {"in": {"fulfillmentId": fulfillment["id"]}})
    done = r["data"]["shipmentDeliver"]["order"]
    assert done["status"] == "COMPLETED" and done["completedAt"]
    assert [e["to"] for e in done["events"]] == ["DRAFT", "SUBMITTED", "APPROVED", "ALLOCATED", "SHIPPED",
                                                 "DELIVERED", "COMPLETED"]
    r = await shop("""query($c: ID!) { node(id: $c) { ... on Customer { timeline(first: 20) { nodes { title } } } } }""",
                   {"c": customer})
    titles = [n["title"] for n in r["data"]["node"]["timeline"]["nodes"]]
    assert f"Order {order['number']} completed" in titles and f"Order {order['number']} submitted" in titles


async def test_backorders_are_allocated_when_stock_arrives_oldest_first(shop: Shop):
    customer = await shop.customer()
    scarce = await shop.stocked("SCARCE", "2")
    ids = []
    for _ in range(2):
        order = (await shop.order(customer, [{"productId": scarce, "quantity": "3"}]))["order"]
        await shop.act("orderSubmit", order["id"])
        await shop.act("orderApprove", order["id"])
        ids.append(order["id"])
    first = (await shop.act("orderAllocate", ids[0]))["order"]
    assert first["status"] == "PARTIALLY_ALLOCATED" and first["lines"][0]["backordered"] == "1"
    second = (await shop.act("orderAllocate", ids[1]))["order"]
    assert second["status"] == "PARTIALLY_ALLOCATED" and second["lines"][0]["backordered"] == "3"
    await shop.adjust(productId=scarce, warehouseId=await shop.main(), quantityDelta="2", reason="Delivery")
    statuses = []
    for oid in ids:
        r = await shop("query($id: ID!) { node(id: $id) { ... on Order { status lines { reserved backordered } } } }",
                       {"id": oid})
        statuses.append(r["data"]["node"])
    assert statuses == [{"status": "ALLOCATED", "lines": [{"reserved": "3", "backordered": "0"}]},
                        {"status": "PARTIALLY_ALLOCATED", "lines": [{"reserved": "1", "backordered": "2"}]}]


async def test_invalid_transitions_name_the_current_status(shop: Shop):
    customer = await shop.customer()
    tea = await shop.stocked("TEA", "5")
    oid = (await shop.order(customer, [{"productId": tea, "quantity": "1"}]))["order"]["id"]
    for mutation in ("orderApprove", "orderReject", "orderAllocate", "orderRelease"):
        errors = (await shop.act(mutation, oid, **({"reason": "x"} if mutation == "orderReject" else {})))["userErrors"]
        assert errors[0]["code"] == "INVALID_TRANSITION" and "DRAFT" in errors[0]["message"], (mutation, errors)
    await shop.act("orderSubmit", oid)
    assert (await shop.act("orderSubmit", oid))["userErrors"][0]["code"] == "INVALID_TRANSITION"
    assert (await shop.act("orderReject", oid))["userErrors"] == [
        {"field": ["input", "reason"], "code": "REQUIRED", "message": "Say why the order is rejected."}]
    rejected = await shop.act("orderReject", oid, reason="Prices changed")
    assert rejected["order"]["status"] == "REJECTED" and rejected["order"]["events"][-1]["note"] == "Prices changed"
    r = await shop(FULFIL, {"in": {"orderId": oid}})
    assert r["data"]["fulfillmentCreate"]["userErrors"][0]["code"] == "INVALID_TRANSITION"


async def test_hold_release_and_cancel_release_the_stock(shop: Shop):
    customer = await shop.customer()
    tea = await shop.stocked("TEA", "5")
    oid = (await shop.order(customer, [{"productId": tea, "quantity": "4"}]))["order"]["id"]
    for step in ("orderSubmit", "orderApprove", "orderAllocate"):
        await shop.act(step, oid)
    assert (await shop.act("orderHold", oid, reason="Payment check"))["order"]["status"] == "ON_HOLD"
    r = await shop(FULFIL, {"in": {"orderId": oid}})
    assert r["data"]["fulfillmentCreate"]["userErrors"][0]["code"] == "INVALID_TRANSITION"
    assert (await shop.act("orderRelease", oid))["order"]["status"] == "ALLOCATED"
    cancelled = (await shop.act("orderCancel", oid, reason="Customer changed their mind"))["order"]
    assert cancelled["status"] == "CANCELLED" and cancelled["lines"][0]["reserved"] == "0"
    level = (await shop("query($id: ID!) { node(id: $id) { ... on Product { stockLevels { reserved } } } }",
                        {"id": tea}))["data"]["node"]["stockLevels"]
    assert level == [{"reserved": "0"}]
    assert (await shop.act("orderCancel", oid))["userErrors"][0]["code"] == "INVALID_TRANSITION"


async def test_editing_an_allocated_order_moves_its_reservations(shop: Shop):
    customer = await shop.customer()
    tea = await shop.stocked("TEA", "5")
    cup = await shop.stocked("CUP", "5")
    oid = (await shop.order(customer, [{"productId": tea, "quantity": "4"}]))["order"]["id"]
    for step in ("orderSubmit", "orderApprove", "orderAllocate"):
        await shop.act(step, oid)
    r = await shop("""mutation($in: OrderUpdateInput!) { orderUpdate(input: $in) { order { status
        lines { sku reserved } } userErrors { field code } } }""",
                   {"in": {"id": oid, "lines": [{"productId": tea, "quantity": "1"}, {"productId": cup, "quantity": "2"}]}})
    assert r["data"]["orderUpdate"]["order"] == {"status": "ALLOCATED", "lines": [{"sku": "TEA", "reserved": "1"},
                                                                                  {"sku": "CUP", "reserved": "2"}]}
    levels = await shop("""{ stockLevels(first: 10) { nodes { product { sku } reserved } } }""")
    assert sorted((n["product"]["sku"], n["reserved"]) for n in levels["data"]["stockLevels"]["nodes"]) == [
        ("CUP", "2"), ("TEA", "1")]


async def test_bad_input_is_refused_and_nothing_written(shop: Shop, gql, make_tenant):
    customer = await shop.customer()
    tea = await shop.stocked("TEA", "5")
    old = await shop.stocked("OLD", "1")
    await shop("mutation($id: ID!) { productArchive(input: {id: $id}) { userErrors { code } } }", {"id": old})
    archived_customer = await shop.customer("Gone Ltd")
    await shop("mutation($id: ID!) { customerArchive(input: {id: $id}) { userErrors { code } } }",
               {"id": archived_customer})
    other = Shop(gql, await make_tenant(), permissions=shop.permissions)
    their_customer = await other.customer("Theirs")
    their_product = await other.stocked("THEIRS", "1")
    for customer_id, lines, code, field in [
        (customer, [{"productId": tea, "quantity": "0"}], "ZERO_QUANTITY", ["lines", "0", "quantity"]),
        (customer, [{"productId": tea, "quantity": "-2"}], "NEGATIVE_QUANTITY", ["lines", "0", "quantity"]),
        (customer, [{"productId": tea, "quantity": "1.5"}], "INVALID_QUANTITY", ["lines", "0", "quantity"]),
        (customer, [{"productId": old, "quantity": "1"}], "PRODUCT_ARCHIVED", ["lines", "0", "productId"]),
        (customer, [], "REQUIRED", ["lines"]),
        (customer, [{"productId": their_product, "quantity": "1"}], "NOT_FOUND", ["lines", "0", "productId"]),
        (their_customer, [{"productId": tea, "quantity": "1"}], "NOT_FOUND", ["customerId"]),
        ("bogus", [{"productId": tea, "quantity": "1"}], "NOT_FOUND", ["customerId"]),
        (archived_customer, [{"productId": tea, "quantity": "1"}], "CUSTOMER_ARCHIVED", ["customerId"]),
        (customer, [{"productId": tea, "quantity": "1", "discountPercent": "120"}], "INVALID_DISCOUNT",
         ["lines", "0", "discountPercent"]),
    ]:
        made = await shop.order(customer_id, lines)
        assert made["order"] is None
        assert (made["userErrors"][0]["code"], made["userErrors"][0]["field"]) == (code, ["input", *field]), made
    assert (await shop("{ orders(first: 5) { totalCount } }"))["data"]["orders"]["totalCount"] == 0


async def test_cancelling_a_partially_shipped_order_cancels_the_rest(shop: Shop):
    customer = await shop.customer()
    tea = await shop.stocked("TEA", "10")
    cup = await shop.stocked("CUP", "10")
    order = (await shop.order(customer, [{"productId": tea, "quantity": "2"}, {"productId": cup, "quantity": "3"}]))
    oid, tea_line = order["order"]["id"], order["order"]["lines"][0]["id"]
    for step in ("orderSubmit", "orderApprove", "orderAllocate"):
        await shop.act(step, oid)
    r = await shop(FULFIL, {"in": {"orderId": oid, "lines": [{"lineId": tea_line, "quantity": "2"}]}})
    first = r["data"]["fulfillmentCreate"]["fulfillments"][0]["id"]
    r = await shop(SHIP, {"in": {"fulfillmentId": first, "carrier": "EMS", "trackingNumber": "E1"}})
    assert r["data"]["shipmentShip"]["order"]["status"] == "PARTIALLY_SHIPPED"
    done = (await shop.act("orderCancel", oid, reason="Cups discontinued"))["order"]
    assert done["status"] == "SHIPPED"
    assert [(x["sku"], x["shipped"], x["reserved"]) for x in done["lines"]] == [("TEA", "2", "0"), ("CUP", "0", "0")]
    r = await shop(DELIVER, {"in": {"fulfillmentId": first}})
    assert r["data"]["shipmentDeliver"]["order"]["status"] == "COMPLETED"
    levels = await shop("""{ stockLevels(first: 10) { nodes { product { sku } onHand reserved } } }""")
    assert sorted((n["product"]["sku"], n["onHand"], n["reserved"]) for n in levels["data"]["stockLevels"]["nodes"]) == [
        ("CUP", "10", "0"), ("TEA", "8", "0")]
