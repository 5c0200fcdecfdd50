"""The compiled executor answers exactly as graphql-core does, and batches what it resolves.

A small schema exercises what the application's schema rarely reaches on purpose: errors in list
items, non-null propagation up to the root, abstract types, arguments from variables, @skip and
@include keyed plans, bare ``asyncio.sleep(0)`` in resolvers. Each document runs through both
executors and the answers (data, and errors with their messages, paths and locations) must match.
"""

from __future__ import annotations

import asyncio
from typing import Any

import graphql
import pytest
import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from backend.api.executor import CompiledExecutor


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Tag(Named):
    name: str
    weight: int


@strawberry.type
class Item(Named):
    name: str
    size: int | None
    pk: strawberry.Private[int]

    @strawberry.field
    def double(self) -> int:
        return self.pk * 2

    @strawberry.field
    async def tags(self, info: Info) -> list[Tag]:
        return await info.context["tags"].load(self.pk)

    @strawberry.field
    def broken(self) -> int:
        if self.pk % 2:
            raise ValueError(f"item {self.pk} is broken")
        return self.pk

    @strawberry.field
    def missing(self) -> str:
        return None if self.pk == 3 else "here"  # type: ignore[return-value]

    @strawberry.field
    def label(self, upper: bool = False, prefix: str = "") -> str:
        text = prefix + self.name
        return text.upper() if upper else text

    @strawberry.field
    async def slow(self) -> str:
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return f"slow {self.pk}"


def _items(n: int) -> list[Item]:
    return [Item(name=f"item {i}", size=i * 10 if i % 2 else None, pk=i) for i in range(n)]


@strawberry.type
class Box:
    items: list[Item]
    maybe: list[Item | None] | None


@strawberry.type
class Query:
    @strawberry.field
    def items(self, n: int = 3) -> list[Item]:
        return _items(n)

    @strawberry.field
    def box(self) -> Box | None:
        return Box(items=_items(4), maybe=[*_items(4), None])

    @strawberry.field
    def strict_box(self) -> Box:
        return Box(items=_items(4), maybe=None)

    @strawberry.field
    def named(self) -> list[Named]:
        return [_items(2)[1], Tag(name="red", weight=3)]

    @strawberry.field
    def search(self) -> list[Item | Tag]:
        return [Tag(name="blue", weight=1), *_items(2)]

    @strawberry.field
    def fails(self) -> str | None:
        raise ValueError("no luck")

    @strawberry.field
    def number(self) -> int:
        return 2**40  # outside GraphQL's Int


SCHEMA = strawberry.Schema(query=Query, types=[Tag, Item])


def _context(batches: list[list[int]]) -> dict[str, Any]:
    async def tags(keys: list[int]) -> list[list[Tag]]:
        batches.append(list(keys))
        return [[Tag(name=f"t{k}.{j}", weight=j) for j in range(k % 3)] for k in keys]

    return {"tags": DataLoader(load_fn=tags)}


def _shape(errors: Any) -> list[tuple[str, Any, Any]]:
    shown = [(e.message, e.path, [(loc.line, loc.column) for loc in e.locations or ()]) for e in errors or ()]
    return shown  # in order: both report errors in document order


async def _both(query: str, variables: dict[str, Any] | None = None,
                executor: CompiledExecutor | None = None) -> tuple[Any, list[list[int]]]:
    document = graphql.parse(query)
    assert graphql.validate(SCHEMA._schema, document) == []
    reference = graphql.execute(SCHEMA._schema, document, context_value=_context([]), variable_values=variables)
    if graphql.pyutils.is_awaitable(reference):
        reference = await reference
    executor = executor or CompiledExecutor(SCHEMA._schema)
    operation = graphql.get_operation_ast(document)
    assert executor.handles(document, operation)
    batches: list[list[int]] = []
    compiled = await executor.execute(document, operation, variables or {}, _context(batches), cache_key=query)
    assert compiled.data == reference.data
    assert _shape(compiled.errors) == _shape(reference.errors)
    return compiled, batches


async def test_fields_lists_and_batched_loaders():
    result, batches = await _both("{ items(n: 5) { name size double __typename tags { name weight } slow } }")
    assert result.data["items"][4] == {"name": "item 4", "size": None, "double": 8, "__typename": "Item",
                                       "tags": [{"name": "t4.0", "weight": 0}], "slow": "slow 4"}
    assert batches == [[0, 1, 2, 3, 4]]  # one batch for the five items, no task per item


async def test_aliases_fragments_and_arguments():
    await _both("""query { a: items(n: 2) { ...F } b: items(n: 1) { n2: name, again: name } }
                   fragment F on Item { name label(upper: true, prefix: "x-") plain: label }""")


async def test_arguments_from_variables_change_between_runs_of_one_plan():
    executor = CompiledExecutor(SCHEMA._schema)
    query = "query($u: Boolean!, $p: String!) { items(n: 2) { label(upper: $u, prefix: $p) } }"
    first, _ = await _both(query, {"u": True, "p": "a-"}, executor)
    second, _ = await _both(query, {"u": False, "p": "b-"}, executor)
    assert first.data["items"][1]["label"] == "A-ITEM 1" and second.data["items"][1]["label"] == "b-item 1"


async def test_skip_and_include_follow_the_variables():
    executor = CompiledExecutor(SCHEMA._schema)
    query = "query($s: Boolean!) { items(n: 2) { name size @skip(if: $s) tags @include(if: $s) { name } } }"
    skipped, _ = await _both(query, {"s": True}, executor)
    shown, _ = await _both(query, {"s": False}, executor)
    assert "size" not in skipped.data["items"][0] and "tags" in skipped.data["items"][0]
    assert "size" in shown.data["items"][0] and "tags" not in shown.data["items"][0]


async def test_an_error_in_a_non_null_item_nulls_up_to_the_nearest_nullable_field():
    result, _ = await _both("{ items(n: 4) { name broken } }")  # [Item!]! on a non-null root field
    # The first failure nulls the whole answer; graphql-core never reaches item 3, so neither is it reported.
    assert result.data is None and [e.path for e in result.errors] == [["items", 1, "broken"]]
    result, _ = await _both("{ box { maybe { name broken } } fails }")  # [Item]: only the failing items
    assert [e.path for e in result.errors] == [["box", "maybe", 1, "broken"], ["box", "maybe", 3, "broken"],
                                               ["fails"]]
    assert result.data["box"]["maybe"][1] is None and result.data["box"]["maybe"][0] == {"name": "item 0",
                                                                                        "broken": 0}
    assert result.data["fails"] is None
    result, _ = await _both("{ box { items { broken } } }")  # [Item!]! in a nullable box: the box is null
    assert result.data == {"box": None}
    result, _ = await _both("{ strictBox { items { broken } } }")  # non-null all the way: data is null
    assert result.data is None


async def test_null_for_a_non_null_field_and_a_value_outside_its_scalar():
    result, _ = await _both("{ box { maybe { missing } } }")
    assert result.data["box"]["maybe"][3] is None and result.data["box"]["maybe"][4] is None
    assert "Cannot return null for non-nullable field Item.missing." in result.errors[0].message
    result, _ = await _both("{ number }")
    assert result.data is None and "Int cannot represent" in result.errors[0].message


async def test_interfaces_and_unions_resolve_by_class():
    result, _ = await _both("""{ named { name __typename ... on Item { size double } ... on Tag { weight } }
                               search { __typename ... on Item { name } ... on Tag { weight } } }""")
    assert [n["__typename"] for n in result.data["named"]] == ["Item", "Tag"]


async def test_bad_variables_are_a_request_error():
    document = graphql.parse("query($n: Int!) { items(n: $n) { name } }")
    result = await CompiledExecutor(SCHEMA._schema).execute(document, graphql.get_operation_ast(document),
                                                            {"n": "three"}, _context([]))
    assert result.data is None and "Int cannot represent" in result.errors[0].message
    assert result.errors[0].path is None


@pytest.mark.parametrize("query", ["mutation { x }", "{ __schema { queryType { name } } }"])
def test_what_it_leaves_to_graphql_core(query):
    document = graphql.parse(query)
    assert not CompiledExecutor(SCHEMA._schema).handles(document, graphql.get_operation_ast(document))


async def test_plans_are_cached_and_the_cache_is_bounded():
    executor = CompiledExecutor(SCHEMA._schema, cache_size=2)
    for n in range(5):
        query = f"{{ items(n: {n}) {{ name }} }}"
        document = graphql.parse(query)
        result = await executor.execute(document, graphql.get_operation_ast(document), {}, _context([]),
                                        cache_key=query)
        assert len(result.data["items"]) == n
    assert len(executor._plans) == 2


_WAITING: dict[str, Any] = {}


@strawberry.type
class Waiting:
    n: int

    @strawberry.field
    async def value(self) -> int:
        try:
            await _WAITING["never"].wait()
        finally:
            _WAITING["closed"].append(self.n)
        return self.n


@strawberry.type
class WaitQuery:
    @strawberry.field
    def waiting(self) -> list[Waiting]:
        return [Waiting(n=n) for n in range(3)]


async def test_a_cancelled_request_closes_the_resolvers_it_was_driving():
    _WAITING.update(never=asyncio.Event(), closed=[])
    schema = strawberry.Schema(query=WaitQuery)
    document = graphql.parse("{ waiting { value } }")
    task = asyncio.create_task(CompiledExecutor(schema._schema).execute(
        document, graphql.get_operation_ast(document), {}, {}))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(_WAITING["closed"]) == [0, 1, 2]  # every suspended resolver was closed, none left pending
