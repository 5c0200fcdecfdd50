"""The pipeline and activities: ``pipelineStages``, ``opportunities``, ``opportunity*``, ``activities``,
``activity*`` and ``crmReport``."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy import select
from strawberry.scalars import JSON
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.api.errors import UserError, run_mutation
from backend.api.gates import gated_field, gated_mutation
from backend.api.loaders import rows_by_id
from backend.api.money import MoneyType
from backend.api.relay import Connection, NodeSource, decode_id, keyset_page, page_args
from backend.core.db import utcnow
from backend.modules.crm import service as crm
from backend.modules.crm.graphql.types import (
    ActivityKind,
    ActivityType,
    OpportunityStatus,
    OpportunityType,
    PipelineStageType,
)
from backend.modules.crm.models import Activity, Opportunity
from backend.modules.platform import service as platform

if TYPE_CHECKING:
    from backend.modules.crm.graphql.marketing import CampaignType

_opp = Opportunity.__table__
_activity = Activity.__table__


async def load_opportunities(ctx: RequestContext, ids: list[uuid.UUID]) -> dict[uuid.UUID, OpportunityType]:
    rows = await rows_by_id(ctx, _opp, ids)
    return {r.id: OpportunityType.from_row(r) for r in rows}


async def load_activities(ctx: RequestContext, ids: list[uuid.UUID]) -> dict[uuid.UUID, ActivityType]:
    rows = await rows_by_id(ctx, _activity, ids)
    return {r.id: ActivityType.from_row(r) for r in rows}


@strawberry.input
class OpportunityFilter:
    status: OpportunityStatus | None = None
    stage_id: strawberry.ID | None = None
    customer_id: strawberry.ID | None = None
    owner_id: strawberry.ID | None = None
    stale: bool | None = strawberry.field(default=None, description="Only stale (true) or fresh (false) ones.")
    custom_fields: JSON | None = strawberry.field(default=None, description='e.g. {"rush": true}: all must match.')


@strawberry.input
class ActivityFilter:
    mine: bool = strawberry.field(default=False, description="Assigned to me.")
    open: bool | None = strawberry.field(default=None, description="true: not completed; false: completed.")
    overdue: bool = strawberry.field(default=False, description="Open and past due.")
    customer_id: strawberry.ID | None = None
    kind: ActivityKind | None = None


@strawberry.type(name="FunnelStep")
class FunnelStepType:
    stage: PipelineStageType
    count: int
    value: MoneyType
    conversion_rate: Decimal | None = strawberry.field(description="Share that reached the next stage (last: won).")


@strawberry.type(name="LeadSourcePerformance")
class LeadSourceType:
    source: str
    leads: int
    converted: int
    conversion_rate: Decimal | None
    won_revenue: MoneyType


@strawberry.type(name="PipelineSlice")
class PipelineSliceType:
    key: str = strawberry.field(description="A User ID (by owner) or YYYY-MM (by expected close month); none if unset.")
    count: int
    value: MoneyType
    weighted_value: MoneyType


@strawberry.type(name="CountByKey")
class CountByKeyType:
    key: str
    count: int


@strawberry.type(name="CaseStats")
class CaseStatsType:
    by_status: list[CountByKeyType]
    by_priority: list[CountByKeyType]
    average_first_response_hours: Decimal | None
    average_resolution_hours: Decimal | None
    breach_rate: Decimal | None


@strawberry.type(name="CampaignPerformance")
class CampaignPerformanceType:
    campaigns: list[Annotated[CampaignType, strawberry.lazy("backend.modules.crm.graphql.marketing")]] = (
        strawberry.field(description="Newest start first; each has its own results."))
    budget: MoneyType = strawberry.field(description="Together, in the base currency.")
    leads_created: int
    revenue_won: MoneyType
    cost_per_lead: MoneyType | None
    return_on_investment: Decimal | None = strawberry.field(description="(revenue won - budget) / budget")
    other_currency_count: int = strawberry.field(description="Campaigns listed but not summed: another currency.")


@strawberry.type(name="CrmReport")
class CrmReportType:
    funnel: list[FunnelStepType]
    win_rate: Decimal | None
    won_count: int
    lost_count: int
    pipeline_value: MoneyType
    weighted_pipeline_value: MoneyType
    other_currency_count: int = strawberry.field(description="Open opportunities left out: not in the base currency.")
    lead_sources: list[LeadSourceType] = strawberry.field(description="Leads of the period by source.")
    currency: strawberry.Private[str] = "USD"

    @strawberry.field(description="Open pipeline by owner.")
    async def pipeline_by_owner(self, info: Info) -> list[PipelineSliceType]:
        return _slices(await crm.pipeline_slices(info.context.session, by="owner"), self.currency, owner=True)

    @strawberry.field(description="Open pipeline by expected close month.")
    async def pipeline_by_month(self, info: Info) -> list[PipelineSliceType]:
        return _slices(await crm.pipeline_slices(info.context.session, by="month"), self.currency, owner=False)

    @strawberry.field(description="Cases opened in the period.")
    async def cases(self, info: Info) -> CaseStatsType:
        s = await crm.case_stats(info.context.session, since=self.period[0], until=self.period[1])
        return CaseStatsType(
            by_status=[CountByKeyType(key=k.upper(), count=v) for k, v in sorted(s.by_status.items())],
            by_priority=[CountByKeyType(key=k.upper(), count=v) for k, v in sorted(s.by_priority.items())],
            average_first_response_hours=s.average_first_response_hours,
            average_resolution_hours=s.average_resolution_hours, breach_rate=s.breach_rate)

    @strawberry.field(description="Campaigns whose dates overlap the period, and their return on investment.")
    async def campaigns(self, info: Info) -> CampaignPerformanceType:
        from backend.modules.crm.graphql.marketing import CampaignType

        s = await crm.campaign_summary(info.context.session, since=self.period[0], until=self.period[1])
        return CampaignPerformanceType(
            campaigns=[CampaignType.from_row(r) for r in s.campaigns], budget=MoneyType.of(s.budget, s.currency),
            leads_created=s.leads_created, revenue_won=MoneyType.of(s.revenue_won, s.currency),
            cost_per_lead=MoneyType.of(s.cost_per_lead, s.currency) if s.cost_per_lead is not None else None,
            return_on_investment=s.return_on_investment, other_currency_count=s.other_currency_count)

    period: strawberry.Private[tuple] = (None, None)


def _slices(slices: list, currency: str, *, owner: bool) -> list[PipelineSliceType]:
    from backend.core.ids import to_global_id

    out = []
    for s in slices:
        key = to_global_id("User", uuid.UUID(s.key)) if owner and s.key != "none" else s.key
        out.append(PipelineSliceType(key=key, count=s.count, value=MoneyType.of(s.value, currency),
                                     weighted_value=MoneyType.of(s.weighted_value, currency)))
    return out


@strawberry.type
class Query:
    @gated_field(module="crm", permission="crm.read", description="The pipeline's stages in order.")
    async def pipeline_stages(self, info: Info) -> list[PipelineStageType]:
        return [PipelineStageType.from_row(s) for s in await crm.list_stages(info.context.session)]

    @gated_field(module="crm", permission="crm.read")
    async def opportunities(self, info: Info, first: int | None = None, after: str | None = None,
                            last: int | None = None, before: str | None = None,
                            filter: OpportunityFilter | None = None) -> Connection[OpportunityType]:
        ctx: RequestContext = info.context
        stmt = select(_opp).where(_opp.c.tenant_id == ctx.principal.tenant_id)
        if filter is not None:
            if filter.status is not None:
                stmt = stmt.where(_opp.c.status == filter.status.value)
            if filter.stage_id is not None:
                stmt = stmt.where(_opp.c.stage_id == decode_id(filter.stage_id, "PipelineStage", field="stageId"))
            if filter.customer_id is not None:
                stmt = stmt.where(_opp.c.customer_id == decode_id(filter.customer_id, "Customer", field="customerId"))
            if filter.owner_id is not None:
                stmt = stmt.where(_opp.c.owner_id == decode_id(filter.owner_id, "User", field="ownerId"))
            if filter.stale is not None:
                days = (await crm.settings_for(ctx.session)).stale_after_days  # type: ignore[arg-type]
                condition = crm.stale_condition(ctx.principal.tenant_id, days)
                stmt = stmt.where(condition if filter.stale else ~condition)
            wanted = await platform.filter_custom_values(ctx.session, entity="crm.opportunity",  # type: ignore[arg-type]
                                                         values=filter.custom_fields)
            if wanted:
                stmt = stmt.where(_opp.c.custom_fields.contains(wanted))
        return await keyset_page(ctx.session, stmt, args=page_args(first, after, last, before), id_col=_opp.c.id,  # type: ignore[arg-type]
                                 sort_col=_opp.c.created_at, descending=True, to_node=OpportunityType.from_row)

    @gated_field(module="crm", permission="crm.read", description="Soonest due first.")
    async def activities(self, info: Info, first: int | None = None, after: str | None = None,
                         last: int | None = None, before: str | None = None,
                         filter: ActivityFilter | None = None) -> Connection[ActivityType]:
        ctx: RequestContext = info.context
        stmt = select(_activity).where(_activity.c.tenant_id == ctx.principal.tenant_id)
        f = filter or ActivityFilter()
        if f.mine:
            stmt = stmt.where(_activity.c.assignee_id == ctx.principal.user_id)
        if f.open is not None:
            stmt = stmt.where(_activity.c.completed_at.is_(None) if f.open else _activity.c.completed_at.is_not(None))
        if f.overdue:
            stmt = stmt.where(_activity.c.completed_at.is_(None), _activity.c.due_at < utcnow())
        if f.customer_id is not None:
            stmt = stmt.where(_activity.c.customer_id == decode_id(f.customer_id, "Customer", field="customerId"))
        if f.kind is not None:
            stmt = stmt.where(_activity.c.kind == f.kind.value)
        return await keyset_page(ctx.session, stmt, args=page_args(first, after, last, before),  # type: ignore[arg-type]
                                 id_col=_activity.c.id, sort_col=_activity.c.created_at, to_node=ActivityType.from_row)

    @gated_field(module="crm", permission="crm.read")
    async def crm_report(
        self, info: Info, from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None, owner_id: strawberry.ID | None = None,
    ) -> CrmReportType:
        ctx: RequestContext = info.context
        owner = decode_id(owner_id, "User", field="ownerId") if owner_id else None
        report = await crm.crm_report(ctx.session, since=from_, until=to, owner_id=owner)  # type: ignore[arg-type]
        stages = {s.id: s for s in await crm.list_stages(ctx.session)}  # type: ignore[arg-type]
        return CrmReportType(
            funnel=[FunnelStepType(stage=PipelineStageType.from_row(stages[f.stage_id]), count=f.count,
                                   value=MoneyType.of(f.value, report.currency), conversion_rate=f.conversion_rate)
                    for f in report.funnel],
            win_rate=report.win_rate, won_count=report.won_count, lost_count=report.lost_count,
            pipeline_value=MoneyType.of(report.pipeline_value, report.currency),
            weighted_pipeline_value=MoneyType.of(report.weighted_pipeline_value, report.currency),
            other_currency_count=report.other_currency_count,
            lead_sources=[LeadSourceType(source=s.source, leads=s.leads, converted=s.converted,
                                         conversion_rate=s.conversion_rate,
                                         won_revenue=MoneyType.of(s.won_revenue, report.currency))
                          for s in report.lead_sources],
            currency=report.currency, period=(from_, to))


@strawberry.input
class OpportunityCreateInput:
    customer_id: strawberry.ID
    name: str
    amount: Decimal
    currency_code: str | None = strawberry.field(default=None, description="Default: the tenant's base currency.")
    expected_close_date: date | None = None
    stage_id: strawberry.ID | None = strawberry.field(default=None, description="Default: the first stage.")
    owner_id: strawberry.ID | None = None
    custom_fields: JSON | None = None


@strawberry.input
class OpportunityMoveStageInput:
    id: strawberry.ID
    stage_id: strawberry.ID


@strawberry.input
class DraftOrderLineInput:
    product_id: strawberry.ID
    quantity: Decimal
    unit_price: Decimal | None = None


@strawberry.input
class OpportunityWinInput:
    id: strawberry.ID
    draft_order_lines: list[DraftOrderLineInput] | None = strawberry.field(
        default=None, description="With the orders module on: create a draft order for these lines, linked to the "
                                  "opportunity (Opportunity.orders).")


@strawberry.input
class OpportunityLoseInput:
    id: strawberry.ID
    reason: str


@strawberry.type
class OpportunityPayload:
    opportunity: OpportunityType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class ActivityCreateInput:
    kind: ActivityKind
    subject: str
    body: str = ""
    due_at: datetime | None = None
    assignee_id: strawberry.ID | None = None
    customer_id: strawberry.ID | None = None
    opportunity_id: strawberry.ID | None = None


@strawberry.input
class ActivityCompleteInput:
    id: strawberry.ID


@strawberry.type
class ActivityPayload:
    activity: ActivityType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


async def _opportunity(ctx: RequestContext, opp_id: uuid.UUID) -> OpportunityPayload:
    return OpportunityPayload(opportunity=(await load_opportunities(ctx, [opp_id]))[opp_id])


async def _activity_payload(ctx: RequestContext, activity_id: uuid.UUID) -> ActivityPayload:
    return ActivityPayload(activity=(await load_activities(ctx, [activity_id]))[activity_id])


def _id(value: strawberry.ID | None, type_name: str, field: str) -> uuid.UUID | None:
    return decode_id(value, type_name, field=field) if value else None


@strawberry.type
class Mutation:
    @gated_mutation(module="crm", permission="crm.write")
    async def opportunity_create(self, info: Info, input: OpportunityCreateInput) -> OpportunityPayload:
        ctx: RequestContext = info.context

        async def operation() -> OpportunityPayload:
            opp = await crm.create_opportunity(
                ctx.session, customer_id=decode_id(input.customer_id, "Customer", field="customerId"),  # type: ignore[arg-type]
                name=input.name, amount=input.amount, currency=input.currency_code,
                expected_close_date=input.expected_close_date,
                stage_id=_id(input.stage_id, "PipelineStage", "stageId"),
                owner_id=_id(input.owner_id, "User", "ownerId"), actor=ctx.principal.user_id,
                custom_fields=input.custom_fields if isinstance(input.custom_fields, dict) else None)
            return await _opportunity(ctx, opp.id)

        return await run_mutation(info, OpportunityPayload, operation, input)

    @gated_mutation(module="crm", permission="crm.write")
    async def opportunity_move_stage(self, info: Info, input: OpportunityMoveStageInput) -> OpportunityPayload:
        ctx: RequestContext = info.context

        async def operation() -> OpportunityPayload:
            opp = await crm.move_stage(ctx.session, opportunity_id=decode_id(input.id, "Opportunity"),  # type: ignore[arg-type]
                                       stage_id=decode_id(input.stage_id, "PipelineStage", field="stageId"),
                                       actor=ctx.principal.user_id)
            return await _opportunity(ctx, opp.id)

        return await run_mutation(info, OpportunityPayload, operation, input)

    @gated_mutation(module="crm", permission="crm.write")
    async def opportunity_win(self, info: Info, input: OpportunityWinInput) -> OpportunityPayload:
        ctx: RequestContext = info.context

        async def operation() -> OpportunityPayload:
            lines = None if input.draft_order_lines is None else [
                {"productId": x.product_id, "quantity": str(x.quantity),
                 "unitPrice": None if x.unit_price is None else str(x.unit_price)} for x in input.draft_order_lines]
            opp = await crm.win(ctx.session, opportunity_id=decode_id(input.id, "Opportunity"),  # type: ignore[arg-type]
                                actor=ctx.principal.user_id, draft_order_lines=lines)
            return await _opportunity(ctx, opp.id)

        return await run_mutation(info, OpportunityPayload, operation, input)

    @gated_mutation(module="crm", permission="crm.write")
    async def opportunity_lose(self, info: Info, input: OpportunityLoseInput) -> OpportunityPayload:
        ctx: RequestContext = info.context

        async def operation() -> OpportunityPayload:
            opp = await crm.lose(ctx.session, opportunity_id=decode_id(input.id, "Opportunity"),  # type: ignore[arg-type]
                                 reason=input.reason, actor=ctx.principal.user_id)
            return await _opportunity(ctx, opp.id)

        return await run_mutation(info, OpportunityPayload, operation, input)

    @gated_mutation(module="crm", permission="crm.write")
    async def activity_create(self, info: Info, input: ActivityCreateInput) -> ActivityPayload:
        ctx: RequestContext = info.context

        async def operation() -> ActivityPayload:
            activity = await crm.create_activity(
                ctx.session, kind=input.kind.value, subject=input.subject, body=input.body, due_at=input.due_at,  # type: ignore[arg-type]
                assignee_id=_id(input.assignee_id, "User", "assigneeId"),
                customer_id=_id(input.customer_id, "Customer", "customerId"),
                opportunity_id=_id(input.opportunity_id, "Opportunity", "opportunityId"),
                created_by=ctx.principal.user_id)
            return await _activity_payload(ctx, activity.id)

        return await run_mutation(info, ActivityPayload, operation, input)

    @gated_mutation(module="crm", permission="crm.write")
    async def activity_complete(self, info: Info, input: ActivityCompleteInput) -> ActivityPayload:
        ctx: RequestContext = info.context

        async def operation() -> ActivityPayload:
            activity = await crm.complete_activity(ctx.session, activity_id=decode_id(input.id, "Activity"))  # type: ignore[arg-type]
            return await _activity_payload(ctx, activity.id)

        return await run_mutation(info, ActivityPayload, operation, input)


node_sources = [
    NodeSource("Opportunity", "crm", "crm.read", load_opportunities),
    NodeSource("Activity", "crm", "crm.read", load_activities),
]
