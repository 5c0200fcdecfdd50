from __future__ import annotations

import strawberry
from strawberry.types import Info

from backend.api.gates import gated_field


@strawberry.type
class Query:
    @gated_field(module="reminders", permission="reminders.read")
    async def reminder_ping(self, info: Info) -> str:
        return "pong"
