"""Authentication of API requests: bearer access tokens (ours, or an external OIDC issuer's).

The token says who and which tenant; the database says whether that still holds. Membership, role,
API-client revocation and tenant suspension are checked on every request, through a per-process
cache of ``auth_cache_seconds`` (changes made in this process clear it at once).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from starlette.requests import HTTPConnection

from backend.core.db import Database
from backend.core.errors import ApiError, Unauthenticated
from backend.core.principal import Principal
from backend.modules.platform import identity, roles
from backend.modules.platform import service as platform
from backend.modules.platform.tokens import AccessClaims, AccessTokens
from backend.modules.registry import ModuleRegistry

PLATFORM_SCOPE = "platform"


class TenantSuspended(ApiError):
    code = "TENANT_SUSPENDED"
    http_status = 403


@dataclass
class _Cached:
    principal: Principal
    until: float


class PrincipalCache:
    def __init__(self, seconds: float, max_entries: int = 10_000) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str | None], _Cached] = {}

    def get(self, key: tuple[str, str | None]) -> Principal | None:
        entry = self._entries.get(key)
        if entry is None or entry.until < time.monotonic():
            return None
        return entry.principal

    def put(self, key: tuple[str, str | None], principal: Principal) -> None:
        if self.seconds <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = _Cached(principal, time.monotonic() + self.seconds)

    def clear(self) -> None:
        self._entries.clear()


class BearerAuthenticator:
    def __init__(
        self, *, tokens: AccessTokens, registry: ModuleRegistry, cache: PrincipalCache, oidc: object | None = None
    ) -> None:
        self.tokens = tokens
        self.registry = registry
        self.cache = cache
        self.oidc = oidc

    async def __call__(self, request: HTTPConnection) -> Principal | None:
        header = request.headers.get("authorization")
        if header is None:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Use Authorization: Bearer <access token>.")
        return await self.authenticate_token(token.strip(), request.app.state.db, request.headers.get("x-tenant"))

    async def authenticate_token(self, token: str, db: Database, tenant_slug: str | None = None) -> Principal:
        """The principal of a bearer token (also used by the websocket's connection_init)."""
        claims = await self._verify(token, db, tenant_slug)
        key = (claims.subject, str(claims.tenant_id) if claims.tenant_id else None)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        principal = await self._load(db, claims)
        self.cache.put(key, principal)
        return principal

    async def _verify(self, token: str, db: Database, tenant_slug: str | None) -> AccessClaims:
        if self.oidc is not None and self.oidc.accepts(token):  # type: ignore[attr-defined]
            return await self.oidc.verify(token, db, tenant_slug)  # type: ignore[attr-defined]
        return self.tokens.verify(token)

    async def _load(self, db: Database, claims: AccessClaims) -> Principal:
        gone = Unauthenticated("This access token no longer grants access.")
        if claims.tenant_id is None:
            if PLATFORM_SCOPE not in claims.scope or claims.user_id is None:
                raise gone
            async with db.transaction() as session:
                user = await identity.get_user(session, user_id=claims.user_id)
            if user is None or not user.is_platform_admin:
                raise gone
            return Principal(tenant_id=None, user_id=user.id, role="platform_admin",
                             permissions=frozenset({PLATFORM_SCOPE}), is_platform_admin=True)
        async with db.transaction(claims.tenant_id) as session:
            tenant = await platform.get_tenant(session, tenant_id=claims.tenant_id)
            if tenant is None:
                raise gone
            if tenant.status == "suspended":
                raise TenantSuspended("This tenant is suspended.")
            if claims.api_client_id is not None:
                client = await identity.get_api_client(session, api_client_id=claims.api_client_id)
                if client is None or client.revoked_at is not None:
                    raise gone
                allowed = set(self.registry.all_permissions())
                return Principal(tenant_id=tenant.id, api_client_id=client.id, role=None,
                                 permissions=frozenset(p for p in client.scopes if p in allowed and p in claims.scope))
            assert claims.user_id is not None
            membership = await identity.get_membership(session, user_id=claims.user_id)
            if membership is None or membership.status != "active":
                raise gone
            return Principal(tenant_id=tenant.id, user_id=claims.user_id, role=membership.role,
                             permissions=roles.permissions_for(membership.role, self.registry))



def forget_cached_principals(request: HTTPConnection | None) -> None:
    """After a change of access (member removed, role changed, client revoked, tenant suspended):
    this worker re-checks at once; others within ``auth_cache_seconds``."""
    auth = getattr(request.app.state, "auth", None) if request is not None else None
    if auth is not None:
        auth.cache.clear()
