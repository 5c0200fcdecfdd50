"""Platform tables. Global: ``tenant`` (the root every tenant row points at) and ``app_user``.
Tenant-scoped: ``tenant_module``, ``membership``, ``invitation``, ``refresh_token``, ``api_client``,
``audit_event``."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, TenantScoped, tenant_fk, utcnow
from backend.core.ids import new_id


class Tenant(Base):
    """A tenant company. Global (no RLS): it holds no business data, only the tenant's identity."""

    __tablename__ = "tenant"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'suspended')", name="status"),
        CheckConstraint("slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'", name="slug_format"),
        CheckConstraint("base_currency ~ '^[A-Z]{3}$'", name="currency_format"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    plan: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="active")
    base_currency: Mapped[str] = mapped_column(String(3), default="USD")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    language: Mapped[str] = mapped_column(String(10), default="en")  # notifications: en or zh-CN
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TenantModule(TenantScoped, Base):
    """Whether a module is on for a tenant. Disabling hides a module's data; it never deletes it."""

    __tablename__ = "tenant_module"
    __table_args__ = (UniqueConstraint("tenant_id", "module"),)

    module: Mapped[str] = mapped_column(String(40))
    enabled: Mapped[bool] = mapped_column(default=True)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class AppUser(Base):
    """A person. Global: one account may belong to several tenants through memberships."""

    __tablename__ = "app_user"
    __table_args__ = (Index("uq_app_user_email_lower", func.lower(text("email")), unique=True),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))  # None: external sign-on only
    is_platform_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class Membership(TenantScoped, Base):
    """A user's place in a tenant: one role each."""

    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        CheckConstraint("status IN ('active', 'suspended')", name="status"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Invitation(TenantScoped, Base):
    """An invitation to join a tenant; the token is shown once and stored hashed."""

    __tablename__ = "invitation"
    __table_args__ = (UniqueConstraint("tenant_id", "token_hash"),)

    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(40))
    token_hash: Mapped[str] = mapped_column(String(64))
    invited_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class RefreshToken(TenantScoped, Base):
    """An opaque refresh token (stored hashed). Rotation links tokens of one sign-in into a family;
    reusing a rotated token revokes the whole family."""

    __tablename__ = "refresh_token"
    __table_args__ = (UniqueConstraint("tenant_id", "token_hash"), Index(None, "tenant_id", "family_id"))

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    family_id: Mapped[uuid.UUID]
    token_hash: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(1000), default="")
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class ApiClient(TenantScoped, Base):
    """A developer's OAuth2 client (client_credentials): bound to its tenant, limited to its scopes."""

    __tablename__ = "api_client"
    __table_args__ = (UniqueConstraint("tenant_id", "client_id"),)

    name: Mapped[str] = mapped_column(String(200))
    client_id: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(255))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(100)))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditEvent(TenantScoped, Base):
    """Append-only: the runtime role may INSERT and SELECT, never UPDATE or DELETE."""

    __tablename__ = "audit_event"
    __table_args__ = (Index(None, "tenant_id", "occurred_at"),)

    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_user_id: Mapped[uuid.UUID | None]
    actor_api_client_id: Mapped[uuid.UUID | None]
    operation: Mapped[str] = mapped_column(String(100))
    targets: Mapped[list[str]] = mapped_column(ARRAY(String(200)), default=list)
    input_summary: Mapped[dict] = mapped_column(JSONB, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    outcome: Mapped[str] = mapped_column(String(40))
    request_id: Mapped[str | None] = mapped_column(String(64))


class Webhook(TenantScoped, Base):
    """A tenant's HTTP endpoint for events. The secret signs deliveries (HMAC-SHA256), so it is kept
    in usable form; it is shown when the webhook is created and never again."""

    __tablename__ = "webhook"

    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(100)))
    secret: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(TenantScoped, Base):
    """One event for one webhook: attempted until it succeeds or its retry window closes."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        tenant_fk("webhook_id", "webhook", ondelete="CASCADE"),
        tenant_fk("event_id", "outbox_event"),
        UniqueConstraint("tenant_id", "webhook_id", "event_id", "attempt_group"),
        CheckConstraint("status IN ('pending', 'succeeded', 'failed', 'dead')", name="status"),
        Index(None, "tenant_id", "status", "next_attempt_at"),
    )

    webhook_id: Mapped[uuid.UUID]
    event_id: Mapped[uuid.UUID]
    attempt_group: Mapped[int] = mapped_column(default=0)  # bumped by redelivery and replay
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    leased_until: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class NotificationTemplate(TenantScoped, Base):
    """A tenant's own wording for a notification (event type x language); built-ins apply otherwise."""

    __tablename__ = "notification_template"
    __table_args__ = (UniqueConstraint("tenant_id", "event_type", "language"),)

    event_type: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(TenantScoped, Base):
    """A message to a person, sent by the delivery worker (through the outbox: retried, never twice)."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name="status"),
        Index(None, "tenant_id", "status", "next_attempt_at"),
    )

    channel: Mapped[str] = mapped_column(String(20), default="email")
    recipient: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str]
    event_type: Mapped[str | None] = mapped_column(String(100))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    leased_until: Mapped[datetime | None]
    transport: Mapped[str | None] = mapped_column(String(20))  # smtp | dev
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class CustomField(TenantScoped, Base):
    """A tenant's own field on some module's entity (e.g. ``crm.customer``); values live on the entity."""

    __tablename__ = "custom_field"
    __table_args__ = (
        UniqueConstraint("tenant_id", "entity", "key"),
        CheckConstraint("type IN ('text', 'number', 'date', 'boolean', 'choice')", name="type"),
    )

    entity: Mapped[str] = mapped_column(String(60))
    key: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(10))
    choices: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list)
    required: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Team(TenantScoped, Base):
    """A group of members (sales teams, warehouses, service desks): visibility and routing use it."""

    __tablename__ = "team"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TeamMember(TenantScoped, Base):
    __tablename__ = "team_member"
    __table_args__ = (
        tenant_fk("team_id", "team", ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "team_id", "user_id"),
    )

    team_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
