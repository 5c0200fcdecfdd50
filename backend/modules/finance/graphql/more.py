"""Supplier bills, budgets, the tax report, general ledger detail, customer statements, AP aging."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.api.errors import UserError, run_mutation
from backend.api.gates import gated_field, gated_mutation
from backend.api.money import MoneyType
from backend.api.relay import Connection, Node, NodeSource, decode_id, keyset_page, page_args
from backend.core.db import any_of
from backend.core.ids import to_global_id
from backend.modules.finance import service as finance
from backend.modules.finance.graphql.types import AccountType, PaymentMethod, account_loader
from backend.modules.finance.models import Bill
from backend.modules.finance.reports import BUCKETS

_bill = Bill.__table__


@strawberry.enum
class BillStatus(Enum):
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"


@strawberry.type(name="Bill", description="A supplier's bill.")
class BillType(Node):
    id: strawberry.ID
    number: str
    supplier: str
    reference: str | None
    status: BillStatus
    bill_date: date
    due_date: date
    subtotal: MoneyType
    tax_total: MoneyType
    total: MoneyType
    amount_paid: MoneyType
    balance_due: MoneyType

    @classmethod
    def from_row(cls, r, currency: str) -> BillType:  # type: ignore[no-untyped-def]
        def money(amount: Decimal) -> MoneyType:
            return MoneyType.of(amount, currency)

        return cls(id=to_global_id("Bill", r.id), number=r.number, supplier=r.supplier, reference=r.reference,
                   status=BillStatus(r.status), bill_date=r.bill_date, due_date=r.due_date,
                   subtotal=money(r.subtotal), tax_total=money(r.tax_total), total=money(r.total),
                   amount_paid=money(r.amount_paid), balance_due=money(r.total - r.amount_paid))


async def load_bills(ctx: RequestContext, ids: list[uuid.UUID]) -> dict[uuid.UUID, BillType]:
    from backend.modules.finance.ledger import base_currency

    session = ctx.require_tenant_session()
    currency = await base_currency(session)
    rows = await session.execute(select(_bill).where(_bill.c.tenant_id == ctx.principal.tenant_id,  # type: ignore[union-attr]
                                                     any_of(_bill.c.id, ids)))
    return {r.id: BillType.from_row(r, currency) for r in rows}


@strawberry.input
class BillLineInput:
    description: str
    account_id: strawberry.ID = strawberry.field(description="An expense, inventory, or GRNI account.")
    amount: Decimal = strawberry.field(description="Net of tax.")
    tax_rate: Decimal | None = None


@strawberry.input
class BillCreateInput:
    supplier: str
    lines: list[BillLineInput]
    reference: str | None = strawberry.field(default=None, description="The supplier's invoice number.")
    bill_date: date | None = None
    due_date: date | None = None


@strawberry.input
class BillPayInput:
    bill_id: strawberry.ID
    amount: Decimal
    method: PaymentMethod = PaymentMethod.BANK_TRANSFER
    paid_on: date | None = None
    reference: str | None = None


@strawberry.type
class BillPayload:
    bill: BillType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class BudgetSetInput:
    account_id: strawberry.ID
    year: int
    month: int | None = strawberry.field(default=None, description="Omitted: the amount is spread over the year.")
    amount: Decimal


@strawberry.type
class BudgetSetPayload:
    months: int | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class BudgetLineType:
    budget: MoneyType
    actual: MoneyType
    variance: MoneyType = strawberry.field(description="Actual minus budget.")
    percent: Decimal | None = strawberry.field(description="Actual as a percent of the budget.")
    account_pk: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def account(self, info: Info) -> AccountType:
        return await account_loader(info.context).load(self.account_pk)


@strawberry.type
class BudgetEntry:
    year: int
    month: int
    amount: MoneyType
    account_pk: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def account(self, info: Info) -> AccountType:
        return await account_loader(info.context).load(self.account_pk)


@strawberry.type
class CashBalance:
    balance: MoneyType
    account_pk: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def account(self, info: Info) -> AccountType:
        return await account_loader(info.context).load(self.account_pk)


@strawberry.type
class TaxReportType:
    collected: MoneyType = strawberry.field(description="Tax charged to customers (net of credit notes).")
    paid: MoneyType = strawberry.field(description="Tax paid on supplier bills.")
    due: MoneyType = strawberry.field(description="Collected minus paid.")


@strawberry.type
class LedgerRowType:
    date: date
    number: str
    memo: str | None
    debit: MoneyType
    credit: MoneyType
    balance: MoneyType = strawberry.field(description="Running, debit-positive.")


@strawberry.type
class AccountDetail:
    opening_balance: MoneyType
    rows: list[LedgerRowType]
    closing_balance: MoneyType


@strawberry.type
class SupplierAging:
    supplier: str
    current: MoneyType
    days_1_30: MoneyType = strawberry.field(name="days1To30")
    days_31_60: MoneyType = strawberry.field(name="days31To60")
    days_61_90: MoneyType = strawberry.field(name="days61To90")
    over_90: MoneyType = strawberry.field(name="over90")
    total: MoneyType


def _detail(opening: Decimal, rows, currency: str) -> AccountDetail:  # type: ignore[no-untyped-def]
    def money(amount: Decimal) -> MoneyType:
        return MoneyType.of(amount, currency)

    return AccountDetail(opening_balance=money(opening), closing_balance=money(rows[-1].balance if rows else opening),
                         rows=[LedgerRowType(date=r.entry_date, number=r.number, memo=r.memo, debit=money(r.debit),
                                             credit=money(r.credit), balance=money(r.balance)) for r in rows])


@strawberry.input
class FinanceBackfillInput:
    from_: date = strawberry.field(name="from")
    to: date


@strawberry.type
class FinanceBackfillPayload:
    events: int | None = strawberry.field(default=None, description="Events of the period finance posts.")
    posted: int | None = None
    skipped: int | None = strawberry.field(default=None, description="Already posted, or refused.")
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class CreditLimitSetInput:
    customer_id: strawberry.ID
    amount: Decimal | None = strawberry.field(description="null removes the limit.")


@strawberry.type
class CreditStanding:
    open_balance: MoneyType = strawberry.field(description="Owed on issued invoices.")
    overdue: MoneyType
    credit_limit: MoneyType | None
    available: MoneyType | None = strawberry.field(description="The limit less the open balance.")


@strawberry.type
class CreditStandingPayload:
    standing: CreditStanding | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


async def _standing(session, customer_id: uuid.UUID) -> CreditStanding:  # type: ignore[no-untyped-def]
    from backend.modules.finance.ledger import base_currency

    currency = await base_currency(session)
    s = await finance.standing(session, customer_id=customer_id)
    limit = s.credit_limit
    return CreditStanding(open_balance=MoneyType.of(s.open_balance, currency),
                          overdue=MoneyType.of(s.overdue, currency),
                          credit_limit=MoneyType.of(limit, currency) if limit is not None else None,
                          available=MoneyType.of(limit - s.open_balance, currency) if limit is not None else None)


@strawberry.type
class Query:
    @gated_field(module="finance", permission="finance.read")
    async def credit_standing(self, info: Info, customer_id: strawberry.ID) -> CreditStanding:
        return await _standing(info.context.require_tenant_session(),
                               decode_id(customer_id, "Customer", field="customerId"))

    @gated_field(module="finance", permission="finance.read")
    async def bills(self, info: Info, first: int | None = None, after: str | None = None,
                    status: BillStatus | None = None) -> Connection[BillType]:
        from backend.modules.finance.ledger import base_currency

        ctx: RequestContext = info.context
        session = ctx.require_tenant_session()
        currency = await base_currency(session)
        stmt = select(_bill).where(_bill.c.tenant_id == ctx.principal.tenant_id)  # type: ignore[union-attr]
        if status is not None:
            stmt = stmt.where(_bill.c.status == status.value)
        return await keyset_page(session, stmt, args=page_args(first, after), id_col=_bill.c.id,
                                 sort_col=_bill.c.number, descending=True,
                                 to_node=lambda r: BillType.from_row(r, currency))

    @gated_field(module="finance", permission="finance.read")
    async def ap_aging(self, info: Info, as_of: date | None = None) -> list[SupplierAging]:
        from backend.modules.finance.ledger import base_currency

        session = info.context.require_tenant_session()
        currency = await base_currency(session)
        out = []
        for supplier, buckets in await finance.ap_aging(session, as_of=as_of or date.today()):
            amounts = [MoneyType.of(buckets[b], currency) for b in BUCKETS]
            out.append(SupplierAging(supplier=supplier, current=amounts[0], days_1_30=amounts[1],
                                     days_31_60=amounts[2], days_61_90=amounts[3], over_90=amounts[4],
                                     total=MoneyType.of(sum(buckets.values(), Decimal(0)), currency)))
        return out

    @gated_field(module="finance", permission="finance.read",
                 description='The budget of a period ("2026" or "2026-11", or year and month) against the ledger.')
    async def budget_vs_actual(self, info: Info, period: str | None = None, year: int | None = None,
                               month: int | None = None) -> list[BudgetLineType]:
        from backend.core.errors import DomainError
        from backend.modules.finance.ledger import base_currency

        if period is not None:
            try:
                parts = [int(p) for p in period.strip().split("-")]
                year, month = parts[0], (parts[1] if len(parts) > 1 else None)
            except (ValueError, IndexError):
                raise DomainError("INVALID_PERIOD", 'A period is "YYYY" or "YYYY-MM".', "period") from None
        if year is None:
            raise DomainError("INVALID_PERIOD", "Give a period, or a year.", "period")
        session = info.context.require_tenant_session()
        currency = await base_currency(session)
        return [BudgetLineType(budget=MoneyType.of(x.budget, currency), actual=MoneyType.of(x.actual, currency),
                               variance=MoneyType.of(x.variance, currency), percent=x.percent,
                               account_pk=x.account_id)
                for x in await finance.budget_vs_actual(session, year=year, month=month)]

    @gated_field(module="finance", permission="finance.read", description="Budget amounts, by account and month.")
    async def budgets(self, info: Info, year: int) -> list[BudgetEntry]:
        from backend.modules.finance.ledger import base_currency
        from backend.modules.finance.models import Budget

        ctx: RequestContext = info.context
        session = ctx.require_tenant_session()
        currency = await base_currency(session)
        table = Budget.__table__
        rows = await session.execute(select(table).where(table.c.tenant_id == ctx.principal.tenant_id,  # type: ignore[union-attr]
                                                         table.c.year == year).order_by(table.c.account_id,
                                                                                        table.c.month))
        return [BudgetEntry(year=r.year, month=r.month, amount=MoneyType.of(r.amount, currency),
                            account_pk=r.account_id) for r in rows]

    @gated_field(module="finance", permission="finance.read",
                 description="The balance of every cash and bank account (and their sub-accounts) at a date.")
    async def cash_position(self, info: Info, as_of: date | None = None) -> list[CashBalance]:
        from backend.modules.finance.models import Account

        session = info.context.require_tenant_session()
        found, currency = await finance.trial_balance(session, as_of=as_of or date.today())
        table = Account.__table__
        cash = {r.id for r in await session.execute(select(table.c.id).where(
            table.c.tenant_id == info.context.principal.tenant_id, table.c.role.in_(("cash", "bank"))))}
        cash |= {r.id for r in await session.execute(select(table.c.id).where(
            table.c.tenant_id == info.context.principal.tenant_id, table.c.parent_id.in_(cash)))}
        return [CashBalance(balance=MoneyType.of(b.balance, currency), account_pk=b.account_id)
                for b in found if b.account_id in cash]

    @gated_field(module="finance", permission="finance.read")
    async def tax_report(self, info: Info, from_: Annotated[date, strawberry.argument(name="from")],
                         to: date) -> TaxReportType:
        from backend.modules.finance.ledger import base_currency

        session = info.context.require_tenant_session()
        currency = await base_currency(session)
        r = await finance.tax_report(session, since=from_, until=to)
        return TaxReportType(collected=MoneyType.of(r.collected, currency), paid=MoneyType.of(r.paid, currency),
                             due=MoneyType.of(r.due, currency))

    @gated_field(module="finance", permission="finance.read", description="Every line of an account in a period.")
    async def general_ledger(self, info: Info, account_id: strawberry.ID,
                             from_: Annotated[date, strawberry.argument(name="from")], to: date) -> AccountDetail:
        session = info.context.require_tenant_session()
        opening, rows, currency = await finance.account_detail(
            session, account_ids=[decode_id(account_id, "Account", field="accountId")], since=from_, until=to)
        return _detail(opening, rows, currency)

    @gated_field(module="finance", permission="finance.read",
                 description="What a customer owes: invoices, payments, credit notes and refunds in the period.")
    async def customer_statement(self, info: Info, customer_id: strawberry.ID,
                                 from_: Annotated[date, strawberry.argument(name="from")], to: date) -> AccountDetail:
        session = info.context.require_tenant_session()
        accounts = [await finance.account_for(session, "ar"), await finance.account_for(session, "customer_credit")]
        opening, rows, currency = await finance.account_detail(
            session, account_ids=accounts, since=from_, until=to,
            customer_id=decode_id(customer_id, "Customer", field="customerId"))
        return _detail(opening, rows, currency)


@strawberry.type
class Mutation:
    @gated_mutation(module="finance", permission="finance.write")
    async def bill_create(self, info: Info, input: BillCreateInput) -> BillPayload:
        ctx: RequestContext = info.context

        async def operation() -> BillPayload:
            bill = await finance.create_bill(
                ctx.require_tenant_session(), supplier=input.supplier, reference=input.reference,
                bill_date=input.bill_date, due_date=input.due_date, actor=ctx.principal.user_id,  # type: ignore[union-attr]
                lines=[finance.BillLineInput(description=x.description, amount=x.amount, tax_rate=x.tax_rate,
                                             account_id=decode_id(x.account_id, "Account",
                                                                  field=["lines", str(i), "accountId"]))
                       for i, x in enumerate(input.lines)])
            return BillPayload(bill=(await load_bills(ctx, [bill.id]))[bill.id])

        return await run_mutation(info, BillPayload, operation, input)

    @gated_mutation(module="finance", permission="finance.write")
    async def bill_pay(self, info: Info, input: BillPayInput) -> BillPayload:
        ctx: RequestContext = info.context

        async def operation() -> BillPayload:
            bill = await finance.pay_bill(ctx.require_tenant_session(),
                                          bill_id=decode_id(input.bill_id, "Bill", field="billId"), amount=input.amount,
                                          method=input.method.value, paid_on=input.paid_on, reference=input.reference,
                                          actor=ctx.principal.user_id)  # type: ignore[union-attr]
            return BillPayload(bill=(await load_bills(ctx, [bill.id]))[bill.id])

        return await run_mutation(info, BillPayload, operation, input)

    @gated_mutation(module="finance", permission="finance.admin")
    async def budget_set(self, info: Info, input: BudgetSetInput) -> BudgetSetPayload:
        ctx: RequestContext = info.context

        async def operation() -> BudgetSetPayload:
            months = await finance.set_budget(ctx.require_tenant_session(),
                                              account_id=decode_id(input.account_id, "Account", field="accountId"),
                                              year=input.year, month=input.month, amount=input.amount)
            return BudgetSetPayload(months=months)

        return await run_mutation(info, BudgetSetPayload, operation, input)


    @gated_mutation(module="finance", permission="finance.admin",
                    description="How much a customer may owe; an order over it is not approved automatically.")
    async def credit_limit_set(self, info: Info, input: CreditLimitSetInput) -> CreditStandingPayload:
        ctx: RequestContext = info.context

        async def operation() -> CreditStandingPayload:
            customer = decode_id(input.customer_id, "Customer", field="customerId")
            session = ctx.require_tenant_session()
            await finance.set_credit_limit(session, customer_id=customer, amount=input.amount)
            return CreditStandingPayload(standing=await _standing(session, customer))

        return await run_mutation(info, CreditStandingPayload, operation, input)

    @gated_mutation(module="finance", permission="finance.admin",
                    description="Post the period's events that finance missed while it was off (idempotent).")
    async def finance_backfill(self, info: Info, input: FinanceBackfillInput) -> FinanceBackfillPayload:
        from backend.modules.finance.backfill import backfill

        ctx: RequestContext = info.context

        async def operation() -> FinanceBackfillPayload:
            done = await backfill(ctx.require_tenant_session(), since=input.from_, until=input.to)
            return FinanceBackfillPayload(events=done.events, posted=done.posted, skipped=done.skipped)

        return await run_mutation(info, FinanceBackfillPayload, operation, input)


node_sources = [NodeSource("Bill", "finance", "finance.read", load_bills)]
