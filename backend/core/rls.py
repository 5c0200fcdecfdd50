"""SQL that every tenant table's migration runs: row-level security and runtime grants.

Migrations call ``op.execute(sql)`` for each statement of ``tenant_table_sql(name)``; tests use the
same function for the tables of their test modules, so there is one definition of the policy.

The policy is written exactly as DESIGN.md section 3 requires: no ``(SELECT ...)`` wrapper (Citus
refuses subqueries in policies on distributed tables), ``NULLIF(..., '')`` so that an unset or
reset setting matches no row (fail closed).
"""

from __future__ import annotations

from backend.core.db import RUNTIME_GROUP_ROLE

TENANT_PREDICATE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"
POLICY_NAME = "tenant_isolation"


# Global tables that carry a tenant_id column without being tenant data. Each is listed with why;
# the tenancy tests treat every other table with a tenant_id column as a tenant table.
GLOBAL_TABLES_WITH_TENANT_ID = {
    "tenant_work": "which tenants have background work due, and when: no tenant data; workers must see "
    "all of it to claim tenants before they can scope themselves to one",
    "stripe_account": "which tenant a connected Stripe account id belongs to: the Stripe webhook must find "
    "the tenant before it can scope itself to it; no tenant data beyond the link",
}


def tenant_table_sql(table: str, *, privileges: str = "SELECT, INSERT, UPDATE, DELETE") -> list[str]:
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {POLICY_NAME} ON {table} USING ({TENANT_PREDICATE}) WITH CHECK ({TENANT_PREDICATE})",
        f"GRANT {privileges} ON {table} TO {RUNTIME_GROUP_ROLE}",
    ]


def global_table_sql(table: str, *, privileges: str = "SELECT") -> list[str]:
    return [f"GRANT {privileges} ON {table} TO {RUNTIME_GROUP_ROLE}"]


CREATE_RUNTIME_GROUP_SQL = f"""
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{RUNTIME_GROUP_ROLE}') THEN
    CREATE ROLE {RUNTIME_GROUP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END
$$
"""


# A signed-in user may see their own memberships in every tenant (to pick the tenant at sign-in),
# and nothing else: SELECT only, keyed on app.user_id, which the app sets after verifying the
# password. The tenancy lint knows this policy by name.
MEMBER_SELF_POLICY = "member_self"
MEMBER_SELF_PREDICATE = "user_id = NULLIF(current_setting('app.user_id', true), '')::uuid"
MEMBER_SELF_SQL = f"CREATE POLICY {MEMBER_SELF_POLICY} ON membership FOR SELECT USING ({MEMBER_SELF_PREDICATE})"


# Record ownership inside a tenant (e.g. the CRM's "sales users see only their own records"): a
# RESTRICTIVE policy, so it narrows the tenant policy and never widens it. While ``app.record_owner``
# is unset or empty it allows everything; set, it allows rows owned by that user, shared with them,
# or owned by one of ``app.record_team`` (a comma-separated list of teammates' user ids, for
# "team" visibility). No subquery (Citus-safe); the lint test knows it by name.
OWN_RECORDS_POLICY = "own_records"
_OWNER = "NULLIF(current_setting('app.record_owner', true), '')::uuid"
_TEAM = "string_to_array(NULLIF(current_setting('app.record_team', true), ''), ',')::uuid[]"


def own_records_sql(table: str, *, owner_column: str = "owner_id", shared_column: str = "shared_with") -> str:
    predicate = (f"(NULLIF(current_setting('app.record_owner', true), '') IS NULL "
                 f"OR {owner_column} = {_OWNER} OR {_OWNER} = ANY ({shared_column}) "
                 f"OR {owner_column} = ANY ({_TEAM}))")
    return (f"CREATE POLICY {OWN_RECORDS_POLICY} ON {table} AS RESTRICTIVE FOR ALL "
            f"USING {predicate} WITH CHECK {predicate}")
