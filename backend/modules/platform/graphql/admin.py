"""Platform administration (tokens with scope ``platform``): ``platformTenants``,
``platformTenantSuspend``, ``platformTenantResume``. Each cross-tenant step is explicit and audited."""

from __future__ import annotations

from datetime import datetime

import strawberry
import structlog
from sqlalchemy import select
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.api.errors import UserError, user_error
from backend.api.relay import Connection, decode_id, keyset_page, page_args
from backend.core.db import set_tenant
from backend.core.errors import DomainError
from backend.core.ids import to_global_id
from backend.modules.platform import audit
from backend.modules.platform import service as platform
from backend.modules.platform.auth import forget_cached_principals
from backend.modules.platform.graphql.tenant import TenantStatus
from backend.modules.platform.models import Tenant

log = structlog.get_logger("jishi.platform")
_t = Tenant.__table__


@strawberry.type
class PlatformTenant:
    id: strawberry.ID
    slug: str
    name: str
    plan: str
    status: TenantStatus
    created_at: datetime
    member_count: int
    enabled_modules: list[str]


def _tenant_node(row, overview: platform.TenantOverview | None = None) -> PlatformTenant:  # type: ignore[no-untyped-def]
    return PlatformTenant(id=to_global_id("Tenant", row.id), slug=row.slug, name=row.name, plan=row.plan,
                          status=TenantStatus(row.status), created_at=row.created_at,
                          member_count=overview.member_count if overview else 0,
                          enabled_modules=list(overview.enabled_modules) if overview else [])


@strawberry.type
class Query:
    @strawberry.field(description="Every tenant, with member count and enabled modules (platform admins).")
    async def platform_tenants(self, info: Info, first: int | None = None, after: str | None = None,
                               last: int | None = None, before: str | None = None) -> Connection[PlatformTenant]:
        ctx: RequestContext = info.context
        session = ctx.require_platform_admin()
        page = await keyset_page(session, select(_t), args=page_args(first, after, last, before), id_col=_t.c.id,
                                 sort_col=_t.c.created_at, to_node=lambda row: row)
        overviews = await platform.tenant_overviews(session, tenant_ids=[edge.node.id for edge in page.edges])
        for edge in page.edges:
            edge.node = _tenant_node(edge.node, overviews[edge.node.id])
        log.info("platform.tenants_listed", admin_user_id=str(ctx.principal.user_id), count=len(page.edges))
        return page


@strawberry.input
class PlatformTenantStatusInput:
    id: strawberry.ID
    reason: str | None = None


@strawberry.type
class PlatformTenantStatusPayload:
    tenant: PlatformTenant | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


async def _set_status(info: Info, input: PlatformTenantStatusInput, status: str) -> PlatformTenantStatusPayload:
    ctx: RequestContext = info.context
    session = ctx.require_platform_admin()
    try:
        async with session.begin_nested():
            tenant = await platform.set_tenant_status(session, tenant_id=decode_id(input.id, "Tenant"), status=status)
            overview = (await platform.tenant_overviews(session, tenant_ids=[tenant.id]))[tenant.id]
            # Written to the tenant's own audit log, so its owners see who suspended them and why.
            await set_tenant(session, tenant.id)
            await audit.record(session, operation=info.field_name, outcome="success",
                               actor_user_id=ctx.principal.user_id, targets=[str(input.id)],
                               input_summary={"reason": input.reason}, request_id=ctx.request_id)
            await platform.clear_tenant(session)
    except DomainError as exc:
        return PlatformTenantStatusPayload(user_errors=[user_error(exc)])
    forget_cached_principals(ctx.request)
    log.info("platform.tenant_status", admin_user_id=str(ctx.principal.user_id), tenant_id=str(tenant.id),
             status=status)
    return PlatformTenantStatusPayload(tenant=_tenant_node(tenant, overview))


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Suspend a tenant: its users and clients get TENANT_SUSPENDED at once.")
    async def platform_tenant_suspend(
        self, info: Info, input: PlatformTenantStatusInput
    ) -> PlatformTenantStatusPayload:
        return await _set_status(info, input, "suspended")

    @strawberry.mutation(description="Resume a suspended tenant.")
    async def platform_tenant_resume(self, info: Info, input: PlatformTenantStatusInput) -> PlatformTenantStatusPayload:
        return await _set_status(info, input, "active")
