"""inventory: each stock move stores its value (quantity x unit cost, rounded once when written), so
the stock valuation and the ledger's inventory account add up the same rounded amounts

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("inv_stock_move", sa.Column("value", sa.Numeric(precision=19, scale=4), nullable=True))
    # Moves written before this migration: rounded to cents (PostgreSQL's round is half away from zero).
    # Row-level security is forced on the owner too; lift it for this one statement.
    op.execute("ALTER TABLE inv_stock_move NO FORCE ROW LEVEL SECURITY")
    op.execute("UPDATE inv_stock_move SET value = round(quantity * unit_cost, 2)")
    op.execute("ALTER TABLE inv_stock_move FORCE ROW LEVEL SECURITY")
    op.alter_column("inv_stock_move", "value", nullable=False)


def downgrade() -> None:
    op.drop_column("inv_stock_move", "value")
