"""Financial statements from the ledger, in SQL, exact to the cent (amounts are stored rounded).

* Trial balance at a date: per account, the debits and credits up to it; totals are equal.
* Profit and loss for a period: income (credits - debits) and expenses (debits - credits).
* Balance sheet at a date: assets, liabilities and equity, with the earnings not yet closed to
  retained earnings shown as "current earnings", so assets = liabilities + equity.
* AR aging at a date: open invoice balances by days past due (current, 1-30, 31-60, 61-90, 90+).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.errors import DomainError
from backend.modules.finance.ledger import base_currency, tenant_of
from backend.modules.finance.models import Account, Invoice, JournalLine, Payment, PaymentAllocation
from backend.modules.platform import service as platform

_account = Account.__table__
_line = JournalLine.__table__
_invoice = Invoice.__table__
_allocation = PaymentAllocation.__table__
_payment = Payment.__table__
BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")


def bucket_of(days_late: int) -> str:
    """The aging bucket of an amount ``days_late`` past its due date."""
    return ("current" if days_late <= 0 else "1-30" if days_late <= 30 else "31-60" if days_late <= 60
            else "61-90" if days_late <= 90 else "90+")


@dataclass
class AccountBalance:
    account_id: uuid.UUID
    code: str
    name: str
    type: str
    debit: Decimal
    credit: Decimal

    @property
    def balance(self) -> Decimal:
        """Debit-positive."""
        return self.debit - self.credit


async def balances(session: AsyncSession, *, since: date | None = None, until: date | None = None
                   ) -> list[AccountBalance]:
    await platform.ensure_module_enabled(session, "finance")
    tenant_id = tenant_of(session)
    window = [_line.c.tenant_id == tenant_id]
    if since:
        window.append(_line.c.entry_date >= since)
    if until:
        window.append(_line.c.entry_date <= until)
    sums = (select(_line.c.account_id, func.sum(_line.c.debit).label("debit"), func.sum(_line.c.credit).label("credit"))
            .where(*window).group_by(_line.c.account_id).subquery())
    rows = await session.execute(
        select(_account.c.id, _account.c.code, _account.c.name, _account.c.type, sums.c.debit, sums.c.credit)
        .join(sums, sums.c.account_id == _account.c.id).where(_account.c.tenant_id == tenant_id)
        .order_by(_account.c.code))
    return [AccountBalance(r.id, r.code, r.name, r.type, r.debit, r.credit) for r in rows]


async def trial_balance(session: AsyncSession, *, as_of: date) -> tuple[list[AccountBalance], str]:
    return await balances(session, until=as_of), await base_currency(session)


async def profit_and_loss(session: AsyncSession, *, since: date, until: date
                          ) -> tuple[list[AccountBalance], list[AccountBalance], str]:
    if until < since:
        raise DomainError("INVALID_PERIOD", "The period must end after it starts.", "to")
    found = await balances(session, since=since, until=until)
    return ([b for b in found if b.type == "income"], [b for b in found if b.type == "expense"],
            await base_currency(session))


async def balance_sheet(session: AsyncSession, *, as_of: date) -> tuple[list[AccountBalance], Decimal, str]:
    """Asset, liability and equity balances, and the current earnings (income - expenses to date)."""
    found = await balances(session, until=as_of)
    earnings = sum((-b.balance for b in found if b.type in ("income", "expense")), Decimal(0))
    return [b for b in found if b.type in ("asset", "liability", "equity")], earnings, await base_currency(session)


@dataclass
class AgingRow:
    customer_id: uuid.UUID
    buckets: dict[str, Decimal]

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), Decimal(0))


async def ar_aging(session: AsyncSession, *, as_of: date) -> tuple[list[AgingRow], str]:
    """Balances of invoices issued by ``as_of``, less payments received by then and credit notes
    applied, by days past due; in the base currency (invoices in other currencies at their rate)."""
    await platform.ensure_module_enabled(session, "finance")
    tenant_id = tenant_of(session)
    paid = (select(_allocation.c.invoice_id, func.sum(_allocation.c.amount_base).label("paid"))
            .join(_payment, and_(_payment.c.tenant_id == _allocation.c.tenant_id,
                                 _payment.c.id == _allocation.c.payment_id))
            .where(_allocation.c.tenant_id == tenant_id, _payment.c.received_on <= as_of)
            .group_by(_allocation.c.invoice_id).subquery())
    rows = await session.execute(
        select(_invoice.c.customer_id, _invoice.c.due_date,
               (_invoice.c.total_base - _invoice.c.amount_credited - func.coalesce(paid.c.paid, 0)).label("open"))
        .outerjoin(paid, paid.c.invoice_id == _invoice.c.id)
        .where(_invoice.c.tenant_id == tenant_id, _invoice.c.issue_date <= as_of,
               (_invoice.c.status != "void") | (func.date(_invoice.c.voided_at) > as_of)))
    out: dict[uuid.UUID, AgingRow] = {}
    for r in rows:
        if r.open <= 0:
            continue
        row = out.setdefault(r.customer_id, AgingRow(r.customer_id, {b: Decimal(0) for b in BUCKETS}))
        row.buckets[bucket_of((as_of - r.due_date).days)] += r.open
    return sorted(out.values(), key=lambda x: -x.total), await base_currency(session)


@dataclass
class LedgerRow:
    entry_date: date
    number: str
    memo: str | None
    debit: Decimal
    credit: Decimal
    balance: Decimal  # running, debit-positive


async def account_detail(session: AsyncSession, *, account_ids: list[uuid.UUID], since: date, until: date,
                         customer_id: uuid.UUID | None = None) -> tuple[Decimal, list[LedgerRow], str]:
    """The lines of these accounts in the period with a running balance, after the opening balance
    (everything before ``since``); for one customer when ``customer_id`` is given."""
    from backend.modules.finance.models import JournalEntry

    await platform.ensure_module_enabled(session, "finance")
    entry = JournalEntry.__table__
    scope = [_line.c.tenant_id == tenant_of(session), _line.c.account_id.in_(account_ids)]
    if customer_id is not None:
        scope.append(_line.c.customer_id == customer_id)
    opening = Decimal(await session.scalar(select(func.coalesce(func.sum(_line.c.debit - _line.c.credit), 0))
                                           .where(*scope, _line.c.entry_date < since)) or 0)
    rows, running = [], opening
    for r in await session.execute(
            select(_line.c.entry_date, entry.c.number, func.coalesce(_line.c.memo, entry.c.memo).label("memo"),
                   _line.c.debit, _line.c.credit)
            .join(entry, and_(entry.c.tenant_id == _line.c.tenant_id, entry.c.id == _line.c.entry_id))
            .where(*scope, _line.c.entry_date >= since, _line.c.entry_date <= until)
            .order_by(_line.c.entry_date, entry.c.number, _line.c.id)):
        running += r.debit - r.credit
        rows.append(LedgerRow(r.entry_date, r.number, r.memo, r.debit, r.credit, running))
    return opening, rows, await base_currency(session)
