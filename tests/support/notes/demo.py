from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.notes import service as notes


async def seed(session: AsyncSession) -> None:
    for title, folder in [("Call supplier", "Work"), ("Quarterly review", "Work"), ("Buy tea", "Home")]:
        await notes.create_note(session, title=title, folder_name=folder)
