"""Alembic environment: one history for every module.

``jishi migrate`` passes an open connection in ``config.attributes["connection"]``; the plain
``alembic`` command (alembic.ini at the repository root) connects with ``JISHI_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from backend.core import idempotency, outbox  # noqa: F401  (core tables: sequences, outbox, tenant_work, idempotency keys)
from backend.core.db import Base, to_async_url
from backend.modules.registry import installed_modules

for spec in installed_modules():
    if importlib.util.find_spec(f"{spec.import_path}.models") is not None:
        importlib.import_module(f"{spec.import_path}.models")

target_metadata = Base.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    from backend.settings import get_settings

    context.configure(url=get_settings().database_url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    from backend.settings import get_settings

    url = get_settings().database_url
    if not url:
        raise SystemExit("set JISHI_DATABASE_URL (the owner role) or use `jishi migrate`")
    engine = create_async_engine(to_async_url(url))
    async with engine.begin() as conn:
        await conn.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    run_offline()
elif (conn := context.config.attributes.get("connection")) is not None:
    _run(conn)
else:
    asyncio.run(_run_async())
