"""The queries asyncpg sends on one connection, for tests that check what goes over the wire."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


def log_queries(raw: Any) -> tuple[list[str], Callable[[], Awaitable[None]]]:
    """``(sent, stop)``: the queries asyncpg sends on ``raw`` (an asyncpg connection) from now on, and a
    coroutine function that stops logging once the last query's logger has run (asyncpg calls its query
    loggers soon after a query, not at once)."""
    sent: list[str] = []

    def logger(query: Any) -> None:
        sent.append(query.query)

    raw.add_query_logger(logger)

    async def stop() -> None:
        await asyncio.sleep(0)
        raw.remove_query_logger(logger)

    return sent, stop
