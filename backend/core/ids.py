"""Row identifiers (UUIDv7, so ids sort by creation time and index inserts stay local) and the
opaque global IDs the API shows: base64url("<TypeName>:<uuid hex>")."""

from __future__ import annotations

import base64
import binascii
import uuid

from uuid_utils import compat


def new_id() -> uuid.UUID:
    return compat.uuid7()


def to_global_id(type_name: str, pk: uuid.UUID) -> str:
    raw = f"{type_name}:{pk.hex}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def from_global_id(global_id: str) -> tuple[str, uuid.UUID] | None:
    """``(type name, pk)``, or None for anything that is not one of our IDs."""
    if not isinstance(global_id, str) or len(global_id) > 200:
        return None
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
        type_name, _, hex_pk = raw.partition(":")
        return (type_name, uuid.UUID(hex=hex_pk)) if type_name else None
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
