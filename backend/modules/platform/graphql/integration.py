"""Events, webhooks and notification templates: ``events``, ``eventPublished``, ``webhooks``,
``webhookDeliveries``, ``webhookCreate/Update/Delete/Redeliver/Replay``, ``notificationTemplateSet``."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum

import strawberry
from sqlalchemy import select
from strawberry.scalars import JSON
from strawberry.types import Info

from backend.api.context import RequestContext
from backend.api.errors import UserError, run_mutation
from backend.api.gates import gated_field, gated_mutation
from backend.api.relay import Connection, Node, decode_id, keyset_page, page_args
from backend.core.errors import Unauthenticated
from backend.core.events import CATALOGUE
from backend.core.ids import to_global_id
from backend.core.outbox import OutboxEvent
from backend.modules.platform import notifications, webhooks
from backend.modules.platform import service as platform
from backend.modules.platform.models import Webhook, WebhookDelivery

_o = OutboxEvent.__table__
_w = Webhook.__table__
_d = WebhookDelivery.__table__


@strawberry.type(name="Event", description="A domain event, in the tenant's order (sequence).")
class EventNode(Node):
    id: strawberry.ID
    sequence: int
    type: str
    version: int
    aggregate_id: strawberry.ID
    payload: JSON
    occurred_at: datetime

    @classmethod
    def from_row(cls, row) -> EventNode:  # type: ignore[no-untyped-def]
        return cls(id=to_global_id("Event", row.id), sequence=row.seq, type=row.type, version=row.version,
                   aggregate_id=strawberry.ID(row.aggregate_id), payload=row.payload, occurred_at=row.occurred_at)

    @classmethod
    def from_message(cls, m: dict) -> EventNode:  # type: ignore[type-arg]
        return cls(id=to_global_id("Event", uuid.UUID(m["id"])), sequence=m["sequence"], type=m["type"],
                   version=m["version"], aggregate_id=strawberry.ID(m["aggregateId"]), payload=m["payload"],
                   occurred_at=datetime.fromisoformat(m["occurredAt"]))


def readable_event_types(principal, enabled: frozenset[str]) -> list[str]:  # type: ignore[no-untyped-def]
    """Event types of modules that are on for the tenant and that the caller may read."""
    return [t.name for t in CATALOGUE.types() if t.module in enabled and principal.can(f"{t.module}.read")]


@strawberry.enum
class WebhookDeliveryStatus(Enum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DEAD = "dead"


@strawberry.type(name="Webhook")
class WebhookType(Node):
    id: strawberry.ID
    url: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, r) -> WebhookType:  # type: ignore[no-untyped-def]
        return cls(id=to_global_id("Webhook", r.id), url=r.url, event_types=list(r.event_types), enabled=r.enabled,
                   disabled_reason=r.disabled_reason, created_at=r.created_at, updated_at=r.updated_at)


@strawberry.type(name="WebhookDelivery")
class WebhookDeliveryType(Node):
    id: strawberry.ID
    webhook_id: strawberry.ID
    event_id: strawberry.ID
    event_type: str
    status: WebhookDeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def from_row(cls, r) -> WebhookDeliveryType:  # type: ignore[no-untyped-def]
        return cls(id=to_global_id("WebhookDelivery", r.id), webhook_id=to_global_id("Webhook", r.webhook_id),
                   event_id=to_global_id("Event", r.event_id), event_type=r.type,
                   status=WebhookDeliveryStatus(r.status),
                   attempts=r.attempts, last_status_code=r.last_status_code, last_error=r.last_error,
                   next_attempt_at=r.next_attempt_at if r.status == "pending" else None, created_at=r.created_at,
                   delivered_at=r.delivered_at)


DELIVERY_COLUMNS = (_d.c.id, _d.c.webhook_id, _d.c.event_id, _d.c.status, _d.c.attempts, _d.c.last_status_code,
                    _d.c.last_error, _d.c.next_attempt_at, _d.c.created_at, _d.c.delivered_at, _o.c.type)


def _deliveries_stmt(tenant_id: uuid.UUID):  # type: ignore[no-untyped-def]
    return (select(*DELIVERY_COLUMNS)
            .join(_o, (_o.c.tenant_id == _d.c.tenant_id) & (_o.c.id == _d.c.event_id))
            .where(_d.c.tenant_id == tenant_id))


@strawberry.type
class Query:
    @gated_field(module="platform", description="The tenant's events in order; `after` a cursor to catch up.")
    async def events(self, info: Info, first: int | None = None, after: str | None = None, last: int | None = None,
                     before: str | None = None, types: list[str] | None = None) -> Connection[EventNode]:
        ctx: RequestContext = info.context
        allowed = readable_event_types(ctx.principal, await platform.enabled_modules(ctx.session))
        wanted = [t for t in (types or allowed) if t in allowed]
        stmt = select(_o).where(_o.c.tenant_id == ctx.principal.tenant_id, _o.c.type.in_(wanted))
        return await keyset_page(ctx.session, stmt, args=page_args(first, after, last, before), id_col=_o.c.seq,
                                 to_node=EventNode.from_row)

    @gated_field(module="platform", permission="platform.webhooks")
    async def webhooks(self, info: Info, first: int | None = None, after: str | None = None,
                       last: int | None = None, before: str | None = None) -> Connection[WebhookType]:
        ctx: RequestContext = info.context
        stmt = select(_w).where(_w.c.tenant_id == ctx.principal.tenant_id)
        return await keyset_page(ctx.session, stmt, args=page_args(first, after, last, before), id_col=_w.c.id,
                                 sort_col=_w.c.created_at, to_node=WebhookType.from_row)

    @gated_field(module="platform", permission="platform.webhooks", description="Newest first.")
    async def webhook_deliveries(
        self, info: Info, first: int | None = None, after: str | None = None, last: int | None = None,
        before: str | None = None, webhook_id: strawberry.ID | None = None,
        status: WebhookDeliveryStatus | None = None,
    ) -> Connection[WebhookDeliveryType]:
        ctx: RequestContext = info.context
        stmt = _deliveries_stmt(ctx.principal.tenant_id)
        if webhook_id is not None:
            stmt = stmt.where(_d.c.webhook_id == decode_id(webhook_id, "Webhook", field="webhookId"))
        if status is not None:
            stmt = stmt.where(_d.c.status == status.value)
        return await keyset_page(ctx.session, stmt, args=page_args(first, after, last, before), id_col=_d.c.id,
                                 sort_col=_d.c.created_at, descending=True, to_node=WebhookDeliveryType.from_row)


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Events of your tenant as they commit (graphql-transport-ws on /graphql).")
    async def event_published(self, info: Info, types: list[str] | None = None) -> AsyncGenerator[EventNode, None]:
        ctx: RequestContext = info.context
        principal = ctx.principal
        if principal is None or principal.tenant_id is None:
            raise Unauthenticated("Send your access token in connection_init.")
        app = ctx.request.app  # type: ignore[union-attr]
        queue = app.state.listener.subscribe()
        tenant = str(principal.tenant_id)
        allowed: list[str] = []
        checked_at = 0.0
        try:
            while True:
                message = await queue.get()
                if message.get("tenant") != tenant:
                    continue
                if time.monotonic() - checked_at > 5:
                    # Still allowed? (token expiry, removal, suspension end the subscription.) Module
                    # state is re-read in a short transaction.
                    token = (ctx.connection_params or {}).get("token")
                    if token:
                        principal = await app.state.auth.authenticator.authenticate_token(token, app.state.db)
                    async with app.state.db.transaction(principal.tenant_id) as session:
                        allowed = readable_event_types(principal, await platform.enabled_modules(session))
                    checked_at = time.monotonic()
                if message["type"] not in allowed or (types and message["type"] not in types):
                    continue
                envelope = message.get("event")
                if envelope is None:  # too big for the notification: read it
                    async with app.state.db.transaction(principal.tenant_id) as session:
                        row = (await session.execute(select(_o).where(
                            _o.c.tenant_id == principal.tenant_id, _o.c.id == uuid.UUID(message["id"])))).one()
                    yield EventNode.from_row(row)
                else:
                    yield EventNode.from_message(envelope)
        finally:
            app.state.listener.unsubscribe(queue)


@strawberry.input
class WebhookCreateInput:
    url: str
    event_types: list[str] = strawberry.field(description='Event type names, or ["*"] for all.')
    secret: str | None = strawberry.field(default=None, description="Generated when omitted.")


@strawberry.type
class WebhookCreatePayload:
    webhook: WebhookType | None = None
    secret: str | None = strawberry.field(default=None, description="Shown once: verify signatures with it.")
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class WebhookUpdateInput:
    id: strawberry.ID
    url: str | None = None
    event_types: list[str] | None = None
    enabled: bool | None = None


@strawberry.type
class WebhookUpdatePayload:
    webhook: WebhookType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class WebhookDeleteInput:
    id: strawberry.ID


@strawberry.type
class WebhookDeletePayload:
    deleted_webhook_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class WebhookRedeliverInput:
    delivery_id: strawberry.ID


@strawberry.type
class WebhookRedeliverPayload:
    delivery: WebhookDeliveryType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class WebhookReplayInput:
    webhook_id: strawberry.ID
    since: datetime
    until: datetime


@strawberry.type
class WebhookReplayPayload:
    scheduled: int | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class NotificationTemplateSetInput:
    event_type: str
    language: str = strawberry.field(description="en or zh-CN")
    subject: str = strawberry.field(description="$placeholders: the event payload's fields, $tenant, $name")
    body: str


@strawberry.type(name="NotificationTemplate")
class NotificationTemplateType:
    event_type: str
    language: str
    subject: str
    body: str
    updated_at: datetime


@strawberry.type
class NotificationTemplateSetPayload:
    template: NotificationTemplateType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


async def _webhook_node(ctx: RequestContext, webhook_id: uuid.UUID) -> WebhookType:
    row = (await ctx.session.execute(select(_w).where(  # type: ignore[union-attr]
        _w.c.tenant_id == ctx.principal.tenant_id, _w.c.id == webhook_id))).one()
    return WebhookType.from_row(row)


@strawberry.type
class Mutation:
    @gated_mutation(module="platform", permission="platform.webhooks")
    async def webhook_create(self, info: Info, input: WebhookCreateInput) -> WebhookCreatePayload:
        ctx: RequestContext = info.context

        async def operation() -> WebhookCreatePayload:
            hook, secret = await webhooks.create_webhook(
                ctx.session, url=input.url, event_types=input.event_types, secret=input.secret,  # type: ignore[arg-type]
                allow_private=ctx.settings.webhooks_may_target_private)
            return WebhookCreatePayload(webhook=await _webhook_node(ctx, hook.id), secret=secret)

        return await run_mutation(info, WebhookCreatePayload, operation, input)

    @gated_mutation(module="platform", permission="platform.webhooks")
    async def webhook_update(self, info: Info, input: WebhookUpdateInput) -> WebhookUpdatePayload:
        ctx: RequestContext = info.context

        async def operation() -> WebhookUpdatePayload:
            hook = await webhooks.update_webhook(
                ctx.session, webhook_id=decode_id(input.id, "Webhook"), url=input.url,  # type: ignore[arg-type]
                event_types=input.event_types, enabled=input.enabled,
                allow_private=ctx.settings.webhooks_may_target_private)
            return WebhookUpdatePayload(webhook=await _webhook_node(ctx, hook.id))

        return await run_mutation(info, WebhookUpdatePayload, operation, input)

    @gated_mutation(module="platform", permission="platform.webhooks")
    async def webhook_delete(self, info: Info, input: WebhookDeleteInput) -> WebhookDeletePayload:
        ctx: RequestContext = info.context

        async def operation() -> WebhookDeletePayload:
            await webhooks.delete_webhook(ctx.session, webhook_id=decode_id(input.id, "Webhook"))  # type: ignore[arg-type]
            return WebhookDeletePayload(deleted_webhook_id=input.id)

        return await run_mutation(info, WebhookDeletePayload, operation, input)

    @gated_mutation(module="platform", permission="platform.webhooks")
    async def webhook_redeliver(self, info: Info, input: WebhookRedeliverInput) -> WebhookRedeliverPayload:
        ctx: RequestContext = info.context

        async def operation() -> WebhookRedeliverPayload:
            delivery = await webhooks.redeliver(ctx.session, delivery_id=decode_id(  # type: ignore[arg-type]
                input.delivery_id, "WebhookDelivery", field="deliveryId"))
            row = (await ctx.session.execute(_deliveries_stmt(ctx.principal.tenant_id).where(  # type: ignore[union-attr]
                _d.c.id == delivery.id))).one()
            return WebhookRedeliverPayload(delivery=WebhookDeliveryType.from_row(row))

        return await run_mutation(info, WebhookRedeliverPayload, operation, input)

    @gated_mutation(module="platform", permission="platform.webhooks")
    async def webhook_replay(self, info: Info, input: WebhookReplayInput) -> WebhookReplayPayload:
        ctx: RequestContext = info.context

        async def operation() -> WebhookReplayPayload:
            count = await webhooks.replay(ctx.session, webhook_id=decode_id(input.webhook_id, "Webhook",  # type: ignore[arg-type]
                                                                            field="webhookId"),
                                          since=input.since, until=input.until)
            return WebhookReplayPayload(scheduled=count)

        return await run_mutation(info, WebhookReplayPayload, operation, input)

    @gated_mutation(module="platform", permission="platform.notifications")
    async def notification_template_set(
        self, info: Info, input: NotificationTemplateSetInput
    ) -> NotificationTemplateSetPayload:
        ctx: RequestContext = info.context

        async def operation() -> NotificationTemplateSetPayload:
            t = await notifications.set_template(ctx.session, event_type=input.event_type,  # type: ignore[arg-type]
                                                 language=input.language, subject=input.subject, body=input.body)
            return NotificationTemplateSetPayload(template=NotificationTemplateType(
                event_type=t.event_type, language=t.language, subject=t.subject, body=t.body,
                updated_at=t.updated_at))

        return await run_mutation(info, NotificationTemplateSetPayload, operation, input)
