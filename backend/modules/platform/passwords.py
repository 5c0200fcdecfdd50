"""Password policy and hashing (argon2id through argon2-cffi), always off the event loop."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.core.errors import DomainError

MIN_LENGTH = 10
MAX_LENGTH = 1024
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

# A real hash of a throwaway password: verifying against it makes an unknown email cost as much
# time as a wrong password, so timing does not reveal which emails exist.
_DUMMY_HASH = _hasher.hash("jishi-dummy-password-for-timing")


def check_policy(password: str, *, email: str, field: str = "password") -> None:
    if len(password) < MIN_LENGTH:
        raise DomainError("PASSWORD_TOO_SHORT", f"Passwords have at least {MIN_LENGTH} characters.", field)
    if len(password) > MAX_LENGTH:
        raise DomainError("PASSWORD_TOO_LONG", f"Passwords have at most {MAX_LENGTH} characters.", field)
    if password.strip().lower() == email.strip().lower():
        raise DomainError("PASSWORD_IS_EMAIL", "The password cannot be the email address.", field)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches; takes the same time when there is no stored hash."""
    return await asyncio.to_thread(_verify, stored, password)


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
