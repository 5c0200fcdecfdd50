"""Telling the customer: the public tracking page, notifications to the contact, the subscription."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import orjson
from sqlalchemy import text
from websockets.asyncio.client import connect

from tests.modules.orders.conftest import Shop
from tests.modules.orders.test_flow_api import FULFIL, SHIP
from tests.modules.platform.test_subscriptions import server, signup  # noqa: F401  (a real server)


async def _ready_to_ship(shop: Shop) -> tuple[str, str]:
    customer = await shop.customer("Lotus Bakery", email="orders@lotus.example")
    r = await shop("""mutation($c: ID!) { contactCreate(input: {customerId: $c, name: "Chen Jing",
        email: "chen@lotus.example"}) { contact { id } } }""", {"c": customer})
    assert r["data"]["contactCreate"]["contact"]
    tea = await shop.stocked("TEA", "5")
    oid = (await shop.order(customer, [{"productId": tea, "quantity": "2"}]))["order"]["id"]
    for step in ("orderSubmit", "orderApprove", "orderAllocate"):
        await shop.act(step, oid)
    fulfillment = (await shop(FULFIL, {"in": {"orderId": oid}}))["data"]["fulfillmentCreate"]["fulfillments"][0]["id"]
    return oid, fulfillment


async def test_the_tracking_page_shows_only_number_status_and_shipments(shop: Shop, client):
    oid, fulfillment = await _ready_to_ship(shop)
    await shop(SHIP, {"in": {"fulfillmentId": fulfillment, "carrier": "SF Express", "trackingNumber": "SF77"}})
    r = await shop("query($id: ID!) { node(id: $id) { ... on Order { number trackingLink } } }", {"id": oid})
    link, number = r["data"]["node"]["trackingLink"], r["data"]["node"]["number"]
    page = await client.get(link)  # no credentials at all
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    body = page.json()
    assert body["number"] == number and body["status"] == "SHIPPED"
    assert [(s["carrier"], s["trackingNumber"], s["status"]) for s in body["shipments"]] == [
        ("SF Express", "SF77", "SHIPPED")]
    assert set(body) == {"number", "status", "requestedDeliveryDate", "shipments"}  # no customer, no prices
    token = link.rsplit("/", 1)[1]
    for wrong in (token[:-1] + ("A" if token[-1] != "A" else "B"), token[:32] + "x" * 32, "nope",
                  uuid.uuid4().hex + token[32:]):
        assert (await client.get(f"/track/{wrong}")).status_code == 404


async def test_the_contact_is_told_at_confirmation_shipment_delivery(shop: Shop, db):
    _, fulfillment = await _ready_to_ship(shop)
    await shop(SHIP, {"in": {"fulfillmentId": fulfillment, "carrier": "SF Express", "trackingNumber": "SF88"}})
    await shop("""mutation($f: ID!) { shipmentDeliver(input: {fulfillmentId: $f}) { userErrors { code } } }""",
               {"f": fulfillment})
    async with db.owner_engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT event_type, recipient, subject, body FROM notification WHERE tenant_id = :t ORDER BY created_at"),
            {"t": shop.tenant})).all()
    assert [(r.event_type, r.recipient) for r in rows] == [
        ("order.approved", "chen@lotus.example"), ("order.shipped", "chen@lotus.example"),
        ("order.delivered", "chen@lotus.example")]
    shipped = rows[1]
    assert "SF88" in shipped.body and "/track/" in shipped.body and "Chen Jing" in shipped.body


async def test_order_updated_reaches_a_subscriber(server, db, registry):  # noqa: F811
    from backend.modules.platform import service as platform

    owner = await signup(server)  # a free plan: the CRM only; move it to business and switch orders on
    async with httpx.AsyncClient(base_url=f"http://{server}") as http:
        auth = {"authorization": f"Bearer {owner['access_token']}"}
        r = await http.post("/graphql", headers=auth, json={"query": "{ viewer { tenant { id slug } } }"})
        slug = r.json()["data"]["viewer"]["tenant"]["slug"]
        async with db.transaction() as session:
            tenant = await platform.get_tenant_by_slug(session, slug=slug)
            tenant.plan = "business"  # type: ignore[union-attr]
        async with db.transaction(tenant.id) as session:  # type: ignore[union-attr]
            await platform.enable_module(session, registry=registry, module="orders")

        async def gql(query: str, variables: dict | None = None) -> dict:
            response = await http.post("/graphql", headers=auth, json={"query": query, "variables": variables or {}})
            return response.json()

        customer = (await gql('mutation { customerCreate(input: {name: "Ws Co"}) { customer { id } } }'))[
            "data"]["customerCreate"]["customer"]["id"]
        product = (await gql('mutation { productCreate(input: {sku: "WS", name: "Ws", unitPrice: "3"}) '
                             "{ product { id } } }"))["data"]["productCreate"]["product"]["id"]
        made = await gql("""mutation($c: ID!, $p: ID!) { orderCreate(input: {customerId: $c, lines: [{productId: $p,
            quantity: "1"}]}) { order { id } userErrors { code } } }""", {"c": customer, "p": product})
        oid = made["data"]["orderCreate"]["order"]["id"]
        ws = await connect(f"ws://{server}/graphql", subprotocols=["graphql-transport-ws"])
        try:
            await ws.send(orjson.dumps({"type": "connection_init",
                                        "payload": {"Authorization": f"Bearer {owner['access_token']}"}}).decode())
            assert orjson.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
            await ws.send(orjson.dumps({"id": "1", "type": "subscribe", "payload": {
                "query": "subscription($id: ID) { orderUpdated(id: $id) { number status } }",
                "variables": {"id": oid}}}).decode())
            await asyncio.sleep(0.2)
            r = await gql("mutation($id: ID!) { orderSubmit(input: {id: $id}) { order { status } } }", {"id": oid})
            assert r["data"]["orderSubmit"]["order"]["status"] == "SUBMITTED"
            message = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
            assert message["type"] == "next"
            assert message["payload"]["data"]["orderUpdated"]["status"] == "SUBMITTED"
        finally:
            await ws.close()
