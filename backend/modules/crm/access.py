"""Record visibility inside a tenant, enforced by PostgreSQL.

With the tenant's CRM visibility set to ``own``, a member whose role is ``sales`` sees and changes
only the customers, opportunities and leads they own or that were shared with them; with ``team``,
also those owned by their teammates (members of any team they are in). The request's transaction
sets ``app.record_owner`` (and ``app.record_team``), and a restrictive row-level policy on those
tables does the rest, whatever query runs (lists, node lookups, updates, reports, exports). Other
roles and API clients see everything their permissions allow.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.access import session_scoper, set_record_owner
from backend.core.principal import Principal
from backend.modules.crm.models import CrmSettings
from backend.modules.platform import service as platform

RESTRICTED_ROLES = ("sales",)


@session_scoper("crm")
async def restrict_sales_to_own_records(session: AsyncSession, principal: Principal) -> None:
    if principal.user_id is None or principal.role not in RESTRICTED_ROLES:
        return
    visibility = await session.scalar(select(CrmSettings.visibility).where(
        CrmSettings.tenant_id == principal.tenant_id))
    if visibility == "own":
        await set_record_owner(session, principal.user_id)
    elif visibility == "team":
        await set_record_owner(session, principal.user_id,
                               await platform.teammates_of(session, user_id=principal.user_id))
