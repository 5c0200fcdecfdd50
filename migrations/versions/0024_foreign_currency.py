"""finance: documents in other currencies: the exchange rate on invoices and payments, the
receivable each invoice posted and each allocation settled, in the base currency

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

COLUMNS = [("fin_invoice", "exchange_rate", sa.Numeric(18, 8), "1"), ("fin_invoice", "total_base", sa.Numeric(19, 4), "0"),
           ("fin_payment", "exchange_rate", sa.Numeric(18, 8), "1"),
           ("fin_payment_allocation", "amount_base", sa.Numeric(19, 4), "0")]


def upgrade() -> None:
    for table, column, type_, default in COLUMNS:
        op.add_column(table, sa.Column(column, type_, nullable=False, server_default=default))
        op.alter_column(table, column, server_default=None)
    # Everything before this was in the base currency: the base amounts are the amounts.
    for table, assignment in (("fin_invoice", "total_base = total WHERE status <> 'draft'"),
                              ("fin_payment_allocation", "amount_base = amount")):
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"UPDATE {table} SET {assignment}")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    for table, column, _, _ in reversed(COLUMNS):
        op.drop_column(table, column)
