"""The platform's reactions to events (run in the emitting transaction)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.events import Event, on
from backend.modules.platform import events, notifications


@on(events.MEMBER_JOINED, module="platform")
async def welcome_new_member(session: AsyncSession, event: Event) -> None:
    """A welcome notice to the person who just joined, in the tenant's language."""
    email = event.payload.get("email")
    if email:
        await notifications.notify(session, recipient=email, name=email.split("@")[0], event=event)
