"""Row-level isolation, table by table, under the runtime role with raw SQL.

Every tenant table in the live database is covered automatically: the data comes from the demo
seed (every module's ``demo.seed``) for two tenants, and a table the demo leaves empty fails the
test, so a new table cannot escape these checks.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import CrossTenantWrite, TenantSession, set_tenant
from backend.core.rls import GLOBAL_TABLES_WITH_TENANT_ID
from tenants.demo import create_demo_tenant
from tests.support.notes.models import Note, NoteFolder


@pytest.fixture(scope="module")
async def two_tenants(db, registry):
    suffix = uuid.uuid4().hex[:8]
    a = await create_demo_tenant(db, registry=registry, slug=f"iso-a-{suffix}", name="Isolation A", scale=8)
    b = await create_demo_tenant(db, registry=registry, slug=f"iso-b-{suffix}", name="Isolation B", scale=8)
    return a, b


async def tenant_tables(db) -> list[str]:
    async with db.owner_engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1"))
        return [t for t in rows.scalars() if t not in GLOBAL_TABLES_WITH_TENANT_ID]


async def test_there_are_tenant_tables_to_check(db):
    tables = await tenant_tables(db)
    assert {"tenant_module", "test_note", "test_note_folder"} <= set(tables)


async def in_tenant(conn, tenant: uuid.UUID | str | None) -> None:
    if tenant is not None:
        await conn.execute(text(f"SET LOCAL app.tenant_id = '{tenant}'"))


async def test_every_tenant_table_isolates_reads(db, two_tenants):
    a, b = two_tenants
    for table in await tenant_tables(db):
        async with db.owner_engine.connect() as conn:
            assert await conn.scalar(text(f"SELECT count(*) FROM {table} WHERE tenant_id = :a"), {"a": a}), (
                f"the demo seed leaves {table} empty: add rows for it to the module's demo.seed")
        async with db.app_engine.begin() as conn:
            assert await conn.scalar(text(f"SELECT count(*) FROM {table}")) == 0, f"{table}: rows with no tenant set"
        async with db.app_engine.begin() as conn:
            await conn.execute(text("SET LOCAL app.tenant_id = ''"))
            assert await conn.scalar(text(f"SELECT count(*) FROM {table}")) == 0, f"{table}: rows with empty tenant"
        async with db.app_engine.begin() as conn:
            await in_tenant(conn, b)
            leaked = await conn.scalar(text(f"SELECT count(*) FROM {table} WHERE tenant_id <> :b"), {"b": b})
            assert leaked == 0, f"{table}: tenant B sees other tenants' rows"
            assert await conn.scalar(text(f"SELECT count(*) FROM {table}")) > 0
        async with db.app_engine.begin() as conn:
            await in_tenant(conn, a)
            assert await conn.scalar(text(f"SELECT count(*) FROM {table} WHERE tenant_id = :a"), {"a": a}) > 0


async def test_every_tenant_table_isolates_writes(db, two_tenants):
    a, b = two_tenants
    for table in await tenant_tables(db):
        async with db.owner_engine.connect() as conn:
            row = (await conn.execute(text(f"SELECT row_to_json(t)::text FROM {table} t WHERE tenant_id = :a LIMIT 1"),
                                      {"a": a})).scalar_one()
        async with db.app_engine.connect() as conn:
            for statement, params in [
                (f"UPDATE {table} SET tenant_id = tenant_id WHERE tenant_id = :a", {"a": a}),
                (f"DELETE FROM {table} WHERE tenant_id = :a", {"a": a}),
            ]:
                async with conn.begin():
                    await in_tenant(conn, b)
                    try:
                        result = await conn.execute(text(statement), params)
                    except DBAPIError as exc:  # no grant for it is just as good
                        assert "permission denied" in str(exc), exc
                    else:
                        assert result.rowcount == 0, f"{table}: tenant B changed tenant A's rows"
            # Insert a copy of A's row (fresh id) while acting as B: refused by WITH CHECK.
            async with conn.begin():
                await in_tenant(conn, b)
                with pytest.raises(DBAPIError) as refused:
                    await conn.execute(
                        text(f"INSERT INTO {table} SELECT * FROM json_populate_record(NULL::{table}, "
                             f"jsonb_set(CAST(:row AS jsonb), '{{id}}', to_jsonb(gen_random_uuid()))::json)"),
                        {"row": row})
                assert "row-level security" in str(refused.value) or "permission denied" in str(refused.value)
            # Moving one of B's own rows to tenant A: refused too.
            async with conn.begin():
                await in_tenant(conn, b)
                try:
                    await conn.execute(text(f"UPDATE {table} SET tenant_id = :a WHERE tenant_id = :b"), {"a": a, "b": b})
                except DBAPIError as exc:
                    assert "row-level security" in str(exc) or "permission denied" in str(exc) or "foreign key" in str(exc)
                else:
                    raise AssertionError(f"{table}: tenant B moved a row to tenant A")
        async with db.owner_engine.connect() as conn:
            assert await conn.scalar(text(f"SELECT count(*) FROM {table} WHERE tenant_id = :a"), {"a": a}) > 0


async def test_a_row_cannot_reference_another_tenants_row(db, two_tenants):
    a, b = two_tenants
    async with db.transaction(b) as session:
        b_folder = (await session.execute(select(NoteFolder.id).limit(1))).scalar_one()
    # Raw SQL as the runtime role, acting as A, pointing at B's folder.
    async with db.app_engine.connect() as conn:
        async with conn.begin():
            await in_tenant(conn, a)
            with pytest.raises(IntegrityError) as refused:
                await conn.execute(text(
                    "INSERT INTO test_note (tenant_id, id, folder_id, title, body, created_at) "
                    "VALUES (:a, gen_random_uuid(), :f, 'x', '', now())"), {"a": a, "f": b_folder})
            assert "foreign key" in str(refused.value)
    # And through the ORM.
    with pytest.raises(IntegrityError):
        async with db.transaction(a) as session:
            session.add(Note(folder_id=b_folder, title="cross"))
            await session.flush()


async def test_orm_guard_filters_and_stamps_even_without_rls(db, two_tenants):
    """The app's second guard, checked on the owner connection where RLS does not apply."""
    a, b = two_tenants
    maker = __import__("sqlalchemy.ext.asyncio", fromlist=["async_sessionmaker"]).async_sessionmaker(
        db.owner_engine, sync_session_class=TenantSession, expire_on_commit=False)
    async with maker() as session, session.begin():
        session: AsyncSession
        session.info["tenant_id"] = a  # the ORM guard only, no SET LOCAL
        notes = (await session.execute(select(Note))).scalars().all()
        assert notes and {n.tenant_id for n in notes} == {a}
        folders = (await session.execute(select(NoteFolder).where(NoteFolder.name == "Work"))).scalars().all()
        assert [f.tenant_id for f in folders] == [a]
        note = Note(folder_id=folders[0].id, title="stamped")
        session.add(note)
        await session.flush()
        assert note.tenant_id == a
        session.add(Note(tenant_id=b, folder_id=folders[0].id, title="wrong tenant"))
        with pytest.raises(CrossTenantWrite):
            await session.flush()
        await session.rollback()


async def test_set_tenant_accepts_only_uuids(db):
    async with db.sessionmaker() as session, session.begin():
        for bad in ["x'; DROP TABLE tenant; --", "", "not-a-uuid"]:
            with pytest.raises(ValueError):
                await set_tenant(session, bad)
