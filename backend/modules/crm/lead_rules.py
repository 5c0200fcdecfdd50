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
from typing import Any

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


class LeadRouter:
    """``route_lead`` for many leads at once (imports): the rules, the teams and every member's open
    leads are read once, and the counts move forward in memory as leads are given out, so the
    result is what routing the leads one by one would give."""

    def __init__(self, rules: list[LeadAssignmentRule], teams: dict[uuid.UUID, list[uuid.UUID]],
                 members: dict[uuid.UUID, tuple[str, Any, int]]) -> None:
        self.rules, self.teams, self.members = rules, teams, members  # member -> (role, joined, open leads)

    @classmethod
    async def load(cls, session: AsyncSession) -> LeadRouter:
        from backend.modules.platform.models import Membership

        m, lead = Membership.__table__, Lead.__table__
        open_leads = (select(func.count()).select_from(lead).where(
            lead.c.tenant_id == m.c.tenant_id, lead.c.owner_id == m.c.user_id,
            lead.c.status.in_(("new", "contacted"))).scalar_subquery())
        members = {r.user_id: (r.role, r.created_at, r.n) for r in await session.execute(
            select(m.c.user_id, m.c.role, m.c.created_at, open_leads.label("n")).where(
                m.c.tenant_id == _tenant_id(session), m.c.status == "active"))}
        rules = await list_rules(session)
        team_ids = [r.team_id for r in rules if r.team_id is not None]
        teams = await platform.team_members(session, team_ids=team_ids) if team_ids else {}
        return cls(rules, teams, members)

    def _least_busy(self, among: list[uuid.UUID]) -> uuid.UUID | None:
        candidates = [u for u in among if u in self.members]
        if not candidates:
            return None
        chosen = min(candidates, key=lambda u: (self.members[u][2], self.members[u][1], str(u)))
        role, joined, n = self.members[chosen]
        self.members[chosen] = (role, joined, n + 1)
        return chosen

    def route(self, *, source: str | None, email: str | None, campaign_id: uuid.UUID | None) -> uuid.UUID | None:
        for rule in self.rules:
            if rule.source is not None and (source or "").strip().lower() != rule.source:
                continue
            if rule.email_domain is not None and not _domain_matches(email, rule.email_domain):
                continue
            if rule.campaign_id is not None and campaign_id != rule.campaign_id:
                continue
            if rule.user_id is not None:
                if rule.user_id in self.members:
                    return self._least_busy([rule.user_id])
                continue
            chosen = self._least_busy(self.teams.get(rule.team_id, []))  # type: ignore[arg-type]
            if chosen is not None:
                return chosen
        return self._least_busy([u for u, (role, _, _) in self.members.items() if role == "sales"])


async def list_rules(session: AsyncSession) -> list[LeadAssignmentRule]:
    rows = await session.execute(select(LeadAssignmentRule).where(LeadAssignmentRule.tenant_id == _tenant_id(session))
                                 .order_by(LeadAssignmentRule.position, LeadAssignmentRule.created_at))
    return list(rows.scalars())


UNCHANGED: Any = object()  # an update argument left out


def _clean_conditions(source: str | None, email_domain: str | None) -> tuple[str | None, str | None]:
    source = optional_text(source, field="source", max_length=100)
    source = source.lower() if source else None
    if email_domain is not None and email_domain.strip():
        email_domain = email_domain.strip().lower().removeprefix("@")
        if not DOMAIN_RE.match(email_domain):
            raise DomainError("INVALID_DOMAIN", "Give a domain such as example.com.", "emailDomain")
    else:
        email_domain = None
    return source, email_domain


async def _check_rule(session: AsyncSession, rule: LeadAssignmentRule, *, check_campaign: bool,
                      check_user: bool, check_team: bool) -> None:
    from backend.modules.crm.leads import get_campaign

    if rule.source is None and rule.email_domain is None and rule.campaign_id is None:
        raise DomainError("NO_CONDITION", "Give at least one of source, emailDomain and campaignId.", "source")
    if (rule.user_id is None) == (rule.team_id is None):
        raise DomainError("ONE_ASSIGNEE", "Assign to a user or to a team (exactly one).", "userId")
    if check_campaign and rule.campaign_id is not None:
        await get_campaign(session, campaign_id=rule.campaign_id)
    if check_user and rule.user_id is not None and not await platform.is_member(session, user_id=rule.user_id):
        raise DomainError("NOT_FOUND", "The user must be a member of this tenant.", "userId")
    if check_team and rule.team_id is not None:
        await platform.get_team(session, team_id=rule.team_id)


async def _lock_rules(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """Serialise rule edits of a tenant so positions stay the sequence 1..n; returns n."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"crm_lead_rule:{tenant_id}"))))
    rule_table = LeadAssignmentRule.__table__
    return await session.scalar(select(func.coalesce(func.max(rule_table.c.position), 0))
                                .where(rule_table.c.tenant_id == tenant_id))


async def _shift(session: AsyncSession, tenant_id: uuid.UUID, *, start: int, stop: int | None, by: int) -> None:
    """Move the rules at positions start..stop (inclusive; stop None = to the end) by ``by``."""
    rule_table = LeadAssignmentRule.__table__
    where = [rule_table.c.tenant_id == tenant_id, rule_table.c.position >= start]
    if stop is not None:
        where.append(rule_table.c.position <= stop)
    await session.execute(update(rule_table).where(*where).values(position=rule_table.c.position + by))


async def create_rule(session: AsyncSession, *, name: str, position: int | None = None, source: str | None = None,
                      email_domain: str | None = None, campaign_id: uuid.UUID | None = None,
                      user_id: uuid.UUID | None = None, team_id: uuid.UUID | None = None) -> LeadAssignmentRule:
    """Add a rule at ``position`` (1 = first; the rules from there on move down) or last."""
    await platform.ensure_module_enabled(session, "crm")
    source, email_domain = _clean_conditions(source, email_domain)
    rule = LeadAssignmentRule(name=required_text(name, field="name", max_length=100), source=source,
                              email_domain=email_domain, campaign_id=campaign_id, user_id=user_id, team_id=team_id)
    await _check_rule(session, rule, check_campaign=True, check_user=True, check_team=True)
    if position is not None and position < 1:
        raise DomainError("INVALID_POSITION", "Positions start at 1.", "position")
    tenant_id = _tenant_id(session)
    last = await _lock_rules(session, tenant_id)
    if position is None or position > last:
        position = last + 1
    else:
        await _shift(session, tenant_id, start=position, stop=None, by=1)
    rule.position = position
    session.add(rule)
    await session.flush()
    return rule


async def update_rule(session: AsyncSession, *, rule_id: uuid.UUID, name: Any = UNCHANGED, position: Any = UNCHANGED,
                      source: Any = UNCHANGED, email_domain: Any = UNCHANGED, campaign_id: Any = UNCHANGED,
                      user_id: Any = UNCHANGED, team_id: Any = UNCHANGED) -> LeadAssignmentRule:
    """Change a rule: arguments left out stay; a null condition is removed; giving a user replaces
    the team and the other way round; a new position moves the rules in between."""
    await platform.ensure_module_enabled(session, "crm")
    tenant_id = _tenant_id(session)
    last = await _lock_rules(session, tenant_id)
    rule = (await session.execute(select(LeadAssignmentRule).where(
        LeadAssignmentRule.tenant_id == tenant_id, LeadAssignmentRule.id == rule_id))).scalar_one_or_none()
    if rule is None:
        raise DomainError("NOT_FOUND", "No lead assignment rule with this ID.", "id")
    if name is not UNCHANGED:
        rule.name = required_text(name, field="name", max_length=100)
    if source is not UNCHANGED:
        rule.source = _clean_conditions(source, None)[0]
    if email_domain is not UNCHANGED:
        rule.email_domain = _clean_conditions(None, email_domain)[1]
    if campaign_id is not UNCHANGED:
        rule.campaign_id = campaign_id
    if user_id is not UNCHANGED:
        rule.user_id = user_id
        if user_id is not None and team_id is UNCHANGED:
            rule.team_id = None
    if team_id is not UNCHANGED:
        rule.team_id = team_id
        if team_id is not None and user_id is UNCHANGED:
            rule.user_id = None
    with session.no_autoflush:  # check the references before the changed rule reaches the database
        await _check_rule(session, rule, check_campaign=campaign_id is not UNCHANGED,
                          check_user=user_id is not UNCHANGED, check_team=team_id is not UNCHANGED)
    if position is not UNCHANGED and position is not None:
        if position < 1:
            raise DomainError("INVALID_POSITION", "Positions start at 1.", "position")
        target, current = min(position, last), rule.position
        if target < current:
            await _shift(session, tenant_id, start=target, stop=current - 1, by=1)
        elif target > current:
            await _shift(session, tenant_id, start=current + 1, stop=target, by=-1)
        rule.position = target
    await session.flush()
    return rule


async def delete_rule(session: AsyncSession, *, rule_id: uuid.UUID) -> None:
    await platform.ensure_module_enabled(session, "crm")
    tenant_id = _tenant_id(session)
    rule_table = LeadAssignmentRule.__table__
    await _lock_rules(session, tenant_id)
    position = await session.scalar(delete(rule_table).where(rule_table.c.tenant_id == tenant_id,
                                                             rule_table.c.id == rule_id)
                                    .returning(rule_table.c.position))
    if position is None:
        raise DomainError("NOT_FOUND", "No lead assignment rule with this ID.", "id")
    await _shift(session, tenant_id, start=position + 1, stop=None, by=-1)
