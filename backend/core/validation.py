"""Small input checks shared by modules; each refuses with a DomainError naming the field."""

from __future__ import annotations

import re

from backend.core.errors import DomainError

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def normalize_email(email: str, *, field: str = "email") -> str:
    email = (email or "").strip()
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise DomainError("INVALID_EMAIL", "Enter a valid email address.", field)
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def required_text(value: str | None, *, field: str, max_length: int, label: str | None = None) -> str:
    text = (value or "").strip()
    if not text:
        raise DomainError("REQUIRED", f"{label or field.capitalize()} is required.", field)
    if len(text) > max_length:
        raise DomainError("TOO_LONG", f"{label or field.capitalize()} is at most {max_length} characters.", field)
    return text


def optional_text(value: str | None, *, field: str, max_length: int) -> str | None:
    text = (value or "").strip()
    if len(text) > max_length:
        raise DomainError("TOO_LONG", f"{field} is at most {max_length} characters.", field)
    return text or None
