"""Domain events: a typed catalogue, an in-transaction bus and the transactional outbox.

A service emits an event inside its transaction::

    await events.emit(session, NOTE_CREATED, aggregate_id=to_global_id("Note", note.id), payload={...})

``emit`` gives the event the tenant's next sequence number, writes it to ``outbox_event``, flags the
tenant's background work as due, queues a PostgreSQL notification (delivered only if the
transaction commits) and runs the handlers that modules registered for the type, in the same
transaction, for each handler whose module is enabled for the tenant. A handler's refusal
(DomainError) or failure fails the cause with it: nothing half-done is committed.

Event types are declared as data in each module's ``events.py`` and listed by
``jishi events catalogue`` (docs/events.md is generated from it).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import structlog
from sqlalchemy import String, bindparam, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.fetch import Prepared, fetch, values_of
from backend.core.ids import new_id
from backend.core.outbox import OutboxEvent, mark_work_due, next_sequence

log = structlog.get_logger("jishi.events")

NOTIFY_CHANNEL = "jishi_events"
_NOTIFY_PAYLOAD_LIMIT = 7000  # PostgreSQL's limit is 8000 bytes; bigger events are fetched by id


@dataclass(frozen=True)
class EventType:
    name: str
    module: str
    version: int = 1
    description: str = ""
    payload: dict[str, str] = field(default_factory=dict)  # field -> what it holds


@dataclass(frozen=True)
class Event:
    id: uuid.UUID
    tenant_id: uuid.UUID
    seq: int
    type: str
    version: int
    aggregate_id: str
    payload: dict[str, Any]
    occurred_at: datetime

    def as_message(self) -> dict[str, Any]:
        """The versioned envelope sent to webhooks and subscribers."""
        return {"id": str(self.id), "sequence": self.seq, "type": self.type, "version": self.version,
                "aggregateId": self.aggregate_id, "occurredAt": self.occurred_at.isoformat(),
                "tenantId": str(self.tenant_id), "payload": self.payload}


Handler = Callable[[AsyncSession, Event], Awaitable[None]]


@dataclass(frozen=True)
class HandlerSpec:
    module: str
    event_type: str
    fn: Handler

    @property
    def name(self) -> str:
        return f"{self.fn.__module__}.{self.fn.__qualname__}"


class EventCatalogue:
    def __init__(self) -> None:
        self._types: dict[str, EventType] = {}
        self._handlers: dict[str, list[HandlerSpec]] = {}

    def declare(self, event_type: EventType) -> EventType:
        existing = self._types.get(event_type.name)
        if existing is not None and existing != event_type:
            raise ValueError(f"event type {event_type.name!r} declared twice, differently")
        self._types[event_type.name] = event_type
        return event_type

    def get(self, name: str) -> EventType | None:
        return self._types.get(name)

    def types(self) -> list[EventType]:
        return sorted(self._types.values(), key=lambda t: t.name)

    def on(self, event_type: EventType, *, module: str) -> Callable[[Handler], Handler]:
        """Register a handler of ``module`` for ``event_type`` (use in the module's handlers.py)."""

        def register(fn: Handler) -> Handler:
            specs = self._handlers.setdefault(event_type.name, [])
            if all(spec.fn is not fn for spec in specs):
                specs.append(HandlerSpec(module=module, event_type=event_type.name, fn=fn))
            return fn

        return register

    def handlers(self, name: str) -> list[HandlerSpec]:
        return list(self._handlers.get(name, ()))


CATALOGUE = EventCatalogue()


def event_type(name: str, *, module: str, version: int = 1, description: str = "",
               payload: dict[str, str] | None = None) -> EventType:
    return CATALOGUE.declare(EventType(name=name, module=module, version=version, description=description,
                                       payload=dict(payload or {})))


def on(event_type: EventType, *, module: str) -> Callable[[Handler], Handler]:
    return CATALOGUE.on(event_type, module=module)


_outbox = OutboxEvent.__table__
# The outbox row and its announcement in one round trip: the notification goes out only if the row was written
# (and, as every NOTIFY, only when the transaction commits).
_written = insert(_outbox).values(values_of(
    _outbox, "tenant_id", "id", "seq", "type", "version", "aggregate_id", "payload", "occurred_at",
)).returning(_outbox.c.id).cte("written")
_announce = func.pg_notify(bindparam("channel", type_=String()), bindparam("body", type_=String()),
                           type_=String())  # returns void
_RECORD_AND_NOTIFY = Prepared(select(_announce).select_from(_written))


async def emit(session: AsyncSession, event_type: EventType, *, aggregate_id: str, payload: dict[str, Any]) -> Event:
    """Record ``event_type`` for the session's tenant and run its handlers; see the module docstring."""
    from backend.modules.platform import service as platform  # module state; imported late (layering)

    if CATALOGUE.get(event_type.name) is None:
        raise ValueError(f"undeclared event type {event_type.name!r}")
    tenant_id: uuid.UUID = session.info["tenant_id"]
    body = orjson.loads(orjson.dumps(payload))  # JSON-safe now, not at commit
    seq = await next_sequence(session, "event")
    session.info["tenant_writes_locked"] = True  # the counter row is ours until commit (see lock_tenant_writes)
    event = Event(id=new_id(), tenant_id=tenant_id, seq=seq,
                  type=event_type.name, version=event_type.version, aggregate_id=aggregate_id, payload=body,
                  occurred_at=utcnow())
    await fetch(session, _RECORD_AND_NOTIFY, {
        "tenant_id": tenant_id, "id": event.id, "seq": event.seq, "type": event.type, "version": event.version,
        "aggregate_id": aggregate_id, "payload": body, "occurred_at": event.occurred_at,
        "channel": NOTIFY_CHANNEL, "body": _announcement(event)})
    await mark_work_due(session, tenant_id)
    for spec in CATALOGUE.handlers(event.type):
        if not await platform.is_module_enabled(session, spec.module):
            continue
        try:
            if session.info.get("atomic"):  # inside ``atomic``: a failure undoes the whole block, handler included
                await spec.fn(session, event)
            else:
                async with session.begin_nested():
                    await spec.fn(session, event)
        except DomainError:
            session.info["handler_failed"] = True
            raise
        except Exception as exc:
            session.info["handler_failed"] = True
            log.error("events.handler_failed", handler=spec.name, event_type=event.type, event_id=str(event.id),
                      exc_info=exc)
            raise DomainError("HANDLER_FAILED",
                              f"The {spec.module} module could not process {event.type}; nothing was saved.") from exc
    return event


@asynccontextmanager
async def atomic(session: AsyncSession) -> AsyncIterator[None]:
    """A savepoint that any failure inside rolls back as a whole (a mutation: ``run_mutation``).

    Handlers of events emitted inside it run without a savepoint of their own (two round trips
    less per event): a handler's failure propagates and the whole block is undone. Should the code
    inside catch that failure and go on, the block still fails with HANDLER_FAILED at its end, so a
    handler's half-done writes never commit.
    """
    outer = session.info.get("atomic")
    try:
        async with session.begin_nested():
            session.info["atomic"] = True
            session.info.pop("handler_failed", None)
            yield
            if session.info.get("handler_failed"):
                raise DomainError("HANDLER_FAILED", "An event handler failed; nothing was saved.")
    finally:
        session.info.pop("handler_failed", None)
        session.info["atomic"] = outer


def _announcement(event: Event) -> str:
    """The NOTIFY payload: the event itself, or only its reference when it is too big for a notification."""
    message = {"tenant": str(event.tenant_id), "id": str(event.id), "seq": event.seq, "type": event.type}
    full = orjson.dumps({**message, "event": event.as_message()}).decode()
    return full if len(full) <= _NOTIFY_PAYLOAD_LIMIT else orjson.dumps(message).decode()
