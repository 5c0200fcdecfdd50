"""``auditEvents``: the tenant's audit log, newest first, with filters."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy import any_, literal, select
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.api.gates import gated_field
from backend.api.relay import Connection, keyset_page, page_args
from backend.core.errors import BadUserInput
from backend.core.ids import from_global_id
from backend.modules.platform.graphql.types import AuditEventType
from backend.modules.platform.models import AuditEvent

_a = AuditEvent.__table__


@strawberry.input
class AuditEventFilter:
    actor_id: strawberry.ID | None = strawberry.field(default=None, description="A User or ApiClient ID.")
    operation: str | None = None
    target_id: strawberry.ID | None = strawberry.field(default=None, description="Any global ID the event touched.")
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None


@strawberry.type
class Query:
    @gated_field(module="platform", permission="platform.audit", description="The audit log, newest first.")
    async def audit_events(self, info: Info, first: int | None = None, after: str | None = None,
                           last: int | None = None, before: str | None = None,
                           filter: AuditEventFilter | None = None) -> Connection[AuditEventType]:
        ctx: RequestContext = info.context
        stmt = select(_a).where(_a.c.tenant_id == ctx.principal.tenant_id)
        if filter is not None:
            if filter.actor_id is not None:
                parsed = from_global_id(filter.actor_id)
                if parsed is None or parsed[0] not in ("User", "ApiClient"):
                    raise BadUserInput("actorId must be a User or ApiClient ID.", field="actorId")
                column = _a.c.actor_user_id if parsed[0] == "User" else _a.c.actor_api_client_id
                stmt = stmt.where(column == parsed[1])
            if filter.operation:
                stmt = stmt.where(_a.c.operation == filter.operation)
            if filter.target_id:
                stmt = stmt.where(literal(str(filter.target_id)) == any_(_a.c.targets))
            if filter.occurred_after is not None:
                stmt = stmt.where(_a.c.occurred_at >= filter.occurred_after)
            if filter.occurred_before is not None:
                stmt = stmt.where(_a.c.occurred_at < filter.occurred_before)
        return await keyset_page(ctx.session, stmt, args=page_args(first, after, last, before),  # type: ignore[arg-type]
                                 id_col=_a.c.id, sort_col=_a.c.occurred_at, descending=True,
                                 to_node=AuditEventType.from_row)
