"""Order tables. Orders and lines reference the CRM's customers and inventory's products through
composite (tenant-scoped) foreign keys: orders depends on both modules, so their tables exist."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, TenantScoped, tenant_fk, utcnow

MONEY = Numeric(19, 4)
QUANTITY = Numeric(18, 4)
RATE = Numeric(7, 4)  # percent, e.g. 13.0000

STATUSES = ("draft", "submitted", "approved", "rejected", "allocated", "partially_allocated", "partially_shipped",
            "shipped", "delivered", "completed", "cancelled", "on_hold")
CHANNELS = ("web", "phone", "email", "api", "marketplace")


class Order(TenantScoped, Base):
    __tablename__ = "ord_order"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        UniqueConstraint("tenant_id", "tracking_token"),
        tenant_fk("customer_id", "crm_customer"),
        CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")", name="status"),
        CheckConstraint("channel IN (" + ", ".join(f"'{c}'" for c in CHANNELS) + ")", name="channel"),
        CheckConstraint("total >= 0 AND subtotal >= 0 AND tax_total >= 0 AND shipping_total >= 0", name="totals"),
        Index(None, "tenant_id", "status", "submitted_at"),
        Index(None, "tenant_id", "customer_id", "created_at"),
        Index(None, "tenant_id", "created_at", "id"),
        Index(None, "tenant_id", "assignee_id", "status"),
    )

    number: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    held_from: Mapped[str | None] = mapped_column(String(20))  # the status an ON_HOLD order returns to
    customer_id: Mapped[uuid.UUID]
    contact_id: Mapped[uuid.UUID | None]  # the CRM contact told about the order (checked through the CRM)
    opportunity_id: Mapped[uuid.UUID | None]  # the CRM opportunity it came from
    channel: Mapped[str] = mapped_column(String(12), default="web")
    currency: Mapped[str] = mapped_column(String(3))
    billing_address: Mapped[dict | None] = mapped_column(JSONB)
    shipping_address: Mapped[dict | None] = mapped_column(JSONB)
    requested_delivery_date: Mapped[date | None]
    notes: Mapped[str | None]
    owner_id: Mapped[uuid.UUID | None]  # the member who took the order
    assignee_id: Mapped[uuid.UUID | None]  # the reviewer routing chose
    team_id: Mapped[uuid.UUID | None]
    subtotal: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    discount_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    tax_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    shipping_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    tracking_token: Mapped[str] = mapped_column(String(64))
    rejection_reason: Mapped[str | None] = mapped_column(String(500))
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    submitted_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrderLine(TenantScoped, Base):
    __tablename__ = "ord_order_line"
    __table_args__ = (
        UniqueConstraint("tenant_id", "order_id", "position"),
        tenant_fk("order_id", "ord_order", ondelete="CASCADE"),
        tenant_fk("product_id", "inv_product"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("unit_price >= 0 AND discount >= 0 AND tax_rate >= 0", name="amounts"),
        CheckConstraint("discount_kind IN ('percent', 'amount')", name="discount_kind"),
        CheckConstraint("reserved >= 0 AND shipped >= 0 AND delivered >= 0 AND cancelled >= 0 "
                        "AND shipped + cancelled + reserved <= quantity AND delivered <= shipped", name="progress"),
        Index(None, "tenant_id", "order_id"),
        Index(None, "tenant_id", "product_id"),
    )

    order_id: Mapped[uuid.UUID]
    position: Mapped[int]
    product_id: Mapped[uuid.UUID]
    sku: Mapped[str] = mapped_column(String(64))  # as ordered
    name: Mapped[str] = mapped_column(String(200))
    stocked: Mapped[bool]  # False for services: nothing to reserve
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    discount_kind: Mapped[str] = mapped_column(String(8), default="percent")
    discount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))  # percent, or an amount off the line
    tax_rate: Mapped[Decimal] = mapped_column(RATE, default=Decimal(0))
    line_subtotal: Mapped[Decimal] = mapped_column(MONEY)  # quantity x unit price, rounded
    line_discount: Mapped[Decimal] = mapped_column(MONEY)
    line_tax: Mapped[Decimal] = mapped_column(MONEY)
    line_total: Mapped[Decimal] = mapped_column(MONEY)
    reserved: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))  # held in stock, not yet shipped
    shipped: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
    delivered: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
    cancelled: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))


class OrderEvent(TenantScoped, Base):
    """Every status change of an order: who, when, from, to, why. Append-only."""

    __tablename__ = "ord_order_event"
    __table_args__ = (
        tenant_fk("order_id", "ord_order", ondelete="CASCADE"),
        Index(None, "tenant_id", "order_id", "created_at"),
    )

    order_id: Mapped[uuid.UUID]
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[uuid.UUID | None]
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Fulfillment(TenantScoped, Base):
    """Lines picked from one warehouse; shipped as one shipment (carrier, tracking) and delivered."""

    __tablename__ = "ord_fulfillment"
    __table_args__ = (
        tenant_fk("order_id", "ord_order", ondelete="CASCADE"),
        tenant_fk("warehouse_id", "inv_warehouse"),
        CheckConstraint("status IN ('open', 'shipped', 'delivered', 'cancelled')", name="status"),
        Index(None, "tenant_id", "order_id"),
    )

    order_id: Mapped[uuid.UUID]
    warehouse_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(10), default="open")
    carrier: Mapped[str | None] = mapped_column(String(100))
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    tracking_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    shipped_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]


class FulfillmentLine(TenantScoped, Base):
    __tablename__ = "ord_fulfillment_line"
    __table_args__ = (
        UniqueConstraint("tenant_id", "fulfillment_id", "order_line_id"),
        tenant_fk("fulfillment_id", "ord_fulfillment", ondelete="CASCADE"),
        tenant_fk("order_line_id", "ord_order_line"),
        CheckConstraint("quantity > 0", name="quantity"),
        Index(None, "tenant_id", "order_line_id"),
    )

    fulfillment_id: Mapped[uuid.UUID]
    order_line_id: Mapped[uuid.UUID]
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)


class TaxRate(TenantScoped, Base):
    """The rate orders charge for a product tax category (until finance owns tax rates)."""

    __tablename__ = "ord_tax_rate"
    __table_args__ = (
        UniqueConstraint("tenant_id", "tax_category"),
        CheckConstraint("rate >= 0 AND rate < 100", name="rate"),
    )

    tax_category: Mapped[str] = mapped_column(String(50))
    rate: Mapped[Decimal] = mapped_column(RATE)


class RoutingRule(TenantScoped, Base):
    """Where a submitted order goes: the first rule (by position) whose conditions all hold assigns
    it to a member or a team, and may approve it at once."""

    __tablename__ = "ord_routing_rule"
    __table_args__ = (
        tenant_fk("team_id", "team", ondelete="CASCADE"),
        CheckConstraint("min_total IS NULL OR max_total IS NULL OR min_total <= max_total", name="range"),
        Index(None, "tenant_id", "position"),
    )

    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int]
    channel: Mapped[str | None] = mapped_column(String(12))
    customer_tag: Mapped[str | None] = mapped_column(String(50))
    region: Mapped[str | None] = mapped_column(String(100))  # the shipping address's country, region or city
    min_total: Mapped[Decimal | None] = mapped_column(MONEY)
    max_total: Mapped[Decimal | None] = mapped_column(MONEY)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    team_id: Mapped[uuid.UUID | None]
    auto_approve: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Return(TenantScoped, Base):
    """Goods a customer sends back (RMA): requested, then received (restocked or scrapped)."""

    __tablename__ = "ord_return"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        tenant_fk("order_id", "ord_order"),
        tenant_fk("warehouse_id", "inv_warehouse"),
        CheckConstraint("status IN ('requested', 'received', 'cancelled')", name="status"),
        Index(None, "tenant_id", "order_id"),
    )

    number: Mapped[str] = mapped_column(String(20))
    order_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(10), default="requested")
    reason: Mapped[str] = mapped_column(String(500))
    warehouse_id: Mapped[uuid.UUID | None]  # where it was received
    created_by: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_at: Mapped[datetime | None]


class ReturnLine(TenantScoped, Base):
    __tablename__ = "ord_return_line"
    __table_args__ = (
        UniqueConstraint("tenant_id", "return_id", "order_line_id"),
        tenant_fk("return_id", "ord_return", ondelete="CASCADE"),
        tenant_fk("order_line_id", "ord_order_line"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("restocked >= 0 AND scrapped >= 0 AND restocked + scrapped <= quantity", name="received"),
        Index(None, "tenant_id", "order_line_id"),
    )

    return_id: Mapped[uuid.UUID]
    order_line_id: Mapped[uuid.UUID]
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    restocked: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
    scrapped: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
