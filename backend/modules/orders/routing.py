"""Submission routing: which member or team reviews a submitted order, and whether it is approved
at once.

Rules are tried by position; the first whose conditions all hold decides (conditions left empty
match anything): ``channel``, ``customer_tag`` (one of the customer's tags), ``region`` (the
shipping address's country, region, province or city, ignoring case), and the order total within
``min_total``..``max_total``. It assigns the order to its member, or to the member of its team with
the fewest orders waiting for review, and approves it when ``auto_approve`` is set. Without a
matching rule the order waits unassigned in the review queue.

With finance on, an order of a customer with overdue invoices, or one that would take them over
their credit limit, is never approved automatically: it waits for review.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.ids import new_id
from backend.core.money import parse_amount
from backend.core.validation import optional_text, required_text
from backend.modules.crm import service as crm
from backend.modules.orders.models import CHANNELS, Order, RoutingRule
from backend.modules.platform import service as platform

_rule = RoutingRule.__table__
_order = Order.__table__


@dataclass(frozen=True)
class Decision:
    assignee_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    approve: bool = False
    note: str | None = None


def _region_matches(address: dict[str, Any] | None, region: str) -> bool:
    if not address:
        return False
    wanted = region.strip().lower()
    return any(str(address.get(key) or "").strip().lower() == wanted
               for key in ("country", "region", "province", "state", "city"))


async def _least_busy(session: AsyncSession, members: list[uuid.UUID]) -> uuid.UUID | None:
    if not members:
        return None
    counts = {m: 0 for m in members}
    for assignee, n in await session.execute(select(_order.c.assignee_id, func.count()).where(
            _order.c.tenant_id == session.info["tenant_id"], _order.c.status == "submitted",
            _order.c.assignee_id.in_(members)).group_by(_order.c.assignee_id)):
        counts[assignee] = n
    return min(members, key=lambda m: (counts[m], str(m)))


async def route(session: AsyncSession, order: Order) -> Decision:
    rules = (await session.execute(select(RoutingRule).where(RoutingRule.tenant_id == order.tenant_id)
                                   .order_by(RoutingRule.position, RoutingRule.created_at))).scalars().all()
    if not rules:
        return Decision()
    customer = await crm.get_customer(session, customer_id=order.customer_id)
    tags = {t.lower() for t in customer.tags or []}
    for rule in rules:
        if rule.channel is not None and rule.channel != order.channel:
            continue
        if rule.customer_tag is not None and rule.customer_tag not in tags:
            continue
        if rule.region is not None and not _region_matches(order.shipping_address, rule.region):
            continue
        if rule.min_total is not None and order.total < rule.min_total:
            continue
        if rule.max_total is not None and order.total > rule.max_total:
            continue
        assignee, team = rule.assignee_id, rule.team_id
        if team is not None:
            members = (await platform.team_members(session, team_ids=[team]))[team]
            assignee = await _least_busy(session, members)
        elif assignee is not None and not await platform.is_member(session, user_id=assignee):
            assignee = None
        approve = rule.auto_approve
        if approve and await platform.is_module_enabled(session, "finance"):
            from backend.modules.finance import service as finance

            if not (await finance.standing(session, customer_id=order.customer_id)).allows(order.total):
                approve = False  # overdue invoices or over the credit limit: a person reviews it
        return Decision(assignee_id=assignee, team_id=team, approve=approve,
                        note=f"Rule: {rule.name}" if approve else None)
    return Decision()


# --- managing rules -----------------------------------------------------------------------------------


@dataclass
class RuleFields:
    name: str
    position: int | None = None
    channel: str | None = None
    customer_tag: str | None = None
    region: str | None = None
    min_total: Any = None
    max_total: Any = None
    assignee_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    auto_approve: bool = False


async def create_rule(session: AsyncSession, *, values: RuleFields, currency: str) -> RoutingRule:
    """Add a rule at ``position`` (the end by default; later rules move down)."""
    await platform.ensure_module_enabled(session, "orders")
    tenant_id = session.info["tenant_id"]
    name = required_text(values.name, field="name", max_length=100)
    if values.channel is not None and values.channel not in CHANNELS:
        raise DomainError("INVALID_CHANNEL", "Channel is WEB, PHONE, EMAIL, API or MARKETPLACE.", "channel")
    low = parse_amount(values.min_total, currency=currency, field="minTotal") if values.min_total is not None else None
    high = parse_amount(values.max_total, currency=currency, field="maxTotal") if values.max_total is not None else None
    if low is not None and high is not None and high < low:
        raise DomainError("INVALID_RANGE", "maxTotal is below minTotal.", "maxTotal")
    if values.assignee_id is not None and values.team_id is not None:
        raise DomainError("ONE_ASSIGNEE", "Assign to a member or to a team, not both.", "teamId")
    if values.assignee_id is not None and not await platform.is_member(session, user_id=values.assignee_id):
        raise DomainError("NOT_FOUND", "The assignee must be a member of this tenant.", "assigneeId")
    if values.team_id is not None:
        await platform.get_team(session, team_id=values.team_id)
    count = int(await session.scalar(select(func.count()).select_from(_rule).where(_rule.c.tenant_id == tenant_id))
                or 0)
    position = count + 1 if values.position is None else max(1, min(values.position, count + 1))
    await session.execute(update(_rule).where(_rule.c.tenant_id == tenant_id, _rule.c.position >= position)
                          .values(position=_rule.c.position + 1))
    rule = RoutingRule(id=new_id(), name=name, position=position, channel=values.channel,
                       customer_tag=(values.customer_tag or "").strip().lower() or None,
                       region=optional_text(values.region, field="region", max_length=100), min_total=low,
                       max_total=high, assignee_id=values.assignee_id, team_id=values.team_id,
                       auto_approve=values.auto_approve, created_at=utcnow())
    session.add(rule)
    await session.flush()
    return rule


async def delete_rule(session: AsyncSession, *, rule_id: uuid.UUID) -> None:
    await platform.ensure_module_enabled(session, "orders")
    tenant_id = session.info["tenant_id"]
    position = (await session.execute(_rule.delete().where(_rule.c.tenant_id == tenant_id, _rule.c.id == rule_id)
                                      .returning(_rule.c.position))).scalar_one_or_none()
    if position is None:
        raise DomainError("NOT_FOUND", "No routing rule with this ID.", "id")
    await session.execute(update(_rule).where(_rule.c.tenant_id == tenant_id, _rule.c.position > position)
                          .values(position=_rule.c.position - 1))

