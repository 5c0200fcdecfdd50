"""CSV import and export of customers, over HTTP and the CLI."""

from __future__ import annotations

import csv
import io
import time

import pytest

from tests.modules.crm.test_customers_api import SEARCH

CSV = """Company Name,E-mail,phone,tags,status,external_reference,contact_name,contact_email
Jade Tea House,hello@jade.example,+86 21 1111,vip;tea,customer,ERP-1,Chen Jing,chen@jade.example
,missing-name@example.com,,,,ERP-2,,
Phoenix Hardware,not-an-email,,,,ERP-3,,
Maple Bakery,maple@bakery.example,,,churned,ERP-4,,
Crane Logistics,crane@logistics.example,,,wrong-status,ERP-5,,
"""
MAP = [("map", "Company Name:name"), ("map", "E-mail:email")]


async def upload(api, token, body: str, **params) -> tuple[int, dict]:
    query = [*MAP, *params.items()]
    r = await api.http.post("/crm/import/customers", params=query, content=body.encode(),
                            headers={"authorization": f"Bearer {token}", "content-type": "text/csv"})
    return r.status_code, r.json()


@pytest.fixture
async def user(api) -> dict:
    return await api.signup(company="Import Co")


async def count(api, token) -> int:
    return (await api.gql(token, SEARCH, {})).json()["data"]["customers"]["totalCount"]


async def test_a_dry_run_reports_every_bad_row_and_writes_nothing(api, user):
    status, report = await upload(api, user["access_token"], CSV, dryRun="true")
    assert status == 422 and report["written"] is False and report["rows"] == 5
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(2, "name"), (3, "email"), (5, "status")]
    assert await count(api, user["access_token"]) == 0


async def test_all_or_nothing_and_skip_invalid(api, user):
    t = user["access_token"]
    status, report = await upload(api, t, CSV)
    assert status == 422 and report["written"] is False and await count(api, t) == 0
    status, report = await upload(api, t, CSV, mode="skip_invalid")
    assert status == 200 and (report["created"], report["updated"], report["skipped"]) == (2, 0, 3)
    events = (await api.gql(t, '{ events(types: ["customers.imported"]) { nodes { payload } } }')).json()
    assert events["data"]["events"]["nodes"][0]["payload"] == {"created": 2, "updated": 0, "skipped": 3}
    r = await api.gql(t, '{ customers(first: 5, filter: {query: "Jade"}) { nodes { name email tags status externalReference '
                         "contacts { name email isPrimary } } } }")
    assert "data" in r.json(), r.text
    [jade] = r.json()["data"]["customers"]["nodes"]
    assert (jade["email"], jade["tags"], jade["status"], jade["externalReference"]) == (
        "hello@jade.example", ["tea", "vip"], "CUSTOMER", "ERP-1")
    assert jade["contacts"] == [{"name": "Chen Jing", "email": "chen@jade.example", "isPrimary": True}]


async def test_importing_again_updates_instead_of_duplicating(api, user):
    t = user["access_token"]
    good = "name,email,external_reference,phone\nHarbor Books,harbor@books.example,REF-9,\n"
    await upload(api, t, good)
    changed = "name,email,external_reference,phone\nHarbor Books Ltd,HARBOR@books.example,,+86 1\nOther,,REF-9,+86 2\n"
    status, report = await upload(api, t, changed)
    assert status == 200 and (report["created"], report["updated"]) == (0, 2)
    r = await api.gql(t, "{ customers { nodes { name phone } } }")
    assert r.json()["data"]["customers"]["nodes"] == [{"name": "Other", "phone": "+86 2"}]  # same row, matched twice


async def test_bad_files_and_other_callers(api, user):
    t = user["access_token"]
    for body, code in [("", "EMPTY_FILE"), ("email,phone\nx@y.example,1\n", "MISSING_COLUMN")]:
        status, report = await upload(api, t, body)
        assert status == 400 and report["errors"][0]["code"] == code
    r = await api.http.post("/crm/import/customers", content=b"name\nX\n", headers={"content-type": "text/csv"})
    assert r.status_code == 401
    r = await api.http.post("/crm/import/customers", content=b"name\nX\n",
                            headers={"authorization": f"Bearer {t}", "content-type": "application/json"})
    assert r.status_code == 415


async def test_a_hundred_thousand_rows_import_in_one_request(api, user):
    t = user["access_token"]
    lines = ["name,email,external_reference,tags,contact_name"]
    lines += [f"Customer {i:06d},c{i}@bulk.example,EXT-{i},bulk;t{i % 7},Person {i}" for i in range(100_000)]
    started = time.monotonic()
    status, report = await upload(api, t, "\n".join(lines) + "\n")
    elapsed = time.monotonic() - started
    assert status == 200 and report["created"] == 100_000 and report["errors"] == []
    assert await count(api, t) == 100_000
    print(f"100,000 rows imported in {elapsed:.1f} s")


async def test_export_streams_what_you_may_see(api, api_factory, user):
    t = user["access_token"]
    await upload(api, t, "name,email,tags\nAlpha Tea,alpha@tea.example,vip\nBeta Foods,beta@foods.example,\n")
    other = api_factory()
    theirs = await other.signup(company="Other Exporter")
    await upload(other, theirs["access_token"], "name\nNot Yours\n")
    r = await api.http.get("/crm/export/customers.csv", headers={"authorization": f"Bearer {t}"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["name"] for row in rows] == ["Alpha Tea", "Beta Foods"] and rows[0]["tags"] == "vip"
    r = await api.http.get("/crm/export/customers.csv", params={"query": "beta"}, headers={"authorization": f"Bearer {t}"})
    assert [row["name"] for row in csv.DictReader(io.StringIO(r.text))] == ["Beta Foods"]
    assert (await api.http.get("/crm/export/customers.csv")).status_code == 401


def test_cli_import_with_a_dry_run_then_for_real(tmp_path, owner_url, monkeypatch):
    import asyncio

    from typer.testing import CliRunner

    from backend.cli import app
    from backend.settings import get_settings
    from tests.conftest import APP_PASSWORD, APP_USER

    monkeypatch.setenv("JISHI_DATABASE_URL", owner_url)
    monkeypatch.setenv("JISHI_APP_DB_USER", APP_USER)
    monkeypatch.setenv("JISHI_APP_DB_PASSWORD", APP_PASSWORD)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        slug = f"imp-{int(time.time() * 1000) % 10**9}"
        assert runner.invoke(app, ["tenant", "create", "--name", "CLI Import", "--slug", slug]).exit_code == 0
        file = tmp_path / "customers.csv"
        file.write_text("Company,Mail\nCli Co,cli@co.example\nBroken,not-mail\n", encoding="utf-8")
        args = ["import", "customers", str(file), "--tenant", slug, "--map", "Company:name", "--map", "Mail:email"]
        result = runner.invoke(app, [*args, "--dry-run"])
        assert result.exit_code == 1 and "row 2: email: not an email address" in result.output
        result = runner.invoke(app, [*args, "--skip-invalid"])
        assert result.exit_code == 0 and "1 created" in result.output
        contacts = tmp_path / "contacts.csv"
        contacts.write_text("customer,name\ncli co,Cleo\nNo Such Co,Nemo\n", encoding="utf-8")
        result = runner.invoke(app, ["import", "contacts", str(contacts), "--tenant", slug])
        assert result.exit_code == 1 and "row 2: customer: no such customer" in result.output
        result = runner.invoke(app, ["import", "contacts", str(contacts), "--tenant", slug, "--skip-invalid"])
        assert result.exit_code == 0 and "1 created, 0 updated, 1 invalid" in result.output
    finally:
        get_settings.cache_clear()
    asyncio.get_event_loop_policy()


async def test_contacts_and_leads_export_with_visibility(api):
    from tests.modules.crm.test_visibility import SETTINGS
    from tests.modules.platform.test_access_api import join

    owner = await api.signup(company="Export More Co")
    t = owner["access_token"]
    ann = await join(api, t, "sales")
    await upload(api, t, "name,contact_name,contact_email\nOwner's Co,Olivia,olivia@owner.example\n")
    await upload(api, ann["access_token"], "name,contact_name\nAnn's Co,Alice\n")
    await api.gql(ann["access_token"], 'mutation { leadCreate(input: {name: "Lead One", source: "web"}) { userErrors { code } } }')
    await api.gql(t, SETTINGS, {"v": "OWN"})

    async def rows(token, path, **params):
        r = await api.http.get(path, params=params, headers={"authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        return list(csv.DictReader(io.StringIO(r.text)))

    assert [(r["customer"], r["name"]) for r in await rows(t, "/crm/export/contacts.csv")] == [
        ("Ann's Co", "Alice"), ("Owner's Co", "Olivia")]
    assert [(r["customer"], r["name"]) for r in await rows(ann["access_token"], "/crm/export/contacts.csv")] == [
        ("Ann's Co", "Alice")]  # visibility OWN: only her customers' contacts
    leads = await rows(ann["access_token"], "/crm/export/leads.csv", status="new")
    assert [(r["name"], r["source"], r["status"]) for r in leads] == [("Lead One", "web", "new")]
    assert await rows(ann["access_token"], "/crm/export/leads.csv", status="converted") == []


async def test_leads_import_checks_rows_and_updates_by_email(api, user):
    t = user["access_token"]
    body = "Name,Company,Email,Source,Status\nXu Li,Evergreen,xu@evergreen.example,fair,new\nNo Mail,,bad-mail,,\n,,x@y.example,,\nWu Hao,Crane,wu@crane.example,web,hot\n"
    r = await api.http.post("/crm/import/leads", params={"dryRun": "true"}, content=body.encode(),
                            headers={"authorization": f"Bearer {t}", "content-type": "text/csv"})
    assert r.status_code == 422
    assert [(e["row"], e["field"]) for e in r.json()["errors"]] == [(2, "email"), (3, "name"), (4, "status")]
    r = await api.http.post("/crm/import/leads", params={"mode": "skip_invalid"}, content=body.encode(),
                            headers={"authorization": f"Bearer {t}", "content-type": "text/csv"})
    assert r.status_code == 200 and (r.json()["created"], r.json()["skipped"]) == (1, 3)
    again = "name,email,company\nXu Li,XU@evergreen.example,Evergreen Garden\n"
    r = await api.http.post("/crm/import/leads", content=again.encode(),
                            headers={"authorization": f"Bearer {t}", "content-type": "text/csv"})
    assert (r.json()["created"], r.json()["updated"]) == (0, 1)
    leads = (await api.gql(t, "{ leads { nodes { name company source status } } }")).json()["data"]["leads"]["nodes"]
    assert leads == [{"name": "Xu Li", "company": "Evergreen Garden", "source": "fair", "status": "NEW"}]


async def contacts_csv(api, token) -> list[tuple[str, str, str, str]]:
    r = await api.http.get("/crm/export/contacts.csv", headers={"authorization": f"Bearer {token}"})
    return [(row["customer"], row["name"], row["title"], row["primary"]) for row in csv.DictReader(io.StringIO(r.text))]


async def import_contacts(api, token, body: str, **params):
    r = await api.http.post("/crm/import/contacts", params=params, content=body.encode(),
                            headers={"authorization": f"Bearer {token}", "content-type": "text/csv"})
    return r.status_code, r.json()


async def test_contacts_import_finds_customers_sets_primaries_and_round_trips(api, user):
    t = user["access_token"]
    await upload(api, t, "name,external_reference,contact_name,contact_email\n"
                         "Jade Tea House,ERP-1,Chen Jing,chen@jade.example\nMaple Bakery,ERP-4,,\n"
                         "Twin Co,,,\ntwin co,,,\n")
    bad = ("Customer,customer_external_reference,name,email,primary\n"
           "Nowhere Ltd,,Ghost,,\n"           # 1: no such customer
           "Twin Co,,Tom,,\n"                 # 2: two customers have this name
           ",,Nobody's,,\n"                   # 3: no customer column filled
           "Jade Tea House,,Lan,,maybe\n"     # 4: primary is yes or no
           ",ERP-4,Mia,mia@maple.example,yes\n"
           "Maple Bakery,,Max,,yes\n")        # 6: row 5 already makes Mia the primary
    status, body = await import_contacts(api, t, bad, dryRun="true")
    assert status == 422 and body["written"] is False
    assert [(e["row"], e["field"]) for e in body["errors"]] == [
        (1, "customer"), (2, "customer"), (3, "customer"), (4, "primary"), (6, "primary")]
    status, body = await import_contacts(api, t, bad)
    assert status == 422 and await contacts_csv(api, t) == [("Jade Tea House", "Chen Jing", "", "yes")]

    good = ("customer,customer_external_reference,name,title,email,primary\n"
            "jade tea house,,Lan Fang,Buyer,lan@jade.example,yes\n"   # takes over as primary
            ",ERP-4,Mia,,mia@maple.example,\n"                        # Maple's first contact: primary
            ",ERP-4,Max,,,\n")
    status, body = await import_contacts(api, t, good)
    assert status == 200 and (body["created"], body["updated"]) == (3, 0)
    assert await contacts_csv(api, t) == [
        ("Jade Tea House", "Chen Jing", "", "no"), ("Jade Tea House", "Lan Fang", "Buyer", "yes"),
        ("Maple Bakery", "Max", "", "no"), ("Maple Bakery", "Mia", "", "yes")]

    # Export, edit, import back: every row updates its contact (by ID); nothing is duplicated.
    r = await api.http.get("/crm/export/contacts.csv", headers={"authorization": f"Bearer {t}"})
    edited = r.text.replace(",Max,,", ",Max,Baker,").replace(",Chen Jing,,", ",Chen Jing,Owner,")
    status, body = await import_contacts(api, t, edited)
    assert status == 200 and (body["created"], body["updated"]) == (0, 4)
    assert await contacts_csv(api, t) == [
        ("Jade Tea House", "Chen Jing", "Owner", "no"), ("Jade Tea House", "Lan Fang", "Buyer", "yes"),
        ("Maple Bakery", "Max", "Baker", "no"), ("Maple Bakery", "Mia", "", "yes")]
    # The same email at the same customer updates too.
    status, body = await import_contacts(api, t, "customer,name,email,title\nMaple Bakery,Mia Wong,MIA@maple.example,Chef\n")
    assert (body["created"], body["updated"]) == (0, 1)
    assert ("Maple Bakery", "Mia Wong", "Chef", "yes") in await contacts_csv(api, t)
    # A contact ID that belongs to another customer is refused.
    jade_contact = next(row for row in csv.DictReader(io.StringIO(r.text)) if row["customer"] == "Jade Tea House")
    status, body = await import_contacts(api, t, f"id,customer,name\n{jade_contact['id']},Maple Bakery,Moved\n")
    assert status == 422 and [(e["row"], e["field"]) for e in body["errors"]] == [(1, "id")]


async def test_contacts_import_only_reaches_customers_you_may_see(api, api_factory):
    from tests.modules.crm.test_visibility import SETTINGS
    from tests.modules.platform.test_access_api import join

    owner = await api.signup(company="Contacts Visibility Co")
    t = owner["access_token"]
    ann = await join(api, t, "sales")
    await upload(api, t, "name,external_reference\nOwner's Co,OWN-1\n")
    await upload(api, ann["access_token"], "name\nAnn's Co\n")
    await api.gql(t, SETTINGS, {"v": "OWN"})
    body = "customer,customer_external_reference,name\n,OWN-1,Sneaky\nOwner's Co,,Sneakier\nAnn's Co,,Alice\n"
    status, report = await import_contacts(api, ann["access_token"], body, mode="skip_invalid")
    assert status == 200 and report["created"] == 1
    assert [(e["row"], e["field"], e["reason"]) for e in report["errors"]] == [
        (1, "customer_external_reference", "no such customer"), (2, "customer", "no such customer")]
    assert await contacts_csv(api, t) == [("Ann's Co", "Alice", "", "yes")]

    other = await api.signup(company="Other Tenant Co")
    status, report = await import_contacts(api, other["access_token"], "customer_external_reference,name\nOWN-1,Spy\n")
    assert status == 422 and report["errors"][0]["reason"] == "no such customer"
