"""Who is calling: the result of authentication, carried through one request."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.requests import HTTPConnection


@dataclass(frozen=True)
class Principal:
    tenant_id: uuid.UUID | None
    user_id: uuid.UUID | None = None
    api_client_id: uuid.UUID | None = None
    role: str | None = None
    permissions: frozenset[str] = field(default_factory=frozenset)
    is_platform_admin: bool = False

    def can(self, permission: str) -> bool:
        return permission in self.permissions


# An authenticator turns a request into a Principal, or None when it carries no credentials;
# it raises Unauthenticated for bad ones. The identity module provides the real one (bearer JWTs
# and API client tokens); tests may install their own.
Authenticator = Callable[[HTTPConnection], Awaitable[Principal | None]]

