"""Idempotency keys for writes that create money or stock movements (DESIGN.md section 6).

    result = await idempotency.once(session, scope="inventory.stock_adjust", key=key,
                                    request={...the input...}, run=do_it, dump=to_json, load=from_json)

The first request with a key claims it (one INSERT ... ON CONFLICT DO NOTHING in the request's
transaction) and stores its result next to a hash of its input. A repeat with the same input gets
that stored result and writes nothing; the same key with different input is refused
(IDEMPOTENCY_KEY_REUSED). Two requests with the same key at the same moment queue on the unique
index: the second waits until the first commits and then answers the first one's result; if the
first rolls back (a refusal writes nothing, its claim included), the second runs as if it were
first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import orjson
from sqlalchemy import String, UniqueConstraint, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, TenantScoped, utcnow
from backend.core.errors import DomainError
from backend.core.ids import new_id

T = TypeVar("T")
MAX_KEY_LENGTH = 200


class IdempotencyRecord(TenantScoped, Base):
    """One claimed key per operation scope: the input's hash and the answer given."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("tenant_id", "scope", "key"),)

    scope: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    request_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


_record = IdempotencyRecord.__table__


def _hash(request: Any) -> str:
    return hashlib.sha256(orjson.dumps(request, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()


def check_key(key: str | None, *, field: str = "idempotencyKey") -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise DomainError("INVALID_IDEMPOTENCY_KEY", f"An idempotency key has 1 to {MAX_KEY_LENGTH} characters.",
                          field)
    return key


async def once(session: AsyncSession, *, scope: str, key: str | None, request: Any,
               run: Callable[[], Awaitable[T]], dump: Callable[[T], dict], load: Callable[[dict], Awaitable[T]],
               field: str = "idempotencyKey") -> T:
    """Run ``run`` once per ``key``; a repeat answers ``load(stored)`` without running it again."""
    from backend.core.outbox import lock_tenant_writes

    key = check_key(key, field=field)
    if key is None:
        return await run()
    await lock_tenant_writes(session)  # before the key: a repeat waits here, never holding the key
    tenant_id = session.info["tenant_id"]
    request_hash = _hash(request)
    claimed = (await session.execute(
        insert(_record).values(tenant_id=tenant_id, id=new_id(), scope=scope, key=key, request_hash=request_hash,
                               created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["tenant_id", "scope", "key"]).returning(_record.c.id)
    )).scalar_one_or_none()
    if claimed is None:
        earlier = (await session.execute(select(_record.c.request_hash, _record.c.result).where(
            _record.c.tenant_id == tenant_id, _record.c.scope == scope, _record.c.key == key))).one()
        if earlier.request_hash != request_hash or earlier.result is None:
            raise DomainError("IDEMPOTENCY_KEY_REUSED",
                              "This idempotency key was used for a different request; use a new key.", field)
        return await load(earlier.result)
    result = await run()
    await session.execute(_record.update().where(_record.c.tenant_id == tenant_id, _record.c.id == claimed)
                          .values(result=dump(result)))
    return result
