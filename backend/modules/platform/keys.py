"""Signing keys for access tokens (ES256 JWTs through joserfc).

The key set lives in a JWK Set file (``JISHI_JWT_KEYS_FILE``, default ``<data_dir>/jwt-keys.json``,
mode 0600), shared by every worker. The newest key signs; every key in the file verifies, so
rotation is: ``jishi keys rotate`` (adds a new signing key), wait at least the access-token
lifetime, ``jishi keys prune --keep 1`` (drops the old ones). ``/.well-known/jwks.json`` publishes
the public halves. Outside production a missing file is created with one fresh key.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from joserfc.jwk import ECKey, KeySet


@dataclass
class SigningKeys:
    keys: KeySet
    signing_kid: str

    def public_jwks(self) -> dict:
        return self.keys.as_dict(private=False)


def _new_key() -> ECKey:
    kid = f"k{int(time.time())}-{os.urandom(3).hex()}"
    return ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig", "alg": "ES256"}, private=True)


def _write(path: Path, keys: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"keys": keys}, fh)
    os.replace(tmp, path)


def load_keys(path: Path, *, create: bool) -> SigningKeys:
    if not path.exists():
        if not create:
            raise RuntimeError(f"no signing keys at {path}: run `jishi keys rotate` to create them")
        _write(path, [_new_key().as_dict(private=True)])
    data = json.loads(path.read_text())
    keys = KeySet.import_key_set(data)
    if not data.get("keys"):
        raise RuntimeError(f"{path} holds no keys")
    return SigningKeys(keys=keys, signing_kid=data["keys"][-1]["kid"])


def rotate_keys(path: Path) -> str:
    existing = json.loads(path.read_text())["keys"] if path.exists() else []
    key = _new_key().as_dict(private=True)
    _write(path, [*existing, key])
    return key["kid"]


def prune_keys(path: Path, keep: int) -> list[str]:
    existing = json.loads(path.read_text())["keys"]
    kept, dropped = existing[-keep:], existing[:-keep]
    _write(path, kept)
    return [k["kid"] for k in dropped]
