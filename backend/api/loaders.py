"""Per-request DataLoaders shared by the modules' GraphQL: one query per batch of keys."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from strawberry.dataloader import DataLoader

from backend.api.context import RequestContext


def grouped_loader(ctx: RequestContext, key: str, stmt_for: Callable[[uuid.UUID, list[uuid.UUID]], Any],
                   make: Callable[[Any], Any]) -> DataLoader[uuid.UUID, list[Any]]:
    """Lists keyed by the column ``key`` (a foreign key): ``stmt_for(tenant_id, keys)`` selects the
    rows of the whole batch, ``make(row)`` turns one into its GraphQL object."""
    found = ctx.loaders.get(("grouped", key, stmt_for))
    if found is not None:  # called once per parent object: the common case returns here
        return found

    async def load(keys: list[uuid.UUID]) -> list[list[Any]]:
        groups: dict[uuid.UUID, list[Any]] = defaultdict(list)
        for row in await ctx.require_tenant_session().execute(stmt_for(ctx.principal.tenant_id, keys)):  # type: ignore[union-attr]
            groups[getattr(row, key)].append(make(row))
        return [groups.get(k, []) for k in keys]

    return ctx.loader(("grouped", key, stmt_for), lambda: DataLoader(load_fn=load))


def by_id_loader(ctx: RequestContext, name: str,
                 fetch: Callable[[RequestContext, list[uuid.UUID]], Any]) -> DataLoader[uuid.UUID, Any]:
    """Objects by primary key: ``await fetch(ctx, keys)`` answers ``{id: object}`` for the batch."""
    found = ctx.loaders.get(name)
    if found is not None:
        return found

    async def load(keys: list[uuid.UUID]) -> list[Any]:
        found = await fetch(ctx, list(keys))
        return [found.get(k) for k in keys]

    return ctx.loader(name, lambda: DataLoader(load_fn=load))
