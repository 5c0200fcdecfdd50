"""Inventory's reactions to other modules' events."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.events import Event, on
from backend.core.ids import from_global_id
from backend.modules.crm import events as crm_events
from backend.modules.inventory.prices import move_price_list
from backend.modules.inventory.warehouses import ensure_default_warehouse
from backend.modules.platform import events as platform_events


@on(platform_events.MODULE_ENABLED, module="inventory")
async def create_default_warehouse(session: AsyncSession, event: Event) -> None:
    """A tenant that switches inventory on starts with one warehouse (MAIN), its default."""
    if "inventory" in event.payload.get("enabledModules", []):
        await ensure_default_warehouse(session)


@on(crm_events.CUSTOMER_MERGED, module="inventory")
async def keep_price_list_of_merged_customer(session: AsyncSession, event: Event) -> None:
    """A merged duplicate's price list goes to the survivor, unless the survivor has its own."""
    survivor, merged = from_global_id(event.payload["customerId"]), from_global_id(event.payload["mergedCustomerId"])
    if survivor is None or merged is None:
        return
    await move_price_list(session, from_customer=merged[1], to_customer=survivor[1])
