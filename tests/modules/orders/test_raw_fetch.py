"""backend.core.fetch: statements run on the session's asyncpg connection read what the session reads.

The loaders read through ``fetch`` instead of the ORM session. These tests read every tenant table
both ways, in the session's transaction under the runtime role, and check the values (and their
Python types), the tenant scoping, the transaction, the statement counting and concurrent use.
"""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select, text

from backend.core.db import Base, Database
from backend.core.fetch import Prepared, fetch
from tests.modules.orders.conftest import Shop


def _typed(rows) -> list[list[tuple[type, object]]]:  # type: ignore[no-untyped-def]
    return [[(type(v), v) for v in row] for row in rows]


async def _placed(shop: Shop) -> uuid.UUID:
    customer = await shop.customer("Jade Tea House", tags=["vip"])
    tea = await shop.stocked("TEA", on_hand="40", unitPrice="12.50", unit="kg")
    made = await shop.order(customer, [{"productId": tea, "quantity": "2.5"}])
    assert made["userErrors"] == [], made
    await shop.act("orderSubmit", made["order"]["id"])
    return uuid.UUID(str(shop.tenant))


async def test_every_tenant_table_reads_the_same_through_fetch_and_the_session(shop: Shop, db: Database):
    tenant = await _placed(shop)
    tables = [t for t in Base.metadata.sorted_tables if "tenant_id" in t.c]
    assert len(tables) > 40
    with_rows = 0
    async with db.transaction(tenant) as session:
        for table in tables:
            stmt = select(table).where(table.c.tenant_id == tenant).order_by(*table.primary_key.columns)
            prepared = Prepared(stmt)
            assert prepared.direct, f"{table.name}: a column type takes the session's path"
            raw = await fetch(session, prepared, {})
            expected = (await session.execute(stmt)).all()
            assert _typed(raw) == _typed(expected), table.name
            with_rows += bool(raw)
    assert with_rows >= 10  # customers, products, stock, orders, lines, events, outbox, audit...


async def test_rows_are_read_by_name_and_keys_are_bound_by_name(shop: Shop, db: Database):
    tenant = await _placed(shop)
    table = Base.metadata.tables["ord_order_line"]
    from backend.core.db import BATCH_KEYS, BATCH_TENANT, any_of

    prepared = Prepared(select(table.c.order_id, table.c.sku, table.c.quantity)
                        .where(table.c.tenant_id == BATCH_TENANT, any_of(table.c.order_id, BATCH_KEYS)))
    async with db.transaction(tenant) as session:
        order_id = (await session.execute(select(table.c.order_id))).scalar_one()
        rows = await fetch(session, prepared, {"batch_tenant": tenant, "batch_keys": [order_id, uuid.uuid4()]})
        assert [(r.order_id, r.sku, str(r.quantity)) for r in rows] == [(order_id, "TEA", "2.5000")]
        assert rows[0]["sku"] == rows[0][1] == "TEA"
        try:
            rows[0].nope  # noqa: B018
        except AttributeError as exc:
            assert "nope" in str(exc)
        else:
            raise AssertionError("an unknown column must fail")


async def test_fetch_is_scoped_to_the_sessions_tenant_and_transaction(shop: Shop, make_tenant, db: Database):
    tenant = await _placed(shop)
    other = await make_tenant()
    customers = Base.metadata.tables["crm_customer"]
    every_customer = Prepared(select(customers.c.name))  # no tenant filter: row-level security decides
    async with db.transaction(tenant) as session:
        assert [r.name for r in await fetch(session, every_customer, {})] == ["Jade Tea House"]
        # the session's own uncommitted write is visible: the same transaction
        await session.execute(text("UPDATE crm_customer SET name = 'Renamed' WHERE tenant_id = :t"), {"t": tenant})
        assert [r.name for r in await fetch(session, every_customer, {})] == ["Renamed"]
        await session.rollback()
    async with db.transaction(other) as session:
        assert await fetch(session, every_customer, {}) == []
    async with db.transaction() as session:  # no tenant at all: nothing (fails closed)
        assert await fetch(session, every_customer, {}) == []
    async with db.transaction(tenant) as session:
        assert [r.name for r in await fetch(session, every_customer, {})] == ["Jade Tea House"]


async def test_statements_are_counted_and_concurrent_fetches_take_turns(shop: Shop, db: Database, count_sql):
    tenant = await _placed(shop)
    customers = Base.metadata.tables["crm_customer"]
    slow = Prepared(select(customers.c.name, text("pg_sleep(0.05)")).where(customers.c.tenant_id == tenant))
    async with db.transaction(tenant) as session:
        count_sql.statements.clear()
        answers = await asyncio.gather(*(fetch(session, slow, {}) for _ in range(3)))
    assert [[r.name for r in rows] for rows in answers] == [["Jade Tea House"]] * 3
    assert count_sql.queries == [slow.sql] * 3


def test_statements_whose_values_sqlalchemy_converts_take_the_sessions_path():
    from sqlalchemy import Column, Enum, Float, Interval, MetaData, PickleType, Table

    t = Table("t", MetaData(), Column("f", Float), Column("e", Enum("a", "b", name="e")), Column("i", Interval),
              Column("p", PickleType))
    for column in t.c:
        assert not Prepared(select(column)).direct, column.name
    assert not Prepared(select(t.c.f).where(t.c.f.in_([1.0, 2.0]))).direct  # IN expands per request



async def test_statements_built_per_request_share_a_compilation_and_keep_their_own_values(
        shop: Shop, db: Database, count_sql):
    from sqlalchemy import func

    from backend.core.fetch import fetch_statement

    tenant = await _placed(shop)
    await shop.customer("Lin Bakery")
    customers = Base.metadata.tables["crm_customer"]

    def named(prefix: str):  # type: ignore[no-untyped-def]
        return (select(customers.c.name).where(customers.c.tenant_id == tenant, customers.c.name.startswith(prefix))
                .order_by(customers.c.name).limit(5))

    async with db.transaction(tenant) as session:
        count_sql.statements.clear()
        assert [r.name for r in await fetch_statement(session, named("Jade"))] == ["Jade Tea House"]
        assert [r.name for r in await fetch_statement(session, named("Lin"))] == ["Lin Bakery"]
        assert await fetch_statement(session, named("Nobody")) == []
        assert len(set(count_sql.queries)) == 1  # one shape, one SQL text, three sets of values
        # a JSON parameter is serialized as the session would (containment on custom fields)
        await session.execute(text("""UPDATE crm_customer SET custom_fields = '{"tier": "gold"}'
                                      WHERE name = 'Lin Bakery'"""))
        tier = select(customers.c.name).where(customers.c.custom_fields.contains({"tier": "gold"}))
        assert [r.name for r in await fetch_statement(session, tier)] == ["Lin Bakery"]
        # IN with a list expands per request: the session runs it, with the same answer
        listed = select(customers.c.name).where(customers.c.name.in_(["Lin Bakery", "X"]))
        assert [r.name for r in await fetch_statement(session, listed)] == ["Lin Bakery"]
        counted = await fetch_statement(session, select(func.count()).select_from(customers))
        assert counted[0][0] == 2


async def test_writes_from_templates_flush_pending_objects_first_and_convert_their_values(shop: Shop, db: Database):
    from sqlalchemy import insert

    from backend.core.db import utcnow
    from backend.core.fetch import values_of
    from backend.modules.crm.models import Customer

    tenant = await _placed(shop)
    timeline = Base.metadata.tables["crm_timeline_entry"]
    log = Prepared(insert(timeline).values(values_of(
        timeline, "tenant_id", "id", "customer_id", "event_id", "event_type", "occurred_at", "title", "subject_id",
        "data"))
        .returning(timeline.c.data))
    async with db.transaction(tenant) as session:
        customer = Customer(id=uuid.uuid4(), name="Pending Ltd")
        session.add(customer)  # not flushed yet: the insert below refers to it (a foreign key)
        [row] = await fetch(session, log, {
            "tenant_id": tenant, "id": uuid.uuid4(), "customer_id": customer.id, "event_id": uuid.uuid4(),
            "event_type": "test.happened", "occurred_at": utcnow(), "title": "Happened", "subject_id": "x",
            "data": {"n": 1}})
        assert row.data == {"n": 1}  # serialized as JSON going in, decoded coming out
        names = Prepared(select(Base.metadata.tables["crm_customer"].c.name))
        assert {r.name for r in await fetch(session, names, {})} == {"Jade Tea House", "Pending Ltd"}
        await session.rollback()
