"""Access tokens: a verified token is reused until it expires, and only a verified token is."""

from __future__ import annotations

import time
import uuid

import pytest

from backend.core.errors import Unauthenticated
from backend.modules.platform.keys import load_keys
from backend.modules.platform.tokens import AccessTokens


@pytest.fixture
def tokens(tmp_path) -> AccessTokens:
    return AccessTokens(load_keys(tmp_path / "keys.json", create=True), issuer="jishi", audience="jishi-api",
                        lifetime=900)


def test_a_verified_token_is_reused_until_it_expires(tokens: AccessTokens, monkeypatch):
    token, _ = tokens.issue(subject=str(uuid.uuid4()), tenant_id=uuid.uuid4())
    first = tokens.verify(token)
    checks = []
    real = tokens._verify
    monkeypatch.setattr(tokens, "_verify", lambda t: checks.append(t) or real(t))
    assert tokens.verify(token) == first and checks == []  # no second signature check
    later = time.time() + 900 + 31  # past exp and the 30 s leeway
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(Unauthenticated):
        tokens.verify(token)
    assert checks == [token] and token not in tokens._verified


def test_a_tampered_token_is_refused_even_after_the_real_one_was_verified(tokens: AccessTokens):
    token, _ = tokens.issue(subject=str(uuid.uuid4()), tenant_id=uuid.uuid4())
    tokens.verify(token)
    head, body, signature = token.split(".")
    forged = ".".join([head, body, ("A" if signature[0] != "A" else "B") + signature[1:]])
    with pytest.raises(Unauthenticated):
        tokens.verify(forged)


def test_the_cache_is_bounded(tokens: AccessTokens):
    tokens._verified.size = 3
    for _ in range(5):
        tokens.verify(tokens.issue(subject=str(uuid.uuid4()), tenant_id=None, scope=["platform"])[0])
    assert len(tokens._verified) == 3
