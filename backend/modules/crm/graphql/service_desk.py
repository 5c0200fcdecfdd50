"""Service cases: ``cases``, ``caseCreate``, ``caseAssign``, ``caseComment``, ``caseResolve``, ``caseClose``."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from enum import Enum

import strawberry
from sqlalchemy import select
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.api.errors import UserError, run_mutation
from backend.api.gates import gated_field, gated_mutation
from backend.api.loaders import rows_by_id
from backend.api.relay import Connection, Node, NodeSource, decode_id, keyset_page, page_args
from backend.core.db import any_of, utcnow
from backend.core.ids import to_global_id
from backend.modules.crm import service as crm
from backend.modules.crm.graphql.customers import customer_loader
from backend.modules.crm.graphql.types import CustomerType, user_loader
from backend.modules.crm.models import Case, CaseComment
from backend.modules.platform.graphql.types import UserType

_case = Case.__table__
_comment = CaseComment.__table__


@strawberry.enum
class CasePriority(Enum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


@strawberry.enum
class CaseChannel(Enum):
    EMAIL = "email"
    PHONE = "phone"
    WEB = "web"
    CHAT = "chat"


@strawberry.enum
class CaseStatus(Enum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


@strawberry.type(name="CaseComment")
class CaseCommentType:
    body: str
    public: bool
    created_at: datetime
    author_pk: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def author(self, info: Info) -> UserType | None:
        return await user_loader(info.context).load(self.author_pk) if self.author_pk else None


def comments_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, list[CaseCommentType]]:
    async def load(keys: list[uuid.UUID]) -> list[list[CaseCommentType]]:
        groups: dict[uuid.UUID, list[CaseCommentType]] = defaultdict(list)
        stmt = select(_comment).where(_comment.c.tenant_id == ctx.principal.tenant_id, any_of(_comment.c.case_id, keys))
        rows = await ctx.session.execute(stmt.order_by(_comment.c.created_at))  # type: ignore[union-attr]
        for r in rows:
            groups[r.case_id].append(CaseCommentType(body=r.body, public=r.public, created_at=r.created_at,
                                                     author_pk=r.author_id))
        return [groups.get(k, []) for k in keys]

    return ctx.loader("CaseComments", lambda: DataLoader(load_fn=load))


@strawberry.type(name="Case")
class CaseType(Node):
    id: strawberry.ID
    subject: str
    description: str
    channel: CaseChannel
    priority: CasePriority
    status: CaseStatus
    first_response_due_at: datetime
    resolution_due_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    pk: strawberry.Private[uuid.UUID]
    customer_pk: strawberry.Private[uuid.UUID]
    assignee_pk: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="First response or resolution late (or still missing past its due time).")
    def sla_breached(self) -> bool:
        now = utcnow()
        late_response = (self.first_response_at or now) > self.first_response_due_at
        late_resolution = (self.resolved_at or now) > self.resolution_due_at
        return late_response or late_resolution

    @strawberry.field
    async def customer(self, info: Info) -> CustomerType | None:
        return await customer_loader(info.context).load(self.customer_pk)

    @strawberry.field
    async def assignee(self, info: Info) -> UserType | None:
        return await user_loader(info.context).load(self.assignee_pk) if self.assignee_pk else None

    @strawberry.field
    async def comments(self, info: Info) -> list[CaseCommentType]:
        return await comments_loader(info.context).load(self.pk)

    @classmethod
    def from_row(cls, r) -> CaseType:  # type: ignore[no-untyped-def]
        return cls(id=to_global_id("Case", r.id), subject=r.subject, description=r.description,
                   channel=CaseChannel(r.channel), priority=CasePriority(r.priority), status=CaseStatus(r.status),
                   first_response_due_at=r.first_response_due_at, resolution_due_at=r.resolution_due_at,
                   first_response_at=r.first_response_at, resolved_at=r.resolved_at, closed_at=r.closed_at,
                   created_at=r.created_at, pk=r.id, customer_pk=r.customer_id, assignee_pk=r.assignee_id)


async def load_cases(ctx: RequestContext, ids: list[uuid.UUID]) -> dict[uuid.UUID, CaseType]:
    rows = await rows_by_id(ctx, _case, ids)
    return {r.id: CaseType.from_row(r) for r in rows}


@strawberry.input
class CaseFilter:
    status: CaseStatus | None = None
    priority: CasePriority | None = None
    assigned_to_me: bool = False
    sla_breached: bool | None = None
    customer_id: strawberry.ID | None = None


@strawberry.type
class Query:
    @gated_field(module="crm", permission="crm.read", description="Newest first.")
    async def cases(self, info: Info, first: int | None = None, after: str | None = None, last: int | None = None,
                    before: str | None = None, filter: CaseFilter | None = None) -> Connection[CaseType]:
        ctx: RequestContext = info.context
        stmt = select(_case).where(_case.c.tenant_id == ctx.principal.tenant_id)
        f = filter or CaseFilter()
        if f.status is not None:
            stmt = stmt.where(_case.c.status == f.status.value)
        if f.priority is not None:
            stmt = stmt.where(_case.c.priority == f.priority.value)
        if f.assigned_to_me:
            stmt = stmt.where(_case.c.assignee_id == ctx.principal.user_id)
        if f.sla_breached is not None:
            stmt = stmt.where(crm.breached() if f.sla_breached else ~crm.breached())
        if f.customer_id is not None:
            stmt = stmt.where(_case.c.customer_id == decode_id(f.customer_id, "Customer", field="customerId"))
        return await keyset_page(ctx.session, stmt, args=page_args(first, after, last, before), id_col=_case.c.id,  # type: ignore[arg-type]
                                 sort_col=_case.c.created_at, descending=True, to_node=CaseType.from_row)


@strawberry.input
class CaseCreateInput:
    customer_id: strawberry.ID
    subject: str
    priority: CasePriority = CasePriority.NORMAL
    channel: CaseChannel = CaseChannel.EMAIL
    description: str = ""
    contact_id: strawberry.ID | None = None
    assignee_id: strawberry.ID | None = None


@strawberry.input
class CaseAssignInput:
    id: strawberry.ID
    assignee_id: strawberry.ID


@strawberry.input
class CaseCommentInput:
    id: strawberry.ID
    body: str
    public: bool = False


@strawberry.input
class CaseIdInput:
    id: strawberry.ID


@strawberry.type
class CasePayload:
    case: CaseType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


async def _payload(ctx: RequestContext, case_id: uuid.UUID) -> CasePayload:
    return CasePayload(case=(await load_cases(ctx, [case_id]))[case_id])


@strawberry.type
class Mutation:
    @gated_mutation(module="crm", permission="crm.write")
    async def case_create(self, info: Info, input: CaseCreateInput) -> CasePayload:
        ctx: RequestContext = info.context

        async def operation() -> CasePayload:
            case = await crm.create_case(
                ctx.session, customer_id=decode_id(input.customer_id, "Customer", field="customerId"),  # type: ignore[arg-type]
                subject=input.subject, priority=input.priority.value, channel=input.channel.value,
                description=input.description,
                contact_id=decode_id(input.contact_id, "Contact", field="contactId") if input.contact_id else None,
                assignee_id=decode_id(input.assignee_id, "User", field="assigneeId") if input.assignee_id else None)
            return await _payload(ctx, case.id)

        return await run_mutation(info, CasePayload, operation, input)

    @gated_mutation(module="crm", permission="crm.write")
    async def case_assign(self, info: Info, input: CaseAssignInput) -> CasePayload:
        ctx: RequestContext = info.context

        async def operation() -> CasePayload:
            case = await crm.assign_case(ctx.session, case_id=decode_id(input.id, "Case"),  # type: ignore[arg-type]
                                         assignee_id=decode_id(input.assignee_id, "User", field="assigneeId"))
            return await _payload(ctx, case.id)

        return await run_mutation(info, CasePayload, operation, input)

    @gated_mutation(module="crm", permission="crm.write")
    async def case_comment(self, info: Info, input: CaseCommentInput) -> CasePayload:
        ctx: RequestContext = info.context

        async def operation() -> CasePayload:
            comment = await crm.comment_case(ctx.session, case_id=decode_id(input.id, "Case"), body=input.body,  # type: ignore[arg-type]
                                             public=input.public, author_id=ctx.principal.user_id)
            return await _payload(ctx, comment.case_id)

        return await run_mutation(info, CasePayload, operation, input)

    @gated_mutation(module="crm", permission="crm.write")
    async def case_resolve(self, info: Info, input: CaseIdInput) -> CasePayload:
        ctx: RequestContext = info.context

        async def operation() -> CasePayload:
            case = await crm.resolve_case(ctx.session, case_id=decode_id(input.id, "Case"))  # type: ignore[arg-type]
            return await _payload(ctx, case.id)

        return await run_mutation(info, CasePayload, operation, input)

    @gated_mutation(module="crm", permission="crm.write")
    async def case_close(self, info: Info, input: CaseIdInput) -> CasePayload:
        ctx: RequestContext = info.context

        async def operation() -> CasePayload:
            case = await crm.close_case(ctx.session, case_id=decode_id(input.id, "Case"))  # type: ignore[arg-type]
            return await _payload(ctx, case.id)

        return await run_mutation(info, CasePayload, operation, input)


node_sources = [NodeSource("Case", "crm", "crm.read", load_cases)]
