"""Leads and campaigns: unqualified interest, its conversion, and the campaigns that bring it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.ids import to_global_id
from backend.core.money import check_currency, parse_amount, round_money
from backend.core.validation import normalize_email, optional_text, required_text
from backend.modules.crm import events as crm_events
from backend.modules.crm.customers import CustomerFields, create_contact, create_customer, get_customer
from backend.modules.crm.lead_rules import route_lead
from backend.modules.crm.models import Campaign, CampaignMember, Contact, Customer, Lead, Opportunity
from backend.modules.crm.pipeline import create_opportunity
from backend.modules.platform import service as platform

LEAD_STATUSES = ("new", "contacted", "qualified", "converted", "disqualified")
CAMPAIGN_STATUSES = ("planned", "active", "completed", "cancelled")


def _tenant_id(session: AsyncSession) -> uuid.UUID:
    return session.info["tenant_id"]


async def get_campaign(session: AsyncSession, *, campaign_id: uuid.UUID, field_name: str = "campaignId") -> Campaign:
    found = (await session.execute(select(Campaign).where(
        Campaign.tenant_id == _tenant_id(session), Campaign.id == campaign_id))).scalar_one_or_none()
    if found is None:
        raise DomainError("NOT_FOUND", "No campaign with this ID.", field_name)
    return found


async def get_lead(session: AsyncSession, *, lead_id: uuid.UUID, lock: bool = False) -> Lead:
    stmt = select(Lead).where(Lead.tenant_id == _tenant_id(session), Lead.id == lead_id)
    found = (await session.execute(stmt.with_for_update() if lock else stmt)).scalar_one_or_none()
    if found is None:
        raise DomainError("NOT_FOUND", "No lead with this ID.", "leadId")
    return found


async def create_lead(session: AsyncSession, *, name: str, company: str | None = None, email: str | None = None,
                      phone: str | None = None, source: str | None = None, campaign_id: uuid.UUID | None = None,
                      owner_id: uuid.UUID | None = None, created_by: uuid.UUID | None = None,
                      custom_fields: dict | None = None) -> Lead:
    """Record a lead (attributed to ``campaign_id`` when given, and made a member of it).

    Without ``owner_id`` the assignment rules and the round robin choose one (``lead_rules``), else
    it goes to its creator.
    """
    await platform.ensure_module_enabled(session, "crm")
    if campaign_id is not None:
        await get_campaign(session, campaign_id=campaign_id)
    if owner_id is not None and not await platform.is_member(session, user_id=owner_id):
        raise DomainError("NOT_FOUND", "The owner must be a member of this tenant.", "ownerId")
    if owner_id is None:
        owner_id = await route_lead(session, source=source, email=email, campaign_id=campaign_id) or created_by
    lead = Lead(name=required_text(name, field="name", max_length=200),
                company=optional_text(company, field="company", max_length=200),
                email=normalize_email(email) if email else None,
                phone=optional_text(phone, field="phone", max_length=50),
                source=optional_text(source, field="source", max_length=100), campaign_id=campaign_id,
                owner_id=owner_id,
                custom_fields=await platform.validate_values(session, entity="crm.lead", values=custom_fields))
    session.add(lead)
    await session.flush()
    if campaign_id is not None:
        await add_members(session, campaign_id=campaign_id, lead_ids=[lead.id])
    gid = to_global_id("Lead", lead.id)
    await events.emit(session, crm_events.LEAD_CREATED, aggregate_id=gid, payload={
        "leadId": gid, "name": lead.name, "company": lead.company, "email": lead.email, "source": lead.source,
        "campaignId": to_global_id("Campaign", campaign_id) if campaign_id else None})
    return lead


@dataclass(frozen=True)
class Conversion:
    lead: Lead
    customer_id: uuid.UUID
    contact_id: uuid.UUID
    opportunity_id: uuid.UUID | None


async def convert_lead(session: AsyncSession, *, lead_id: uuid.UUID, create_opportunity_too: bool,
                       opportunity_name: str | None = None, amount: object = None,
                       customer_id: uuid.UUID | None = None, actor: uuid.UUID | None = None) -> Conversion:
    """Turn a lead into a customer (or link ``customer_id``), a contact and optionally an opportunity,
    all in one transaction; the lead keeps its history and points at what it became."""
    await platform.ensure_module_enabled(session, "crm")
    lead = await get_lead(session, lead_id=lead_id, lock=True)
    if lead.status in ("converted", "disqualified"):
        raise DomainError("INVALID_TRANSITION", f"The lead is {lead.status.upper()}.", "leadId")
    if customer_id is not None:
        customer = await get_customer(session, customer_id=customer_id, field_name="customerId")
    else:
        customer = await create_customer(session, allow_duplicate=True, created_by=actor, values=CustomerFields(
            name=lead.company or lead.name, kind="company" if lead.company else "person", email=lead.email,
            phone=lead.phone, source=lead.source, status="prospect", owner_id=lead.owner_id))
    contact = await create_contact(session, customer_id=customer.id, name=lead.name, email=lead.email,
                                   phone=lead.phone)
    opportunity = None
    if create_opportunity_too:
        opportunity = await create_opportunity(
            session, customer_id=customer.id, name=opportunity_name or f"{customer.name}: first order",
            amount=amount if amount is not None else 0, owner_id=lead.owner_id, actor=actor)
        opportunity.campaign_id = lead.campaign_id
    lead.status, lead.converted_at = "converted", utcnow()
    lead.customer_id, lead.contact_id = customer.id, contact.id
    lead.opportunity_id = opportunity.id if opportunity else None
    await session.flush()
    gid = to_global_id("Lead", lead.id)
    await events.emit(session, crm_events.LEAD_CONVERTED, aggregate_id=gid, payload={
        "leadId": gid, "customerId": to_global_id("Customer", customer.id),
        "contactId": to_global_id("Contact", contact.id),
        "opportunityId": to_global_id("Opportunity", opportunity.id) if opportunity else None})
    return Conversion(lead=lead, customer_id=customer.id, contact_id=contact.id,
                      opportunity_id=opportunity.id if opportunity else None)


async def set_lead_status(session: AsyncSession, *, lead_id: uuid.UUID, status: str) -> Lead:
    await platform.ensure_module_enabled(session, "crm")
    if status not in LEAD_STATUSES or status == "converted":
        raise DomainError("INVALID_STATUS", "Use leadConvert to convert a lead.", "status")
    try:
        lead = await get_lead(session, lead_id=lead_id, lock=True)
    except DomainError:
        raise DomainError("NOT_FOUND", "No lead with this ID.", "id") from None
    if lead.status == "converted":
        raise DomainError("INVALID_TRANSITION", "The lead is CONVERTED.", "id")
    lead.status = status
    await session.flush()
    return lead


# --- campaigns ------------------------------------------------------------------------------------


async def create_campaign(session: AsyncSession, *, name: str, channel: str, budget: object = 0,
                          currency: str | None = None, starts_on: date | None = None, ends_on: date | None = None,
                          status: str = "planned") -> Campaign:
    await platform.ensure_module_enabled(session, "crm")
    if currency is None:
        tenant = await platform.get_tenant(session, tenant_id=_tenant_id(session))
        currency = tenant.base_currency if tenant else "USD"
    currency = check_currency(currency)
    if status not in CAMPAIGN_STATUSES:
        raise DomainError("INVALID_STATUS", f"Status is one of {', '.join(CAMPAIGN_STATUSES)}.", "status")
    if starts_on and ends_on and ends_on < starts_on:
        raise DomainError("INVALID_RANGE", "A campaign ends after it starts.", "endsOn")
    campaign = Campaign(name=required_text(name, field="name", max_length=200),
                        channel=required_text(channel, field="channel", max_length=50),
                        budget=parse_amount(budget, currency=currency, field="budget"), currency=currency,
                        starts_on=starts_on, ends_on=ends_on, status=status)
    session.add(campaign)
    await session.flush()
    return campaign


async def add_members(session: AsyncSession, *, campaign_id: uuid.UUID, customer_ids: list[uuid.UUID] = (),
                      contact_ids: list[uuid.UUID] = (), lead_ids: list[uuid.UUID] = ()) -> int:
    """Add members (already-present ones are skipped); every ID must be this tenant's. Returns how
    many were added; each added customer's timeline shows the campaign touch."""
    campaign = await get_campaign(session, campaign_id=campaign_id)
    tenant_id = _tenant_id(session)
    for ids, model, label in ((customer_ids, Customer, "customerIds"), (contact_ids, Contact, "contactIds"),
                              (lead_ids, Lead, "leadIds")):
        if not ids:
            continue
        table = model.__table__
        found = await session.scalar(select(func.count()).select_from(table).where(
            table.c.tenant_id == tenant_id, table.c.id.in_(list(ids))))
        if found != len(set(ids)):
            raise DomainError("NOT_FOUND", "Some of these IDs do not exist.", label)
    added = 0
    member = CampaignMember.__table__
    for column, ids in (("customer_id", customer_ids), ("contact_id", contact_ids), ("lead_id", lead_ids)):
        for member_id in dict.fromkeys(ids):
            stmt = insert(member).values(tenant_id=tenant_id, id=uuid.uuid4(), campaign_id=campaign.id,
                                         added_at=utcnow(), **{column: member_id})
            result = await session.execute(stmt.on_conflict_do_nothing(
                index_elements=["tenant_id", "campaign_id", column]))
            added += result.rowcount
            if result.rowcount and column == "customer_id":
                gid = to_global_id("Campaign", campaign.id)
                await events.emit(session, crm_events.CAMPAIGN_MEMBER_ADDED, aggregate_id=gid, payload={
                    "campaignId": gid, "name": campaign.name, "customerId": to_global_id("Customer", member_id)})
    return added


@dataclass(frozen=True)
class CampaignResults:
    members_reached: int
    leads_created: int
    opportunities_won: int
    revenue_won: Decimal
    cost_per_lead: Decimal | None
    return_on_investment: Decimal | None  # (revenue - budget) / budget


async def campaign_results(session: AsyncSession, *, campaign_ids: list[uuid.UUID]) -> dict[uuid.UUID, CampaignResults]:
    """Results of several campaigns in three grouped queries."""
    tenant_id = _tenant_id(session)
    m, lead, opp, c = (CampaignMember.__table__, Lead.__table__, Opportunity.__table__, Campaign.__table__)
    members = dict((await session.execute(select(m.c.campaign_id, func.count()).where(
        m.c.tenant_id == tenant_id, m.c.campaign_id.in_(campaign_ids)).group_by(m.c.campaign_id))).all())
    leads = dict((await session.execute(select(lead.c.campaign_id, func.count()).where(
        lead.c.tenant_id == tenant_id, lead.c.campaign_id.in_(campaign_ids)).group_by(lead.c.campaign_id))).all())
    won = {r[0]: (r[1], r[2]) for r in await session.execute(
        select(opp.c.campaign_id, func.count(), func.coalesce(func.sum(opp.c.amount), 0))
        .join(c, (c.c.tenant_id == opp.c.tenant_id) & (c.c.id == opp.c.campaign_id) & (c.c.currency == opp.c.currency))
        .where(opp.c.tenant_id == tenant_id, opp.c.campaign_id.in_(campaign_ids), opp.c.status == "won")
        .group_by(opp.c.campaign_id))}
    budgets = {r.id: (r.budget, r.currency) for r in await session.execute(
        select(c.c.id, c.c.budget, c.c.currency).where(c.c.tenant_id == tenant_id, c.c.id.in_(campaign_ids)))}
    out = {}
    for cid in campaign_ids:
        budget, currency = budgets.get(cid, (Decimal(0), "USD"))
        count_won, revenue = won.get(cid, (0, Decimal(0)))
        n_leads = int(leads.get(cid, 0))
        out[cid] = CampaignResults(
            members_reached=int(members.get(cid, 0)), leads_created=n_leads, opportunities_won=int(count_won),
            revenue_won=round_money(Decimal(revenue), currency),
            cost_per_lead=round_money(Decimal(budget) / n_leads, currency) if n_leads else None,
            return_on_investment=((Decimal(revenue) - budget) / budget).quantize(Decimal("0.0001")) if budget else None)
    return out
