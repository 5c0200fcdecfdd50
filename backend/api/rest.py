"""Plain HTTP endpoints of modules (file uploads, streamed downloads) with the same rules as GraphQL:
bearer authentication, the module gate, a permission, one tenant transaction with the request's
scoping; errors in the GraphQL error shape with an HTTP status."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import orjson
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from backend.core.access import scope_session
from backend.core.db import set_tenant
from backend.core.errors import ApiError, Forbidden, ModuleDisabled, Unauthenticated
from backend.core.principal import Principal
from backend.modules.platform import service as platform


@dataclass
class TenantCall:
    session: AsyncSession
    principal: Principal


class RestError(Exception):
    def __init__(self, error: ApiError, status: int) -> None:
        super().__init__(error.message)
        self.error = error
        self.status = status

    def response(self) -> Response:
        body = {"errors": [{"message": self.error.message,
                            "extensions": {"code": self.error.code, **self.error.extensions}}]}
        return Response(orjson.dumps(body), status_code=self.status, media_type="application/json")


@asynccontextmanager
async def tenant_call(request: Request, *, module: str, permission: str) -> AsyncIterator[TenantCall]:
    """Authenticate, open the tenant's transaction, check the module and the permission."""
    try:
        principal = await request.app.state.authenticator(request)
    except ApiError as exc:
        raise RestError(exc, exc.http_status or 401) from None
    if principal is None or principal.tenant_id is None:
        raise RestError(Unauthenticated("Send Authorization: Bearer <a tenant's access token>."), 401)
    async with request.app.state.db.sessionmaker() as session, session.begin():
        await set_tenant(session, principal.tenant_id)
        await scope_session(session, principal)
        if not await platform.is_module_enabled(session, module):
            raise RestError(ModuleDisabled(module), 403)
        if not principal.can(permission):
            raise RestError(Forbidden(f"Missing permission {permission!r}.", permission=permission), 403)
        yield TenantCall(session=session, principal=principal)
