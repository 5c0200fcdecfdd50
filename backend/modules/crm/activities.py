"""Activities: calls, emails, meetings, tasks and notes, planned or logged."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.ids import to_global_id
from backend.core.validation import required_text
from backend.modules.crm import events as crm_events
from backend.modules.crm.models import Activity
from backend.modules.platform import service as platform

KINDS = ("call", "email", "meeting", "task", "note")


def _tenant_id(session: AsyncSession) -> uuid.UUID:
    return session.info["tenant_id"]


async def create_activity(
    session: AsyncSession, *, kind: str, subject: str, body: str = "", due_at: datetime | None = None,
    assignee_id: uuid.UUID | None = None, customer_id: uuid.UUID | None = None,
    opportunity_id: uuid.UUID | None = None, created_by: uuid.UUID | None = None,
) -> Activity:
    """Plan or log an activity; emits ``activity.created``. Related records must be this tenant's."""
    from backend.modules.crm.customers import get_customer
    from backend.modules.crm.pipeline import get_opportunity

    await platform.ensure_module_enabled(session, "crm")
    if kind not in KINDS:
        raise DomainError("INVALID_KIND", f"Kind is one of {', '.join(k.upper() for k in KINDS)}.", "kind")
    if opportunity_id is not None:
        try:
            opp = await get_opportunity(session, opportunity_id=opportunity_id)
        except DomainError:
            raise DomainError("NOT_FOUND", "No opportunity with this ID.", "opportunityId") from None
        customer_id = customer_id or opp.customer_id
    if customer_id is not None:
        await get_customer(session, customer_id=customer_id, field_name="customerId")
    assignee = assignee_id or created_by
    if assignee_id is not None and not await platform.is_member(session, user_id=assignee_id):
        raise DomainError("NOT_FOUND", "The assignee must be a member of this tenant.", "assigneeId")
    activity = Activity(kind=kind, subject=required_text(subject, field="subject", max_length=200), body=body or "",
                        due_at=due_at, assignee_id=assignee, customer_id=customer_id, opportunity_id=opportunity_id,
                        created_by=created_by)
    if kind in ("call", "email", "note") and due_at is None:
        activity.completed_at = utcnow()  # logged after the fact
    session.add(activity)
    await session.flush()
    gid = to_global_id("Activity", activity.id)
    await events.emit(session, crm_events.ACTIVITY_CREATED, aggregate_id=gid, payload={
        "activityId": gid, "kind": kind.upper(), "subject": activity.subject,
        "customerId": to_global_id("Customer", customer_id) if customer_id else None,
        "dueAt": due_at.isoformat() if due_at else None})
    return activity


async def complete_activity(session: AsyncSession, *, activity_id: uuid.UUID) -> Activity:
    """Mark done (once); emits ``activity.completed``."""
    await platform.ensure_module_enabled(session, "crm")
    activity = (await session.execute(select(Activity).where(
        Activity.tenant_id == _tenant_id(session), Activity.id == activity_id))).scalar_one_or_none()
    if activity is None:
        raise DomainError("NOT_FOUND", "No activity with this ID.", "id")
    if activity.completed_at is not None:
        raise DomainError("ALREADY_COMPLETED", "This activity is already completed.", "id")
    activity.completed_at = utcnow()
    await session.flush()
    gid = to_global_id("Activity", activity.id)
    await events.emit(session, crm_events.ACTIVITY_COMPLETED, aggregate_id=gid, payload={
        "activityId": gid, "subject": activity.subject,
        "customerId": to_global_id("Customer", activity.customer_id) if activity.customer_id else None})
    return activity
