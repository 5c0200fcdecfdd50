"""Notifications: templates, the development sink, SMTP, retries and no duplicates."""

from __future__ import annotations

import asyncio
import socket
import uuid
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text
from typer.testing import CliRunner

from backend.core.events import CATALOGUE, Event
from backend.modules.platform import identity, notifications
from backend.modules.platform.worker import DeliveryWorker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, f"smtp://127.0.0.1:{controller.port}?starttls=false&from=jishi@example.com"
    controller.stop()


async def join(db, tenant, *, language: str | None = None) -> str:
    """A new member joins ``tenant`` (member.joined: the platform queues a welcome notice)."""
    email = f"n-{uuid.uuid4().hex[:8]}@example.com"
    async with db.transaction(tenant) as session:
        if language:
            await session.execute(text("UPDATE tenant SET language = :l WHERE id = :t"), {"l": language, "t": tenant})
        user = await identity.create_user(session, email=email, name="Newcomer", password=None)
        await identity.add_member(session, user_id=user.id, role="sales")
    return email


async def rows_for(db, tenant, email: str) -> list:
    async with db.transaction(tenant) as session:
        return (await session.execute(text(
            "SELECT status, transport, attempts, subject, body, last_error FROM notification WHERE recipient = :r"),
            {"r": email})).all()


async def drain(worker: DeliveryWorker) -> None:
    """Until a round finds nothing (earlier tests leave many tenants with work; all get their turn)."""
    for _ in range(1000):
        if not await worker.run_once():
            return


async def test_without_smtp_notices_go_to_the_dev_sink_and_the_cli_lists_them(db, settings, make_tenant, owner_url,
                                                                              monkeypatch):
    tenant = await make_tenant()
    email = await join(db, tenant)
    await drain(DeliveryWorker(db, settings))
    [row] = await rows_for(db, tenant, email)
    assert (row.status, row.transport) == ("sent", "dev")
    assert "sales" in row.body and row.subject.startswith("Welcome to")
    from backend.cli import app
    from backend.settings import get_settings
    from tests.conftest import APP_PASSWORD, APP_USER

    async with db.transaction() as session:
        slug = (await session.execute(text("SELECT slug FROM tenant WHERE id = :t"), {"t": tenant})).scalar_one()
    monkeypatch.setenv("JISHI_DATABASE_URL", owner_url)
    monkeypatch.setenv("JISHI_APP_DB_USER", APP_USER)
    monkeypatch.setenv("JISHI_APP_DB_PASSWORD", APP_PASSWORD)
    get_settings.cache_clear()
    try:
        result = await asyncio.to_thread(CliRunner().invoke, app, ["notifications", "list", "--tenant", slug])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0 and email in result.output and "You are now a member" in result.output


async def test_smtp_delivery_in_the_tenants_language(db, settings, make_tenant, smtp):
    inbox, url = smtp
    tenant = await make_tenant()
    email = await join(db, tenant, language="zh-CN")
    await drain(DeliveryWorker(db, settings.model_copy(update={"smtp_url": url})))
    [message] = inbox.to(email)
    assert message["From"] == "jishi@example.com" and message["Subject"].startswith("欢迎加入")
    assert message["Message-ID"].endswith("@jishi>")
    assert "角色为 sales" in message.get_content()
    [row] = await rows_for(db, tenant, email)
    assert (row.status, row.transport) == ("sent", "smtp")


async def test_a_failed_send_is_retried_and_sent_once(db, settings, make_tenant, smtp):
    inbox, url = smtp
    tenant = await make_tenant()
    email = await join(db, tenant)
    down = f"smtp://127.0.0.1:{free_port()}?starttls=false"  # nothing listens there
    await drain(DeliveryWorker(db, settings.model_copy(update={"smtp_url": down})))
    [row] = await rows_for(db, tenant, email)
    assert (row.status, row.attempts) == ("pending", 1) and row.last_error
    async with db.owner_engine.begin() as conn:
        await conn.execute(text("UPDATE notification SET next_attempt_at = now() WHERE recipient = :r"), {"r": email})
        await conn.execute(text("UPDATE tenant_work SET due_at = now()"))
    await drain(DeliveryWorker(db, settings.model_copy(update={"smtp_url": url})))
    [row] = await rows_for(db, tenant, email)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert len(inbox.to(email)) == 1


async def test_a_send_interrupted_by_a_crash_is_not_sent_twice(db, settings, make_tenant, smtp):
    inbox, url = smtp
    tenant = await make_tenant()
    email = await join(db, tenant)
    dying = DeliveryWorker(db, settings.model_copy(update={"smtp_url": url, "worker_lease_seconds": 1}))
    claimed = await dying._claim()  # marked "sending", then the worker died: did the mail go out?
    assert any(m.recipient == email for m in claimed.mails)
    await asyncio.sleep(1.2)
    await drain(DeliveryWorker(db, settings.model_copy(update={"smtp_url": url})))
    [row] = await rows_for(db, tenant, email)
    assert row.status == "failed" and "outcome unknown" in row.last_error
    assert inbox.to(email) == []  # not sent a second time by the survivor


async def test_one_notice_per_event_and_recipient(db, make_tenant):
    tenant = await make_tenant()
    event = Event(id=uuid.uuid4(), tenant_id=tenant, seq=1, type="member.joined", version=1, aggregate_id="x",
                  payload={"role": "sales"}, occurred_at=__import__("datetime").datetime.now())
    async with db.transaction(tenant) as session:
        first = await notifications.notify(session, recipient="twice@example.com", name="T", event=event)
        again = await notifications.notify(session, recipient="Twice@Example.com", name="T", event=event)
    assert (first, again) == (True, False)


TEMPLATE = """mutation($e: String!, $l: String!, $s: String!, $b: String!) {
  notificationTemplateSet(input: {eventType: $e, language: $l, subject: $s, body: $b}) {
    template { eventType language subject } userErrors { field code } } }"""


async def test_tenants_write_their_own_templates(gql, db, settings, make_tenant):
    tenant = await make_tenant()
    body = await gql(TEMPLATE, {"e": "member.joined", "l": "en", "s": "Hi $name, welcome to $tenant",
                                "b": "Role: $role"}, tenant=tenant)
    assert body["data"]["notificationTemplateSet"]["template"]["subject"] == "Hi $name, welcome to $tenant"
    email = await join(db, tenant)
    [row] = await rows_for(db, tenant, email)
    assert row.subject.startswith("Hi ") and "welcome to Acme" in row.subject and row.body == "Role: sales"
    for variables, code in [({"e": "nope.x", "l": "en", "s": "s", "b": "b"}, "UNKNOWN_EVENT_TYPE"),
                            ({"e": "member.joined", "l": "fr", "s": "s", "b": "b"}, "UNKNOWN_LANGUAGE"),
                            ({"e": "member.joined", "l": "en", "s": "s", "b": "bad $ placeholder"}, "INVALID_TEMPLATE")]:
        body = await gql(TEMPLATE, variables, tenant=tenant)
        assert body["data"]["notificationTemplateSet"]["userErrors"][0]["code"] == code
    body = await gql(TEMPLATE, {"e": "member.joined", "l": "en", "s": "x", "b": "y"}, tenant=tenant,
                     permissions=("platform.read",))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_tenants_own_template_is_used_in_its_language_only(gql, db, make_tenant):
    tenant = await make_tenant()
    body = await gql(TEMPLATE, {"e": "member.joined", "l": "zh-CN", "s": "欢迎 $name", "b": "自己的"}, tenant=tenant)
    assert body["data"]["notificationTemplateSet"]["userErrors"] == []
    [english] = await rows_for(db, tenant, await join(db, tenant))  # the tenant speaks English: built-in wording
    assert not english.subject.startswith("欢迎") and english.body != "自己的"
    [chinese] = await rows_for(db, tenant, await join(db, tenant, language="zh-CN"))  # now its own
    assert chinese.subject.startswith("欢迎 ") and chinese.body == "自己的"


def test_every_built_in_template_is_for_a_declared_event():
    assert all(CATALOGUE.get(event_type) for event_type, _ in notifications.BUILT_IN)
    assert {lang for _, lang in notifications.BUILT_IN} == set(notifications.LANGUAGES)
