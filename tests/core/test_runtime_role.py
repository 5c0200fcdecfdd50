"""The service's database role can do its job and nothing more (DESIGN.md section 3)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from backend.core.db import RUNTIME_GROUP_ROLE
from tests.conftest import APP_USER


async def test_runtime_role_is_not_superuser_cannot_bypass_rls_and_owns_nothing(db):
    async with db.owner_engine.connect() as conn:
        for role in (APP_USER, RUNTIME_GROUP_ROLE):
            attrs = (await conn.execute(text(
                "SELECT rolsuper, rolbypassrls, rolcreatedb, rolcreaterole, rolreplication "
                "FROM pg_roles WHERE rolname = :r"), {"r": role})).one()
            assert not any(attrs), (role, attrs)
            owned = await conn.scalar(text(
                "SELECT (SELECT count(*) FROM pg_class WHERE relowner = r.oid)"
                " + (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid)"
                " + (SELECT count(*) FROM pg_proc WHERE proowner = r.oid)"
                " + (SELECT count(*) FROM pg_type WHERE typowner = r.oid)"
                " FROM pg_roles r WHERE r.rolname = :r"), {"r": role})
            assert owned == 0, f"{role} owns {owned} objects"
        memberships = (await conn.execute(text(
            "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = :r"), {"r": APP_USER})).scalars().all()
        assert memberships == [RUNTIME_GROUP_ROLE]


async def test_the_service_connects_as_the_runtime_role(db):
    async with db.app_engine.connect() as conn:
        assert await conn.scalar(text("SELECT current_user")) == APP_USER


@pytest.mark.parametrize("ddl", [
    "CREATE TABLE sneaky (id int)",
    "ALTER TABLE tenant_module DISABLE ROW LEVEL SECURITY",
    "ALTER TABLE tenant_module NO FORCE ROW LEVEL SECURITY",
    "DROP POLICY tenant_isolation ON tenant_module",
    "TRUNCATE tenant_module",
    "DELETE FROM tenant",
    "SET SESSION AUTHORIZATION postgres",
])
async def test_runtime_role_cannot_change_schema_or_escape_isolation(db, ddl):
    async with db.app_engine.connect() as conn:
        with pytest.raises(DBAPIError) as refused:
            await conn.execute(text(ddl))
        assert "permission denied" in str(refused.value) or "must be owner" in str(refused.value)
        await conn.rollback()
