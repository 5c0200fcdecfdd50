"""Warehouses. Each tenant has exactly one default warehouse (created when inventory is enabled);
reservations try it first and then the others by priority."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events
from backend.core.errors import DomainError
from backend.core.ids import to_global_id
from backend.core.validation import required_text
from backend.modules.inventory import events as inv_events
from backend.modules.inventory.catalog import tenant_of
from backend.modules.inventory.models import StockLevel, Warehouse
from backend.modules.platform import service as platform

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,19}$")
_warehouse = Warehouse.__table__
_level = StockLevel.__table__


async def get_warehouse(session: AsyncSession, *, warehouse_id: uuid.UUID, field_name: str = "warehouseId",
                        active_only: bool = False) -> Warehouse:
    found = (await session.execute(select(Warehouse).where(
        Warehouse.tenant_id == tenant_of(session), Warehouse.id == warehouse_id))).scalar_one_or_none()
    if found is None:
        raise DomainError("NOT_FOUND", "No warehouse with this ID.", field_name)
    if active_only and not found.active:
        raise DomainError("WAREHOUSE_INACTIVE", f"Warehouse {found.code} is inactive.", field_name)
    return found


async def list_warehouses(session: AsyncSession, *, include_inactive: bool = False) -> list[Warehouse]:
    """Warehouses in reservation order: the default first, then by priority and code."""
    stmt = select(Warehouse).where(Warehouse.tenant_id == tenant_of(session))
    if not include_inactive:
        stmt = stmt.where(Warehouse.active)
    stmt = stmt.order_by(Warehouse.is_default.desc(), Warehouse.priority, Warehouse.code)
    return list((await session.execute(stmt)).scalars())


def _code(code: str) -> str:
    value = (code or "").strip().upper()
    if not CODE_RE.match(value):
        raise DomainError("INVALID_CODE", "A warehouse code has 1 to 20 letters, digits, - or _.", "code")
    return value


async def create_warehouse(session: AsyncSession, *, code: str, name: str, address: dict[str, Any] | None = None,
                           priority: int = 100, is_default: bool = False) -> Warehouse:
    """Add a warehouse (the tenant's first becomes the default); refuses DUPLICATE_CODE."""
    await platform.ensure_module_enabled(session, "inventory")
    return await _create(session, code=code, name=name, address=address, priority=priority, is_default=is_default)


async def _create(session: AsyncSession, *, code: str, name: str, address: dict[str, Any] | None, priority: int,
                  is_default: bool) -> Warehouse:
    code = _code(code)
    name = required_text(name, field="name", max_length=100)
    if not 0 <= priority <= 10_000:
        raise DomainError("INVALID_PRIORITY", "Priority is between 0 and 10000 (lower goes first).", "priority")
    tenant_id = tenant_of(session)
    if await session.scalar(select(func.count()).select_from(_warehouse).where(
            _warehouse.c.tenant_id == tenant_id, _warehouse.c.code == code)):
        raise DomainError("DUPLICATE_CODE", f"Another warehouse has code {code}.", "code")
    has_default = await session.scalar(select(func.count()).select_from(_warehouse).where(
        _warehouse.c.tenant_id == tenant_id, _warehouse.c.is_default))
    if is_default and has_default:
        await session.execute(update(Warehouse).where(Warehouse.tenant_id == tenant_id, Warehouse.is_default)
                              .values(is_default=False))
    warehouse = Warehouse(code=code, name=name, address=address, priority=priority,
                          is_default=is_default or not has_default)
    session.add(warehouse)
    await session.flush()
    gid = to_global_id("Warehouse", warehouse.id)
    await events.emit(session, inv_events.WAREHOUSE_CREATED, aggregate_id=gid,
                      payload={"warehouseId": gid, "code": warehouse.code, "name": warehouse.name})
    return warehouse


async def ensure_default_warehouse(session: AsyncSession) -> Warehouse:
    """The tenant's default warehouse, created (code MAIN) when it has none."""
    found = (await session.execute(select(Warehouse).where(
        Warehouse.tenant_id == tenant_of(session), Warehouse.is_default))).scalar_one_or_none()
    if found is not None:
        return found
    return await _create(session, code="MAIN", name="Main warehouse", address=None, priority=0, is_default=True)


async def update_warehouse(session: AsyncSession, *, warehouse_id: uuid.UUID, name: str | None = None,
                           address: dict[str, Any] | None = None, priority: int | None = None,
                           active: bool | None = None, is_default: bool | None = None) -> Warehouse:
    """Change a warehouse. The default cannot be deactivated or un-defaulted (make another the
    default instead); a warehouse holding stock cannot be deactivated (WAREHOUSE_NOT_EMPTY)."""
    await platform.ensure_module_enabled(session, "inventory")
    warehouse = await get_warehouse(session, warehouse_id=warehouse_id, field_name="id")
    if name is not None:
        warehouse.name = required_text(name, field="name", max_length=100)
    if address is not None:
        warehouse.address = address
    if priority is not None:
        if not 0 <= priority <= 10_000:
            raise DomainError("INVALID_PRIORITY", "Priority is between 0 and 10000 (lower goes first).", "priority")
        warehouse.priority = priority
    if is_default is False and warehouse.is_default:
        raise DomainError("DEFAULT_REQUIRED", "Make another warehouse the default instead.", "isDefault")
    if active is False and warehouse.active:
        if warehouse.is_default and not is_default:
            raise DomainError("DEFAULT_REQUIRED", "The default warehouse cannot be deactivated; make another "
                                                  "warehouse the default first.", "active")
        if await session.scalar(select(func.count()).select_from(_level).where(
                _level.c.tenant_id == warehouse.tenant_id, _level.c.warehouse_id == warehouse.id,
                (_level.c.on_hand > 0) | (_level.c.incoming > 0))):
            raise DomainError("WAREHOUSE_NOT_EMPTY", "This warehouse holds or expects stock; move it out first.",
                              "active")
        warehouse.active = False
    elif active is True:
        warehouse.active = True
    if is_default and not warehouse.is_default:
        if not warehouse.active:
            raise DomainError("WAREHOUSE_INACTIVE", "An inactive warehouse cannot be the default.", "isDefault")
        await session.execute(update(Warehouse).where(Warehouse.tenant_id == warehouse.tenant_id,
                                                      Warehouse.is_default).values(is_default=False))
        warehouse.is_default = True
    await session.flush()
    return warehouse
