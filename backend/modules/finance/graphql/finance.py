"""Finance queries and mutations: accounts, journal entries, periods, invoices, payments, statements."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.api.errors import UserError, run_mutation
from backend.api.gates import gated_field, gated_mutation
from backend.api.money import MoneyType
from backend.api.relay import Connection, NodeSource, decode_id, keyset_page, page_args
from backend.modules.crm.graphql.customers import customer_loader
from backend.modules.crm.graphql.types import CustomerType
from backend.modules.finance import service as finance
from backend.modules.finance.graphql.types import (
    AccountKind,
    AccountType,
    InvoiceStatus,
    InvoiceType,
    JournalEntryType,
    PaymentMethod,
    PaymentType,
    account_loader,
    load_accounts,
    load_entries,
    load_invoices,
    load_payments,
)
from backend.modules.finance.models import Account, Invoice, JournalEntry, JournalLine, Payment
from backend.modules.finance.reports import BUCKETS

_account = Account.__table__
_entry = JournalEntry.__table__
_jline = JournalLine.__table__
_invoice = Invoice.__table__
_payment = Payment.__table__


def _actor(ctx: RequestContext) -> uuid.UUID | None:
    return ctx.principal.user_id if ctx.principal is not None else None


# --- inputs and payloads ----------------------------------------------------------------------------------


@strawberry.input
class AccountCreateInput:
    code: str
    name: str
    type: AccountKind
    parent_id: strawberry.ID | None = None


@strawberry.input
class AccountUpdateInput:
    id: strawberry.ID
    name: str | None = None
    active: bool | None = None


@strawberry.type
class AccountPayload:
    account: AccountType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class JournalLineInput:
    account_id: strawberry.ID
    debit: Decimal = Decimal(0)
    credit: Decimal = Decimal(0)
    customer_id: strawberry.ID | None = None
    memo: str | None = None


@strawberry.input
class JournalEntryPostInput:
    date: date
    lines: list[JournalLineInput]
    memo: str | None = None
    reference: str | None = None


@strawberry.input
class JournalEntryReverseInput:
    id: strawberry.ID
    date: date | None = strawberry.field(default=None, description="Default: today.")
    memo: str | None = None


@strawberry.type
class JournalEntryPayload:
    journal_entry: JournalEntryType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class PeriodInput:
    year: int
    month: int


@strawberry.type
class PeriodPayload:
    year: int | None = None
    month: int | None = None
    status: str | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class InvoiceLineInput:
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal | None = None
    product_id: strawberry.ID | None = None
    account_id: strawberry.ID | None = strawberry.field(default=None, description="Default: sales revenue.")


@strawberry.input
class InvoiceCreateInput:
    customer_id: strawberry.ID
    lines: list[InvoiceLineInput]
    currency_code: str | None = strawberry.field(default=None, description="Default: the base currency.")
    exchange_rate: Decimal | None = strawberry.field(default=None, description="Base currency per unit of "
                                                                               "currencyCode (another currency).")
    due_date: date | None = None
    notes: str | None = None
    idempotency_key: str | None = None


@strawberry.input
class InvoiceIdInput:
    id: strawberry.ID
    issue_date: date | None = strawberry.field(default=None, description="invoiceIssue: default today.")


@strawberry.type
class InvoicePayload:
    invoice: InvoiceType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class PaymentAllocationInput:
    invoice_id: strawberry.ID
    amount: Decimal


@strawberry.input
class PaymentRecordInput:
    customer_id: strawberry.ID
    amount: Decimal
    currency_code: str | None = strawberry.field(default=None, description="Default: the base currency; "
                                                                           "allocations are to invoices in it.")
    exchange_rate: Decimal | None = strawberry.field(default=None, description="The rate of the day received; "
                                                                               "the difference is posted to FX.")
    method: PaymentMethod = PaymentMethod.BANK_TRANSFER
    received_on: date | None = None
    reference: str | None = None
    allocations: list[PaymentAllocationInput] | None = strawberry.field(
        default=None, description="Default: the customer's open invoices, oldest due first; the rest is credit.")
    idempotency_key: str | None = None


@strawberry.type
class PaymentPayload:
    payment: PaymentType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class PaymentIntentCreateInput:
    invoice_id: strawberry.ID


@strawberry.type
class PaymentIntentPayload:
    payment_intent_id: str | None = None
    client_secret: str | None = strawberry.field(default=None, description="For Stripe.js on the payer's side.")
    amount: MoneyType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class PaymentRefundInput:
    payment_id: strawberry.ID
    amount: Decimal
    reason: str | None = None


@strawberry.type
class PaymentRefundPayload:
    payment: PaymentType | None = None
    refunded: MoneyType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class FinanceSettingsType:
    chart: str
    invoice_on: str = strawberry.field(description="APPROVAL, SHIPMENT or MANUAL: when orders are invoiced.")
    payment_terms_days: int
    stripe_account_id: str | None


@strawberry.input
class FinanceSettingsUpdateInput:
    invoice_on: str | None = None
    payment_terms_days: int | None = None
    stripe_account_id: str | None = None


@strawberry.type
class FinanceSettingsPayload:
    settings: FinanceSettingsType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


# --- statements -------------------------------------------------------------------------------------------


@strawberry.type
class TrialBalanceLine:
    debit: MoneyType
    credit: MoneyType
    balance: MoneyType = strawberry.field(description="Debit minus credit.")
    account_pk: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def account(self, info: Info) -> AccountType:
        return await account_loader(info.context).load(self.account_pk)


@strawberry.type
class TrialBalance:
    as_of: date
    lines: list[TrialBalanceLine]
    total_debit: MoneyType
    total_credit: MoneyType


@strawberry.type
class StatementLine:
    amount: MoneyType
    account_pk: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def account(self, info: Info) -> AccountType:
        return await account_loader(info.context).load(self.account_pk)


@strawberry.type
class ProfitAndLoss:
    income: list[StatementLine]
    expenses: list[StatementLine]
    total_income: MoneyType
    total_expenses: MoneyType
    net_income: MoneyType


@strawberry.type
class BalanceSheet:
    as_of: date
    assets: list[StatementLine]
    liabilities: list[StatementLine]
    equity: list[StatementLine]
    current_earnings: MoneyType = strawberry.field(description="Income less expenses not yet closed to equity.")
    total_assets: MoneyType
    total_liabilities_and_equity: MoneyType


@strawberry.type
class AgingLine:
    current: MoneyType
    days_1_30: MoneyType = strawberry.field(name="days1To30")
    days_31_60: MoneyType = strawberry.field(name="days31To60")
    days_61_90: MoneyType = strawberry.field(name="days61To90")
    over_90: MoneyType = strawberry.field(name="over90")
    total: MoneyType
    customer_pk: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def customer(self, info: Info) -> CustomerType | None:

        return await customer_loader(info.context).load(self.customer_pk) if self.customer_pk else None


@strawberry.type
class ArAging:
    as_of: date
    customers: list[AgingLine]
    totals: AgingLine


def _aging_line(buckets: dict[str, Decimal], currency: str, customer: uuid.UUID | None) -> AgingLine:
    amounts = [MoneyType.of(buckets[b], currency) for b in BUCKETS]
    return AgingLine(current=amounts[0], days_1_30=amounts[1], days_31_60=amounts[2], days_61_90=amounts[3],
                     over_90=amounts[4], total=MoneyType.of(sum(buckets.values(), Decimal(0)), currency),
                     customer_pk=customer)


# --- root fields --------------------------------------------------------------------------------------------


@strawberry.type
class Query:
    @gated_field(module="finance", permission="finance.read")
    async def accounts(self, info: Info, first: int | None = None, after: str | None = None,
                       type: AccountKind | None = None, include_inactive: bool = False) -> Connection[AccountType]:
        ctx: RequestContext = info.context
        stmt = select(_account).where(_account.c.tenant_id == ctx.principal.tenant_id)  # type: ignore[union-attr]
        if type is not None:
            stmt = stmt.where(_account.c.type == type.value)
        if not include_inactive:
            stmt = stmt.where(_account.c.active)
        return await keyset_page(ctx.require_tenant_session(), stmt, args=page_args(first, after),
                                 id_col=_account.c.id, sort_col=_account.c.code, to_node=AccountType.from_row)

    @gated_field(module="finance", permission="finance.read")
    async def journal_entries(self, info: Info, first: int | None = None, after: str | None = None,
                              account_id: strawberry.ID | None = None, source_id: strawberry.ID | None = None,
                              from_: Annotated[date | None, strawberry.argument(name="from")] = None,
                              to: date | None = None) -> Connection[JournalEntryType]:
        ctx: RequestContext = info.context
        stmt = select(_entry).where(_entry.c.tenant_id == ctx.principal.tenant_id)  # type: ignore[union-attr]
        if account_id:
            stmt = stmt.where(_entry.c.id.in_(select(_jline.c.entry_id).where(
                _jline.c.tenant_id == ctx.principal.tenant_id,  # type: ignore[union-attr]
                _jline.c.account_id == decode_id(account_id, "Account", field="accountId"))))
        if source_id:
            stmt = stmt.where(_entry.c.source_id == source_id)
        if from_:
            stmt = stmt.where(_entry.c.entry_date >= from_)
        if to:
            stmt = stmt.where(_entry.c.entry_date <= to)
        return await keyset_page(ctx.require_tenant_session(), stmt, args=page_args(first, after), id_col=_entry.c.id,
                                 sort_col=_entry.c.number, descending=True, to_node=JournalEntryType.from_row)

    @gated_field(module="finance", permission="finance.read")
    async def invoices(self, info: Info, first: int | None = None, after: str | None = None,
                       status: InvoiceStatus | None = None, customer_id: strawberry.ID | None = None,
                       overdue: bool = False) -> Connection[InvoiceType]:
        ctx: RequestContext = info.context
        stmt = select(_invoice).where(_invoice.c.tenant_id == ctx.principal.tenant_id)  # type: ignore[union-attr]
        if status is not None:
            stmt = stmt.where(_invoice.c.status == status.value)
        if customer_id:
            stmt = stmt.where(_invoice.c.customer_id == decode_id(customer_id, "Customer", field="customerId"))
        if overdue:
            stmt = stmt.where(_invoice.c.status.in_(("issued", "partially_paid")), _invoice.c.due_date < date.today())
        return await keyset_page(ctx.require_tenant_session(), stmt, args=page_args(first, after),
                                 id_col=_invoice.c.id, sort_col=_invoice.c.created_at, descending=True,
                                 to_node=InvoiceType.from_row)

    @gated_field(module="finance", permission="finance.read")
    async def payments(self, info: Info, first: int | None = None, after: str | None = None,
                       customer_id: strawberry.ID | None = None) -> Connection[PaymentType]:
        ctx: RequestContext = info.context
        stmt = select(_payment).where(_payment.c.tenant_id == ctx.principal.tenant_id)  # type: ignore[union-attr]
        if customer_id:
            stmt = stmt.where(_payment.c.customer_id == decode_id(customer_id, "Customer", field="customerId"))
        return await keyset_page(ctx.require_tenant_session(), stmt, args=page_args(first, after),
                                 id_col=_payment.c.id, sort_col=_payment.c.created_at, descending=True,
                                 to_node=PaymentType.from_row)

    @gated_field(module="finance", permission="finance.read")
    async def finance_settings(self, info: Info) -> FinanceSettingsType:
        s = await finance.settings_of(info.context.require_tenant_session())
        return FinanceSettingsType(chart=s.chart, invoice_on=s.invoice_on.upper(),
                                   payment_terms_days=s.payment_terms_days, stripe_account_id=s.stripe_account_id)

    @gated_field(module="finance", permission="finance.read")
    async def trial_balance(self, info: Info, as_of: date | None = None) -> TrialBalance:
        day = as_of or date.today()
        found, currency = await finance.trial_balance(info.context.require_tenant_session(), as_of=day)
        return TrialBalance(as_of=day, lines=[TrialBalanceLine(
            debit=MoneyType.of(b.debit, currency), credit=MoneyType.of(b.credit, currency),
            balance=MoneyType.of(b.balance, currency), account_pk=b.account_id) for b in found],
            total_debit=MoneyType.of(sum((b.debit for b in found), Decimal(0)), currency),
            total_credit=MoneyType.of(sum((b.credit for b in found), Decimal(0)), currency))

    @gated_field(module="finance", permission="finance.read")
    async def profit_and_loss(self, info: Info, from_: Annotated[date, strawberry.argument(name="from")],
                              to: date) -> ProfitAndLoss:
        income, expenses, currency = await finance.profit_and_loss(info.context.require_tenant_session(),
                                                                    since=from_, until=to)
        total_income = sum((-b.balance for b in income), Decimal(0))
        total_expenses = sum((b.balance for b in expenses), Decimal(0))
        return ProfitAndLoss(
            income=[StatementLine(amount=MoneyType.of(-b.balance, currency), account_pk=b.account_id) for b in income],
            expenses=[StatementLine(amount=MoneyType.of(b.balance, currency), account_pk=b.account_id)
                      for b in expenses],
            total_income=MoneyType.of(total_income, currency), total_expenses=MoneyType.of(total_expenses, currency),
            net_income=MoneyType.of(total_income - total_expenses, currency))

    @gated_field(module="finance", permission="finance.read")
    async def balance_sheet(self, info: Info, as_of: date | None = None) -> BalanceSheet:
        day = as_of or date.today()
        found, earnings, currency = await finance.balance_sheet(info.context.require_tenant_session(), as_of=day)

        def lines(kind: str, sign: int) -> list[StatementLine]:
            return [StatementLine(amount=MoneyType.of(sign * b.balance, currency), account_pk=b.account_id)
                    for b in found if b.type == kind]

        assets = sum((b.balance for b in found if b.type == "asset"), Decimal(0))
        claims = sum((-b.balance for b in found if b.type in ("liability", "equity")), Decimal(0)) + earnings
        return BalanceSheet(as_of=day, assets=lines("asset", 1), liabilities=lines("liability", -1),
                            equity=lines("equity", -1), current_earnings=MoneyType.of(earnings, currency),
                            total_assets=MoneyType.of(assets, currency),
                            total_liabilities_and_equity=MoneyType.of(claims, currency))

    @gated_field(module="finance", permission="finance.read")
    async def ar_aging(self, info: Info, as_of: date | None = None) -> ArAging:
        day = as_of or date.today()
        rows, currency = await finance.ar_aging(info.context.require_tenant_session(), as_of=day)
        totals = {b: sum((r.buckets[b] for r in rows), Decimal(0)) for b in BUCKETS}
        return ArAging(as_of=day, customers=[_aging_line(r.buckets, currency, r.customer_id) for r in rows],
                       totals=_aging_line(totals, currency, None))


@strawberry.type
class Mutation:
    @gated_mutation(module="finance", permission="finance.admin")
    async def account_create(self, info: Info, input: AccountCreateInput) -> AccountPayload:
        ctx: RequestContext = info.context

        async def operation() -> AccountPayload:
            account = await finance.create_account(
                ctx.require_tenant_session(), code=input.code, name=input.name, type=input.type.value,
                parent_id=decode_id(input.parent_id, "Account", field="parentId") if input.parent_id else None)
            return AccountPayload(account=(await load_accounts(ctx, [account.id]))[account.id])

        return await run_mutation(info, AccountPayload, operation, input)

    @gated_mutation(module="finance", permission="finance.admin")
    async def account_update(self, info: Info, input: AccountUpdateInput) -> AccountPayload:
        ctx: RequestContext = info.context

        async def operation() -> AccountPayload:
            account = await finance.update_account(ctx.require_tenant_session(),
                                                   account_id=decode_id(input.id, "Account"), name=input.name,
                                                   active=input.active)
            return AccountPayload(account=(await load_accounts(ctx, [account.id]))[account.id])

        return await run_mutation(info, AccountPayload, operation, input)

    @gated_mutation(module="finance", permission="finance.post")
    async def journal_entry_post(self, info: Info, input: JournalEntryPostInput) -> JournalEntryPayload:
        ctx: RequestContext = info.context

        async def operation() -> JournalEntryPayload:
            entry = await finance.post_manual(
                ctx.require_tenant_session(), entry_date=input.date, memo=input.memo, reference=input.reference,
                posted_by=_actor(ctx), lines=[finance.Line(
                    account_id=decode_id(x.account_id, "Account", field=["lines", str(i), "accountId"]),
                    debit=x.debit, credit=x.credit, memo=x.memo,
                    customer_id=decode_id(x.customer_id, "Customer", field=["lines", str(i), "customerId"])
                    if x.customer_id else None) for i, x in enumerate(input.lines)])
            return JournalEntryPayload(journal_entry=(await load_entries(ctx, [entry.id]))[entry.id])

        return await run_mutation(info, JournalEntryPayload, operation, input)

    @gated_mutation(module="finance", permission="finance.post")
    async def journal_entry_reverse(self, info: Info, input: JournalEntryReverseInput) -> JournalEntryPayload:
        ctx: RequestContext = info.context

        async def operation() -> JournalEntryPayload:
            entry = await finance.reverse_manual(ctx.require_tenant_session(),
                                                 entry_id=decode_id(input.id, "JournalEntry"), entry_date=input.date,
                                                 memo=input.memo, posted_by=_actor(ctx))
            return JournalEntryPayload(journal_entry=(await load_entries(ctx, [entry.id]))[entry.id])

        return await run_mutation(info, JournalEntryPayload, operation, input)

    @gated_mutation(module="finance", permission="finance.admin")
    async def period_close(self, info: Info, input: PeriodInput) -> PeriodPayload:
        return await _period(info, input, "closed")

    @gated_mutation(module="finance", permission="finance.admin")
    async def period_reopen(self, info: Info, input: PeriodInput) -> PeriodPayload:
        return await _period(info, input, "open")

    @gated_mutation(module="finance", permission="finance.write")
    async def invoice_create(self, info: Info, input: InvoiceCreateInput) -> InvoicePayload:
        ctx: RequestContext = info.context

        async def operation() -> InvoicePayload:
            invoice = await finance.create_invoice(
                ctx.require_tenant_session(), customer_id=decode_id(input.customer_id, "Customer", field="customerId"),
                currency=input.currency_code, exchange_rate=input.exchange_rate, idempotency_key=input.idempotency_key,
                due_date=input.due_date, notes=input.notes, lines=[finance.InvoiceLineInput(
                    description=x.description, quantity=x.quantity, unit_price=x.unit_price, tax_rate=x.tax_rate,
                    product_id=decode_id(x.product_id, "Product", field=["lines", str(i), "productId"])
                    if x.product_id else None,
                    account_id=decode_id(x.account_id, "Account", field=["lines", str(i), "accountId"])
                    if x.account_id else None) for i, x in enumerate(input.lines)])
            return InvoicePayload(invoice=(await load_invoices(ctx, [invoice.id]))[invoice.id])

        return await run_mutation(info, InvoicePayload, operation, input)

    @gated_mutation(module="finance", permission="finance.write")
    async def invoice_issue(self, info: Info, input: InvoiceIdInput) -> InvoicePayload:
        ctx: RequestContext = info.context

        async def operation() -> InvoicePayload:
            invoice = await finance.issue_invoice(ctx.require_tenant_session(),
                                                  invoice_id=decode_id(input.id, "Invoice"),
                                                  issue_date=input.issue_date, actor=_actor(ctx))
            return InvoicePayload(invoice=(await load_invoices(ctx, [invoice.id]))[invoice.id])

        return await run_mutation(info, InvoicePayload, operation, input)

    @gated_mutation(module="finance", permission="finance.write")
    async def invoice_void(self, info: Info, input: InvoiceIdInput) -> InvoicePayload:
        ctx: RequestContext = info.context

        async def operation() -> InvoicePayload:
            invoice = await finance.void_invoice(ctx.require_tenant_session(),
                                                 invoice_id=decode_id(input.id, "Invoice"), actor=_actor(ctx))
            return InvoicePayload(invoice=(await load_invoices(ctx, [invoice.id]))[invoice.id])

        return await run_mutation(info, InvoicePayload, operation, input)

    @gated_mutation(module="finance", permission="finance.write")
    async def payment_record(self, info: Info, input: PaymentRecordInput) -> PaymentPayload:
        ctx: RequestContext = info.context

        async def operation() -> PaymentPayload:
            payment = await finance.record_payment(
                ctx.require_tenant_session(), customer_id=decode_id(input.customer_id, "Customer", field="customerId"),
                amount=input.amount, method=input.method.value, received_on=input.received_on,
                currency=input.currency_code, exchange_rate=input.exchange_rate, idempotency_key=input.idempotency_key,
                reference=input.reference, actor=_actor(ctx), allocations=None if input.allocations is None else [
                    (decode_id(x.invoice_id, "Invoice", field=["allocations", str(i), "invoiceId"]), x.amount)
                    for i, x in enumerate(input.allocations)])
            return PaymentPayload(payment=(await load_payments(ctx, [payment.id]))[payment.id])

        return await run_mutation(info, PaymentPayload, operation, input)

    @gated_mutation(module="finance", permission="finance.write",
                    description="A Stripe PaymentIntent for the invoice's balance on your connected account.")
    async def payment_intent_create(self, info: Info, input: PaymentIntentCreateInput) -> PaymentIntentPayload:
        from backend.modules.finance.stripe_payments import create_payment_intent

        ctx: RequestContext = info.context

        async def operation() -> PaymentIntentPayload:
            intent = await create_payment_intent(ctx.require_tenant_session(),
                                                 invoice_id=decode_id(input.invoice_id, "Invoice", field="invoiceId"),
                                                 settings=ctx.request.app.state.settings)  # type: ignore[union-attr]
            return PaymentIntentPayload(payment_intent_id=intent.id, client_secret=intent.client_secret,
                                        amount=MoneyType.of(intent.amount, intent.currency))

        return await run_mutation(info, PaymentIntentPayload, operation, input)

    @gated_mutation(module="finance", permission="finance.write",
                    description="Give money back on a payment: its credit first, then reopening what it paid.")
    async def payment_refund(self, info: Info, input: PaymentRefundInput) -> PaymentRefundPayload:
        from backend.modules.finance.stripe_payments import record_refund

        ctx: RequestContext = info.context

        async def operation() -> PaymentRefundPayload:
            payment_id = decode_id(input.payment_id, "Payment", field="paymentId")
            refund = await record_refund(ctx.require_tenant_session(), payment_id=payment_id, amount=input.amount,
                                         reason=input.reason, actor=_actor(ctx))
            payment = (await load_payments(ctx, [payment_id]))[payment_id]
            return PaymentRefundPayload(payment=payment, refunded=MoneyType.of(refund.amount,
                                                                               payment.amount.currency_code))

        return await run_mutation(info, PaymentRefundPayload, operation, input)

    @gated_mutation(module="finance", permission="finance.admin")
    async def finance_settings_update(self, info: Info, input: FinanceSettingsUpdateInput) -> FinanceSettingsPayload:
        ctx: RequestContext = info.context

        async def operation() -> FinanceSettingsPayload:
            s = await finance.update_settings(
                ctx.require_tenant_session(), invoice_on=input.invoice_on.lower() if input.invoice_on else None,
                payment_terms_days=input.payment_terms_days, stripe_account_id=input.stripe_account_id)
            return FinanceSettingsPayload(settings=FinanceSettingsType(
                chart=s.chart, invoice_on=s.invoice_on.upper(), payment_terms_days=s.payment_terms_days,
                stripe_account_id=s.stripe_account_id))

        return await run_mutation(info, FinanceSettingsPayload, operation, input)


async def _period(info: Info, input: PeriodInput, status: str) -> PeriodPayload:
    ctx: RequestContext = info.context

    async def operation() -> PeriodPayload:
        await finance.set_period(ctx.require_tenant_session(), year=input.year, month=input.month, status=status,
                                 actor=_actor(ctx))
        return PeriodPayload(year=input.year, month=input.month, status=status.upper())

    return await run_mutation(info, PeriodPayload, operation, input)


node_sources = [
    NodeSource("Account", "finance", "finance.read", load_accounts),
    NodeSource("JournalEntry", "finance", "finance.read", load_entries),
    NodeSource("Invoice", "finance", "finance.read", load_invoices),
    NodeSource("Payment", "finance", "finance.read", load_payments),
]
