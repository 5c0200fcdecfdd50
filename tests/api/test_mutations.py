"""Mutations: a refusal is data and writes nothing; several mutations in one request are each atomic."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.support.notes.models import NoteFolder


async def folder_count(db, tenant, name: str) -> int:
    async with db.transaction(tenant) as session:
        return await session.scalar(select(func.count()).select_from(NoteFolder).where(NoteFolder.name == name))


async def test_a_user_error_writes_nothing_even_what_the_service_wrote_before_refusing(gql, db, make_tenant):
    a = await make_tenant()
    body = await gql('mutation { noteCreate(input: {title: "   ", folderName: "ghost"}) '
                     "{ note { id } userErrors { field message code } } }", tenant=a)
    assert body["data"]["noteCreate"] == {
        "note": None, "userErrors": [{"field": ["input", "title"], "message": "Title is required.", "code": "REQUIRED"}]}
    assert "errors" not in body
    assert await folder_count(db, a, "ghost") == 0  # the folder flushed before the refusal is gone


async def test_each_mutation_in_a_request_stands_alone(gql, db, make_tenant):
    a = await make_tenant()
    body = await gql('mutation { ok: noteCreate(input: {title: "first", folderName: "kept"}) { note { title } userErrors { code } } '
                     "boom: noteExplode "
                     'bad: noteCreate(input: {title: "", folderName: "dropped"}) { note { title } userErrors { code } } '
                     'again: noteCreate(input: {title: "last", folderName: "kept too"}) { note { title } } }',
                     tenant=a)
    assert body["data"]["ok"] == {"note": {"title": "first"}, "userErrors": []}
    assert body["data"]["bad"] == {"note": None, "userErrors": [{"code": "REQUIRED"}]}
    assert body["data"]["boom"] is None and body["errors"][0]["extensions"]["code"] == "INTERNAL"
    assert await folder_count(db, a, "kept") == 1
    assert await folder_count(db, a, "dropped") == 0
    assert body["data"]["again"] == {"note": {"title": "last"}} and await folder_count(db, a, "kept too") == 1


async def test_a_failing_first_mutation_undoes_only_itself(gql, db, make_tenant):
    """The first mutation of a request runs without a savepoint: its failure rolls the transaction back and
    begins another, in which the audit row and the request's later mutations are written."""
    from sqlalchemy import text

    a = await make_tenant()
    body = await gql('mutation { boom: noteExplode '
                     'ok: noteCreate(input: {title: "after", folderName: "after boom"}) { note { title } } }', tenant=a)
    assert body["data"]["boom"] is None and body["errors"][0]["extensions"]["code"] == "INTERNAL"
    assert body["data"]["ok"] == {"note": {"title": "after"}}
    assert await folder_count(db, a, "after boom") == 1
    async with db.transaction(a) as session:
        doomed = "SELECT count(*) FROM test_note_folder WHERE name LIKE 'doomed-%'"
        assert (await session.execute(text(doomed))).scalar_one() == 0  # what noteExplode wrote is gone
        outcomes = dict((await session.execute(text(
            "SELECT operation, outcome FROM audit_event WHERE operation IN ('noteExplode', 'noteCreate')"))).all())
    assert outcomes == {"noteExplode": "error", "noteCreate": "success"}


async def test_mutations_need_their_write_permission(gql, db, make_tenant):
    a = await make_tenant()
    body = await gql('mutation { noteCreate(input: {title: "x", folderName: "ro"}) { note { id } } }',
                     tenant=a, permissions=("notes.read",))
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN", "permission": "notes.write"}
    assert await folder_count(db, a, "ro") == 0


async def test_a_mutations_savepoint_is_kept_other_savepoints_are_released(gql, db, make_tenant, count_sql):
    """Inside the tenant's write lock each round trip counts: the request's first mutation needs no savepoint,
    a later one's is not released (RELEASE changes nothing else). Other savepoints, which may come in loops
    of thousands, are released."""
    from sqlalchemy import text

    a = await make_tenant()
    count_sql.statements.clear()
    body = await gql('mutation { one: noteCreate(input: {title: "a", folderName: "k1"}) { note { title } } '
                     'two: noteCreate(input: {title: "b", folderName: "k2"}) { note { title } } }', tenant=a)
    assert body["data"] == {"one": {"note": {"title": "a"}}, "two": {"note": {"title": "b"}}}
    sent = [s.split()[0] for s in count_sql.statements if s.startswith(("SAVEPOINT", "RELEASE"))]
    assert sent == ["SAVEPOINT"]
    assert await folder_count(db, a, "k1") == 1 and await folder_count(db, a, "k2") == 1
    count_sql.statements.clear()
    async with db.transaction(a) as session:
        async with session.begin_nested():
            await session.execute(text("SELECT 1"))
    assert [s.split()[0] for s in count_sql.statements if s.startswith(("SAVEPOINT", "RELEASE"))] == [
        "SAVEPOINT", "RELEASE"]
