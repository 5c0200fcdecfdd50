"""Every batched loader statement can be built once as a template (tenant and keys bound per batch)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from sqlalchemy.dialects import postgresql

import backend.modules
from backend.core.db import BATCH_KEYS, BATCH_TENANT


def _statement_builders():  # type: ignore[no-untyped-def]
    for module in pkgutil.walk_packages(backend.modules.__path__, "backend.modules."):
        if ".graphql" not in module.name:
            continue
        for name, fn in vars(importlib.import_module(module.name)).items():
            if name.endswith("_stmt") and inspect.isfunction(fn) and fn.__module__ == module.name \
                    and list(inspect.signature(fn).parameters) == ["tenant_id", "keys"]:
                yield f"{module.name}.{name}", fn


def test_every_loader_statement_takes_its_keys_as_one_parameter(registry):
    builders = dict(_statement_builders())
    assert len(builders) >= 15  # the loaders of every module
    for name, fn in builders.items():
        sql = str(fn(BATCH_TENANT, BATCH_KEYS).compile(dialect=postgresql.dialect()))
        assert "%(batch_keys)s" in sql and "%(batch_tenant)s" in sql, name
