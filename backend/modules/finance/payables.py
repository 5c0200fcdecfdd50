"""Supplier bills and their payments (accounts payable), budgets, and the reports built on them.

* A bill posts Dr each line's account (an expense, inventory, or goods received not invoiced) and
  Dr input tax / Cr payables; paying it posts Dr payables / Cr bank (or cash).
* Budgets are amounts per account and month; ``budget_vs_actual`` compares them with the ledger
  (income: credits - debits; expenses: debits - credits), with the variance and its percent.
* The tax report for a period: tax collected (the tax payable account's credits less debits) versus
  tax paid (the input tax account's debits less credits), and what is due.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.ids import new_id, to_global_id
from backend.core.money import parse_amount, round_money
from backend.core.outbox import next_sequence
from backend.core.validation import optional_text, required_text
from backend.modules.finance.invoices import METHODS, settings_of
from backend.modules.finance.ledger import Line, account_for, base_currency, begin_posting, get_account, post
from backend.modules.finance.models import Account, Bill, BillLine, BillPayment, Budget, JournalLine
from backend.modules.finance.reports import BUCKETS, bucket_of
from backend.modules.platform import service as platform

_bill = Bill.__table__
_bline = BillLine.__table__
_bpay = BillPayment.__table__
_budget = Budget.__table__
_line = JournalLine.__table__
_account = Account.__table__


@dataclass
class BillLineInput:
    description: str
    account_id: uuid.UUID
    amount: Any
    tax_rate: Any = None


async def create_bill(session: AsyncSession, *, supplier: str, lines: list[BillLineInput],
                      bill_date: date | None = None, due_date: date | None = None, reference: str | None = None,
                      actor: uuid.UUID | None = None) -> Bill:
    """Record and post a supplier's bill (BILL-000001)."""
    await platform.ensure_module_enabled(session, "finance")
    await begin_posting(session)
    currency = await base_currency(session)
    if not lines:
        raise DomainError("REQUIRED", "A bill has at least one line.", "lines")
    day = bill_date or date.today()
    terms = (await settings_of(session)).payment_terms_days
    rows, subtotal, tax_total = [], Decimal(0), Decimal(0)
    for i, x in enumerate(lines):
        at = ["lines", str(i)]
        account = await get_account(session, account_id=x.account_id, field_name=[*at, "accountId"])
        if account.type not in ("expense", "asset", "liability") or not account.active:
            raise DomainError("INVALID_ACCOUNT", "Bill lines post to an active expense, asset or GRNI account.",
                              [*at, "accountId"])
        amount = parse_amount(x.amount, currency=currency, field=[*at, "amount"])  # type: ignore[arg-type]
        if amount <= 0:
            raise DomainError("INVALID_AMOUNT", "A bill line is a positive amount.", [*at, "amount"])
        rate = Decimal(0) if x.tax_rate is None else Decimal(str(x.tax_rate))
        if not rate.is_finite() or not 0 <= rate < 100:
            raise DomainError("INVALID_RATE", "A tax rate is 0 to below 100 percent.", [*at, "taxRate"])
        tax = round_money(amount * rate / 100, currency)
        subtotal, tax_total = subtotal + amount, tax_total + tax
        rows.append({"description": required_text(x.description, field="description", max_length=300),
                     "account_id": account.id, "amount": amount, "tax": tax})
    bill = Bill(id=new_id(), number=f"BILL-{await next_sequence(session, 'bill'):06d}",
                supplier=required_text(supplier, field="supplier", max_length=200),
                reference=optional_text(reference, field="reference", max_length=100), status="open",
                bill_date=day, due_date=due_date or day + timedelta(days=terms), subtotal=subtotal,
                tax_total=tax_total, total=subtotal + tax_total, amount_paid=Decimal(0), created_at=utcnow())
    bill.tenant_id = session.info["tenant_id"]
    session.add(bill)
    await session.flush()
    await session.execute(insert(_bline), [{**r, "tenant_id": bill.tenant_id, "id": new_id(), "bill_id": bill.id}
                                           for r in rows])
    await post(session, entry_date=day, memo=f"Bill {bill.number} from {bill.supplier}", reference=bill.reference,
               source_id=to_global_id("Bill", bill.id), posted_by=actor, lines=[
                   *[Line(r["account_id"], debit=r["amount"], supplier=bill.supplier) for r in rows],
                   Line(await account_for(session, "tax_paid"), debit=tax_total, supplier=bill.supplier),
                   Line(await account_for(session, "ap"), credit=bill.total, supplier=bill.supplier)])
    return bill


async def pay_bill(session: AsyncSession, *, bill_id: uuid.UUID, amount: Any, method: str = "bank_transfer",
                   paid_on: date | None = None, reference: str | None = None, actor: uuid.UUID | None = None) -> Bill:
    await platform.ensure_module_enabled(session, "finance")
    await begin_posting(session)
    bill = (await session.execute(select(Bill).where(Bill.tenant_id == session.info["tenant_id"], Bill.id == bill_id)
                                  .with_for_update().execution_options(populate_existing=True))).scalar_one_or_none()
    if bill is None:
        raise DomainError("NOT_FOUND", "No bill with this ID.", "billId")
    if bill.status not in ("open", "partially_paid"):
        raise DomainError("INVALID_TRANSITION", f"This bill is {bill.status.upper()}.", "billId")
    value = parse_amount(amount, currency=await base_currency(session), field="amount")
    if value <= 0:
        raise DomainError("INVALID_AMOUNT", "A payment is a positive amount.", "amount")
    if value > bill.total - bill.amount_paid:
        raise DomainError("OVERPAYMENT", f"Only {bill.total - bill.amount_paid} is owed on this bill.", "amount")
    if method not in METHODS:
        raise DomainError("INVALID_METHOD", "Method is BANK_TRANSFER, CASH, CARD, STRIPE or OTHER.", "method")
    day = paid_on or date.today()
    bill.amount_paid += value
    bill.status = "paid" if bill.amount_paid == bill.total else "partially_paid"
    await session.execute(insert(_bpay).values(tenant_id=bill.tenant_id, id=new_id(), bill_id=bill.id, amount=value,
                                               method=method, paid_on=day, created_at=utcnow(),
                                               reference=optional_text(reference, field="reference", max_length=100)))
    await post(session, entry_date=day, memo=f"Payment of bill {bill.number}", reference=reference,
               source_id=to_global_id("Bill", bill.id), posted_by=actor, lines=[
                   Line(await account_for(session, "ap"), debit=value, supplier=bill.supplier),
                   Line(await account_for(session, "cash" if method == "cash" else "bank"), credit=value,
                        supplier=bill.supplier)])
    await session.flush()
    return bill


async def ap_aging(session: AsyncSession, *, as_of: date) -> list[tuple[str, dict[str, Decimal]]]:
    """Open bill balances by supplier and days past due (payments made by ``as_of``)."""
    await platform.ensure_module_enabled(session, "finance")
    tenant_id = session.info["tenant_id"]
    paid = (select(_bpay.c.bill_id, func.sum(_bpay.c.amount).label("paid")).where(
        _bpay.c.tenant_id == tenant_id, _bpay.c.paid_on <= as_of).group_by(_bpay.c.bill_id).subquery())
    out: dict[str, dict[str, Decimal]] = {}
    for r in await session.execute(select(_bill.c.supplier, _bill.c.due_date,
                                          (_bill.c.total - func.coalesce(paid.c.paid, 0)).label("open"))
                                   .outerjoin(paid, paid.c.bill_id == _bill.c.id)
                                   .where(_bill.c.tenant_id == tenant_id, _bill.c.bill_date <= as_of,
                                          _bill.c.status != "void")):
        if r.open <= 0:
            continue
        row = out.setdefault(r.supplier, {b: Decimal(0) for b in BUCKETS})
        row[bucket_of((as_of - r.due_date).days)] += r.open
    return sorted(out.items(), key=lambda kv: -sum(kv[1].values()))


# --- budgets and the tax report -----------------------------------------------------------------------------


async def set_budget(session: AsyncSession, *, account_id: uuid.UUID, year: int, month: int | None,
                     amount: Any) -> int:
    """Plan ``amount`` for an income or expense account in a month (or, without one, each month of
    the year gets a twelfth, the rounding left on December). Returns the months set."""
    await platform.ensure_module_enabled(session, "finance")
    account = await get_account(session, account_id=account_id)
    if account.type not in ("income", "expense"):
        raise DomainError("NOT_PROFIT_AND_LOSS", "Budgets are for income and expense accounts.", "accountId")
    if not 2000 <= year <= 2200 or (month is not None and not 1 <= month <= 12):
        raise DomainError("INVALID_PERIOD", "Year 2000-2200, month 1-12.", "month")
    currency = await base_currency(session)
    value = parse_amount(amount, currency=currency, field="amount")
    months = {month: value} if month is not None else {}
    if month is None:
        share = round_money(value / 12, currency)
        months = {m: share for m in range(1, 12)}
        months[12] = value - share * 11
    for m, v in months.items():
        stmt = insert(_budget).values(tenant_id=session.info["tenant_id"], id=new_id(), account_id=account.id,
                                      year=year, month=m, amount=v)
        await session.execute(stmt.on_conflict_do_update(index_elements=["tenant_id", "account_id", "year", "month"],
                                                         set_={"amount": v}))
    return len(months)


@dataclass
class BudgetLine:
    account_id: uuid.UUID
    budget: Decimal
    actual: Decimal

    @property
    def variance(self) -> Decimal:
        return self.actual - self.budget

    @property
    def percent(self) -> Decimal | None:
        return None if not self.budget else (self.actual / self.budget * 100).quantize(Decimal("0.1"))


async def budget_vs_actual(session: AsyncSession, *, year: int, month: int | None = None) -> list[BudgetLine]:
    await platform.ensure_module_enabled(session, "finance")
    tenant_id = session.info["tenant_id"]
    since = date(year, month or 1, 1)
    until = (date(year, month, 28) + timedelta(days=4)).replace(day=1) if month else date(year + 1, 1, 1)
    budget_filter = [_budget.c.tenant_id == tenant_id, _budget.c.year == year]
    if month:
        budget_filter.append(_budget.c.month == month)
    budgets = {r.account_id: r.amount for r in await session.execute(
        select(_budget.c.account_id, func.sum(_budget.c.amount).label("amount")).where(*budget_filter)
        .group_by(_budget.c.account_id))}
    actual = {}
    for r in await session.execute(
            select(_line.c.account_id, _account.c.type, func.sum(_line.c.debit - _line.c.credit).label("net"))
            .join(_account, and_(_account.c.tenant_id == _line.c.tenant_id, _account.c.id == _line.c.account_id))
            .where(_line.c.tenant_id == tenant_id, _line.c.entry_date >= since, _line.c.entry_date < until,
                   _account.c.type.in_(("income", "expense"))).group_by(_line.c.account_id, _account.c.type)):
        actual[r.account_id] = -r.net if r.type == "income" else r.net
    return [BudgetLine(a, budgets.get(a, Decimal(0)), actual.get(a, Decimal(0)))
            for a in sorted(set(budgets) | set(actual), key=str)]


@dataclass
class TaxReport:
    collected: Decimal
    paid: Decimal

    @property
    def due(self) -> Decimal:
        return self.collected - self.paid


async def tax_report(session: AsyncSession, *, since: date, until: date) -> TaxReport:
    await platform.ensure_module_enabled(session, "finance")
    tenant_id = session.info["tenant_id"]

    async def net(role: str) -> Decimal:
        account = await account_for(session, role)
        return Decimal(await session.scalar(select(func.coalesce(func.sum(_line.c.debit - _line.c.credit), 0)).where(
            _line.c.tenant_id == tenant_id, _line.c.account_id == account, _line.c.entry_date >= since,
            _line.c.entry_date <= until)) or 0)

    return TaxReport(collected=-await net("tax_payable"), paid=await net("tax_paid"))
