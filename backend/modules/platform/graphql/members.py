"""Members of a tenant: ``members``, ``memberInvite``, ``memberUpdateRole``, ``memberRemove``."""

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
from backend.core.ids import to_global_id
from backend.modules.platform import identity, roles
from backend.modules.platform.auth import forget_cached_principals
from backend.modules.platform.graphql.types import InvitationType, MemberType, UserType
from backend.modules.platform.models import AppUser, Membership

_m = Membership.__table__
_u = AppUser.__table__
MEMBER_COLUMNS = (
    _m.c.id, _m.c.role, _m.c.status, _m.c.created_at, _m.c.user_id,
    _u.c.email, _u.c.name, _u.c.created_at.label("user_created_at"), _u.c.last_login_at,
)


def _members_stmt(tenant_id: uuid.UUID):  # type: ignore[no-untyped-def]
    return select(*MEMBER_COLUMNS).join(_u, _u.c.id == _m.c.user_id).where(_m.c.tenant_id == tenant_id)


async def load_members(ctx: RequestContext, ids: list[uuid.UUID]) -> Mapping[uuid.UUID, MemberType]:
    rows = await ctx.require_tenant_session().execute(
        _members_stmt(ctx.principal.tenant_id).where(any_of(_m.c.id, ids)))
    return {r.id: MemberType.from_row(r) for r in rows}


async def load_users(ctx: RequestContext, ids: list[uuid.UUID]) -> Mapping[uuid.UUID, UserType]:
    """Users are visible to a tenant only while they are its members."""
    stmt = _members_stmt(ctx.principal.tenant_id).where(any_of(_m.c.user_id, ids))
    rows = await ctx.require_tenant_session().execute(stmt)
    return {r.user_id: UserType.from_row(r) for r in rows}


@strawberry.type
class Query:
    @gated_field(module="platform", permission="platform.read", description="The tenant's members.")
    async def members(self, info: Info, first: int | None = None, after: str | None = None,
                      last: int | None = None, before: str | None = None) -> Connection[MemberType]:
        ctx: RequestContext = info.context
        return await keyset_page(ctx.session, _members_stmt(ctx.principal.tenant_id),  # type: ignore[arg-type]
                                 args=page_args(first, after, last, before), id_col=_m.c.id,
                                 sort_col=_m.c.created_at, to_node=MemberType.from_row)

    @gated_field(module="platform", permission="platform.members", description="Roles a member can be given.")
    async def roles(self, info: Info) -> list[str]:
        return roles.role_names()


@strawberry.input
class MemberInviteInput:
    email: str
    role: str


@strawberry.type
class MemberInvitePayload:
    invitation: InvitationType | None = None
    invitation_token: str | None = strawberry.field(
        default=None,
        description="Shown once: send it to the invitee, who redeems it at POST /auth/invitations/accept.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class MemberUpdateRoleInput:
    id: strawberry.ID
    role: str


@strawberry.type
class MemberUpdateRolePayload:
    member: MemberType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class MemberRemoveInput:
    id: strawberry.ID


@strawberry.type
class MemberRemovePayload:
    removed_member_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _is_owner(ctx: RequestContext) -> bool:
    return ctx.principal.can(roles.OWNER_ONLY)  # type: ignore[union-attr]


@strawberry.type
class Mutation:
    @gated_mutation(module="platform", permission="platform.members")
    async def member_invite(self, info: Info, input: MemberInviteInput) -> MemberInvitePayload:
        ctx: RequestContext = info.context

        async def operation() -> MemberInvitePayload:
            invitation, token = await identity.invite_member(
                ctx.session, email=input.email, role=input.role, invited_by=ctx.principal.user_id,  # type: ignore[arg-type]
                days=ctx.settings.invitation_days, inviter_is_owner=_is_owner(ctx))
            return MemberInvitePayload(invitation=InvitationType.from_model(invitation), invitation_token=token)

        return await run_mutation(info, MemberInvitePayload, operation, input)

    @gated_mutation(module="platform", permission="platform.members")
    async def member_update_role(self, info: Info, input: MemberUpdateRoleInput) -> MemberUpdateRolePayload:
        ctx: RequestContext = info.context

        async def operation() -> MemberUpdateRolePayload:
            member_id = decode_id(input.id, "Member")
            await identity.update_member_role(ctx.session, member_id=member_id, role=input.role,  # type: ignore[arg-type]
                                              actor_is_owner=_is_owner(ctx))
            forget_cached_principals(ctx.request)
            return MemberUpdateRolePayload(member=(await load_members(ctx, [member_id]))[member_id])

        return await run_mutation(info, MemberUpdateRolePayload, operation, input)

    @gated_mutation(module="platform", permission="platform.members")
    async def member_remove(self, info: Info, input: MemberRemoveInput) -> MemberRemovePayload:
        ctx: RequestContext = info.context

        async def operation() -> MemberRemovePayload:
            member = await identity.remove_member(ctx.session, member_id=decode_id(input.id, "Member"),  # type: ignore[arg-type]
                                                  actor_is_owner=_is_owner(ctx))
            forget_cached_principals(ctx.request)
            return MemberRemovePayload(removed_member_id=to_global_id("Member", member.id))

        return await run_mutation(info, MemberRemovePayload, operation, input)


node_sources = [
    NodeSource("Member", "platform", "platform.read", load_members),
    NodeSource("User", "platform", "platform.read", load_users),
]
