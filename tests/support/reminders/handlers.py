"""The reminders module reacts to notes: proves handlers run in the cause's transaction, only while
their module is enabled, and that a handler's failure undoes the cause."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.errors import DomainError
from backend.core.events import Event, on
from tests.support.notes.events import NOTE_CREATED

SEEN: list[str] = []


@on(NOTE_CREATED, module="reminders")
async def remember_note(session: AsyncSession, event: Event) -> None:
    title = event.payload["title"]
    if title == "refuse me":
        raise DomainError("REMINDER_REFUSED", "Reminders refuses this note.", "title")
    if title == "crash me":
        raise RuntimeError("reminders blew up")
    SEEN.append(title)
