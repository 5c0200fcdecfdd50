"""Teams: ``teams``, ``teamCreate``, ``teamAddMember``, ``teamRemoveMember``."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.api.errors import UserError, run_mutation
from backend.api.gates import gated_field, gated_mutation
from backend.api.relay import decode_id
from backend.core.db import any_of
from backend.core.ids import to_global_id
from backend.modules.platform import service as platform
from backend.modules.platform.graphql.types import UserType
from backend.modules.platform.models import Team


@strawberry.type(name="Team")
class TeamType:
    id: strawberry.ID
    name: str
    created_at: datetime
    members: list[UserType]


async def _teams(ctx: RequestContext, ids: list[uuid.UUID] | None = None) -> list[TeamType]:
    session = ctx.session
    stmt = select(Team).where(Team.tenant_id == ctx.principal.tenant_id).order_by(Team.name)
    if ids is not None:
        stmt = stmt.where(any_of(Team.id, ids))
    teams = list((await session.execute(stmt)).scalars())  # type: ignore[union-attr]
    members = await platform.team_members(session, team_ids=[t.id for t in teams])  # type: ignore[arg-type]
    users = await platform.users_by_ids(session, user_ids=[u for ms in members.values() for u in ms])  # type: ignore[arg-type]
    return [TeamType(id=to_global_id("Team", t.id), name=t.name, created_at=t.created_at,
                     members=[UserType.from_model(users[u]) for u in members[t.id] if u in users]) for t in teams]


@strawberry.type
class Query:
    @gated_field(module="platform", permission="platform.read", description="The tenant's teams and their members.")
    async def teams(self, info: Info) -> list[TeamType]:
        return await _teams(info.context)


@strawberry.input
class TeamCreateInput:
    name: str


@strawberry.input
class TeamMemberInput:
    team_id: strawberry.ID
    user_id: strawberry.ID


@strawberry.type
class TeamPayload:
    team: TeamType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Mutation:
    @gated_mutation(module="platform", permission="platform.members")
    async def team_create(self, info: Info, input: TeamCreateInput) -> TeamPayload:
        ctx: RequestContext = info.context

        async def operation() -> TeamPayload:
            team = await platform.create_team(ctx.session, name=input.name)  # type: ignore[arg-type]
            return TeamPayload(team=(await _teams(ctx, [team.id]))[0])

        return await run_mutation(info, TeamPayload, operation, input)

    @gated_mutation(module="platform", permission="platform.members")
    async def team_add_member(self, info: Info, input: TeamMemberInput) -> TeamPayload:
        ctx: RequestContext = info.context

        async def operation() -> TeamPayload:
            team = await platform.add_team_member(ctx.session, team_id=decode_id(input.team_id, "Team", field="teamId"),  # type: ignore[arg-type]
                                                  user_id=decode_id(input.user_id, "User", field="userId"))
            return TeamPayload(team=(await _teams(ctx, [team.id]))[0])

        return await run_mutation(info, TeamPayload, operation, input)

    @gated_mutation(module="platform", permission="platform.members")
    async def team_remove_member(self, info: Info, input: TeamMemberInput) -> TeamPayload:
        ctx: RequestContext = info.context

        async def operation() -> TeamPayload:
            team = await platform.remove_team_member(
                ctx.session, team_id=decode_id(input.team_id, "Team", field="teamId"),  # type: ignore[arg-type]
                user_id=decode_id(input.user_id, "User", field="userId"))
            return TeamPayload(team=(await _teams(ctx, [team.id]))[0])

        return await run_mutation(info, TeamPayload, operation, input)
