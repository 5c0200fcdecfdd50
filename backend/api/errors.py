"""Mutation payload errors and the mapping of exceptions to GraphQL errors.

Business-rule failures are data (``userErrors``) and write nothing: ``run_mutation`` runs the
service call inside a SAVEPOINT and rolls it back on DomainError. Anything a resolver raises that is
not an ApiError is unexpected: it is logged with the request id and answered as INTERNAL with that
id, never with its message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
import structlog
from graphql import GraphQLError

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


async def run_mutation(ctx: RequestContext, payload: Callable[..., T], operation: Callable[[], Awaitable[T]]) -> T:
    """Run ``operation`` atomically: its writes commit with the request, or vanish on any error.

    Returns the operation's payload, or ``payload(user_errors=[...])`` for a DomainError. Other
    exceptions propagate (after the savepoint is rolled back) and become top-level errors.
    """
    session = ctx.require_tenant_session()
    try:
        async with session.begin_nested():
            return await operation()
    except DomainError as exc:
        return payload(user_errors=[user_error(exc)])


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
