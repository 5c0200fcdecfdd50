"""Plain HTTP endpoints of modules (file uploads, streamed downloads) with the same rules as GraphQL:
bearer authentication, the module gate, a permission, one tenant transaction with the request's
scoping; errors in the GraphQL error shape with an HTTP status."""

from __future__ import annotations

import inspect
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass

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


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def csv_upload(request: Request, importer, *, module: str, permission: str) -> Response:  # type: ignore[no-untyped-def]
    """A CSV import endpoint: the body is the file (text/csv, UTF-8); ``?mode=all_or_nothing|skip_invalid``,
    ``?dryRun=true``, ``?map=Column:field`` (repeatable), ``?idempotencyKey=`` and ``?assign=`` are passed to
    ``importer(session, lines=, mapping=, mode=, dry_run=, owner_id=, **extra)``. Answers the import
    report: 200, or 422 when rows were refused and nothing was written."""
    from backend.core.errors import BadUserInput, DomainError

    if request.headers.get("content-type", "").split(";")[0].strip() not in ("text/csv", "application/csv"):
        return RestError(BadUserInput("Send the file as text/csv."), 415).response()
    mapping = {}
    for item in request.query_params.getlist("map"):
        column, _, target = item.rpartition(":")
        mapping[column] = target
    try:
        text = (await request.body()).decode("utf-8-sig")
    except UnicodeDecodeError:
        return RestError(BadUserInput("The file is not UTF-8."), 400).response()
    extra = {}
    accepted = inspect.signature(importer).parameters
    for query_name, keyword in (("idempotencyKey", "idempotency_key"), ("assign", "assign")):
        if query_name in request.query_params and keyword in accepted:
            extra[keyword] = request.query_params[query_name]
    try:
        async with tenant_call(request, module=module, permission=permission) as call:
            report = await importer(
                call.session, lines=io.StringIO(text, newline=""), mapping=mapping or None,
                mode=request.query_params.get("mode", "all_or_nothing").lower(),
                dry_run=request.query_params.get("dryRun", "false").lower() == "true",
                owner_id=call.principal.user_id, **extra)
    except RestError as exc:
        return exc.response()
    except DomainError as exc:
        return _json({"errors": [{"message": exc.message, "field": exc.field, "code": exc.code}]}, 400)
    return _json({"rows": report.rows, "created": report.created, "updated": report.updated,
                  "skipped": report.skipped, "dryRun": report.dry_run, "written": report.written,
                  "errors": [asdict(e) for e in report.errors]}, 200 if not report.errors or report.written else 422)
