"""Relay: the Node interface, opaque global IDs, ``node``/``nodes`` and keyset connections.

A global ID is base64url("<TypeName>:<uuid>"). Clients must treat it as opaque. Resolution always
runs through the caller's tenant transaction, so another tenant's ID finds nothing and answers
null exactly like a malformed or deleted one.

Connections page by keyset on ``(sort column, id)``: the cost of a page does not depend on how far
into the list it is. ``totalCount`` is computed only when selected.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import orjson
import strawberry
from sqlalchemy import Integer, Select, bindparam, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement
from strawberry.types import Info

from backend.core.errors import BadUserInput
from backend.core.fetch import Prepared, Record, fetch, fetch_statement
from backend.core.ids import from_global_id
from backend.core.lru import LRU

if TYPE_CHECKING:
    from backend.api.context import RequestContext

MAX_PAGE_SIZE = 250
DEFAULT_PAGE_SIZE = 50

NodeT = TypeVar("NodeT")


@strawberry.interface(description="An object with a globally unique, opaque ID.")
class Node:
    id: strawberry.ID


def decode_id(global_id: str, type_name: str, *, field: str | list[str] = "id") -> uuid.UUID:
    """The pk of an input ID that must name a ``type_name``; a DomainError-free check for inputs."""
    from backend.core.errors import DomainError

    parsed = from_global_id(global_id)
    if parsed is None or parsed[0] != type_name:
        raise DomainError("NOT_FOUND", f"No {type_name} with this ID.", field)
    return parsed[1]


# --- node resolution --------------------------------------------------------------------------------

NodeLoader = Callable[["RequestContext", list[uuid.UUID]], Awaitable[Mapping[uuid.UUID, Any]]]


@dataclass(frozen=True)
class NodeSource:
    """How ``node(id:)`` finds objects of one type: the type's module, read permission and loader."""

    type_name: str
    module: str
    permission: str | None
    load: NodeLoader


class NodeRegistry:
    def __init__(self, sources: Iterable[NodeSource] = ()) -> None:
        self._sources: dict[str, NodeSource] = {}
        for source in sources:
            if source.type_name in self._sources:
                raise ValueError(f"two node sources for {source.type_name}")
            self._sources[source.type_name] = source

    def get(self, type_name: str) -> NodeSource | None:
        return self._sources.get(type_name)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._sources.values())


async def resolve_nodes(ctx: RequestContext, ids: Sequence[str]) -> list[Any]:
    """Objects for global IDs, in order; None wherever the caller may not see one."""
    if ctx.principal is not None and ctx.principal.tenant_id is None:
        return [None] * len(ids)  # platform tokens see no tenant's objects through node()
    ctx.require_tenant_session()
    if len(ids) > MAX_PAGE_SIZE:
        raise BadUserInput(f"nodes takes at most {MAX_PAGE_SIZE} IDs.")
    wanted: dict[str, list[uuid.UUID]] = {}
    parsed = [from_global_id(gid) for gid in ids]
    for item in parsed:
        if item is not None:
            wanted.setdefault(item[0], []).append(item[1])
    found: dict[tuple[str, uuid.UUID], Any] = {}
    for type_name, pks in wanted.items():
        source = ctx.nodes.get(type_name)
        if source is None or not await ctx.module_enabled(source.module):
            continue
        if source.permission is not None and not ctx.principal.can(source.permission):  # type: ignore[union-attr]
            continue
        for pk, obj in (await source.load(ctx, list(dict.fromkeys(pks)))).items():
            found[(type_name, pk)] = obj
    return [found.get(item) if item is not None else None for item in parsed]


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Fetch any object by its global ID; null when it is not visible to you.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return (await resolve_nodes(info.context, [id]))[0]

    @strawberry.field(description="Fetch objects by global ID, in order; null for each one not visible.")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        return await resolve_nodes(info.context, ids)


# --- connections ------------------------------------------------------------------------------------


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    node: NodeT
    key: strawberry.Private[Sequence[Any]]  # the sort key values: the cursor is encoded only when asked for

    @strawberry.field
    def cursor(self) -> str:
        return encode_cursor(self.key)


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field
    def nodes(self) -> list[NodeT]:
        return [edge.node for edge in self.edges]

    @strawberry.field(description="How many objects the whole list holds (filters applied).")
    async def total_count(self) -> int:
        return await self.count()


@dataclass(frozen=True)
class PageArgs:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    @property
    def backward(self) -> bool:
        return self.last is not None

    @property
    def size(self) -> int:
        return self.last if self.last is not None else self.first if self.first is not None else DEFAULT_PAGE_SIZE


def page_args(
    first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None
) -> PageArgs:
    if first is not None and last is not None:
        raise BadUserInput("Pass either first or last, not both.")
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
            raise BadUserInput(f"{name} must be between 0 and {MAX_PAGE_SIZE}.", field=name)
    return PageArgs(first=first, after=after, last=last, before=before)


def _encode_value(value: Any) -> list[Any]:
    if isinstance(value, datetime):
        return ["t", value.isoformat()]
    if isinstance(value, date):
        return ["D", value.isoformat()]
    if isinstance(value, uuid.UUID):
        return ["u", value.hex]
    if isinstance(value, Decimal):
        return ["n", str(value)]
    if isinstance(value, bool | int | str):
        return ["v", value]
    raise TypeError(f"cannot put {type(value).__name__} in a cursor")


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "t": datetime.fromisoformat,
    "D": date.fromisoformat,
    "u": lambda v: uuid.UUID(hex=v),
    "n": Decimal,
    "v": lambda v: v,
}


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([_encode_value(v) for v in values])).rstrip(b"=").decode()


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != arity:
            raise ValueError
        return [_DECODERS[tag](value) for tag, value in raw]
    except (ValueError, TypeError, KeyError, binascii.Error, orjson.JSONDecodeError):
        raise BadUserInput("Invalid cursor.") from None


async def keyset_page(
    session: AsyncSession,
    stmt: Select[Any],
    *,
    args: PageArgs,
    id_col: ColumnElement[Any],
    to_node: Callable[[Any], NodeT],
    sort_col: ColumnElement[Any] | None = None,
    descending: bool = False,
    params: Mapping[str, Any] | None = None,
    tree: Any = None,
) -> Connection[NodeT]:
    """One page of ``stmt`` (a Core select, already filtered by tenant) ordered by (sort_col, id).

    The statement must select the sort column and the id under their own names. Runs one query
    (two when ``totalCount`` is selected), whatever the page's position.

    With ``params``, ``stmt`` is a template the caller keeps (built once, e.g. with ``BATCH_TENANT`` for
    its tenant) and ``params`` its values: the page's statement is then built and compiled once per
    template and page shape, and the cursor and size are bound per request. With ``tree`` as well (the
    context's ``nodes_tree``), the same statement builds the nodes' JSON (``backend.api.sqltree.Tree.with_page``).
    """
    keys = [sort_col, id_col] if sort_col is not None else [id_col]
    reverse = args.backward != descending
    if params is not None:
        prepared, count_prepared = _page_template(stmt, tuple(keys), args.after is not None,
                                                  args.before is not None, reverse, descending)
        if tree is not None:
            prepared = tree.with_page(prepared)
        values = dict(params)
        for name, cursor in (("after", args.after), ("before", args.before)):
            if cursor is not None:
                values.update({f"page_{name}_{i}": v for i, v in enumerate(decode_cursor(cursor, len(keys)))})
        values["page_limit"] = args.size + 1
        rows = await fetch(session, prepared, values) if args.size > 0 else []
    else:
        def bound(cursor: str) -> Any:
            values = decode_cursor(cursor, len(keys))
            return tuple_(*values) if len(values) > 1 else values[0]

        page = _paged(stmt, keys, bound(args.after) if args.after is not None else None,
                      bound(args.before) if args.before is not None else None, reverse, descending, args.size + 1)
        rows = await fetch_statement(session, page) if args.size > 0 else []
    more = len(rows) > args.size
    rows = rows[: args.size]
    if args.backward:
        rows.reverse()
    key_names = [k.key for k in keys]  # type: ignore[attr-defined]
    if rows and type(rows[0]) is Record:  # raw rows: by name in C
        edges = [Edge(node=to_node(row), key=[row[name] for name in key_names]) for row in rows]
    else:
        edges = [Edge(node=to_node(row), key=[getattr(row, name) for name in key_names]) for row in rows]
    info = PageInfo(
        has_next_page=more if not args.backward else args.before is not None,
        has_previous_page=more if args.backward else args.after is not None,
        start_cursor=encode_cursor(edges[0].key) if edges else None,
        end_cursor=encode_cursor(edges[-1].key) if edges else None,
    )

    async def count() -> int:
        if params is not None:
            counted = await fetch(session, count_prepared, dict(params))
        else:
            counted = await fetch_statement(session, select(func.count()).select_from(stmt.order_by(None).subquery()))
        return int(counted[0][0])

    return Connection(edges=edges, page_info=info, count=count)


def _paged(stmt: Select[Any], keys: list[Any], after: Any, before: Any, reverse: bool, descending: bool,
           limit: Any) -> Select[Any]:
    """``stmt`` after and before the cursors' key values (expressions), in the page's order, ``limit`` rows."""
    key = tuple_(*keys) if len(keys) > 1 else keys[0]
    if after is not None:
        stmt = stmt.where(key < after if descending else key > after)
    if before is not None:
        stmt = stmt.where(key > before if descending else key < before)
    return stmt.order_by(*(k.desc() if reverse else k.asc() for k in keys)).limit(limit)


_PAGES = LRU(1024)
_STATEMENTS = LRU(1024)


def statement_template(key: Any, build: Callable[[], Select[Any]]) -> Select[Any]:
    """A list's statement built once per ``key`` (its selection's columns, say), its per-request values as named
    parameters (``BATCH_TENANT``): pass it to ``keyset_page`` with ``params``, which compiles its pages once."""
    found = _STATEMENTS.get(key)
    if found is None:
        found = build()
        _STATEMENTS.put(key, found)
    return found


def _page_template(stmt: Select[Any], keys: tuple[Any, ...], after: bool, before: bool, reverse: bool,
                   descending: bool) -> tuple[Prepared, Prepared]:
    """The page statement of a template (cursor values and size as parameters) and its count, compiled once."""
    cache_key = (stmt, keys, after, before, reverse, descending)  # the template itself, not its id: kept alive here
    found = _PAGES.get(cache_key)
    if found is None:
        def bound(name: str) -> Any:
            binds = [bindparam(f"page_{name}_{i}", type_=k.type) for i, k in enumerate(keys)]
            return tuple_(*binds) if len(binds) > 1 else binds[0]

        page = _paged(stmt, list(keys), bound("after") if after else None, bound("before") if before else None,
                      reverse, descending, bindparam("page_limit", type_=Integer))
        found = (Prepared(page), Prepared(select(func.count()).select_from(stmt.order_by(None).subquery())))
        _PAGES.put(cache_key, found)
    return found
