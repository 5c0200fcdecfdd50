"""Finance object types and their per-request loaders (one query per batch)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.api.gates import cross_module_field
from backend.api.loaders import by_id_loader, grouped_loader, rows_by_id
from backend.api.money import MoneyType
from backend.api.relay import Node
from backend.core.db import any_of
from backend.core.ids import to_global_id
from backend.modules.crm.graphql.customers import customer_loader
from backend.modules.crm.graphql.types import CustomerType
from backend.modules.finance.models import Account, Invoice, InvoiceLine, JournalEntry, JournalLine, Payment

if TYPE_CHECKING:
    from backend.modules.orders.graphql.types import OrderType

_account = Account.__table__
_entry = JournalEntry.__table__
_jline = JournalLine.__table__
_invoice = Invoice.__table__
_iline = InvoiceLine.__table__
_payment = Payment.__table__


@strawberry.enum
class AccountKind(Enum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"


@strawberry.enum
class InvoiceStatus(Enum):
    DRAFT = "draft"
    ISSUED = "issued"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"


@strawberry.enum
class PaymentMethod(Enum):
    BANK_TRANSFER = "bank_transfer"
    CASH = "cash"
    CARD = "card"
    STRIPE = "stripe"
    OTHER = "other"


@strawberry.enum
class JournalEntryKind(Enum):
    MANUAL = "manual"
    AUTOMATIC = "automatic"
    REVERSAL = "reversal"
    OPENING = "opening"


async def load_accounts(ctx: RequestContext, ids: list[uuid.UUID]) -> dict[uuid.UUID, AccountType]:
    rows = await rows_by_id(ctx, _account, ids)
    return {r.id: AccountType.from_row(r) for r in rows}


async def load_entries(ctx: RequestContext, ids: list[uuid.UUID]) -> dict[uuid.UUID, JournalEntryType]:
    rows = await rows_by_id(ctx, _entry, ids)
    return {r.id: JournalEntryType.from_row(r) for r in rows}


async def load_invoices(ctx: RequestContext, ids: list[uuid.UUID]) -> dict[uuid.UUID, InvoiceType]:
    rows = await rows_by_id(ctx, _invoice, ids)
    return {r.id: InvoiceType.from_row(r) for r in rows}


async def load_payments(ctx: RequestContext, ids: list[uuid.UUID]) -> dict[uuid.UUID, PaymentType]:
    rows = await rows_by_id(ctx, _payment, ids)
    return {r.id: PaymentType.from_row(r) for r in rows}


def account_loader(ctx: RequestContext):  # type: ignore[no-untyped-def]
    return by_id_loader(ctx, "AccountById", load_accounts)


def _jlines_stmt(tenant_id: uuid.UUID, keys: list[uuid.UUID]):  # type: ignore[no-untyped-def]
    return (select(_jline).where(_jline.c.tenant_id == tenant_id, any_of(_jline.c.entry_id, keys))
            .order_by(_jline.c.debit.desc(), _jline.c.id))


def _ilines_stmt(tenant_id: uuid.UUID, keys: list[uuid.UUID]):  # type: ignore[no-untyped-def]
    # Each line brings its invoice's currency: one batch can mix invoices in several currencies.
    same = (_invoice.c.tenant_id == _iline.c.tenant_id) & (_invoice.c.id == _iline.c.invoice_id)
    return (select(_iline, _invoice.c.currency).join(_invoice, same)
            .where(_iline.c.tenant_id == tenant_id, any_of(_iline.c.invoice_id, keys)).order_by(_iline.c.position))


def _invoice_line_of_row(r) -> InvoiceLineType:  # type: ignore[no-untyped-def]
    return InvoiceLineType.from_row(r, r.currency)


def _entries_by_source_stmt(tenant_id: uuid.UUID, keys: list[str]):  # type: ignore[no-untyped-def]
    return (select(_entry).where(_entry.c.tenant_id == tenant_id, any_of(_entry.c.source_id, keys))
            .order_by(_entry.c.created_at))


@strawberry.type(name="Account")
class AccountType(Node):
    id: strawberry.ID
    code: str
    name: str
    type: AccountKind
    role: str | None = strawberry.field(description="The automatic postings that use it (ar, revenue, ...).")
    active: bool
    currency_code: str | None
    parent_id: strawberry.ID | None

    @classmethod
    def from_row(cls, r) -> AccountType:  # type: ignore[no-untyped-def]
        return cls(id=to_global_id("Account", r.id), code=r.code, name=r.name, type=AccountKind(r.type), role=r.role,
                   active=r.active, currency_code=r.currency,
                   parent_id=strawberry.ID(to_global_id("Account", r.parent_id)) if r.parent_id else None)


@strawberry.type(name="JournalLine")
class JournalLineType:
    debit: Decimal
    credit: Decimal
    memo: str | None
    account_pk: strawberry.Private[uuid.UUID]
    customer_pk: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_row(cls, r) -> JournalLineType:  # type: ignore[no-untyped-def]
        return cls(debit=r.debit.quantize(Decimal("0.01")), credit=r.credit.quantize(Decimal("0.01")), memo=r.memo,
                   account_pk=r.account_id, customer_pk=r.customer_id)

    @strawberry.field
    async def account(self, info: Info) -> AccountType:
        return await account_loader(info.context).load(self.account_pk)

    @strawberry.field
    def customer_id(self) -> strawberry.ID | None:
        return strawberry.ID(to_global_id("Customer", self.customer_pk)) if self.customer_pk else None


@strawberry.type(name="JournalEntry", description="A posted entry; never changed (corrected by reversal).")
class JournalEntryType(Node):
    id: strawberry.ID
    number: str
    date: date
    kind: JournalEntryKind
    memo: str | None
    reference: str | None
    source_id: strawberry.ID | None = strawberry.field(description="Global ID of the source document.")
    reversal_of_id: strawberry.ID | None
    created_at: datetime
    pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, r) -> JournalEntryType:  # type: ignore[no-untyped-def]
        return cls(id=to_global_id("JournalEntry", r.id), number=r.number, date=r.entry_date,
                   kind=JournalEntryKind(r.kind), memo=r.memo, reference=r.reference,
                   source_id=strawberry.ID(r.source_id) if r.source_id else None,
                   reversal_of_id=strawberry.ID(to_global_id("JournalEntry", r.reversal_of_id))
                   if r.reversal_of_id else None, created_at=r.created_at, pk=r.id)

    @strawberry.field
    async def lines(self, info: Info) -> list[JournalLineType]:
        return await grouped_loader(info.context, "entry_id", _jlines_stmt, JournalLineType.from_row).load(self.pk)


@strawberry.type(name="InvoiceLine")
class InvoiceLineType:
    position: int
    description: str
    quantity: Decimal
    unit_price: MoneyType
    tax_rate: Decimal
    subtotal: MoneyType
    tax: MoneyType
    total: MoneyType
    product_id: strawberry.ID | None

    @classmethod
    def from_row(cls, r, currency: str) -> InvoiceLineType:  # type: ignore[no-untyped-def]
        return cls(position=r.position, description=r.description, quantity=r.quantity.normalize(),
                   unit_price=MoneyType.of(r.unit_price, currency), tax_rate=r.tax_rate.normalize(),
                   subtotal=MoneyType.of(r.subtotal, currency), tax=MoneyType.of(r.tax, currency),
                   total=MoneyType.of(r.total, currency),
                   product_id=strawberry.ID(to_global_id("Product", r.product_id)) if r.product_id else None)


@strawberry.type(name="Invoice")
class InvoiceType(Node):
    id: strawberry.ID
    number: str | None = strawberry.field(description="Given at issue (gapless); null on drafts.")
    status: InvoiceStatus
    issue_date: date | None
    due_date: date | None
    subtotal: MoneyType
    tax_total: MoneyType
    total: MoneyType
    amount_paid: MoneyType
    amount_credited: MoneyType = strawberry.field(description="By credit notes (returns).")
    exchange_rate: Decimal = strawberry.field(description="Base currency per unit (1 in the base currency).")
    balance_due: MoneyType
    notes: str | None
    created_at: datetime
    pk: strawberry.Private[uuid.UUID]
    customer_pk: strawberry.Private[uuid.UUID]
    order_pk: strawberry.Private[uuid.UUID | None]
    currency: strawberry.Private[str]

    @classmethod
    def from_row(cls, r) -> InvoiceType:  # type: ignore[no-untyped-def]
        def money(amount: Decimal) -> MoneyType:
            return MoneyType.of(amount, r.currency)

        return cls(id=to_global_id("Invoice", r.id), number=r.number, status=InvoiceStatus(r.status),
                   issue_date=r.issue_date, due_date=r.due_date, subtotal=money(r.subtotal),
                   tax_total=money(r.tax_total), total=money(r.total), amount_paid=money(r.amount_paid),
                   balance_due=money(r.total - r.amount_paid - r.amount_credited if r.status != "void" else Decimal(0)),
                   amount_credited=money(r.amount_credited), exchange_rate=r.exchange_rate.normalize(), notes=r.notes,
                   created_at=r.created_at, pk=r.id, customer_pk=r.customer_id, order_pk=r.order_id,
                   currency=r.currency)

    @strawberry.field
    async def lines(self, info: Info) -> list[InvoiceLineType]:
        return await grouped_loader(info.context, "invoice_id", _ilines_stmt, _invoice_line_of_row).load(self.pk)

    @strawberry.field
    async def customer(self, info: Info) -> CustomerType | None:
        return await customer_loader(info.context).load(self.customer_pk)

    @strawberry.field
    def order_id(self) -> strawberry.ID | None:
        return strawberry.ID(to_global_id("Order", self.order_pk)) if self.order_pk else None

    @cross_module_field(module="orders", description="The order it bills (null for invoices made by hand).")
    async def order(self, info: Info) -> Annotated[OrderType, strawberry.lazy(
            "backend.modules.orders.graphql.types")] | None:
        if self.order_pk is None or not info.context.principal.can("orders.read"):
            return None
        from backend.modules.orders.graphql.types import load_orders

        return await by_id_loader(info.context, "OrderById", load_orders).load(self.order_pk)

    @strawberry.field(description="The entries posted for it: the issue, and a reversal if voided.")
    async def journal_entries(self, info: Info) -> list[JournalEntryType]:
        return await grouped_loader(info.context, "source_id", _entries_by_source_stmt,
                                    JournalEntryType.from_row).load(self.id)


@strawberry.type(name="Payment")
class PaymentType(Node):
    id: strawberry.ID
    number: str
    method: PaymentMethod
    amount: MoneyType
    unapplied: MoneyType = strawberry.field(description="Left as customer credit.")
    received_on: date
    reference: str | None
    created_at: datetime
    customer_pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, r) -> PaymentType:  # type: ignore[no-untyped-def]
        return cls(id=to_global_id("Payment", r.id), number=r.number, method=PaymentMethod(r.method),
                   amount=MoneyType.of(r.amount, r.currency), unapplied=MoneyType.of(r.unapplied, r.currency),
                   received_on=r.received_on, reference=r.reference, created_at=r.created_at,
                   customer_pk=r.customer_id)

    @strawberry.field
    async def customer(self, info: Info) -> CustomerType | None:
        return await customer_loader(info.context).load(self.customer_pk)


def _customer_invoices_stmt(tenant_id: uuid.UUID, keys: list[uuid.UUID]):  # type: ignore[no-untyped-def]
    return (select(_invoice).where(_invoice.c.tenant_id == tenant_id, any_of(_invoice.c.customer_id, keys))
            .order_by(_invoice.c.created_at.desc()).limit(5000))


def _order_invoices_stmt(tenant_id: uuid.UUID, keys: list[uuid.UUID]):  # type: ignore[no-untyped-def]
    return (select(_invoice).where(_invoice.c.tenant_id == tenant_id, any_of(_invoice.c.order_id, keys))
            .order_by(_invoice.c.created_at))


async def invoices_of(info: Info, *, customer_id: uuid.UUID | None = None, order_id: uuid.UUID | None = None
                      ) -> list[InvoiceType]:
    """``Customer.invoices`` and ``Order.invoices``: batched; empty without ``finance.read``."""
    ctx: RequestContext = info.context
    if ctx.principal is None or not ctx.principal.can("finance.read"):
        return []
    if customer_id is not None:
        return await grouped_loader(ctx, "customer_id", _customer_invoices_stmt, InvoiceType.from_row).load(
            customer_id)
    return await grouped_loader(ctx, "order_id", _order_invoices_stmt, InvoiceType.from_row).load(order_id)


def _order_payments_stmt(tenant_id: uuid.UUID, keys: list[uuid.UUID]):  # type: ignore[no-untyped-def]
    from backend.modules.finance.models import PaymentAllocation

    allocation = PaymentAllocation.__table__
    return (select(_payment, _invoice.c.order_id).distinct()
            .join(allocation, (allocation.c.tenant_id == _payment.c.tenant_id)
                  & (allocation.c.payment_id == _payment.c.id))
            .join(_invoice, (_invoice.c.tenant_id == allocation.c.tenant_id)
                  & (_invoice.c.id == allocation.c.invoice_id))
            .where(_payment.c.tenant_id == tenant_id, any_of(_invoice.c.order_id, keys))
            .order_by(_payment.c.received_on, _payment.c.number))


async def payments_of_order(info: Info, order_id: uuid.UUID) -> list[PaymentType]:
    """``Order.payments``: payments applied to the order's invoices; empty without ``finance.read``."""
    ctx: RequestContext = info.context
    if ctx.principal is None or not ctx.principal.can("finance.read"):
        return []
    return await grouped_loader(ctx, "order_id", _order_payments_stmt, PaymentType.from_row).load(order_id)
