"""Per-request DataLoaders shared by the modules' GraphQL: one query per batch of keys."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from backend.api.context import RequestContext
from backend.api.rows import RowObject, Selection, prune

F = TypeVar("F", bound=Callable[..., Any])


def _selection_for(ctx: RequestContext, row_type: type[RowObject] | None) -> Selection:
    selection = ctx.selection
    return selection if row_type is not None and selection is not None and selection[0] is row_type else None


def grouped_loader(ctx: RequestContext, key: str, stmt_for: Callable[[uuid.UUID, list[uuid.UUID]], Any],
                   make: Callable[[Any], Any], row_type: type[RowObject] | None = None
                   ) -> DataLoader[uuid.UUID, list[Any]]:
    """Lists keyed by the column ``key`` (a foreign key): ``stmt_for(tenant_id, keys)`` selects the
    rows of the whole batch, ``make(row)`` turns one into its GraphQL object.

    With ``row_type`` (a RowObject), only the columns of the fields the query selects are loaded:
    the loader is per selection, so objects loaded for one selection never serve another."""
    selection = _selection_for(ctx, row_type)
    cache_key = ("grouped", key, stmt_for, selection)
    found = ctx.loaders.get(cache_key)
    if found is not None:  # called once per parent object: the common case returns here
        return found

    async def load(keys: list[uuid.UUID]) -> list[list[Any]]:
        groups: dict[uuid.UUID, list[Any]] = defaultdict(list)
        stmt = stmt_for(ctx.principal.tenant_id, keys)  # type: ignore[union-attr]
        if row_type is not None:
            stmt = prune(stmt, row_type, selection, keep=(key,))
        for row in await ctx.require_tenant_session().execute(stmt):
            groups[getattr(row, key)].append(make(row))
        return [groups.get(k, []) for k in keys]

    return ctx.loader(cache_key, lambda: DataLoader(load_fn=load))


def by_id_loader(ctx: RequestContext, name: str, fetch: Callable[..., Any],
                 row_type: type[RowObject] | None = None) -> DataLoader[uuid.UUID, Any]:
    """Objects by primary key: ``await fetch(ctx, keys)`` answers ``{id: object}`` for the batch.

    With ``row_type``, ``fetch(ctx, keys, selection)`` gets the query's selection to ``prune`` its
    statement with, and the loader is per selection."""
    selection = _selection_for(ctx, row_type)
    cache_key = (name, selection) if row_type is not None else name
    found = ctx.loaders.get(cache_key)
    if found is not None:
        return found

    async def load(keys: list[uuid.UUID]) -> list[Any]:
        found = await (fetch(ctx, list(keys), selection) if row_type is not None else fetch(ctx, list(keys)))
        return [found.get(k) for k in keys]

    return ctx.loader(cache_key, lambda: DataLoader(load_fn=load))


def batched(batch: Callable[[RequestContext, list[Any]], Awaitable[list[Any]]]) -> Callable[[F], F]:
    """Give a resolver (of an object field without arguments) a form for a whole level of objects.

    The compiled executor calls ``await batch(ctx, parents)`` once for all the objects of a level
    instead of the resolver once per object; it must answer, in order, what the resolver would
    answer for each (the side-by-side tests of the two executors check this). graphql-core, and
    anything else that calls the resolver, still uses the resolver.
    """

    def mark(resolver: F) -> F:
        resolver.__batch__ = batch  # type: ignore[attr-defined]
        return resolver

    return mark


def by_key(attr: str, loader: Callable[[RequestContext], DataLoader[Any, Any]],
           empty: Any = None) -> Callable[[RequestContext, list[Any]], Awaitable[list[Any]]]:
    """The batch form of ``await loader(ctx).load(self.<attr>)`` (``empty`` where the key is None)."""

    async def batch(ctx: RequestContext, parents: list[Any]) -> list[Any]:
        keys = [getattr(p, attr) for p in parents]
        wanted = [k for k in keys if k is not None]
        found = iter(await loader(ctx).load_many(wanted) if wanted else ())
        return [(empty() if callable(empty) else empty) if k is None else next(found) for k in keys]

    return batch
