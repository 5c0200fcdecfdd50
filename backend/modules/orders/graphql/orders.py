"""``orders`` and the order mutations: create, edit, the review transitions, allocation, fulfillment,
shipping and delivery; tax rates and routing rules."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy import select
from strawberry.scalars import JSON
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.api.errors import UserError, run_mutation
from backend.api.gates import gated_field, gated_mutation
from backend.api.money import MoneyType
from backend.api.relay import Connection, NodeSource, decode_id, keyset_page, page_args, statement_template
from backend.core.db import BATCH_TENANT
from backend.core.ids import from_global_id, to_global_id
from backend.modules.crm.graphql.customers import customer_loader
from backend.modules.crm.graphql.types import CustomerType
from backend.modules.orders import service as orders
from backend.modules.orders.graphql.types import (
    FulfillmentType,
    OrderChannel,
    OrderStatus,
    OrderType,
    ReturnStatus,
    ReturnType,
    load_fulfillments,
    load_order_lines,
    load_orders,
    load_returns,
)
from backend.modules.orders.models import Order, RoutingRule, TaxRate
from backend.modules.platform import service as platform

if TYPE_CHECKING:
    from backend.modules.inventory.graphql.types import ProductNode

_order = Order.__table__
_rule = RoutingRule.__table__
_tax = TaxRate.__table__


@strawberry.input
class OrderFilter:
    status: OrderStatus | None = None
    statuses: list[OrderStatus] | None = None
    customer_id: strawberry.ID | None = None
    channel: OrderChannel | None = None
    assigned_to_me: bool = strawberry.field(default=False, description="The review queue routed to you.")
    number: str | None = strawberry.field(default=None, description="SO-000123, or its start.")
    created_after: datetime | None = None
    created_before: datetime | None = None


@strawberry.enum
class OrderSortField(Enum):
    CREATED_AT = "created_at"
    NUMBER = "number"
    TOTAL = "total"


@strawberry.input
class OrderSort:
    field: OrderSortField = OrderSortField.CREATED_AT
    descending: bool = True


@strawberry.input
class OrderLineInput:
    product_id: strawberry.ID
    quantity: Decimal
    unit_price: Decimal | None = strawberry.field(default=None, description="Default: the customer's price list, "
                                                                            "else the list price.")
    discount_percent: Decimal | None = None
    discount_amount: Decimal | None = None
    tax_rate: Decimal | None = strawberry.field(default=None, description="Percent; default: the rate of the "
                                                                          "product's tax category.")


@strawberry.input
class OrderCreateInput:
    customer_id: strawberry.ID
    lines: list[OrderLineInput]
    contact_id: strawberry.ID | None = strawberry.field(default=None, description="Default: the primary contact.")
    opportunity_id: strawberry.ID | None = None
    channel: OrderChannel = OrderChannel.WEB
    billing_address: JSON | None = strawberry.field(default=None, description="Default: the customer's.")
    shipping_address: JSON | None = strawberry.field(default=None, description="Default: the customer's.")
    requested_delivery_date: date | None = None
    notes: str | None = None
    shipping_amount: Decimal | None = None
    idempotency_key: str | None = None


@strawberry.input
class OrderUpdateInput:
    id: strawberry.ID
    lines: list[OrderLineInput] | None = strawberry.field(default=None, description="Replace the lines (until the "
                                                                                    "order ships).")
    contact_id: strawberry.ID | None = None
    channel: OrderChannel | None = None
    billing_address: JSON | None = strawberry.UNSET
    shipping_address: JSON | None = strawberry.UNSET
    requested_delivery_date: date | None = strawberry.UNSET
    notes: str | None = strawberry.UNSET
    shipping_amount: Decimal | None = None


@strawberry.input
class OrderIdInput:
    id: strawberry.ID
    note: str | None = None


@strawberry.input
class OrderReasonInput:
    id: strawberry.ID
    reason: str | None = None


@strawberry.type
class OrderPayload:
    order: OrderType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class FulfillmentLineInput:
    line_id: strawberry.ID
    quantity: Decimal


@strawberry.input
class FulfillmentCreateInput:
    order_id: strawberry.ID
    warehouse_id: strawberry.ID | None = None
    lines: list[FulfillmentLineInput] | None = strawberry.field(default=None, description="Default: everything held.")


@strawberry.type
class FulfillmentPayload:
    fulfillment: FulfillmentType | None = strawberry.field(default=None, description="The first (or only) one.")
    fulfillments: list[FulfillmentType] = strawberry.field(default_factory=list, description="One per warehouse.")
    order: OrderType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class ShipmentShipInput:
    fulfillment_id: strawberry.ID
    carrier: str
    tracking_number: str
    tracking_url: str | None = strawberry.field(default=None, description="Default: the carrier's tracking page "
                                                                          "(SF Express, EMS, DHL, UPS, FedEx, USPS).")


@strawberry.input
class ShipmentDeliverInput:
    fulfillment_id: strawberry.ID


@strawberry.input
class ReturnLineInput:
    line_id: strawberry.ID
    quantity: Decimal


@strawberry.input
class ReturnCreateInput:
    order_id: strawberry.ID
    lines: list[ReturnLineInput]
    reason: str


@strawberry.input
class ReturnReceiveInput:
    id: strawberry.ID
    warehouse_id: strawberry.ID | None = strawberry.field(default=None, description="Default: the default warehouse.")
    scrap_line_ids: list[strawberry.ID] = strawberry.field(default_factory=list,
                                                           description="Order lines written off, not restocked.")


@strawberry.type
class ReturnPayload:
    return_: ReturnType | None = strawberry.field(default=None, name="return")
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(name="OrderTaxRate")
class TaxRateType:
    tax_category: str
    rate: Decimal


@strawberry.input
class OrderTaxRateSetInput:
    tax_category: str
    rate: Decimal | None = strawberry.field(description="Percent; null removes the rate.")


@strawberry.type
class OrderTaxRatePayload:
    tax_rates: list[TaxRateType] = strawberry.field(default_factory=list)
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(name="OrderRoutingRule")
class RoutingRuleType:
    id: strawberry.ID
    name: str
    position: int
    channel: OrderChannel | None
    customer_tag: str | None
    region: str | None
    min_total: Decimal | None
    max_total: Decimal | None
    auto_approve: bool
    assignee_id: strawberry.ID | None
    team_id: strawberry.ID | None

    @classmethod
    def from_row(cls, r) -> RoutingRuleType:  # type: ignore[no-untyped-def]
        return cls(id=strawberry.ID(to_global_id("OrderRoutingRule", r.id)), name=r.name, position=r.position,
                   channel=OrderChannel(r.channel) if r.channel else None, customer_tag=r.customer_tag,
                   region=r.region, min_total=r.min_total, max_total=r.max_total, auto_approve=r.auto_approve,
                   assignee_id=strawberry.ID(to_global_id("User", r.assignee_id)) if r.assignee_id else None,
                   team_id=strawberry.ID(to_global_id("Team", r.team_id)) if r.team_id else None)


@strawberry.input
class OrderRoutingRuleCreateInput:
    name: str
    position: int | None = None
    channel: OrderChannel | None = None
    customer_tag: str | None = None
    region: str | None = strawberry.field(default=None, description="Shipping address country, region or city.")
    min_total: Decimal | None = None
    max_total: Decimal | None = None
    assignee_id: strawberry.ID | None = None
    team_id: strawberry.ID | None = None
    auto_approve: bool = False


@strawberry.input
class OrderRoutingRuleDeleteInput:
    id: strawberry.ID


@strawberry.type
class OrderRoutingRulePayload:
    routing_rules: list[RoutingRuleType] = strawberry.field(default_factory=list)
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _actor(ctx: RequestContext) -> uuid.UUID | None:
    return ctx.principal.user_id if ctx.principal is not None else None


def _lines(lines: list[OrderLineInput]) -> list[orders.LineInput]:
    return [orders.LineInput(product_id=decode_id(x.product_id, "Product", field=["lines", str(i), "productId"]),
                             quantity=x.quantity, unit_price=x.unit_price, discount_percent=x.discount_percent,
                             discount_amount=x.discount_amount, tax_rate=x.tax_rate) for i, x in enumerate(lines)]


async def _order_payload(ctx: RequestContext, order_id: uuid.UUID) -> OrderPayload:
    return OrderPayload(order=(await load_orders(ctx, [order_id]))[order_id])


async def _held_order_payload(ctx: RequestContext, order: Order) -> OrderPayload:
    """The payload of a mutation that holds the order it made or changed (every column loaded or set): the
    object as written, without reading the row again inside the tenant's write lock. Handlers that change
    orders do it through the same session's objects; tests compare each such payload with a read after it."""
    await ctx.require_tenant_session().flush()
    return OrderPayload(order=OrderType.from_row(order))


async def _transition(info: Info, input: OrderIdInput | OrderReasonInput,
                      call: Callable[[RequestContext, uuid.UUID], Awaitable[Order]]) -> OrderPayload:
    ctx: RequestContext = info.context

    async def operation() -> OrderPayload:
        return await _held_order_payload(ctx, await call(ctx, decode_id(input.id, "Order")))

    return await run_mutation(info, OrderPayload, operation, input)


async def _rules(ctx: RequestContext) -> list[RoutingRuleType]:
    rows = await ctx.require_tenant_session().execute(select(_rule).where(
        _rule.c.tenant_id == ctx.principal.tenant_id).order_by(_rule.c.position))  # type: ignore[union-attr]
    return [RoutingRuleType.from_row(r) for r in rows]


async def _tax_rates(ctx: RequestContext) -> list[TaxRateType]:
    rates = await orders.tax_rates(ctx.require_tenant_session())
    return [TaxRateType(tax_category=k, rate=v.normalize()) for k, v in sorted(rates.items())]


@strawberry.enum
class ReportPeriod(Enum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@strawberry.type
class OrderStatusCount:
    status: OrderStatus
    count: int
    value: MoneyType


@strawberry.type
class OrderSalesPeriod:
    period: date = strawberry.field(description="The first day of the day, week or month.")
    orders: int
    value: MoneyType


@strawberry.type
class OrderSalesByProduct:
    sku: str
    quantity: Decimal
    value: MoneyType = strawberry.field(description="Net: line subtotals less discounts, before tax.")
    product_pk: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def product(self, info: Info) -> Annotated[ProductNode, strawberry.lazy(
            "backend.modules.inventory.graphql.types")] | None:
        from backend.modules.inventory.graphql.types import product_loader

        return await product_loader(info.context).load(self.product_pk)


@strawberry.type
class OrderSalesByCustomer:
    orders: int
    value: MoneyType
    customer_pk: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def customer(self, info: Info) -> CustomerType | None:
        return await customer_loader(info.context).load(self.customer_pk)


@strawberry.type
class OrderSalesByChannel:
    channel: OrderChannel
    orders: int
    value: MoneyType


@strawberry.type
class OrderBackorder:
    order_id: strawberry.ID
    number: str
    sku: str
    quantity: Decimal


@strawberry.type
class OrderReport:
    count_by_status: list[OrderStatusCount]
    average_cycle_time: Decimal | None = strawberry.field(description="Hours from submission to completion.")
    cycle_time_p90: Decimal | None = strawberry.field(description="90th percentile, hours.")
    average_review_time: Decimal | None = strawberry.field(description="Hours from submission to approval.")
    on_time_rate: Decimal | None = strawberry.field(description="Delivered by the requested date (0..1).")
    perfect_order_rate: Decimal | None = strawberry.field(description="Shipped complete, on time, not returned.")
    sales_by_period: list[OrderSalesPeriod]
    sales_by_product: list[OrderSalesByProduct]
    sales_by_customer: list[OrderSalesByCustomer]
    sales_by_channel: list[OrderSalesByChannel]
    open_backorders: list[OrderBackorder]


@strawberry.type
class Query:
    @gated_field(module="orders", permission="orders.read")
    async def orders(self, info: Info, first: int | None = None, after: str | None = None, last: int | None = None,
                     before: str | None = None, filter: OrderFilter | None = None,
                     sort: OrderSort | None = None) -> Connection[OrderType]:
        ctx: RequestContext = info.context
        sort = sort or OrderSort()
        sort_col = _order.c[sort.field.value]
        columns = OrderType.columns(ctx.selection, keep=(sort_col.key, "id"))  # those the query selects
        if filter is None:  # the plain list: its statement is built once per selection
            template = statement_template(("orders", tuple(columns)), lambda: select(*columns).where(
                _order.c.tenant_id == BATCH_TENANT))
            return await keyset_page(ctx.require_tenant_session(), template,
                                     args=page_args(first, after, last, before), id_col=_order.c.id,
                                     sort_col=sort_col, descending=sort.descending, to_node=OrderType.from_row,
                                     params={"batch_tenant": ctx.principal.tenant_id},  # type: ignore[union-attr]
                                     tree=ctx.nodes_tree)
        stmt = select(*columns).where(_order.c.tenant_id == ctx.principal.tenant_id)  # type: ignore[union-attr]
        flt = filter
        if flt.status is not None:
            stmt = stmt.where(_order.c.status == flt.status.value)
        if flt.statuses:
            stmt = stmt.where(_order.c.status.in_([s.value for s in flt.statuses]))
        if flt.customer_id:
            stmt = stmt.where(_order.c.customer_id == decode_id(flt.customer_id, "Customer", field="customerId"))
        if flt.channel is not None:
            stmt = stmt.where(_order.c.channel == flt.channel.value)
        if flt.assigned_to_me:
            stmt = stmt.where(_order.c.assignee_id == _actor(ctx))
        if flt.number:
            stmt = stmt.where(_order.c.number.startswith(flt.number.strip().upper(), autoescape=True))
        if flt.created_after:
            stmt = stmt.where(_order.c.created_at >= flt.created_after)
        if flt.created_before:
            stmt = stmt.where(_order.c.created_at < flt.created_before)
        return await keyset_page(ctx.require_tenant_session(), stmt, args=page_args(first, after, last, before),
                                 id_col=_order.c.id, sort_col=sort_col, descending=sort.descending,
                                 to_node=OrderType.from_row)

    @gated_field(module="orders", permission="orders.read")
    async def returns(self, info: Info, first: int | None = None, after: str | None = None,
                      status: ReturnStatus | None = None) -> Connection[ReturnType]:
        from backend.modules.orders.models import Return

        table = Return.__table__
        ctx: RequestContext = info.context
        stmt = select(table).where(table.c.tenant_id == ctx.principal.tenant_id)  # type: ignore[union-attr]
        if status is not None:
            stmt = stmt.where(table.c.status == status.value)
        return await keyset_page(ctx.require_tenant_session(), stmt, args=page_args(first, after), id_col=table.c.id,
                                 sort_col=table.c.created_at, descending=True, to_node=ReturnType.from_row)

    @gated_field(module="orders", permission="orders.read",
                 description="Order statistics over orders submitted in [from, to); see the README for definitions.")
    async def order_report(self, info: Info, from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
                           to: datetime | None = None, channel: OrderChannel | None = None,
                           customer_id: strawberry.ID | None = None,
                           period: ReportPeriod = ReportPeriod.MONTH) -> OrderReport:
        from backend.modules.orders.report import order_report

        ctx: RequestContext = info.context
        r = await order_report(ctx.require_tenant_session(), since=from_, until=to,
                               channel=channel.value if channel else None, period=period.value,
                               customer_id=decode_id(customer_id, "Customer", field="customerId")
                               if customer_id else None)

        def money(amount: Decimal | None) -> MoneyType:
            return MoneyType.of(amount or Decimal(0), r.currency)

        return OrderReport(
            count_by_status=[OrderStatusCount(status=OrderStatus(s), count=n, value=money(v))
                             for s, n, v in r.count_by_status],
            average_cycle_time=r.average_cycle_hours, cycle_time_p90=r.p90_cycle_hours,
            average_review_time=r.average_review_hours, on_time_rate=r.on_time_rate,
            perfect_order_rate=r.perfect_order_rate,
            sales_by_period=[OrderSalesPeriod(period=p, orders=n, value=money(v)) for p, n, v in r.sales_by_period],
            sales_by_product=[OrderSalesByProduct(sku=sku, quantity=q.normalize(), value=money(v), product_pk=p)
                              for p, sku, q, v in r.sales_by_product],
            sales_by_customer=[OrderSalesByCustomer(orders=n, value=money(v), customer_pk=c)
                               for c, n, v in r.sales_by_customer],
            sales_by_channel=[OrderSalesByChannel(channel=OrderChannel(c), orders=n, value=money(v))
                              for c, n, v in r.sales_by_channel],
            open_backorders=[OrderBackorder(order_id=strawberry.ID(to_global_id("Order", o)), number=num, sku=sku,
                                            quantity=q.normalize()) for o, num, sku, q in r.open_backorders])

    @gated_field(module="orders", permission="orders.read")
    async def order_tax_rates(self, info: Info) -> list[TaxRateType]:
        return await _tax_rates(info.context)

    @gated_field(module="orders", permission="orders.read")
    async def order_routing_rules(self, info: Info) -> list[RoutingRuleType]:
        return await _rules(info.context)


@strawberry.type
class Mutation:
    @gated_mutation(module="orders", permission="orders.write")
    async def order_create(self, info: Info, input: OrderCreateInput) -> OrderPayload:
        ctx: RequestContext = info.context

        async def operation() -> OrderPayload:
            values = orders.OrderFields(
                customer_id=decode_id(input.customer_id, "Customer", field="customerId"), lines=_lines(input.lines),
                contact_id=decode_id(input.contact_id, "Contact", field="contactId") if input.contact_id else None,
                opportunity_id=decode_id(input.opportunity_id, "Opportunity", field="opportunityId")
                if input.opportunity_id else None, channel=input.channel.value,
                billing_address=input.billing_address if isinstance(input.billing_address, dict) else None,
                shipping_address=input.shipping_address if isinstance(input.shipping_address, dict) else None,
                requested_delivery_date=input.requested_delivery_date, notes=input.notes,
                shipping_amount=input.shipping_amount)
            order = await orders.create_order(ctx.require_tenant_session(), values=values, created_by=_actor(ctx),
                                              idempotency_key=input.idempotency_key)
            return await _held_order_payload(ctx, order)

        return await run_mutation(info, OrderPayload, operation, input)

    @gated_mutation(module="orders", permission="orders.write")
    async def order_update(self, info: Info, input: OrderUpdateInput) -> OrderPayload:
        ctx: RequestContext = info.context

        async def operation() -> OrderPayload:
            values = orders.OrderFields(
                lines=_lines(input.lines) if input.lines is not None else None,
                contact_id=decode_id(input.contact_id, "Contact", field="contactId") if input.contact_id else None,
                channel=input.channel.value if input.channel else None, shipping_amount=input.shipping_amount)
            for name in ("billing_address", "shipping_address", "requested_delivery_date", "notes"):
                value = getattr(input, name)
                if value is not strawberry.UNSET:
                    setattr(values, name, value)
                    values.given.add(name)
            order = await orders.update_order(ctx.require_tenant_session(), order_id=decode_id(input.id, "Order"),
                                              values=values, actor_id=_actor(ctx))
            return await _order_payload(ctx, order.id)

        return await run_mutation(info, OrderPayload, operation, input)

    @gated_mutation(module="orders", permission="orders.submit")
    async def order_submit(self, info: Info, input: OrderIdInput) -> OrderPayload:
        return await _transition(info, input, lambda ctx, oid: orders.submit_order(
            ctx.require_tenant_session(), order_id=oid, actor_id=_actor(ctx)))

    @gated_mutation(module="orders", permission="orders.approve")
    async def order_approve(self, info: Info, input: OrderIdInput) -> OrderPayload:
        return await _transition(info, input, lambda ctx, oid: orders.approve_order(
            ctx.require_tenant_session(), order_id=oid, actor_id=_actor(ctx), note=input.note))

    @gated_mutation(module="orders", permission="orders.approve")
    async def order_reject(self, info: Info, input: OrderReasonInput) -> OrderPayload:
        return await _transition(info, input, lambda ctx, oid: orders.reject_order(
            ctx.require_tenant_session(), order_id=oid, reason=input.reason or "", actor_id=_actor(ctx)))

    @gated_mutation(module="orders", permission="orders.write")
    async def order_hold(self, info: Info, input: OrderReasonInput) -> OrderPayload:
        return await _transition(info, input, lambda ctx, oid: orders.hold_order(
            ctx.require_tenant_session(), order_id=oid, reason=input.reason, actor_id=_actor(ctx)))

    @gated_mutation(module="orders", permission="orders.write")
    async def order_release(self, info: Info, input: OrderIdInput) -> OrderPayload:
        return await _transition(info, input, lambda ctx, oid: orders.release_order(
            ctx.require_tenant_session(), order_id=oid, actor_id=_actor(ctx)))

    @gated_mutation(module="orders", permission="orders.write")
    async def order_cancel(self, info: Info, input: OrderReasonInput) -> OrderPayload:
        return await _transition(info, input, lambda ctx, oid: orders.cancel_order(
            ctx.require_tenant_session(), order_id=oid, reason=input.reason, actor_id=_actor(ctx)))

    @gated_mutation(module="orders", permission="orders.fulfill")
    async def order_allocate(self, info: Info, input: OrderIdInput) -> OrderPayload:
        return await _transition(info, input, lambda ctx, oid: orders.allocate_order(
            ctx.require_tenant_session(), order_id=oid, actor_id=_actor(ctx)))

    @gated_mutation(module="orders", permission="orders.fulfill")
    async def fulfillment_create(self, info: Info, input: FulfillmentCreateInput) -> FulfillmentPayload:
        ctx: RequestContext = info.context

        async def operation() -> FulfillmentPayload:
            order_id = decode_id(input.order_id, "Order", field="orderId")
            made = await orders.create_fulfillments(
                ctx.require_tenant_session(), order_id=order_id,
                warehouse_id=decode_id(input.warehouse_id, "Warehouse", field="warehouseId")
                if input.warehouse_id else None,
                lines=[(decode_id(x.line_id, "OrderLine", field=["lines", str(i), "lineId"]), x.quantity)
                       for i, x in enumerate(input.lines)] if input.lines is not None else None)
            found = await load_fulfillments(ctx, [f.id for f in made])
            listed = [found[f.id] for f in made]
            return FulfillmentPayload(fulfillment=listed[0], fulfillments=listed,
                                      order=(await load_orders(ctx, [order_id]))[order_id])

        return await run_mutation(info, FulfillmentPayload, operation, input)

    @gated_mutation(module="orders", permission="orders.fulfill")
    async def shipment_ship(self, info: Info, input: ShipmentShipInput) -> FulfillmentPayload:
        ctx: RequestContext = info.context

        async def operation() -> FulfillmentPayload:
            shipped = await orders.ship(
                ctx.require_tenant_session(), fulfillment_id=decode_id(input.fulfillment_id, "Fulfillment",
                                                                       field="fulfillmentId"),
                carrier=input.carrier, tracking_number=input.tracking_number, tracking_url=input.tracking_url,
                actor_id=_actor(ctx))
            found = (await load_fulfillments(ctx, [shipped.id]))[shipped.id]
            return FulfillmentPayload(fulfillment=found, fulfillments=[found],
                                      order=(await load_orders(ctx, [shipped.order_id]))[shipped.order_id])

        return await run_mutation(info, FulfillmentPayload, operation, input)

    @gated_mutation(module="orders", permission="orders.fulfill")
    async def shipment_deliver(self, info: Info, input: ShipmentDeliverInput) -> FulfillmentPayload:
        ctx: RequestContext = info.context

        async def operation() -> FulfillmentPayload:
            done = await orders.deliver(ctx.require_tenant_session(), actor_id=_actor(ctx),
                                        fulfillment_id=decode_id(input.fulfillment_id, "Fulfillment",
                                                                 field="fulfillmentId"))
            found = (await load_fulfillments(ctx, [done.id]))[done.id]
            return FulfillmentPayload(fulfillment=found, fulfillments=[found],
                                      order=(await load_orders(ctx, [done.order_id]))[done.order_id])

        return await run_mutation(info, FulfillmentPayload, operation, input)

    @gated_mutation(module="orders", permission="orders.write")
    async def return_create(self, info: Info, input: ReturnCreateInput) -> ReturnPayload:
        ctx: RequestContext = info.context

        async def operation() -> ReturnPayload:
            made = await orders.create_return(
                ctx.require_tenant_session(), order_id=decode_id(input.order_id, "Order", field="orderId"),
                reason=input.reason, created_by=_actor(ctx),
                lines=[(decode_id(x.line_id, "OrderLine", field=["lines", str(i), "lineId"]), x.quantity)
                       for i, x in enumerate(input.lines)])
            return ReturnPayload(return_=(await load_returns(ctx, [made.id]))[made.id])

        return await run_mutation(info, ReturnPayload, operation, input)

    @gated_mutation(module="orders", permission="orders.fulfill")
    async def return_receive(self, info: Info, input: ReturnReceiveInput) -> ReturnPayload:
        ctx: RequestContext = info.context

        async def operation() -> ReturnPayload:
            done = await orders.receive_return(
                ctx.require_tenant_session(), return_id=decode_id(input.id, "Return"), actor_id=_actor(ctx),
                warehouse_id=decode_id(input.warehouse_id, "Warehouse", field="warehouseId")
                if input.warehouse_id else None,
                scrap_line_ids={decode_id(x, "OrderLine", field=["scrapLineIds", str(i)])
                                for i, x in enumerate(input.scrap_line_ids)})
            return ReturnPayload(return_=(await load_returns(ctx, [done.id]))[done.id])

        return await run_mutation(info, ReturnPayload, operation, input)

    @gated_mutation(module="orders", permission="orders.admin")
    async def order_tax_rate_set(self, info: Info, input: OrderTaxRateSetInput) -> OrderTaxRatePayload:
        ctx: RequestContext = info.context

        async def operation() -> OrderTaxRatePayload:
            await orders.set_tax_rate(ctx.require_tenant_session(), tax_category=input.tax_category, rate=input.rate)
            return OrderTaxRatePayload(tax_rates=await _tax_rates(ctx))

        return await run_mutation(info, OrderTaxRatePayload, operation, input)

    @gated_mutation(module="orders", permission="orders.admin")
    async def order_routing_rule_create(self, info: Info, input: OrderRoutingRuleCreateInput
                                        ) -> OrderRoutingRulePayload:
        ctx: RequestContext = info.context

        async def operation() -> OrderRoutingRulePayload:
            session = ctx.require_tenant_session()
            tenant = await platform.get_tenant(session, tenant_id=ctx.principal.tenant_id)  # type: ignore[union-attr]
            await orders.create_routing_rule(session, currency=tenant.base_currency, values=orders.RuleFields(  # type: ignore[union-attr]
                name=input.name, position=input.position, channel=input.channel.value if input.channel else None,
                customer_tag=input.customer_tag, region=input.region, min_total=input.min_total,
                max_total=input.max_total, auto_approve=input.auto_approve,
                assignee_id=decode_id(input.assignee_id, "User", field="assigneeId") if input.assignee_id else None,
                team_id=decode_id(input.team_id, "Team", field="teamId") if input.team_id else None))
            return OrderRoutingRulePayload(routing_rules=await _rules(ctx))

        return await run_mutation(info, OrderRoutingRulePayload, operation, input)

    @gated_mutation(module="orders", permission="orders.admin")
    async def order_routing_rule_delete(self, info: Info, input: OrderRoutingRuleDeleteInput
                                        ) -> OrderRoutingRulePayload:
        ctx: RequestContext = info.context

        async def operation() -> OrderRoutingRulePayload:
            await orders.delete_routing_rule(ctx.require_tenant_session(),
                                             rule_id=decode_id(input.id, "OrderRoutingRule"))
            return OrderRoutingRulePayload(routing_rules=await _rules(ctx))

        return await run_mutation(info, OrderRoutingRulePayload, operation, input)


@strawberry.type
class Subscription:
    @strawberry.subscription(description="The order (or, without id, any order) each time it changes: status, "
                                         "allocation, shipments (graphql-transport-ws on /graphql).")
    async def order_updated(self, info: Info, id: strawberry.ID | None = None) -> AsyncGenerator[OrderType, None]:
        from backend.core.errors import Unauthenticated

        ctx: RequestContext = info.context
        principal = ctx.principal
        if principal is None or principal.tenant_id is None:
            raise Unauthenticated("Send your access token in connection_init.")
        wanted = decode_id(id, "Order") if id else None
        app = ctx.request.app  # type: ignore[union-attr]
        queue = app.state.listener.subscribe()
        tenant = str(principal.tenant_id)
        try:
            while True:
                message = await queue.get()
                if message.get("tenant") != tenant or not message.get("type", "").startswith("order."):
                    continue
                async with app.state.db.transaction(principal.tenant_id) as session:
                    if not await platform.is_module_enabled(session, "orders") or not principal.can("orders.read"):
                        continue
                    envelope = message.get("event") or {}
                    parsed = from_global_id(envelope.get("aggregateId", "")) if envelope else None
                    if parsed is None:  # too big for the notification: read the event
                        from backend.core.outbox import OutboxEvent

                        o = OutboxEvent.__table__
                        aggregate = await session.scalar(select(o.c.aggregate_id).where(
                            o.c.tenant_id == principal.tenant_id, o.c.id == uuid.UUID(message["id"])))
                        parsed = from_global_id(aggregate or "")
                    if parsed is None or (wanted is not None and parsed[1] != wanted):
                        continue
                    row = (await session.execute(select(_order).where(
                        _order.c.tenant_id == principal.tenant_id, _order.c.id == parsed[1]))).one_or_none()
                if row is not None:
                    yield OrderType.from_row(row)
        finally:
            app.state.listener.unsubscribe(queue)


node_sources = [
    NodeSource("Order", "orders", "orders.read", load_orders),
    NodeSource("Fulfillment", "orders", "orders.read", load_fulfillments),
    NodeSource("OrderLine", "orders", "orders.read", load_order_lines),
    NodeSource("Return", "orders", "orders.read", load_returns),
]
