"""refresh planner statistics during bulk writes

A bulk import inserts 100,000 rows and then rows that reference them, in one transaction. If the
referenced table was analyzed while small, PostgreSQL keeps checking the foreign keys with a plan
made for a small table (a sequential scan), and the import turns quadratic. ANALYZE inside the
transaction refreshes the statistics and invalidates those plans. The runtime role may not ANALYZE,
so this function (owned by the owner role) does it, for the listed tables only.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION jishi_refresh_statistics(target regclass) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        BEGIN
          IF target NOT IN ('crm_customer'::regclass, 'crm_contact'::regclass) THEN
            RAISE EXCEPTION 'jishi_refresh_statistics: % is not a bulk-write table', target;
          END IF;
          EXECUTE format('ANALYZE %s', target);
        END
        $$
    """)
    op.execute("REVOKE ALL ON FUNCTION jishi_refresh_statistics(regclass) FROM PUBLIC")
    op.execute("GRANT EXECUTE ON FUNCTION jishi_refresh_statistics(regclass) TO jishi_runtime")


def downgrade() -> None:
    op.execute("DROP FUNCTION jishi_refresh_statistics(regclass)")
