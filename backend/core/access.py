"""Per-request session scoping beyond the tenant, contributed by modules.

After the tenant is set, the request's transaction runs every registered scoper with the caller's
principal; a scoper may set further ``SET LOCAL`` values that row-level policies read (the CRM sets
``app.record_owner`` for sales users of tenants whose visibility is ``own``). Scopers run for
enabled modules only and must be cheap: they run on every authenticated request.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.fetch import execute
from backend.core.principal import Principal

Scoper = Callable[[AsyncSession, Principal], Awaitable[None]]


@dataclass(frozen=True)
class ScoperSpec:
    module: str
    fn: Scoper


_SCOPERS: list[ScoperSpec] = []


def session_scoper(module: str) -> Callable[[Scoper], Scoper]:
    def register(fn: Scoper) -> Scoper:
        if all(spec.fn is not fn for spec in _SCOPERS):
            _SCOPERS.append(ScoperSpec(module, fn))
        return fn

    return register


async def scope_session(session: AsyncSession, principal: Principal) -> None:
    from backend.modules.platform import service as platform

    for spec in _SCOPERS:
        if await platform.is_module_enabled(session, spec.module):
            await spec.fn(session, principal)


async def set_record_owner(session: AsyncSession, user_id: uuid.UUID | None,
                           teammates: list[uuid.UUID] | None = None) -> None:
    """Restrict own-records tables to ``user_id``'s rows, and ``teammates``' (None lifts it), for
    this transaction. Values are parsed UUIDs re-formatted here (SET takes no parameters)."""
    value = str(uuid.UUID(str(user_id))) if user_id is not None else ""
    team = ",".join(str(uuid.UUID(str(t))) for t in teammates or [])
    await execute(session, f"SET LOCAL app.record_owner = '{value}'; SET LOCAL app.record_team = '{team}'")
    session.info["record_owner"] = user_id
