"""crm: custom field values on contacts, leads and opportunities

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = ("crm_contact", "crm_lead", "crm_opportunity")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("custom_fields", postgresql.JSONB(astext_type=sa.Text()), nullable=False,
                                       server_default="{}"))
        op.alter_column(table, "custom_fields", server_default=None)


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "custom_fields")
