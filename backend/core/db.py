"""Database plumbing: declarative base, the TenantScoped mixin, engines, tenant transactions.

Isolation is enforced twice (DESIGN.md section 3):

1. by PostgreSQL: every tenant table has FORCE ROW LEVEL SECURITY and a policy on
   ``app.tenant_id``, which a transaction sets with ``SET LOCAL`` (``set_tenant``);
2. by the ORM: ``TenantSession`` adds ``tenant_id = :t`` to every ORM statement on a
   TenantScoped entity and stamps new rows with the session's tenant.

Hot read paths use Core statements and filter ``tenant_id`` explicitly as well, which is what
lets Citus route a query to one shard.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import ARRAY, DateTime, ForeignKey, ForeignKeyConstraint, MetaData, any_, bindparam, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    relationship,
    with_loader_criteria,
)

from backend.core.fetch import Connection, commit, execute, hold
from backend.core.ids import new_id
from backend.core.lru import LRU
from backend.core.metrics import SQL_STATEMENTS

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# The NOLOGIN role that holds the runtime grants; the login role from settings is made a member
# of it by ``jishi migrate``. Migrations grant to this name only.
RUNTIME_GROUP_ROLE = "jishi_runtime"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}


class TenantScoped:
    """Mixin for every tenant-owned table: primary key ``(tenant_id, id)``, tenant_id first.

    Foreign keys to other tenant tables must be composite (``tenant_fk``), so the database refuses
    a row of tenant A that points at a row of tenant B. Unique constraints must start with
    ``tenant_id``. ``tests/core/test_tenancy_lint.py`` checks all of this for every table.
    """

    __tenant_scoped__ = True

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True, sort_order=-100
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id, sort_order=-99)


def tenant_fk(column: str, target_table: str, *, ondelete: str | None = None) -> ForeignKeyConstraint:
    """Composite foreign key ``(tenant_id, column) -> target_table(tenant_id, id)``."""
    return ForeignKeyConstraint(
        ["tenant_id", column], [f"{target_table}.tenant_id", f"{target_table}.id"], ondelete=ondelete
    )


def tenant_relationship(owner: str, target: str, local: str, **kwargs: Any) -> Any:
    """Many-to-one relationship ``owner.local -> target.id`` over a composite tenant foreign key.

    Only the local id column is marked foreign, so SQLAlchemy never copies ``tenant_id`` through
    the relationship (which raises "relationship X will copy column tenant_id" once a class has
    two of them); tenant_id is always stamped from the session instead.
    """
    return relationship(
        target,
        primaryjoin=f"and_({owner}.tenant_id == {target}.tenant_id, foreign({owner}.{local}) == {target}.id)",
        **kwargs,
    )


# --- sessions -------------------------------------------------------------------------------------


class TenantSession(Session):
    """A Session that knows its tenant (``info["tenant_id"]``) and applies the ORM guard."""


@event.listens_for(TenantSession, "do_orm_execute")
def _add_tenant_criteria(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return  # the parent statement already carried the criteria
    tenant_id = state.session.info.get("tenant_id")
    if tenant_id is None:
        return  # RLS answers no rows when no tenant is set (fail closed)
    state.statement = state.statement.options(_tenant_criteria(tenant_id))


_CRITERIA = LRU(1024)


def _tenant_criteria(tenant_id: uuid.UUID) -> Any:
    """The ORM guard's option for one tenant, built once (building it analyses its lambda: costly per statement)."""
    found = _CRITERIA.get(tenant_id)
    if found is None:
        found = with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)
        _CRITERIA.put(tenant_id, found)
    return found


class CrossTenantWrite(RuntimeError):
    pass


@event.listens_for(TenantSession, "before_flush")
def _stamp_tenant(session: Session, _ctx: Any, _instances: Any) -> None:
    tenant_id = session.info.get("tenant_id")
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if obj.tenant_id is None:
            if tenant_id is None:
                raise CrossTenantWrite(f"{type(obj).__name__} created outside a tenant transaction")
            obj.tenant_id = tenant_id
        elif tenant_id is not None and obj.tenant_id != tenant_id:
            raise CrossTenantWrite(f"{type(obj).__name__} stamped with another tenant")


class _BatchKeys:
    def __repr__(self) -> str:
        return "BATCH_KEYS"


BATCH_KEYS: Any = _BatchKeys()  # stands for the keys of a batch in a statement built once (backend.api.loaders)
BATCH_TENANT: Any = bindparam("batch_tenant")


def any_of(column: Any, values: Any) -> Any:
    """``column = ANY($1)`` with the values as one array parameter.

    For the batched loaders: unlike ``IN ($1, $2, ...)``, the SQL text does not change with the number
    of keys, so one prepared statement serves every batch and nothing is rendered per value. With
    ``BATCH_KEYS`` the parameter is named ``batch_keys`` and given when the statement runs.
    """
    if values is BATCH_KEYS:
        return column == any_(bindparam("batch_keys", type_=ARRAY(column.type)))
    return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))


def _count_statement(*_: Any) -> None:
    SQL_STATEMENTS.inc()


GENERIC_PLANS = "SET LOCAL plan_cache_mode = force_generic_plan"
# JIT pays for itself on long analytical queries, not on an API's short statements, and a generic plan's
# estimates (a page size it cannot see) can price one of ours over jit_above_cost: compiling then costs
# tens of milliseconds. Per transaction, as the tenant: safe behind PgBouncer, which refuses unknown
# start-up parameters.
NO_JIT = "SET LOCAL jit = off"


async def set_tenant(session: AsyncSession, tenant_id: uuid.UUID | str, *, generic_plans: bool = False) -> uuid.UUID:
    """Scope the current transaction to one tenant: ``SET LOCAL app.tenant_id`` (and ``jit = off``).

    SET takes no bind parameters, so the value is parsed as a UUID and re-formatted by us before it
    is quoted: nothing the caller passes reaches the SQL text unparsed. ``SET LOCAL`` ends with the
    transaction (safe with pools and PgBouncer in transaction mode) and is the form Citus
    propagates to its workers.

    ``generic_plans``: the transaction's prepared statements run their generic plans from the first
    execution on (``plan_cache_mode``), for a request that only reads. A page with its nodes' JSON in one
    statement (``backend.api.sqltree.Tree.with_page``) costs a custom plan per execution otherwise: with
    the page size known, the planner prices the plan with a parameter for it higher than it prices a
    custom one, and plans anew each time (about 1 ms).
    """
    tid = uuid.UUID(str(tenant_id))
    settings = f"SET LOCAL app.tenant_id = '{tid}'; {NO_JIT}"
    await execute(session, f"{settings}; {GENERIC_PLANS}" if generic_plans else settings)
    session.info["tenant_id"] = tid
    session.info.pop("enabled_modules", None)
    session.info.pop("tenant_writes_locked", None)
    return tid


# --- engines --------------------------------------------------------------------------------------


def to_async_url(url: str | URL) -> URL:
    u = make_url(url) if isinstance(url, str) else url
    if u.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        u = u.set(drivername="postgresql+asyncpg")
    return u


def runtime_url(owner_url: str | URL, user: str, password: str) -> URL:
    return to_async_url(owner_url).set(username=user, password=password)


async def asyncpg_connect(url: str | URL):  # type: ignore[no-untyped-def]
    """A plain asyncpg connection for a SQLAlchemy-style URL (Unix-socket ``?host=`` included)."""
    import asyncpg

    u = make_url(url) if isinstance(url, str) else url
    return await asyncpg.connect(
        user=u.username,
        password=u.password,
        host=u.query.get("host", u.host),
        port=int(u.query.get("port", u.port or 5432)),
        database=u.database,
    )


KEEP_SAVEPOINT = "jishi_keep_savepoint"  # in a connection's info: skip its next RELEASE SAVEPOINT


def keep_next_savepoint(connection: Any) -> None:
    """Do not send the ``RELEASE SAVEPOINT`` of the savepoint about to end on ``connection`` (a SQLAlchemy
    connection): it stays until the transaction ends. PostgreSQL: releasing a savepoint "makes it
    unavailable as a rollback point, but it has no other user visible behavior"; a rollback to an outer
    savepoint, or the commit, treats the released and the kept alike, and the subtransaction counts the
    same either way. SQLAlchemy still considers it released (and names each savepoint anew). For a
    mutation's savepoint (``events.atomic``): one round trip less inside the tenant's write lock. Loops of
    savepoints (a backfill's handlers) release theirs, so transactions do not nest thousands deep."""
    connection.info[KEEP_SAVEPOINT] = True


def _releasing(default: Callable[[Any, str], None]) -> Callable[[Any, str], None]:
    def release(connection: Any, name: str) -> None:
        if not connection.info.pop(KEEP_SAVEPOINT, False):
            default(connection, name)

    return release


class Database:
    """Engines and session factories for one database: the runtime role's, and the owner's."""

    def __init__(
        self,
        *,
        app_url: str | URL,
        owner_url: str | URL | None = None,
        pool_size: int = 10,
        max_overflow: int = 10,
        statement_cache_size: int = 100,
    ) -> None:
        connect_args = {"statement_cache_size": statement_cache_size, "connection_class": Connection}
        self.app_engine: AsyncEngine = create_async_engine(
            to_async_url(app_url),
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=False,
            connect_args=connect_args,
            json_deserializer=orjson.loads,  # jsonb columns: several per row on large pages
        )
        event.listen(self.app_engine.sync_engine, "before_cursor_execute", _count_statement)
        dialect = self.app_engine.sync_engine.dialect
        dialect.do_release_savepoint = _releasing(dialect.do_release_savepoint)  # type: ignore[method-assign]
        self.owner_url = to_async_url(owner_url) if owner_url is not None else None
        self._owner_engine: AsyncEngine | None = None
        self.sessionmaker = async_sessionmaker(
            self.app_engine, expire_on_commit=False, sync_session_class=TenantSession, autoflush=True
        )

    @classmethod
    def from_settings(cls, settings: Any, owner_url: str | URL) -> Database:
        app_url = settings.app_database_url or runtime_url(
            owner_url, settings.app_db_user, settings.app_db_password.get_secret_value()
        )
        return cls(
            app_url=app_url,
            owner_url=owner_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            statement_cache_size=settings.db_statement_cache_size,
        )

    @property
    def owner_engine(self) -> AsyncEngine:
        if self.owner_url is None:
            raise RuntimeError("no owner URL configured")
        if self._owner_engine is None:
            self._owner_engine = create_async_engine(self.owner_url, pool_size=2)
        return self._owner_engine

    @asynccontextmanager
    async def transaction(self, tenant_id: uuid.UUID | str | None = None) -> AsyncIterator[AsyncSession]:
        """One transaction as the runtime role, scoped to ``tenant_id`` when given.

        Commits when the block ends normally, rolls back when it raises.
        """
        async with self.sessionmaker() as session, session.begin():
            if tenant_id is not None:
                await set_tenant(session, tenant_id)
            yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for a request that reads (a GraphQL query), on a connection held for it (``fetch.hold``).

        Statements run through ``fetch`` go straight to that connection, in one transaction begun with the
        first of them (the tenant's ``SET LOCAL``): the session's own transaction, with its checkout, commit
        and close, is made only if the ORM is used. Commits when the block ends normally (a read may still
        write, and is committed as any request is); rolls back when it raises.
        """
        async with self.app_engine.connect() as connection:
            sync = connection.sync_connection
            session = self.sessionmaker(bind=connection)
            # (``sync.connection``: the pool's connection it was just given, read without the greenlet bridge
            # that ``get_raw_connection`` crosses for it)
            hold(session, sync.connection.dbapi_connection, sync)
            try:
                yield session
                if session.sync_session.in_transaction():  # the ORM was used: its flush and commit
                    await session.commit()
                await commit(session)
            finally:
                if session.sync_session.in_transaction():
                    await session.close()

    async def dispose(self) -> None:
        await self.app_engine.dispose()
        if self._owner_engine is not None:
            await self._owner_engine.dispose()


__all__ = [
    "RUNTIME_GROUP_ROLE",
    "Base",
    "CrossTenantWrite",
    "Database",
    "TenantScoped",
    "TenantSession",
    "set_tenant",
    "tenant_fk",
    "tenant_relationship",
    "utcnow",
]
