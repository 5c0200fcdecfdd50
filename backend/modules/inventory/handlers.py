"""Inventory's reactions to other modules' events."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.events import Event, on
from backend.modules.inventory.warehouses import ensure_default_warehouse
from backend.modules.platform import events as platform_events


@on(platform_events.MODULE_ENABLED, module="inventory")
async def create_default_warehouse(session: AsyncSession, event: Event) -> None:
    """A tenant that switches inventory on starts with one warehouse (MAIN), its default."""
    if "inventory" in event.payload.get("enabledModules", []):
        await ensure_default_warehouse(session)
