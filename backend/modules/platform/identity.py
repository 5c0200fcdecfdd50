"""Users, memberships, credentials: sign-up, password sign-in, refresh tokens, API clients,
invitations. Async, explicit session, never commits; refusals are DomainErrors.

Where a lookup must cross tenants (which tenants does this user belong to?), it runs under
``app.user_id`` and the membership table's SELECT-only ``member_self`` policy, which shows a
signed-in user their own memberships and nothing else.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events
from backend.core.db import set_tenant, utcnow
from backend.core.errors import DomainError
from backend.core.ids import to_global_id
from backend.core.validation import normalize_email
from backend.modules.platform import events as platform_events
from backend.modules.platform import passwords, roles
from backend.modules.platform import secrets as opaque
from backend.modules.platform import service as platform
from backend.modules.platform.models import ApiClient, AppUser, Invitation, Membership, RefreshToken, Tenant
from backend.modules.registry import ModuleRegistry

REFRESH_PREFIX = "rt"
INVITATION_PREFIX = "inv"
CLIENT_PREFIX = "jc"


@dataclass(frozen=True)
class TenantMembership:
    tenant_id: uuid.UUID
    slug: str
    role: str
    tenant_status: str


# --- users ------------------------------------------------------------------------------------------


async def get_user(session: AsyncSession, *, user_id: uuid.UUID) -> AppUser | None:
    return await session.get(AppUser, user_id)


async def get_user_by_email(session: AsyncSession, *, email: str) -> AppUser | None:
    stmt = select(AppUser).where(func.lower(AppUser.email) == email.strip().lower())
    return (await session.execute(stmt)).scalar_one_or_none()


async def create_user(
    session: AsyncSession, *, email: str, name: str, password: str | None, is_platform_admin: bool = False
) -> AppUser:
    """Create a global user. Refuses INVALID_EMAIL, EMAIL_TAKEN, REQUIRED name and weak passwords."""
    email = normalize_email(email)
    name = (name or "").strip()
    if not name:
        raise DomainError("REQUIRED", "Name is required.", "name")
    if password is not None:
        passwords.check_policy(password, email=email)
    if await get_user_by_email(session, email=email) is not None:
        raise DomainError("EMAIL_TAKEN", "An account with this email exists: sign in instead.", "email")
    user = AppUser(
        email=email,
        name=name[:200],
        password_hash=await passwords.hash_password(password) if password is not None else None,
        is_platform_admin=is_platform_admin,
    )
    session.add(user)
    await session.flush()
    return user


async def change_password(session: AsyncSession, *, user_id: uuid.UUID, current: str, new: str) -> AppUser:
    """Change one's own password: the current one must match; every refresh token of the user (in
    every tenant) is revoked, so other devices must sign in again."""
    user = await get_user(session, user_id=user_id)
    if user is None or not await passwords.verify_password(user.password_hash, current):
        raise DomainError("INVALID_PASSWORD", "The current password is not right.", "currentPassword")
    passwords.check_policy(new, email=user.email, field="newPassword")
    user.password_hash = await passwords.hash_password(new)
    await session.flush()
    for membership in await memberships_of_user(session, user_id=user.id):
        await set_tenant(session, membership.tenant_id)
        await session.execute(update(RefreshToken).where(
            RefreshToken.tenant_id == membership.tenant_id, RefreshToken.user_id == user.id,
            RefreshToken.revoked_at.is_(None)).values(revoked_at=utcnow()))
    return user


async def verify_user_password(session: AsyncSession, *, email: str, password: str) -> AppUser | None:
    """The user whose email and password match, else None (same cost either way).

    Rehashes a stored hash whose argon2 parameters are out of date, and stamps last_login_at.
    """
    user = await get_user_by_email(session, email=email)
    if not await passwords.verify_password(user.password_hash if user else None, password):
        return None
    assert user is not None
    if passwords.needs_rehash(user.password_hash):  # type: ignore[arg-type]
        user.password_hash = await passwords.hash_password(password)
    user.last_login_at = utcnow()
    await session.flush()
    return user


# --- memberships ------------------------------------------------------------------------------------


def _tenant_id(session: AsyncSession) -> uuid.UUID:
    tid = session.info.get("tenant_id")
    if tid is None:
        raise RuntimeError("no tenant set on this session")
    return tid


async def add_member(session: AsyncSession, *, user_id: uuid.UUID, role: str) -> Membership:
    if not roles.is_role(role):
        raise DomainError("UNKNOWN_ROLE", f"Unknown role {role!r}; roles: {', '.join(roles.role_names())}.", "role")
    existing = await get_membership(session, user_id=user_id)
    if existing is not None:
        raise DomainError("ALREADY_MEMBER", "This person is already a member.", "email")
    membership = Membership(user_id=user_id, role=role, status="active")
    session.add(membership)
    await session.flush()
    user = await get_user(session, user_id=user_id)
    await events.emit(session, platform_events.MEMBER_JOINED, aggregate_id=to_global_id("Member", membership.id),
                      payload={"memberId": to_global_id("Member", membership.id),
                               "userId": to_global_id("User", user_id), "email": user.email if user else None,
                               "role": role})
    return membership


async def get_membership(session: AsyncSession, *, user_id: uuid.UUID) -> Membership | None:
    stmt = select(Membership).where(Membership.tenant_id == _tenant_id(session), Membership.user_id == user_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def memberships_of_user(session: AsyncSession, *, user_id: uuid.UUID) -> list[TenantMembership]:
    """Every active membership of one user, across tenants (the ``member_self`` policy)."""
    await session.execute(text(f"SET LOCAL app.user_id = '{uuid.UUID(str(user_id))}'"))
    rows = await session.execute(
        select(Membership.tenant_id, Tenant.slug, Membership.role, Tenant.status)
        .join(Tenant, Tenant.id == Membership.tenant_id)
        .where(Membership.user_id == user_id, Membership.status == "active")
        .order_by(Tenant.slug)
    )
    await session.execute(text("SET LOCAL app.user_id = ''"))
    return [TenantMembership(r.tenant_id, r.slug, r.role, r.status) for r in rows]


def choose_tenant(memberships: list[TenantMembership], slug: str | None) -> TenantMembership:
    """The tenant a password sign-in is for. Never lists the account's tenants in an error."""
    if slug:
        for m in memberships:
            if m.slug == slug.strip().lower():
                return m
        raise DomainError("invalid_grant", "Invalid credentials for this tenant.", "tenant")
    if len(memberships) == 1:
        return memberships[0]
    if not memberships:
        raise DomainError("invalid_grant", "This account is not a member of any tenant.", "username")
    raise DomainError("invalid_request", "This account belongs to several tenants: pass 'tenant' (its slug).", "tenant")


async def count_owners(session: AsyncSession) -> int:
    stmt = select(func.count()).select_from(Membership).where(
        Membership.tenant_id == _tenant_id(session), Membership.role == "owner", Membership.status == "active"
    )
    return int(await session.scalar(stmt) or 0)


# --- sign-up ----------------------------------------------------------------------------------------


def slug_from(company: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", company.lower()).strip("-")[:50].strip("-")
    return slug or "tenant"


async def signup(
    session: AsyncSession, *, registry: ModuleRegistry, email: str, password: str, name: str, company: str
) -> tuple[AppUser, Tenant]:
    """A new user owning a new tenant on the free plan; leaves the session scoped to that tenant."""
    company = (company or "").strip()
    if not company:
        raise DomainError("REQUIRED", "Company is required.", "company")
    user = await create_user(session, email=email, name=name, password=password)
    base = slug_from(company)
    slug = base
    while await platform.get_tenant_by_slug(session, slug=slug) is not None:
        slug = f"{base[:50]}-{uuid.uuid4().hex[:6]}"
    tenant = await platform.create_tenant(session, registry=registry, name=company, slug=slug, plan="free")
    await add_member(session, user_id=user.id, role="owner")
    return user, tenant


# --- refresh tokens ---------------------------------------------------------------------------------


async def issue_refresh_token(
    session: AsyncSession, *, user_id: uuid.UUID, client_id: str, scope: str, days: int,
    family_id: uuid.UUID | None = None,
) -> str:
    tenant_id = _tenant_id(session)
    secret = opaque.random_secret()
    session.add(RefreshToken(
        user_id=user_id, family_id=family_id or uuid.uuid4(), token_hash=opaque.digest(secret),
        client_id=client_id, scope=scope, expires_at=utcnow() + timedelta(days=days),
    ))
    await session.flush()
    return opaque.with_tenant(REFRESH_PREFIX, tenant_id, secret)


async def find_refresh_token(session: AsyncSession, *, token: str) -> RefreshToken | None:
    """The stored token for ``token``; scopes the session to the token's tenant. None if unknown."""
    parsed = opaque.split_tenant(REFRESH_PREFIX, token)
    if parsed is None:
        return None
    tenant_id, secret = parsed
    await set_tenant(session, tenant_id)
    stmt = select(RefreshToken).where(
        RefreshToken.tenant_id == tenant_id, RefreshToken.token_hash == opaque.digest(secret)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def revoke_family(session: AsyncSession, *, family_id: uuid.UUID, at: datetime | None = None) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.tenant_id == _tenant_id(session), RefreshToken.family_id == family_id,
               RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at or utcnow())
    )


# --- API clients ------------------------------------------------------------------------------------


async def create_api_client(
    session: AsyncSession, *, registry: ModuleRegistry, name: str, scopes: list[str],
    created_by: uuid.UUID | None, grantable: frozenset[str],
) -> tuple[ApiClient, str]:
    """A client limited to ``scopes``, each a permission the creator holds; returns (client, secret)."""
    name = (name or "").strip()
    if not name:
        raise DomainError("REQUIRED", "Name is required.", "name")
    known = set(registry.all_permissions())
    wanted = sorted(set(scopes))
    if not wanted:
        raise DomainError("REQUIRED", "Give the client at least one scope.", "scopes")
    for scope in wanted:
        if scope not in known:
            raise DomainError("UNKNOWN_SCOPE", f"Unknown scope {scope!r}.", "scopes")
        if scope not in grantable or scope == roles.OWNER_ONLY:
            raise DomainError("SCOPE_NOT_GRANTABLE", f"You cannot grant {scope!r}.", "scopes")
    tenant_id = _tenant_id(session)
    secret = opaque.random_secret()
    client = ApiClient(
        name=name[:200], client_id=opaque.with_tenant(CLIENT_PREFIX, tenant_id, uuid.uuid4().hex[:16]),
        secret_hash=opaque.digest(secret), scopes=wanted, created_by=created_by,
    )
    session.add(client)
    await session.flush()
    client_gid = to_global_id("ApiClient", client.id)
    await events.emit(session, platform_events.API_CLIENT_CREATED, aggregate_id=client_gid,
                      payload={"apiClientId": client_gid, "name": client.name, "scopes": wanted})
    return client, secret


async def find_api_client(session: AsyncSession, *, client_id: str) -> ApiClient | None:
    """The client for ``client_id``; scopes the session to its tenant. None if unknown."""
    parsed = opaque.split_tenant(CLIENT_PREFIX, client_id)
    if parsed is None:
        return None
    await set_tenant(session, parsed[0])
    stmt = select(ApiClient).where(ApiClient.tenant_id == parsed[0], ApiClient.client_id == client_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_api_client(session: AsyncSession, *, api_client_id: uuid.UUID) -> ApiClient | None:
    stmt = select(ApiClient).where(ApiClient.tenant_id == _tenant_id(session), ApiClient.id == api_client_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def revoke_api_client(session: AsyncSession, *, api_client_id: uuid.UUID) -> ApiClient:
    client = await get_api_client(session, api_client_id=api_client_id)
    if client is None:
        raise DomainError("NOT_FOUND", "No API client with this ID.", "id")
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        await session.flush()
        client_gid = to_global_id("ApiClient", client.id)
        await events.emit(session, platform_events.API_CLIENT_REVOKED, aggregate_id=client_gid,
                          payload={"apiClientId": client_gid, "name": client.name})
    return client


# --- invitations ------------------------------------------------------------------------------------


async def invite_member(
    session: AsyncSession, *, email: str, role: str, invited_by: uuid.UUID | None, days: int,
    inviter_is_owner: bool,
) -> tuple[Invitation, str]:
    """An invitation token (shown once) for ``email`` to join with ``role``."""
    email = normalize_email(email)
    if not roles.is_role(role):
        raise DomainError("UNKNOWN_ROLE", f"Unknown role {role!r}.", "role")
    if role == "owner" and not inviter_is_owner:
        raise DomainError("OWNER_REQUIRED", "Only an owner can invite an owner.", "role")
    user = await get_user_by_email(session, email=email)
    if user is not None and await get_membership(session, user_id=user.id) is not None:
        raise DomainError("ALREADY_MEMBER", "This person is already a member.", "email")
    secret = opaque.random_secret()
    invitation = Invitation(
        email=email, role=role, token_hash=opaque.digest(secret), invited_by=invited_by,
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(invitation)
    await session.flush()
    invitation_gid = to_global_id("Invitation", invitation.id)
    await events.emit(session, platform_events.MEMBER_INVITED, aggregate_id=invitation_gid,
                      payload={"invitationId": invitation_gid, "email": email, "role": role,
                               "expiresAt": invitation.expires_at.isoformat()})
    return invitation, opaque.with_tenant(INVITATION_PREFIX, _tenant_id(session), secret)


async def accept_invitation(
    session: AsyncSession, *, token: str, password: str | None, name: str | None
) -> tuple[AppUser, Membership]:
    """Join the inviting tenant. An existing account joins as it is; a new one needs a password."""
    parsed = opaque.split_tenant(INVITATION_PREFIX, token)
    invalid = DomainError("INVALID_INVITATION", "This invitation is invalid or has expired.", "token")
    if parsed is None:
        raise invalid
    await set_tenant(session, parsed[0])
    invitation = (await session.execute(select(Invitation).where(
        Invitation.tenant_id == parsed[0], Invitation.token_hash == opaque.digest(parsed[1])
    ))).scalar_one_or_none()
    if (invitation is None or invitation.accepted_at is not None or invitation.revoked_at is not None
            or invitation.expires_at <= utcnow()):
        raise invalid
    user = await get_user_by_email(session, email=invitation.email)
    if user is None:
        if password is None:
            raise DomainError("REQUIRED", "Choose a password to create your account.", "password")
        user = await create_user(session, email=invitation.email, name=name or invitation.email.split("@")[0],
                                 password=password)
    membership = await add_member(session, user_id=user.id, role=invitation.role)
    invitation.accepted_at = utcnow()
    await session.flush()
    return user, membership


# --- member administration --------------------------------------------------------------------------


async def get_member(session: AsyncSession, *, member_id: uuid.UUID) -> Membership | None:
    stmt = select(Membership).where(Membership.tenant_id == _tenant_id(session), Membership.id == member_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def _lock_owners(session: AsyncSession) -> None:
    # Two concurrent demotions of two owners must not leave none: serialise owner changes per tenant.
    await session.execute(
        select(Membership.id).where(Membership.tenant_id == _tenant_id(session), Membership.role == "owner")
        .with_for_update()
    )


async def update_member_role(
    session: AsyncSession, *, member_id: uuid.UUID, role: str, actor_is_owner: bool
) -> Membership:
    """Change a member's role. Owners only make or unmake owners; the last owner stays an owner."""
    if not roles.is_role(role):
        raise DomainError("UNKNOWN_ROLE", f"Unknown role {role!r}; roles: {', '.join(roles.role_names())}.", "role")
    member = await get_member(session, member_id=member_id)
    if member is None:
        raise DomainError("NOT_FOUND", "No member with this ID.", "id")
    if "owner" in (role, member.role):
        if not actor_is_owner:
            raise DomainError("OWNER_REQUIRED", "Only an owner can make or unmake an owner.", "role")
        await _lock_owners(session)
        if member.role == "owner" and role != "owner" and await count_owners(session) <= 1:
            raise DomainError("LAST_OWNER", "A tenant keeps at least one owner: make someone else owner first.", "role")
    previous, member.role = member.role, role
    await session.flush()
    if previous != role:
        member_gid = to_global_id("Member", member.id)
        await events.emit(session, platform_events.MEMBER_ROLE_CHANGED, aggregate_id=member_gid,
                          payload={"memberId": member_gid, "userId": to_global_id("User", member.user_id),
                                   "from": previous, "to": role})
    return member


async def remove_member(session: AsyncSession, *, member_id: uuid.UUID, actor_is_owner: bool) -> Membership:
    """Remove a member and end their sessions in this tenant. Never the last owner."""
    member = await get_member(session, member_id=member_id)
    if member is None:
        raise DomainError("NOT_FOUND", "No member with this ID.", "id")
    if member.role == "owner":
        if not actor_is_owner:
            raise DomainError("OWNER_REQUIRED", "Only an owner can remove an owner.", "id")
        await _lock_owners(session)
        if await count_owners(session) <= 1:
            raise DomainError("LAST_OWNER", "A tenant keeps at least one owner.", "id")
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.tenant_id == member.tenant_id, RefreshToken.user_id == member.user_id,
               RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    await session.delete(member)
    await session.flush()
    member_gid = to_global_id("Member", member.id)
    await events.emit(session, platform_events.MEMBER_REMOVED, aggregate_id=member_gid,
                      payload={"memberId": member_gid, "userId": to_global_id("User", member.user_id),
                               "role": member.role})
    return member
