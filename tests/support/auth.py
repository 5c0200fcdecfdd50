"""Test-only authentication: the test names the tenant and permissions in headers.

This lives under tests/ and is passed to ``create_app`` by the test fixtures only; the served app
has no such switch.
"""

from __future__ import annotations

import uuid

from starlette.requests import HTTPConnection

from backend.core.errors import Unauthenticated
from backend.core.principal import Principal

TENANT_HEADER = "x-test-tenant"
PERMISSIONS_HEADER = "x-test-permissions"


async def header_authenticator(request: HTTPConnection) -> Principal | None:
    raw = request.headers.get(TENANT_HEADER)
    if raw is None:
        return None
    try:
        tenant_id = uuid.UUID(raw)
    except ValueError:
        raise Unauthenticated("Bad test credentials.")
    permissions = frozenset(p for p in request.headers.get(PERMISSIONS_HEADER, "").split(",") if p)
    return Principal(tenant_id=tenant_id, role="test", permissions=permissions)
