"""GraphQL subscriptions over a real websocket (graphql-transport-ws), against a real server."""

from __future__ import annotations

import asyncio
import socket
import uuid

import httpx
import orjson
import pytest
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from backend.api.schema import build_schema
from backend.app import create_app
from tests.modules.platform.conftest import PASSWORD

SUBSCRIBE = {"id": "1", "type": "subscribe",
             "payload": {"query": "subscription { eventPublished { type sequence payload aggregateId } }"}}


@pytest.fixture(scope="module")
async def server(settings, registry, db):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(settings, registry=registry, schema=build_schema(registry), database=db)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on"))
    task = asyncio.create_task(srv.serve())
    while not srv.started:
        await asyncio.sleep(0.01)
    yield f"127.0.0.1:{port}"
    srv.should_exit = True
    await task


async def signup(base: str) -> dict:
    async with httpx.AsyncClient(base_url=f"http://{base}") as http:
        r = await http.post("/auth/signup", json={"email": f"s-{uuid.uuid4().hex[:8]}@example.com",
                                                  "password": PASSWORD, "name": "Sub", "company": "Sub Co"})
        assert r.status_code == 201, r.text
        return r.json()


async def invite(base: str, token: str, email: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://{base}") as http:
        r = await http.post("/graphql", headers={"authorization": f"Bearer {token}"}, json={
            "query": 'mutation($e: String!) { memberInvite(input: {email: $e, role: "viewer"}) { userErrors { code } } }',
            "variables": {"e": email}})
        assert r.json()["data"]["memberInvite"]["userErrors"] == []


async def open_subscription(base: str, token: str):  # type: ignore[no-untyped-def]
    ws = await connect(f"ws://{base}/graphql", subprotocols=["graphql-transport-ws"])
    await ws.send(orjson.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}).decode())
    assert orjson.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
    await ws.send(orjson.dumps(SUBSCRIBE).decode())
    await asyncio.sleep(0.2)  # the subscription is registered before anything is emitted
    return ws


async def test_a_subscriber_receives_its_tenants_events_and_not_others(server):
    a, b = await signup(server), await signup(server)
    ws = await open_subscription(server, a["access_token"])
    try:
        await invite(server, b["access_token"], "for-b@example.com")  # another tenant's event first
        await invite(server, a["access_token"], "for-a@example.com")
        message = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert message["type"] == "next" and message["id"] == "1"
        event = message["payload"]["data"]["eventPublished"]
        assert event["type"] == "member.invited" and event["payload"]["email"] == "for-a@example.com"
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.5)  # B's event never arrives
    finally:
        await ws.close()


async def test_a_websocket_without_a_valid_token_is_refused(server):
    ws = await connect(f"ws://{server}/graphql", subprotocols=["graphql-transport-ws"])
    await ws.send(orjson.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer forged"}}).decode())
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd.code == 4403



async def test_a_subscription_ends_when_its_tenant_is_suspended(server, db):
    from sqlalchemy import text

    from backend.core import events
    from backend.modules.platform.events import MODULE_DISABLED

    a = await signup(server)
    ws = await open_subscription(server, a["access_token"])
    try:
        await invite(server, a["access_token"], "before@example.com")
        assert orjson.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "next"
        async with db.transaction() as session:
            await session.execute(text("UPDATE tenant SET status = 'suspended' WHERE slug = :s"),
                                  {"s": a["tenant"]["slug"]})
        await asyncio.sleep(5.2)  # past the subscriber's next access check
        async with db.transaction(tenant_of(a)) as session:  # an event the suspended tenant must not get
            await events.emit(session, MODULE_DISABLED, aggregate_id="x", payload={"module": "none"})
        message = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert message["payload"]["data"] is None
        assert message["payload"]["errors"][0]["message"] == "This tenant is suspended."
        assert orjson.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "complete"  # the stream ended
    finally:
        await ws.close()


def tenant_of(token_response: dict) -> uuid.UUID:
    import base64

    payload = token_response["access_token"].split(".")[1]
    return uuid.UUID(orjson.loads(base64.urlsafe_b64decode(payload + "=="))["tid"])
