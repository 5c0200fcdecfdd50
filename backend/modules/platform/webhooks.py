"""Tenant webhooks: endpoints, signed deliveries, retries, redelivery and replay.

Each delivery is a POST of the event envelope (``Event.as_message()``) with headers
``Jishi-Event`` (type), ``Jishi-Event-Id`` (for de-duplication: delivery is at least once),
``Jishi-Delivery`` and ``Jishi-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``
keyed with the endpoint's secret (``verify_signature`` below is the documented check).

A failed attempt (no 2xx within the timeout) is retried with exponential backoff and jitter for
``webhook_retry_hours`` (24); then the delivery is dead, the endpoint is disabled, a
``webhook.disabled`` event is emitted and the tenant's owners and admins are notified.

Delivery work is claimed with leases: a worker marks what it takes ``leased_until`` in a short
transaction, sends outside any transaction, and records each result in another. A worker that dies
mid-delivery leaves leases that expire, and another worker sends again (at least once).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import random
import secrets
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.events import CATALOGUE
from backend.core.ids import to_global_id
from backend.core.outbox import OutboxEvent, mark_work_due
from backend.modules.platform import events as platform_events
from backend.modules.platform.models import Webhook, WebhookDelivery

SIGNATURE_HEADER = "Jishi-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300
ALL_EVENTS = "*"
MAX_BACKOFF_SECONDS = 3600
FIRST_BACKOFF_SECONDS = 30

_delivery = WebhookDelivery.__table__
_webhook = Webhook.__table__
_outbox = OutboxEvent.__table__


# --- signatures -----------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, header: str, body: bytes, *, tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
                     now: float | None = None) -> bool:
    """What a receiver runs (docs/webhooks.md shows the same code): the HMAC matches and is fresh."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


# --- URLs (SSRF) ----------------------------------------------------------------------------------


def _forbidden_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
            or ip.is_unspecified or (ip.version == 6 and ip.ipv4_mapped is not None
                                     and _forbidden_address(str(ip.ipv4_mapped))))


async def check_url(url: str, *, allow_private: bool) -> str:
    """An http(s) URL; outside dev/test, one whose host resolves only to public addresses.

    Checked when a webhook is saved and again before every delivery (DNS may change).
    """
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DomainError("INVALID_URL", "Webhook URLs are http(s) URLs with a host.", "url")
    if len(url) > 2000:
        raise DomainError("INVALID_URL", "Webhook URLs are at most 2000 characters.", "url")
    if parts.username or parts.password:
        raise DomainError("INVALID_URL", "Put no credentials in the URL; verify the signature instead.", "url")
    if allow_private:
        return url
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, parts.port or 443,
                                                             type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise DomainError("INVALID_URL", f"Cannot resolve {parts.hostname}.", "url") from None
    if not infos or any(_forbidden_address(info[4][0]) for info in infos):
        raise DomainError("FORBIDDEN_URL", "Webhooks cannot target private, loopback or link-local addresses.",
                          "url")
    return url


# --- endpoints ------------------------------------------------------------------------------------


def _tenant_id(session: AsyncSession) -> uuid.UUID:
    return session.info["tenant_id"]


def _check_event_types(event_types: list[str]) -> list[str]:
    wanted = sorted(set(event_types))
    if not wanted:
        raise DomainError("REQUIRED", "Subscribe to at least one event type (or \"*\").", "eventTypes")
    for name in wanted:
        if name != ALL_EVENTS and CATALOGUE.get(name) is None:
            raise DomainError("UNKNOWN_EVENT_TYPE", f"Unknown event type {name!r}.", "eventTypes")
    return wanted


async def create_webhook(session: AsyncSession, *, url: str, event_types: list[str], secret: str | None,
                         allow_private: bool) -> tuple[Webhook, str]:
    url = await check_url(url, allow_private=allow_private)
    secret = secret or f"whsec_{secrets.token_urlsafe(32)}"
    if len(secret) < 16:
        raise DomainError("SECRET_TOO_SHORT", "Webhook secrets have at least 16 characters.", "secret")
    webhook = Webhook(url=url, event_types=_check_event_types(event_types), secret=secret)
    session.add(webhook)
    await session.flush()
    return webhook, secret


async def get_webhook(session: AsyncSession, *, webhook_id: uuid.UUID) -> Webhook:
    found = (await session.execute(select(Webhook).where(
        Webhook.tenant_id == _tenant_id(session), Webhook.id == webhook_id))).scalar_one_or_none()
    if found is None:
        raise DomainError("NOT_FOUND", "No webhook with this ID.", "id")
    return found


async def update_webhook(session: AsyncSession, *, webhook_id: uuid.UUID, url: str | None = None,
                         event_types: list[str] | None = None, enabled: bool | None = None,
                         allow_private: bool) -> Webhook:
    webhook = await get_webhook(session, webhook_id=webhook_id)
    if url is not None:
        webhook.url = await check_url(url, allow_private=allow_private)
    if event_types is not None:
        webhook.event_types = _check_event_types(event_types)
    if enabled is not None:
        webhook.enabled = enabled
        webhook.disabled_reason = None if enabled else "disabled by a member"
        if enabled:
            await mark_work_due(session, _tenant_id(session))
    webhook.updated_at = utcnow()
    await session.flush()
    return webhook


async def delete_webhook(session: AsyncSession, *, webhook_id: uuid.UUID) -> None:
    await session.delete(await get_webhook(session, webhook_id=webhook_id))
    await session.flush()


def _matches(webhook_types: list[str], event_type: str) -> bool:
    return ALL_EVENTS in webhook_types or event_type in webhook_types


async def redeliver(session: AsyncSession, *, delivery_id: uuid.UUID) -> WebhookDelivery:
    """Send one delivery's event again, as a new delivery (the old one keeps its history)."""
    old = (await session.execute(select(WebhookDelivery).where(
        WebhookDelivery.tenant_id == _tenant_id(session), WebhookDelivery.id == delivery_id))).scalar_one_or_none()
    if old is None:
        raise DomainError("NOT_FOUND", "No webhook delivery with this ID.", "deliveryId")
    return (await _schedule(session, webhook_id=old.webhook_id, event_ids=[old.event_id]))[0]


async def replay(session: AsyncSession, *, webhook_id: uuid.UUID, since: datetime, until: datetime) -> int:
    """Deliver again every matching event that occurred in [since, until)."""
    if until <= since:
        raise DomainError("INVALID_RANGE", "The end of the range must come after its start.", "until")
    webhook = await get_webhook(session, webhook_id=webhook_id)
    rows = await session.execute(select(_outbox.c.id, _outbox.c.type).where(
        _outbox.c.tenant_id == _tenant_id(session), _outbox.c.occurred_at >= since, _outbox.c.occurred_at < until,
    ).order_by(_outbox.c.seq))
    event_ids = [r.id for r in rows if _matches(webhook.event_types, r.type)]
    await _schedule(session, webhook_id=webhook.id, event_ids=event_ids)
    return len(event_ids)


async def _schedule(
    session: AsyncSession, *, webhook_id: uuid.UUID, event_ids: list[uuid.UUID]
) -> list[WebhookDelivery]:
    created = []
    for event_id in event_ids:
        group = await session.scalar(select(func.coalesce(func.max(_delivery.c.attempt_group), -1) + 1).where(
            _delivery.c.tenant_id == _tenant_id(session), _delivery.c.webhook_id == webhook_id,
            _delivery.c.event_id == event_id))
        delivery = WebhookDelivery(webhook_id=webhook_id, event_id=event_id, attempt_group=int(group or 0))
        session.add(delivery)
        created.append(delivery)
    await session.flush()
    if created:
        await mark_work_due(session, _tenant_id(session))
    return created


# --- the worker's side ------------------------------------------------------------------------------


async def fan_out(session: AsyncSession, *, limit: int = 500) -> int:
    """Turn the tenant's undispatched events into webhook deliveries; returns how many events."""
    tenant_id = _tenant_id(session)
    pending = list(await session.execute(
        select(_outbox.c.id, _outbox.c.type).where(_outbox.c.tenant_id == tenant_id, _outbox.c.dispatched_at.is_(None))
        .order_by(_outbox.c.seq).limit(limit).with_for_update(skip_locked=True)))
    if not pending:
        return 0
    hooks = list(await session.execute(select(_webhook.c.id, _webhook.c.event_types).where(
        _webhook.c.tenant_id == tenant_id, _webhook.c.enabled.is_(True))))
    rows = [{"tenant_id": tenant_id, "id": uuid.uuid4(), "webhook_id": hook.id, "event_id": event.id,
             "attempt_group": 0, "status": "pending", "attempts": 0, "next_attempt_at": utcnow(),
             "created_at": utcnow()}
            for event in pending for hook in hooks if _matches(hook.event_types, event.type)]
    if rows:
        await session.execute(insert(_delivery), rows)
    await session.execute(update(_outbox).where(_outbox.c.tenant_id == tenant_id,
                                                _outbox.c.id.in_([e.id for e in pending]))
                          .values(dispatched_at=utcnow()))
    return len(pending)


@dataclass(frozen=True)
class DeliveryJob:
    tenant_id: uuid.UUID
    delivery_id: uuid.UUID
    webhook_id: uuid.UUID
    url: str
    secret: str
    event_id: uuid.UUID
    event_type: str
    body: bytes


async def claim_deliveries(session: AsyncSession, *, limit: int, lease_seconds: int) -> list[DeliveryJob]:
    """Lease up to ``limit`` due deliveries of the tenant (skipping rows other workers hold)."""
    import orjson

    from backend.core.events import Event

    tenant_id = _tenant_id(session)
    now = utcnow()
    enabled_hooks = select(_webhook.c.id).where(_webhook.c.tenant_id == tenant_id, _webhook.c.enabled.is_(True))
    due = list(await session.execute(
        select(_delivery.c.id).where(
            _delivery.c.tenant_id == tenant_id, _delivery.c.status == "pending", _delivery.c.next_attempt_at <= now,
            (_delivery.c.leased_until.is_(None)) | (_delivery.c.leased_until < now),
            _delivery.c.webhook_id.in_(enabled_hooks))
        .order_by(_delivery.c.next_attempt_at).limit(limit).with_for_update(skip_locked=True)))
    if not due:
        return []
    ids = [r.id for r in due]
    await session.execute(update(_delivery).where(_delivery.c.tenant_id == tenant_id, _delivery.c.id.in_(ids))
                          .values(leased_until=now + timedelta(seconds=lease_seconds)))
    rows = await session.execute(
        select(_delivery.c.id, _delivery.c.webhook_id, _webhook.c.url, _webhook.c.secret,
               _outbox.c.id.label("event_id"), _outbox.c.seq, _outbox.c.type, _outbox.c.version,
               _outbox.c.aggregate_id, _outbox.c.payload, _outbox.c.occurred_at)
        .join(_webhook, (_webhook.c.tenant_id == _delivery.c.tenant_id) & (_webhook.c.id == _delivery.c.webhook_id))
        .join(_outbox, (_outbox.c.tenant_id == _delivery.c.tenant_id) & (_outbox.c.id == _delivery.c.event_id))
        .where(_delivery.c.tenant_id == tenant_id, _delivery.c.id.in_(ids)))
    jobs = []
    for r in rows:
        event = Event(id=r.event_id, tenant_id=tenant_id, seq=r.seq, type=r.type, version=r.version,
                      aggregate_id=r.aggregate_id, payload=r.payload, occurred_at=r.occurred_at)
        jobs.append(DeliveryJob(tenant_id=tenant_id, delivery_id=r.id, webhook_id=r.webhook_id, url=r.url,
                                secret=r.secret, event_id=event.id, event_type=event.type,
                                body=orjson.dumps(event.as_message())))
    return jobs


def backoff(attempts: int) -> float:
    """Seconds before attempt ``attempts + 1``: 30 s doubling to an hour, with +-20 % jitter."""
    base = min(MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2 ** max(0, attempts - 1))
    return base * random.uniform(0.8, 1.2)


async def record_attempt(session: AsyncSession, *, delivery_id: uuid.UUID, ok: bool, status_code: int | None,
                         error: str | None, retry_hours: float) -> str:
    """Store one attempt's outcome; returns the delivery's new status."""
    tenant_id = _tenant_id(session)
    delivery = (await session.execute(select(WebhookDelivery).where(
        WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.id == delivery_id).with_for_update())).scalar_one()
    delivery.attempts += 1
    delivery.last_status_code = status_code
    delivery.last_error = (error or "")[:500] or None
    delivery.leased_until = None
    now = utcnow()
    if ok:
        delivery.status, delivery.delivered_at = "succeeded", now
    elif now - delivery.created_at >= timedelta(hours=retry_hours):
        delivery.status = "dead"
        await _disable_failing(session, webhook_id=delivery.webhook_id)
    else:
        delivery.next_attempt_at = now + timedelta(seconds=backoff(delivery.attempts))
    await session.flush()
    return delivery.status


async def _disable_failing(session: AsyncSession, *, webhook_id: uuid.UUID) -> None:
    from backend.modules.platform import notifications

    webhook = await get_webhook(session, webhook_id=webhook_id)
    if not webhook.enabled:
        return
    reason = "deliveries failed for the whole retry window"
    webhook.enabled, webhook.disabled_reason, webhook.updated_at = False, reason, utcnow()
    await session.execute(update(_delivery).where(
        _delivery.c.tenant_id == webhook.tenant_id, _delivery.c.webhook_id == webhook.id,
        _delivery.c.status == "pending").values(status="dead"))
    gid = to_global_id("Webhook", webhook.id)
    event = await events.emit(session, platform_events.WEBHOOK_DISABLED, aggregate_id=gid,
                              payload={"webhookId": gid, "url": webhook.url, "reason": reason})
    await notifications.notify_admins(session, event=event)


async def next_due(session: AsyncSession) -> datetime | None:
    """When the tenant next has delivery work: the earliest pending attempt or lease expiry."""
    tenant_id = _tenant_id(session)
    enabled_hooks = select(_webhook.c.id).where(_webhook.c.tenant_id == tenant_id, _webhook.c.enabled.is_(True))
    times = [
        await session.scalar(select(func.min(func.greatest(_delivery.c.next_attempt_at,
                                                           func.coalesce(_delivery.c.leased_until,
                                                                         _delivery.c.next_attempt_at))))
                             .where(_delivery.c.tenant_id == tenant_id, _delivery.c.status == "pending",
                                    _delivery.c.webhook_id.in_(enabled_hooks))),
        await session.scalar(select(func.min(_outbox.c.occurred_at)).where(
            _outbox.c.tenant_id == tenant_id, _outbox.c.dispatched_at.is_(None))),
    ]
    found = [t for t in times if t is not None]
    return min(found) if found else None
