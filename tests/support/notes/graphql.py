from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime

import strawberry
from sqlalchemy import select
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.api.errors import UserError, run_mutation
from backend.api.gates import cross_module_field, gated_field, gated_mutation
from backend.api.relay import Connection, Node, NodeSource, keyset_page, page_args
from backend.core.ids import to_global_id
from tests.support.notes import service as notes
from tests.support.notes.models import Note, NoteFolder

_note = Note.__table__
_folder = NoteFolder.__table__
# Hot reads: Core statements built once, tenant filtered explicitly.
NOTE_COLUMNS = (_note.c.id, _note.c.title, _note.c.body, _note.c.created_at, _note.c.folder_id)


@strawberry.type(name="NoteFolder")
class NoteFolderType(Node):
    id: strawberry.ID
    name: str


@strawberry.type(name="Note")
class NoteType(Node):
    id: strawberry.ID
    title: str
    body: str
    created_at: datetime
    folder_pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row) -> NoteType:  # type: ignore[no-untyped-def]
        return cls(id=to_global_id("Note", row.id), title=row.title, body=row.body,
                   created_at=row.created_at, folder_pk=row.folder_id)

    @strawberry.field
    async def folder(self, info: Info) -> NoteFolderType:
        return await folder_loader(info.context).load(self.folder_pk)

    @cross_module_field(module="reminders", empty=list)
    async def reminders(self, info: Info) -> list[str]:
        return [f"remember: {self.title}"]


def folder_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, NoteFolderType]:
    async def load(keys: list[uuid.UUID]) -> list[NoteFolderType]:
        found = await load_folders(ctx, keys)
        return [found[k] for k in keys]

    return ctx.loader("NoteFolderById", lambda: DataLoader(load_fn=load))


async def load_folders(ctx: RequestContext, ids: list[uuid.UUID]) -> Mapping[uuid.UUID, NoteFolderType]:
    session = ctx.require_tenant_session()
    rows = await session.execute(
        select(_folder.c.id, _folder.c.name).where(
            _folder.c.tenant_id == ctx.principal.tenant_id, _folder.c.id.in_(ids)
        )
    )
    return {r.id: NoteFolderType(id=to_global_id("NoteFolder", r.id), name=r.name) for r in rows}


async def load_notes(ctx: RequestContext, ids: list[uuid.UUID]) -> Mapping[uuid.UUID, NoteType]:
    session = ctx.require_tenant_session()
    rows = await session.execute(
        select(*NOTE_COLUMNS).where(_note.c.tenant_id == ctx.principal.tenant_id, _note.c.id.in_(ids))
    )
    return {r.id: NoteType.from_row(r) for r in rows}


@strawberry.type
class Query:
    @gated_field(module="notes", permission="notes.read")
    async def notes(
        self, info: Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> Connection[NoteType]:
        ctx: RequestContext = info.context
        args = page_args(first, after, last, before)
        stmt = select(*NOTE_COLUMNS).where(_note.c.tenant_id == ctx.principal.tenant_id)
        return await keyset_page(ctx.session, stmt, args=args, id_col=_note.c.id,
                                 sort_col=_note.c.created_at, to_node=NoteType.from_row)


@strawberry.input
class NoteCreateInput:
    title: str
    folder_name: str = "Inbox"


@strawberry.type
class NoteCreatePayload:
    note: NoteType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Mutation:
    @gated_mutation(module="notes", permission="notes.write")
    async def note_create(self, info: Info, input: NoteCreateInput) -> NoteCreatePayload:
        ctx: RequestContext = info.context

        async def operation() -> NoteCreatePayload:
            note = await notes.create_note(ctx.session, title=input.title, folder_name=input.folder_name)
            return NoteCreatePayload(note=(await load_notes(ctx, [note.id]))[note.id])

        return await run_mutation(info, NoteCreatePayload, operation, input)

    @gated_mutation(module="notes", permission="notes.write")
    async def note_explode(self, info: Info) -> bool | None:
        ctx: RequestContext = info.context
        await run_mutation(info, NoteCreatePayload, lambda: notes.explode_after_write(ctx.session))
        return True


types = [NoteType, NoteFolderType]
node_sources = [
    NodeSource("Note", "notes", "notes.read", load_notes),
    NodeSource("NoteFolder", "notes", "notes.read", load_folders),
]
