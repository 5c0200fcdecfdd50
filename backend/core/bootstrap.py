"""Find (or start) the database and bring it to the code's schema."""

from __future__ import annotations

from backend.core.embedded import ensure_database, start_embedded
from backend.core.migrate import migrate
from backend.settings import Settings

EMBEDDED_DATABASE = "jishi"


async def resolve_owner_url(settings: Settings) -> str:
    """The owner role's URL: ``JISHI_DATABASE_URL``, or the embedded server's (started if needed)."""
    if settings.database_url:
        return settings.database_url
    server = start_embedded(settings.data_dir)
    await ensure_database(server.url("postgres"), EMBEDDED_DATABASE)
    return server.url(EMBEDDED_DATABASE)


async def prepare_database(settings: Settings, *, run_migrations: bool = True) -> str:
    url = await resolve_owner_url(settings)
    if run_migrations:
        await migrate(url, settings.app_db_user, settings.app_db_password.get_secret_value())
    return url
