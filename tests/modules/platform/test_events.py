"""Domain events: handlers in the cause's transaction, the outbox and the events connection."""

from __future__ import annotations

import asyncio
import uuid

import orjson

from tests.support.reminders.handlers import SEEN

CREATE = 'mutation($t: String!) { noteCreate(input: {title: $t}) { note { id } userErrors { field code message } } }'
EVENTS = """query($after: String, $types: [String!]) { events(first: 100, after: $after, types: $types) {
  edges { cursor node { sequence type version aggregateId payload } } pageInfo { endCursor } } }"""


async def test_handlers_run_only_while_their_module_is_enabled(gql, make_tenant):
    a = await make_tenant(modules=["notes", "reminders"])
    title = f"hello {uuid.uuid4().hex[:6]}"
    await gql(CREATE, {"t": title}, tenant=a)
    assert title in SEEN
    await gql('mutation { moduleDisable(input: {module: "reminders"}) { userErrors { code } } }', tenant=a)
    quiet = f"quiet {uuid.uuid4().hex[:6]}"
    body = await gql(CREATE, {"t": quiet}, tenant=a)
    assert body["data"]["noteCreate"]["userErrors"] == [] and quiet not in SEEN


async def test_a_refusing_or_failing_handler_undoes_the_cause(gql, make_tenant):
    a = await make_tenant(modules=["notes", "reminders"])
    body = await gql(CREATE, {"t": "refuse me"}, tenant=a)
    assert body["data"]["noteCreate"]["userErrors"][0]["code"] == "REMINDER_REFUSED"
    body = await gql(CREATE, {"t": "crash me"}, tenant=a)
    [error] = body["data"]["noteCreate"]["userErrors"]
    assert error["code"] == "HANDLER_FAILED" and "reminders" in error["message"]
    assert (await gql("{ notes { totalCount } }", tenant=a))["data"]["notes"]["totalCount"] == 0
    events = (await gql(EVENTS, {"types": ["note.created"]}, tenant=a))["data"]["events"]["edges"]
    assert events == []  # neither the note nor its event was committed


async def test_events_come_in_sequence_and_can_be_caught_up_on(gql, make_tenant):
    a, b = await make_tenant(modules=["notes"]), await make_tenant(modules=["notes"])
    for i in range(3):
        await gql(CREATE, {"t": f"n{i}"}, tenant=a)
    await gql(CREATE, {"t": "other tenant"}, tenant=b)
    edges = (await gql(EVENTS, {"types": ["note.created"]}, tenant=a))["data"]["events"]["edges"]
    assert [e["node"]["payload"]["title"] for e in edges] == ["n0", "n1", "n2"]
    sequences = [e["node"]["sequence"] for e in edges]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3
    assert all(e["node"]["version"] == 1 and e["node"]["aggregateId"] for e in edges)
    # Catch up from a cursor: only what came after.
    cursor = edges[1]["cursor"]
    await gql(CREATE, {"t": "n3"}, tenant=a)
    later = (await gql(EVENTS, {"after": cursor, "types": ["note.created"]}, tenant=a))["data"]["events"]["edges"]
    assert [e["node"]["payload"]["title"] for e in later] == ["n2", "n3"]


async def test_events_of_modules_you_cannot_read_are_hidden(gql, make_tenant):
    a = await make_tenant(modules=["notes"])
    await gql(CREATE, {"t": "secret plan"}, tenant=a)
    edges = (await gql(EVENTS, {}, tenant=a, permissions=("platform.read",)))["data"]["events"]["edges"]
    assert "note.created" not in {e["node"]["type"] for e in edges}
    edges = (await gql(EVENTS, {}, tenant=a))["data"]["events"]["edges"]
    assert "note.created" in {e["node"]["type"] for e in edges}


async def test_module_changes_are_events_too(gql, make_tenant):
    a = await make_tenant(modules=[])
    await gql('mutation { moduleEnable(input: {module: "reminders"}) { userErrors { code } } }', tenant=a)
    edges = (await gql(EVENTS, {"types": ["module.enabled"]}, tenant=a))["data"]["events"]["edges"]
    assert edges[-1]["node"]["payload"] == {"module": "reminders", "enabledModules": ["notes", "reminders"]}


def test_the_event_catalogue_document_is_current():
    from typer.testing import CliRunner

    from backend.cli import app

    result = CliRunner().invoke(app, ["events", "catalogue", "--check"])
    assert result.exit_code == 0, result.output


async def test_inside_atomic_a_swallowed_handler_failure_still_undoes_the_block(db, make_tenant):
    from sqlalchemy import text

    from backend.core.errors import DomainError
    from backend.core.events import atomic
    from tests.support.notes import service as notes

    a = await make_tenant(modules=["notes", "reminders"])
    async with db.transaction(a) as session:
        try:
            async with atomic(session):
                await notes.create_note(session, title="kept?")
                try:  # a caller that goes on after the handler's failure
                    await notes.create_note(session, title="crash me")
                except DomainError as exc:
                    assert exc.code == "HANDLER_FAILED"
                await notes.create_note(session, title="after")
        except DomainError as exc:
            assert exc.code == "HANDLER_FAILED"
        else:
            raise AssertionError("the block must fail")
        count = "SELECT count(*) FROM test_note WHERE tenant_id = :t"
        assert (await session.execute(text(count), {"t": a})).scalar_one() == 0
        async with atomic(session):  # the session is usable again, and a clean block commits
            await notes.create_note(session, title="fine")
        assert (await session.execute(text(count), {"t": a})).scalar_one() == 1


async def test_work_is_flagged_due_again_after_a_savepoint_that_flagged_it_rolled_back(db, make_tenant, owner_url):
    from sqlalchemy import text

    from backend.core.db import asyncpg_connect
    from tests.support.notes import service as notes

    a = await make_tenant(modules=["notes"])
    owner = await asyncpg_connect(owner_url)
    try:
        await owner.execute("DELETE FROM tenant_work WHERE tenant_id = $1", a)
    finally:
        await owner.close()
    flagged = "SELECT count(*) FROM tenant_work WHERE tenant_id = :t"
    async with db.transaction(a) as session:
        try:
            async with session.begin_nested():
                await notes.create_note(session, title="undone")  # its event flags the tenant's work
                assert (await session.execute(text(flagged), {"t": a})).scalar_one() == 1
                raise RuntimeError("undo it")
        except RuntimeError:
            pass
        assert (await session.execute(text(flagged), {"t": a})).scalar_one() == 0
        await notes.create_note(session, title="kept")  # flagged again, not skipped as already done
        await notes.create_note(session, title="kept too")  # this one may skip it: the same transaction
        assert (await session.execute(text(flagged), {"t": a})).scalar_one() == 1


async def test_the_announcement_carries_the_number_the_outbox_row_got(db, make_tenant, owner_url):
    """The event number is taken in the same statement that writes and announces the event: the NOTIFY text
    must still hold that number, in the full event and in the reference sent for an event too big to carry."""
    from sqlalchemy import text

    from backend.core import events
    from backend.core.db import asyncpg_connect
    from tests.support.notes.events import NOTE_CREATED

    a = await make_tenant(modules=["notes"])
    heard: asyncio.Queue[dict] = asyncio.Queue()
    listener = await asyncpg_connect(owner_url)
    await listener.add_listener(events.NOTIFY_CHANNEL, lambda *args: heard.put_nowait(orjson.loads(args[3])))
    try:
        async with db.transaction(a) as session:
            small = await events.emit(session, NOTE_CREATED, aggregate_id="n-1", payload={"title": "seq-0 \"seq\":1"})
            big = await events.emit(session, NOTE_CREATED, aggregate_id="n-2", payload={"title": "x" * 9000})
            stored = dict((await session.execute(text(
                "SELECT id, seq FROM outbox_event WHERE tenant_id = :t AND id IN (:a, :b)"),
                {"t": a, "a": small.id, "b": big.id})).all())
        first = await asyncio.wait_for(heard.get(), 5)  # sent at commit
        second = await asyncio.wait_for(heard.get(), 5)
    finally:
        await listener.close()
    assert stored == {small.id: small.seq, big.id: big.seq} and big.seq == small.seq + 1
    assert first["seq"] == small.seq and first["event"]["sequence"] == small.seq
    assert first["event"]["payload"] == {"title": "seq-0 \"seq\":1"} and first["id"] == str(small.id)
    assert second == {"tenant": str(a), "id": str(big.id), "seq": big.seq, "type": "note.created"}  # no event: too big
