"""Row identifiers: UUIDv7, so ids sort by creation time and index inserts stay local."""

from __future__ import annotations

import uuid

from uuid_utils import compat


def new_id() -> uuid.UUID:
    return compat.uuid7()
