"""Lead assignment: rules first, then the round robin.

A new lead without an owner goes through the tenant's rules in order of position. A rule holds when
all of its conditions do (``source`` equals the lead's source, ignoring case; ``email_domain`` is the
domain of the lead's email or a parent of it; ``campaign_id`` is the lead's campaign). The first rule
that holds gives the lead to its user, or to the member of its team with the fewest open leads
(new or contacted; the longest-standing member first on a tie). A rule whose user has left the
tenant, or whose team has no active member, is passed over. When no rule gives the lead an owner,
the round robin over all sales members does, and failing that the lead's creator.
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.errors import DomainError
from backend.core.validation import optional_text, required_text
from backend.modules.crm.models import Lead, LeadAssignmentRule
from backend.modules.platform import service as platform

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _tenant_id(session: AsyncSession) -> uuid.UUID:
    return session.info["tenant_id"]


async def next_assignee(session: AsyncSession, *, among: list[uuid.UUID] | None = None) -> uuid.UUID | None:
    """The active member with the fewest open leads: among ``among`` (a team) or, without it, among
    the sales members. None when there is nobody."""
    from backend.modules.platform.models import Membership

    m, lead = Membership.__table__, Lead.__table__
    open_leads = (select(func.count()).select_from(lead).where(
        lead.c.tenant_id == m.c.tenant_id, lead.c.owner_id == m.c.user_id, lead.c.status.in_(("new", "contacted")))
        .scalar_subquery())
    who = m.c.user_id.in_(among) if among is not None else m.c.role == "sales"
    return await session.scalar(select(m.c.user_id).where(m.c.tenant_id == _tenant_id(session), who,
                                                          m.c.status == "active")
                                .order_by(open_leads, m.c.created_at, m.c.user_id).limit(1))


def _domain_matches(email: str | None, domain: str) -> bool:
    if not email or "@" not in email:
        return False
    host = email.rpartition("@")[2].lower()
    return host == domain or host.endswith(f".{domain}")


async def route_lead(session: AsyncSession, *, source: str | None, email: str | None,
                     campaign_id: uuid.UUID | None) -> uuid.UUID | None:
    """The owner the rules (then the round robin) give a new lead; see the module docstring."""
    rules = await list_rules(session)
    for rule in rules:
        if rule.source is not None and (source or "").strip().lower() != rule.source:
            continue
        if rule.email_domain is not None and not _domain_matches(email, rule.email_domain):
            continue
        if rule.campaign_id is not None and campaign_id != rule.campaign_id:
            continue
        if rule.user_id is not None:
            if await platform.is_member(session, user_id=rule.user_id):
                return rule.user_id
            continue
        members = (await platform.team_members(session, team_ids=[rule.team_id]))[rule.team_id]  # type: ignore[list-item]
        chosen = await next_assignee(session, among=members) if members else None
        if chosen is not None:
            return chosen
    return await next_assignee(session)


async def list_rules(session: AsyncSession) -> list[LeadAssignmentRule]:
    rows = await session.execute(select(LeadAssignmentRule).where(LeadAssignmentRule.tenant_id == _tenant_id(session))
                                 .order_by(LeadAssignmentRule.position, LeadAssignmentRule.created_at))
    return list(rows.scalars())


async def create_rule(session: AsyncSession, *, name: str, position: int | None = None, source: str | None = None,
                      email_domain: str | None = None, campaign_id: uuid.UUID | None = None,
                      user_id: uuid.UUID | None = None, team_id: uuid.UUID | None = None) -> LeadAssignmentRule:
    """Add a rule at ``position`` (1 = first; the rules from there on move down) or last."""
    from backend.modules.crm.leads import get_campaign

    await platform.ensure_module_enabled(session, "crm")
    name = required_text(name, field="name", max_length=100)
    source = optional_text(source, field="source", max_length=100)
    source = source.lower() if source else None
    if email_domain is not None and email_domain.strip():
        email_domain = email_domain.strip().lower().removeprefix("@")
        if not DOMAIN_RE.match(email_domain):
            raise DomainError("INVALID_DOMAIN", "Give a domain such as example.com.", "emailDomain")
    else:
        email_domain = None
    if source is None and email_domain is None and campaign_id is None:
        raise DomainError("NO_CONDITION", "Give at least one of source, emailDomain and campaignId.", "source")
    if (user_id is None) == (team_id is None):
        raise DomainError("ONE_ASSIGNEE", "Assign to a user or to a team (exactly one).", "userId")
    if campaign_id is not None:
        await get_campaign(session, campaign_id=campaign_id)
    if user_id is not None and not await platform.is_member(session, user_id=user_id):
        raise DomainError("NOT_FOUND", "The user must be a member of this tenant.", "userId")
    if team_id is not None:
        await platform.get_team(session, team_id=team_id)
    tenant_id = _tenant_id(session)
    rule_table = LeadAssignmentRule.__table__
    # Serialise rule edits of a tenant so positions stay a sequence.
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"crm_lead_rule:{tenant_id}"))))
    last = await session.scalar(select(func.coalesce(func.max(rule_table.c.position), 0))
                                .where(rule_table.c.tenant_id == tenant_id))
    if position is None or position > last:
        position = last + 1
    elif position < 1:
        raise DomainError("INVALID_POSITION", "Positions start at 1.", "position")
    else:
        await session.execute(update(rule_table).where(rule_table.c.tenant_id == tenant_id,
                                                       rule_table.c.position >= position)
                              .values(position=rule_table.c.position + 1))
    rule = LeadAssignmentRule(name=name, position=position, source=source, email_domain=email_domain,
                              campaign_id=campaign_id, user_id=user_id, team_id=team_id)
    session.add(rule)
    await session.flush()
    return rule


async def delete_rule(session: AsyncSession, *, rule_id: uuid.UUID) -> None:
    await platform.ensure_module_enabled(session, "crm")
    tenant_id = _tenant_id(session)
    rule_table = LeadAssignmentRule.__table__
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"crm_lead_rule:{tenant_id}"))))
    position = await session.scalar(delete(rule_table).where(rule_table.c.tenant_id == tenant_id,
                                                             rule_table.c.id == rule_id)
                                    .returning(rule_table.c.position))
    if position is None:
        raise DomainError("NOT_FOUND", "No lead assignment rule with this ID.", "id")
    await session.execute(update(rule_table).where(rule_table.c.tenant_id == tenant_id,
                                                   rule_table.c.position > position)
                          .values(position=rule_table.c.position - 1))
