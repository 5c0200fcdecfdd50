"""crm: GIN indexes for custom-field filters on leads and opportunities

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLES = ("crm_lead", "crm_opportunity")


def upgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_custom_fields", table, ["tenant_id", "custom_fields"],
                        postgresql_using="gin", postgresql_ops={"custom_fields": "jsonb_path_ops"})


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_custom_fields", table_name=table)
