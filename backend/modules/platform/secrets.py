"""Opaque credentials (refresh tokens, invitation tokens, API client secrets).

They are 256-bit random strings, so a SHA-256 digest is a safe way to store and look them up (a
slow password hash buys nothing against guessing 256 bits). Each carries its tenant in a prefix so
the lookup can run inside that tenant's row-level security.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid


def random_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


def with_tenant(prefix: str, tenant_id: uuid.UUID, secret: str) -> str:
    return f"{prefix}_{tenant_id.hex}_{secret}"


def split_tenant(prefix: str, token: str) -> tuple[uuid.UUID, str] | None:
    """``(tenant id, secret)`` of a ``<prefix>_<tenant hex>_<secret>`` string, else None."""
    head, sep, rest = token.partition("_")
    if head != prefix or not sep:
        return None
    tenant_hex, sep, secret = rest.partition("_")
    if not sep or not secret or len(tenant_hex) != 32:
        return None
    try:
        return uuid.UUID(hex=tenant_hex), secret
    except ValueError:
        return None
