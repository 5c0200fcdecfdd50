"""Service cases (tickets) with SLA due times from the tenant's CRM settings."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from backend.core import events
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.ids import to_global_id
from backend.core.validation import required_text
from backend.modules.crm import events as crm_events
from backend.modules.crm.customers import get_customer
from backend.modules.crm.models import DEFAULT_SLA_HOURS, Case, CaseComment, Contact, CrmSettings
from backend.modules.platform import service as platform

CHANNELS = ("email", "phone", "web", "chat")
PRIORITIES = ("low", "normal", "high", "urgent")
_case = Case.__table__


def _tenant_id(session: AsyncSession) -> uuid.UUID:
    return session.info["tenant_id"]


async def settings_for(session: AsyncSession) -> CrmSettings:
    """The tenant's CRM settings row (created with defaults on first use)."""
    table = CrmSettings.__table__
    await session.execute(insert(table).values(
        tenant_id=_tenant_id(session), id=uuid.uuid4(), sla_hours=DEFAULT_SLA_HOURS, stale_after_days=14,
    ).on_conflict_do_nothing(index_elements=["tenant_id"]))
    return (await session.execute(select(CrmSettings).where(CrmSettings.tenant_id == _tenant_id(session)))).scalar_one()


async def get_case(session: AsyncSession, *, case_id: uuid.UUID, lock: bool = False) -> Case:
    stmt = select(Case).where(Case.tenant_id == _tenant_id(session), Case.id == case_id)
    found = (await session.execute(stmt.with_for_update() if lock else stmt)).scalar_one_or_none()
    if found is None:
        raise DomainError("NOT_FOUND", "No case with this ID.", "id")
    return found


def _payload(case: Case, **extra: object) -> dict[str, object]:
    return {"caseId": to_global_id("Case", case.id), "customerId": to_global_id("Customer", case.customer_id),
            "subject": case.subject, **extra}


async def create_case(session: AsyncSession, *, customer_id: uuid.UUID, subject: str, priority: str = "normal",
                      channel: str = "email", description: str = "", contact_id: uuid.UUID | None = None,
                      assignee_id: uuid.UUID | None = None) -> Case:
    """Open a case; its first-response and resolution deadlines come from the SLA of its priority."""
    await platform.ensure_module_enabled(session, "crm")
    if priority not in PRIORITIES:
        raise DomainError("INVALID_PRIORITY", f"Priority is one of {', '.join(p.upper() for p in PRIORITIES)}.",
                          "priority")
    if channel not in CHANNELS:
        raise DomainError("INVALID_CHANNEL", f"Channel is one of {', '.join(c.upper() for c in CHANNELS)}.", "channel")
    customer = await get_customer(session, customer_id=customer_id, field_name="customerId")
    if contact_id is not None:
        contact = (await session.execute(select(Contact).where(
            Contact.tenant_id == customer.tenant_id, Contact.id == contact_id))).scalar_one_or_none()
        if contact is None or contact.customer_id != customer.id:
            raise DomainError("NOT_FOUND", "No contact with this ID at this customer.", "contactId")
    if assignee_id is not None and not await platform.is_member(session, user_id=assignee_id):
        raise DomainError("NOT_FOUND", "The assignee must be a member of this tenant.", "assigneeId")
    sla = (await settings_for(session)).sla_hours
    response_hours, resolution_hours = sla.get(priority, DEFAULT_SLA_HOURS[priority])
    now = utcnow()
    case = Case(customer_id=customer.id, contact_id=contact_id, subject=required_text(subject, field="subject",
                                                                                      max_length=200),
                description=description or "", priority=priority, channel=channel, status="new",
                assignee_id=assignee_id, first_response_due_at=now + timedelta(hours=response_hours),
                resolution_due_at=now + timedelta(hours=resolution_hours))
    session.add(case)
    await session.flush()
    await events.emit(session, crm_events.CASE_CREATED, aggregate_id=to_global_id("Case", case.id),
                      payload=_payload(case, priority=priority.upper(), channel=channel.upper()))
    return case


async def assign_case(session: AsyncSession, *, case_id: uuid.UUID, assignee_id: uuid.UUID) -> Case:
    await platform.ensure_module_enabled(session, "crm")
    case = await get_case(session, case_id=case_id, lock=True)
    if case.status == "closed":
        raise DomainError("INVALID_TRANSITION", "The case is CLOSED.", "id")
    if not await platform.is_member(session, user_id=assignee_id):
        raise DomainError("NOT_FOUND", "The assignee must be a member of this tenant.", "assigneeId")
    case.assignee_id, case.updated_at = assignee_id, utcnow()
    if case.status == "new":
        case.status = "open"
    await session.flush()
    return case


async def comment_case(session: AsyncSession, *, case_id: uuid.UUID, body: str, public: bool,
                       author_id: uuid.UUID | None) -> CaseComment:
    """Add a comment. A public one is the first response if there was none, and reopens a resolved case."""
    await platform.ensure_module_enabled(session, "crm")
    case = await get_case(session, case_id=case_id, lock=True)
    if case.status == "closed":
        raise DomainError("INVALID_TRANSITION", "The case is CLOSED.", "id")
    comment = CaseComment(case_id=case.id, author_id=author_id, public=public,
                          body=required_text(body, field="body", max_length=20_000))
    session.add(comment)
    now = utcnow()
    if public and case.first_response_at is None:
        case.first_response_at = now
    if case.status in ("new", "resolved"):
        case.status, case.resolved_at = "open", None
    case.updated_at = now
    await session.flush()
    if public:
        await events.emit(session, crm_events.CASE_REPLIED, aggregate_id=to_global_id("Case", case.id),
                          payload=_payload(case))
    return comment


async def resolve_case(session: AsyncSession, *, case_id: uuid.UUID) -> Case:
    await platform.ensure_module_enabled(session, "crm")
    case = await get_case(session, case_id=case_id, lock=True)
    if case.status not in ("new", "open", "pending"):
        raise DomainError("INVALID_TRANSITION", f"The case is {case.status.upper()}.", "id")
    case.status, case.resolved_at = "resolved", utcnow()
    case.updated_at = case.resolved_at
    await session.flush()
    await events.emit(session, crm_events.CASE_RESOLVED, aggregate_id=to_global_id("Case", case.id),
                      payload=_payload(case))
    return case


async def close_case(session: AsyncSession, *, case_id: uuid.UUID) -> Case:
    await platform.ensure_module_enabled(session, "crm")
    case = await get_case(session, case_id=case_id, lock=True)
    if case.status == "closed":
        raise DomainError("INVALID_TRANSITION", "The case is CLOSED.", "id")
    case.status, case.closed_at = "closed", utcnow()
    case.resolved_at = case.resolved_at or case.closed_at
    case.updated_at = case.closed_at
    await session.flush()
    await events.emit(session, crm_events.CASE_CLOSED, aggregate_id=to_global_id("Case", case.id),
                      payload=_payload(case))
    return case


def breached() -> ColumnElement[bool]:
    """SLA breached: first response or resolution came (or is still missing) after its due time."""
    now = utcnow()
    return or_(
        (_case.c.first_response_at.is_(None) & (_case.c.first_response_due_at < now))
        | (_case.c.first_response_at > _case.c.first_response_due_at),
        (_case.c.resolved_at.is_(None) & (_case.c.resolution_due_at < now))
        | (_case.c.resolved_at > _case.c.resolution_due_at),
    )


async def update_settings(session: AsyncSession, *, visibility: str | None = None,
                          stale_after_days: int | None = None, sla_hours: dict | None = None) -> CrmSettings:
    """Change the tenant's CRM settings (visibility for sales, stale threshold, SLA hours per priority)."""
    await platform.ensure_module_enabled(session, "crm")
    settings = await settings_for(session)
    if visibility is not None:
        if visibility not in ("all", "team", "own"):
            raise DomainError("INVALID_VISIBILITY", "Visibility is ALL, TEAM or OWN.", "visibility")
        settings.visibility = visibility
    if stale_after_days is not None:
        if not 1 <= stale_after_days <= 365:
            raise DomainError("OUT_OF_RANGE", "Between 1 and 365 days.", "staleAfterDays")
        settings.stale_after_days = stale_after_days
    if sla_hours is not None:
        merged = dict(settings.sla_hours)
        for priority, hours in sla_hours.items():
            if priority not in PRIORITIES or not (isinstance(hours, list) and len(hours) == 2
                                                  and all(isinstance(h, int | float) and h > 0 for h in hours)
                                                  and hours[0] <= hours[1]):
                raise DomainError("INVALID_SLA", "SLA hours: {priority: [first response, resolution]}, "
                                                 "positive, response first.", "slaHours")
            merged[priority] = hours
        settings.sla_hours = merged
    await session.flush()
    return settings
