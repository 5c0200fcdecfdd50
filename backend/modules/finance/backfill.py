"""``financeBackfill``: post what happened while finance was off.

A tenant that switches finance off keeps selling; nothing is posted meanwhile, and switching it on
again does not post the gap silently. ``backfill`` replays the tenant's stored events of a period
(the outbox keeps them all) through finance's handlers, in order. Handlers are idempotent (an entry
carries its event's id), so events already posted are skipped, and running it twice posts once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.errors import DomainError
from backend.core.events import CATALOGUE, Event
from backend.core.outbox import OutboxEvent
from backend.modules.finance.ledger import begin_posting
from backend.modules.finance.models import JournalEntry
from backend.modules.platform import service as platform

_outbox = OutboxEvent.__table__
_entry = JournalEntry.__table__
MAX_EVENTS = 50_000


@dataclass
class Backfill:
    events: int = 0  # events of the period that finance handles
    posted: int = 0  # of them, newly posted now
    skipped: int = 0  # already posted, or refused (e.g. the period is closed)


async def backfill(session: AsyncSession, *, since: date, until: date) -> Backfill:
    await platform.ensure_module_enabled(session, "finance")
    if until < since:
        raise DomainError("INVALID_PERIOD", "The period must end after it starts.", "to")
    if (until - since).days > 366:
        raise DomainError("PERIOD_TOO_LONG", "Backfill at most a year at a time.", "to")
    await begin_posting(session)
    tenant_id = session.info["tenant_id"]
    types = [t.name for t in CATALOGUE.types() if any(h.module == "finance" for h in CATALOGUE.handlers(t.name))]
    rows = list(await session.execute(select(_outbox).where(
        _outbox.c.tenant_id == tenant_id, _outbox.c.type.in_(types),
        _outbox.c.occurred_at >= datetime.combine(since, time.min, UTC),
        _outbox.c.occurred_at < datetime.combine(until + timedelta(days=1), time.min, UTC))
        .order_by(_outbox.c.seq).limit(MAX_EVENTS)))
    done = set((await session.execute(select(_entry.c.source_event_id).where(
        _entry.c.tenant_id == tenant_id, _entry.c.source_event_id.in_([r.id for r in rows])))).scalars())
    report = Backfill(events=len(rows))
    latest = select(_entry.c.id).where(_entry.c.tenant_id == tenant_id).order_by(_entry.c.id.desc()).limit(1)
    for r in rows:
        if r.id in done:
            report.skipped += 1
            continue
        event = Event(id=r.id, tenant_id=tenant_id, seq=r.seq, type=r.type, version=r.version,
                      aggregate_id=r.aggregate_id, payload=r.payload, occurred_at=r.occurred_at)
        posted = False
        for spec in CATALOGUE.handlers(r.type):
            if spec.module != "finance":
                continue
            try:
                async with session.begin_nested():
                    before = await session.scalar(latest)
                    await spec.fn(session, event)
                    after = await session.scalar(latest)
                    posted = posted or before != after
            except DomainError:
                continue
        if posted:
            report.posted += 1
        else:
            report.skipped += 1
    return report
