from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events
from backend.core.errors import DomainError
from backend.core.ids import to_global_id
from backend.modules.platform import service as platform
from tests.support.notes.events import NOTE_CREATED
from tests.support.notes.models import Note, NoteFolder


async def get_or_create_folder(session: AsyncSession, *, name: str) -> NoteFolder:
    folder = (await session.execute(select(NoteFolder).where(NoteFolder.name == name))).scalar_one_or_none()
    if folder is None:
        folder = NoteFolder(name=name)
        session.add(folder)
        await session.flush()
    return folder


async def create_note(session: AsyncSession, *, title: str, folder_name: str = "Inbox", body: str = "") -> Note:
    """Creates the folder first and validates the title after, so a refusal must roll the folder back."""
    await platform.ensure_module_enabled(session, "notes")
    folder = await get_or_create_folder(session, name=folder_name)
    if not title.strip():
        raise DomainError("REQUIRED", "Title is required.", "title")
    note = Note(folder_id=folder.id, title=title.strip(), body=body)
    session.add(note)
    await session.flush()
    await events.emit(session, NOTE_CREATED, aggregate_id=to_global_id("Note", note.id),
                      payload={"noteId": to_global_id("Note", note.id), "title": note.title})
    return note


async def explode_after_write(session: AsyncSession) -> None:
    session.add(NoteFolder(name=f"doomed-{uuid.uuid4().hex[:8]}"))
    await session.flush()
    raise RuntimeError("secret internal detail 42")
