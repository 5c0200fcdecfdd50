"""A real HTTP server on 127.0.0.1 that records webhook deliveries and answers as told."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field

import uvicorn


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    fail_first: int = 0  # answer 500 to this many requests first
    delay: float = 0.0  # seconds to wait before answering
    calls: list[Received] = field(default_factory=list)
    port: int = 0
    arrived: int = 0  # requests that reached us, answered or not

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.arrived += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        self.calls.append(Received(headers=headers, body=body))
        status = 500 if len(self.calls) <= self.fail_first else 200
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok" if status == 200 else b"nope"})

    def event_ids(self) -> list[str]:
        return [c.headers["jishi-event-id"] for c in self.calls]

    async def start(self) -> Receiver:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(self, host="127.0.0.1", port=self.port, log_level="error",
                                                     lifespan="off"))
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        self._server.should_exit = True
        self._server.force_exit = True  # do not wait for requests still sleeping in ``delay``
        self.delay = 0
        await self._task
