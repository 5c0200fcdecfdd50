"""Declare a root field's module and permission next to the field, checked once per field.

    @gated_field(module="crm", permission="crm.read")
    async def customers(self, info: Info, ...) -> Connection[Customer]: ...

Gates sit on root fields and on cross-module fields only; scalar fields of an object carry no
per-field hook (they are plain attribute reads, which is what keeps large pages cheap).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.types import Info


class Gate(FieldExtension):
    def __init__(self, module: str | None, permission: str | None) -> None:
        self.module = module
        self.permission = permission

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any) -> Any:
        raise TypeError("gated fields must have async resolvers")

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        await info.context.require(self.module, self.permission)
        return await next_(source, info, **kwargs)


def gated_field(*, module: str | None, permission: str | None = None, **kwargs: Any) -> Any:
    """A query field that needs ``module`` enabled and ``permission`` held (and a tenant)."""
    return strawberry.field(extensions=[Gate(module, permission)], **kwargs)


def gated_mutation(*, module: str | None, permission: str | None = None, **kwargs: Any) -> Any:
    return strawberry.mutation(extensions=[Gate(module, permission)], **kwargs)


class CrossModuleGate(FieldExtension):
    """A nested field that belongs to another module: answers ``empty`` while that module is off."""

    def __init__(self, module: str, empty: Any) -> None:
        self.module = module
        self.empty = empty

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any) -> Any:
        raise TypeError("cross-module fields must have async resolvers")

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        if not await info.context.module_enabled(self.module):
            return self.empty() if callable(self.empty) else self.empty
        return await next_(source, info, **kwargs)


def cross_module_field(*, module: str, empty: Any = None, **kwargs: Any) -> Any:
    """``Customer.orders``-style field: null (or ``empty``, e.g. ``list``) when ``module`` is off."""
    return strawberry.field(extensions=[CrossModuleGate(module, empty)], **kwargs)
