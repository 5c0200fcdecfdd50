"""Configuration, read from the environment (prefix ``JISHI_``) and an optional ``.env`` file.

Every setting is documented in the README's configuration table; keep the two in step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JISHI_", env_file=".env", extra="ignore")

    env: Literal["dev", "test", "production"] = "dev"

    # Database. ``database_url`` connects as the owner role (migrations, role management).
    # When it is unset, an embedded PostgreSQL is started under ``data_dir``.
    database_url: str | None = None
    # The runtime role the service connects as (NOSUPERUSER, NOBYPASSRLS, owns nothing).
    app_db_user: str = "jishi_app"
    app_db_password: SecretStr = SecretStr("jishi_app")
    # Full URL for the runtime role; derived from database_url and app_db_* when unset.
    app_database_url: str | None = None
    db_pool_size: int = 20  # at least the concurrent requests a worker serves: overflow connections churn
    db_max_overflow: int = 10
    # Set to 0 behind PgBouncer in transaction mode (asyncpg's prepared statement cache).
    db_statement_cache_size: int = 100
    data_dir: Path = Path(".jishi")

    # HTTP
    host: str = "127.0.0.1"
    port: int = 8000
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_body_bytes: int = 1_000_000
    max_import_bytes: int = 50_000_000  # CSV uploads (paths under /crm/import/)

    # GraphQL
    introspection: bool | None = None  # None: on in dev and test, off in production
    graphiql: bool | None = None  # None: on in dev only
    max_query_depth: int = 12
    max_query_tokens: int = 5_000
    max_query_aliases: int = 50
    max_query_cost: int = 2_000
    default_list_size: int = 5  # cost estimate for lists that take no first/last (few contacts, lines)
    compiled_execution: bool = True  # queries run on backend.api.executor; off: graphql-core runs them
    sql_subtrees: bool = True  # with compiled execution: selections row types can say in SQL come as PostgreSQL's JSON

    # Identity and tokens
    jwt_keys_file: Path | None = None  # default <data_dir>/jwt-keys.json (created outside production)
    jwt_issuer: str = "jishi"
    jwt_audience: str = "jishi-api"
    access_token_seconds: int = 900
    refresh_token_days: int = 30
    invitation_days: int = 7
    auth_cache_seconds: float = 5.0  # how long a membership/role check is reused per process
    # External single sign-on: access tokens from this OIDC issuer are accepted (email -> user).
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None

    # Abuse protection
    redis_url: str | None = None  # shared login throttle and cost buckets across workers
    login_max_failures: int = 5  # per account and per IP, within login_window_seconds
    login_window_seconds: int = 900
    login_lockout_seconds: int = 900
    cost_bucket_size: int = 2000  # points; a query's requested cost is taken from it
    cost_restore_rate: int = 100  # points per second

    # Events and delivery
    listen_database_url: str | None = None  # direct connection for LISTEN (not via PgBouncer); default: the app's
    run_worker_in_serve: bool = True  # `jishi serve` also runs the delivery worker (single-machine default)
    worker_poll_seconds: float = 1.0
    worker_coalesce_seconds: float = 0.05  # after a new-event wake-up, wait this long so a burst is one round
    worker_lease_seconds: int = 60
    webhook_timeout_seconds: float = 10.0
    webhook_retry_hours: float = 24.0
    webhook_allow_private: bool | None = None  # None: allowed outside production (SSRF guard)
    smtp_url: str | None = None  # smtp[s]://user:pass@host:port?from=noreply@example.com ; unset: dev sink
    notification_from: str = "Jishi <noreply@localhost>"
    public_url: str = "http://127.0.0.1:8000"  # where customers reach this service (order tracking links)

    # Stripe (the platform's account; tenants connect theirs with Stripe Connect)
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None  # whsec_...: POST /webhooks/stripe verifies against it
    stripe_api_base: str | None = None  # tests point the SDK at a local fake server

    # Logging
    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        # JISHI_CORS_ORIGINS="https://a.example,https://b.example"
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @property
    def keys_path(self) -> Path:
        return self.jwt_keys_file or self.data_dir / "jwt-keys.json"

    @property
    def webhooks_may_target_private(self) -> bool:
        return self.webhook_allow_private if self.webhook_allow_private is not None else self.env != "production"

    @property
    def introspection_enabled(self) -> bool:
        return self.introspection if self.introspection is not None else self.env != "production"

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else self.env == "dev"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
