"""Lint the schema for the tenancy rules (DESIGN.md section 3), in the live database and in the
models. New tables are covered automatically."""

from __future__ import annotations

import importlib
import re

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from backend.core.db import Base
from backend.core.rls import GLOBAL_TABLES_WITH_TENANT_ID, MEMBER_SELF_POLICY, OWN_RECORDS_POLICY
from backend.modules.registry import import_module_parts, installed_modules

POLICY_TEXT = "(tenant_id = (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid)"
MEMBER_SELF_TEXT = "(user_id = (NULLIF(current_setting('app.user_id'::text, true), ''::text))::uuid)"

TENANT_TABLES = """
SELECT c.oid, c.relname, c.relrowsecurity, c.relforcerowsecurity
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
"""

CONSTRAINTS = """
SELECT con.conname, con.contype, rel.relname AS table_name, ref.relname AS ref_table,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS cols,
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS ref_cols
FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid
LEFT JOIN pg_class ref ON ref.oid = con.confrelid
JOIN pg_namespace n ON n.oid = rel.relnamespace
WHERE n.nspname = 'public' AND con.contype IN ('p', 'f', 'u')
"""

UNIQUE_INDEXES = """
SELECT i.relname AS index_name, t.relname AS table_name,
       ARRAY(SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n ORDER BY k.i)::text[] AS cols
FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = 'public' AND ix.indisunique
"""


async def test_live_schema_follows_the_tenancy_rules(db):
    problems: list[str] = []
    async with db.owner_engine.connect() as conn:
        tables = {r.relname: r for r in await conn.execute(text(TENANT_TABLES))
                  if r.relname not in GLOBAL_TABLES_WITH_TENANT_ID}
        assert tables, "no tenant tables found"
        for name, row in tables.items():
            if not (row.relrowsecurity and row.relforcerowsecurity):
                problems.append(f"{name}: row level security must be ENABLEd and FORCEd")
        policies = await conn.execute(text(
            "SELECT tablename, policyname, permissive, roles::text[] AS roles, cmd, qual, with_check "
            "FROM pg_policies WHERE schemaname = 'public'"))
        by_table: dict[str, list] = {}
        for p in policies:
            if p.policyname == OWN_RECORDS_POLICY:
                # Record ownership inside a tenant: restrictive (narrows, never widens), no subquery.
                assert p.permissive == "RESTRICTIVE" and p.cmd == "ALL" and p.qual == p.with_check
                assert "SELECT" not in p.qual.upper() and "app.record_owner" in p.qual
                continue
            if (p.tablename, p.policyname) == ("membership", MEMBER_SELF_POLICY):
                # The one documented extra policy: SELECT only, a user's own memberships.
                assert (p.cmd, p.with_check) == ("SELECT", None)
                assert p.qual == MEMBER_SELF_TEXT
                continue
            by_table.setdefault(p.tablename, []).append(p)
        for name in tables:
            pols = by_table.get(name, [])
            if len(pols) != 1:
                problems.append(f"{name}: expected exactly one policy, found {len(pols)}")
                continue
            p = pols[0]
            if (p.permissive, p.cmd, list(p.roles)) != ("PERMISSIVE", "ALL", ["public"]):
                problems.append(f"{name}: policy must be PERMISSIVE FOR ALL TO PUBLIC")
            for clause, value in (("USING", p.qual), ("WITH CHECK", p.with_check)):
                if value != POLICY_TEXT:
                    problems.append(f"{name}: {clause} is {value!r}, expected {POLICY_TEXT!r} (no subquery)")
        for con in await conn.execute(text(CONSTRAINTS)):
            if con.table_name not in tables:
                if con.contype == "f" and con.ref_table in tables:
                    problems.append(f"{con.conname}: global table {con.table_name} references tenant table")
                continue
            cols = list(con.cols)
            if con.contype == "p" and cols[0] != "tenant_id":
                problems.append(f"{con.conname}: primary key of {con.table_name} must start with tenant_id")
            if con.contype == "u" and cols[0] != "tenant_id":
                problems.append(f"{con.conname}: unique key on {con.table_name} must start with tenant_id")
            if con.contype == "f" and con.ref_table in tables:
                pairs = list(zip(cols, con.ref_cols, strict=True))
                if pairs[0] != ("tenant_id", "tenant_id") or len(pairs) < 2:
                    problems.append(f"{con.conname}: foreign key between tenant tables must be "
                                    f"(tenant_id, ...) -> (tenant_id, ...), is {pairs}")
        for ix in await conn.execute(text(UNIQUE_INDEXES)):
            if ix.table_name in tables and list(ix.cols)[0] != "tenant_id":
                problems.append(f"{ix.index_name}: unique index on {ix.table_name} must start with tenant_id")
    assert problems == []


def test_models_follow_the_tenancy_rules():
    import_module_parts(installed_modules())
    importlib.import_module("backend.core.outbox")
    importlib.import_module("backend.core.idempotency")
    problems: list[str] = []
    tenant_tables = {t.name for t in Base.metadata.tables.values()
                     if "tenant_id" in t.c and t.name not in GLOBAL_TABLES_WITH_TENANT_ID}
    for table in Base.metadata.tables.values():
        is_tenant = table.name in tenant_tables
        for fk in table.foreign_key_constraints:
            target = fk.referred_table.name
            if target in tenant_tables:
                if not is_tenant:
                    problems.append(f"global table {table.name} references tenant table {target}")
                elif fk.column_keys[0] != "tenant_id" or fk.elements[0].column.name != "tenant_id":
                    problems.append(f"{table.name} -> {target}: foreign key must lead with tenant_id")
        if not is_tenant:
            continue
        if list(table.primary_key.columns)[0].name != "tenant_id":
            problems.append(f"{table.name}: primary key must start with tenant_id")
        for constraint in table.constraints:
            if constraint.__class__.__name__ == "UniqueConstraint" and list(constraint.columns)[0].name != "tenant_id":
                problems.append(f"{table.name}: unique constraint must start with tenant_id")
        for index in table.indexes:
            if index.unique and list(index.columns)[0].name != "tenant_id":
                problems.append(f"{table.name}: unique index must start with tenant_id")
        for column in table.columns:
            if column.unique:
                problems.append(f"{table.name}.{column.name}: unique=True is global; use (tenant_id, {column.name})")
    assert problems == []


async def test_migrations_match_the_models(db):
    """Every model change has its Alembic migration (autogenerate finds nothing to do)."""
    import_module_parts(installed_modules())
    importlib.import_module("backend.core.outbox")
    importlib.import_module("backend.core.idempotency")
    test_tables = {"test_note", "test_note_folder"}

    def include(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
        return not (type_ == "table" and name in test_tables | {"alembic_version"})

    def diff(sync_conn):  # type: ignore[no-untyped-def]
        ctx = MigrationContext.configure(sync_conn, opts={"include_object": include, "compare_type": True})
        return compare_metadata(ctx, Base.metadata)

    async with db.owner_engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_constraint_names_follow_the_naming_convention(db):
    """A name given to op.create_check_constraint passes through the convention; a full name would be
    prefixed twice (ck_t_ck_t_...). Catch that in every migration."""
    async with db.owner_engine.connect() as conn:
        names = (await conn.execute(text(
            "SELECT con.conname FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace "
            "WHERE n.nspname = 'public'"))).scalars().all()
    doubled = [n for n in names if re.match(r"^(ck|uq|pk|fk)_(\w+?)_\1_\2_", n)]
    assert doubled == []
