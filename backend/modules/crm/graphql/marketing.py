"""Leads and campaigns: ``leads``, ``leadCreate``, ``leadConvert``, ``campaigns``, ``campaignCreate``,
``campaignAddMembers``."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.api.errors import UserError, run_mutation
from backend.api.gates import gated_field, gated_mutation
from backend.api.loaders import rows_by_id
from backend.api.money import MoneyType
from backend.api.relay import Connection, Node, NodeSource, decode_id, keyset_page, page_args
from backend.core.db import any_of
from backend.core.ids import to_global_id
from backend.modules.crm import service as crm
from backend.modules.crm.graphql.customers import customer_loader, load_contacts
from backend.modules.crm.graphql.sales import load_opportunities
from backend.modules.crm.graphql.types import ContactType, CustomerType, OpportunityType, user_loader
from backend.modules.crm.models import Campaign, Lead
from backend.modules.platform import service as platform
from backend.modules.platform.graphql.types import UserType

_lead = Lead.__table__
_campaign = Campaign.__table__


@strawberry.enum
class LeadStatus(Enum):
    NEW = "new"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    CONVERTED = "converted"
    DISQUALIFIED = "disqualified"


@strawberry.enum
class CampaignStatus(Enum):
    PLANNED = "planned"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@strawberry.type(name="Lead")
class LeadType(Node):
    id: strawberry.ID
    name: str
    company: str | None
    email: str | None
    phone: str | None
    source: str | None
    status: LeadStatus
    campaign_id: strawberry.ID | None
    custom_fields: JSON
    converted_at: datetime | None
    created_at: datetime
    customer_pk: strawberry.Private[uuid.UUID | None]
    owner_pk: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def owner(self, info: Info) -> UserType | None:
        return await user_loader(info.context).load(self.owner_pk) if self.owner_pk else None

    @strawberry.field(description="The customer the lead became.")
    async def customer(self, info: Info) -> CustomerType | None:
        return await customer_loader(info.context).load(self.customer_pk) if self.customer_pk else None

    @classmethod
    def from_row(cls, r) -> LeadType:  # type: ignore[no-untyped-def]
        return cls(id=to_global_id("Lead", r.id), name=r.name, company=r.company, email=r.email, phone=r.phone,
                   source=r.source, status=LeadStatus(r.status),
                   campaign_id=to_global_id("Campaign", r.campaign_id) if r.campaign_id else None,
                   custom_fields=r.custom_fields or {}, converted_at=r.converted_at, created_at=r.created_at,
                   customer_pk=r.customer_id, owner_pk=r.owner_id)


@strawberry.type(name="CampaignResults")
class CampaignResultsType:
    members_reached: int
    leads_created: int
    opportunities_won: int
    revenue_won: MoneyType
    cost_per_lead: MoneyType | None
    return_on_investment: Decimal | None = strawberry.field(description="(revenue won - budget) / budget")


def results_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, CampaignResultsType]:
    async def load(keys: list[uuid.UUID]) -> list[CampaignResultsType]:
        found = await crm.campaign_results(ctx.session, campaign_ids=list(keys))  # type: ignore[arg-type]
        currencies = dict((await ctx.session.execute(select(_campaign.c.id, _campaign.c.currency).where(  # type: ignore[union-attr]
            _campaign.c.tenant_id == ctx.principal.tenant_id, any_of(_campaign.c.id, keys)))).all())
        out = []
        for k in keys:
            r, cur = found[k], currencies.get(k, "USD")
            out.append(CampaignResultsType(
                members_reached=r.members_reached, leads_created=r.leads_created,
                opportunities_won=r.opportunities_won, revenue_won=MoneyType.of(r.revenue_won, cur),
                cost_per_lead=MoneyType.of(r.cost_per_lead, cur) if r.cost_per_lead is not None else None,
                return_on_investment=r.return_on_investment))
        return out

    return ctx.loader("CampaignResults", lambda: DataLoader(load_fn=load))


@strawberry.type(name="Campaign")
class CampaignType(Node):
    id: strawberry.ID
    name: str
    channel: str
    budget: MoneyType
    starts_on: date | None
    ends_on: date | None
    status: CampaignStatus
    created_at: datetime
    pk: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Reach, leads, won revenue, cost per lead and return on investment.")
    async def results(self, info: Info) -> CampaignResultsType:
        return await results_loader(info.context).load(self.pk)

    @classmethod
    def from_row(cls, r) -> CampaignType:  # type: ignore[no-untyped-def]
        return cls(id=to_global_id("Campaign", r.id), name=r.name, channel=r.channel,
                   budget=MoneyType.of(r.budget, r.currency), starts_on=r.starts_on, ends_on=r.ends_on,
                   status=CampaignStatus(r.status), created_at=r.created_at, pk=r.id)


async def load_leads(ctx: RequestContext, ids: list[uuid.UUID]) -> dict[uuid.UUID, LeadType]:
    rows = await rows_by_id(ctx, _lead, ids)
    return {r.id: LeadType.from_row(r) for r in rows}


async def load_campaigns(ctx: RequestContext, ids: list[uuid.UUID]) -> dict[uuid.UUID, CampaignType]:
    rows = await rows_by_id(ctx, _campaign, ids)
    return {r.id: CampaignType.from_row(r) for r in rows}


@strawberry.type
class Query:
    @gated_field(module="crm", permission="crm.read", description="Newest first.")
    async def leads(self, info: Info, first: int | None = None, after: str | None = None, last: int | None = None,
                    before: str | None = None, status: LeadStatus | None = None,
                    custom_fields: Annotated[JSON | None, strawberry.argument(
                        description='e.g. {"budget": 12000}: all must match.')] = None) -> Connection[LeadType]:
        ctx: RequestContext = info.context
        stmt = select(_lead).where(_lead.c.tenant_id == ctx.principal.tenant_id)
        wanted = await platform.filter_custom_values(ctx.session, entity="crm.lead", values=custom_fields)  # type: ignore[arg-type]
        if wanted:
            stmt = stmt.where(_lead.c.custom_fields.contains(wanted))
        if status is not None:
            stmt = stmt.where(_lead.c.status == status.value)
        return await keyset_page(ctx.session, stmt, args=page_args(first, after, last, before), id_col=_lead.c.id,  # type: ignore[arg-type]
                                 sort_col=_lead.c.created_at, descending=True, to_node=LeadType.from_row)

    @gated_field(module="crm", permission="crm.read", description="Newest first.")
    async def campaigns(self, info: Info, first: int | None = None, after: str | None = None, last: int | None = None,
                        before: str | None = None) -> Connection[CampaignType]:
        ctx: RequestContext = info.context
        stmt = select(_campaign).where(_campaign.c.tenant_id == ctx.principal.tenant_id)
        return await keyset_page(ctx.session, stmt, args=page_args(first, after, last, before),  # type: ignore[arg-type]
                                 id_col=_campaign.c.id, sort_col=_campaign.c.created_at, descending=True,
                                 to_node=CampaignType.from_row)


@strawberry.input
class LeadCreateInput:
    name: str
    company: str | None = None
    email: str | None = None
    phone: str | None = None
    source: str | None = None
    campaign_id: strawberry.ID | None = None
    owner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Default: the next sales member in the round robin (else you).")
    custom_fields: JSON | None = None


@strawberry.type
class LeadPayload:
    lead: LeadType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class LeadSetStatusInput:
    id: strawberry.ID
    status: LeadStatus = strawberry.field(
        description="NEW, CONTACTED, QUALIFIED or DISQUALIFIED (convert with leadConvert).")


@strawberry.input
class LeadConvertInput:
    lead_id: strawberry.ID
    create_opportunity: bool = False
    opportunity_name: str | None = None
    amount: Decimal | None = None
    customer_id: strawberry.ID | None = strawberry.field(default=None, description="Link an existing customer.")


@strawberry.type
class LeadConvertPayload:
    lead: LeadType | None = None
    customer: CustomerType | None = None
    contact: ContactType | None = None
    opportunity: OpportunityType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class CampaignCreateInput:
    name: str
    channel: str
    budget: Decimal = Decimal(0)
    currency_code: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    status: CampaignStatus = CampaignStatus.PLANNED


@strawberry.type
class CampaignPayload:
    campaign: CampaignType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class CampaignAddMembersInput:
    campaign_id: strawberry.ID
    customer_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    contact_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    lead_ids: list[strawberry.ID] = strawberry.field(default_factory=list)


@strawberry.type
class CampaignAddMembersPayload:
    campaign: CampaignType | None = None
    added: int | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Mutation:
    @gated_mutation(module="crm", permission="crm.write")
    async def lead_create(self, info: Info, input: LeadCreateInput) -> LeadPayload:
        ctx: RequestContext = info.context

        async def operation() -> LeadPayload:
            lead = await crm.create_lead(
                ctx.session, name=input.name, company=input.company, email=input.email, phone=input.phone,  # type: ignore[arg-type]
                source=input.source, created_by=ctx.principal.user_id,
                custom_fields=input.custom_fields if isinstance(input.custom_fields, dict) else None,
                owner_id=decode_id(input.owner_id, "User", field="ownerId") if input.owner_id else None,
                campaign_id=decode_id(input.campaign_id, "Campaign", field="campaignId") if input.campaign_id else None)
            return LeadPayload(lead=(await load_leads(ctx, [lead.id]))[lead.id])

        return await run_mutation(info, LeadPayload, operation, input)

    @gated_mutation(module="crm", permission="crm.write")
    async def lead_set_status(self, info: Info, input: LeadSetStatusInput) -> LeadPayload:
        ctx: RequestContext = info.context

        async def operation() -> LeadPayload:
            lead = await crm.set_lead_status(ctx.session, lead_id=decode_id(input.id, "Lead", field="id"),  # type: ignore[arg-type]
                                             status=input.status.value)
            return LeadPayload(lead=(await load_leads(ctx, [lead.id]))[lead.id])

        return await run_mutation(info, LeadPayload, operation, input)

    @gated_mutation(module="crm", permission="crm.write")
    async def lead_convert(self, info: Info, input: LeadConvertInput) -> LeadConvertPayload:
        ctx: RequestContext = info.context

        async def operation() -> LeadConvertPayload:
            done = await crm.convert_lead(
                ctx.session, lead_id=decode_id(input.lead_id, "Lead", field="leadId"),  # type: ignore[arg-type]
                create_opportunity_too=input.create_opportunity, opportunity_name=input.opportunity_name,
                amount=input.amount, actor=ctx.principal.user_id,
                customer_id=decode_id(input.customer_id, "Customer", field="customerId") if input.customer_id else None)
            opportunity = ((await load_opportunities(ctx, [done.opportunity_id]))[done.opportunity_id]
                           if done.opportunity_id else None)
            return LeadConvertPayload(
                lead=(await load_leads(ctx, [done.lead.id]))[done.lead.id],
                customer=await customer_loader(ctx).load(done.customer_id),
                contact=(await load_contacts(ctx, [done.contact_id]))[done.contact_id], opportunity=opportunity)

        return await run_mutation(info, LeadConvertPayload, operation, input)

    @gated_mutation(module="crm", permission="crm.write")
    async def campaign_create(self, info: Info, input: CampaignCreateInput) -> CampaignPayload:
        ctx: RequestContext = info.context

        async def operation() -> CampaignPayload:
            campaign = await crm.create_campaign(
                ctx.session, name=input.name, channel=input.channel, budget=input.budget,  # type: ignore[arg-type]
                currency=input.currency_code, starts_on=input.starts_on, ends_on=input.ends_on,
                status=input.status.value)
            return CampaignPayload(campaign=(await load_campaigns(ctx, [campaign.id]))[campaign.id])

        return await run_mutation(info, CampaignPayload, operation, input)

    @gated_mutation(module="crm", permission="crm.write")
    async def campaign_add_members(self, info: Info, input: CampaignAddMembersInput) -> CampaignAddMembersPayload:
        ctx: RequestContext = info.context

        async def operation() -> CampaignAddMembersPayload:
            campaign_id = decode_id(input.campaign_id, "Campaign", field="campaignId")
            added = await crm.add_members(
                ctx.session, campaign_id=campaign_id,  # type: ignore[arg-type]
                customer_ids=[decode_id(i, "Customer", field="customerIds") for i in input.customer_ids],
                contact_ids=[decode_id(i, "Contact", field="contactIds") for i in input.contact_ids],
                lead_ids=[decode_id(i, "Lead", field="leadIds") for i in input.lead_ids])
            return CampaignAddMembersPayload(campaign=(await load_campaigns(ctx, [campaign_id]))[campaign_id],
                                             added=added)

        return await run_mutation(info, CampaignAddMembersPayload, operation, input)


node_sources = [NodeSource("Lead", "crm", "crm.read", load_leads),
                NodeSource("Campaign", "crm", "crm.read", load_campaigns)]
