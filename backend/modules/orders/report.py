"""The order report, in SQL. Definitions (all over orders submitted in the period, optionally of one
channel or customer; drafts never count):

* count and value (grand total) by status;
* cycle time: hours from submission to completion, average and 90th percentile, of completed orders;
* review time: hours from submission to approval, average, of approved orders;
* on-time rate: of delivered orders with a requested delivery date, the share delivered on or
  before that date;
* perfect order rate: of completed orders, the share shipped complete (never partially shipped),
  on time (or with no requested date) and not returned;
* sales (orders not rejected or cancelled): by period (day, week or month of submission), by
  product (quantity and net value: line subtotal less discount), by customer and by channel;
* open backorders: lines of open orders still waiting for stock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import and_, case, exists, extract, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.errors import DomainError
from backend.modules.orders.models import Order, OrderEvent, OrderLine, Return
from backend.modules.platform import service as platform

_order = Order.__table__
_line = OrderLine.__table__
_event = OrderEvent.__table__
_return = Return.__table__
PERIODS = ("day", "week", "month")
NOT_SALES = ("draft", "rejected", "cancelled")


@dataclass
class OrderReport:
    currency: str
    count_by_status: list[tuple[str, int, Decimal]]
    average_cycle_hours: Decimal | None
    p90_cycle_hours: Decimal | None
    average_review_hours: Decimal | None
    on_time_rate: Decimal | None
    perfect_order_rate: Decimal | None
    sales_by_period: list[tuple[date, int, Decimal]]
    sales_by_product: list[tuple[uuid.UUID, str, Decimal, Decimal]]  # product, sku, quantity, net value
    sales_by_customer: list[tuple[uuid.UUID, int, Decimal]]
    sales_by_channel: list[tuple[str, int, Decimal]]
    open_backorders: list[tuple[uuid.UUID, str, str, Decimal]]  # order, number, sku, quantity


def _hours(seconds: object) -> Decimal | None:
    return None if seconds is None else (Decimal(str(seconds)) / 3600).quantize(Decimal("0.01"))


def _rate(part: object, whole: object) -> Decimal | None:
    return None if not whole else (Decimal(int(part or 0)) / Decimal(int(whole))).quantize(Decimal("0.0001"))


async def order_report(session: AsyncSession, *, since: datetime | None = None, until: datetime | None = None,
                       channel: str | None = None, customer_id: uuid.UUID | None = None, period: str = "month",
                       limit: int = 20) -> OrderReport:
    await platform.ensure_module_enabled(session, "orders")
    if period not in PERIODS:
        raise DomainError("INVALID_PERIOD", "Period is DAY, WEEK or MONTH.", "period")
    if since and until and until <= since:
        raise DomainError("INVALID_PERIOD", "The period must end after it starts.", "to")
    tenant_id = session.info["tenant_id"]
    tenant = await platform.get_tenant(session, tenant_id=tenant_id)
    scope = [_order.c.tenant_id == tenant_id, _order.c.submitted_at.is_not(None)]
    if since:
        scope.append(_order.c.submitted_at >= since)
    if until:
        scope.append(_order.c.submitted_at < until)
    if channel:
        scope.append(_order.c.channel == channel)
    if customer_id:
        scope.append(_order.c.customer_id == customer_id)
    where = and_(*scope)
    sales = and_(where, _order.c.status.not_in(NOT_SALES))

    by_status = [(r.status, r.n, r.value) for r in await session.execute(
        select(_order.c.status, func.count().label("n"), func.sum(_order.c.total).label("value"))
        .where(where).group_by(_order.c.status).order_by(_order.c.status))]

    cycle = extract("epoch", _order.c.completed_at - _order.c.submitted_at)
    review = extract("epoch", _order.c.approved_at - _order.c.submitted_at)
    partially = exists().where(_event.c.tenant_id == _order.c.tenant_id, _event.c.order_id == _order.c.id,
                               _event.c.to_status == "partially_shipped")
    returned = exists().where(_return.c.tenant_id == _order.c.tenant_id, _return.c.order_id == _order.c.id,
                              _return.c.status != "cancelled")
    zone = tenant.timezone if tenant else "UTC"  # "on time" is judged by the tenant's calendar
    on_time = func.date(func.timezone(zone, _order.c.delivered_at)) <= _order.c.requested_delivery_date
    completed = _order.c.completed_at.is_not(None)
    stats = (await session.execute(select(
        func.avg(case((completed, cycle))).label("cycle_avg"),
        func.percentile_cont(0.9).within_group(cycle).filter(completed).label("cycle_p90"),
        func.avg(case((_order.c.approved_at.is_not(None), review))).label("review_avg"),
        func.count().filter(_order.c.delivered_at.is_not(None), _order.c.requested_delivery_date.is_not(None))
        .label("dated"),
        func.count().filter(_order.c.delivered_at.is_not(None), on_time).label("on_time"),
        func.count().filter(completed).label("completed"),
        func.count().filter(completed, ~partially, ~returned,
                            (_order.c.requested_delivery_date.is_(None)) | on_time).label("perfect"),
    ).where(where))).one()

    bucket = func.date_trunc(period, func.timezone(zone, _order.c.submitted_at))
    by_period = [(r.period.date(), r.n, r.value) for r in await session.execute(
        select(bucket.label("period"), func.count().label("n"), func.sum(_order.c.total).label("value"))
        .where(sales).group_by(bucket).order_by(bucket))]
    same_order = and_(_line.c.tenant_id == _order.c.tenant_id, _line.c.order_id == _order.c.id)
    net = func.sum(_line.c.line_subtotal - _line.c.line_discount)
    by_product = [(r.product_id, r.sku, r.quantity, r.value) for r in await session.execute(
        select(_line.c.product_id, func.min(_line.c.sku).label("sku"),
               func.sum(_line.c.quantity - _line.c.cancelled).label("quantity"), net.label("value"))
        .join(_order, same_order).where(sales).group_by(_line.c.product_id)
        .order_by(net.desc(), _line.c.product_id).limit(limit))]
    value = func.sum(_order.c.total)
    by_customer = [(r.customer_id, r.n, r.value) for r in await session.execute(
        select(_order.c.customer_id, func.count().label("n"), value.label("value")).where(sales)
        .group_by(_order.c.customer_id).order_by(value.desc(), _order.c.customer_id).limit(limit))]
    by_channel = [(r.channel, r.n, r.value) for r in await session.execute(
        select(_order.c.channel, func.count().label("n"), value.label("value")).where(sales)
        .group_by(_order.c.channel).order_by(value.desc(), _order.c.channel))]
    waiting = _line.c.quantity - _line.c.cancelled - _line.c.shipped - _line.c.reserved
    backorders = [(r.order_id, r.number, r.sku, r.quantity) for r in await session.execute(
        select(_line.c.order_id, _order.c.number, _line.c.sku, waiting.label("quantity")).join(_order, same_order)
        .where(where, _line.c.stocked, waiting > 0,
               _order.c.status.in_(("partially_allocated", "partially_shipped"))
               | ((_order.c.status == "on_hold") & (_order.c.held_from == "partially_allocated")))
        .order_by(_order.c.submitted_at, _line.c.position))]
    return OrderReport(
        currency=tenant.base_currency if tenant else "USD", count_by_status=by_status,
        average_cycle_hours=_hours(stats.cycle_avg), p90_cycle_hours=_hours(stats.cycle_p90),
        average_review_hours=_hours(stats.review_avg), on_time_rate=_rate(stats.on_time, stats.dated),
        perfect_order_rate=_rate(stats.perfect, stats.completed), sales_by_period=by_period,
        sales_by_product=by_product, sales_by_customer=by_customer, sales_by_channel=by_channel,
        open_backorders=backorders)
