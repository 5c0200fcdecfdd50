"""Platform tables. Global: ``tenant`` (the root every tenant row points at) and ``app_user``.
Tenant-scoped: ``tenant_module``, ``membership``, ``invitation``, ``refresh_token``, ``api_client``,
``audit_event``."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, TenantScoped, utcnow
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
