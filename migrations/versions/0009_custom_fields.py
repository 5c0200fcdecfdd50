"""custom fields: definitions per tenant and entity; values on crm_customer

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from backend.core.rls import tenant_table_sql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "custom_field",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("entity", sa.String(60), nullable=False),
        sa.Column("key", sa.String(60), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("type", sa.String(10), nullable=False),
        sa.Column("choices", postgresql.ARRAY(sa.String(100)), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("type IN ('text', 'number', 'date', 'boolean', 'choice')", name=op.f("ck_custom_field_type")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name="fk_custom_field_tenant_id_tenant",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_custom_field"),
        sa.UniqueConstraint("tenant_id", "entity", "key", name="uq_custom_field_tenant_id_entity_key"),
    )
    for sql in tenant_table_sql("custom_field"):
        op.execute(sql)
    op.add_column("crm_customer", sa.Column("custom_fields", postgresql.JSONB(astext_type=sa.Text()),
                                            nullable=False, server_default="{}"))
    op.alter_column("crm_customer", "custom_fields", server_default=None)
    op.create_index("ix_crm_customer_custom_fields", "crm_customer", ["tenant_id", "custom_fields"],
                    postgresql_using="gin", postgresql_ops={"custom_fields": "jsonb_path_ops"})


def downgrade() -> None:
    op.drop_index("ix_crm_customer_custom_fields", table_name="crm_customer")
    op.drop_column("crm_customer", "custom_fields")
    op.drop_table("custom_field")
