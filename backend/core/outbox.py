"""Tables of the event bus: per-tenant sequences, the transactional outbox, and the global
``tenant_work`` signal that tells delivery workers which tenants have something due.

``tenant_work`` holds no tenant data: a tenant id and a time. It lets a worker claim one tenant at a
time (``FOR UPDATE SKIP LOCKED``) and then work inside that tenant's row-level security, instead of
reading every tenant's outbox with isolation turned off.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, TenantScoped, utcnow
from backend.core.fetch import Prepared, fetch, values_of


class TenantSequence(TenantScoped, Base):
    """Gapless per-tenant counters (event sequence, document numbers)."""

    __tablename__ = "tenant_sequence"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(40))
    value: Mapped[int] = mapped_column(BigInteger)


class OutboxEvent(TenantScoped, Base):
    """One domain event, written in the transaction that caused it; the tenant's event log."""

    __tablename__ = "outbox_event"
    __table_args__ = (
        UniqueConstraint("tenant_id", "seq"),
        Index("ix_outbox_event_pending", "tenant_id", "seq", postgresql_where=text("dispatched_at IS NULL")),
    )

    seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    aggregate_id: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict] = mapped_column(JSONB)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None]


class TenantWork(Base):
    """Global: "tenant X has background work due at T". No tenant data."""

    __tablename__ = "tenant_work"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True)
    due_at: Mapped[datetime]


_sequence = TenantSequence.__table__
_work = TenantWork.__table__
_LOCK = Prepared(text("SELECT 1 FROM tenant_sequence WHERE tenant_id = :t AND name = 'event' FOR UPDATE"))


def next_value_statement(*, id_param: str = "id", name_param: str = "name") -> Any:
    """The statement that takes a counter's next value (``RETURNING value``): parameters ``tenant_id`` and, under
    the names given, the row's id (used only when the counter starts) and the counter's name."""
    return (insert(_sequence).values(tenant_id=bindparam("tenant_id", type_=_sequence.c.tenant_id.type),
                                     id=bindparam(id_param, type_=_sequence.c.id.type),
                                     name=bindparam(name_param, type_=_sequence.c.name.type), value=1)
            .on_conflict_do_update(index_elements=["tenant_id", "name"], set_={"value": _sequence.c.value + 1})
            .returning(_sequence.c.value))


# Parameters tenant_id and due_at; keeps the earliest time.
WORK_DUE = (insert(_work).values(values_of(_work, "tenant_id", "due_at"))
            .on_conflict_do_update(index_elements=["tenant_id"],
                                   set_={"due_at": text("LEAST(tenant_work.due_at, excluded.due_at)")}))
_NEXT = Prepared(next_value_statement())
_DUE = Prepared(WORK_DUE)


async def next_sequence(session: AsyncSession, name: str) -> int:
    """The next value of the tenant's counter ``name``, without gaps.

    The counter row stays locked until the transaction ends, so values are handed out in commit
    order: a reader that has seen value N will never later see a smaller value appear.
    """
    rows = await fetch(session, _NEXT, {"tenant_id": session.info["tenant_id"], "id": uuid.uuid4(), "name": name})
    return int(rows[0][0])


async def lock_tenant_writes(session: AsyncSession) -> None:
    """Take the tenant's event counter now, before any other row lock of the transaction.

    Every write transaction takes that counter when it emits its first event and keeps it until it
    commits (that is what makes event numbers gapless and in commit order). A transaction that
    locked business rows (stock levels, an order) before emitting, while another emitted first and
    then wanted those rows, would deadlock. So every lock of shared business rows, every mutation
    and every idempotency key takes this lock first: one lock order for everything, per tenant.
    Once per transaction (remembered in ``session.info``); readers never take it.
    """
    if session.info.get("tenant_writes_locked"):
        return
    tenant_id = session.info["tenant_id"]
    if not await fetch(session, _LOCK, {"t": tenant_id}):  # the tenant's first write: make the row
        await session.execute(insert(_sequence).values(tenant_id=tenant_id, id=uuid.uuid4(), name="event", value=0)
                              .on_conflict_do_nothing(index_elements=["tenant_id", "name"]))
        await fetch(session, _LOCK, {"t": tenant_id})
    session.info["tenant_writes_locked"] = True


def work_due_marked(session: AsyncSession, tenant_id: uuid.UUID, due: datetime) -> bool:
    """Whether this transaction (or savepoint) already told the workers about work due by ``due``."""
    current = session.sync_session.get_nested_transaction() or session.sync_session.get_transaction()
    marked = session.info.get("work_due")
    return marked is not None and marked[0] is current and marked[1] == tenant_id and marked[2] <= due


def remember_work_due(session: AsyncSession, tenant_id: uuid.UUID, due: datetime) -> None:
    """Record that the current transaction (or savepoint) wrote ``tenant_work`` for ``due``."""
    current = session.sync_session.get_nested_transaction() or session.sync_session.get_transaction()
    session.info["work_due"] = (current, tenant_id, due)


async def mark_work_due(session: AsyncSession, tenant_id: uuid.UUID, due_at: datetime | None = None) -> None:
    """Tell the workers this tenant has work due at ``due_at`` (now by default); keeps the earliest."""
    due = due_at or utcnow()
    # Once per transaction (or savepoint) is enough: the row keeps the earliest time, and its lock is held.
    if work_due_marked(session, tenant_id, due):
        return
    await fetch(session, _DUE, {"tenant_id": tenant_id, "due_at": due})
    remember_work_due(session, tenant_id, due)
