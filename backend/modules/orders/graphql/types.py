"""Order object types and their per-request loaders (one query per batch)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import func, select
from strawberry.scalars import JSON
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.api.gates import cross_module_field
from backend.api.loaders import batched, by_key, grouped_loader, rows_by_id
from backend.api.money import MoneyType
from backend.api.relay import Node
from backend.api.rows import RowObject
from backend.api.sqltree import by_id, enum, global_id, many, money, one, quantity, text
from backend.core.db import any_of
from backend.core.ids import to_global_id
from backend.modules.crm.graphql.customers import customer_loader, load_contacts
from backend.modules.crm.graphql.types import ContactType, CustomerType
from backend.modules.inventory.graphql.types import ProductNode, WarehouseType, product_loader, warehouse_loader
from backend.modules.inventory.service import show
from backend.modules.orders.models import Fulfillment, FulfillmentLine, Order, OrderEvent, OrderLine, Return, ReturnLine
from backend.modules.platform.graphql.types import UserType, user_loader

if TYPE_CHECKING:
    from backend.modules.finance.graphql.types import InvoiceType, PaymentType

_order = Order.__table__
_line = OrderLine.__table__
_event = OrderEvent.__table__
_fulfillment = Fulfillment.__table__
_fline = FulfillmentLine.__table__
_return = Return.__table__
_rline = ReturnLine.__table__


@strawberry.enum
class OrderStatus(Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    ALLOCATED = "allocated"
    PARTIALLY_ALLOCATED = "partially_allocated"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    ON_HOLD = "on_hold"


@strawberry.enum
class OrderChannel(Enum):
    WEB = "web"
    PHONE = "phone"
    EMAIL = "email"
    API = "api"
    MARKETPLACE = "marketplace"


@strawberry.enum
class FulfillmentStatus(Enum):
    OPEN = "open"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


# --- loaders ----------------------------------------------------------------------------------------------


def _lines_stmt(tenant_id: uuid.UUID, keys: list[uuid.UUID]):  # type: ignore[no-untyped-def]
    same = (_order.c.tenant_id == _line.c.tenant_id) & (_order.c.id == _line.c.order_id)
    return (select(_line, _order.c.currency).join(_order, same)
            .where(_line.c.tenant_id == tenant_id, any_of(_line.c.order_id, keys)).order_by(_line.c.position))


def _own_lines_stmt(tenant_id: uuid.UUID, keys: list[uuid.UUID]):  # type: ignore[no-untyped-def]
    """``_lines_stmt`` without the order's currency (SQL subtrees take it from the order they are under)."""
    return (select(_line).where(_line.c.tenant_id == tenant_id, any_of(_line.c.order_id, keys))
            .order_by(_line.c.position))


def _order_lines_loader(ctx: RequestContext):  # type: ignore[no-untyped-def]
    return grouped_loader(ctx, "order_id", _lines_stmt, _line_of_row, row_type=OrderLineType)


def _line_of_row(r) -> OrderLineType:  # type: ignore[no-untyped-def]
    return OrderLineType.from_row(r, r.currency)  # the batch mixes orders: each line brings its order's currency


def _events_stmt(tenant_id: uuid.UUID, keys: list[uuid.UUID]):  # type: ignore[no-untyped-def]
    return (select(_event).where(_event.c.tenant_id == tenant_id, any_of(_event.c.order_id, keys))
            .order_by(_event.c.created_at, _event.c.id))


def _fulfillments_stmt(tenant_id: uuid.UUID, keys: list[uuid.UUID]):  # type: ignore[no-untyped-def]
    return (select(_fulfillment).where(_fulfillment.c.tenant_id == tenant_id, any_of(_fulfillment.c.order_id, keys))
            .order_by(_fulfillment.c.created_at, _fulfillment.c.id))


def _fulfillment_lines_stmt(tenant_id: uuid.UUID, keys: list[uuid.UUID]):  # type: ignore[no-untyped-def]
    same = (_line.c.tenant_id == _fline.c.tenant_id) & (_line.c.id == _fline.c.order_line_id)
    return (select(_fline, _line.c.product_id, _line.c.sku, _line.c.position).join(_line, same)
            .where(_fline.c.tenant_id == tenant_id, any_of(_fline.c.fulfillment_id, keys)).order_by(_line.c.position))


async def load_orders(ctx: RequestContext, ids: list[uuid.UUID]) -> dict[uuid.UUID, OrderType]:
    rows = await rows_by_id(ctx, _order, ids)
    return {r.id: OrderType.from_row(r) for r in rows}


async def load_fulfillments(ctx: RequestContext, ids: list[uuid.UUID]) -> dict[uuid.UUID, FulfillmentType]:
    rows = await rows_by_id(ctx, _fulfillment, ids)
    return {r.id: FulfillmentType.from_row(r) for r in rows}


async def load_order_lines(ctx: RequestContext, ids: list[uuid.UUID]) -> dict[uuid.UUID, OrderLineType]:
    same = (_order.c.tenant_id == _line.c.tenant_id) & (_order.c.id == _line.c.order_id)
    rows = await ctx.require_tenant_session().execute(select(_line, _order.c.currency).join(_order, same).where(
        _line.c.tenant_id == ctx.principal.tenant_id, any_of(_line.c.id, ids)))  # type: ignore[union-attr]
    return {r.id: OrderLineType.from_row(r, r.currency) for r in rows}


# --- types --------------------------------------------------------------------------------------------------


@strawberry.type(name="OrderLine")
class OrderLineType(RowObject, Node):
    id: strawberry.ID
    position: int
    sku: str = strawberry.field(description="As ordered.")
    name: str
    quantity: Decimal
    unit_price: MoneyType
    discount_percent: Decimal | None
    discount_amount: MoneyType | None
    tax_rate: Decimal = strawberry.field(description="Percent.")
    subtotal: MoneyType = strawberry.field(description="quantity x unit price, rounded.")
    discount: MoneyType
    tax: MoneyType
    total: MoneyType
    reserved: Decimal = strawberry.field(description="Held in stock for this line, not yet shipped.")
    shipped: Decimal
    delivered: Decimal
    cancelled: Decimal
    backordered: Decimal = strawberry.field(description="Still waiting for stock.")
    product_pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, r, currency: str) -> OrderLineType:  # type: ignore[no-untyped-def]
        return cls.lazy(r, currency=currency)

    @strawberry.field
    @batched(by_key("product_pk", product_loader))
    async def product(self, info: Info) -> ProductNode | None:
        return await product_loader(info.context).load(self.product_pk)


def _line_money(column: str) -> Callable[[Any, dict[str, Any]], MoneyType]:
    return lambda r, k: MoneyType.of(getattr(r, column), k["currency"])


OrderLineType.computes(
    _line,
    id=lambda r, k: to_global_id("OrderLine", r.id), position=lambda r, k: r.position, sku=lambda r, k: r.sku,
    name=lambda r, k: r.name, quantity=lambda r, k: show(r.quantity), unit_price=_line_money("unit_price"),
    discount_percent=lambda r, k: show(r.discount) if r.discount_kind == "percent" else None,
    discount_amount=lambda r, k: MoneyType.of(r.discount, k["currency"]) if r.discount_kind == "amount" else None,
    tax_rate=lambda r, k: show(r.tax_rate), subtotal=_line_money("line_subtotal"),
    discount=_line_money("line_discount"), tax=_line_money("line_tax"), total=_line_money("line_total"),
    reserved=lambda r, k: show(r.reserved), shipped=lambda r, k: show(r.shipped),
    delivered=lambda r, k: show(r.delivered), cancelled=lambda r, k: show(r.cancelled),
    backordered=lambda r, k: show(max(r.quantity - r.cancelled - r.shipped - r.reserved, Decimal(0))),
    product_pk=lambda r, k: r.product_id,
)
OrderLineType.sql(
    id=global_id("OrderLine"), position=text("position"), sku=text("sku"), name=text("name"),
    quantity=quantity("quantity"), unit_price=money("unit_price", "currency"), tax_rate=quantity("tax_rate"),
    subtotal=money("line_subtotal", "currency"), discount=money("line_discount", "currency"),
    tax=money("line_tax", "currency"), total=money("line_total", "currency"), reserved=quantity("reserved"),
    shipped=quantity("shipped"), delivered=quantity("delivered"), cancelled=quantity("cancelled"),
    backordered=quantity(lambda c: func.greatest(c["quantity"] - c["cancelled"] - c["shipped"] - c["reserved"], 0),
                         "quantity", "cancelled", "shipped", "reserved"),
    product=one(ProductNode, by_id(ProductNode), "product_id"),
)


@strawberry.type(name="OrderEvent", description="A status change of an order.")
class OrderEventType:
    from_status: OrderStatus | None = strawberry.field(name="from")
    to_status: OrderStatus = strawberry.field(name="to")
    note: str | None
    created_at: datetime
    actor_pk: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_row(cls, r) -> OrderEventType:  # type: ignore[no-untyped-def]
        return cls(from_status=OrderStatus(r.from_status) if r.from_status else None,
                   to_status=OrderStatus(r.to_status), note=r.note, created_at=r.created_at, actor_pk=r.actor_id)

    @strawberry.field(description="Who made the change (null for automatic ones).")
    async def actor(self, info: Info) -> UserType | None:
        return await user_loader(info.context).load(self.actor_pk) if self.actor_pk else None


@strawberry.type(name="FulfillmentLine")
class FulfillmentLineType:
    quantity: Decimal
    sku: str
    line_pk: strawberry.Private[uuid.UUID]
    product_pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, r) -> FulfillmentLineType:  # type: ignore[no-untyped-def]
        return cls(quantity=show(r.quantity), sku=r.sku, line_pk=r.order_line_id, product_pk=r.product_id)

    @strawberry.field
    def line_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("OrderLine", self.line_pk))

    @strawberry.field
    async def product(self, info: Info) -> ProductNode | None:
        return await product_loader(info.context).load(self.product_pk)


@strawberry.type(name="Fulfillment", description="Lines picked from one warehouse; a shipment once shipped.")
class FulfillmentType(Node):
    id: strawberry.ID
    status: FulfillmentStatus
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None
    created_at: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None
    pk: strawberry.Private[uuid.UUID]
    order_pk: strawberry.Private[uuid.UUID]
    warehouse_pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, r) -> FulfillmentType:  # type: ignore[no-untyped-def]
        return cls(id=to_global_id("Fulfillment", r.id), status=FulfillmentStatus(r.status), carrier=r.carrier,
                   tracking_number=r.tracking_number, tracking_url=r.tracking_url, created_at=r.created_at,
                   shipped_at=r.shipped_at, delivered_at=r.delivered_at, pk=r.id, order_pk=r.order_id,
                   warehouse_pk=r.warehouse_id)

    @strawberry.field
    async def warehouse(self, info: Info) -> WarehouseType | None:
        return await warehouse_loader(info.context).load(self.warehouse_pk)

    @strawberry.field
    async def lines(self, info: Info) -> list[FulfillmentLineType]:
        return await grouped_loader(info.context, "fulfillment_id", _fulfillment_lines_stmt,
                                    FulfillmentLineType.from_row).load(self.pk)

    @strawberry.field
    async def order(self, info: Info) -> OrderType | None:
        from backend.api.loaders import by_id_loader

        return await by_id_loader(info.context, "OrderById", load_orders).load(self.order_pk)


@strawberry.enum
class ReturnStatus(Enum):
    REQUESTED = "requested"
    RECEIVED = "received"
    CANCELLED = "cancelled"


def _returns_stmt(tenant_id: uuid.UUID, keys: list[uuid.UUID]):  # type: ignore[no-untyped-def]
    return (select(_return).where(_return.c.tenant_id == tenant_id, any_of(_return.c.order_id, keys))
            .order_by(_return.c.created_at))


def _return_lines_stmt(tenant_id: uuid.UUID, keys: list[uuid.UUID]):  # type: ignore[no-untyped-def]
    same = (_line.c.tenant_id == _rline.c.tenant_id) & (_line.c.id == _rline.c.order_line_id)
    return (select(_rline, _line.c.sku, _line.c.product_id, _line.c.position).join(_line, same)
            .where(_rline.c.tenant_id == tenant_id, any_of(_rline.c.return_id, keys)).order_by(_line.c.position))


@strawberry.type(name="ReturnLine")
class ReturnLineType:
    sku: str
    quantity: Decimal
    restocked: Decimal
    scrapped: Decimal
    line_pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, r) -> ReturnLineType:  # type: ignore[no-untyped-def]
        return cls(sku=r.sku, quantity=show(r.quantity), restocked=show(r.restocked), scrapped=show(r.scrapped),
                   line_pk=r.order_line_id)

    @strawberry.field
    def line_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("OrderLine", self.line_pk))


@strawberry.type(name="Return", description="Goods a customer sends back (RMA).")
class ReturnType(Node):
    id: strawberry.ID
    number: str
    status: ReturnStatus
    reason: str
    created_at: datetime
    received_at: datetime | None
    pk: strawberry.Private[uuid.UUID]
    order_pk: strawberry.Private[uuid.UUID]
    warehouse_pk: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_row(cls, r) -> ReturnType:  # type: ignore[no-untyped-def]
        return cls(id=to_global_id("Return", r.id), number=r.number, status=ReturnStatus(r.status), reason=r.reason,
                   created_at=r.created_at, received_at=r.received_at, pk=r.id, order_pk=r.order_id,
                   warehouse_pk=r.warehouse_id)

    @strawberry.field
    async def lines(self, info: Info) -> list[ReturnLineType]:
        return await grouped_loader(info.context, "return_id", _return_lines_stmt,
                                    ReturnLineType.from_row).load(self.pk)

    @strawberry.field(description="Where it was received.")
    async def warehouse(self, info: Info) -> WarehouseType | None:
        return await warehouse_loader(info.context).load(self.warehouse_pk) if self.warehouse_pk else None

    @strawberry.field
    async def order(self, info: Info) -> OrderType | None:
        from backend.api.loaders import by_id_loader

        return await by_id_loader(info.context, "OrderById", load_orders).load(self.order_pk)


async def load_returns(ctx: RequestContext, ids: list[uuid.UUID]) -> dict[uuid.UUID, ReturnType]:
    rows = await rows_by_id(ctx, _return, ids)
    return {r.id: ReturnType.from_row(r) for r in rows}


@strawberry.type(name="Order")
class OrderType(RowObject, Node):
    id: strawberry.ID
    number: str
    status: OrderStatus
    channel: OrderChannel
    currency_code: str
    subtotal: MoneyType
    discount_total: MoneyType
    tax_total: MoneyType
    shipping_total: MoneyType
    total: MoneyType
    billing_address: JSON | None
    shipping_address: JSON | None
    requested_delivery_date: date | None
    notes: str | None
    rejection_reason: str | None
    cancel_reason: str | None
    tracking_token: strawberry.Private[str]
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    approved_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    pk: strawberry.Private[uuid.UUID]
    customer_pk: strawberry.Private[uuid.UUID]
    contact_pk: strawberry.Private[uuid.UUID | None]
    owner_pk: strawberry.Private[uuid.UUID | None]
    assignee_pk: strawberry.Private[uuid.UUID | None]
    opportunity_pk: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_row(cls, r) -> OrderType:  # type: ignore[no-untyped-def]
        return cls.lazy(r)

    @strawberry.field(description="The customer-facing tracking page: no sign-in, shows only number, status "
                                  "and shipments.")
    def tracking_link(self) -> str:
        return f"/track/{self.tracking_token}"

    @strawberry.field
    @batched(by_key("customer_pk", customer_loader))
    async def customer(self, info: Info) -> CustomerType | None:
        return await customer_loader(info.context).load(self.customer_pk)

    @strawberry.field(description="The customer's contact told about the order.")
    async def contact(self, info: Info) -> ContactType | None:
        if self.contact_pk is None:
            return None
        return (await load_contacts(info.context, [self.contact_pk])).get(self.contact_pk)

    @strawberry.field
    @batched(by_key("pk", _order_lines_loader))
    async def lines(self, info: Info) -> list[OrderLineType]:
        return await _order_lines_loader(info.context).load(self.pk)

    @strawberry.field(description="Every status change: who, when, from, to, note.")
    async def events(self, info: Info) -> list[OrderEventType]:
        return await grouped_loader(info.context, "order_id", _events_stmt, OrderEventType.from_row).load(self.pk)

    @strawberry.field
    async def fulfillments(self, info: Info) -> list[FulfillmentType]:
        return await grouped_loader(info.context, "order_id", _fulfillments_stmt,
                                    FulfillmentType.from_row).load(self.pk)

    @strawberry.field(description="Fulfillments that have shipped.")
    async def shipments(self, info: Info) -> list[FulfillmentType]:
        found = await grouped_loader(info.context, "order_id", _fulfillments_stmt,
                                     FulfillmentType.from_row).load(self.pk)
        return [f for f in found if f.status in (FulfillmentStatus.SHIPPED, FulfillmentStatus.DELIVERED)]

    @cross_module_field(module="finance", empty=list, description="Its invoices; empty while finance is off.")
    async def invoices(self, info: Info) -> list[Annotated[InvoiceType, strawberry.lazy(
            "backend.modules.finance.graphql.types")]]:
        from backend.modules.finance.graphql.types import invoices_of

        return await invoices_of(info, order_id=self.pk)

    @cross_module_field(module="finance", empty=list, description="Payments applied to its invoices.")
    async def payments(self, info: Info) -> list[Annotated[PaymentType, strawberry.lazy(
            "backend.modules.finance.graphql.types")]]:
        from backend.modules.finance.graphql.types import payments_of_order

        return await payments_of_order(info, self.pk)

    @strawberry.field
    async def returns(self, info: Info) -> list[ReturnType]:
        return await grouped_loader(info.context, "order_id", _returns_stmt, ReturnType.from_row).load(self.pk)

    @strawberry.field(description="The member who took the order.")
    async def owner(self, info: Info) -> UserType | None:
        return await user_loader(info.context).load(self.owner_pk) if self.owner_pk else None

    @strawberry.field(description="The reviewer routing chose.")
    async def assignee(self, info: Info) -> UserType | None:
        return await user_loader(info.context).load(self.assignee_pk) if self.assignee_pk else None

    @strawberry.field
    def opportunity_id(self) -> strawberry.ID | None:
        return strawberry.ID(to_global_id("Opportunity", self.opportunity_pk)) if self.opportunity_pk else None


def _order_money(column: str) -> Callable[[Any, dict[str, Any]], MoneyType]:
    return lambda r, k: MoneyType.of(getattr(r, column), r.currency)


def _column(name: str) -> Callable[[Any, dict[str, Any]], Any]:
    return lambda r, k: getattr(r, name)


OrderType.computes(
    _order,
    id=lambda r, k: to_global_id("Order", r.id), status=lambda r, k: OrderStatus(r.status),
    channel=lambda r, k: OrderChannel(r.channel), currency_code=_column("currency"),
    subtotal=_order_money("subtotal"), discount_total=_order_money("discount_total"),
    tax_total=_order_money("tax_total"), shipping_total=_order_money("shipping_total"), total=_order_money("total"),
    pk=_column("id"), customer_pk=_column("customer_id"), contact_pk=_column("contact_id"),
    owner_pk=_column("owner_id"), assignee_pk=_column("assignee_id"), opportunity_pk=_column("opportunity_id"),
    **{name: _column(name) for name in (
        "number", "billing_address", "shipping_address", "requested_delivery_date", "notes", "rejection_reason",
        "cancel_reason", "tracking_token", "created_at", "updated_at", "submitted_at", "approved_at", "shipped_at",
        "delivered_at", "completed_at", "cancelled_at")},
)
OrderType.sql(
    id=global_id("Order"), number=text("number"), status=enum("status", OrderStatus),
    channel=enum("channel", OrderChannel), currency_code=text("currency"),
    subtotal=money("subtotal", "currency"), discount_total=money("discount_total", "currency"),
    tax_total=money("tax_total", "currency"), shipping_total=money("shipping_total", "currency"),
    total=money("total", "currency"), notes=text("notes"), rejection_reason=text("rejection_reason"),
    cancel_reason=text("cancel_reason"),
    customer=one(CustomerType, by_id(CustomerType), "customer_id"),
    # The lines' loader joins the order for its currency; here the order is the parent already.
    lines=many(OrderLineType, _own_lines_stmt, "id", inherit={"currency": "currency"}),
)


CUSTOMER_ORDERS = 50  # Customer.orders shows this many, newest first


def _customer_orders_stmt(tenant_id: uuid.UUID, keys: list[uuid.UUID]):  # type: ignore[no-untyped-def]
    rank = func.row_number().over(partition_by=_order.c.customer_id,
                                  order_by=(_order.c.created_at.desc(), _order.c.id.desc())).label("rank")
    ranked = select(_order, rank).where(_order.c.tenant_id == tenant_id, any_of(_order.c.customer_id, keys)).subquery()
    return select(ranked).where(ranked.c.rank <= CUSTOMER_ORDERS).order_by(ranked.c.customer_id, ranked.c.rank)


async def orders_of_customer(info: Info, customer_id: uuid.UUID) -> list[OrderType]:
    """``Customer.orders``: batched for a page of customers; empty without ``orders.read``."""
    ctx: RequestContext = info.context
    if ctx.principal is None or not ctx.principal.can("orders.read"):
        return []
    return await grouped_loader(ctx, "customer_id", _customer_orders_stmt, OrderType.from_row).load(customer_id)


def _opportunity_orders_stmt(tenant_id: uuid.UUID, keys: list[uuid.UUID]):  # type: ignore[no-untyped-def]
    return (select(_order).where(_order.c.tenant_id == tenant_id, any_of(_order.c.opportunity_id, keys))
            .order_by(_order.c.created_at))


async def orders_of_opportunity(info: Info, opportunity_id: uuid.UUID) -> list[OrderType]:
    """``Opportunity.orders``: batched; empty without ``orders.read``."""
    ctx: RequestContext = info.context
    if ctx.principal is None or not ctx.principal.can("orders.read"):
        return []
    return await grouped_loader(ctx, "opportunity_id", _opportunity_orders_stmt, OrderType.from_row).load(
        opportunity_id)
