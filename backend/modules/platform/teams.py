"""Teams: groups of members, used for record visibility (and, later, routing work)."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.errors import DomainError
from backend.core.validation import required_text
from backend.modules.platform.models import Team, TeamMember


def _tenant_id(session: AsyncSession) -> uuid.UUID:
    return session.info["tenant_id"]


async def create_team(session: AsyncSession, *, name: str) -> Team:
    name = required_text(name, field="name", max_length=100)
    if (await session.execute(select(Team.id).where(Team.tenant_id == _tenant_id(session), Team.name == name))).first():
        raise DomainError("DUPLICATE_NAME", f"There is a team {name!r} already.", "name")
    team = Team(name=name)
    session.add(team)
    await session.flush()
    return team


async def get_team(session: AsyncSession, *, team_id: uuid.UUID) -> Team:
    found = (await session.execute(select(Team).where(Team.tenant_id == _tenant_id(session),
                                                      Team.id == team_id))).scalar_one_or_none()
    if found is None:
        raise DomainError("NOT_FOUND", "No team with this ID.", "teamId")
    return found


async def add_team_member(session: AsyncSession, *, team_id: uuid.UUID, user_id: uuid.UUID) -> Team:
    from backend.modules.platform import service as platform

    team = await get_team(session, team_id=team_id)
    if not await platform.is_member(session, user_id=user_id):
        raise DomainError("NOT_FOUND", "The user must be a member of this tenant.", "userId")
    exists = await session.scalar(select(TeamMember.id).where(
        TeamMember.tenant_id == team.tenant_id, TeamMember.team_id == team.id, TeamMember.user_id == user_id))
    if exists is None:
        session.add(TeamMember(team_id=team.id, user_id=user_id))
        await session.flush()
    return team


async def remove_team_member(session: AsyncSession, *, team_id: uuid.UUID, user_id: uuid.UUID) -> Team:
    team = await get_team(session, team_id=team_id)
    await session.execute(delete(TeamMember).where(TeamMember.tenant_id == team.tenant_id,
                                                   TeamMember.team_id == team.id, TeamMember.user_id == user_id))
    return team


async def teammates_of(session: AsyncSession, *, user_id: uuid.UUID) -> list[uuid.UUID]:
    """Everyone who shares a team with ``user_id`` (not the user), in one query."""
    mine = select(TeamMember.team_id).where(TeamMember.tenant_id == _tenant_id(session),
                                            TeamMember.user_id == user_id)
    rows = await session.execute(select(TeamMember.user_id).where(
        TeamMember.tenant_id == _tenant_id(session), TeamMember.team_id.in_(mine),
        TeamMember.user_id != user_id).distinct())
    return list(rows.scalars())


async def team_members(session: AsyncSession, *, team_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    rows = await session.execute(select(TeamMember.team_id, TeamMember.user_id).where(
        TeamMember.tenant_id == _tenant_id(session), TeamMember.team_id.in_(team_ids)))
    out: dict[uuid.UUID, list[uuid.UUID]] = {t: [] for t in team_ids}
    for team_id, user_id in rows:
        out[team_id].append(user_id)
    return out
