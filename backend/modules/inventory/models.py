"""Inventory tables. Quantities are NUMERIC (never float); stock levels carry CHECK constraints that
make overselling and negative stock impossible whatever the code does; stock moves are append-only
(the runtime role may only SELECT and INSERT them, see migration 0015)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index, Numeric, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, TenantScoped, tenant_fk, utcnow

QUANTITY = Numeric(18, 4)
PRICE = Numeric(19, 4)
UNIT_COST = Numeric(19, 6)  # moving average cost keeps more places than a price


class Category(TenantScoped, Base):
    __tablename__ = "inv_category"
    __table_args__ = (
        tenant_fk("parent_id", "inv_category"),
        Index(None, "tenant_id", "parent_id"),
    )

    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Product(TenantScoped, Base):
    __tablename__ = "inv_product"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sku"),
        tenant_fk("category_id", "inv_category"),
        CheckConstraint("type IN ('stocked', 'service', 'consumable')", name="type"),
        CheckConstraint("list_price >= 0", name="list_price"),
        CheckConstraint("cost >= 0", name="cost"),
        Index(None, "tenant_id", "category_id"),
        Index("ix_inv_product_tenant_name", "tenant_id", "name", "id"),
        Index("ix_inv_product_tenant_barcode", "tenant_id", "barcode"),
        Index("ix_inv_product_search", "tenant_id", "name", postgresql_using="gin",
              postgresql_ops={"name": "gin_trgm_ops"}),
        Index("ix_inv_product_custom_fields", "tenant_id", "custom_fields", postgresql_using="gin",
              postgresql_ops={"custom_fields": "jsonb_path_ops"}),
    )

    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None]
    type: Mapped[str] = mapped_column(String(12), default="stocked")
    category_id: Mapped[uuid.UUID | None]
    unit: Mapped[str] = mapped_column(String(12), default="unit")
    barcode: Mapped[str | None] = mapped_column(String(64))
    list_price: Mapped[Decimal] = mapped_column(PRICE)
    cost: Mapped[Decimal] = mapped_column(UNIT_COST, default=Decimal(0))  # moving average (receipts update it)
    tax_category: Mapped[str | None] = mapped_column(String(50))
    image_url: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(default=True)
    custom_fields: Mapped[dict] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Warehouse(TenantScoped, Base):
    __tablename__ = "inv_warehouse"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        # At most one default warehouse per tenant.
        Index("ix_inv_warehouse_default", "tenant_id", unique=True, postgresql_where=text("is_default")),
    )

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[dict | None] = mapped_column(JSONB)
    active: Mapped[bool] = mapped_column(default=True)
    priority: Mapped[int] = mapped_column(default=100)  # lower is tried first after the default
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StockLevel(TenantScoped, Base):
    """On hand, reserved and incoming per product and warehouse; always the sum of the moves."""

    __tablename__ = "inv_stock_level"
    __table_args__ = (
        UniqueConstraint("tenant_id", "product_id", "warehouse_id"),
        tenant_fk("product_id", "inv_product"),
        tenant_fk("warehouse_id", "inv_warehouse"),
        CheckConstraint("on_hand >= 0", name="on_hand"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved"),
        CheckConstraint("incoming >= 0", name="incoming"),
        Index(None, "tenant_id", "warehouse_id", "product_id"),
    )

    product_id: Mapped[uuid.UUID]
    warehouse_id: Mapped[uuid.UUID]
    on_hand: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
    reserved: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
    incoming: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


MOVE_KINDS = ("receipt", "shipment", "adjustment", "transfer_out", "transfer_in", "return", "production_consume",
              "production_produce", "count")


class StockMove(TenantScoped, Base):
    """One change of on-hand stock. Append-only: never updated, never deleted."""

    __tablename__ = "inv_stock_move"
    __table_args__ = (
        tenant_fk("product_id", "inv_product"),
        tenant_fk("warehouse_id", "inv_warehouse"),
        CheckConstraint("quantity <> 0", name="quantity"),
        CheckConstraint("unit_cost >= 0", name="unit_cost"),
        CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in MOVE_KINDS) + ")", name="kind"),
        Index(None, "tenant_id", "product_id", "created_at"),
        Index(None, "tenant_id", "warehouse_id", "created_at"),
        Index(None, "tenant_id", "created_at", "id"),
        Index(None, "tenant_id", "source_id"),
    )

    product_id: Mapped[uuid.UUID]
    warehouse_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)  # signed: + into the warehouse, - out of it
    unit_cost: Mapped[Decimal] = mapped_column(UNIT_COST)  # receipts: the price paid; others: the average then
    value: Mapped[Decimal] = mapped_column(PRICE)  # quantity x unit cost, rounded half-even to the currency
    source_id: Mapped[str | None] = mapped_column(String(200))  # global ID of the source document
    group_id: Mapped[uuid.UUID]  # moves written together (both sides of a transfer, a count's lines)
    reason: Mapped[str | None] = mapped_column(String(300))
    actor_id: Mapped[uuid.UUID | None]  # the user (history: no foreign key, users may be erased)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Reservation(TenantScoped, Base):
    """Stock held for a source document line; ``quantity`` is what is still held."""

    __tablename__ = "inv_reservation"
    __table_args__ = (
        tenant_fk("product_id", "inv_product"),
        tenant_fk("warehouse_id", "inv_warehouse"),
        CheckConstraint("quantity >= 0 AND consumed >= 0 AND released >= 0", name="quantities"),
        Index(None, "tenant_id", "reference"),
        Index(None, "tenant_id", "product_id", "warehouse_id"),
    )

    reference: Mapped[str] = mapped_column(String(200))  # global ID of the document (an order)
    line: Mapped[str | None] = mapped_column(String(200))  # the document's line, when it has lines
    product_id: Mapped[uuid.UUID]
    warehouse_id: Mapped[uuid.UUID]
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    consumed: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
    released: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StockCount(TenantScoped, Base):
    """A count sheet for one warehouse: counted quantities are entered, then posted in one step."""

    __tablename__ = "inv_count"
    __table_args__ = (
        tenant_fk("warehouse_id", "inv_warehouse"),
        CheckConstraint("status IN ('open', 'posted', 'cancelled')", name="status"),
        Index(None, "tenant_id", "status", "created_at"),
    )

    name: Mapped[str] = mapped_column(String(100))
    warehouse_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_by: Mapped[uuid.UUID | None]
    group_id: Mapped[uuid.UUID | None]  # the moves it posted
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_at: Mapped[datetime | None]


class StockCountLine(TenantScoped, Base):
    __tablename__ = "inv_count_line"
    __table_args__ = (
        UniqueConstraint("tenant_id", "count_id", "product_id"),
        tenant_fk("count_id", "inv_count", ondelete="CASCADE"),
        tenant_fk("product_id", "inv_product"),
        CheckConstraint("counted IS NULL OR counted >= 0", name="counted"),
    )

    count_id: Mapped[uuid.UUID]
    product_id: Mapped[uuid.UUID]
    expected: Mapped[Decimal] = mapped_column(QUANTITY)  # on hand when the sheet was made
    counted: Mapped[Decimal | None] = mapped_column(QUANTITY)
    posted_difference: Mapped[Decimal | None] = mapped_column(QUANTITY)  # against on hand at posting


class PriceList(TenantScoped, Base):
    __tablename__ = "inv_price_list"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PriceListItem(TenantScoped, Base):
    """A product's price on a list, from a minimum quantity, within optional validity dates."""

    __tablename__ = "inv_price_list_item"
    __table_args__ = (
        tenant_fk("price_list_id", "inv_price_list", ondelete="CASCADE"),
        tenant_fk("product_id", "inv_product"),
        CheckConstraint("price >= 0", name="price"),
        CheckConstraint("min_quantity > 0", name="min_quantity"),
        CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from", name="validity"),
        Index(None, "tenant_id", "price_list_id", "product_id"),
    )

    price_list_id: Mapped[uuid.UUID]
    product_id: Mapped[uuid.UUID]
    price: Mapped[Decimal] = mapped_column(PRICE)
    min_quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(1))
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]


class PriceListCustomer(TenantScoped, Base):
    """Which price list a customer buys at (one per customer). The customer is the CRM's: checked
    through its service when assigned, kept without a cross-module foreign key."""

    __tablename__ = "inv_price_list_customer"
    __table_args__ = (
        UniqueConstraint("tenant_id", "customer_id"),
        tenant_fk("price_list_id", "inv_price_list", ondelete="CASCADE"),
        Index(None, "tenant_id", "price_list_id"),
    )

    price_list_id: Mapped[uuid.UUID]
    customer_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReorderRule(TenantScoped, Base):
    """Keep a product between minimum and maximum in a warehouse, ordering in multiples."""

    __tablename__ = "inv_reorder_rule"
    __table_args__ = (
        UniqueConstraint("tenant_id", "product_id", "warehouse_id"),
        tenant_fk("product_id", "inv_product"),
        tenant_fk("warehouse_id", "inv_warehouse"),
        CheckConstraint("minimum >= 0 AND maximum >= minimum AND multiple > 0", name="bounds"),
    )

    product_id: Mapped[uuid.UUID]
    warehouse_id: Mapped[uuid.UUID]
    minimum: Mapped[Decimal] = mapped_column(QUANTITY)
    maximum: Mapped[Decimal] = mapped_column(QUANTITY)
    multiple: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(1))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
