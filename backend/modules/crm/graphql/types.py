"""CRM object types and their per-request loaders (one query per batch)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy import func, literal_column, select
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.api.gates import cross_module_field
from backend.api.loaders import batched, by_key, grouped_loader, load_all
from backend.api.money import MoneyType
from backend.api.relay import Connection, Node, keyset_page, page_args
from backend.api.rows import RowObject
from backend.api.sqltree import enum, expression, global_id, many, money, text
from backend.core.db import any_of
from backend.core.ids import to_global_id
from backend.modules.crm.models import Activity, Contact, Customer, Opportunity, PipelineStage, TimelineEntry
from backend.modules.platform.graphql.types import UserType, user_loader

if TYPE_CHECKING:
    from backend.modules.finance.graphql.types import InvoiceType
    from backend.modules.orders.graphql.types import OrderType

_contact = Contact.__table__
_opp = Opportunity.__table__
_stage = PipelineStage.__table__
_activity = Activity.__table__
_timeline = TimelineEntry.__table__


@strawberry.enum
class CustomerKind(Enum):
    COMPANY = "company"
    PERSON = "person"


@strawberry.enum
class CustomerStatus(Enum):
    LEAD = "lead"
    PROSPECT = "prospect"
    CUSTOMER = "customer"
    CHURNED = "churned"


@strawberry.enum
class OpportunityStatus(Enum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


@strawberry.enum
class ActivityKind(Enum):
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    TASK = "task"
    NOTE = "note"


# --- loaders ----------------------------------------------------------------------------------------


def _grouped_loader(ctx: RequestContext, key: str, stmt_for, make):  # type: ignore[no-untyped-def]
    return grouped_loader(ctx, key, stmt_for, make)


def _contacts_loader(ctx: RequestContext):  # type: ignore[no-untyped-def]
    return grouped_loader(ctx, "customer_id", _contacts_stmt, _contact_of_row, row_type=ContactType)


def _contact_of_row(r) -> ContactType:  # type: ignore[no-untyped-def]
    return ContactType.from_row(r)


def _opportunity_of_row(r) -> OpportunityType:  # type: ignore[no-untyped-def]
    return OpportunityType.from_row(r)


def _opportunities_loader(ctx: RequestContext, stmt_for):  # type: ignore[no-untyped-def]
    return grouped_loader(ctx, "customer_id", stmt_for, _opportunity_of_row, row_type=OpportunityType,
                          keep=("status",))  # Customer.opportunities(status:) filters on it


async def _opportunities_of(ctx: RequestContext, customers: list, status: OpportunityStatus | None = None,  # type: ignore[type-arg]
                            ) -> list[list[OpportunityType]]:
    """The batch form of ``Customer.opportunities`` (the same loaders, one call for a page)."""
    pks = [c.pk for c in customers]
    if status is OpportunityStatus.OPEN:
        return await load_all(_opportunities_loader(ctx, _open_opportunities_stmt), pks)
    found = await load_all(_opportunities_loader(ctx, _all_opportunities_stmt), pks)
    return [[o for o in group if status is None or o.status is status] for group in found]


def _contacts_stmt(tenant_id: uuid.UUID, keys: list[uuid.UUID]):  # type: ignore[no-untyped-def]
    return (select(_contact).where(_contact.c.tenant_id == tenant_id, any_of(_contact.c.customer_id, keys))
            .order_by(_contact.c.is_primary.desc(), _contact.c.name))


def _open_opportunities_stmt(tenant_id: uuid.UUID, keys: list[uuid.UUID]):  # type: ignore[no-untyped-def]
    return (select(_opp).where(_opp.c.tenant_id == tenant_id, any_of(_opp.c.customer_id, keys), _opp.c.status == "open")
            .order_by(_opp.c.created_at))


def _all_opportunities_stmt(tenant_id: uuid.UUID, keys: list[uuid.UUID]):  # type: ignore[no-untyped-def]
    return (select(_opp).where(_opp.c.tenant_id == tenant_id, any_of(_opp.c.customer_id, keys))
            .order_by(_opp.c.created_at))


def stage_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, PipelineStageType]:
    async def load(keys: list[uuid.UUID]) -> list[PipelineStageType]:
        rows = await ctx.session.execute(select(_stage).where(  # type: ignore[union-attr]
            _stage.c.tenant_id == ctx.principal.tenant_id, any_of(_stage.c.id, keys)))
        found = {r.id: PipelineStageType.from_row(r) for r in rows}
        return [found[k] for k in keys]

    return ctx.loader("PipelineStageById", lambda: DataLoader(load_fn=load))


def stale_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, bool]:
    async def load(keys: list[uuid.UUID]) -> list[bool]:
        from backend.modules.crm import service as crm

        stale = await crm.stale_opportunity_ids(ctx.session, ids=list(keys))  # type: ignore[arg-type]
        return [k in stale for k in keys]

    return ctx.loader("OpportunityStale", lambda: DataLoader(load_fn=load))


async def _owner(info: Info, owner_id: uuid.UUID | None) -> UserType | None:
    return await user_loader(info.context).load(owner_id) if owner_id else None


# --- types ------------------------------------------------------------------------------------------


@strawberry.type(name="PipelineStage")
class PipelineStageType(Node):
    id: strawberry.ID
    name: str
    position: int
    probability: Decimal

    @classmethod
    def from_row(cls, r) -> PipelineStageType:  # type: ignore[no-untyped-def]
        return cls(id=to_global_id("PipelineStage", r.id), name=r.name, position=r.position, probability=r.probability)


@strawberry.type(name="Contact")
class ContactType(RowObject, Node):
    id: strawberry.ID
    name: str
    title: str | None
    email: str | None
    phone: str | None
    is_primary: bool
    custom_fields: JSON
    created_at: datetime
    customer_pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, r) -> ContactType:  # type: ignore[no-untyped-def]
        return cls.lazy(r)


ContactType.computes(
    _contact, id=lambda r, k: to_global_id("Contact", r.id), name=lambda r, k: r.name, title=lambda r, k: r.title,
    email=lambda r, k: r.email, phone=lambda r, k: r.phone, is_primary=lambda r, k: r.is_primary,
    custom_fields=lambda r, k: r.custom_fields or {}, created_at=lambda r, k: r.created_at,
    customer_pk=lambda r, k: r.customer_id,
)
ContactType.sql(id=global_id("Contact"), name=text("name"), title=text("title"), email=text("email"),
                phone=text("phone"), is_primary=text("is_primary"))


@strawberry.type(name="Opportunity")
class OpportunityType(RowObject, Node):
    id: strawberry.ID
    name: str
    amount: MoneyType
    status: OpportunityStatus
    probability: Decimal
    expected_close_date: date | None
    lost_reason: str | None
    custom_fields: JSON
    closed_at: datetime | None
    created_at: datetime
    stage_pk: strawberry.Private[uuid.UUID]
    owner_pk: strawberry.Private[uuid.UUID | None]
    customer_pk: strawberry.Private[uuid.UUID]
    pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, r) -> OpportunityType:  # type: ignore[no-untyped-def]
        return cls.lazy(r)

    @strawberry.field
    async def stage(self, info: Info) -> PipelineStageType:
        return await stage_loader(info.context).load(self.stage_pk)

    @strawberry.field(description="Open, and no change or activity for the tenant's staleAfterDays.")
    async def stale(self, info: Info) -> bool:
        return await stale_loader(info.context).load(self.pk)

    @strawberry.field
    async def owner(self, info: Info) -> UserType | None:
        return await _owner(info, self.owner_pk)

    @strawberry.field
    async def customer(self, info: Info) -> CustomerType | None:
        from backend.modules.crm.graphql.customers import customer_loader

        return await customer_loader(info.context).load(self.customer_pk)

    @cross_module_field(module="orders", empty=list, description="Orders made from this opportunity (see "
                                                                  "opportunityWin's draftOrderLines).")
    async def orders(self, info: Info) -> list[Annotated[OrderType, strawberry.lazy(
            "backend.modules.orders.graphql.types")]]:
        from backend.modules.orders.graphql.types import orders_of_opportunity

        return await orders_of_opportunity(info, self.pk)


OpportunityType.computes(
    _opp, id=lambda r, k: to_global_id("Opportunity", r.id), name=lambda r, k: r.name,
    amount=lambda r, k: MoneyType.of(r.amount, r.currency), status=lambda r, k: OpportunityStatus(r.status),
    probability=lambda r, k: r.probability, expected_close_date=lambda r, k: r.expected_close_date,
    lost_reason=lambda r, k: r.lost_reason, custom_fields=lambda r, k: r.custom_fields or {},
    closed_at=lambda r, k: r.closed_at, created_at=lambda r, k: r.created_at, stage_pk=lambda r, k: r.stage_id,
    owner_pk=lambda r, k: r.owner_id, customer_pk=lambda r, k: r.customer_id, pk=lambda r, k: r.id,
)
OpportunityType.sql(id=global_id("Opportunity"), name=text("name"), amount=money("amount", "currency"),
                    status=enum("status", OpportunityStatus), lost_reason=text("lost_reason"))


@strawberry.type(name="Activity")
class ActivityType(Node):
    id: strawberry.ID
    kind: ActivityKind
    subject: str
    body: str
    due_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    customer_id: strawberry.ID | None
    opportunity_id: strawberry.ID | None
    assignee_pk: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    def overdue(self) -> bool:
        return self.completed_at is None and self.due_at is not None and self.due_at < datetime.now(self.due_at.tzinfo)

    @strawberry.field
    async def assignee(self, info: Info) -> UserType | None:
        return await _owner(info, self.assignee_pk)

    @classmethod
    def from_row(cls, r) -> ActivityType:  # type: ignore[no-untyped-def]
        return cls(id=to_global_id("Activity", r.id), kind=ActivityKind(r.kind), subject=r.subject, body=r.body,
                   due_at=r.due_at, completed_at=r.completed_at, created_at=r.created_at,
                   customer_id=to_global_id("Customer", r.customer_id) if r.customer_id else None,
                   opportunity_id=to_global_id("Opportunity", r.opportunity_id) if r.opportunity_id else None,
                   assignee_pk=r.assignee_id)


@strawberry.type(name="TimelineEntry", description="Something that happened with a customer.")
class TimelineEntryType:
    occurred_at: datetime
    event_type: str
    title: str
    subject_id: strawberry.ID
    data: JSON

    @classmethod
    def from_row(cls, r) -> TimelineEntryType:  # type: ignore[no-untyped-def]
        return cls(occurred_at=r.occurred_at, event_type=r.event_type, title=r.title,
                   subject_id=strawberry.ID(r.subject_id), data=r.data)


@strawberry.type(name="Customer")
class CustomerType(RowObject, Node):
    id: strawberry.ID
    kind: CustomerKind
    name: str
    email: str | None
    phone: str | None
    website: str | None
    industry: str | None
    tags: list[str]
    status: CustomerStatus
    source: str | None
    external_reference: str | None
    billing_address: JSON | None
    shipping_address: JSON | None
    archived: bool
    custom_fields: JSON = strawberry.field(description="The tenant's own fields (see customFieldDefinitions).")
    created_at: datetime
    updated_at: datetime
    pk: strawberry.Private[uuid.UUID]
    owner_pk: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_row(cls, r) -> CustomerType:  # type: ignore[no-untyped-def]
        return cls.lazy(r)

    @strawberry.field
    async def owner(self, info: Info) -> UserType | None:
        return await _owner(info, self.owner_pk)

    @strawberry.field
    @batched(by_key("pk", _contacts_loader))
    async def contacts(self, info: Info) -> list[ContactType]:
        return await _contacts_loader(info.context).load(self.pk)

    @strawberry.field(description="OPEN opportunities by default.")
    @batched(_opportunities_of)
    async def opportunities(self, info: Info, status: OpportunityStatus | None = OpportunityStatus.OPEN
                            ) -> list[OpportunityType]:
        if status is OpportunityStatus.OPEN:
            return await _opportunities_loader(info.context, _open_opportunities_stmt).load(self.pk)
        found = await _opportunities_loader(info.context, _all_opportunities_stmt).load(self.pk)
        return [o for o in found if status is None or o.status is status]

    @cross_module_field(module="finance", empty=list, description="Invoices, newest first; empty while finance "
                                                                   "is off.")
    async def invoices(self, info: Info) -> list[Annotated[InvoiceType, strawberry.lazy(
            "backend.modules.finance.graphql.types")]]:
        from backend.modules.finance.graphql.types import invoices_of

        return await invoices_of(info, customer_id=self.pk)

    @cross_module_field(module="orders", empty=list,
                        description="The latest orders (newest first, up to 50); empty while orders is off.")
    async def orders(self, info: Info) -> list[Annotated[OrderType, strawberry.lazy(
            "backend.modules.orders.graphql.types")]]:
        from backend.modules.orders.graphql.types import orders_of_customer

        return await orders_of_customer(info, self.pk)

    @strawberry.field(description="Newest first: activities, pipeline moves and (as modules land) orders, "
                                  "shipments, invoices and payments.")
    async def timeline(self, info: Info, first: int | None = None, after: str | None = None
                       ) -> Connection[TimelineEntryType]:
        ctx: RequestContext = info.context

        merged = select(Customer.__table__.c.id).where(Customer.__table__.c.tenant_id == ctx.principal.tenant_id,
                                                       Customer.__table__.c.merged_into_id == self.pk)
        stmt = select(_timeline).where(_timeline.c.tenant_id == ctx.principal.tenant_id,
                                       (_timeline.c.customer_id == self.pk) | _timeline.c.customer_id.in_(merged))
        return await keyset_page(ctx.session, stmt, args=page_args(first, after), id_col=_timeline.c.id,  # type: ignore[arg-type]
                                 sort_col=_timeline.c.occurred_at, descending=True, to_node=TimelineEntryType.from_row)

    @strawberry.field
    async def activities(self, info: Info, first: int | None = None, after: str | None = None
                         ) -> Connection[ActivityType]:
        ctx: RequestContext = info.context
        stmt = select(_activity).where(_activity.c.tenant_id == ctx.principal.tenant_id,
                                       _activity.c.customer_id == self.pk)
        return await keyset_page(ctx.session, stmt, args=page_args(first, after), id_col=_activity.c.id,  # type: ignore[arg-type]
                                 sort_col=_activity.c.created_at, descending=True, to_node=ActivityType.from_row)


CustomerType.computes(
    Customer.__table__,
    id=lambda r, k: to_global_id("Customer", r.id), kind=lambda r, k: CustomerKind(r.kind), name=lambda r, k: r.name,
    email=lambda r, k: r.email, phone=lambda r, k: r.phone, website=lambda r, k: r.website,
    industry=lambda r, k: r.industry, tags=lambda r, k: list(r.tags or []),
    status=lambda r, k: CustomerStatus(r.status),
    source=lambda r, k: r.source, external_reference=lambda r, k: r.external_ref,
    billing_address=lambda r, k: r.billing_address, shipping_address=lambda r, k: r.shipping_address,
    archived=lambda r, k: r.archived_at is not None, custom_fields=lambda r, k: r.custom_fields or {},
    created_at=lambda r, k: r.created_at, updated_at=lambda r, k: r.updated_at, pk=lambda r, k: r.id,
    owner_pk=lambda r, k: r.owner_id,
)
CustomerType.sql(
    id=global_id("Customer"), kind=enum("kind", CustomerKind), name=text("name"), email=text("email"),
    phone=text("phone"), website=text("website"), industry=text("industry"),
    tags=expression(lambda c: func.coalesce(c["tags"], literal_column("'{}'::text[]")), "tags", nullable=False),
    status=enum("status", CustomerStatus), source=text("source"), external_reference=text("external_ref"),
    archived=expression(lambda c: c["archived_at"].isnot(None), "archived_at", nullable=False),
    contacts=many(ContactType, _contacts_stmt, "id"),
    opportunities=many(OpportunityType, _open_opportunities_stmt, "id",
                       when=lambda args: args.get("status") is OpportunityStatus.OPEN),
)
