"""CRM reports, computed in SQL.

Definitions (tested against hand-computed fixtures):

* the cohort: opportunities created in [from, to), optionally of one owner;
* ``funnel``: per stage, in pipeline order, the cohort's opportunities that ever reached it (its
  stage history), with their amount; ``conversionRate`` of a stage is the share of those that
  reached the next stage (for the last stage: that were won);
* ``winRate``: won / (won + lost) among the cohort's closed opportunities;
* ``pipelineValue``: the amount of all open opportunities (owner filter applies, dates do not);
  ``weightedPipelineValue``: the same, each times its probability.

* ``campaigns``: the campaigns whose dates overlap the period (a campaign without a start date
  starts on the day it was created; one without an end date has not ended), each with its
  results, and together: budget, leads, won revenue, cost per lead and return on investment
  ((revenue won - budget) / budget); the owner filter does not apply to campaigns.

Amounts are summed in the tenant's base currency; opportunities in other currencies are left out
(and counted in ``otherCurrencyCount``) until finance provides exchange rates.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Date, String, and_, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.money import round_money
from backend.modules.crm.leads import campaign_results
from backend.modules.crm.models import Campaign, Opportunity, OpportunityStageChange, PipelineStage
from backend.modules.platform import service as platform

_o = Opportunity.__table__
_c = OpportunityStageChange.__table__
_s = PipelineStage.__table__


@dataclass(frozen=True)
class FunnelStep:
    stage_id: uuid.UUID
    stage_name: str
    count: int
    value: Decimal
    conversion_rate: Decimal | None


@dataclass(frozen=True)
class LeadSource:
    source: str
    leads: int
    converted: int
    conversion_rate: Decimal | None
    won_revenue: Decimal


@dataclass(frozen=True)
class CrmReport:
    currency: str
    funnel: list[FunnelStep]
    win_rate: Decimal | None
    won_count: int
    lost_count: int
    pipeline_value: Decimal
    weighted_pipeline_value: Decimal
    other_currency_count: int
    lead_sources: list[LeadSource]


def _ratio(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")) if whole else None


async def crm_report(session: AsyncSession, *, since: datetime | None = None, until: datetime | None = None,
                     owner_id: uuid.UUID | None = None) -> CrmReport:
    await platform.ensure_module_enabled(session, "crm")
    tenant_id: uuid.UUID = session.info["tenant_id"]
    tenant = await platform.get_tenant(session, tenant_id=tenant_id)
    currency = tenant.base_currency if tenant else "USD"

    cohort = [_o.c.tenant_id == tenant_id, _o.c.currency == currency]
    if since is not None:
        cohort.append(_o.c.created_at >= since)
    if until is not None:
        cohort.append(_o.c.created_at < until)
    if owner_id is not None:
        cohort.append(_o.c.owner_id == owner_id)

    reached = (select(_c.c.to_stage_id.label("stage_id"), _o.c.id.label("opp_id"), _o.c.amount)
               .join(_o, and_(_o.c.tenant_id == _c.c.tenant_id, _o.c.id == _c.c.opportunity_id))
               .where(_c.c.tenant_id == tenant_id, *cohort).distinct().subquery())
    rows = (await session.execute(
        select(_s.c.id, _s.c.name, func.count(reached.c.opp_id), func.coalesce(func.sum(reached.c.amount), 0))
        .select_from(_s).outerjoin(reached, reached.c.stage_id == _s.c.id)
        .where(_s.c.tenant_id == tenant_id).group_by(_s.c.id, _s.c.name, _s.c.position)
        .order_by(_s.c.position, _s.c.name))).all()

    closed = (await session.execute(select(
        func.count().filter(_o.c.status == "won"), func.count().filter(_o.c.status == "lost"),
    ).where(*cohort))).one()
    won, lost = int(closed[0]), int(closed[1])

    funnel = []
    for i, (stage_id, name, count, value) in enumerate(rows):
        following = rows[i + 1][2] if i + 1 < len(rows) else won
        funnel.append(FunnelStep(stage_id=stage_id, stage_name=name, count=int(count),
                                 value=round_money(Decimal(value), currency),
                                 conversion_rate=_ratio(following, int(count))))

    open_filter = [_o.c.tenant_id == tenant_id, _o.c.status == "open"]
    if owner_id is not None:
        open_filter.append(_o.c.owner_id == owner_id)
    pipeline = (await session.execute(select(
        func.coalesce(func.sum(case((_o.c.currency == currency, _o.c.amount), else_=0)), 0),
        func.coalesce(func.sum(case((_o.c.currency == currency, _o.c.amount * _o.c.probability / 100), else_=0)), 0),
        func.count().filter(_o.c.currency != currency),
    ).where(*open_filter))).one()
    lead_sources = await _lead_sources(session, tenant_id=tenant_id, currency=currency, since=since, until=until,
                                       owner_id=owner_id)
    return CrmReport(currency=currency, funnel=funnel, win_rate=_ratio(won, won + lost), won_count=won,
                     lead_sources=lead_sources,
                     lost_count=lost, pipeline_value=round_money(Decimal(pipeline[0]), currency),
                     weighted_pipeline_value=round_money(Decimal(pipeline[1]), currency),
                     other_currency_count=int(pipeline[2]))


async def _lead_sources(session: AsyncSession, *, tenant_id: uuid.UUID, currency: str, since: datetime | None,
                        until: datetime | None, owner_id: uuid.UUID | None) -> list[LeadSource]:
    """Leads created in the period, by source: how many, how many converted, and the revenue won
    on the opportunities they became."""
    from backend.modules.crm.models import Lead

    lead = Lead.__table__
    where = [lead.c.tenant_id == tenant_id]
    if since is not None:
        where.append(lead.c.created_at >= since)
    if until is not None:
        where.append(lead.c.created_at < until)
    if owner_id is not None:
        where.append(lead.c.owner_id == owner_id)
    won = case((and_(_o.c.status == "won", _o.c.currency == currency), _o.c.amount), else_=0)
    rows = await session.execute(
        select(func.coalesce(lead.c.source, "(none)").label("source"), func.count(lead.c.id),
               func.count().filter(lead.c.status == "converted"), func.coalesce(func.sum(won), 0))
        .select_from(lead).outerjoin(_o, and_(_o.c.tenant_id == lead.c.tenant_id, _o.c.id == lead.c.opportunity_id))
        .where(*where).group_by("source").order_by(func.count(lead.c.id).desc(), "source"))
    return [LeadSource(source=r[0], leads=int(r[1]), converted=int(r[2]), conversion_rate=_ratio(int(r[2]), int(r[1])),
                       won_revenue=round_money(Decimal(r[3]), currency)) for r in rows]


@dataclass(frozen=True)
class PipelineSlice:
    key: str  # owner user id (or "none") / "YYYY-MM" (or "none")
    count: int
    value: Decimal
    weighted_value: Decimal


@dataclass(frozen=True)
class CaseStats:
    by_status: dict[str, int]
    by_priority: dict[str, int]
    average_first_response_hours: Decimal | None
    average_resolution_hours: Decimal | None
    breach_rate: Decimal | None


async def pipeline_slices(session: AsyncSession, *, by: str) -> list[PipelineSlice]:
    """Open pipeline in the base currency, by owner or by expected close month."""
    tenant_id: uuid.UUID = session.info["tenant_id"]
    tenant = await platform.get_tenant(session, tenant_id=tenant_id)
    currency = tenant.base_currency if tenant else "USD"
    key = (func.coalesce(func.cast(_o.c.owner_id, String), "none") if by == "owner"
           else func.coalesce(func.to_char(_o.c.expected_close_date, "YYYY-MM"), "none"))
    rows = await session.execute(
        select(key.label("k"), func.count(), func.coalesce(func.sum(_o.c.amount), 0),
               func.coalesce(func.sum(_o.c.amount * _o.c.probability / 100), 0))
        .where(_o.c.tenant_id == tenant_id, _o.c.status == "open", _o.c.currency == currency)
        .group_by("k").order_by("k"))
    return [PipelineSlice(key=r[0], count=int(r[1]), value=round_money(Decimal(r[2]), currency),
                          weighted_value=round_money(Decimal(r[3]), currency)) for r in rows]


async def case_stats(session: AsyncSession, *, since: datetime | None = None,
                     until: datetime | None = None) -> CaseStats:
    """Cases opened in the period: counts, average response and resolution times, SLA breach rate."""
    from backend.modules.crm.cases import breached
    from backend.modules.crm.models import Case

    c = Case.__table__
    where = [c.c.tenant_id == session.info["tenant_id"]]
    if since is not None:
        where.append(c.c.created_at >= since)
    if until is not None:
        where.append(c.c.created_at < until)
    by_status = dict((await session.execute(select(c.c.status, func.count()).where(*where).group_by(c.c.status))).all())
    by_priority = dict((await session.execute(
        select(c.c.priority, func.count()).where(*where).group_by(c.c.priority))).all())
    hours = 3600.0
    row = (await session.execute(select(
        func.avg(func.extract("epoch", c.c.first_response_at - c.c.created_at) / hours),
        func.avg(func.extract("epoch", c.c.resolved_at - c.c.created_at) / hours),
        func.count(), func.count().filter(breached()),
    ).where(*where))).one()

    def rounded(value: object) -> Decimal | None:
        return Decimal(str(value)).quantize(Decimal("0.01")) if value is not None else None

    return CaseStats(by_status={k: int(v) for k, v in by_status.items()},
                     by_priority={k: int(v) for k, v in by_priority.items()},
                     average_first_response_hours=rounded(row[0]), average_resolution_hours=rounded(row[1]),
                     breach_rate=_ratio(int(row[3]), int(row[2])))


@dataclass(frozen=True)
class CampaignSummary:
    campaigns: list  # Campaign rows, newest start first
    currency: str
    budget: Decimal
    leads_created: int
    revenue_won: Decimal
    cost_per_lead: Decimal | None
    return_on_investment: Decimal | None
    other_currency_count: int  # campaigns listed but not summed: not in the base currency


async def campaign_summary(session: AsyncSession, *, since: datetime | None = None,
                           until: datetime | None = None) -> CampaignSummary:
    """The campaigns that ran in the period, and their return on investment together."""
    await platform.ensure_module_enabled(session, "crm")
    tenant_id: uuid.UUID = session.info["tenant_id"]
    tenant = await platform.get_tenant(session, tenant_id=tenant_id)
    currency = tenant.base_currency if tenant else "USD"
    c = Campaign.__table__
    starts = func.coalesce(c.c.starts_on, cast(c.c.created_at, Date))
    where = [c.c.tenant_id == tenant_id]
    if since is not None:
        where.append(or_(c.c.ends_on.is_(None), c.c.ends_on >= since.date()))
    if until is not None:
        where.append(starts < until.date() if until.time() == until.time().min else starts <= until.date())
    rows = list(await session.execute(select(c).where(*where).order_by(starts.desc(), c.c.name, c.c.id)))
    results = await campaign_results(session, campaign_ids=[r.id for r in rows]) if rows else {}
    summed = [r for r in rows if r.currency == currency]
    budget = sum((Decimal(r.budget) for r in summed), Decimal(0))
    revenue = sum((results[r.id].revenue_won for r in summed), Decimal(0))
    leads = sum(results[r.id].leads_created for r in summed)
    return CampaignSummary(
        campaigns=rows, currency=currency, budget=round_money(budget, currency), leads_created=leads,
        revenue_won=round_money(revenue, currency),
        cost_per_lead=round_money(budget / leads, currency) if leads else None,
        return_on_investment=((revenue - budget) / budget).quantize(Decimal("0.0001")) if budget else None,
        other_currency_count=len(rows) - len(summed))
