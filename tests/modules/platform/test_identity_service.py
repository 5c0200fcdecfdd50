"""Identity rules at the service level."""

from __future__ import annotations

import uuid

import pytest
from argon2 import PasswordHasher

from backend.core.errors import DomainError
from backend.modules.platform import identity


async def test_an_expired_invitation_cannot_be_redeemed(db, make_tenant):
    tenant = await make_tenant()
    async with db.transaction(tenant) as session:
        _, token = await identity.invite_member(session, email=f"late-{uuid.uuid4().hex[:6]}@example.com",
                                                role="viewer", invited_by=None, days=0, inviter_is_owner=True)
    with pytest.raises(DomainError) as refused:
        async with db.transaction() as session:
            await identity.accept_invitation(session, token=token, password="a long enough password", name="Late")
    assert refused.value.code == "INVALID_INVITATION"


async def test_an_invitation_is_redeemed_once(db, make_tenant):
    tenant = await make_tenant()
    email = f"once-{uuid.uuid4().hex[:6]}@example.com"
    async with db.transaction(tenant) as session:
        _, token = await identity.invite_member(session, email=email, role="viewer", invited_by=None, days=7,
                                                inviter_is_owner=True)
    async with db.transaction() as session:
        user, membership = await identity.accept_invitation(session, token=token, password="a long enough password",
                                                            name="Once")
        assert membership.role == "viewer" and user.email == email
    with pytest.raises(DomainError, match="invalid or has expired"):
        async with db.transaction() as session:
            await identity.accept_invitation(session, token=token, password=None, name=None)


async def test_outdated_password_hashes_are_upgraded_at_sign_in(db):
    email = f"old-{uuid.uuid4().hex[:6]}@example.com"
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("an old long password")
    async with db.transaction() as session:
        user = await identity.create_user(session, email=email, name="Old", password=None)
        user.password_hash = weak
    async with db.transaction() as session:
        assert await identity.verify_user_password(session, email=email, password="an old long password")
    async with db.transaction() as session:
        user = await identity.get_user_by_email(session, email=email)
        assert user.password_hash != weak and "m=8," not in user.password_hash
        assert user.last_login_at is not None
        assert await identity.verify_user_password(session, email=email, password="wrong password") is None
