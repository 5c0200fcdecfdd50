"""The general ledger: the chart of accounts, accounting periods, posting and reversing entries.

Rules (DESIGN.md section 6):

* every entry is balanced (checked here, and by a deferred constraint trigger at commit);
* entries are never updated or deleted (the runtime role lacks the privilege): a correction is a
  reversal entry, and an entry is reversed at most once (a unique index);
* posting into a closed period is refused (PERIOD_CLOSED);
* an entry posted for an event carries its id, so an event posts at most once;
* amounts are in the tenant's base currency, rounded half-even to its minor unit.

Lock order: a finance write takes the tenant's event counter first (``begin_posting``), then the
journal and invoice counters; event handlers already hold the event counter when they post. So a
transaction that posts and emits never waits on another in the opposite order.
"""

from __future__ import annotations

import tomllib
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.ids import new_id
from backend.core.money import round_money
from backend.core.outbox import next_sequence
from backend.core.validation import optional_text, required_text
from backend.modules.finance.models import ACCOUNT_TYPES, Account, FinanceSettings, JournalEntry, JournalLine, Period
from backend.modules.platform import service as platform

CHARTS_DIR = Path(__file__).resolve().parents[3] / "tenants" / "finance"
_account = Account.__table__
_entry = JournalEntry.__table__
_line = JournalLine.__table__
_period = Period.__table__
_settings = FinanceSettings.__table__


def tenant_of(session: AsyncSession) -> uuid.UUID:
    return session.info["tenant_id"]


async def base_currency(session: AsyncSession) -> str:
    return await platform.base_currency(session)


async def begin_posting(session: AsyncSession) -> None:
    """Take the tenant's event counter before any finance counter (see the module docstring)."""
    from backend.core.outbox import lock_tenant_writes

    await lock_tenant_writes(session)


# --- chart of accounts --------------------------------------------------------------------------------


def charts() -> dict[str, dict[str, Any]]:
    return {path.stem: tomllib.loads(path.read_text(encoding="utf-8")) for path in sorted(CHARTS_DIR.glob("*.toml"))}


async def seed_chart(session: AsyncSession, *, chart: str | None = None) -> str:
    """Create the tenant's chart from a template (CNY tenants get China's small-enterprise chart by
    default) and the finance settings; nothing when the tenant has its chart already."""
    tenant_id = tenant_of(session)
    if await session.scalar(select(func.count()).select_from(_settings).where(_settings.c.tenant_id == tenant_id)):
        return ""
    templates = charts()
    name = chart or ("cn_small_enterprise" if await base_currency(session) == "CNY" else "generic")
    if name not in templates:
        raise DomainError("UNKNOWN_CHART", f"Charts: {', '.join(templates)}.", "chart")
    ids: dict[str, uuid.UUID] = {}
    for item in templates[name]["accounts"]:
        ids[item["code"]] = new_id()
        await session.execute(insert(_account).values(
            tenant_id=tenant_id, id=ids[item["code"]], code=item["code"], name=item["name"], type=item["type"],
            role=item.get("role"), parent_id=ids.get(item.get("parent", "")), active=True, created_at=utcnow()))
    await session.execute(insert(_settings).values(tenant_id=tenant_id, id=new_id(), singleton=True, chart=name,
                                                   invoice_on="approval", payment_terms_days=30, extra={}))
    return name


async def account_for(session: AsyncSession, role: str) -> uuid.UUID:
    """The account with a system ``role`` (receivables, revenue, inventory, ...)."""
    cache = session.info.setdefault("fin_roles", {})
    if role not in cache:
        found = await session.scalar(select(_account.c.id).where(_account.c.tenant_id == tenant_of(session),
                                                                 _account.c.role == role))
        if found is None:
            raise DomainError("ACCOUNT_MISSING", f"The chart of accounts has no {role} account.", "role")
        cache[role] = found
    return cache[role]


async def get_account(session: AsyncSession, *, account_id: uuid.UUID, field_name: str | list[str] = "accountId"
                      ) -> Account:
    found = (await session.execute(select(Account).where(Account.tenant_id == tenant_of(session),
                                                         Account.id == account_id))).scalar_one_or_none()
    if found is None:
        raise DomainError("NOT_FOUND", "No account with this ID.", field_name)
    return found


async def create_account(session: AsyncSession, *, code: str, name: str, type: str,
                         parent_id: uuid.UUID | None = None) -> Account:
    await platform.ensure_module_enabled(session, "finance")
    code = required_text(code, field="code", max_length=20)
    if not code.replace("-", "").replace(".", "").isalnum():
        raise DomainError("INVALID_CODE", "An account code has letters, digits, '.' or '-'.", "code")
    if type not in ACCOUNT_TYPES:
        raise DomainError("INVALID_TYPE", "Type is ASSET, LIABILITY, EQUITY, INCOME or EXPENSE.", "type")
    if parent_id is not None:
        parent = await get_account(session, account_id=parent_id, field_name="parentId")
        if parent.type != type:
            raise DomainError("PARENT_TYPE", "A sub-account has its parent's type.", "parentId")
    if await session.scalar(select(func.count()).select_from(_account).where(
            _account.c.tenant_id == tenant_of(session), _account.c.code == code)):
        raise DomainError("DUPLICATE_CODE", f"Another account has code {code}.", "code")
    account = Account(id=new_id(), code=code, name=required_text(name, field="name", max_length=200), type=type,
                      parent_id=parent_id, active=True, created_at=utcnow())
    session.add(account)
    await session.flush()
    return account


async def update_account(session: AsyncSession, *, account_id: uuid.UUID, name: str | None = None,
                         active: bool | None = None) -> Account:
    """Rename or (de)activate an account; system accounts (with a role) stay active."""
    await platform.ensure_module_enabled(session, "finance")
    account = await get_account(session, account_id=account_id, field_name="id")
    if name is not None:
        account.name = required_text(name, field="name", max_length=200)
    if active is not None:
        if not active and account.role:
            raise DomainError("SYSTEM_ACCOUNT", "Automatic postings use this account; it stays active.", "active")
        account.active = active
    await session.flush()
    return account


# --- periods --------------------------------------------------------------------------------------------


async def period_status(session: AsyncSession, day: date) -> str:
    found = await session.scalar(select(_period.c.status).where(
        _period.c.tenant_id == tenant_of(session), _period.c.year == day.year, _period.c.month == day.month))
    return found or "open"


async def set_period(session: AsyncSession, *, year: int, month: int, status: str, actor: uuid.UUID | None) -> str:
    await platform.ensure_module_enabled(session, "finance")
    if not (1 <= month <= 12 and 2000 <= year <= 2200):
        raise DomainError("INVALID_PERIOD", "A period is a month: year 2000-2200, month 1-12.", "month")
    stmt = insert(_period).values(tenant_id=tenant_of(session), id=new_id(), year=year, month=month, status=status,
                                  changed_by=actor, changed_at=utcnow())
    await session.execute(stmt.on_conflict_do_update(index_elements=["tenant_id", "year", "month"],
                                                     set_={"status": status, "changed_by": actor,
                                                           "changed_at": utcnow()}))
    return status


# --- posting ----------------------------------------------------------------------------------------------


@dataclass
class Line:
    account_id: uuid.UUID
    debit: Decimal = Decimal(0)
    credit: Decimal = Decimal(0)
    customer_id: uuid.UUID | None = None
    product_id: uuid.UUID | None = None
    supplier: str | None = None
    memo: str | None = None


async def post(session: AsyncSession, *, entry_date: date, lines: list[Line], kind: str = "automatic",
               memo: str | None = None, reference: str | None = None, source_id: str | None = None,
               source_event_id: uuid.UUID | None = None, reversal_of_id: uuid.UUID | None = None,
               posted_by: uuid.UUID | None = None) -> JournalEntry:
    """Post a balanced entry; zero lines are dropped, and an entry whose lines all net to nothing is
    not posted (None is never returned: such an entry raises NOTHING_TO_POST)."""
    currency = await base_currency(session)
    if await period_status(session, entry_date) == "closed":
        raise DomainError("PERIOD_CLOSED", f"{entry_date:%Y-%m} is closed; reopen it or post into an open period.",
                          "date")
    kept = []
    for i, x in enumerate(lines):
        debit, credit = round_money(x.debit, currency), round_money(x.credit, currency)
        if debit < 0 or credit < 0 or (debit and credit):
            raise DomainError("INVALID_AMOUNT", "A line is a debit or a credit, positive.", ["lines", str(i)])
        if debit or credit:
            kept.append((i, x, debit, credit))
    if len(kept) < 2:
        raise DomainError("NOTHING_TO_POST", "An entry has at least two lines with amounts.", "lines")
    total_debit = sum((d for _, _, d, _ in kept), Decimal(0))
    total_credit = sum((c for _, _, _, c in kept), Decimal(0))
    if total_debit != total_credit:
        raise DomainError("UNBALANCED", f"Debits ({total_debit}) and credits ({total_credit}) differ.", "lines")
    accounts = {a.id: a for a in (await session.execute(select(Account).where(
        Account.tenant_id == tenant_of(session), Account.id.in_({x.account_id for _, x, _, _ in kept})))).scalars()}
    for i, x, _, _ in kept:
        account = accounts.get(x.account_id)
        if account is None:
            raise DomainError("NOT_FOUND", "No account with this ID.", ["lines", str(i), "accountId"])
        if not account.active:
            raise DomainError("ACCOUNT_INACTIVE", f"Account {account.code} is inactive.",
                              ["lines", str(i), "accountId"])
    entry = JournalEntry(id=new_id(), number=f"JE-{await next_sequence(session, 'journal'):06d}", entry_date=entry_date,
                         kind=kind, memo=optional_text(memo, field="memo", max_length=500),
                         reference=optional_text(reference, field="reference", max_length=100), source_id=source_id,
                         source_event_id=source_event_id, reversal_of_id=reversal_of_id, posted_by=posted_by,
                         created_at=utcnow())
    entry.tenant_id = tenant_of(session)
    session.add(entry)
    await session.flush()
    await session.execute(insert(_line), [
        {"tenant_id": entry.tenant_id, "id": new_id(), "entry_id": entry.id, "entry_date": entry_date,
         "account_id": x.account_id, "debit": d, "credit": c, "customer_id": x.customer_id,
         "product_id": x.product_id, "supplier": x.supplier, "memo": x.memo} for _, x, d, c in kept])
    return entry


async def get_entry(session: AsyncSession, *, entry_id: uuid.UUID) -> JournalEntry:
    found = (await session.execute(select(JournalEntry).where(JournalEntry.tenant_id == tenant_of(session),
                                                              JournalEntry.id == entry_id))).scalar_one_or_none()
    if found is None:
        raise DomainError("NOT_FOUND", "No journal entry with this ID.", "id")
    return found


async def reverse(session: AsyncSession, *, entry_id: uuid.UUID, entry_date: date | None = None,
                  memo: str | None = None, posted_by: uuid.UUID | None = None,
                  source_event_id: uuid.UUID | None = None) -> JournalEntry:
    """The mirror entry (debits and credits swapped); an entry is reversed once (ALREADY_REVERSED)."""
    original = await get_entry(session, entry_id=entry_id)
    if original.kind == "reversal":
        raise DomainError("IS_REVERSAL", "A reversal is not reversed; post a new entry instead.", "id")
    lines = (await session.execute(select(JournalLine).where(JournalLine.tenant_id == original.tenant_id,
                                                             JournalLine.entry_id == original.id))).scalars().all()
    try:
        async with session.begin_nested():
            return await post(session, entry_date=entry_date or date.today(), kind="reversal",
                              memo=memo or f"Reversal of {original.number}", reference=original.number,
                              source_id=original.source_id, reversal_of_id=original.id, posted_by=posted_by,
                              source_event_id=source_event_id, lines=[
                                  Line(x.account_id, debit=x.credit, credit=x.debit, customer_id=x.customer_id,
                                       product_id=x.product_id, supplier=x.supplier, memo=x.memo) for x in lines])
    except IntegrityError as exc:
        if "ix_fin_journal_entry_reversal" in str(exc):
            raise DomainError("ALREADY_REVERSED", f"{original.number} is reversed already.", "id") from None
        raise


async def post_manual(session: AsyncSession, *, entry_date: date, lines: list[Line], memo: str | None,
                      reference: str | None, posted_by: uuid.UUID | None) -> JournalEntry:
    """A manual entry (permission finance.post); emits ``journal.posted``."""
    await platform.ensure_module_enabled(session, "finance")
    await begin_posting(session)
    entry = await post(session, entry_date=entry_date, lines=lines, kind="manual", memo=memo, reference=reference,
                       posted_by=posted_by)
    await _announce(session, entry, sum((x.debit for x in lines), Decimal(0)))
    return entry


async def reverse_manual(session: AsyncSession, *, entry_id: uuid.UUID, entry_date: date | None,
                         memo: str | None, posted_by: uuid.UUID | None) -> JournalEntry:
    """``journalEntryReverse``: the correction of any posted entry; emits ``journal.posted``."""
    await platform.ensure_module_enabled(session, "finance")
    await begin_posting(session)
    entry = await reverse(session, entry_id=entry_id, entry_date=entry_date, memo=memo, posted_by=posted_by)
    total = await session.scalar(select(func.sum(_line.c.debit)).where(_line.c.tenant_id == entry.tenant_id,
                                                                        _line.c.entry_id == entry.id))
    await _announce(session, entry, total or Decimal(0))
    return entry


async def _announce(session: AsyncSession, entry: JournalEntry, total: Decimal) -> None:
    from backend.core import events
    from backend.core.ids import to_global_id
    from backend.modules.finance import events as fin_events

    gid = to_global_id("JournalEntry", entry.id)
    await events.emit(session, fin_events.JOURNAL_POSTED, aggregate_id=gid, payload={
        "entryId": gid, "number": entry.number, "kind": entry.kind.upper(), "date": entry.entry_date.isoformat(),
        "total": str(total)})
