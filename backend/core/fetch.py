"""Core statements compiled once and run on the session's own asyncpg connection.

A page of the API runs a few fixed statements (a page of orders, their lines, their customers,
their products) that differ per request only in their tenant and keys; a mutation writes a few
fixed rows (its event, its outbox row, the audit). Through the ORM session, each execution still
pays for the ORM's execute hooks (the tenant criteria), SQLAlchemy's compiled-cache lookup (it walks
the statement to build its cache key), an execution context, a greenlet switch and result metadata:
measured, several times asyncpg's own work (docs/performance.md).

``Prepared(stmt)`` compiles a Core statement once, for asyncpg; ``await fetch(session, prepared,
params)`` binds the parameters by name and runs it with asyncpg on the connection and in the
transaction the session holds, so ``SET LOCAL app.tenant_id`` and row-level security apply exactly
as they do to the session's own statements. ``await fetch_statement(session, stmt)`` does the same
for a statement built per call with its values in it. Rows come back as ``Record``: read by name as
attributes (``row.sku``), as SQLAlchemy's rows are read.

What stays the same as the session's path:

* **Pending ORM changes** are flushed first (autoflush), so a statement sees, or refers to, the
  objects the transaction added or changed.
* **Parameters** are converted by SQLAlchemy's own bind processors (JSON, arrays). Statements whose
  columns get Python-side defaults per execution (``default=utcnow``) or whose ``IN`` lists expand
  per call run through the session.

* **Values.** Only statements whose result columns are of types asyncpg decodes as SQLAlchemy
  would (no result processor: strings, numbers, UUIDs, timestamps, JSON through the codecs the
  engine installs on each connection) take the raw path; any other runs through the session.
  A test reads every tenant table both ways and compares.
* **Observability.** Each statement fires the engine's ``before_cursor_execute`` listeners (the
  ``jishi_sql_statements_total`` counter, the tests' statement counters).
* **One operation at a time.** The adapter's execution lock is held, as SQLAlchemy holds it, so
  resolvers driven together never interleave on the connection.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy import (
    ARRAY,
    JSON,
    Boolean,
    Date,
    DateTime,
    Enum,
    Integer,
    Interval,
    Numeric,
    String,
    Time,
    TypeDecorator,
    Uuid,
    bindparam,
)
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.lru import LRU

__all__ = ["Connection", "Prepared", "Record", "commit", "execute", "fetch", "fetch_statement", "hold", "values_of"]

_DIALECT = asyncpg_dialect.dialect()
_DIALECT.paramstyle = "numeric_dollar"


class Connection(asyncpg.Connection):
    """asyncpg's connection, which can send a statement with the ``BEGIN`` that opens its transaction.

    A request's transaction starts with the tenant's ``SET LOCAL`` (``execute``): sent with the ``BEGIN``,
    in one simple query, it costs one round trip instead of two. The engines connect with this class.
    """

    __slots__ = ("_with_begin",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._with_begin: str | None = None

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:  # noqa: ASYNC109 (asyncpg's)
        sql = self._with_begin
        if sql is not None and not args and query.startswith("BEGIN"):
            self._with_begin = None
            query = f"{query.rstrip().rstrip(';')}; {sql}"
        return await super().execute(query, *args, timeout=timeout)


class Record(asyncpg.Record):
    """A row read by ``fetch``: by name as an attribute (``row.sku``), by name or index as a mapping."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"the row has no column {name!r}") from None


def _decoded_as_sqlalchemy_would(type_: Any) -> bool:
    """Whether asyncpg's value for a column of this type is the value SQLAlchemy's row would hold."""
    if isinstance(type_, ARRAY):
        return _decoded_as_sqlalchemy_would(type_.item_type)
    if isinstance(type_, Numeric):
        return bool(type_.asdecimal)  # Float (asdecimal=False) converts to float
    if isinstance(type_, Uuid):
        return bool(type_.as_uuid)
    if type(type_).__name__ == "NullType":
        return False
    # Enums, intervals and type decorators (PickleType, our own) convert: they take the session's path.
    return isinstance(type_, String | Integer | Boolean | DateTime | Date | Time | JSON) and not isinstance(
        type_, Enum | Interval | TypeDecorator) and type(type_).__module__.startswith("sqlalchemy.")


class Prepared:
    """A Core statement compiled once for asyncpg; ``fetch`` binds its parameters by name."""

    __slots__ = ("binds", "direct", "names", "processors", "sql", "stmt")

    def __init__(self, stmt: Any) -> None:
        self.stmt = stmt
        compiled = stmt.compile(dialect=_DIALECT)
        defaults = compiled.params
        self.sql: str = compiled.string
        positional = compiled.positiontup or ()
        # (name, value the statement carries itself, e.g. a LIMIT): the parameters in $n order
        self.names: tuple[tuple[str, Any], ...] = tuple((n, defaults.get(n)) for n in positional)
        self.binds = tuple(compiled.binds[n] for n in positional)
        # How SQLAlchemy converts each parameter for asyncpg (JSON serialized, arrays as lists), or None.
        converters = compiled._bind_processors
        self.processors = tuple(converters.get(n) for n in positional)
        if not any(self.processors):
            self.processors = None
        expanding = any(getattr(b, "expanding", False) or getattr(b, "literal_execute", False)
                        for b in compiled.binds.values())
        # Column defaults computed in Python per execution (``default=utcnow``, new ids) need SQLAlchemy's
        # execution context: such inserts and updates take the session's path.
        defaults_in_python = bool(getattr(compiled, "insert_prefetch", None)
                                  or getattr(compiled, "update_prefetch", None))
        self.direct = not expanding and not defaults_in_python and all(
            _decoded_as_sqlalchemy_would(c[3]) for c in compiled._result_columns)  # (key, name, objects, type)

    def arguments(self, params: dict[str, Any]) -> list[Any]:
        return self.converted([params[name] if name in params else default for name, default in self.names])

    def converted(self, values: list[Any]) -> list[Any]:
        if self.processors is None:
            return values
        return [v if p is None else p(v) for p, v in zip(self.processors, values, strict=True)]


def values_of(table: Any, *names: str) -> dict[str, Any]:
    """``{name: bindparam(name)}`` typed as the table's columns: the ``.values()`` of a statement template,
    so each execution binds (and converts, e.g. JSON) its own values::

        _LOG = Prepared(insert(_log).values(values_of(_log, "tenant_id", "id", "note")))
        await fetch(session, _LOG, {"tenant_id": t, "id": new_id(), "note": "..."})
    """
    return {name: bindparam(name, type_=table.c[name].type) for name in names}


async def fetch(session: AsyncSession, prepared: Prepared, params: dict[str, Any]) -> list[Any]:
    """The rows of ``prepared`` with ``params``, in the session's transaction (see the module's doc)."""
    if not prepared.direct:
        return await _through_session(session, prepared.stmt, params)
    return await _fetch(session, prepared.sql, prepared.arguments(params))


_SHAPES = LRU(1024)


async def fetch_statement(session: AsyncSession, stmt: Any) -> list[Any]:
    """Run a Core statement built per call, its values in it (a page's filters and cursor; an ``INSERT`` of an
    event), as ``fetch`` runs a ``Prepared``; its rows (``RETURNING`` ones for a write; none without).

    Statements of the same shape share one compilation, as in SQLAlchemy's own cache: the shape is
    SQLAlchemy's cache key, and its values come in the key's order, matched once to the compiled
    statement's parameters. A statement SQLAlchemy cannot cache, or one that ``Prepared`` would not
    run directly, runs through the session.
    """
    key = stmt._generate_cache_key()
    if key is None:
        return await _through_session(session, stmt)
    found = _SHAPES.get(key.key)
    if found is None:
        prepared = Prepared(stmt)
        at = {id(b): i for i, b in enumerate(key.bindparams)}
        order = tuple(at.get(id(b)) for b in prepared.binds)
        found = (prepared, order if prepared.direct and None not in order else None)
        _SHAPES.put(key.key, found)
    prepared, order = found
    if order is None:
        return await _through_session(session, stmt)
    values = key.bindparams
    return await _fetch(session, prepared.sql, prepared.converted([values[i].effective_value for i in order]))


async def _through_session(session: AsyncSession, stmt: Any, params: dict[str, Any] | None = None) -> list[Any]:
    result = await session.execute(stmt, params)
    return list(result.all()) if result.returns_rows else []


async def _fetch(session: AsyncSession, sql: str, args: list[Any]) -> list[Any]:
    return await _on_connection(session, sql, args, lambda c: c.fetch(sql, *args, record_class=Record))


async def execute(session: AsyncSession, sql: str) -> None:
    """Run ``sql`` (statements without parameters or rows, such as ``SET LOCAL``; several may be given,
    separated by semicolons: one round trip) in the session's transaction. When they are its first
    statements, they go with its ``BEGIN`` (``Connection``)."""
    await _on_connection(session, sql, (), lambda c: c.execute(sql), with_begin=True)


async def _on_connection(session: AsyncSession, sql: str, args: Any, run: Callable[[Any], Awaitable[Any]],
                         *, with_begin: bool = False) -> Any:
    """``run(asyncpg connection)`` for ``sql``: after an autoflush, counted, in the session's transaction, alone
    on the connection. Errors are asyncpg's own (``asyncpg.PostgresError``); the transaction is then failed and
    the session rolls it back, as after any failed statement."""
    await _autoflush(session)
    adapter, connection = await _driver(session)
    connection.dispatch.before_cursor_execute(connection, None, sql, args, None, False)
    async with adapter._execute_mutex:
        if adapter._transaction is None:  # the session's transaction begins with its first statement
            raw = adapter._connection
            if with_begin and type(raw) is Connection:  # (isinstance is true of any asyncpg connection)
                if await _begin_with(adapter, connection, raw, sql):
                    return None
            else:
                await adapter._start_transaction()
        return await run(adapter._connection)


async def _begin_with(adapter: Any, connection: Any, raw: Connection, sql: str) -> bool:
    """Start the adapter's transaction with ``sql`` sent after its ``BEGIN``; whether it was (not in autocommit)."""
    raw._with_begin = sql
    try:
        await adapter._start_transaction()
    except BaseException as exc:
        if raw._with_begin is None and raw.is_in_transaction():
            # The BEGIN went through and the statement after it failed: the connection is in a failed
            # transaction its adapter does not track. It is closed rather than handed to another request.
            connection.invalidate()
        if isinstance(exc.__cause__, asyncpg.PostgresError):  # the adapter's translation: asyncpg's own, as below
            raise exc.__cause__ from None
        raise
    finally:
        sent, raw._with_begin = raw._with_begin is None, None
    return sent


_HELD = object()  # in a session's ``_driver``: its connection is held for it (``hold``), whatever its transaction


def hold(session: AsyncSession, adapter: Any, connection: Any) -> None:
    """Run ``session``'s statements (``fetch``, ``execute``) on ``connection`` (a SQLAlchemy connection the
    caller checked out, bound to the session, and its DBAPI ``adapter``) for the session's whole life.

    A statement then neither begins the session's own transaction nor checks a connection out for it: on a
    request that reads only through ``fetch``, the session's transaction machinery (its begin, connection
    checkout, commit and close, about 0.15 ms) is left out. The transaction is the connection's, begun with its
    first statement; ``commit`` ends it. The ORM, if something uses it, begins on the same connection and joins it.
    """
    session.info["_driver"] = (_HELD, adapter, connection)


async def commit(session: AsyncSession) -> None:
    """Commit the transaction a held connection (``hold``) began outside the session, if one is open."""
    adapter, _ = await _driver(session)
    async with adapter._execute_mutex:
        if adapter._transaction is not None:
            await adapter._call_and_discard(adapter._transaction.commit)


async def _autoflush(session: AsyncSession) -> None:
    """Write the session's pending ORM changes first, as its own ``execute`` would (autoflush)."""
    sync = session.sync_session
    if sync.autoflush and not sync._is_clean():
        await session.flush()


async def _driver(session: AsyncSession) -> tuple[Any, Any]:
    """The session's DBAPI adapter and SQLAlchemy connection, kept for the life of its transaction (of the
    session, when its connection is held: ``hold``)."""
    found = session.info.get("_driver")
    if found is not None and found[0] is _HELD:
        return found[1], found[2]
    transaction = session.sync_session.get_transaction()
    if found is not None and found[0] is transaction and transaction is not None:
        return found[1], found[2]
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    adapter = raw.dbapi_connection
    session.info["_driver"] = (session.sync_session.get_transaction(), adapter, connection.sync_connection)
    return adapter, connection.sync_connection
