"""Mutation payload errors and the mapping of exceptions to GraphQL errors.

Business-rule failures are data (``userErrors``) and write nothing: ``run_mutation`` runs the
service call inside a SAVEPOINT and rolls it back on DomainError. A DomainError that reaches a query
(bad filter input) is answered with its code, message and field. Anything else a resolver raises
that is not an ApiError is unexpected: it is logged with the request id and answered as INTERNAL with that
id, never with its message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
import structlog
from graphql import GraphQLError
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.core.errors import ApiError, DomainError

log = structlog.get_logger("jishi.graphql")

T = TypeVar("T")


@strawberry.type(description="A business-rule refusal. Nothing was written.")
class UserError:
    field: list[str] | None = strawberry.field(description="Path to the input field at fault, if any.")
    message: str
    code: str


def user_error(exc: DomainError) -> UserError:
    field = ["input", *exc.field] if exc.field else None
    return UserError(field=field, message=exc.message, code=exc.code)


async def run_mutation(
    info: Info, payload: Callable[..., T], operation: Callable[[], Awaitable[T]], input: Any = None
) -> T:
    """Run ``operation`` atomically: its writes commit with the request, or vanish on any error.

    Returns the operation's payload, or ``payload(user_errors=[...])`` for a DomainError. Other
    exceptions propagate (after the savepoint is rolled back) and become top-level errors. Every
    outcome is written to the tenant's audit log in the request's transaction, outside the
    savepoint: a refused or failed mutation leaves an audit row saying so, and no data.
    """
    from backend.core.events import atomic
    from backend.core.outbox import lock_tenant_writes

    ctx: RequestContext = info.context
    session = ctx.require_tenant_session()
    # The request's first mutation has nothing written before it in the request's transaction: it runs
    # without a savepoint (a round trip less, inside the tenant's write lock), and should it fail, the
    # whole transaction is rolled back and begun again for its audit row. Later ones keep a savepoint.
    first = not session.info.get("mutated")
    session.info["mutated"] = True
    await lock_tenant_writes(session)  # outside the savepoint: held until the request commits
    try:
        async with atomic(session, savepoint=not first):
            result = await operation()
    except DomainError as exc:
        if first:
            await _begin_again(ctx)
        await _audit(ctx, info.field_name, input, None, f"refused:{exc.code}")
        return payload(user_errors=[user_error(exc)])
    except Exception:
        if first:
            await _begin_again(ctx)
        await _audit(ctx, info.field_name, input, None, "error")
        raise
    await _audit(ctx, info.field_name, input, result, "success")
    return result


async def _begin_again(ctx: RequestContext) -> None:
    """Undo everything the request's transaction wrote and begin a new one, scoped as the first was."""
    from backend.core.access import scope_session
    from backend.core.db import set_tenant

    session = ctx.require_tenant_session()
    await session.rollback()
    # set_tenant forgets the write lock and module state; the driver and work-due marks name their
    # transaction, so they lapse with it.
    await set_tenant(session, ctx.principal.tenant_id)  # type: ignore[union-attr,arg-type]
    await scope_session(session, ctx.principal)  # type: ignore[arg-type]
    session.info["mutated"] = True


def _ids_in(value: Any) -> list[str]:
    """Global IDs named by an input (``id``, ``...Id``, ``...Ids``) or held by a payload's objects."""
    found: list[str] = []
    if value is None:
        return found
    fields = vars(value) if hasattr(value, "__dict__") else {}
    for name, item in fields.items():
        if name.startswith("_"):
            continue
        if name == "id" or name.endswith("_id") or name.endswith("_ids"):
            found.extend(str(v) for v in (item if isinstance(item, list) else [item]) if v)
        elif hasattr(item, "id") and not isinstance(item, str | list):
            found.append(str(item.id))
    return found


async def _audit(ctx: RequestContext, operation: str, input: Any, result: Any, outcome: str) -> None:
    from backend.modules.platform import audit

    principal = ctx.principal
    request = ctx.request
    await audit.record(
        ctx.session,  # type: ignore[arg-type]
        operation=operation,
        outcome=outcome,
        actor_user_id=principal.user_id if principal else None,
        actor_api_client_id=principal.api_client_id if principal else None,
        targets=list(dict.fromkeys(_ids_in(input) + _ids_in(result))),
        input_summary=audit.summarize(input) if input is not None else {},
        ip=request.client.host if request is not None and request.client else None,
        user_agent=request.headers.get("user-agent") if request is not None else None,
        request_id=ctx.request_id,
    )


def format_error(error: GraphQLError, request_id: str) -> dict[str, Any]:
    """The response form of one error, with unexpected exceptions masked."""
    original = error.original_error
    formatted = error.formatted
    extensions = dict(formatted.get("extensions") or {})
    if original is None:
        extensions.setdefault("code", "GRAPHQL_VALIDATION_FAILED")
    elif isinstance(original, ApiError):
        formatted["message"] = original.message
        extensions.update(original.extensions)
        extensions["code"] = original.code
    elif isinstance(original, DomainError):  # bad input to a query (mutations answer userErrors)
        formatted["message"] = original.message
        extensions["code"] = original.code
        if original.field:
            extensions["field"] = original.field
    elif isinstance(original, GraphQLError):  # e.g. variable coercion
        extensions.setdefault("code", "BAD_USER_INPUT")
    else:
        log.error(
            "graphql.internal_error",
            request_id=request_id,
            path=error.path,
            exc_info=(type(original), original, original.__traceback__),
        )
        formatted["message"] = f"Internal server error (request {request_id})."
        extensions = {"code": "INTERNAL", "requestId": request_id}
    formatted["extensions"] = extensions
    return formatted
