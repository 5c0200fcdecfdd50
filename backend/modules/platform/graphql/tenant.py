"""``viewer``, the tenant and its modules, ``moduleEnable``/``moduleDisable``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.api.errors import UserError, run_mutation
from backend.api.gates import gated_field, gated_mutation
from backend.api.relay import Node, NodeSource
from backend.core.db import set_tenant
from backend.core.ids import to_global_id
from backend.modules.platform import identity, models
from backend.modules.platform import service as platform
from backend.modules.platform.graphql.types import ApiClientType, UserType


@strawberry.enum
class TenantStatus(Enum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


@strawberry.type(name="TenantModule", description="A module and whether this tenant has it on.")
class TenantModuleType:
    name: str
    title: str
    enabled: bool
    depends_on: list[str]
    available: bool = strawberry.field(description="Whether the tenant's plan includes this module.")

    @classmethod
    def from_state(cls, state: platform.ModuleState) -> TenantModuleType:
        return cls(
            name=state.name,
            title=state.title,
            enabled=state.enabled,
            depends_on=list(state.depends_on),
            available=state.available,
        )


@strawberry.type(name="Tenant")
class TenantType(Node):
    id: strawberry.ID
    slug: str
    name: str
    plan: str
    status: TenantStatus
    base_currency: str
    timezone: str
    created_at: datetime

    @classmethod
    def from_model(cls, tenant: models.Tenant) -> TenantType:
        return cls(
            id=to_global_id("Tenant", tenant.id),
            slug=tenant.slug,
            name=tenant.name,
            plan=tenant.plan,
            status=TenantStatus(tenant.status),
            base_currency=tenant.base_currency,
            timezone=tenant.timezone,
            created_at=tenant.created_at,
        )

    @strawberry.field(description="Every module of this build, with this tenant's state.")
    async def modules(self, info: Info) -> list[TenantModuleType]:
        ctx: RequestContext = info.context
        states = await platform.module_states(ctx.require_tenant_session(), registry=ctx.registry)
        return [TenantModuleType.from_state(state) for state in states]


@strawberry.type
class Viewer:
    user: UserType | None = strawberry.field(description="The signed-in person; null for an API client.")
    api_client: ApiClientType | None = strawberry.field(description="The calling API client, if it is one.")
    tenant: TenantType
    role: str | None
    permissions: list[str]


async def load_tenants(ctx: RequestContext, ids: list[uuid.UUID]) -> Mapping[uuid.UUID, TenantType]:
    # A tenant sees its own tenant object only.
    own = ctx.principal.tenant_id if ctx.principal else None
    if own not in ids:
        return {}
    tenant = await platform.get_tenant(ctx.require_tenant_session(), tenant_id=own)
    return {own: TenantType.from_model(tenant)} if tenant else {}


@strawberry.type
class Query:
    @gated_field(module=None, description="The caller: its tenant, role and permissions.")
    async def viewer(self, info: Info) -> Viewer:
        ctx: RequestContext = info.context
        session = ctx.require_tenant_session()
        principal = ctx.principal
        tenant = await platform.get_tenant(session, tenant_id=principal.tenant_id)
        assert tenant is not None
        user = await identity.get_user(session, user_id=principal.user_id) if principal.user_id else None
        client = (await identity.get_api_client(session, api_client_id=principal.api_client_id)
                  if principal.api_client_id else None)
        return Viewer(
            user=UserType.from_model(user) if user else None,
            api_client=ApiClientType.from_model(client) if client else None,
            tenant=TenantType.from_model(tenant),
            role=principal.role,
            permissions=sorted(principal.permissions),
        )


@strawberry.input
class ModuleEnableInput:
    module: str


@strawberry.input
class ModuleDisableInput:
    module: str


@strawberry.type
class ModuleEnablePayload:
    module: TenantModuleType | None = None
    enabled_modules: list[str] | None = strawberry.field(
        default=None, description="Modules switched on by this call (the module and its dependencies)."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ModuleDisablePayload:
    module: TenantModuleType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


async def _module_state(ctx: RequestContext, name: str) -> TenantModuleType:
    states = await platform.module_states(ctx.require_tenant_session(), registry=ctx.registry)
    return next(TenantModuleType.from_state(s) for s in states if s.name == name)


@strawberry.type
class Mutation:
    @gated_mutation(module="platform", permission="platform.modules")
    async def module_enable(self, info: Info, input: ModuleEnableInput) -> ModuleEnablePayload:
        ctx: RequestContext = info.context

        async def operation() -> ModuleEnablePayload:
            switched = await platform.enable_module(ctx.session, registry=ctx.registry, module=input.module)
            return ModuleEnablePayload(module=await _module_state(ctx, input.module), enabled_modules=switched)

        return await run_mutation(info, ModuleEnablePayload, operation, input)

    @gated_mutation(module="platform", permission="platform.modules")
    async def module_disable(self, info: Info, input: ModuleDisableInput) -> ModuleDisablePayload:
        ctx: RequestContext = info.context

        async def operation() -> ModuleDisablePayload:
            await platform.disable_module(ctx.session, registry=ctx.registry, module=input.module)
            return ModuleDisablePayload(module=await _module_state(ctx, input.module))

        return await run_mutation(info, ModuleDisablePayload, operation, input)


node_sources = [NodeSource("Tenant", "platform", None, load_tenants)]


@strawberry.input
class ViewerPasswordChangeInput:
    current_password: str
    new_password: str


@strawberry.type
class ViewerPasswordChangePayload:
    changed: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class PasswordMutation:
    @gated_mutation(module="platform", description="Change your password; your other sessions end.")
    async def viewer_password_change(self, info: Info, input: ViewerPasswordChangeInput) -> ViewerPasswordChangePayload:
        ctx: RequestContext = info.context
        if ctx.principal.user_id is None:
            return ViewerPasswordChangePayload(user_errors=[UserError(
                field=None, message="API clients have no password.", code="NOT_A_USER")])
        tenant_id = ctx.principal.tenant_id

        async def operation() -> ViewerPasswordChangePayload:
            await identity.change_password(ctx.session, user_id=ctx.principal.user_id, current=input.current_password,
                                           new=input.new_password)
            await set_tenant(ctx.session, tenant_id)  # back to the caller's tenant for the audit row
            return ViewerPasswordChangePayload(changed=True)

        return await run_mutation(info, ViewerPasswordChangePayload, operation, input)
