"""Errors that cross layers.

``DomainError`` is a business-rule refusal raised by a service before it writes anything; the
GraphQL layer answers it as a ``userError`` (field, message, code). ``ApiError`` is a request-level
refusal (auth, module gate, limits) answered as a top-level GraphQL error with
``extensions.code``. Anything else is unexpected and masked at the edge as INTERNAL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class DomainError(Exception):
    def __init__(self, code: str, message: str, field: Sequence[str] | str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if isinstance(field, str):
            field = [field]
        self.field: list[str] | None = list(field) if field is not None else None


class ApiError(Exception):
    """A top-level error with a stable ``extensions.code``."""

    code = "INTERNAL"
    http_status = 200

    def __init__(self, message: str, code: str | None = None, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.extensions = extensions


class Unauthenticated(ApiError):
    code = "UNAUTHENTICATED"
    http_status = 401


class Forbidden(ApiError):
    code = "FORBIDDEN"
    http_status = 403


class ModuleDisabled(ApiError):
    code = "MODULE_DISABLED"

    def __init__(self, module: str) -> None:
        super().__init__(f"The {module!r} module is not enabled for this tenant.", module=module)


class NotFound(ApiError):
    code = "NOT_FOUND"


class BadUserInput(ApiError):
    code = "BAD_USER_INPUT"


class QueryTooComplex(ApiError):
    code = "QUERY_TOO_COMPLEX"
