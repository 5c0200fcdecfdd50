"""Static limits on a query, checked after validation and before execution (so before any SQL).

* tokens: enforced by the parser (``max_tokens``);
* aliases: counted on the raw document, before validation (whose overlap rule is quadratic);
* depth and cost: one walk of the chosen operation, fragments followed.

Cost follows Shopify's model: a scalar or enum costs 0, an object 1, a connection 2 plus its page
size (``first``/``last``, default 50) times the cost of one node; a plain list of objects multiplies
its element's cost by ``default_list_size``. Introspection fields cost nothing and do not count
towards depth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    Visitor,
    visit,
)
from graphql.type.definition import GraphQLInterfaceType, GraphQLUnionType, is_leaf_type

from backend.api.relay import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE


@dataclass(frozen=True)
class QueryAnalysis:
    depth: int
    cost: int


def count_aliases(document: DocumentNode) -> int:
    count = 0

    class AliasCounter(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> None:
            nonlocal count
            if node.alias is not None:
                count += 1

    visit(document, AliasCounter())
    return count


def _page_size(field: FieldNode, variables: dict[str, Any]) -> int:
    for arg in field.arguments or ():
        if arg.name.value in ("first", "last"):
            value: Any = None
            if isinstance(arg.value, IntValueNode):
                value = int(arg.value.value)
            elif isinstance(arg.value, VariableNode):
                value = variables.get(arg.value.name.value)
            if isinstance(value, int):
                return max(0, min(value, MAX_PAGE_SIZE))
    return DEFAULT_PAGE_SIZE


def _is_connection(type_: Any) -> bool:
    return isinstance(type_, GraphQLObjectType) and type_.name.endswith("Connection")


def _unwrap_list(type_: Any) -> tuple[Any, bool]:
    is_list = False
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        if isinstance(type_, GraphQLList):
            is_list = True
        type_ = type_.of_type
    return type_, is_list


def analyze(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any],
    *,
    default_list_size: int,
) -> QueryAnalysis:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    root = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[operation.operation]

    # Cost of one node of a connection (its edges/nodes selections), keyed by the connection's selection set.
    per_node_cost: dict[int, int] = {}

    def walk(selection_set: SelectionSetNode | None, parent: Any, depth: int, seen: frozenset[str]) -> tuple[int, int]:
        """(cost, max depth) of a selection set on ``parent``."""
        if selection_set is None:
            return 0, depth
        cost, deepest = 0, depth
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                name = sel.name.value
                if name.startswith("__"):
                    continue
                fields = getattr(parent, "fields", None) or {}
                definition = fields.get(name)
                if definition is None:
                    continue
                named, is_list = _unwrap_list(definition.type)
                if is_leaf_type(named):
                    deepest = max(deepest, depth + 1)
                    continue
                child_cost, child_depth = walk(sel.selection_set, named, depth + 1, seen)
                deepest = max(deepest, child_depth)
                if _is_connection(named):
                    per_node = per_node_cost.pop(id(sel.selection_set), 0)
                    cost += 2 + _page_size(sel, variables) * max(per_node, 1) + (child_cost - per_node)
                elif is_list and _is_connection(parent):  # edges/nodes: the page size multiplies them
                    per_node_cost[id(selection_set)] = per_node_cost.get(id(selection_set), 0) + 1 + child_cost
                    cost += 1 + child_cost
                elif is_list:
                    cost += default_list_size * (1 + child_cost)
                else:
                    cost += 1 + child_cost
            elif isinstance(sel, InlineFragmentNode):
                target = schema.get_type(sel.type_condition.name.value) if sel.type_condition else parent
                c, d = walk(sel.selection_set, target, depth, seen)
                cost, deepest = cost + c, max(deepest, d)
            elif isinstance(sel, FragmentSpreadNode):
                name = sel.name.value
                fragment = fragments.get(name)
                if fragment is None or name in seen:
                    continue
                target = schema.get_type(fragment.type_condition.name.value)
                c, d = walk(fragment.selection_set, target, depth, seen | {name})
                cost, deepest = cost + c, max(deepest, d)
        return cost, deepest

    cost, depth = walk(operation.selection_set, root, 0, frozenset())
    return QueryAnalysis(depth=depth, cost=cost)



def actual_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    data: Any,
    *,
    default_list_size: int,
) -> int:
    """The cost of what the response holds: like ``analyze``, with real list and page lengths."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    root = schema.mutation_type if operation.operation is OperationType.MUTATION else schema.query_type

    def fields_of(selection_set: SelectionSetNode | None, seen: frozenset[str] = frozenset()) -> list[FieldNode]:
        out: list[FieldNode] = []
        for sel in selection_set.selections if selection_set else ():
            if isinstance(sel, FieldNode):
                out.append(sel)
            elif isinstance(sel, InlineFragmentNode):
                out.extend(fields_of(sel.selection_set, seen))
            elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen and sel.name.value in fragments:
                out.extend(fields_of(fragments[sel.name.value].selection_set, seen | {sel.name.value}))
        return out

    def cost(selection_set: SelectionSetNode | None, parent: Any, value: Any) -> int:
        if not isinstance(value, dict):
            return 0
        total = 0
        for field in fields_of(selection_set):
            name = field.name.value
            key = field.alias.value if field.alias else name
            definition = (getattr(parent, "fields", None) or {}).get(name)
            if definition is None and isinstance(parent, GraphQLInterfaceType | GraphQLUnionType):
                # A field of a fragment on one implementation (``... on Note { folder }``).
                for possible in schema.get_possible_types(parent):
                    definition = possible.fields.get(name) or definition
            if name.startswith("__") or definition is None or key not in value or value[key] is None:
                continue
            named, _ = _unwrap_list(definition.type)
            if is_leaf_type(named):
                continue
            item = value[key]
            if _is_connection(named):
                total += 2 + cost(field.selection_set, named, item)
            elif isinstance(item, list):
                total += sum(1 + cost(field.selection_set, _concrete(named, element), element) for element in item
                             if element is not None)
            else:
                total += 1 + cost(field.selection_set, _concrete(named, item), item)
        return total

    def _concrete(named: Any, item: Any) -> Any:
        if isinstance(item, dict) and isinstance(named, GraphQLInterfaceType | GraphQLUnionType):
            return schema.get_type(item.get("__typename", "")) or named
        return named

    return cost(operation.selection_set, root, data)
