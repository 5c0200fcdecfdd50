"""Access tokens: ES256-signed JWTs (joserfc), about 15 minutes, one tenant each.

Claims: ``sub`` (user id, or ``client:<api client id>``), ``tid`` (tenant id; absent on platform
tokens), ``iss``, ``aud``, ``exp``, ``iat``, ``jti``, ``scope`` (space separated; an API client's
permissions, ``platform`` for platform administration), ``cid`` (the OAuth client that asked).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwt import JWTClaimsRegistry

from backend.core.errors import Unauthenticated
from backend.core.lru import LRU
from backend.modules.platform.keys import SigningKeys

CLIENT_SUBJECT_PREFIX = "client:"


@dataclass(frozen=True)
class AccessClaims:
    subject: str
    tenant_id: uuid.UUID | None
    scope: tuple[str, ...]
    client_id: str | None
    jti: str
    expires_at: int

    @property
    def user_id(self) -> uuid.UUID | None:
        return None if self.subject.startswith(CLIENT_SUBJECT_PREFIX) else uuid.UUID(self.subject)

    @property
    def api_client_id(self) -> uuid.UUID | None:
        if self.subject.startswith(CLIENT_SUBJECT_PREFIX):
            return uuid.UUID(self.subject.removeprefix(CLIENT_SUBJECT_PREFIX))
        return None


class AccessTokens:
    def __init__(self, keys: SigningKeys, *, issuer: str, audience: str, lifetime: int) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.lifetime = lifetime
        self._registry = JWTClaimsRegistry(
            leeway=30,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            sub={"essential": True},
            jti={"essential": True},
        )
        # Verified tokens, until they expire: an ES256 signature check costs about as much CPU as a
        # small query, and a client sends the same token with every request. Bounded; a token is the key,
        # so nothing that was not verified once can be found here.
        self._verified = LRU(4096)

    def issue(
        self, *, subject: str, tenant_id: uuid.UUID | None, scope: list[str] | tuple[str, ...] = (),
        client_id: str | None = None,
    ) -> tuple[str, int]:
        now = int(time.time())
        claims: dict[str, object] = {
            "iss": self.issuer, "aud": self.audience, "sub": subject, "iat": now, "exp": now + self.lifetime,
            "jti": uuid.uuid4().hex, "scope": " ".join(scope),
        }
        if tenant_id is not None:
            claims["tid"] = str(tenant_id)
        if client_id:
            claims["cid"] = client_id
        header = {"alg": "ES256", "kid": self.keys.signing_kid, "typ": "at+jwt"}
        return jwt.encode(header, claims, self.keys.keys), self.lifetime

    def verify(self, token: str) -> AccessClaims:
        """The claims of a valid token; Unauthenticated for anything else (never says why in detail)."""
        known = self._verified.get(token)
        if known is not None:
            if known.expires_at + 30 > time.time():  # the registry's leeway
                return known
            del self._verified[token]
        claims = self._verify(token)
        self._verified.put(token, claims)
        return claims

    def _verify(self, token: str) -> AccessClaims:
        try:
            decoded = jwt.decode(token, self.keys.keys, algorithms=["ES256"])
            self._registry.validate(decoded.claims)
            claims = decoded.claims
            tid = claims.get("tid")
            return AccessClaims(
                subject=str(claims["sub"]),
                tenant_id=uuid.UUID(tid) if tid else None,
                scope=tuple(str(claims.get("scope", "")).split()),
                client_id=claims.get("cid"),
                jti=str(claims["jti"]),
                expires_at=int(claims["exp"]),
            )
        except (JoseError, ValueError, KeyError, TypeError):
            raise Unauthenticated("The access token is invalid or has expired.") from None
