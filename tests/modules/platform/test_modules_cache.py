"""A serving process keeps each tenant's enabled modules while it hears every switch.

Requests stop reading ``tenant_module``; a switch made in this process is seen by its next request,
one made elsewhere as soon as its notification arrives; a process that cannot hear reads the table.
"""

from __future__ import annotations

import asyncio
import uuid

from backend.core.db import asyncpg_connect
from backend.core.events import NOTIFY_CHANNEL
from backend.modules.platform.service import MODULES, ModulesCache

NOTES = "{ notes(first: 1) { edges { node { id } } } }"


def _module_reads(count_sql) -> int:  # type: ignore[no-untyped-def]
    return sum("FROM tenant_module" in s for s in count_sql.statements)


async def test_requests_after_the_first_do_not_read_the_modules(gql, make_tenant, count_sql):
    tenant = await make_tenant()
    assert "errors" not in await gql(NOTES, tenant=tenant)
    count_sql.statements.clear()
    for _ in range(3):
        assert "errors" not in await gql(NOTES, tenant=tenant)
    assert _module_reads(count_sql) == 0


async def test_a_switch_in_this_process_is_seen_by_the_next_request(gql, make_tenant):
    tenant = await make_tenant()
    assert "errors" not in await gql(NOTES, tenant=tenant)  # cached: notes on
    for module in ("reminders", "notes"):  # reminders depends on notes
        done = await gql('mutation($m: String!) { moduleDisable(input: {module: $m}) { userErrors { code } } }',
                         {"m": module}, tenant=tenant)
        assert done["data"]["moduleDisable"]["userErrors"] == []
    body = await gql(NOTES, tenant=tenant)  # at once: no waiting for the notification
    assert body["errors"][0]["extensions"]["code"] == "MODULE_DISABLED"
    await gql('mutation { moduleEnable(input: {module: "notes"}) { userErrors { code } } }', tenant=tenant)
    assert "errors" not in await gql(NOTES, tenant=tenant)


async def test_a_switch_committed_by_another_process_is_seen_when_its_notification_arrives(
        gql, make_tenant, owner_url, count_sql):
    tenant = await make_tenant()
    assert "errors" not in await gql(NOTES, tenant=tenant)
    # Another process switches notes off: the row and the event's notification, in one transaction.
    other = await asyncpg_connect(owner_url)
    try:
        async with other.transaction():
            await other.execute("UPDATE tenant_module SET enabled = false WHERE tenant_id = $1 AND module = 'notes'",
                                tenant)
            await other.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL,
                                f'{{"type": "module.disabled", "tenant": "{tenant}", "id": "{uuid.uuid4()}"}}')
    finally:
        await other.close()
    for _ in range(100):
        body = await gql(NOTES, tenant=tenant)
        if "errors" in body:
            break
        await asyncio.sleep(0.02)
    assert body["errors"][0]["extensions"]["code"] == "MODULE_DISABLED"


def test_the_cache_answers_only_while_listening_and_never_stores_a_read_older_than_a_switch():
    cache, tenant = ModulesCache(), uuid.uuid4()
    cache.put(tenant, frozenset({"crm"}), cache.generation)
    assert cache.get(tenant) is None  # no listener connected yet: nothing is kept
    cache.heard({"type": "listener.connected"})
    cache.put(tenant, frozenset({"crm"}), cache.generation)
    assert cache.get(tenant) == {"crm"}

    read_at = cache.generation  # a request starts reading the table...
    cache.heard({"type": "module.enabled", "tenant": str(tenant)})  # ...a switch commits meanwhile
    assert cache.get(tenant) is None
    cache.put(tenant, frozenset({"crm"}), read_at)  # the request's (old) answer is not kept
    assert cache.get(tenant) is None

    cache.put(tenant, frozenset({"crm", "orders"}), cache.generation)
    cache.heard({"type": "listener.disconnected"})  # notifications may be missed from now on
    assert cache.get(tenant) is None
    cache.heard({"type": "listener.connected"})
    assert cache.get(tenant) is None  # a reconnect starts from empty


def test_the_served_app_feeds_the_process_cache(app):  # type: ignore[no-untyped-def]
    assert MODULES.listening >= 1
