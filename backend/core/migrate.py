"""Apply migrations as the owner role and keep the runtime role as DESIGN.md section 3 demands."""

from __future__ import annotations

import re
from pathlib import Path

import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from backend.core.db import RUNTIME_GROUP_ROLE, to_async_url
from backend.core.rls import CREATE_RUNTIME_GROUP_SQL

log = structlog.get_logger("jishi.migrate")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


async def upgrade(owner_url: str | URL, revision: str = "head") -> None:
    engine = create_async_engine(to_async_url(owner_url))
    try:
        async with engine.begin() as conn:
            await conn.execute(text(CREATE_RUNTIME_GROUP_SQL))

            def run(sync_conn):  # type: ignore[no-untyped-def]
                cfg = alembic_config()
                cfg.attributes["connection"] = sync_conn
                command.upgrade(cfg, revision)

            await conn.run_sync(run)
    finally:
        await engine.dispose()
    log.info("migrate.done", revision=revision)


async def ensure_runtime_role(owner_url: str | URL, user: str, password: str) -> None:
    """Create or update the login role the service runs as.

    It gets LOGIN and membership in the group role that migrations grant to, and nothing else:
    NOSUPERUSER, NOBYPASSRLS, no CREATEDB/CREATEROLE, and it owns no object.
    """
    if not _ROLE_NAME.match(user):
        raise ValueError(f"invalid runtime role name {user!r}")
    url = to_async_url(owner_url)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(CREATE_RUNTIME_GROUP_SQL))
            exists = await conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": user})
            verb = "ALTER" if exists else "CREATE"
            # Role DDL takes no bind parameters; the password is passed as a quoted literal.
            quoted_pw = "'" + password.replace("'", "''") + "'"
            await conn.execute(
                text(
                    f"{verb} ROLE {user} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE "
                    f"NOREPLICATION INHERIT PASSWORD {quoted_pw}"
                )
            )
            await conn.execute(text(f"GRANT {RUNTIME_GROUP_ROLE} TO {user}"))
            db = url.database
            await conn.execute(text(f'GRANT CONNECT ON DATABASE "{db}" TO {RUNTIME_GROUP_ROLE}'))
            await conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {RUNTIME_GROUP_ROLE}"))
    finally:
        await engine.dispose()
    log.info("migrate.runtime_role", role=user)


async def migrate(owner_url: str | URL, app_user: str, app_password: str) -> None:
    await upgrade(owner_url)
    await ensure_runtime_role(owner_url, app_user, app_password)
