"""teams; CRM visibility "team" (the own-records policy also admits teammates' rows)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from backend.core.rls import own_records_sql, tenant_table_sql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

OWNED = ("crm_customer", "crm_opportunity", "crm_lead")


def upgrade() -> None:
    op.create_table(
        "team",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name="fk_team_tenant_id_tenant", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_team"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_team_tenant_id_name"),
    )
    op.create_table(
        "team_member",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "team_id"], ["team.tenant_id", "team.id"],
                                name="fk_team_member_tenant_id_team_id_team", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name="fk_team_member_tenant_id_tenant",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name="fk_team_member_user_id_app_user",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_team_member"),
        sa.UniqueConstraint("tenant_id", "team_id", "user_id", name="uq_team_member_tenant_id_team_id_user_id"),
    )
    for table in ("team", "team_member"):
        for sql in tenant_table_sql(table):
            op.execute(sql)
    # Earlier builds of 0006 named this constraint with a doubled prefix; drop either name.
    op.execute("ALTER TABLE crm_settings DROP CONSTRAINT IF EXISTS ck_crm_settings_ck_crm_settings_visibility")
    op.execute("ALTER TABLE crm_settings DROP CONSTRAINT IF EXISTS ck_crm_settings_visibility")
    op.create_check_constraint("visibility", "crm_settings", "visibility IN ('all', 'team', 'own')")
    for table in OWNED:
        op.execute(f"DROP POLICY own_records ON {table}")
        op.execute(own_records_sql(table))


def downgrade() -> None:
    op.drop_table("team_member")
    op.drop_table("team")
