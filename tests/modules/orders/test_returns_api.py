"""Returns over HTTP: only shipped goods, restock or scrap, stock and the ledger follow."""

from __future__ import annotations

from tests.modules.orders.conftest import Shop
from tests.modules.orders.test_flow_api import FULFIL, SHIP

CREATE = """mutation($in: ReturnCreateInput!) { returnCreate(input: $in) {
  return { id number status lines { sku quantity } } userErrors { field code message } } }"""
RECEIVE = """mutation($in: ReturnReceiveInput!) { returnReceive(input: $in) {
  return { status warehouse { code } lines { sku restocked scrapped } } userErrors { field code } } }"""


async def _shipped(shop: Shop) -> tuple[str, list[dict], str, str]:
    customer = await shop.customer()
    tea = await shop.stocked("TEA", "10")
    cup = await shop.stocked("CUP", "10")
    order = (await shop.order(customer, [{"productId": tea, "quantity": "4"}, {"productId": cup, "quantity": "2"}]))
    oid = order["order"]["id"]
    for step in ("orderSubmit", "orderApprove", "orderAllocate"):
        await shop.act(step, oid)
    fulfillment = (await shop(FULFIL, {"in": {"orderId": oid}}))["data"]["fulfillmentCreate"]["fulfillments"][0]["id"]
    await shop(SHIP, {"in": {"fulfillmentId": fulfillment, "carrier": "EMS", "trackingNumber": "E1"}})
    return oid, order["order"]["lines"], tea, cup


async def test_a_return_restocks_and_scraps(shop: Shop):
    oid, lines, _tea, _cup = await _shipped(shop)
    tea_line, cup_line = lines[0]["id"], lines[1]["id"]
    r = await shop(CREATE, {"in": {"orderId": oid, "reason": "Damaged", "lines": [
        {"lineId": tea_line, "quantity": "5"}]}})
    assert r["data"]["returnCreate"]["userErrors"][0]["code"] == "NOT_RETURNABLE"
    r = await shop(CREATE, {"in": {"orderId": oid, "reason": "Damaged", "lines": [
        {"lineId": tea_line, "quantity": "3"}, {"lineId": cup_line, "quantity": "1"}]}})
    made = r["data"]["returnCreate"]["return"]
    assert made["status"] == "REQUESTED" and made["number"].startswith("RMA-")
    r = await shop(CREATE, {"in": {"orderId": oid, "reason": "Again", "lines": [{"lineId": tea_line, "quantity": "2"}]}})
    assert r["data"]["returnCreate"]["userErrors"][0]["code"] == "NOT_RETURNABLE"  # 3 of 4 already on a return
    r = await shop(RECEIVE, {"in": {"id": made["id"], "scrapLineIds": [cup_line]}})
    received = r["data"]["returnReceive"]["return"]
    assert received["status"] == "RECEIVED" and received["warehouse"]["code"] == "MAIN"
    assert received["lines"] == [{"sku": "TEA", "restocked": "3", "scrapped": "0"},
                                 {"sku": "CUP", "restocked": "0", "scrapped": "1"}]
    r = await shop("""{ stockMoves(first: 5, filter: {kind: RETURN}) { nodes { quantity product { sku } sourceId } } }""")
    assert r["data"]["stockMoves"]["nodes"] == [{"quantity": "3", "product": {"sku": "TEA"}, "sourceId": made["id"]}]
    r = await shop(RECEIVE, {"in": {"id": made["id"]}})
    assert r["data"]["returnReceive"]["userErrors"][0]["code"] == "INVALID_TRANSITION"
    r = await shop("query($id: ID!) { node(id: $id) { ... on Order { returns { number status } } } }", {"id": oid})
    assert r["data"]["node"]["returns"] == [{"number": made["number"], "status": "RECEIVED"}]


async def test_unshipped_orders_cannot_be_returned(shop: Shop):
    customer = await shop.customer()
    tea = await shop.stocked("TEA", "10")
    order = (await shop.order(customer, [{"productId": tea, "quantity": "1"}]))["order"]
    r = await shop(CREATE, {"in": {"orderId": order["id"], "reason": "x", "lines": [
        {"lineId": order["lines"][0]["id"], "quantity": "1"}]}})
    assert r["data"]["returnCreate"]["userErrors"][0]["code"] == "INVALID_TRANSITION"
