"""crm: customers merged into another keep a pointer to the survivor

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("crm_customer", sa.Column("merged_into_id", sa.Uuid(), nullable=True))
    op.create_foreign_key("fk_crm_customer_tenant_id_merged_into_id_crm_customer", "crm_customer", "crm_customer",
                          ["tenant_id", "merged_into_id"], ["tenant_id", "id"])


def downgrade() -> None:
    op.drop_constraint("fk_crm_customer_tenant_id_merged_into_id_crm_customer", "crm_customer", type_="foreignkey")
    op.drop_column("crm_customer", "merged_into_id")
