"""Single sign-on: accept access tokens issued by an external OIDC provider.

Configured by ``JISHI_OIDC_ISSUER``, ``JISHI_OIDC_AUDIENCE`` and ``JISHI_OIDC_JWKS_URL``. A token
whose ``iss`` is that issuer is verified against the issuer's key set (fetched and cached for five
minutes, refetched once when a token names an unknown key), and its verified ``email`` is mapped
to a Jishi user. The tenant is the one named by the ``X-Tenant`` header (a slug), else the user's
only tenant. The user must already be a member; nothing is created on the fly.
"""

from __future__ import annotations

import time
import uuid

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from backend.core.db import Database
from backend.core.errors import DomainError, Unauthenticated
from backend.modules.platform import identity
from backend.modules.platform.tokens import AccessClaims

JWKS_TTL_SECONDS = 300


class ExternalIssuer:
    def __init__(self, *, issuer: str, audience: str | None, jwks_url: str | None) -> None:
        if not jwks_url:
            raise ValueError("JISHI_OIDC_JWKS_URL is required with JISHI_OIDC_ISSUER")
        self.issuer = issuer
        self.jwks_url = jwks_url
        options: dict = {"iss": {"essential": True, "value": issuer}, "exp": {"essential": True}}
        if audience:
            options["aud"] = {"essential": True, "value": audience}
        self._claims = JWTClaimsRegistry(leeway=30, **options)
        self._keys: KeySet | None = None
        self._fetched = 0.0

    def accepts(self, token: str) -> bool:
        """Whether the (unverified) token claims to come from this issuer."""
        try:
            import base64

            import orjson

            payload = token.split(".")[1]
            claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            return isinstance(claims, dict) and claims.get("iss") == self.issuer
        except (IndexError, ValueError):
            return False

    async def _key_set(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh or time.monotonic() - self._fetched > JWKS_TTL_SECONDS:
            async with httpx.AsyncClient(timeout=5) as client:
                response = await client.get(self.jwks_url)
                response.raise_for_status()
            self._keys = KeySet.import_key_set(response.json())
            self._fetched = time.monotonic()
        return self._keys

    async def verify(self, token: str, db: Database, tenant_slug: str | None) -> AccessClaims:
        invalid = Unauthenticated("The single sign-on token is invalid or has expired.")
        try:
            try:
                decoded = jwt.decode(token, await self._key_set(), algorithms=["RS256", "ES256", "EdDSA"])
            except JoseError:
                decoded = jwt.decode(token, await self._key_set(refresh=True), algorithms=["RS256", "ES256", "EdDSA"])
            self._claims.validate(decoded.claims)
        except (JoseError, ValueError, httpx.HTTPError):
            raise invalid from None
        email = decoded.claims.get("email")
        if not isinstance(email, str) or decoded.claims.get("email_verified") is False:
            raise invalid
        async with db.transaction() as session:
            user = await identity.get_user_by_email(session, email=email)
            if user is None:
                raise invalid
            try:
                chosen = identity.choose_tenant(await identity.memberships_of_user(session, user_id=user.id),
                                                tenant_slug)
            except DomainError:
                raise invalid from None
        return AccessClaims(subject=str(user.id), tenant_id=chosen.tenant_id, scope=(), client_id="oidc",
                            jti=str(decoded.claims.get("jti") or uuid.uuid4().hex),
                            expires_at=int(decoded.claims["exp"]))
