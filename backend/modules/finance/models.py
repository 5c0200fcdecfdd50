"""Finance tables. Journal entries and their lines are append-only (the runtime role may only
SELECT and INSERT them) and balanced per entry (a deferred constraint trigger checks it at commit,
migration 0018). Amounts are NUMERIC in the tenant's base currency."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, TenantScoped, tenant_fk, utcnow

MONEY = Numeric(19, 4)
QUANTITY = Numeric(18, 4)
RATE = Numeric(18, 8)
ACCOUNT_TYPES = ("asset", "liability", "equity", "income", "expense")


class Account(TenantScoped, Base):
    __tablename__ = "fin_account"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        tenant_fk("parent_id", "fin_account"),
        CheckConstraint("type IN (" + ", ".join(f"'{t}'" for t in ACCOUNT_TYPES) + ")", name="type"),
        # one account per system role (receivables, revenue, inventory, ...) per tenant
        Index("ix_fin_account_role", "tenant_id", "role", unique=True, postgresql_where=text("role IS NOT NULL")),
    )

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(10))
    parent_id: Mapped[uuid.UUID | None]
    currency: Mapped[str | None] = mapped_column(String(3))  # None: the base currency
    role: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Period(TenantScoped, Base):
    """A month of the books; posting into a closed one is refused."""

    __tablename__ = "fin_period"
    __table_args__ = (
        UniqueConstraint("tenant_id", "year", "month"),
        CheckConstraint("month BETWEEN 1 AND 12", name="month"),
        CheckConstraint("status IN ('open', 'closed')", name="status"),
    )

    year: Mapped[int]
    month: Mapped[int]
    status: Mapped[str] = mapped_column(String(10), default="open")
    changed_by: Mapped[uuid.UUID | None]
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class JournalEntry(TenantScoped, Base):
    """A posted entry. Never updated or deleted: a correction is a reversal entry."""

    __tablename__ = "fin_journal_entry"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        tenant_fk("reversal_of_id", "fin_journal_entry"),
        CheckConstraint("kind IN ('manual', 'automatic', 'reversal', 'opening')", name="kind"),
        # an event posts at most once (handlers are idempotent)
        Index("ix_fin_journal_entry_event", "tenant_id", "source_event_id", unique=True,
              postgresql_where=text("source_event_id IS NOT NULL")),
        # an entry is reversed at most once
        Index("ix_fin_journal_entry_reversal", "tenant_id", "reversal_of_id", unique=True,
              postgresql_where=text("reversal_of_id IS NOT NULL")),
        Index(None, "tenant_id", "entry_date", "id"),
        Index(None, "tenant_id", "source_id"),
    )

    number: Mapped[str] = mapped_column(String(20))
    entry_date: Mapped[date]
    kind: Mapped[str] = mapped_column(String(10))
    memo: Mapped[str | None] = mapped_column(String(500))
    reference: Mapped[str | None] = mapped_column(String(100))
    source_id: Mapped[str | None] = mapped_column(String(200))  # global ID of the source document
    source_event_id: Mapped[uuid.UUID | None]
    reversal_of_id: Mapped[uuid.UUID | None]
    posted_by: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JournalLine(TenantScoped, Base):
    __tablename__ = "fin_journal_line"
    __table_args__ = (
        tenant_fk("entry_id", "fin_journal_entry"),
        tenant_fk("account_id", "fin_account"),
        CheckConstraint("debit >= 0 AND credit >= 0 AND (debit = 0) <> (credit = 0)", name="one_side"),
        Index(None, "tenant_id", "account_id", "entry_date"),
        Index(None, "tenant_id", "entry_id"),
        Index(None, "tenant_id", "customer_id"),
    )

    entry_id: Mapped[uuid.UUID]
    entry_date: Mapped[date]  # the entry's, for reports by account and date
    account_id: Mapped[uuid.UUID]
    debit: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    credit: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    customer_id: Mapped[uuid.UUID | None]  # dimensions (other modules' IDs, no foreign key)
    supplier: Mapped[str | None] = mapped_column(String(200))
    product_id: Mapped[uuid.UUID | None]
    memo: Mapped[str | None] = mapped_column(String(300))


class Invoice(TenantScoped, Base):
    __tablename__ = "fin_invoice"
    __table_args__ = (
        # numbers are given at issue, gapless; drafts have none
        Index("ix_fin_invoice_number", "tenant_id", "number", unique=True, postgresql_where=text("number IS NOT NULL")),
        CheckConstraint("status IN ('draft', 'issued', 'partially_paid', 'paid', 'void')", name="status"),
        CheckConstraint("total >= 0 AND amount_paid >= 0 AND amount_credited >= 0 "
                        "AND amount_paid + amount_credited <= total", name="amounts"),
        Index(None, "tenant_id", "customer_id", "status"),
        Index(None, "tenant_id", "order_id"),
        Index(None, "tenant_id", "status", "due_date"),
    )

    number: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    customer_id: Mapped[uuid.UUID]
    order_id: Mapped[uuid.UUID | None]
    currency: Mapped[str] = mapped_column(String(3))
    exchange_rate: Mapped[Decimal] = mapped_column(RATE, default=Decimal(1))  # base currency per unit
    total_base: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))  # receivable posted at issue
    issue_date: Mapped[date | None]
    due_date: Mapped[date | None]
    subtotal: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    tax_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    amount_paid: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    amount_credited: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))  # by credit notes
    notes: Mapped[str | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]


class InvoiceLine(TenantScoped, Base):
    __tablename__ = "fin_invoice_line"
    __table_args__ = (
        tenant_fk("invoice_id", "fin_invoice", ondelete="CASCADE"),
        tenant_fk("account_id", "fin_account"),
        CheckConstraint("quantity > 0 AND subtotal >= 0 AND tax >= 0", name="amounts"),
        Index(None, "tenant_id", "invoice_id"),
        Index(None, "tenant_id", "order_line_id"),
    )

    invoice_id: Mapped[uuid.UUID]
    position: Mapped[int]
    description: Mapped[str] = mapped_column(String(300))
    product_id: Mapped[uuid.UUID | None]
    order_line_id: Mapped[uuid.UUID | None]
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(7, 4), default=Decimal(0))
    subtotal: Mapped[Decimal] = mapped_column(MONEY)  # net of discounts
    tax: Mapped[Decimal] = mapped_column(MONEY)
    total: Mapped[Decimal] = mapped_column(MONEY)
    account_id: Mapped[uuid.UUID]  # revenue


class Payment(TenantScoped, Base):
    __tablename__ = "fin_payment"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_fin_payment_stripe", "tenant_id", "stripe_payment_intent", unique=True,
              postgresql_where=text("stripe_payment_intent IS NOT NULL")),
        CheckConstraint("method IN ('bank_transfer', 'cash', 'card', 'stripe', 'other')", name="method"),
        CheckConstraint("amount > 0 AND unapplied >= 0 AND unapplied <= amount", name="amounts"),
        Index(None, "tenant_id", "customer_id", "received_on"),
    )

    number: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[uuid.UUID]
    method: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    exchange_rate: Mapped[Decimal] = mapped_column(RATE, default=Decimal(1))  # base currency per unit
    unapplied: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))  # customer credit left
    received_on: Mapped[date]
    reference: Mapped[str | None] = mapped_column(String(100))
    stripe_payment_intent: Mapped[str | None] = mapped_column(String(100))
    recorded_by: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PaymentAllocation(TenantScoped, Base):
    __tablename__ = "fin_payment_allocation"
    __table_args__ = (
        tenant_fk("payment_id", "fin_payment"),
        tenant_fk("invoice_id", "fin_invoice"),
        CheckConstraint("amount > 0", name="amount"),
        Index(None, "tenant_id", "invoice_id"),
        Index(None, "tenant_id", "payment_id"),
    )

    payment_id: Mapped[uuid.UUID]
    invoice_id: Mapped[uuid.UUID]
    amount: Mapped[Decimal] = mapped_column(MONEY)  # in the invoice's currency
    amount_base: Mapped[Decimal] = mapped_column(MONEY)  # the receivable it settled, at the invoice's rate
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FinanceSettings(TenantScoped, Base):
    __tablename__ = "fin_settings"
    __table_args__ = (
        UniqueConstraint("tenant_id", "singleton"),
        CheckConstraint("invoice_on IN ('approval', 'shipment', 'manual')", name="invoice_on"),
        CheckConstraint("payment_terms_days BETWEEN 0 AND 365", name="terms"),
    )

    singleton: Mapped[bool] = mapped_column(default=True)
    chart: Mapped[str] = mapped_column(String(40))
    invoice_on: Mapped[str] = mapped_column(String(10), default="approval")
    payment_terms_days: Mapped[int] = mapped_column(default=30)
    stripe_account_id: Mapped[str | None] = mapped_column(String(100))
    extra: Mapped[dict] = mapped_column(JSONB, default=dict)


class Refund(TenantScoped, Base):
    """Money given back on a payment: first from its unapplied credit, then reopening its invoices."""

    __tablename__ = "fin_refund"
    __table_args__ = (
        tenant_fk("payment_id", "fin_payment"),
        CheckConstraint("amount > 0", name="amount"),
        Index("ix_fin_refund_external", "tenant_id", "external_id", unique=True,
              postgresql_where=text("external_id IS NOT NULL")),
        Index(None, "tenant_id", "payment_id"),
    )

    payment_id: Mapped[uuid.UUID]
    amount: Mapped[Decimal] = mapped_column(MONEY)
    reason: Mapped[str | None] = mapped_column(String(300))
    external_id: Mapped[str | None] = mapped_column(String(100))  # Stripe's refund (or charge) id
    refunded_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StripeEvent(TenantScoped, Base):
    """A Stripe webhook event already handled (so a replay records nothing twice)."""

    __tablename__ = "fin_stripe_event"
    __table_args__ = (UniqueConstraint("tenant_id", "event_id"),)

    event_id: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class StripeAccount(Base):
    """Global: which tenant a connected Stripe account belongs to (webhooks arrive for the platform
    and name the account; this routes them). Holds no tenant data beyond the link."""

    __tablename__ = "stripe_account"

    account_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), unique=True)


class CreditNote(TenantScoped, Base):
    """Money owed back to a customer (a return): applied to the order's open invoices, the rest
    held as customer credit."""

    __tablename__ = "fin_credit_note"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        tenant_fk("invoice_id", "fin_invoice"),
        CheckConstraint("total > 0 AND applied >= 0 AND unapplied >= 0 AND applied + unapplied = total",
                        name="amounts"),
        Index("ix_fin_credit_note_source", "tenant_id", "source_id", unique=True,
              postgresql_where=text("source_id IS NOT NULL")),
        Index(None, "tenant_id", "customer_id"),
    )

    number: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[uuid.UUID]
    order_id: Mapped[uuid.UUID | None]
    invoice_id: Mapped[uuid.UUID | None]  # the invoice it was applied to, if any
    source_id: Mapped[str | None] = mapped_column(String(200))  # the return's global ID
    issue_date: Mapped[date]
    subtotal: Mapped[Decimal] = mapped_column(MONEY)
    tax: Mapped[Decimal] = mapped_column(MONEY)
    total: Mapped[Decimal] = mapped_column(MONEY)
    applied: Mapped[Decimal] = mapped_column(MONEY)
    unapplied: Mapped[Decimal] = mapped_column(MONEY)  # customer credit
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Bill(TenantScoped, Base):
    """A supplier's bill (by hand now; from purchase orders once purchasing lands)."""

    __tablename__ = "fin_bill"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        CheckConstraint("status IN ('open', 'partially_paid', 'paid', 'void')", name="status"),
        CheckConstraint("total >= 0 AND amount_paid >= 0 AND amount_paid <= total", name="amounts"),
        Index(None, "tenant_id", "status", "due_date"),
    )

    number: Mapped[str] = mapped_column(String(20))
    supplier: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str | None] = mapped_column(String(100))  # the supplier's invoice number
    status: Mapped[str] = mapped_column(String(16), default="open")
    bill_date: Mapped[date]
    due_date: Mapped[date]
    subtotal: Mapped[Decimal] = mapped_column(MONEY)
    tax_total: Mapped[Decimal] = mapped_column(MONEY)
    total: Mapped[Decimal] = mapped_column(MONEY)
    amount_paid: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BillLine(TenantScoped, Base):
    __tablename__ = "fin_bill_line"
    __table_args__ = (
        tenant_fk("bill_id", "fin_bill", ondelete="CASCADE"),
        tenant_fk("account_id", "fin_account"),
        CheckConstraint("amount > 0 AND tax >= 0", name="amounts"),
        Index(None, "tenant_id", "bill_id"),
    )

    bill_id: Mapped[uuid.UUID]
    description: Mapped[str] = mapped_column(String(300))
    account_id: Mapped[uuid.UUID]  # an expense, or inventory / goods received not invoiced
    amount: Mapped[Decimal] = mapped_column(MONEY)  # net
    tax: Mapped[Decimal] = mapped_column(MONEY)


class BillPayment(TenantScoped, Base):
    __tablename__ = "fin_bill_payment"
    __table_args__ = (
        tenant_fk("bill_id", "fin_bill"),
        CheckConstraint("amount > 0", name="amount"),
        Index(None, "tenant_id", "bill_id"),
    )

    bill_id: Mapped[uuid.UUID]
    amount: Mapped[Decimal] = mapped_column(MONEY)
    method: Mapped[str] = mapped_column(String(16))
    paid_on: Mapped[date]
    reference: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Budget(TenantScoped, Base):
    """The amount planned for an account in a month (income: earned; expenses: spent)."""

    __tablename__ = "fin_budget"
    __table_args__ = (
        UniqueConstraint("tenant_id", "account_id", "year", "month"),
        tenant_fk("account_id", "fin_account"),
        CheckConstraint("month BETWEEN 1 AND 12", name="month"),
    )

    account_id: Mapped[uuid.UUID]
    year: Mapped[int]
    month: Mapped[int]
    amount: Mapped[Decimal] = mapped_column(MONEY)


class CreditLimit(TenantScoped, Base):
    """How much a customer may owe: an order that would take them over it waits for review."""

    __tablename__ = "fin_credit_limit"
    __table_args__ = (
        UniqueConstraint("tenant_id", "customer_id"),
        CheckConstraint("amount >= 0", name="amount"),
    )

    customer_id: Mapped[uuid.UUID]
    amount: Mapped[Decimal] = mapped_column(MONEY)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
