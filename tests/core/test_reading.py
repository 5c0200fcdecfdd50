"""A query's session holds its connection (``Database.reading``, ``backend.core.fetch.hold``).

Statements run through ``fetch`` go to that connection without the session's transaction machinery:
the request is its ``BEGIN`` with the tenant's settings, its statements and its ``COMMIT``, and the
ORM, when something uses it, joins the same transaction. These tests watch the queries asyncpg sends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import Integer, String, column, func, select, text

from backend.core.db import NO_JIT, Database, set_tenant
from backend.core.fetch import Connection, Prepared, fetch
from backend.modules.crm.models import Customer
from tests.support.queries import log_queries

_ONE = Prepared(text("SELECT current_setting('app.tenant_id') AS tenant, 1 AS one").columns(
    column("tenant", String), column("one", Integer)))


@asynccontextmanager
async def _reading(db: Database) -> AsyncIterator[tuple[Any, Connection, list[str]]]:
    """``db.reading()``'s session, its asyncpg connection, and the queries asyncpg sends on it (to its
    ``COMMIT``)."""
    async with db.reading() as session:
        raw = (await session.bind.get_raw_connection()).dbapi_connection._connection
        assert type(raw) is Connection
        sent, stop = log_queries(raw)
        yield session, raw, sent
    await stop()


async def test_a_read_is_its_begin_its_statements_and_its_commit(db: Database, make_tenant):
    tenant = await make_tenant()
    async with _reading(db) as (session, raw, sent):
        await set_tenant(session, tenant, generic_plans=True)
        rows = await fetch(session, _ONE, {})
        assert rows[0].tenant == str(tenant)
        # the session itself never began: no transaction of its own, no connection checked out for it
        assert not session.sync_session.in_transaction()
    assert sent[0].startswith(f"BEGIN; SET LOCAL app.tenant_id = '{tenant}'; {NO_JIT}")
    assert sent[1:] == [_ONE.sql, "COMMIT;"]
    assert not raw.is_in_transaction()


async def test_the_orm_joins_the_held_transaction_and_its_writes_are_committed(db: Database, make_tenant):
    tenant = await make_tenant()
    async with _reading(db) as (session, raw, sent):
        await set_tenant(session, tenant, generic_plans=True)
        await fetch(session, _ONE, {})
        # the ORM's statements run in the transaction the tenant's settings began
        assert (await session.execute(text("SELECT current_setting('app.tenant_id')"))).scalar() == str(tenant)
        session.add(Customer(name="Written in a read"))
    assert [q for q in sent if q.startswith(("BEGIN", "COMMIT"))] == [sent[0], "COMMIT;"]
    assert not raw.is_in_transaction()
    async with db.transaction(tenant) as check:
        names = (await check.execute(select(Customer.name))).scalars().all()
    assert names == ["Written in a read"]


async def test_a_read_that_raises_writes_nothing_and_leaves_its_connection_clean(db: Database, make_tenant):
    tenant = await make_tenant()
    with pytest.raises(RuntimeError, match="resolver failed"):
        async with _reading(db) as (session, raw, _sent):
            await set_tenant(session, tenant)
            session.add(Customer(name="Never written"))
            await session.flush()
            raise RuntimeError("resolver failed")
    assert not raw.is_in_transaction()
    assert await raw.fetchval("SELECT current_setting('app.tenant_id', true)") in ("", None)
    async with db.transaction(tenant) as check:
        assert (await check.execute(select(func.count()).select_from(Customer))).scalar() == 0


async def test_reads_on_one_session_share_the_connection_and_transaction(db: Database, make_tenant):
    tenant = await make_tenant()
    async with _reading(db) as (session, _raw, sent):
        await set_tenant(session, tenant)
        first = await fetch(session, Prepared(text("SELECT txid_current() AS x").columns(column("x", Integer))), {})
        second = (await session.execute(text("SELECT txid_current()"))).scalar()
        assert first[0].x == second
    assert sum(q.startswith("BEGIN") for q in sent) == 1


async def test_concurrent_reads_and_writes_of_two_tenants_see_only_their_own(gql, make_tenant):
    """Queries on held connections and mutations on plain sessions share one pool: run together for two
    tenants, every answer holds its own tenant's rows only, and a node of the other tenant is not found."""
    import asyncio

    tenants = [await make_tenant(), await make_tenant()]
    create = "mutation($in: CustomerCreateInput!) { customerCreate(input: $in) { customer { id } userErrors { code } } }"
    ids = {}
    for n, tenant in enumerate(tenants):
        made = await gql(create, {"in": {"name": f"Tenant {n} first"}}, tenant=tenant)
        ids[tenant] = made["data"]["customerCreate"]["customer"]["id"]

    async def read(n: int, other: int) -> None:
        body = await gql("query($id: ID!) { customers(first: 50) { nodes { name } } node(id: $id) { id } }",
                         {"id": ids[tenants[other]]}, tenant=tenants[n])
        names = {c["name"] for c in body["data"]["customers"]["nodes"]}
        assert names and all(name.startswith(f"Tenant {n} ") for name in names), body
        assert body["data"]["node"] is None, body

    async def write(n: int, i: int) -> None:
        made = await gql(create, {"in": {"name": f"Tenant {n} #{i}", "allowDuplicate": True}}, tenant=tenants[n])
        assert made["data"]["customerCreate"]["userErrors"] == [], made

    jobs = []
    for i in range(30):
        jobs += [read(i % 2, 1 - i % 2), read(1 - i % 2, i % 2)]
        if i % 3 == 0:
            jobs.append(write(i % 2, i))
    await asyncio.gather(*jobs)
    for n, tenant in enumerate(tenants):
        body = await gql("{ customers(first: 50) { totalCount } }", tenant=tenant)
        assert body["data"]["customers"]["totalCount"] == 1 + sum(1 for i in range(0, 30, 3) if i % 2 == n)
