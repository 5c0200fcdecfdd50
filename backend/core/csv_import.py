"""CSV imports shared by the modules: row errors, the report, header mapping and row validation.

A module's importer parses with ``parse_rows`` (its own ``clean`` function validates one row and
records what is wrong with it), then calls ``stop_before_writing``: a dry run, or an
all-or-nothing import with a bad row, writes nothing.
"""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events
from backend.core.errors import DomainError
from backend.core.ids import to_global_id

MAX_ROWS = 200_000
BATCH = 1000  # rows per executemany
REFRESH_AFTER = 5000  # rows inserted into a table before its statistics are refreshed
MODES = ("all_or_nothing", "skip_invalid")


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


def parse_rows(lines: Iterable[str], mapping: dict[str, str] | None, report: ImportReport,
               fields: tuple[str, ...], clean: Callable[[dict[str, str], int, list[RowError]], dict[str, Any] | None],
               required: str = "name") -> Iterator[dict[str, Any]]:
    """Valid rows, cleaned by ``clean``; every invalid row is added to ``report.errors``."""
    reader = csv.DictReader(lines)
    if reader.fieldnames is None:
        raise DomainError("EMPTY_FILE", "The CSV has no header row.", "file")
    columns = {}
    for header in reader.fieldnames:
        target = (mapping or {}).get(header) or _normalize_header(header)
        if target in fields:
            columns[header] = target
    if required not in columns.values():
        raise DomainError("MISSING_COLUMN", f"The CSV needs a {required} column (or a mapping to {required}).",
                          "file")
    for number, raw in enumerate(reader, start=1):
        report.rows = number
        if number > MAX_ROWS:
            raise DomainError("TOO_MANY_ROWS", f"Import at most {MAX_ROWS} rows at a time.", "file")
        row = {columns[k]: v for k, v in raw.items() if k in columns}
        cleaned = clean(row, number, report.errors)
        if cleaned is not None:
            cleaned["_row"] = number
            yield cleaned


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise DomainError("INVALID_MODE", "Mode is ALL_OR_NOTHING or SKIP_INVALID.", "mode")


def stop_before_writing(report: ImportReport, mode: str) -> bool:
    """Count the invalid rows; True for a dry run, or when one bad row stops an all-or-nothing import."""
    report.errors.sort(key=lambda e: e.row)
    report.skipped = len({e.row for e in report.errors})
    return report.dry_run or bool(report.errors and mode == "all_or_nothing")


async def refresh_statistics(session: AsyncSession, table, inserted: int) -> None:  # type: ignore[no-untyped-def]
    if inserted >= REFRESH_AFTER:
        # Fresh statistics, so foreign-key checks against what was just inserted use the index
        # (see migration 0008); without it a large import can turn quadratic.
        await session.execute(text("SELECT jishi_refresh_statistics(CAST(:t AS regclass))"), {"t": table.name})


async def finish(session: AsyncSession, report: ImportReport, event, *, created: int,  # type: ignore[no-untyped-def]
                 updated: int) -> ImportReport:
    """Record the counts and emit the one summary event of the import."""
    report.created, report.updated, report.written = created, updated, True
    await events.emit(session, event, aggregate_id=to_global_id("Tenant", session.info["tenant_id"]),
                      payload={"created": created, "updated": updated, "skipped": report.skipped})
    return report


async def update_many(session: AsyncSession, table, tenant_id: uuid.UUID,  # type: ignore[no-untyped-def]
                       updates: list[tuple[uuid.UUID, dict[str, Any]]], **fixed: Any) -> None:
    """Update rows by ID in batches (executemany of one statement); None or [] keeps a column's value."""
    if not updates:
        return
    columns = sorted({key for _, values in updates for key in values})
    if not columns and not fixed:
        return
    stmt = update(table).where(table.c.tenant_id == tenant_id, table.c.id == bindparam("_id")).values(
        {**{c: func.coalesce(bindparam(f"_{c}", type_=table.c[c].type), table.c[c]) for c in columns}, **fixed})
    params = [{"_id": row_id, **{f"_{c}": values.get(c) or None for c in columns}} for row_id, values in updates]
    for start in range(0, len(params), BATCH):
        await session.execute(stmt, params[start:start + BATCH])
