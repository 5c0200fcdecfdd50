"""Object types shared by the platform's GraphQL files."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON

from backend.api.context import RequestContext
from backend.api.relay import Node
from backend.core.ids import to_global_id
from backend.modules.platform import models


@strawberry.type(name="User")
class UserType(Node):
    id: strawberry.ID
    email: str
    name: str
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def from_model(cls, user: models.AppUser) -> UserType:
        return cls(id=to_global_id("User", user.id), email=user.email, name=user.name,
                   created_at=user.created_at, last_login_at=user.last_login_at)

    @classmethod
    def from_row(cls, row) -> UserType:  # type: ignore[no-untyped-def]
        return cls(id=to_global_id("User", row.user_id), email=row.email, name=row.name,
                   created_at=row.user_created_at, last_login_at=row.last_login_at)


def user_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, UserType | None]:
    """Members by user id, for any module's ``owner``, ``assignee`` or ``actor`` fields."""

    async def load(keys: list[uuid.UUID]) -> list[UserType | None]:
        from backend.modules.platform import service as platform

        users = await platform.users_by_ids(ctx.require_tenant_session(), user_ids=list(keys))
        return [UserType.from_model(users[k]) if k in users else None for k in keys]

    return ctx.loader("UserById", lambda: DataLoader(load_fn=load))


@strawberry.enum
class MemberStatus(Enum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


@strawberry.type(name="Member", description="A user's membership of this tenant.")
class MemberType(Node):
    id: strawberry.ID
    role: str
    status: MemberStatus
    created_at: datetime
    user: UserType
    pk: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row) -> MemberType:  # type: ignore[no-untyped-def]
        return cls(id=to_global_id("Member", row.id), role=row.role, status=MemberStatus(row.status),
                   created_at=row.created_at, user=UserType.from_row(row), pk=row.id)


@strawberry.type(name="Invitation")
class InvitationType(Node):
    id: strawberry.ID
    email: str
    role: str
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None

    @classmethod
    def from_model(cls, inv: models.Invitation) -> InvitationType:
        return cls(id=to_global_id("Invitation", inv.id), email=inv.email, role=inv.role, created_at=inv.created_at,
                   expires_at=inv.expires_at, accepted_at=inv.accepted_at)


@strawberry.type(name="ApiClient", description="A developer's OAuth2 client (client_credentials grant).")
class ApiClientType(Node):
    id: strawberry.ID
    name: str
    client_id: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_model(cls, client) -> ApiClientType:  # type: ignore[no-untyped-def]
        return cls(id=to_global_id("ApiClient", client.id), name=client.name, client_id=client.client_id,
                   scopes=list(client.scopes), created_at=client.created_at, last_used_at=client.last_used_at,
                   revoked_at=client.revoked_at)


@strawberry.type(name="AuditEvent", description="One entry of the tenant's append-only audit log.")
class AuditEventType(Node):
    id: strawberry.ID
    occurred_at: datetime
    operation: str
    outcome: str
    actor_user_id: strawberry.ID | None
    actor_api_client_id: strawberry.ID | None
    targets: list[str]
    input_summary: JSON
    ip: str | None
    user_agent: str | None
    request_id: str | None

    @classmethod
    def from_row(cls, row) -> AuditEventType:  # type: ignore[no-untyped-def]
        return cls(
            id=to_global_id("AuditEvent", row.id), occurred_at=row.occurred_at, operation=row.operation,
            outcome=row.outcome,
            actor_user_id=to_global_id("User", row.actor_user_id) if row.actor_user_id else None,
            actor_api_client_id=to_global_id("ApiClient", row.actor_api_client_id) if row.actor_api_client_id else None,
            targets=list(row.targets), input_summary=row.input_summary, ip=row.ip, user_agent=row.user_agent,
            request_id=row.request_id,
        )
