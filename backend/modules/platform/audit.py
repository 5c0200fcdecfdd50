"""The audit log: who did what to which objects, written in the same transaction as the change.

The runtime role can only INSERT and SELECT ``audit_event``. Inputs are summarised with secrets
redacted and long values cut, so the log never holds a password, a token or a client secret.
"""

from __future__ import annotations

import dataclasses
import uuid
from enum import Enum
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import CrossTenantWrite, utcnow
from backend.core.fetch import Prepared, fetch, values_of
from backend.core.ids import new_id
from backend.core.logging import redact
from backend.modules.platform.models import AuditEvent

MAX_VALUE_CHARS = 200


def summarize(value: Any, depth: int = 0) -> Any:
    """A JSON-safe, secret-free, bounded copy of a mutation input."""
    if depth > 4:
        return "…"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return redact({str(k): summarize(v, depth + 1) for k, v in list(value.items())[:50]})
    if isinstance(value, list | tuple | set):
        return [summarize(v, depth + 1) for v in list(value)[:50]]
    if isinstance(value, Enum):
        return value.name
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


_audit = AuditEvent.__table__
# One statement, built once: every mutation writes an audit row.
_RECORD = Prepared(insert(_audit).values(values_of(
    _audit, "tenant_id", "id", "occurred_at", "operation", "outcome", "actor_user_id", "actor_api_client_id",
    "targets", "input_summary", "ip", "user_agent", "request_id")))


async def record(
    session: AsyncSession,
    *,
    operation: str,
    outcome: str,
    actor_user_id: uuid.UUID | None = None,
    actor_api_client_id: uuid.UUID | None = None,
    targets: list[str] | None = None,
    input_summary: dict[str, Any] | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    request_id: str | None = None,
) -> None:
    tenant_id = session.info.get("tenant_id")
    if tenant_id is None:
        raise CrossTenantWrite("AuditEvent created outside a tenant transaction")
    await fetch(session, _RECORD, {
        "tenant_id": tenant_id, "id": new_id(), "occurred_at": utcnow(),
        "operation": operation[:100], "outcome": outcome[:40], "actor_user_id": actor_user_id,
        "actor_api_client_id": actor_api_client_id, "targets": [t[:200] for t in (targets or [])][:20],
        "input_summary": input_summary or {}, "ip": (ip or "")[:64] or None,
        "user_agent": (user_agent or "")[:300] or None, "request_id": request_id,
    })
