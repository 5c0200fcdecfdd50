"""The delivery worker: fans events out to webhooks, sends webhook deliveries and notifications.

Run as ``jishi worker`` (any number of them, on any machines) or inside ``jishi serve``. Each round:

1. claim up to ``TENANTS_PER_ROUND`` tenants whose work is due (``tenant_work`` rows,
   ``FOR UPDATE SKIP LOCKED``: two workers never take the same tenant at once), and for each, in
   one short transaction inside that tenant's RLS: turn new events into deliveries, lease due
   deliveries and notifications, and set when the tenant is next due (a lease's expiry at the
   latest, so work of a worker that dies is picked up again);
2. send, outside any transaction, concurrently;
3. record each result in its own short transaction.

A round that found nothing waits for a PostgreSQL notification (new event) or the poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass, field

import httpx
import structlog
from sqlalchemy import delete, select, update

from backend.core.db import Database, set_tenant, utcnow
from backend.core.errors import DomainError
from backend.core.outbox import TenantWork, mark_work_due
from backend.modules.platform import notifications, webhooks
from backend.modules.platform import service as platform
from backend.settings import Settings

log = structlog.get_logger("jishi.worker")
TENANTS_PER_ROUND = 20
JOBS_PER_TENANT = 50
_work = TenantWork.__table__


@dataclass
class Round:
    tenants: int = 0
    deliveries: list[webhooks.DeliveryJob] = field(default_factory=list)
    mails: list[notifications.MailJob] = field(default_factory=list)
    events: int = 0

    @property
    def size(self) -> int:
        """Tenants claimed count too: while any tenant is due, the next round starts at once."""
        return self.tenants + len(self.deliveries) + len(self.mails) + self.events


class DeliveryWorker:
    def __init__(self, db: Database, settings: Settings, *, http: httpx.AsyncClient | None = None,
                 mailer: notifications.Mailer | None = None) -> None:
        self.db = db
        self.settings = settings
        self.http = http or httpx.AsyncClient(timeout=settings.webhook_timeout_seconds, follow_redirects=False,
                                              headers={"user-agent": "Jishi-Webhooks/1"})
        self.mailer = mailer or notifications.Mailer(settings.smtp_url, settings.notification_from)
        self.worker_id = uuid.uuid4().hex[:8]

    async def run_once(self) -> int:
        """One round; returns how much it did (tenants claimed, events fanned out, sends attempted)."""
        batch = await self._claim()
        await asyncio.gather(*(self._deliver(job) for job in batch.deliveries),
                             *(self._mail(job) for job in batch.mails))
        return batch.size

    async def _claim(self) -> Round:
        batch = Round()
        async with self.db.sessionmaker() as session, session.begin():
            tenant_ids = list((await session.execute(
                select(_work.c.tenant_id).where(_work.c.due_at <= utcnow()).order_by(_work.c.due_at)
                .limit(TENANTS_PER_ROUND).with_for_update(skip_locked=True))).scalars())
            batch.tenants = len(tenant_ids)
            for tenant_id in tenant_ids:
                await set_tenant(session, tenant_id)
                batch.events += await webhooks.fan_out(session)
                batch.deliveries += await webhooks.claim_deliveries(
                    session, limit=JOBS_PER_TENANT, lease_seconds=self.settings.worker_lease_seconds)
                batch.mails += await notifications.claim_notifications(
                    session, limit=JOBS_PER_TENANT, lease_seconds=self.settings.worker_lease_seconds)
                due = [t for t in (await webhooks.next_due(session), await notifications.next_due(session)) if t]
                if due:
                    await session.execute(update(_work).where(_work.c.tenant_id == tenant_id).values(due_at=min(due)))
                else:
                    await session.execute(delete(_work).where(_work.c.tenant_id == tenant_id))
            await platform.clear_tenant(session)
        return batch

    async def _deliver(self, job: webhooks.DeliveryJob) -> None:
        status_code: int | None = None
        error: str | None = None
        try:
            await webhooks.check_url(job.url, allow_private=self.settings.webhooks_may_target_private)
            headers = {
                "content-type": "application/json",
                "Jishi-Event": job.event_type,
                "Jishi-Event-Id": str(job.event_id),
                "Jishi-Delivery": str(job.delivery_id),
                webhooks.SIGNATURE_HEADER: webhooks.sign(job.secret, int(time.time()), job.body),
            }
            response = await self.http.post(job.url, content=job.body, headers=headers)
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except DomainError as exc:
            error = exc.message
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        async with self.db.transaction(job.tenant_id) as session:
            outcome = await webhooks.record_attempt(session, delivery_id=job.delivery_id, ok=error is None,
                                                    status_code=status_code, error=error,
                                                    retry_hours=self.settings.webhook_retry_hours)
            if outcome == "pending":
                await mark_work_due(session, job.tenant_id, await webhooks.next_due(session))
        log.info("webhook.delivery", tenant_id=str(job.tenant_id), delivery_id=str(job.delivery_id),
                 event_type=job.event_type, status_code=status_code, outcome=outcome, worker=self.worker_id)

    async def _mail(self, job: notifications.MailJob) -> None:
        error = None
        try:
            await self.mailer.send(job)
        except Exception as exc:  # any SMTP or network failure is retried later
            error = f"{type(exc).__name__}: {exc}"[:500]
        async with self.db.transaction(job.tenant_id) as session:
            await notifications.record_send(session, notification_id=job.notification_id,
                                            transport=self.mailer.transport, error=error)
            if error is not None:
                await mark_work_due(session, job.tenant_id, await notifications.next_due(session))

    async def _coalesce(self, stop: asyncio.Event, wake: asyncio.Queue) -> None:
        """Woken by a new event: let the events committed just after it arrive too, then take them all in
        one round (one claim per burst of writes, not one per event); the notifications are spent."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=self.settings.worker_coalesce_seconds)
        while not wake.empty():
            wake.get_nowait()

    async def run(self, stop: asyncio.Event, wake: asyncio.Queue | None = None) -> None:
        """Work until ``stop`` is set; sleep between empty rounds until woken or the poll interval."""
        log.info("worker.started", worker=self.worker_id)
        while not stop.is_set():
            try:
                done = await self.run_once()
            except Exception as exc:  # keep going: the next round retries
                log.error("worker.round_failed", exc_info=exc)
                done = 0
            if done:
                continue
            waiters = [asyncio.ensure_future(stop.wait())]
            if wake is not None:
                waiters.append(asyncio.ensure_future(wake.get()))
            done_waiters, pending = await asyncio.wait(waiters, timeout=self.settings.worker_poll_seconds,
                                                       return_when=asyncio.FIRST_COMPLETED)
            for waiter in pending:
                waiter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiter
            if wake is not None and not stop.is_set() and any(w is not waiters[0] for w in done_waiters):
                await self._coalesce(stop, wake)
        await self.http.aclose()
        log.info("worker.stopped", worker=self.worker_id)
