"""Per-request DataLoaders shared by the modules' GraphQL: one query per batch of keys."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from backend.api.context import RequestContext
from backend.api.rows import RowObject, Selection, prune
from backend.core.db import BATCH_KEYS, BATCH_TENANT, any_of
from backend.core.fetch import Prepared, fetch
from backend.core.lru import LRU

F = TypeVar("F", bound=Callable[..., Any])


def _selection_for(ctx: RequestContext, row_type: type[RowObject] | None) -> Selection:
    selection = ctx.selection
    return selection if row_type is not None and selection is not None and selection[0] is row_type else None


def grouped_loader(ctx: RequestContext, key: str, stmt_for: Callable[[uuid.UUID, list[uuid.UUID]], Any],
                   make: Callable[[Any], Any], row_type: type[RowObject] | None = None,
                   keep: tuple[str, ...] = ()) -> DataLoader[uuid.UUID, list[Any]]:
    """Lists keyed by the column ``key`` (a foreign key): ``stmt_for(tenant_id, keys)`` selects the
    rows of the whole batch, ``make(row)`` turns one into its GraphQL object.

    With ``row_type`` (a RowObject), only the columns of the fields the query selects are loaded
    (and those in ``keep``: what the caller reads itself, e.g. to filter): the loader is per
    selection, so objects loaded for one selection never serve another."""
    selection = _selection_for(ctx, row_type)
    cache_key = ("grouped", key, stmt_for, selection)
    found = ctx.loaders.get(cache_key)
    if found is not None:  # called once per parent object: the common case returns here
        return found

    template = _template(stmt_for, row_type, selection, (key, *keep))

    async def load(keys: list[uuid.UUID]) -> list[list[Any]]:
        groups: dict[uuid.UUID, list[Any]] = defaultdict(list)
        session = ctx.require_tenant_session()
        params = {"batch_tenant": ctx.principal.tenant_id, "batch_keys": list(keys)}  # type: ignore[union-attr]
        for row in await fetch(session, template, params):
            groups[getattr(row, key)].append(make(row))
        return [groups.get(k, []) for k in keys]

    return ctx.loader(cache_key, lambda: DataLoader(load_fn=load))


_TEMPLATES = LRU(1024)


def _template(stmt_for: Callable[..., Any], row_type: type[RowObject] | None, selection: Selection,
              keep: tuple[str, ...]) -> Prepared:
    """The loader's statement, built (and pruned to the selection) and compiled once: a batch only binds its
    tenant and keys (``batch_tenant``, ``batch_keys``) and runs it on the session's connection
    (``backend.core.fetch``), so nothing is rebuilt or re-rendered per request."""
    cache_key = (stmt_for, row_type, selection, keep)
    found = _TEMPLATES.get(cache_key)
    if found is None:
        stmt = stmt_for(BATCH_TENANT, BATCH_KEYS)
        if row_type is not None:
            stmt = prune(stmt, row_type, selection, keep=keep)
        found = Prepared(stmt)
        _TEMPLATES.put(cache_key, found)
    return found


def rows_by_id(ctx: RequestContext, table: Any, ids: list[Any], row_type: type[RowObject] | None = None,
               selection: Selection = None) -> Any:
    """``SELECT`` the tenant's rows of ``table`` with these ids (pruned to the selection), from a template."""
    stmt = _template(by_id_statement(table), row_type, selection, ("id",))
    return fetch(ctx.require_tenant_session(),
                 stmt, {"batch_tenant": ctx.principal.tenant_id, "batch_keys": list(ids)})  # type: ignore[union-attr]


def by_id_statement(table: Any) -> Callable[[Any, Any], Any]:
    """``stmt_for(tenant, keys)`` selecting ``table``'s rows by id: one function per table (templates are keyed
    by it)."""
    found = _BY_ID.get(table)
    if found is None:
        def found(tenant: Any, keys: Any) -> Any:
            return select(table).where(table.c.tenant_id == tenant, any_of(table.c.id, keys))
        _BY_ID[table] = found
    return found


_BY_ID: dict[Any, Callable[[Any, Any], Any]] = {}


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


def batched(batch: Callable[..., Awaitable[list[Any]]]) -> Callable[[F], F]:
    """Give a resolver a form for a whole level of objects.

    The compiled executor calls ``await batch(ctx, parents, **arguments)`` once for all the objects
    of a level (the field's arguments converted as the resolver gets them) instead of the resolver
    once per object; it must answer, in order, what the resolver would answer for each (the
    side-by-side tests of the two executors check this). graphql-core, and anything else that calls
    the resolver, still uses the resolver.
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
        found = iter(await load_all(loader(ctx), wanted) if wanted else ())
        return [(empty() if callable(empty) else empty) if k is None else next(found) for k in keys]

    return batch


async def load_all(loader: DataLoader[Any, Any], keys: list[Any]) -> list[Any]:
    """``await loader.load_many(keys)`` without a future and a callback per key.

    Keys in the loader's cache are answered from it (awaiting any still in flight); the others in one
    call of its batch function, whose answers then prime the cache, so later ``load`` calls of the
    request find them as they would have.
    """
    cache = loader.cache_map
    missing = [k for k in dict.fromkeys(keys) if cache.get(k) is None]
    if missing:
        values = await loader.load_fn(missing)
        loader.prime_many(dict(zip(missing, values, strict=True)))
    answers = []
    for k in keys:
        future = cache.get(k)
        answers.append(future.result() if future.done() else await future)  # type: ignore[union-attr]
    return answers
