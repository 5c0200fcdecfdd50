"""The sales pipeline: stages (seeded per tenant), opportunities, and every move between them."""

from __future__ import annotations

import tomllib
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.ids import to_global_id
from backend.core.money import check_currency, parse_amount, round_money
from backend.core.validation import required_text
from backend.modules.crm import events as crm_events
from backend.modules.crm.customers import get_customer
from backend.modules.crm.models import Opportunity, OpportunityStageChange, PipelineStage
from backend.modules.platform import service as platform

SEED_FILE = Path(__file__).resolve().parents[3] / "tenants" / "crm" / "pipeline.toml"


def _tenant_id(session: AsyncSession) -> uuid.UUID:
    return session.info["tenant_id"]


async def seed_stages(session: AsyncSession) -> int:
    """Give the tenant the default pipeline (tenants/crm/pipeline.toml) unless it has stages."""
    existing = await session.scalar(select(func.count()).select_from(PipelineStage).where(
        PipelineStage.tenant_id == _tenant_id(session)))
    if existing:
        return 0
    stages = tomllib.loads(SEED_FILE.read_text(encoding="utf-8"))["stages"]
    for position, stage in enumerate(stages, start=1):
        session.add(PipelineStage(name=stage["name"], position=position, probability=Decimal(str(stage["probability"])),
                                  follow_up_subject=stage.get("follow_up"), follow_up_days=stage.get("follow_up_days")))
    await session.flush()
    return len(stages)


async def list_stages(session: AsyncSession) -> list[PipelineStage]:
    rows = await session.execute(select(PipelineStage).where(PipelineStage.tenant_id == _tenant_id(session))
                                 .order_by(PipelineStage.position, PipelineStage.name))
    return list(rows.scalars())


async def get_stage(session: AsyncSession, *, stage_id: uuid.UUID, field_name: str = "stageId") -> PipelineStage:
    found = (await session.execute(select(PipelineStage).where(
        PipelineStage.tenant_id == _tenant_id(session), PipelineStage.id == stage_id))).scalar_one_or_none()
    if found is None:
        raise DomainError("UNKNOWN_STAGE", "No pipeline stage with this ID.", field_name)
    return found


async def get_opportunity(session: AsyncSession, *, opportunity_id: uuid.UUID, lock: bool = False) -> Opportunity:
    stmt = select(Opportunity).where(Opportunity.tenant_id == _tenant_id(session), Opportunity.id == opportunity_id)
    found = (await session.execute(stmt.with_for_update() if lock else stmt)).scalar_one_or_none()
    if found is None:
        raise DomainError("NOT_FOUND", "No opportunity with this ID.", "id")
    return found


def _amount(opp: Opportunity) -> str:
    return str(round_money(opp.amount, opp.currency))


def _payload(opp: Opportunity, **extra: object) -> dict[str, object]:
    return {"opportunityId": to_global_id("Opportunity", opp.id),
            "customerId": to_global_id("Customer", opp.customer_id), **extra}


async def _record_move(session: AsyncSession, opp: Opportunity, *, from_stage: uuid.UUID | None,
                       from_status: str | None, actor: uuid.UUID | None) -> None:
    session.add(OpportunityStageChange(opportunity_id=opp.id, from_stage_id=from_stage, to_stage_id=opp.stage_id,
                                       from_status=from_status, to_status=opp.status, changed_by=actor))
    await session.flush()


async def _follow_up(session: AsyncSession, opp: Opportunity, stage: PipelineStage) -> None:
    """The stage's follow-up task for the owner, when the stage defines one."""
    if not stage.follow_up_subject:
        return
    from backend.modules.crm.activities import create_activity

    await create_activity(session, kind="task", subject=f"{stage.follow_up_subject}: {opp.name}"[:200],
                          due_at=utcnow() + timedelta(days=stage.follow_up_days or 1), assignee_id=opp.owner_id,
                          customer_id=opp.customer_id, opportunity_id=opp.id, created_by=None)


async def create_opportunity(
    session: AsyncSession, *, customer_id: uuid.UUID, name: str, amount: object, currency: str | None = None,
    expected_close_date: date | None = None, stage_id: uuid.UUID | None = None, owner_id: uuid.UUID | None = None,
    actor: uuid.UUID | None = None, custom_fields: dict | None = None,
) -> Opportunity:
    """Open an opportunity in ``stage_id`` (default: the first stage); emits ``opportunity.created``."""
    await platform.ensure_module_enabled(session, "crm")
    customer = await get_customer(session, customer_id=customer_id, field_name="customerId")
    if currency is None:
        tenant = await platform.get_tenant(session, tenant_id=_tenant_id(session))
        currency = tenant.base_currency if tenant else "USD"
    currency = check_currency(currency)
    value = parse_amount(amount, currency=currency)
    if stage_id is None:
        stages = await list_stages(session)
        if not stages:
            raise DomainError("UNKNOWN_STAGE", "The pipeline has no stages.", "stageId")
        stage = stages[0]
    else:
        stage = await get_stage(session, stage_id=stage_id)
    owner = owner_id or actor or customer.owner_id  # whoever opens it owns it, unless told otherwise
    if owner_id is not None and not await platform.is_member(session, user_id=owner_id):
        raise DomainError("NOT_FOUND", "The owner must be a member of this tenant.", "ownerId")
    opp = Opportunity(customer_id=customer.id, name=required_text(name, field="name", max_length=200), amount=value,
                      currency=currency, stage_id=stage.id, status="open", probability=stage.probability,
                      expected_close_date=expected_close_date, owner_id=owner,
                      custom_fields=await platform.validate_values(session, entity="crm.opportunity",
                                                                   values=custom_fields))
    session.add(opp)
    await session.flush()
    await _record_move(session, opp, from_stage=None, from_status=None, actor=actor)
    await events.emit(session, crm_events.OPPORTUNITY_CREATED, aggregate_id=to_global_id("Opportunity", opp.id),
                      payload=_payload(opp, name=opp.name, amount=_amount(opp), currencyCode=opp.currency,
                                       stage=stage.name))
    await _follow_up(session, opp, stage)
    return opp


def _require_open(opp: Opportunity) -> None:
    if opp.status != "open":
        raise DomainError("INVALID_TRANSITION", f"The opportunity is {opp.status.upper()}, not OPEN.", "id")


async def move_stage(session: AsyncSession, *, opportunity_id: uuid.UUID, stage_id: uuid.UUID,
                     actor: uuid.UUID | None) -> Opportunity:
    """Move an open opportunity; records the change, emits ``opportunity.stage_changed``, creates the
    new stage's follow-up task."""
    await platform.ensure_module_enabled(session, "crm")
    opp = await get_opportunity(session, opportunity_id=opportunity_id, lock=True)
    _require_open(opp)
    stage = await get_stage(session, stage_id=stage_id)
    if stage.id == opp.stage_id:
        return opp
    previous = await get_stage(session, stage_id=opp.stage_id)
    opp.stage_id, opp.probability, opp.updated_at = stage.id, stage.probability, utcnow()
    await _record_move(session, opp, from_stage=previous.id, from_status="open", actor=actor)
    await events.emit(session, crm_events.OPPORTUNITY_STAGE_CHANGED, aggregate_id=to_global_id("Opportunity", opp.id),
                      payload=_payload(opp, **{"from": previous.name, "to": stage.name}))
    await _follow_up(session, opp, stage)
    return opp


async def win(session: AsyncSession, *, opportunity_id: uuid.UUID, actor: uuid.UUID | None,
              draft_order_lines: list[dict[str, Any]] | None = None) -> Opportunity:
    """Close an open opportunity as won (probability 100); emits ``opportunity.won``.

    ``draft_order_lines`` (``{"productId", "quantity", "unitPrice"}`` with global IDs) ask for a
    draft order: the event carries them, and the orders module (which must be on) creates it.
    """
    await platform.ensure_module_enabled(session, "crm")
    if draft_order_lines is not None:
        if not await platform.is_module_enabled(session, "orders"):
            raise DomainError("MODULE_DISABLED", "A draft order needs the orders module.", "draftOrderLines")
        if not draft_order_lines:
            raise DomainError("REQUIRED", "A draft order has at least one line.", "draftOrderLines")
    opp = await get_opportunity(session, opportunity_id=opportunity_id, lock=True)
    _require_open(opp)
    opp.status, opp.probability, opp.closed_at = "won", Decimal(100), utcnow()
    opp.updated_at = opp.closed_at
    await _record_move(session, opp, from_stage=opp.stage_id, from_status="open", actor=actor)
    await events.emit(session, crm_events.OPPORTUNITY_WON, aggregate_id=to_global_id("Opportunity", opp.id),
                      payload=_payload(opp, amount=_amount(opp), currencyCode=opp.currency,
                                       name=opp.name, draftOrder={"lines": draft_order_lines}
                                       if draft_order_lines else None))
    return opp


async def lose(
    session: AsyncSession, *, opportunity_id: uuid.UUID, reason: str, actor: uuid.UUID | None
) -> Opportunity:
    """Close an open opportunity as lost, with a reason; emits ``opportunity.lost``."""
    await platform.ensure_module_enabled(session, "crm")
    reason = required_text(reason, field="reason", max_length=300)
    opp = await get_opportunity(session, opportunity_id=opportunity_id, lock=True)
    _require_open(opp)
    opp.status, opp.probability, opp.lost_reason, opp.closed_at = "lost", Decimal(0), reason, utcnow()
    opp.updated_at = opp.closed_at
    await _record_move(session, opp, from_stage=opp.stage_id, from_status="open", actor=actor)
    await events.emit(session, crm_events.OPPORTUNITY_LOST, aggregate_id=to_global_id("Opportunity", opp.id),
                      payload=_payload(opp, reason=reason))
    return opp


def stale_condition(tenant_id: uuid.UUID, stale_after_days: int):  # type: ignore[no-untyped-def]
    """Open opportunities with no change and no activity for ``stale_after_days`` (a SQL condition)."""
    from sqlalchemy import and_

    from backend.modules.crm.models import Activity

    o, a = Opportunity.__table__, Activity.__table__
    cutoff = utcnow() - timedelta(days=stale_after_days)
    recent_activity = select(a.c.id).where(
        a.c.tenant_id == tenant_id, a.c.opportunity_id == o.c.id,
        func.coalesce(a.c.completed_at, a.c.created_at) >= cutoff).exists()
    return and_(o.c.status == "open", o.c.updated_at < cutoff, ~recent_activity)


async def stale_opportunity_ids(session: AsyncSession, *, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``ids`` are stale, by the tenant's ``staleAfterDays`` (one query plus the settings row)."""
    from backend.modules.crm.cases import settings_for

    days = (await settings_for(session)).stale_after_days
    o = Opportunity.__table__
    rows = await session.execute(select(o.c.id).where(o.c.tenant_id == _tenant_id(session), o.c.id.in_(ids),
                                                      stale_condition(_tenant_id(session), days)))
    return set(rows.scalars())
