"""One LISTEN connection per process, fanned out to in-process subscribers.

Events are announced with ``pg_notify`` inside the transaction that emits them, so PostgreSQL
delivers the notification only when that transaction commits. The listener holds one dedicated
asyncpg connection (LISTEN does not work through PgBouncer in transaction mode: point it at the
database directly) and reconnects with backoff when it drops. Subscribers get a bounded queue each;
a subscriber too slow to keep up loses the oldest notifications and can catch up with ``events``.

Watchers (``watch``) are called synchronously with every message instead, and lose none: a
per-process cache that must forget what another process changed listens this way. They also hear
``listener.connected`` and ``listener.disconnected``: while the connection is down, notifications
are missed, so such a cache must not be trusted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import orjson
import structlog
from sqlalchemy.engine import URL

from backend.core.db import asyncpg_connect
from backend.core.events import NOTIFY_CHANNEL

log = structlog.get_logger("jishi.listener")
QUEUE_SIZE = 1000


class EventListener:
    def __init__(self, url: str | URL) -> None:
        self.url = url
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._watchers: list[Callable[[dict[str, Any]], None]] = []
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="jishi-event-listener")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._connected.wait(), timeout=10)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers.discard(queue)

    def watch(self, callback: Callable[[dict[str, Any]], None]) -> None:
        """Call ``callback(message)`` for every message, as it arrives (it must be quick and not raise)."""
        self._watchers.append(callback)

    def _deliver(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            message = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return
        for callback in self._watchers:
            try:
                callback(message)
            except Exception as exc:  # a watcher's bug must not stop delivery to the others
                log.error("listener.watcher_failed", error=type(exc).__name__)
        for queue in list(self._subscribers):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(message)

    async def _run(self) -> None:
        delay = 0.5
        while True:
            conn = None
            try:
                conn = await asyncpg_connect(self.url)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(NOTIFY_CHANNEL, self._deliver)
                self._connected.set()
                delay = 0.5
                # Wake everyone once: whatever was announced while we were away is found by polling.
                self._deliver(None, 0, NOTIFY_CHANNEL, '{"type": "listener.connected"}')
                await lost.wait()
                log.warning("listener.connection_lost")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: retry with backoff
                log.warning("listener.reconnect", error=type(exc).__name__, retry_in=delay)
            finally:
                if self._connected.is_set():
                    self._connected.clear()
                    for callback in self._watchers:
                        with contextlib.suppress(Exception):
                            callback({"type": "listener.disconnected"})
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30)
