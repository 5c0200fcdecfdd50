"""platform core: tenant, tenant_module

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from backend.core.rls import global_table_sql, tenant_table_sql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenant",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("plan", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("base_currency", sa.String(3), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tenant"),
        sa.UniqueConstraint("slug", name="uq_tenant_slug"),
        sa.CheckConstraint("status IN ('active', 'suspended')", name=op.f("ck_tenant_status")),
        sa.CheckConstraint("slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'", name=op.f("ck_tenant_slug_format")),
        sa.CheckConstraint("base_currency ~ '^[A-Z]{3}$'", name=op.f("ck_tenant_currency_format")),
    )
    # The app creates tenants (sign-up) and suspends them; it never deletes one.
    for sql in global_table_sql("tenant", privileges="SELECT, INSERT, UPDATE"):
        op.execute(sql)

    op.create_table(
        "tenant_module",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("module", sa.String(40), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_tenant_module"),
        sa.UniqueConstraint("tenant_id", "module", name="uq_tenant_module_tenant_id_module"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name="fk_tenant_module_tenant_id_tenant", ondelete="CASCADE"
        ),
    )
    for sql in tenant_table_sql("tenant_module", privileges="SELECT, INSERT, UPDATE"):
        op.execute(sql)

    # readyz compares the applied revision with the code's head as the runtime role.
    op.execute("GRANT SELECT ON alembic_version TO jishi_runtime")


def downgrade() -> None:
    op.drop_table("tenant_module")
    op.drop_table("tenant")
