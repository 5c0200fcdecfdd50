"""CSV import of products and of opening stock, with the CRM import's rules (dry run, row errors,
all-or-nothing or skip-invalid, column mapping).

Products: columns ``sku`` (required), ``name``, ``type`` (stocked, service, consumable), ``unit``,
``unit_price`` (or ``price``), ``cost``, ``category`` (a path such as ``Tea/Green tea``; missing
categories are created), ``barcode``, ``tax_category``, ``description``, ``image_url``. A row whose
SKU exists updates that product (blank cells keep its values; its cost is left alone: receipts own
the average cost); a new product needs a name and a unit price.

Opening stock: columns ``sku``, ``warehouse`` (code), ``quantity``, ``unit_cost`` (default: the
product's cost). Every row is received in one receipt (the moving average follows), so the whole
file is one group of moves; with an idempotency key the same file imported twice posts once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import csv_import, idempotency
from backend.core.csv_import import ImportReport, RowError
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.ids import new_id
from backend.core.money import minor_units
from backend.modules.inventory import events as inv_events
from backend.modules.inventory.catalog import TYPES, currency_of, tenant_of
from backend.modules.inventory.models import Category, Product, Warehouse
from backend.modules.inventory.stock import Change, _dump, _receive, _replay
from backend.modules.inventory.units import UNITS, parse_quantity
from backend.modules.platform import service as platform

PRODUCT_FIELDS = ("sku", "name", "type", "unit", "unit_price", "price", "cost", "category", "barcode",
                  "tax_category", "description", "image_url")
LIMITS = {"sku": 64, "name": 200, "barcode": 64, "tax_category": 50, "image_url": 500, "description": 5000,
          "category": 500}
STOCK_FIELDS = ("sku", "warehouse", "quantity", "unit_cost")
_product = Product.__table__
_category = Category.__table__
_warehouse = Warehouse.__table__


async def _start(session: AsyncSession, mode: str, dry_run: bool) -> ImportReport:
    await platform.ensure_module_enabled(session, "inventory")
    csv_import.check_mode(mode)
    return ImportReport(dry_run=dry_run)


def _amount(value: str | None, places: int) -> Decimal | None:
    """A non-negative amount with at most ``places`` decimals, or None when it is not one."""
    try:
        amount = Decimal(value or "")
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e15") or amount != round(amount, places):
        return None
    return amount


def _product_cleaner(places: int):  # type: ignore[no-untyped-def]
    def clean(row: dict[str, str], number: int, errors: list[RowError]) -> dict[str, Any] | None:
        out: dict[str, Any] = {}
        bad = False
        for key, value in row.items():
            value = (value or "").strip()
            if key in LIMITS and len(value) > LIMITS[key]:
                errors.append(RowError(number, key, f"longer than {LIMITS[key]} characters"))
                bad = True
            out[key] = value or None
        if not out.get("sku") or any(c.isspace() for c in out["sku"]):
            errors.append(RowError(number, "sku", "required, without spaces"))
            bad = True
        if out.get("price") and not out.get("unit_price"):
            out["unit_price"] = out["price"]
        out.pop("price", None)
        if out.get("type"):
            out["type"] = out["type"].lower()
            if out["type"] not in TYPES:
                errors.append(RowError(number, "type", "stocked, service or consumable"))
                bad = True
        if out.get("unit"):
            out["unit"] = out["unit"].lower()
            if out["unit"] not in UNITS:
                errors.append(RowError(number, "unit", f"one of {', '.join(UNITS)}"))
                bad = True
        for key in ("unit_price", "cost"):
            if out.get(key) is not None:
                amount = _amount(out[key], places)
                if amount is None:
                    errors.append(RowError(number, key, f"a non-negative amount with at most {places} decimals"))
                    bad = True
                out[key] = amount
        if out.get("image_url") and not out["image_url"].startswith(("https://", "http://")):
            errors.append(RowError(number, "image_url", "must start with https:// or http://"))
            bad = True
        if out.get("category"):
            path = [part.strip() for part in out["category"].split("/")]
            if any(not part or len(part) > 100 for part in path):
                errors.append(RowError(number, "category", "a path of names such as Tea/Green tea"))
                bad = True
            out["category"] = path
        return None if bad else out

    return clean


async def _category_ids(session: AsyncSession, paths: set[tuple[str, ...]]) -> dict[tuple[str, ...], uuid.UUID]:
    """Category ids for paths, creating the missing ones (names match case-insensitively)."""
    tenant_id = tenant_of(session)
    existing = list(await session.execute(select(_category.c.id, _category.c.name, _category.c.parent_id).where(
        _category.c.tenant_id == tenant_id)))
    children: dict[tuple[uuid.UUID | None, str], uuid.UUID] = {(c.parent_id, c.name.lower()): c.id for c in existing}
    out: dict[tuple[str, ...], uuid.UUID] = {}
    for path in sorted(paths):
        parent: uuid.UUID | None = None
        for name in path:
            found = children.get((parent, name.lower()))
            if found is None:
                found = new_id()
                await session.execute(insert(_category).values(tenant_id=tenant_id, id=found, name=name,
                                                               parent_id=parent, created_at=utcnow()))
                children[(parent, name.lower())] = found
            parent = found
        out[path] = parent  # type: ignore[assignment]
    return out


async def import_products(session: AsyncSession, *, lines: Iterable[str], mapping: dict[str, str] | None = None,
                          mode: str = "all_or_nothing", dry_run: bool = False,
                          owner_id: uuid.UUID | None = None) -> ImportReport:
    """Import products; see the module docstring."""
    del owner_id
    report = await _start(session, mode, dry_run)
    tenant_id = tenant_of(session)
    places = minor_units(await currency_of(session))
    rows = list(csv_import.parse_rows(lines, mapping, report, fields=PRODUCT_FIELDS, clean=_product_cleaner(places),
                                      required="sku"))
    existing = {sku: pid for pid, sku in await session.execute(select(_product.c.id, _product.c.sku).where(
        _product.c.tenant_id == tenant_id))}
    seen: dict[str, int] = {}
    valid = []
    for row in rows:
        sku = row["sku"]
        if sku in seen:
            report.errors.append(RowError(row["_row"], "sku", f"repeats row {seen[sku]}"))
            continue
        seen[sku] = row["_row"]
        if sku not in existing:
            missing = [k for k in ("name", "unit_price") if row.get(k) is None]
            if missing:
                report.errors.extend(RowError(row["_row"], k, "required for a new product") for k in missing)
                continue
        valid.append(row)
    if csv_import.stop_before_writing(report, mode):
        return report
    categories = await _category_ids(session, {tuple(r["category"]) for r in valid if r.get("category")})
    now = utcnow()
    new_rows, updates = [], []
    for row in valid:
        values = {"name": row.get("name"), "type": row.get("type"), "unit": row.get("unit"),
                  "list_price": row.get("unit_price"), "barcode": row.get("barcode"),
                  "tax_category": row.get("tax_category"), "description": row.get("description"),
                  "image_url": row.get("image_url"),
                  "category_id": categories[tuple(row["category"])] if row.get("category") else None}
        if row["sku"] in existing:
            updates.append((existing[row["sku"]], {k: v for k, v in values.items() if v is not None}))
        else:
            new_rows.append({**values, "tenant_id": tenant_id, "id": new_id(), "sku": row["sku"],
                             "type": values["type"] or "stocked", "unit": values["unit"] or "unit",
                             "cost": row.get("cost") or Decimal(0), "active": True, "custom_fields": {},
                             "created_at": now, "updated_at": now})
    for start in range(0, len(new_rows), csv_import.BATCH):
        await session.execute(insert(_product), new_rows[start:start + csv_import.BATCH])
    await csv_import.refresh_statistics(session, _product, len(new_rows))
    await csv_import.update_many(session, _product, tenant_id, updates, updated_at=now)
    return await csv_import.finish(session, report, inv_events.PRODUCTS_IMPORTED, created=len(new_rows),
                                   updated=len(updates))


def _clean_stock(row: dict[str, str], number: int, errors: list[RowError]) -> dict[str, Any] | None:
    out = {k: (v or "").strip() or None for k, v in row.items()}
    bad = False
    for key in ("sku", "warehouse", "quantity"):
        if not out.get(key):
            errors.append(RowError(number, key, "required"))
            bad = True
    if out.get("unit_cost") is not None:
        cost = _amount(out["unit_cost"], 6)
        if cost is None:
            errors.append(RowError(number, "unit_cost", "a non-negative amount"))
            bad = True
        out["unit_cost"] = cost
    if out.get("warehouse"):
        out["warehouse"] = out["warehouse"].upper()
    return None if bad else out


async def import_stock(session: AsyncSession, *, lines: Iterable[str], mapping: dict[str, str] | None = None,
                       mode: str = "all_or_nothing", dry_run: bool = False, owner_id: uuid.UUID | None = None,
                       idempotency_key: str | None = None) -> ImportReport:
    """Receive opening stock from CSV; see the module docstring."""
    report = await _start(session, mode, dry_run)
    tenant_id = tenant_of(session)
    rows = list(csv_import.parse_rows(lines, mapping, report, fields=STOCK_FIELDS, clean=_clean_stock,
                                      required="sku"))
    products = {r.sku: r for r in await session.execute(select(_product.c.id, _product.c.sku, _product.c.type,
                                                                _product.c.unit, _product.c.cost).where(
        _product.c.tenant_id == tenant_id, _product.c.sku.in_({r["sku"] for r in rows})))}
    warehouses = {w.code: w.id for w in await session.execute(select(_warehouse.c.code, _warehouse.c.id).where(
        _warehouse.c.tenant_id == tenant_id, _warehouse.c.active))}
    seen: dict[tuple[str, str], int] = {}
    changes: list[tuple[Change, Decimal]] = []
    for row in rows:
        product = products.get(row["sku"])
        if product is None or product.type == "service":
            report.errors.append(RowError(row["_row"], "sku", "no stocked product with this SKU"))
            continue
        if row["warehouse"] not in warehouses:
            report.errors.append(RowError(row["_row"], "warehouse", "no active warehouse with this code"))
            continue
        key = (row["sku"], row["warehouse"])
        if key in seen:
            report.errors.append(RowError(row["_row"], "sku", f"repeats row {seen[key]} for this warehouse"))
            continue
        seen[key] = row["_row"]
        try:
            quantity = parse_quantity(row["quantity"], unit=product.unit)
        except DomainError as exc:
            report.errors.append(RowError(row["_row"], "quantity", exc.message))
            continue
        changes.append((Change(product.id, warehouses[row["warehouse"]], on_hand=quantity, kind="receipt"),
                        row["unit_cost"] if row.get("unit_cost") is not None else product.cost))
    if csv_import.stop_before_writing(report, mode):
        return report

    async def run():  # type: ignore[no-untyped-def]
        return await _receive(session, changes, source_id=None, reason="Opening stock (import)", actor_id=owner_id,
                              event_type=inv_events.STOCK_RECEIVED, extra={"sourceId": None})

    request = [[str(c.product_id), str(c.warehouse_id), str(c.on_hand), str(cost)] for c, cost in changes]
    if changes:
        await idempotency.once(session, scope="inventory.stock_import", key=idempotency_key, request=request,
                               run=run, dump=_dump, load=lambda stored: _replay(session, stored))
    report.created, report.written = len(changes), True
    return report

