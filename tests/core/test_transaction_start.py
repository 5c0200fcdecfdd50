"""A transaction's first statements without rows (the tenant's ``SET LOCAL``) go with its ``BEGIN``.

``backend.core.fetch.Connection`` sends them in the same simple query as the ``BEGIN``: one round
trip to open every request's transaction instead of two. These tests watch the queries asyncpg sends
on the session's own connection.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from backend.core.db import Database, set_tenant
from backend.core.fetch import Connection, execute
from tests.support.queries import log_queries


async def _raw(session) -> Connection:  # type: ignore[no-untyped-def]
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).dbapi_connection._connection
    assert type(raw) is Connection
    return raw


@asynccontextmanager
async def _watched(db: Database) -> AsyncIterator[tuple[Any, Connection, list[str]]]:
    """A session, its asyncpg connection, and the queries asyncpg sends on it."""
    async with db.sessionmaker() as session:
        raw = await _raw(session)
        sent, stop = log_queries(raw)
        try:
            yield session, raw, sent
        finally:
            await stop()


async def test_the_tenant_is_set_in_the_round_trip_that_begins_the_transaction(db: Database, make_tenant):
    tenant = await make_tenant()
    async with _watched(db) as (session, raw, sent):
        await set_tenant(session, tenant)
        await asyncio.sleep(0)  # asyncpg calls its query loggers soon after, not at once
        assert sent == [f"BEGIN; SET LOCAL app.tenant_id = '{tenant}'; SET LOCAL jit = off"]
        assert (await session.execute(text("SELECT current_setting('app.tenant_id')"))).scalar() == str(tenant)
        assert raw.is_in_transaction()
        await session.commit()
        # SET LOCAL ended with the transaction it began with
        assert await raw.fetchval("SELECT current_setting('app.tenant_id', true)") in ("", None)


async def test_statements_after_the_begin_go_on_their_own(db: Database, make_tenant):
    tenant = await make_tenant()
    async with _watched(db) as (session, _raw_connection, sent):
        await session.execute(text("SELECT 1"))  # the transaction begins with this one
        await set_tenant(session, tenant)
        await asyncio.sleep(0)
        assert sent[0].startswith("BEGIN") and sent[0].rstrip(";") == "BEGIN"
        assert sent[-1] == f"SET LOCAL app.tenant_id = '{tenant}'; SET LOCAL jit = off"
        assert (await session.execute(text("SELECT current_setting('app.tenant_id')"))).scalar() == str(tenant)


async def test_a_failing_first_statement_fails_and_its_connection_is_not_reused(db: Database, make_tenant):
    async with db.sessionmaker() as session:
        raw = await _raw(session)
        with pytest.raises(asyncpg.PostgresError, match="no_such_setting"):
            await execute(session, "SET LOCAL no_such_setting = 1")
        await session.rollback()
    # The connection was left in a failed transaction its adapter did not know of: it is closed, not pooled.
    assert raw.is_closed()
    tenant = await make_tenant()
    async with db.transaction(tenant) as session:
        found = (await session.execute(text("SELECT current_setting('app.tenant_id')"))).scalar()
        assert uuid.UUID(found) == tenant
