"""CSV import and export of customers (with an optional primary contact per row).

Import reads the CSV as a stream, validates every row, and writes in batches:

* column mapping: the header names the fields (``name``, ``email``, ``phone``, ``website``,
  ``industry``, ``tags`` (``;``-separated), ``status``, ``source``, ``external_reference``,
  ``kind``, ``contact_name``, ``contact_email``, ``contact_phone``, ``contact_title``), directly or
  through an explicit ``{csv column: field}`` mapping;
* de-duplication: a row whose email or external reference matches a live customer updates it;
* ``dry_run``: report every invalid row (row number, field, reason) and write nothing;
* ``mode``: ``all_or_nothing`` writes nothing if any row is invalid, ``skip_invalid`` writes the
  valid rows and reports the others.

One ``customers.imported`` event summarises the import (not one event or timeline row per row:
imported customers' timelines start with their first activity). 100,000 rows import in seconds:
one query loads the tenant's existing emails and references, rows go in through executemany in
batches of 1,000, and the statistics of a table that just grew a lot are refreshed before rows that
reference it are checked (migration 0008 explains why).
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.ids import new_id, to_global_id
from backend.core.validation import EMAIL_RE
from backend.modules.crm import events as crm_events
from backend.modules.crm.customers import KINDS, STATUSES, customers_query
from backend.modules.crm.models import Contact, Customer
from backend.modules.platform import service as platform

FIELDS = ("name", "email", "phone", "website", "industry", "tags", "status", "source", "external_reference", "kind",
          "contact_name", "contact_email", "contact_phone", "contact_title")
LIMITS = {"name": 200, "phone": 50, "website": 300, "industry": 100, "source": 100, "external_reference": 100,
          "contact_name": 200, "contact_phone": 50, "contact_title": 100}
BATCH = 1000
REFRESH_AFTER = 5000  # rows inserted into a table before its statistics are refreshed
MAX_ROWS = 200_000
_customer = Customer.__table__
_contact = Contact.__table__


@dataclass(frozen=True)
class RowError:
    row: int  # 1 = the first data row (the header is row 0)
    field: str
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    written: bool = False


def _normalize_header(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _clean_common(row: dict[str, str], number: int, errors: list[RowError]) -> tuple[dict[str, Any], bool]:
    """Trimmed values, lengths, a required name and normalised emails; (values, whether the row is bad)."""
    out: dict[str, Any] = {}
    bad = False
    for key, value in row.items():
        value = (value or "").strip()
        if key in LIMITS and len(value) > LIMITS[key]:
            errors.append(RowError(number, key, f"longer than {LIMITS[key]} characters"))
            bad = True
        out[key] = value or None
    if not out.get("name"):
        errors.append(RowError(number, "name", "required"))
        bad = True
    for key in ("email", "contact_email"):
        if out.get(key):
            if not EMAIL_RE.match(out[key]) or len(out[key]) > 254:
                errors.append(RowError(number, key, "not an email address"))
                bad = True
            else:
                local, _, domain = out[key].rpartition("@")
                out[key] = f"{local}@{domain.lower()}"
    return out, bad


def _clean(row: dict[str, str], number: int, errors: list[RowError]) -> dict[str, Any] | None:
    """A customer row."""
    out, bad = _clean_common(row, number, errors)
    status = (out.get("status") or "prospect").lower()
    if status not in STATUSES:
        errors.append(RowError(number, "status", f"one of {', '.join(STATUSES)}"))
        bad = True
    out["status"] = status
    kind = (out.get("kind") or "company").lower()
    if kind not in KINDS:
        errors.append(RowError(number, "kind", "company or person"))
        bad = True
    out["kind"] = kind
    out["tags"] = sorted({t.strip().lower() for t in (out.get("tags") or "").split(";") if t.strip()})[:30]
    if out.get("contact_email") and not out.get("contact_name"):
        out["contact_name"] = out["contact_email"].split("@")[0]
    return None if bad else out


LEAD_FIELDS = ("name", "company", "email", "phone", "source", "status")
LEAD_STATUSES = ("new", "contacted", "qualified", "disqualified")


def _clean_lead(row: dict[str, str], number: int, errors: list[RowError]) -> dict[str, Any] | None:
    out, bad = _clean_common(row, number, errors)
    status = (out.get("status") or "new").lower()
    if status not in LEAD_STATUSES:
        errors.append(RowError(number, "status", f"one of {', '.join(LEAD_STATUSES)}"))
        bad = True
    out["status"] = status
    if out.get("company") and len(out["company"]) > 200:
        errors.append(RowError(number, "company", "longer than 200 characters"))
        bad = True
    return None if bad else out


def parse_rows(lines: Iterable[str], mapping: dict[str, str] | None, report: ImportReport,
               fields: tuple[str, ...] = FIELDS, clean=_clean) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Valid rows, cleaned by ``clean``; every invalid row is added to ``report.errors``."""
    reader = csv.DictReader(lines)
    if reader.fieldnames is None:
        raise DomainError("EMPTY_FILE", "The CSV has no header row.", "file")
    columns = {}
    for header in reader.fieldnames:
        target = (mapping or {}).get(header) or _normalize_header(header)
        if target in fields:
            columns[header] = target
    if "name" not in columns.values():
        raise DomainError("MISSING_COLUMN", "The CSV needs a name column (or a mapping to name).", "file")
    for number, raw in enumerate(reader, start=1):
        report.rows = number
        if number > MAX_ROWS:
            raise DomainError("TOO_MANY_ROWS", f"Import at most {MAX_ROWS} rows at a time.", "file")
        row = {columns[k]: v for k, v in raw.items() if k in columns}
        cleaned = clean(row, number, report.errors)
        if cleaned is not None:
            cleaned["_row"] = number
            yield cleaned


async def import_customers(session: AsyncSession, *, lines: Iterable[str], mapping: dict[str, str] | None = None,
                           mode: str = "all_or_nothing", dry_run: bool = False,
                           owner_id: uuid.UUID | None = None) -> ImportReport:
    """Import customers from CSV text lines; see the module docstring for the rules."""
    await platform.ensure_module_enabled(session, "crm")
    if mode not in ("all_or_nothing", "skip_invalid"):
        raise DomainError("INVALID_MODE", "Mode is ALL_OR_NOTHING or SKIP_INVALID.", "mode")
    tenant_id: uuid.UUID = session.info["tenant_id"]
    report = ImportReport(dry_run=dry_run)
    rows = list(parse_rows(lines, mapping, report))
    report.skipped = len({e.row for e in report.errors})
    if dry_run or (report.errors and mode == "all_or_nothing"):
        return report

    existing: dict[str, uuid.UUID] = {}
    for cid, email, ref in await session.execute(select(_customer.c.id, func.lower(_customer.c.email),
                                                        _customer.c.external_ref).where(
            _customer.c.tenant_id == tenant_id, _customer.c.archived_at.is_(None))):
        if ref:
            existing[f"ref:{ref}"] = cid
        if email:
            existing[f"email:{email}"] = cid
    now = utcnow()
    new_customers, new_contacts, updates = [], [], []
    for row in rows:
        match = existing.get(f"ref:{row['external_reference']}") if row.get("external_reference") else None
        match = match or (existing.get(f"email:{row['email'].lower()}") if row.get("email") else None)
        values = {"name": row["name"], "kind": row["kind"], "email": row.get("email"), "phone": row.get("phone"),
                  "website": row.get("website"), "industry": row.get("industry"), "tags": row["tags"],
                  "status": row["status"], "source": row.get("source"), "external_ref": row.get("external_reference")}
        if match is not None:
            updates.append((match, {k: v for k, v in values.items() if v not in (None, [])}))
            continue
        cid = new_id()
        for key in (f"ref:{values['external_ref']}" if values["external_ref"] else None,
                    f"email:{values['email'].lower()}" if values["email"] else None):
            if key:
                existing[key] = cid  # a repeat later in the same file updates this one
        new_customers.append({**values, "tenant_id": tenant_id, "id": cid, "owner_id": owner_id, "shared_with": [],
                              "created_at": now, "updated_at": now})
        if row.get("contact_name"):
            new_contacts.append({"tenant_id": tenant_id, "id": new_id(), "customer_id": cid,
                                 "name": row["contact_name"], "email": row.get("contact_email"),
                                 "phone": row.get("contact_phone"), "title": row.get("contact_title"),
                                 "is_primary": True, "created_at": now})
    for table, batch_rows in ((_customer, new_customers), (_contact, new_contacts)):
        for start in range(0, len(batch_rows), BATCH):
            # executemany: one prepared statement, rows sent in batches (SQLAlchemy's insertmanyvalues)
            await session.execute(insert(table), batch_rows[start:start + BATCH])
        if len(batch_rows) >= REFRESH_AFTER:
            # Fresh statistics, so foreign-key checks against what we just inserted use the index
            # (see migration 0008); without it a large import can turn quadratic.
            await session.execute(text("SELECT jishi_refresh_statistics(CAST(:t AS regclass))"), {"t": table.name})
    for customer_id, values in updates:
        await session.execute(update(_customer).where(_customer.c.tenant_id == tenant_id, _customer.c.id == customer_id)
                              .values(**values, updated_at=now))
    report.created, report.updated, report.written = len(new_customers), len(updates), True
    await events.emit(session, crm_events.CUSTOMERS_IMPORTED, aggregate_id=to_global_id("Tenant", tenant_id),
                      payload={"created": report.created, "updated": report.updated, "skipped": report.skipped})
    return report


async def import_leads(session: AsyncSession, *, lines: Iterable[str], mapping: dict[str, str] | None = None,
                       mode: str = "all_or_nothing", dry_run: bool = False,
                       owner_id: uuid.UUID | None = None) -> ImportReport:
    """Import leads (name, company, email, phone, source, status) with the same rules as customers;
    a row whose email matches an open lead updates it."""
    from backend.modules.crm.models import Lead

    await platform.ensure_module_enabled(session, "crm")
    if mode not in ("all_or_nothing", "skip_invalid"):
        raise DomainError("INVALID_MODE", "Mode is ALL_OR_NOTHING or SKIP_INVALID.", "mode")
    tenant_id: uuid.UUID = session.info["tenant_id"]
    lead = Lead.__table__
    report = ImportReport(dry_run=dry_run)
    rows = list(parse_rows(lines, mapping, report, fields=LEAD_FIELDS, clean=_clean_lead))
    report.skipped = len({e.row for e in report.errors})
    if dry_run or (report.errors and mode == "all_or_nothing"):
        return report
    existing = {email: lid for lid, email in await session.execute(select(lead.c.id, func.lower(lead.c.email)).where(
        lead.c.tenant_id == tenant_id, lead.c.email.is_not(None), lead.c.status.in_(LEAD_STATUSES)))}
    now = utcnow()
    new_leads, updates = [], []
    for row in rows:
        values = {k: row.get(k) for k in ("name", "company", "email", "phone", "source", "status")}
        match = existing.get(row["email"].lower()) if row.get("email") else None
        if match is not None:
            updates.append((match, {k: v for k, v in values.items() if v is not None}))
            continue
        lid = new_id()
        if row.get("email"):
            existing[row["email"].lower()] = lid
        new_leads.append({**values, "tenant_id": tenant_id, "id": lid, "owner_id": owner_id, "shared_with": [],
                          "custom_fields": {}, "created_at": now})
    for start in range(0, len(new_leads), BATCH):
        await session.execute(insert(lead), new_leads[start:start + BATCH])
    for lead_id, values in updates:
        await session.execute(update(lead).where(lead.c.tenant_id == tenant_id, lead.c.id == lead_id).values(**values))
    report.created, report.updated, report.written = len(new_leads), len(updates), True
    await events.emit(session, crm_events.LEADS_IMPORTED, aggregate_id=to_global_id("Tenant", tenant_id),
                      payload={"created": report.created, "updated": report.updated, "skipped": report.skipped})
    return report


async def _stream_csv(session: AsyncSession, stmt, header: tuple[str, ...], values) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    """CSV text chunks of ``stmt``'s rows (1,000 at a time, server-side cursor)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield buffer.getvalue()
    result = await session.stream(stmt.execution_options(yield_per=1000))
    async for rows in result.partitions(1000):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(values(r) for r in rows)
        yield buffer.getvalue()


EXPORT_COLUMNS = ("id", "name", "kind", "email", "phone", "website", "industry", "tags", "status", "source",
                  "external_reference", "created_at")


async def export_customers(session: AsyncSession, *, query: str | None = None,
                           include_archived: bool = False) -> AsyncIterator[str]:
    """CSV of the customers the session may see (filters and visibility apply), streamed."""
    from backend.modules.crm.customers import CustomerFilter

    await platform.ensure_module_enabled(session, "crm")
    stmt = customers_query(session.info["tenant_id"], CustomerFilter(query=query, include_archived=include_archived))
    async for chunk in _stream_csv(session, stmt.order_by(_customer.c.name, _customer.c.id), EXPORT_COLUMNS, lambda r: [
            to_global_id("Customer", r.id), r.name, r.kind, r.email or "", r.phone or "", r.website or "",
            r.industry or "", ";".join(r.tags or []), r.status, r.source or "", r.external_ref or "",
            r.created_at.isoformat()]):
        yield chunk


async def export_contacts(session: AsyncSession) -> AsyncIterator[str]:
    """CSV of contacts of the customers the session may see (the customer join carries visibility)."""
    await platform.ensure_module_enabled(session, "crm")
    tenant_id = session.info["tenant_id"]
    same_customer = (_customer.c.tenant_id == _contact.c.tenant_id) & (_customer.c.id == _contact.c.customer_id)
    stmt = (select(_contact, _customer.c.name.label("customer_name")).join(_customer, same_customer)
            .where(_contact.c.tenant_id == tenant_id, _customer.c.archived_at.is_(None))
            .order_by(_customer.c.name, _contact.c.name, _contact.c.id))
    header = ("id", "customer_id", "customer", "name", "title", "email", "phone", "primary")
    async for chunk in _stream_csv(session, stmt, header, lambda r: [
            to_global_id("Contact", r.id), to_global_id("Customer", r.customer_id), r.customer_name, r.name,
            r.title or "", r.email or "", r.phone or "", "yes" if r.is_primary else "no"]):
        yield chunk


async def export_leads(session: AsyncSession, *, status: str | None = None) -> AsyncIterator[str]:
    """CSV of the leads the session may see, newest first."""
    from backend.modules.crm.models import Lead

    await platform.ensure_module_enabled(session, "crm")
    lead = Lead.__table__
    stmt = select(lead).where(lead.c.tenant_id == session.info["tenant_id"])
    if status:
        stmt = stmt.where(lead.c.status == status)
    header = ("id", "name", "company", "email", "phone", "source", "status", "created_at")
    async for chunk in _stream_csv(session, stmt.order_by(lead.c.created_at.desc(), lead.c.id), header, lambda r: [
            to_global_id("Lead", r.id), r.name, r.company or "", r.email or "", r.phone or "", r.source or "",
            r.status, r.created_at.isoformat()]):
        yield chunk
