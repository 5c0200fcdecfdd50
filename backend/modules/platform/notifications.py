"""Notifications to people (members now; customers' contacts when the CRM lands).

Modules call ``notify`` inside their transaction: it renders the template for the event type and
language (the tenant's own, else the built-in one) and writes a ``notification`` row with an
idempotency key, so the same notice is never queued twice. The delivery worker sends it after
commit, by SMTP when ``JISHI_SMTP_URL`` is set, otherwise into a development sink (the row itself,
marked ``transport = dev``; ``jishi notifications list`` shows them).

Sending is at most once: the worker marks a row ``sending`` (committed) before it talks to the
server. A refused or failed send is retried with backoff; a worker that dies mid-send leaves the
row ``sending``, and it becomes ``failed`` ("outcome unknown") rather than risking a duplicate.
Each message carries a Message-ID made from its idempotency key, so mail systems can de-duplicate.
"""

from __future__ import annotations

import string
import uuid
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import String, and_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.events import Event
from backend.core.fetch import Prepared, fetch, values_of
from backend.core.outbox import mark_work_due
from backend.modules.platform.models import AppUser, Membership, Notification, NotificationTemplate, Tenant

LANGUAGES = ("en", "zh-CN")
_notification = Notification.__table__

# Built-in wording: (event type, language) -> (subject, body). Variables: the event payload's
# fields, plus $tenant (the tenant's name) and $name (the recipient's name).
BUILT_IN: dict[tuple[str, str], tuple[str, str]] = {
    ("webhook.disabled", "en"): (
        "[$tenant] Webhook disabled: $url",
        "Hello $name,\n\nDeliveries to $url failed for 24 hours, so the webhook was switched off ($reason).\n"
        "Fix the endpoint, then enable it again and replay what it missed.\n"),
    ("webhook.disabled", "zh-CN"): (
        "【$tenant】Webhook 已停用：$url",
        "$name，您好：\n\n发往 $url 的推送已连续失败 24 小时，该 Webhook 已被停用（$reason）。\n"
        "请修复接收端后重新启用，并重放遗漏的事件。\n"),
    ("member.joined", "en"): (
        "Welcome to $tenant",
        "Hello $name,\n\nYou are now a member of $tenant with the role $role.\n"),
    ("member.joined", "zh-CN"): (
        "欢迎加入 $tenant",
        "$name，您好：\n\n您已加入 $tenant，角色为 $role。\n"),
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def render(template: tuple[str, str], variables: dict[str, Any]) -> Rendered:
    values = {k: ("" if v is None else str(v)) for k, v in variables.items()}
    subject, body = template
    return Rendered(subject=string.Template(subject).safe_substitute(values)[:300],
                    body=string.Template(body).safe_substitute(values))


def _tenant_id(session: AsyncSession) -> uuid.UUID:
    return session.info["tenant_id"]


async def template_for(session: AsyncSession, *, event_type: str, language: str) -> tuple[str, str] | None:
    own = (await session.execute(select(NotificationTemplate).where(
        NotificationTemplate.tenant_id == _tenant_id(session), NotificationTemplate.event_type == event_type,
        NotificationTemplate.language == language))).scalar_one_or_none()
    if own is not None:
        return own.subject, own.body
    return BUILT_IN.get((event_type, language)) or BUILT_IN.get((event_type, "en"))


async def set_template(session: AsyncSession, *, event_type: str, language: str, subject: str,
                       body: str) -> NotificationTemplate:
    """A tenant's own wording for one event type and language (replaces the built-in one)."""
    from backend.core.events import CATALOGUE

    if CATALOGUE.get(event_type) is None:
        raise DomainError("UNKNOWN_EVENT_TYPE", f"Unknown event type {event_type!r}.", "eventType")
    if language not in LANGUAGES:
        raise DomainError("UNKNOWN_LANGUAGE", f"Languages: {', '.join(LANGUAGES)}.", "language")
    if not subject.strip() or not body.strip():
        raise DomainError("REQUIRED", "Subject and body are required.", "subject" if not subject.strip() else "body")
    for field, text in (("subject", subject), ("body", body)):
        if not string.Template(text).is_valid():
            raise DomainError("INVALID_TEMPLATE", "The template has a malformed $placeholder.", field)
    table = NotificationTemplate.__table__
    stmt = insert(table).values(tenant_id=_tenant_id(session), id=uuid.uuid4(), event_type=event_type,
                                language=language, subject=subject[:300], body=body, updated_at=utcnow())
    stmt = stmt.on_conflict_do_update(index_elements=["tenant_id", "event_type", "language"],
                                      set_={"subject": subject[:300], "body": body, "updated_at": utcnow()})
    await session.execute(stmt)
    return (await session.execute(select(NotificationTemplate).where(
        NotificationTemplate.tenant_id == _tenant_id(session), NotificationTemplate.event_type == event_type,
        NotificationTemplate.language == language))).scalar_one()


def add_built_in(templates: dict[tuple[str, str], tuple[str, str]]) -> None:
    """A module's own built-in wording for its events (tenants may still override it)."""
    BUILT_IN.update(templates)


_QUEUE = Prepared(insert(_notification).values(values_of(
    _notification, "tenant_id", "id", "channel", "recipient", "language", "subject", "body", "event_type",
    "idempotency_key", "status", "attempts", "next_attempt_at", "created_at",
)).on_conflict_do_nothing(index_elements=["tenant_id", "idempotency_key"]).returning(_notification.c.id))


_tenant = Tenant.__table__
_template = NotificationTemplate.__table__
# The tenant's name and language with its own template for an event type, in the language asked for or else
# the tenant's: one round trip (a notice is queued inside the mutation that caused it).
_TENANT_AND_TEMPLATE = Prepared(
    select(_tenant.c.name, _tenant.c.language, _template.c.subject, _template.c.body)
    .select_from(_tenant.outerjoin(_template, and_(
        _template.c.tenant_id == _tenant.c.id, _template.c.event_type == bindparam("event_type", type_=String()),
        _template.c.language == func.coalesce(bindparam("language", type_=String()), _tenant.c.language))))
    .where(_tenant.c.id == bindparam("tenant_id", type_=_tenant.c.id.type)))


async def notify(session: AsyncSession, *, recipient: str, name: str, event: Event, language: str | None = None,
                 key: str | None = None, variables: dict[str, Any] | None = None) -> bool:
    """Queue the notice for ``event`` to ``recipient``; False when there is no template or it is queued already.
    ``variables`` adds template values to the event payload's."""
    asked = language if language in LANGUAGES else None
    found = await fetch(session, _TENANT_AND_TEMPLATE, {"tenant_id": _tenant_id(session), "event_type": event.type,
                                                        "language": asked})
    if found:  # the tenant's name and language, and its own wording in that language if it has one
        tenant_name, language = found[0].name, asked or found[0].language
        own = found[0].subject is not None
        template = (found[0].subject, found[0].body) if own else (
            BUILT_IN.get((event.type, language)) or BUILT_IN.get((event.type, "en")))
    else:
        tenant_name, language = "", asked or "en"
        template = await template_for(session, event_type=event.type, language=language)
    if template is None:
        return False
    text = render(template, {**event.payload, **(variables or {}), "tenant": tenant_name, "name": name})
    now = utcnow()
    queued = bool(await fetch(session, _QUEUE, {
        "tenant_id": _tenant_id(session), "id": uuid.uuid4(), "channel": "email", "recipient": recipient,
        "language": language, "subject": text.subject, "body": text.body, "event_type": event.type,
        "idempotency_key": key or f"{event.id}:{recipient.lower()}", "status": "pending", "attempts": 0,
        "next_attempt_at": now, "created_at": now}))
    if queued:
        await mark_work_due(session, _tenant_id(session))
    return queued


async def notify_admins(session: AsyncSession, *, event: Event) -> int:
    """Notify every active owner and admin of the tenant about ``event``."""
    rows = await session.execute(
        select(AppUser.email, AppUser.name).join(Membership, Membership.user_id == AppUser.id)
        .where(Membership.tenant_id == _tenant_id(session), Membership.status == "active",
               Membership.role.in_(("owner", "admin"))))
    return sum([await notify(session, recipient=r.email, name=r.name, event=event) for r in rows])


# --- the worker's side ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MailJob:
    tenant_id: uuid.UUID
    notification_id: uuid.UUID
    recipient: str
    subject: str
    body: str
    message_id: str


async def claim_notifications(session: AsyncSession, *, limit: int, lease_seconds: int) -> list[MailJob]:
    tenant_id = _tenant_id(session)
    now = utcnow()
    # A send whose worker died: its outcome is unknown, and sending again could duplicate it.
    await session.execute(update(_notification).where(
        _notification.c.tenant_id == tenant_id, _notification.c.status == "sending",
        _notification.c.leased_until < now).values(status="failed", last_error="outcome unknown (worker stopped)"))
    rows = list(await session.execute(select(_notification).where(
        _notification.c.tenant_id == tenant_id, _notification.c.status == "pending",
        _notification.c.next_attempt_at <= now).order_by(_notification.c.next_attempt_at).limit(limit)
        .with_for_update(skip_locked=True)))
    if not rows:
        return []
    await session.execute(update(_notification).where(
        _notification.c.tenant_id == tenant_id, _notification.c.id.in_([r.id for r in rows]))
        .values(status="sending", leased_until=now + timedelta(seconds=lease_seconds)))
    return [MailJob(tenant_id=tenant_id, notification_id=r.id, recipient=r.recipient, subject=r.subject,
                    body=r.body, message_id=f"<{uuid.uuid5(uuid.NAMESPACE_URL, f'{tenant_id}/{r.idempotency_key}')}"
                                            f"@jishi>") for r in rows]


async def record_send(session: AsyncSession, *, notification_id: uuid.UUID, transport: str | None,
                      error: str | None) -> None:
    from backend.modules.platform.webhooks import backoff

    stmt = select(Notification).where(Notification.tenant_id == _tenant_id(session), Notification.id == notification_id)
    row = (await session.execute(stmt.with_for_update())).scalar_one()
    row.attempts += 1
    row.leased_until = None
    if error is None:
        row.status, row.sent_at, row.transport, row.last_error = "sent", utcnow(), transport, None
    elif row.attempts >= 8:
        row.status, row.last_error = "failed", error[:500]
    else:
        row.status, row.last_error = "pending", error[:500]
        row.next_attempt_at = utcnow() + timedelta(seconds=backoff(row.attempts))
    await session.flush()


async def next_due(session: AsyncSession):  # type: ignore[no-untyped-def]
    return await session.scalar(select(func.min(func.coalesce(_notification.c.leased_until,
                                                               _notification.c.next_attempt_at)))
                                 .where(_notification.c.tenant_id == _tenant_id(session),
                                        _notification.c.status.in_(("pending", "sending"))))


class Mailer:
    """SMTP through aiosmtplib when configured; otherwise the development sink."""

    def __init__(self, smtp_url: str | None, sender: str) -> None:
        self.smtp_url = smtp_url
        self.sender = sender

    @property
    def transport(self) -> str:
        return "smtp" if self.smtp_url else "dev"

    async def send(self, job: MailJob) -> None:
        if not self.smtp_url:
            return  # the dev sink: the row marked sent (transport dev) is the record
        import aiosmtplib

        url = urlsplit(self.smtp_url)
        options = {k: v[0] for k, v in parse_qs(url.query).items()}
        message = EmailMessage()
        message["From"] = options.get("from", self.sender)
        message["To"] = job.recipient
        message["Subject"] = job.subject
        message["Message-ID"] = job.message_id
        message.set_content(job.body)
        await aiosmtplib.send(
            message, hostname=url.hostname, port=url.port or (465 if url.scheme == "smtps" else 587),
            username=unquote(url.username) if url.username else None,
            password=unquote(url.password) if url.password else None,
            use_tls=url.scheme == "smtps", start_tls=options.get("starttls", "true") == "true" and url.scheme == "smtp",
            timeout=20)
