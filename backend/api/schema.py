"""Assemble one strawberry schema from the module registry.

Each module's ``graphql`` module may define ``Query``, ``Mutation`` and ``Subscription`` classes,
``types`` (extra types to register) and ``node_sources`` (how ``node(id:)`` loads its Node types).
Every tenant sees the same SDL (schema/schema.graphql); what a tenant may use is decided per
request by the module gates.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import GraphQLSchema
from strawberry.tools import merge_types

from backend.api.relay import NodeQuery, NodeRegistry
from backend.modules.registry import ModuleRegistry


@dataclass(frozen=True)
class ApiSchema:
    strawberry: strawberry.Schema
    nodes: NodeRegistry

    @property
    def graphql(self) -> GraphQLSchema:
        return self.strawberry._schema

    def sdl(self) -> str:
        return self.strawberry.as_str().rstrip() + "\n"


def _graphql_module(import_path: str) -> Any | None:
    name = f"{import_path}.graphql"
    if importlib.util.find_spec(name) is None:
        return None
    return importlib.import_module(name)


def build_schema(registry: ModuleRegistry) -> ApiSchema:
    queries: list[type] = [NodeQuery]
    mutations: list[type] = []
    subscriptions: list[type] = []
    types: list[Any] = []
    node_sources = []
    for spec in registry:
        mod = _graphql_module(spec.import_path)
        if mod is None:
            continue
        for attr, bucket in (("Query", queries), ("Mutation", mutations), ("Subscription", subscriptions)):
            if hasattr(mod, attr):
                bucket.append(getattr(mod, attr))
        types.extend(getattr(mod, "types", ()))
        node_sources.extend(getattr(mod, "node_sources", ()))
    schema = strawberry.Schema(
        query=merge_types("Query", tuple(queries)),
        mutation=merge_types("Mutation", tuple(mutations)) if mutations else None,
        subscription=merge_types("Subscription", tuple(subscriptions)) if subscriptions else None,
        types=types,
    )
    return ApiSchema(strawberry=schema, nodes=NodeRegistry(node_sources))
