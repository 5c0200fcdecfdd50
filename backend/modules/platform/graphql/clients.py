"""API clients: ``apiClients``, ``apiClientCreate`` (secret shown once), ``apiClientRevoke``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.api.errors import UserError, run_mutation
from backend.api.gates import gated_field, gated_mutation
from backend.api.relay import Connection, NodeSource, decode_id, keyset_page, page_args
from backend.core.db import any_of
from backend.modules.platform import identity
from backend.modules.platform.auth import forget_cached_principals
from backend.modules.platform.graphql.types import ApiClientType
from backend.modules.platform.models import ApiClient

_c = ApiClient.__table__
CLIENT_COLUMNS = (_c.c.id, _c.c.name, _c.c.client_id, _c.c.scopes, _c.c.created_at, _c.c.last_used_at,
                  _c.c.revoked_at)


async def load_clients(ctx: RequestContext, ids: list[uuid.UUID]) -> Mapping[uuid.UUID, ApiClientType]:
    rows = await ctx.require_tenant_session().execute(
        select(*CLIENT_COLUMNS).where(_c.c.tenant_id == ctx.principal.tenant_id, any_of(_c.c.id, ids)))
    return {r.id: ApiClientType.from_model(r) for r in rows}


@strawberry.type
class Query:
    @gated_field(module="platform", permission="platform.api_clients", description="The tenant's API clients.")
    async def api_clients(self, info: Info, first: int | None = None, after: str | None = None,
                          last: int | None = None, before: str | None = None) -> Connection[ApiClientType]:
        ctx: RequestContext = info.context
        stmt = select(*CLIENT_COLUMNS).where(_c.c.tenant_id == ctx.principal.tenant_id)
        return await keyset_page(ctx.session, stmt, args=page_args(first, after, last, before),  # type: ignore[arg-type]
                                 id_col=_c.c.id, sort_col=_c.c.created_at, to_node=ApiClientType.from_model)


@strawberry.input
class ApiClientCreateInput:
    name: str
    scopes: list[str]


@strawberry.type
class ApiClientCreatePayload:
    api_client: ApiClientType | None = None
    client_secret: str | None = strawberry.field(default=None, description="Shown once; only a hash is kept.")
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class ApiClientRevokeInput:
    id: strawberry.ID


@strawberry.type
class ApiClientRevokePayload:
    api_client: ApiClientType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Mutation:
    @gated_mutation(module="platform", permission="platform.api_clients")
    async def api_client_create(self, info: Info, input: ApiClientCreateInput) -> ApiClientCreatePayload:
        ctx: RequestContext = info.context

        async def operation() -> ApiClientCreatePayload:
            client, secret = await identity.create_api_client(
                ctx.session, registry=ctx.registry, name=input.name, scopes=input.scopes,  # type: ignore[arg-type]
                created_by=ctx.principal.user_id, grantable=ctx.principal.permissions)
            return ApiClientCreatePayload(api_client=ApiClientType.from_model(client), client_secret=secret)

        return await run_mutation(info, ApiClientCreatePayload, operation, input)

    @gated_mutation(module="platform", permission="platform.api_clients")
    async def api_client_revoke(self, info: Info, input: ApiClientRevokeInput) -> ApiClientRevokePayload:
        ctx: RequestContext = info.context

        async def operation() -> ApiClientRevokePayload:
            client = await identity.revoke_api_client(ctx.session, api_client_id=decode_id(input.id, "ApiClient"))  # type: ignore[arg-type]
            forget_cached_principals(ctx.request)
            return ApiClientRevokePayload(api_client=ApiClientType.from_model(client))

        return await run_mutation(info, ApiClientRevokePayload, operation, input)


node_sources = [NodeSource("ApiClient", "platform", "platform.api_clients", load_clients)]
