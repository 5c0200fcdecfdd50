"""crm: lead assignment rules

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from backend.core.rls import tenant_table_sql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crm_lead_rule",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(100), nullable=True),
        sa.Column("email_domain", sa.String(253), nullable=True),
        sa.Column("campaign_id", sa.Uuid(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("num_nonnulls(user_id, team_id) = 1", name=op.f("ck_crm_lead_rule_one_assignee")),
        sa.CheckConstraint("num_nonnulls(source, email_domain, campaign_id) >= 1",
                           name=op.f("ck_crm_lead_rule_condition")),
        sa.ForeignKeyConstraint(["tenant_id", "campaign_id"], ["crm_campaign.tenant_id", "crm_campaign.id"],
                                name="fk_crm_lead_rule_tenant_id_campaign_id_crm_campaign", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id", "team_id"], ["team.tenant_id", "team.id"],
                                name="fk_crm_lead_rule_tenant_id_team_id_team", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name="fk_crm_lead_rule_tenant_id_tenant",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name="fk_crm_lead_rule_user_id_app_user",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_crm_lead_rule"),
    )
    op.create_index("ix_crm_lead_rule_tenant_id_position", "crm_lead_rule", ["tenant_id", "position"])
    for sql in tenant_table_sql("crm_lead_rule"):
        op.execute(sql)


def downgrade() -> None:
    op.drop_table("crm_lead_rule")
