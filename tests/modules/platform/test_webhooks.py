"""Webhooks delivered by real workers to a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

import orjson
import pytest
from sqlalchemy import text

from backend.core.errors import DomainError
from backend.modules.platform import webhooks
from backend.modules.platform.worker import DeliveryWorker
from tests.support.receiver import Receiver

CREATE_HOOK = """mutation($url: String!, $types: [String!]!) { webhookCreate(input: {url: $url, eventTypes: $types}) {
  webhook { id enabled } secret userErrors { field code message } } }"""
NOTE = 'mutation($t: String!) { noteCreate(input: {title: $t}) { note { id } userErrors { code } } }'
DELIVERIES = """query($w: ID) { webhookDeliveries(first: 100, webhookId: $w) { nodes {
  id status attempts lastStatusCode eventType nextAttemptAt } } }"""


@pytest.fixture
async def receiver():
    r = await Receiver().start()
    yield r
    await r.stop()


async def drain(*workers: DeliveryWorker, rounds: int = 1000) -> None:
    """Run the workers side by side until a round finds nothing to do."""
    for _ in range(rounds):
        done = await asyncio.gather(*(w.run_once() for w in workers))
        if not any(done):
            return


async def make_due_now(db) -> None:
    """Skip the backoff wait (tests cannot wait 30 s): everything pending is due now."""
    async with db.owner_engine.begin() as conn:
        await conn.execute(text("UPDATE webhook_delivery SET next_attempt_at = now() - interval '1 second' "
                                "WHERE status = 'pending'"))
        await conn.execute(text("UPDATE tenant_work SET due_at = now() - interval '1 second'"))


async def hook(gql, tenant, url: str, types=("note.created",)) -> dict:
    body = await gql(CREATE_HOOK, {"url": url, "types": list(types)}, tenant=tenant)
    assert body["data"]["webhookCreate"]["userErrors"] == [], body
    return body["data"]["webhookCreate"]


async def test_two_workers_deliver_each_event_exactly_once(gql, db, settings, make_tenant, receiver):
    a = await make_tenant(modules=["notes"])
    await hook(gql, a, receiver.url)
    for i in range(20):
        await gql(NOTE, {"t": f"n{i}"}, tenant=a)
    one, two = DeliveryWorker(db, settings), DeliveryWorker(db, settings)
    await drain(one, two)
    ids = receiver.event_ids()
    assert len(ids) == 20 and len(set(ids)) == 20
    titles = sorted(orjson.loads(c.body)["payload"]["title"] for c in receiver.calls)
    assert titles == sorted(f"n{i}" for i in range(20))
    nodes = (await gql(DELIVERIES, {}, tenant=a))["data"]["webhookDeliveries"]["nodes"]
    assert {(n["status"], n["attempts"], n["lastStatusCode"]) for n in nodes} == {("SUCCEEDED", 1, 200)}


async def test_a_receiver_that_fails_gets_the_event_on_a_later_attempt(gql, db, settings, make_tenant, receiver):
    a = await make_tenant(modules=["notes"])
    created = await hook(gql, a, receiver.url)
    receiver.fail_first = 2
    await gql(NOTE, {"t": "persistent"}, tenant=a)
    worker = DeliveryWorker(db, settings)
    await drain(worker)
    [delivery] = (await gql(DELIVERIES, {"w": created["webhook"]["id"]}, tenant=a))["data"]["webhookDeliveries"]["nodes"]
    assert (delivery["status"], delivery["attempts"], delivery["lastStatusCode"]) == ("PENDING", 1, 500)
    assert delivery["nextAttemptAt"] is not None
    for _ in range(2):
        await make_due_now(db)
        await drain(worker)
    [delivery] = (await gql(DELIVERIES, {"w": created["webhook"]["id"]}, tenant=a))["data"]["webhookDeliveries"]["nodes"]
    assert (delivery["status"], delivery["attempts"], delivery["lastStatusCode"]) == ("SUCCEEDED", 3, 200)
    assert len(set(receiver.event_ids())) == 1 and len(receiver.calls) == 3  # the same event, three times


def documented_verify():
    """The verification snippet exactly as docs/webhooks.md shows it."""
    doc = (Path(__file__).resolve().parents[3] / "docs" / "webhooks.md").read_text()
    snippet = next(block for block in re.findall(r"```python\n(.*?)```", doc, re.S) if "def verify(" in block)
    namespace: dict = {}
    exec(snippet, namespace)
    return namespace["verify"]


async def test_signatures_verify_with_the_documented_snippet(gql, db, settings, make_tenant, receiver):
    a = await make_tenant(modules=["notes"])
    created = await hook(gql, a, receiver.url)
    await gql(NOTE, {"t": "signed"}, tenant=a)
    await drain(DeliveryWorker(db, settings))
    [call] = receiver.calls
    verify = documented_verify()
    signature = call.headers["jishi-signature"]
    assert verify(created["secret"], signature, call.body)
    assert not verify(created["secret"], signature, call.body.replace(b"signed", b"forged"))
    assert not verify("whsec_wrong_secret_value", signature, call.body)
    stale = webhooks.sign(created["secret"], 1_000_000_000, call.body)
    assert not verify(created["secret"], stale, call.body)
    assert call.headers["jishi-event"] == "note.created"
    envelope = orjson.loads(call.body)
    assert envelope["type"] == "note.created" and envelope["version"] == 1 and envelope["sequence"] >= 1


async def test_work_of_a_worker_that_died_mid_delivery_is_delivered_by_another(gql, db, settings, make_tenant,
                                                                             receiver):
    a = await make_tenant(modules=["notes"])
    await hook(gql, a, receiver.url)
    await gql(NOTE, {"t": "orphaned"}, tenant=a)
    dying = DeliveryWorker(db, settings.model_copy(update={"worker_lease_seconds": 1}))
    claimed = await dying._claim()  # it leased the delivery, then died before sending
    assert len(claimed.deliveries) >= 1 and receiver.calls == []
    survivor = DeliveryWorker(db, settings)
    await drain(survivor)
    assert receiver.calls == []  # the lease is still held
    await asyncio.sleep(1.2)
    await drain(survivor)
    assert [orjson.loads(c.body)["payload"]["title"] for c in receiver.calls] == ["orphaned"]


async def test_an_endpoint_failing_for_the_whole_window_is_disabled_and_admins_told(gql, db, settings, make_tenant,
                                                                                   receiver):
    a = await make_tenant(modules=["notes"])
    async with db.transaction(a) as session:
        from backend.modules.platform import identity

        owner = await identity.create_user(session, email=f"own-{uuid.uuid4().hex[:6]}@example.com", name="Owner",
                                           password=None)
        await identity.add_member(session, user_id=owner.id, role="owner")
    created = await hook(gql, a, receiver.url)
    receiver.fail_first = 1000
    await gql(NOTE, {"t": "doomed"}, tenant=a)
    worker = DeliveryWorker(db, settings)
    await drain(worker)
    async with db.owner_engine.begin() as conn:  # 25 hours pass
        await conn.execute(text("UPDATE webhook_delivery SET created_at = now() - interval '25 hours' "
                                "WHERE tenant_id = :t"), {"t": a})
    await make_due_now(db)
    await drain(worker)
    hooks = (await gql("{ webhooks { nodes { enabled disabledReason } } }", tenant=a))["data"]["webhooks"]["nodes"]
    assert hooks == [{"enabled": False, "disabledReason": "deliveries failed for the whole retry window"}]
    [delivery] = (await gql(DELIVERIES, {"w": created["webhook"]["id"]}, tenant=a))["data"]["webhookDeliveries"]["nodes"]
    assert delivery["status"] == "DEAD"
    events = (await gql('{ events(types: ["webhook.disabled"]) { nodes { payload } } }', tenant=a))["data"]["events"]
    assert events["nodes"][0]["payload"]["url"] == receiver.url
    async with db.transaction(a) as session:
        rows = (await session.execute(text("SELECT recipient, subject FROM notification "
                                           "WHERE event_type = 'webhook.disabled'"))).all()
    assert [r.recipient for r in rows] == [owner.email] and "Webhook disabled" in rows[0].subject


async def test_redeliver_and_replay(gql, db, settings, make_tenant, receiver):
    a = await make_tenant(modules=["notes"])
    created = await hook(gql, a, receiver.url)
    for title in ("first", "second"):
        await gql(NOTE, {"t": title}, tenant=a)
    worker = DeliveryWorker(db, settings)
    await drain(worker)
    assert len(receiver.calls) == 2
    nodes = (await gql(DELIVERIES, {"w": created["webhook"]["id"]}, tenant=a))["data"]["webhookDeliveries"]["nodes"]
    r = await gql("mutation($d: ID!) { webhookRedeliver(input: {deliveryId: $d}) { delivery { status } userErrors { code } } }",
                  {"d": nodes[0]["id"]}, tenant=a)
    assert r["data"]["webhookRedeliver"]["delivery"]["status"] == "PENDING"
    await drain(worker)
    assert len(receiver.calls) == 3 and receiver.calls[2].headers["jishi-event-id"] in receiver.event_ids()[:2]
    r = await gql("mutation($w: ID!) { webhookReplay(input: {webhookId: $w, since: \"2000-01-01T00:00:00Z\", "
                  "until: \"2100-01-01T00:00:00Z\"}) { scheduled userErrors { code } } }",
                  {"w": created["webhook"]["id"]}, tenant=a)
    assert r["data"]["webhookReplay"]["scheduled"] == 2
    await drain(worker)
    assert len(receiver.calls) == 5
    r = await gql("mutation($w: ID!) { webhookReplay(input: {webhookId: $w, since: \"2100-01-01T00:00:00Z\", "
                  "until: \"2000-01-01T00:00:00Z\"}) { scheduled userErrors { code } } }",
                  {"w": created["webhook"]["id"]}, tenant=a)
    assert r["data"]["webhookReplay"]["userErrors"] == [{"code": "INVALID_RANGE"}]


async def test_another_tenant_cannot_see_or_touch_a_webhook(gql, make_tenant, receiver):
    a, b = await make_tenant(modules=["notes"]), await make_tenant(modules=["notes"])
    created = await hook(gql, a, receiver.url)
    r = await gql("mutation($id: ID!) { webhookDelete(input: {id: $id}) { deletedWebhookId userErrors { code } } }",
                  {"id": created["webhook"]["id"]}, tenant=b)
    assert r["data"]["webhookDelete"]["userErrors"] == [{"code": "NOT_FOUND"}]
    assert (await gql("{ webhooks { totalCount } }", tenant=b))["data"]["webhooks"]["totalCount"] == 0
    assert (await gql("{ webhooks { totalCount } }", tenant=a))["data"]["webhooks"]["totalCount"] == 1
    r = await gql("{ webhooks { totalCount } }", tenant=a, permissions=("platform.read",))
    assert r["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_webhook_input_is_checked(gql, make_tenant):
    a = await make_tenant()
    for url, types, code in [("ftp://x.example.com/h", ["*"], "INVALID_URL"), ("https://u:p@x.example.com", ["*"], "INVALID_URL"),
                             ("https://x.example.com/h", [], "REQUIRED"), ("https://x.example.com/h", ["nope.x"], "UNKNOWN_EVENT_TYPE")]:
        body = await gql(CREATE_HOOK, {"url": url, "types": types}, tenant=a)
        assert body["data"]["webhookCreate"]["userErrors"][0]["code"] == code, url
    assert (await gql("{ webhooks { totalCount } }", tenant=a))["data"]["webhooks"]["totalCount"] == 0


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/x", "http://localhost/x", "http://10.1.2.3/x",
                                 "http://169.254.169.254/latest/meta-data", "http://[::1]/x", "http://192.168.0.7/"])
async def test_production_refuses_private_targets(url):
    with pytest.raises(DomainError) as refused:
        await webhooks.check_url(url, allow_private=False)
    assert refused.value.code == "FORBIDDEN_URL"
    assert await webhooks.check_url(url, allow_private=True) == url


async def test_a_killed_worker_process_loses_nothing(owner_url, gql, db, settings, make_tenant, receiver, tmp_path):
    """kill -9 a real `jishi worker` while it waits on the receiver; another worker delivers."""
    import os
    import signal
    import subprocess
    import sys

    from tests.conftest import APP_PASSWORD, APP_USER

    a = await make_tenant(modules=["notes"])
    await hook(gql, a, receiver.url, types=("*",))
    receiver.delay = 30  # the worker will be stuck sending when it is killed
    await gql(NOTE, {"t": f"survivor {uuid.uuid4().hex[:4]}"}, tenant=a)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JISHI_")}
    env.update(JISHI_DATABASE_URL=owner_url, JISHI_APP_DB_USER=APP_USER, JISHI_APP_DB_PASSWORD=APP_PASSWORD,
               JISHI_WORKER_LEASE_SECONDS="2", JISHI_ENV="test", JISHI_DATA_DIR=str(tmp_path))
    log = open(tmp_path / "worker.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "worker"], env=env, stdout=log, stderr=log)
    try:
        for _ in range(200):
            if receiver.arrived:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the worker never reached the receiver: " + (tmp_path / "worker.log").read_text())
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    receiver.delay = 0
    receiver.calls.clear()
    await asyncio.sleep(2.2)  # the dead worker's lease runs out
    await drain(DeliveryWorker(db, settings))
    delivered = [orjson.loads(c.body)["payload"].get("title", "") for c in receiver.calls]
    assert any(t.startswith("survivor") for t in delivered)



async def test_a_burst_of_new_events_wakes_the_worker_for_one_round(db, settings, monkeypatch):
    worker = DeliveryWorker(db, settings.model_copy(update={"worker_poll_seconds": 5, "worker_coalesce_seconds": 0.05}))
    rounds = []

    async def run_once() -> int:
        rounds.append(wake.qsize())
        return 0

    monkeypatch.setattr(worker, "run_once", run_once)
    stop, wake = asyncio.Event(), asyncio.Queue()
    task = asyncio.create_task(worker.run(stop, wake))
    await asyncio.sleep(0.05)
    for n in range(5):  # five events committed one after another, a notification each
        wake.put_nowait(n)
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.2)
    stop.set()
    await task
    assert len(rounds) == 2 and rounds[1] == 0  # the start, then one round for the burst: the rest were spent
