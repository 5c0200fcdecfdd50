"""CSV import and export of customers (with an optional primary contact per row), contacts and leads.

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
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from sqlalchemy import any_, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import csv_import
from backend.core.csv_import import ImportReport, RowError
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.ids import from_global_id, new_id, to_global_id
from backend.core.validation import EMAIL_RE
from backend.modules.crm import events as crm_events
from backend.modules.crm.customers import KINDS, STATUSES, customers_query
from backend.modules.crm.models import Contact, Customer
from backend.modules.platform import service as platform

FIELDS = ("name", "email", "phone", "website", "industry", "tags", "status", "source", "external_reference", "kind",
          "contact_name", "contact_email", "contact_phone", "contact_title")
LIMITS = {"name": 200, "phone": 50, "title": 100, "customer": 200, "customer_external_reference": 100,
          "website": 300, "industry": 100, "source": 100, "external_reference": 100,
          "contact_name": 200, "contact_phone": 50, "contact_title": 100}
BATCH = 1000
_customer = Customer.__table__
_contact = Contact.__table__


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
    return csv_import.parse_rows(lines, mapping, report, fields=fields, clean=clean)


def _any(column, values: list, name: str):  # type: ignore[no-untyped-def]
    """``column = ANY(:name)``: one array parameter however many values there are."""
    return column == any_(bindparam(name, values, type_=ARRAY(column.type)))


async def _start(session: AsyncSession, mode: str, dry_run: bool) -> ImportReport:
    await platform.ensure_module_enabled(session, "crm")
    csv_import.check_mode(mode)
    return ImportReport(dry_run=dry_run)


async def import_customers(session: AsyncSession, *, lines: Iterable[str], mapping: dict[str, str] | None = None,
                           mode: str = "all_or_nothing", dry_run: bool = False,
                           owner_id: uuid.UUID | None = None) -> ImportReport:
    """Import customers from CSV text lines; see the module docstring for the rules."""
    report = await _start(session, mode, dry_run)
    tenant_id: uuid.UUID = session.info["tenant_id"]
    rows = list(parse_rows(lines, mapping, report))
    if csv_import.stop_before_writing(report, mode):
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
        await csv_import.refresh_statistics(session, table, len(batch_rows))
    await csv_import.update_many(session, _customer, tenant_id, updates, updated_at=now)
    return await csv_import.finish(session, report, crm_events.CUSTOMERS_IMPORTED, created=len(new_customers),
                         updated=len(updates))


async def import_leads(session: AsyncSession, *, lines: Iterable[str], mapping: dict[str, str] | None = None,
                       mode: str = "all_or_nothing", dry_run: bool = False,
                       owner_id: uuid.UUID | None = None, assign: str = "uploader") -> ImportReport:
    """Import leads (name, company, email, phone, source, status) with the same rules as customers;
    a row whose email matches an open lead updates it. New leads belong to the uploader, or with
    ``assign="rules"`` go through the lead assignment rules and the round robin, as leads created
    one by one do (the uploader when nobody qualifies)."""
    from backend.modules.crm.lead_rules import LeadRouter
    from backend.modules.crm.models import Lead

    assign = assign.lower()
    if assign not in ("uploader", "rules"):
        raise DomainError("INVALID_ASSIGN", "Assign new leads to the UPLOADER or by the RULES.", "assign")
    report = await _start(session, mode, dry_run)
    tenant_id: uuid.UUID = session.info["tenant_id"]
    lead = Lead.__table__
    router = await LeadRouter.load(session) if assign == "rules" else None
    rows = list(parse_rows(lines, mapping, report, fields=LEAD_FIELDS, clean=_clean_lead))
    if csv_import.stop_before_writing(report, mode):
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
        owner = owner_id
        if router is not None:
            owner = router.route(source=values.get("source"), email=values.get("email"), campaign_id=None) or owner_id
        new_leads.append({**values, "tenant_id": tenant_id, "id": lid, "owner_id": owner, "shared_with": [],
                          "custom_fields": {}, "created_at": now})
    for start in range(0, len(new_leads), BATCH):
        await session.execute(insert(lead), new_leads[start:start + BATCH])
    await csv_import.update_many(session, lead, tenant_id, updates)
    return await csv_import.finish(session, report, crm_events.LEADS_IMPORTED, created=len(new_leads),
                                   updated=len(updates))


CONTACT_FIELDS = ("id", "customer_id", "customer_external_reference", "customer", "name", "title", "email", "phone",
                  "primary")
AMBIGUOUS_CUSTOMER = "several customers have this name; use customer_id or customer_external_reference"
_YES, _NO = {"yes", "y", "true", "1", "x"}, {"no", "n", "false", "0", ""}


def _clean_contact(row: dict[str, str], number: int, errors: list[RowError]) -> dict[str, Any] | None:
    out, bad = _clean_common(row, number, errors)
    primary = (out.get("primary") or "").lower()
    if primary not in _YES | _NO:
        errors.append(RowError(number, "primary", "yes or no"))
        bad = True
    out["primary"] = primary in _YES
    for key, type_name in (("id", "Contact"), ("customer_id", "Customer")):
        if out.get(key):
            decoded = from_global_id(out[key])
            if decoded is None or decoded[0] != type_name:
                errors.append(RowError(number, key, f"not a {type_name} ID"))
                bad = True
            else:
                out[key] = decoded[1]
    if not (out.get("customer_id") or out.get("customer_external_reference") or out.get("customer")):
        errors.append(RowError(number, "customer", "required (customer, customer_id or customer_external_reference)"))
        bad = True
    return None if bad else out


async def import_contacts(session: AsyncSession, *, lines: Iterable[str], mapping: dict[str, str] | None = None,
                          mode: str = "all_or_nothing", dry_run: bool = False,
                          owner_id: uuid.UUID | None = None) -> ImportReport:
    """Import contacts of existing customers.

    Each row names its customer by ``customer_id`` (as exported), ``customer_external_reference`` or
    ``customer`` (the name; it must name exactly one customer the caller may see). A row with a
    contact ``id``, or with the email of a contact the customer already has, updates that contact,
    so an exported file can be edited and imported back. ``primary`` (yes/no) makes a contact the
    customer's primary one; a customer without a primary contact gets its first imported one.
    """
    del owner_id  # contacts belong to their customer's owner
    report = await _start(session, mode, dry_run)
    tenant_id: uuid.UUID = session.info["tenant_id"]
    rows = list(parse_rows(lines, mapping, report, fields=CONTACT_FIELDS, clean=_clean_contact))

    # The customers the rows name, in one query; row-level security leaves out those the caller may not see.
    ids = list({r["customer_id"] for r in rows if r.get("customer_id")})
    refs = list({r["customer_external_reference"] for r in rows if r.get("customer_external_reference")})
    names = list({r["customer"].lower() for r in rows if r.get("customer")})
    by_id: set[uuid.UUID] = set()
    by_ref: dict[str, uuid.UUID] = {}
    by_name: dict[str, list[uuid.UUID]] = {}
    if ids or refs or names:
        found = await session.execute(select(_customer.c.id, _customer.c.external_ref, _customer.c.name).where(
            _customer.c.tenant_id == tenant_id, _customer.c.archived_at.is_(None),
            or_(_any(_customer.c.id, ids, "ids"), _any(_customer.c.external_ref, refs, "refs"),
                func.lower(_customer.c.name) == any_(bindparam("names", names, type_=ARRAY(_customer.c.name.type))))))
        for cid, ref, name in found:
            by_id.add(cid)
            if ref:
                by_ref[ref] = cid
            by_name.setdefault(name.lower(), []).append(cid)
    resolved = []
    for row in rows:
        if row.get("customer_id"):
            cid, column = (row["customer_id"] if row["customer_id"] in by_id else None), "customer_id"
        elif row.get("customer_external_reference"):
            cid, column = by_ref.get(row["customer_external_reference"]), "customer_external_reference"
        else:
            matches = by_name.get(row["customer"].lower(), [])
            if len(matches) > 1:
                report.errors.append(RowError(row["_row"], "customer", AMBIGUOUS_CUSTOMER))
                continue
            cid, column = (matches[0] if matches else None), "customer"
        if cid is None:
            report.errors.append(RowError(row["_row"], column, "no such customer"))
            continue
        row["customer_id"] = cid
        resolved.append(row)

    existing_ids: dict[uuid.UUID, uuid.UUID] = {}  # contact -> customer
    by_email: dict[tuple[uuid.UUID, str], uuid.UUID] = {}
    has_primary: set[uuid.UUID] = set()
    customer_ids = list({r["customer_id"] for r in resolved})
    for contact_id, customer_id, email, primary in await session.execute(select(
            _contact.c.id, _contact.c.customer_id, func.lower(_contact.c.email), _contact.c.is_primary).where(
            _contact.c.tenant_id == tenant_id,
            _any(_contact.c.customer_id, customer_ids, "customers"))):
        existing_ids[contact_id] = customer_id
        if email:
            by_email[(customer_id, email)] = contact_id
        if primary:
            has_primary.add(customer_id)
    primary_row: dict[uuid.UUID, int] = {}
    for row in resolved:
        if row.get("id") and existing_ids.get(row["id"]) != row["customer_id"]:
            report.errors.append(RowError(row["_row"], "id", "no such contact of this customer"))
            row["_bad"] = True
        elif row["primary"]:
            if row["customer_id"] in primary_row:
                report.errors.append(RowError(row["_row"], "primary", f"row {primary_row[row['customer_id']]} "
                                                                      "already marks this customer's primary contact"))
                row["_bad"] = True
            else:
                primary_row[row["customer_id"]] = row["_row"]
    resolved = [r for r in resolved if not r.get("_bad")]
    if csv_import.stop_before_writing(report, mode):
        return report

    now = utcnow()
    new_contacts, updates = [], []
    chosen: dict[uuid.UUID, uuid.UUID] = {}  # customer -> its new primary contact
    for row in resolved:
        customer_id = row["customer_id"]
        values = {k: row.get(k) for k in ("name", "title", "email", "phone")}
        contact_id = row.get("id") or (by_email.get((customer_id, row["email"].lower())) if row.get("email") else None)
        if contact_id is not None:
            updates.append((contact_id, {k: v for k, v in values.items() if v is not None}))
        else:
            contact_id = new_id()
            if row.get("email"):
                by_email[(customer_id, row["email"].lower())] = contact_id
            new_contacts.append({**values, "tenant_id": tenant_id, "id": contact_id, "customer_id": customer_id,
                                 "is_primary": False, "custom_fields": {}, "created_at": now})
        if row["primary"] or (customer_id not in has_primary and customer_id not in chosen):
            chosen[customer_id] = contact_id  # an explicit "primary" wins over "the first new contact"
    primaries = list(chosen.values())
    for start in range(0, len(new_contacts), BATCH):
        await session.execute(insert(_contact), new_contacts[start:start + BATCH])
    await csv_import.refresh_statistics(session, _contact, len(new_contacts))
    await csv_import.update_many(session, _contact, tenant_id, updates)
    if primaries:
        # Primary flags last: on each customer that gets a new primary contact, it is the only one.
        await session.execute(update(_contact).where(
            _contact.c.tenant_id == tenant_id, _any(_contact.c.customer_id, list(chosen), "owners"))
            .values(is_primary=_any(_contact.c.id, primaries, "primaries")))
    return await csv_import.finish(session, report, crm_events.CONTACTS_IMPORTED, created=len(new_contacts),
                         updated=len(updates))


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
