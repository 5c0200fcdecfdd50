"""crm: record visibility (own records, sharing) for the sales role

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from backend.core.rls import own_records_sql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("crm_customer", "crm_opportunity", "crm_lead")


def upgrade() -> None:
    op.add_column("crm_settings", sa.Column("visibility", sa.String(10), nullable=False, server_default="all"))
    op.alter_column("crm_settings", "visibility", server_default=None)
    # The naming convention turns "visibility" into ck_crm_settings_visibility.
    op.create_check_constraint("visibility", "crm_settings", "visibility IN ('all', 'own')")
    for table in TABLES:
        op.add_column(table, sa.Column("shared_with", postgresql.ARRAY(sa.Uuid()), nullable=False,
                                       server_default="{}"))
        op.alter_column(table, "shared_with", server_default=None)
        op.execute(own_records_sql(table))


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP POLICY own_records ON {table}")
        op.drop_column(table, "shared_with")
    op.execute("ALTER TABLE crm_settings DROP CONSTRAINT IF EXISTS ck_crm_settings_visibility")
    op.drop_column("crm_settings", "visibility")
