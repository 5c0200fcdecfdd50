"""The CRM's reactions: the customer timeline (fed only by events) and pipeline seeding."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.events import Event, EventType, on
from backend.core.fetch import Prepared, fetch, values_of
from backend.core.ids import from_global_id
from backend.modules.crm import events as crm
from backend.modules.crm.models import TimelineEntry
from backend.modules.crm.pipeline import seed_stages
from backend.modules.platform import events as platform_events

_timeline = TimelineEntry.__table__

# Event type -> the line the customer's timeline shows. Other modules' events (orders, shipments,
# invoices, payments) are added here as those modules land: the CRM reads their events, never their tables.
TITLES: list[tuple[EventType, Callable[[dict], str]]] = [
    (crm.CUSTOMER_CREATED, lambda p: f"Customer created: {p['name']}"),
    (crm.CUSTOMER_UPDATED, lambda p: f"Details updated: {', '.join(p['changed'])}"),
    (crm.CUSTOMER_ARCHIVED, lambda p: "Customer archived"),
    (crm.CONTACT_CREATED, lambda p: f"Contact added: {p['name']}"),
    (crm.OPPORTUNITY_CREATED, lambda p: f"Opportunity opened: {p['name']} ({p['amount']} {p['currencyCode']})"),
    (crm.OPPORTUNITY_STAGE_CHANGED, lambda p: f"Opportunity moved: {p['from']} → {p['to']}"),
    (crm.OPPORTUNITY_WON, lambda p: f"Opportunity won ({p['amount']} {p['currencyCode']})"),
    (crm.OPPORTUNITY_LOST, lambda p: f"Opportunity lost: {p['reason']}"),
    (crm.ACTIVITY_CREATED, lambda p: f"{p['kind'].capitalize()}: {p['subject']}"),
    (crm.ACTIVITY_COMPLETED, lambda p: f"Done: {p['subject']}"),
    (crm.LEAD_CONVERTED, lambda p: "Converted from a lead"),
    (crm.CUSTOMER_MERGED, lambda p: f"Merged with {p['name']}"),
    (crm.CAMPAIGN_MEMBER_ADDED, lambda p: f"Added to campaign: {p['name']}"),
    (crm.CASE_CREATED, lambda p: f"Case opened ({p['priority'].lower()}): {p['subject']}"),
    (crm.CASE_REPLIED, lambda p: f"Replied on case: {p['subject']}"),
    (crm.CASE_RESOLVED, lambda p: f"Case resolved: {p['subject']}"),
    (crm.CASE_CLOSED, lambda p: f"Case closed: {p['subject']}"),
]


_TIMELINE_INSERT = Prepared(insert(_timeline).values(values_of(
    _timeline, "tenant_id", "id", "customer_id", "event_id", "event_type", "occurred_at", "title", "subject_id", "data",
)).on_conflict_do_nothing(index_elements=["tenant_id", "event_id", "customer_id"]))


async def _to_timeline(session: AsyncSession, event: Event) -> None:
    parsed = from_global_id(event.payload.get("customerId") or "")
    if parsed is None or parsed[0] != "Customer":
        return
    title = _TITLE_OF[event.type](event.payload)
    await fetch(session, _TIMELINE_INSERT, {
        "tenant_id": event.tenant_id, "id": uuid.uuid4(), "customer_id": parsed[1], "event_id": event.id,
        "event_type": event.type, "occurred_at": event.occurred_at, "title": title[:300],
        "subject_id": event.aggregate_id, "data": event.payload})


_TITLE_OF = {event_type.name: title for event_type, title in TITLES}
for _event_type, _ in TITLES:
    on(_event_type, module="crm")(_to_timeline)


def show_on_timeline(event_type: EventType, title: Callable[[dict], str]) -> None:
    """Put another module's event on the customer timeline (its payload names ``customerId``).

    Called by that module at import (orders, finance): the CRM depends on none of them and reads
    only their events. The entry is written only while the CRM is on for the tenant.
    """
    _TITLE_OF[event_type.name] = title
    on(event_type, module="crm")(_to_timeline)


@on(platform_events.MODULE_ENABLED, module="crm")
async def seed_pipeline(session: AsyncSession, event: Event) -> None:
    """A tenant that switches the CRM on starts with the default pipeline."""
    if "crm" in event.payload.get("enabledModules", []):
        await seed_stages(session)
