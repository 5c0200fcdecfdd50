"""Domain events: a typed catalogue, an in-transaction bus and the transactional outbox.

A service emits an event inside its transaction::

    await events.emit(session, NOTE_CREATED, aggregate_id=to_global_id("Note", note.id), payload={...})

``emit`` gives the event the tenant's next sequence number, writes it to ``outbox_event``, flags the
tenant's background work as due and queues a PostgreSQL notification (delivered only if the
transaction commits), all in one statement. Then it runs the handlers that modules registered for
the type, in the same transaction, for each handler whose module is enabled for the tenant. A handler's refusal
(DomainError) or failure fails the cause with it: nothing half-done is committed.

Event types are declared as data in each module's ``events.py`` and listed by
``jishi events catalogue`` (docs/events.md is generated from it).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import structlog
from sqlalchemy import ARRAY, String, Text, bindparam, cast, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import KEEP_SAVEPOINT, keep_next_savepoint, utcnow
from backend.core.errors import DomainError
from backend.core.fetch import Prepared, fetch
from backend.core.ids import new_id
from backend.core.outbox import WORK_DUE, OutboxEvent, next_value_statement, remember_work_due, work_due_marked

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
_EVENT_COLUMNS = ("tenant_id", "id", "seq", "type", "version", "aggregate_id", "payload", "occurred_at")


def _emit_statement(*, work_due: bool) -> Prepared:
    """An event in one round trip: the tenant's next event number, the outbox row with it, the announcement
    (``NOTIFY``, sent only if the transaction commits) and, with ``work_due``, the tenant's work flagged
    due. Returns the number. The announcement's text comes as ``parts`` joined by the number, which is
    known only here."""
    numbered = next_value_statement(id_param="sequence_id", name_param="sequence_name").cte("numbered")
    params = {name: bindparam(name, type_=_outbox.c[name].type) for name in _EVENT_COLUMNS if name != "seq"}
    written = (insert(_outbox).from_select(list(_EVENT_COLUMNS), select(
        *(numbered.c.value if name == "seq" else params[name] for name in _EVENT_COLUMNS)))
        .returning(_outbox.c.seq).cte("written"))
    announce = func.pg_notify(bindparam("channel", type_=String()),
                              func.array_to_string(bindparam("parts", type_=ARRAY(Text())), cast(written.c.seq, Text)),
                              type_=String())  # returns void
    stmt = select(written.c.seq, announce.label("announced"))
    if work_due:
        stmt = stmt.add_cte(WORK_DUE.cte("due"))
    return Prepared(stmt)


_EMIT = _emit_statement(work_due=False)
_EMIT_AND_FLAG_WORK = _emit_statement(work_due=True)


async def emit(session: AsyncSession, event_type: EventType, *, aggregate_id: str, payload: dict[str, Any]) -> Event:
    """Record ``event_type`` for the session's tenant and run its handlers; see the module docstring."""
    from backend.modules.platform import service as platform  # module state; imported late (layering)

    if CATALOGUE.get(event_type.name) is None:
        raise ValueError(f"undeclared event type {event_type.name!r}")
    tenant_id: uuid.UUID = session.info["tenant_id"]
    body = orjson.loads(orjson.dumps(payload))  # JSON-safe now, not at commit
    event_id, occurred_at, due = new_id(), utcnow(), utcnow()
    parts = _announcement_parts(tenant_id, event_id, event_type, aggregate_id, body, occurred_at)
    flag_work = not work_due_marked(session, tenant_id, due)
    rows = await fetch(session, _EMIT_AND_FLAG_WORK if flag_work else _EMIT, {
        "tenant_id": tenant_id, "sequence_id": uuid.uuid4(), "sequence_name": "event", "id": event_id,
        "type": event_type.name, "version": event_type.version, "aggregate_id": aggregate_id, "payload": body,
        "occurred_at": occurred_at, "channel": NOTIFY_CHANNEL, "parts": parts, "due_at": due})
    session.info["tenant_writes_locked"] = True  # the counter row is ours until commit (see lock_tenant_writes)
    if flag_work:
        remember_work_due(session, tenant_id, due)
    event = Event(id=event_id, tenant_id=tenant_id, seq=int(rows[0][0]), type=event_type.name,
                  version=event_type.version, aggregate_id=aggregate_id, payload=body, occurred_at=occurred_at)
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
async def atomic(session: AsyncSession, *, savepoint: bool = True) -> AsyncIterator[None]:
    """A savepoint that any failure inside rolls back as a whole (a mutation: ``run_mutation``).

    Handlers of events emitted inside it run without a savepoint of their own (two round trips
    less per event): a handler's failure propagates and the whole block is undone. Should the code
    inside catch that failure and go on, the block still fails with HANDLER_FAILED at its end, so a
    handler's half-done writes never commit.

    ``savepoint=False`` is for a caller that undoes a failed block itself, by rolling back the whole
    transaction (a request's first mutation, which nothing was written before).
    """
    outer = session.info.get("atomic")
    connection = None
    try:
        async with session.begin_nested() if savepoint else contextlib.nullcontext():
            session.info["atomic"] = True
            session.info.pop("handler_failed", None)
            yield
            if session.info.get("handler_failed"):
                raise DomainError("HANDLER_FAILED", "An event handler failed; nothing was saved.")
            if savepoint:  # kept, not released: a round trip less (backend.core.db.keep_next_savepoint)
                connection = (await session.connection()).sync_connection
                keep_next_savepoint(connection)
    finally:
        if connection is not None:
            connection.info.pop(KEEP_SAVEPOINT, None)  # consumed by the release, unless that never came
        session.info.pop("handler_failed", None)
        session.info["atomic"] = outer


_SEQ_DIGITS = 20  # an event number's longest text


def _announcement_parts(tenant_id: uuid.UUID, event_id: uuid.UUID, event_type: EventType, aggregate_id: str,
                        payload: dict[str, Any], occurred_at: datetime) -> list[str]:
    """The NOTIFY payload (the event itself, or only its reference when it is too big for a notification)
    as the pieces between its event numbers, which ``_emit_statement`` fills in."""
    placeholder = f"seq-{uuid.uuid4().hex}"  # no payload holds it: 128 random bits
    event = Event(id=event_id, tenant_id=tenant_id, seq=0, type=event_type.name, version=event_type.version,
                  aggregate_id=aggregate_id, payload=payload, occurred_at=occurred_at)
    reference = {"tenant": str(tenant_id), "id": str(event_id), "seq": placeholder, "type": event_type.name}
    quoted = f'"{placeholder}"'
    full = orjson.dumps({**reference, "event": {**event.as_message(), "sequence": placeholder}}).decode()
    if len(full) - 2 * (len(quoted) - _SEQ_DIGITS) > _NOTIFY_PAYLOAD_LIMIT:
        full = orjson.dumps(reference).decode()
    return full.split(quoted)
