"""CRM tables. Every one is tenant-scoped; search indexes lead with tenant_id (btree_gin)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, UniqueConstraint, Uuid, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, TenantScoped, tenant_fk, utcnow

MONEY = Numeric(19, 4)


class Customer(TenantScoped, Base):
    __tablename__ = "crm_customer"
    __table_args__ = (
        CheckConstraint("kind IN ('company', 'person')", name="kind"),
        CheckConstraint("status IN ('lead', 'prospect', 'customer', 'churned')", name="status"),
        Index("ix_crm_customer_tenant_email", "tenant_id", func.lower(text("email"))),
        Index("ix_crm_customer_tenant_external_ref", "tenant_id", "external_ref"),
        Index("ix_crm_customer_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_crm_customer_tenant_name", "tenant_id", "name", "id"),
        Index("ix_crm_customer_search", "tenant_id", "name", postgresql_using="gin",
              postgresql_ops={"name": "gin_trgm_ops"}),
        tenant_fk("merged_into_id", "crm_customer"),
        Index("ix_crm_customer_custom_fields", "tenant_id", "custom_fields", postgresql_using="gin",
              postgresql_ops={"custom_fields": "jsonb_path_ops"}),
    )

    kind: Mapped[str] = mapped_column(String(10), default="company")
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(50))
    website: Mapped[str | None] = mapped_column(String(300))
    industry: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(50)), default=list)
    status: Mapped[str] = mapped_column(String(20), default="prospect")
    source: Mapped[str | None] = mapped_column(String(100))
    external_ref: Mapped[str | None] = mapped_column(String(100))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    shared_with: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list)  # visibility "own"
    billing_address: Mapped[dict | None] = mapped_column(JSONB)
    shipping_address: Mapped[dict | None] = mapped_column(JSONB)
    archived_at: Mapped[datetime | None]
    merged_into_id: Mapped[uuid.UUID | None]  # set when merged into another customer (then archived)
    custom_fields: Mapped[dict] = mapped_column(JSONB, default=dict)  # validated by platform custom_fields
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Contact(TenantScoped, Base):
    __tablename__ = "crm_contact"
    __table_args__ = (
        tenant_fk("customer_id", "crm_customer"),
        Index(None, "tenant_id", "customer_id"),
        Index("ix_crm_contact_search", "tenant_id", "name", postgresql_using="gin",
              postgresql_ops={"name": "gin_trgm_ops"}),
    )

    customer_id: Mapped[uuid.UUID]
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(50))
    is_primary: Mapped[bool] = mapped_column(default=False)
    custom_fields: Mapped[dict] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PipelineStage(TenantScoped, Base):
    __tablename__ = "crm_pipeline_stage"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        CheckConstraint("probability >= 0 AND probability <= 100", name="probability"),
    )

    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int]
    probability: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    follow_up_subject: Mapped[str | None] = mapped_column(String(200))  # an activity created on entering
    follow_up_days: Mapped[int | None]


class Opportunity(TenantScoped, Base):
    __tablename__ = "crm_opportunity"
    __table_args__ = (
        tenant_fk("customer_id", "crm_customer"),
        tenant_fk("stage_id", "crm_pipeline_stage"),
        tenant_fk("campaign_id", "crm_campaign"),
        CheckConstraint("status IN ('open', 'won', 'lost')", name="status"),
        CheckConstraint("amount >= 0", name="amount"),
        Index(None, "tenant_id", "customer_id"),
        Index(None, "tenant_id", "status", "stage_id"),
        Index("ix_crm_opportunity_custom_fields", "tenant_id", "custom_fields", postgresql_using="gin",
              postgresql_ops={"custom_fields": "jsonb_path_ops"}),
    )

    customer_id: Mapped[uuid.UUID]
    campaign_id: Mapped[uuid.UUID | None]  # attribution
    name: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    stage_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(10), default="open")
    probability: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    expected_close_date: Mapped[date | None]
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    shared_with: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list)
    lost_reason: Mapped[str | None] = mapped_column(String(300))
    custom_fields: Mapped[dict] = mapped_column(JSONB, default=dict)
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OpportunityStageChange(TenantScoped, Base):
    """Every move of an opportunity (stage or status), with who and when."""

    __tablename__ = "crm_opportunity_stage_change"
    __table_args__ = (
        tenant_fk("opportunity_id", "crm_opportunity"),
        tenant_fk("from_stage_id", "crm_pipeline_stage"),
        tenant_fk("to_stage_id", "crm_pipeline_stage"),
        Index(None, "tenant_id", "opportunity_id", "changed_at"),
    )

    opportunity_id: Mapped[uuid.UUID]
    from_stage_id: Mapped[uuid.UUID | None]
    to_stage_id: Mapped[uuid.UUID]
    from_status: Mapped[str | None] = mapped_column(String(10))
    to_status: Mapped[str] = mapped_column(String(10))
    changed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class Activity(TenantScoped, Base):
    __tablename__ = "crm_activity"
    __table_args__ = (
        tenant_fk("customer_id", "crm_customer"),
        tenant_fk("opportunity_id", "crm_opportunity"),
        CheckConstraint("kind IN ('call', 'email', 'meeting', 'task', 'note')", name="kind"),
        Index(None, "tenant_id", "customer_id"),
        Index(None, "tenant_id", "assignee_id", "completed_at", "due_at"),
    )

    kind: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(default="")
    due_at: Mapped[datetime | None]
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    customer_id: Mapped[uuid.UUID | None]
    opportunity_id: Mapped[uuid.UUID | None]
    completed_at: Mapped[datetime | None]
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TimelineEntry(TenantScoped, Base):
    """What happened with a customer, fed by events (the CRM never reads other modules' tables)."""

    __tablename__ = "crm_timeline_entry"
    __table_args__ = (
        tenant_fk("customer_id", "crm_customer"),
        UniqueConstraint("tenant_id", "event_id", "customer_id"),
        Index(None, "tenant_id", "customer_id", "occurred_at"),
    )

    customer_id: Mapped[uuid.UUID]
    event_id: Mapped[uuid.UUID]
    event_type: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[datetime]
    title: Mapped[str] = mapped_column(String(300))
    subject_id: Mapped[str] = mapped_column(String(200))  # global ID of what the entry is about
    data: Mapped[dict] = mapped_column(JSONB, default=dict)


DEFAULT_SLA_HOURS = {"urgent": [1, 4], "high": [4, 24], "normal": [8, 72], "low": [24, 120]}


class CrmSettings(TenantScoped, Base):
    """One row per tenant: case SLAs (hours to first response and to resolution, per priority)."""

    __tablename__ = "crm_settings"
    __table_args__ = (
        UniqueConstraint("tenant_id"),
        CheckConstraint("visibility IN ('all', 'team', 'own')", name="visibility"),
    )

    sla_hours: Mapped[dict] = mapped_column(JSONB, default=lambda: dict(DEFAULT_SLA_HOURS))
    stale_after_days: Mapped[int] = mapped_column(default=14)
    # Who sales users see: "all" records of the tenant, their "team"'s (theirs and their teammates'),
    # or only their "own"; records shared with them in every case.
    visibility: Mapped[str] = mapped_column(String(10), default="all")


class Campaign(TenantScoped, Base):
    __tablename__ = "crm_campaign"
    __table_args__ = (
        CheckConstraint("status IN ('planned', 'active', 'completed', 'cancelled')", name="status"),
        CheckConstraint("budget >= 0", name="budget"),
    )

    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(50))
    budget: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(3))
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(20), default="planned")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Lead(TenantScoped, Base):
    """Unqualified interest; converting it creates (or links) a customer, a contact and an opportunity."""

    __tablename__ = "crm_lead"
    __table_args__ = (
        tenant_fk("campaign_id", "crm_campaign"),
        tenant_fk("customer_id", "crm_customer"),
        tenant_fk("contact_id", "crm_contact"),
        tenant_fk("opportunity_id", "crm_opportunity"),
        CheckConstraint("status IN ('new', 'contacted', 'qualified', 'converted', 'disqualified')", name="status"),
        Index(None, "tenant_id", "status", "created_at"),
        Index("ix_crm_lead_custom_fields", "tenant_id", "custom_fields", postgresql_using="gin",
              postgresql_ops={"custom_fields": "jsonb_path_ops"}),
    )

    name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(50))
    source: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="new")
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    shared_with: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list)
    campaign_id: Mapped[uuid.UUID | None]
    customer_id: Mapped[uuid.UUID | None]  # set by conversion
    contact_id: Mapped[uuid.UUID | None]
    opportunity_id: Mapped[uuid.UUID | None]
    custom_fields: Mapped[dict] = mapped_column(JSONB, default=dict)
    converted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LeadAssignmentRule(TenantScoped, Base):
    """Routes a new lead without an owner: the first rule (by position) whose conditions all hold
    gives it to a user, or to the member of a team with the fewest open leads."""

    __tablename__ = "crm_lead_rule"
    __table_args__ = (
        tenant_fk("campaign_id", "crm_campaign", ondelete="CASCADE"),
        tenant_fk("team_id", "team", ondelete="CASCADE"),
        CheckConstraint("num_nonnulls(user_id, team_id) = 1", name="one_assignee"),
        CheckConstraint("num_nonnulls(source, email_domain, campaign_id) >= 1", name="condition"),
        Index(None, "tenant_id", "position"),
    )

    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int]
    source: Mapped[str | None] = mapped_column(String(100))  # lower case; matched case-insensitively
    email_domain: Mapped[str | None] = mapped_column(String(253))  # lower case; subdomains match too
    campaign_id: Mapped[uuid.UUID | None]
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    team_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CampaignMember(TenantScoped, Base):
    """A customer, contact or lead reached by a campaign (exactly one of the three)."""

    __tablename__ = "crm_campaign_member"
    __table_args__ = (
        tenant_fk("campaign_id", "crm_campaign", ondelete="CASCADE"),
        tenant_fk("customer_id", "crm_customer"),
        tenant_fk("contact_id", "crm_contact"),
        tenant_fk("lead_id", "crm_lead"),
        CheckConstraint("num_nonnulls(customer_id, contact_id, lead_id) = 1", name="one_member"),
        UniqueConstraint("tenant_id", "campaign_id", "customer_id"),
        UniqueConstraint("tenant_id", "campaign_id", "contact_id"),
        UniqueConstraint("tenant_id", "campaign_id", "lead_id"),
    )

    campaign_id: Mapped[uuid.UUID]
    customer_id: Mapped[uuid.UUID | None]
    contact_id: Mapped[uuid.UUID | None]
    lead_id: Mapped[uuid.UUID | None]
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class Case(TenantScoped, Base):
    """A service case (ticket) with SLA due times taken from the tenant's settings at creation."""

    __tablename__ = "crm_case"
    __table_args__ = (
        tenant_fk("customer_id", "crm_customer"),
        tenant_fk("contact_id", "crm_contact"),
        CheckConstraint("channel IN ('email', 'phone', 'web', 'chat')", name="channel"),
        CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name="priority"),
        CheckConstraint("status IN ('new', 'open', 'pending', 'resolved', 'closed')", name="status"),
        Index(None, "tenant_id", "status", "priority"),
        Index(None, "tenant_id", "customer_id"),
    )

    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(default="")
    channel: Mapped[str] = mapped_column(String(10), default="email")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    status: Mapped[str] = mapped_column(String(10), default="new")
    customer_id: Mapped[uuid.UUID]
    contact_id: Mapped[uuid.UUID | None]
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    first_response_due_at: Mapped[datetime]
    resolution_due_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseComment(TenantScoped, Base):
    __tablename__ = "crm_case_comment"
    __table_args__ = (tenant_fk("case_id", "crm_case", ondelete="CASCADE"), Index(None, "tenant_id", "case_id"))

    case_id: Mapped[uuid.UUID]
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    body: Mapped[str]
    public: Mapped[bool] = mapped_column(default=False)  # shown to the customer, counts as a response
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
