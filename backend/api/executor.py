"""A compiled, breadth-first executor for queries (the execution path of ``/graphql``).

graphql-core executes a query field by field and object by object: for a page of 50 orders with
their lines that is about a thousand resolver calls, each with its own info object, awaitable check,
completion and, for every async field, an asyncio task. That per-field machinery, not SQL, was where
a large query's time went (docs/performance.md).

This executor keeps strawberry for the schema, parsing, validation and the resolvers, and replaces
only the execution of queries:

* **A plan per document.** The first time a validated document runs, its selections are collected
  per object type (fragments, inline fragments, ``@skip``/``@include`` and aliases applied by
  graphql-core's own ``collect_fields``) and every field is classified once: a plain attribute, a
  method that can be called directly, or a field that needs strawberry's full resolver (arguments,
  field extensions such as the module gates). Plans are cached per document and per value of the
  variables that ``@skip``/``@include`` read; the cache is bounded.
* **Breadth-first.** A field is resolved for every object of its level before the next field: a
  plain attribute is one ``getattr`` per object; a resolver with a batch form
  (``backend.api.loaders.batched``) is called once for the whole level; any other async resolver is
  started for every object and the coroutines are driven together by one trampoline (no task per
  object), so their DataLoader calls land in one batch, as before, at a fraction of the cost.
* **The same results.** Nulls, errors with their paths and locations, non-null propagation, aliases,
  abstract types resolved by the object's class, leaf serialization by the schema's own scalars and
  enums. Field arguments are coerced by graphql-core from the document and variables. Resolvers get
  an ``info`` per field and level: ``info.context`` is the request's, ``info.path`` is the path of the
  first object of the level (no resolver here reads it).

Mutations and subscriptions keep graphql-core's execution (mutations run serially and return small
payloads); so does any document using an introspection root field or fragment variables.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from types import CoroutineType
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLAbstractType,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLError,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLString,
    GraphQLUnionType,
    OperationDefinitionNode,
    OperationType,
    Undefined,
    default_field_resolver,
    located_error,
)
from graphql.execution.collect_fields import FieldDetails, FragmentDetails, collect_fields, collect_subfields
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.language import DirectiveNode, VariableNode, Visitor, visit
from graphql.pyutils import Path, is_awaitable
from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.types import Info
from strawberry.types.arguments import convert_arguments

from backend.api.rows import RowObject
from backend.core.lru import LRU

__all__ = ["CompiledExecutor", "QueryResult"]


class QueryResult:
    """What an execution produced: ``data``, ``errors`` and the actual cost of the data."""

    __slots__ = ("cost", "data", "errors")

    def __init__(self, data: Any, errors: list[GraphQLError] | None, cost: int | None) -> None:
        self.data = data
        self.errors = errors
        self.cost = cost


# --- compiled shapes ---------------------------------------------------------------------------------

_TYPENAME, _ATTR, _METHOD, _ASYNC_METHOD, _RESOLVER, _BATCH, _ROW_ATTR = range(7)
_UNSET = object()


class _Leaf:
    __slots__ = ("coerce", "nonnull")

    def __init__(self, nonnull: bool, coerce: Callable[[Any], Any]) -> None:
        self.nonnull = nonnull
        self.coerce = coerce


class _List:
    __slots__ = ("nonnull", "of")

    def __init__(self, nonnull: bool, of: Any) -> None:
        self.nonnull = nonnull
        self.of = of


class _Object:
    """An object position: its type's fields are compiled on first use (per plan)."""

    __slots__ = ("_fields", "_plan", "_tree", "details", "nonnull", "type", "weight")

    def __init__(self, plan: _Plan, nonnull: bool, type_: GraphQLObjectType, details: list[FieldDetails]) -> None:
        self.nonnull = nonnull
        self.type = type_
        self.details = details
        self.weight = 2 if type_.name.endswith("Connection") else 1  # as backend.api.limits counts it
        self._fields: list[_Field] | None = None
        self._plan = plan
        self._tree: Any = _UNSET

    @property
    def tree(self) -> Any:
        """How this position's objects are answered whole (``backend.api.sqltree``), or None: field by field."""
        if self._tree is _UNSET:
            trees = self._plan.executor.trees
            self._tree = trees(self) if trees is not None else None
        return self._tree

    @property
    def fields(self) -> list[_Field]:
        if self._fields is None:
            self._fields = self._plan.subfields(self.type, self.details)
        return self._fields


class _Abstract:
    __slots__ = ("_by_type", "_plan", "details", "nonnull", "type")

    def __init__(self, plan: _Plan, nonnull: bool, type_: GraphQLAbstractType, details: list[FieldDetails]) -> None:
        self.nonnull = nonnull
        self.type = type_
        self.details = details
        self._by_type: dict[str, _Object] = {}
        self._plan = plan

    def of(self, runtime: GraphQLObjectType) -> _Object:
        found = self._by_type.get(runtime.name)
        if found is None:
            found = self._by_type[runtime.name] = _Object(self._plan, self.nonnull, runtime, self.details)
        return found


class _Field:
    """One response key of one object type: how to get its value and how to complete it."""

    __slots__ = (
        "args",
        "args_fixed",
        "attr",
        "definition",
        "func",
        "info_name",
        "key",
        "kind",
        "name",
        "nodes",
        "nodes_tree",
        "parent",
        "parent_class",
        "position",
        "selection",
        "self_first",
        "shape",
        "strawberry_field",
    )

    def __init__(self, key: str, nodes: list[FieldNode], parent: GraphQLObjectType) -> None:
        self.key = key
        self.nodes = nodes
        self.name = nodes[0].name.value
        self.parent = parent
        self.kind = _RESOLVER
        self.attr = ""
        self.func: Callable[..., Any] | None = None
        self.info_name: str | None = None
        self.self_first = False
        self.definition: Any = None
        self.strawberry_field: Any = None
        self.shape: Any = None
        self.args: dict[str, Any] = {}
        self.args_fixed = True
        self.selection: Any = _UNSET
        self.nodes_tree: Any = None
        self.parent_class: Any = None
        self.position = 0  # in its selection: errors are ordered by it


class _Plan:
    def __init__(self, executor: CompiledExecutor, operation: OperationDefinitionNode,
                 fragments: dict[str, FragmentDetails], variables: VariableValues) -> None:
        self.executor = executor
        self.schema = executor.schema
        self.operation = operation
        self.fragments = fragments
        self.variables = variables  # only their @skip/@include values shape the plan
        root = self.schema.query_type
        assert root is not None
        grouped = collect_fields(self.schema, fragments, variables, root, operation).grouped_field_set
        self.root = _Object(self, True, root, [])
        self.root._fields = _positioned([self.field(root, key, details) for key, details in grouped.items()])

    def subfields(self, type_: GraphQLObjectType, details: list[FieldDetails]) -> list[_Field]:
        grouped = collect_subfields(self.schema, self.fragments, self.variables, self.operation, type_,
                                    details).grouped_field_set
        return _positioned([self.field(type_, key, group) for key, group in grouped.items()])

    def field(self, parent: GraphQLObjectType, key: str, details: list[FieldDetails]) -> _Field:
        nodes = [d.node for d in details]
        f = _Field(key, nodes, parent)
        if f.name == "__typename":
            f.kind = _TYPENAME
            f.shape = _Leaf(True, _identity)
            return f
        definition = parent.fields[f.name]
        f.definition = definition
        f.shape = self.shape(definition.type, details)
        if definition.args:
            f.args_fixed = not _uses_variables(nodes[0])
            if f.args_fixed:
                f.args = get_argument_values(definition, nodes[0], self.variables)
        sf = definition.extensions.get("strawberry-definition")
        f.strawberry_field = sf
        if sf is None:  # not a strawberry field (graphql-core's own): its resolver, or the default one
            return f
        resolver = sf.base_resolver
        plain = not sf.extensions and not getattr(sf, "permission_classes", None)
        batch = getattr(resolver.wrapped_func, "__batch__", None) if resolver is not None else None
        if (batch is not None and plain and resolver.self_parameter is not None  # type: ignore[union-attr]
                and resolver.parent_parameter is None and resolver.root_parameter is None  # type: ignore[union-attr]
                and (not sf.arguments or self.executor.strawberry is not None)):
            f.kind, f.func = _BATCH, batch  # backend.api.loaders.batched: one call per level
            return f
        if resolver is None and plain:
            f.kind, f.attr = _ATTR, sf.python_name
            origin = getattr(parent.extensions.get("strawberry-definition"), "origin", None)
            if isinstance(origin, type) and issubclass(origin, RowObject) and f.attr in origin._computes:
                f.kind, f.func, f.parent_class = _ROW_ATTR, origin._computes[f.attr], origin
        elif (resolver is not None and plain and not sf.arguments and resolver.parent_parameter is None
              and resolver.root_parameter is None):
            f.func = resolver.wrapped_func
            f.self_first = resolver.self_parameter is not None
            f.info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None
            f.kind = _ASYNC_METHOD if resolver.is_async else _METHOD
        return f

    def shape(self, type_: Any, details: list[FieldDetails]) -> Any:
        nonnull = isinstance(type_, GraphQLNonNull)
        if nonnull:
            type_ = type_.of_type
        if isinstance(type_, GraphQLList):
            return _List(nonnull, self.shape(type_.of_type, details))
        if isinstance(type_, GraphQLObjectType):
            return _Object(self, nonnull, type_, details)
        if isinstance(type_, GraphQLInterfaceType | GraphQLUnionType):
            return _Abstract(self, nonnull, type_, details)
        return _Leaf(nonnull, self.executor.coercer(type_))


def _positioned(fields: list[_Field]) -> list[_Field]:
    for position, f in enumerate(fields):
        f.position = position
    return fields


def _identity(value: Any) -> Any:
    return value


def _uses_variables(node: FieldNode) -> bool:
    found = False

    class Finder(Visitor):
        def enter_variable(self, *_: Any) -> None:
            nonlocal found
            found = True

    for argument in node.arguments or ():
        visit(argument, Finder())
    return found


def _directive_variables(document: DocumentNode) -> tuple[str, ...]:
    """The variables read by ``@skip``/``@include`` anywhere in the document (they shape the plan)."""
    names: list[str] = []

    class Finder(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
            if node.name.value in ("skip", "include"):
                for argument in node.arguments or ():
                    if isinstance(argument.value, VariableNode):
                        names.append(argument.value.name.value)

    visit(document, Finder())
    return tuple(sorted(set(names)))


# --- execution state -------------------------------------------------------------------------------------


class _Slot:
    """A position in the response that can be nulled: an object (an ``_Item``) or a list.

    Its path and its ``order`` are derived on demand from the item that owns the field, the field and
    the list indexes, so building a response creates no path objects unless an error needs one.
    ``order`` places the position in document order (field positions and list indexes), the order
    in which graphql-core completes a query: errors are reported in it, and an error inside a
    position that an earlier error already nulled is not reported (graphql-core never reaches it).
    """

    __slots__ = ("container", "field", "index", "key", "nullable", "owner", "up")

    def __init__(self, container: Any, key: Any, nullable: bool, up: _Slot | None, owner: _Item | None,
                 field: _Field | None, index: tuple[int, ...]) -> None:
        self.container = container
        self.key = key
        self.nullable = nullable
        self.up = up
        self.owner = owner
        self.field = field
        self.index = index

    @property
    def order(self) -> tuple[int, ...]:
        if self.owner is None:
            return ()
        return (*self.owner.order, self.field.position, *self.index)  # type: ignore[union-attr]

    @property
    def path(self) -> Path | None:
        if self.owner is None:
            return None
        return _path(self.owner, self.field, self.index)  # type: ignore[arg-type]


class _Item(_Slot):
    """An object to complete, with the dict its fields go into; it is also its own position."""

    __slots__ = ("obj", "out")

    def __init__(self, obj: Any, out: dict[str, Any], container: Any, key: Any, nullable: bool, up: _Slot | None,
                 owner: _Item | None, field: _Field | None, index: tuple[int, ...]) -> None:
        # The slot's fields set here, not through _Slot.__init__: one call less for each object of a response.
        self.obj = obj
        self.out = out
        self.container = container
        self.key = key
        self.nullable = nullable
        self.up = up
        self.owner = owner
        self.field = field
        self.index = index


def _path(owner: _Item, f: _Field, index: tuple[int, ...] = ()) -> Path:
    path = Path(owner.path, f.key, f.parent.name)
    for i in index:
        path = Path(path, i, None)
    return path


def _order(owner: _Item, f: _Field, index: tuple[int, ...] = ()) -> tuple[int, ...]:
    return (*owner.order, f.position, *index)


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


class _Run:
    __slots__ = ("context", "cost", "errors", "helpers", "plan", "root_null", "variables")

    def __init__(self, plan: _Plan, context: Any, variables: VariableValues) -> None:
        self.plan = plan
        self.context = context
        self.variables = variables
        self.errors: list[tuple[tuple[int, ...], GraphQLError, tuple[int, ...] | None]] = []
        self.cost = 0
        self.root_null = False
        self.helpers = GraphQLResolveInfoHelpers(gather=_gather, track=_track)


async def _gather(values: Any) -> list[Any]:
    return list(await asyncio.gather(*values))


def _track(_values: Any) -> None:
    return None


# --- the executor ------------------------------------------------------------------------------------------


class CompiledExecutor:
    def __init__(self, schema: GraphQLSchema, *, classes: dict[type, GraphQLObjectType] | None = None,
                 cache_size: int = 512, strawberry_schema: Any = None,
                 trees: Callable[[Any], Any] | None = None) -> None:
        self.schema = schema
        # Object positions whose whole selection another engine answers (backend.api.sqltree.compile_tree):
        # trees(position) -> an object with ``await splice(context, items)``, or None.
        self.trees = trees
        self.strawberry = strawberry_schema  # converts the arguments of batch forms, as strawberry would
        self._plans = LRU(cache_size)
        self._coercers: dict[str, Callable[[Any], Any]] = {}
        # A strawberry object's class names its GraphQL type (for interface and union fields).
        self.classes: dict[type, GraphQLObjectType] = dict(classes or {})
        if classes is None:
            for type_ in schema.type_map.values():
                definition = type_.extensions.get("strawberry-definition") if isinstance(
                    type_, GraphQLObjectType) else None
                origin = getattr(definition, "origin", None)
                if origin is not None and not getattr(definition, "is_graphql_generic", False):
                    self.classes.setdefault(origin, type_)

    @staticmethod
    def handles(document: DocumentNode, operation: OperationDefinitionNode) -> bool:
        """Queries, except introspection roots and fragment variables (graphql-core runs those)."""
        if operation.operation is not OperationType.QUERY:
            return False
        for selection in operation.selection_set.selections:
            name = getattr(selection, "name", None)
            if isinstance(selection, FieldNode) and name is not None and name.value in ("__schema", "__type"):
                return False
        return not any(isinstance(d, FragmentDefinitionNode) and d.variable_definitions for d in document.definitions)

    def coercer(self, type_: Any) -> Callable[[Any], Any]:
        found = self._coercers.get(type_.name)
        if found is None:
            found = self._coercers[type_.name] = _make_coercer(type_)
        return found

    def _plan(self, key: Any, document: DocumentNode, operation: OperationDefinitionNode,
              variables: VariableValues) -> _Plan:
        directive_values = tuple(variables.coerced.get(n) for n in _directive_variables_cached(document))
        plan_key = (key, directive_values)
        plan = self._plans.get(plan_key) if key is not None else None
        if plan is None:
            fragments = {d.name.value: FragmentDetails(d) for d in document.definitions
                         if isinstance(d, FragmentDefinitionNode)}
            plan = _Plan(self, operation, fragments, variables)
            if key is not None:
                self._plans.put(plan_key, plan)
        return plan

    async def execute(self, document: DocumentNode, operation: OperationDefinitionNode,
                      raw_variables: dict[str, Any], context: Any, *, cache_key: Any = None) -> QueryResult:
        coerced = get_variable_values(self.schema, operation.variable_definitions or (), raw_variables or {},
                                      max_errors=50)
        if isinstance(coerced, list):
            return QueryResult(None, coerced, None)
        plan = self._plan(cache_key, document, operation, coerced)
        run = _Run(plan, context, coerced)
        data: dict[str, Any] = {}
        await self._fields(run, plan.root.fields, [_Item(None, data, None, None, False, None, None, None, ())])
        return QueryResult(None if run.root_null else data, _reported(run.errors), run.cost)

    # --- one level: every field of one object type, for all its objects ---------------------------------

    async def _fields(self, run: _Run, fields: list[_Field], items: list[_Item]) -> None:
        below: list[tuple[_Object, list[_Item]]] = []
        for position, f in enumerate(fields):
            kind = f.kind
            key = f.key
            shape = f.shape
            if kind == _ATTR:
                attr = f.attr
                values: Iterable[Any]
                try:
                    values = [getattr(item.obj, attr) for item in items]
                except AttributeError:
                    values = [self._guarded(getattr, item.obj, attr) for item in items]
            elif kind == _ROW_ATTR:
                values = self._row_values(f, items)
            elif kind == _TYPENAME:
                values = [f.parent.name] * len(items)
            elif kind == _METHOD and f.info_name is None and f.self_first:
                func = f.func
                try:
                    values = [func(item.obj) for item in items]  # type: ignore[misc]
                except Exception:
                    values = [self._guarded(func, item.obj) for item in items]  # type: ignore[arg-type]
            else:
                selection = f.selection
                if selection is _UNSET:
                    selection = f.selection = _row_selection(f.shape)
                    f.nodes_tree = _nodes_tree(f.shape)
                _select(run.context, selection, f.nodes_tree)
                try:
                    if kind == _BATCH:
                        try:
                            kwargs = self._batch_arguments(run, f) if f.strawberry_field.arguments else {}
                            values = await f.func(run.context, [item.obj for item in items], **kwargs)  # type: ignore[misc]
                        except Exception as exc:
                            values = [_Failed(exc)] * len(items)
                    else:
                        values = await self._resolve(run, f, items)
                finally:
                    _select(run.context, None, None)
            if type(shape) is _Leaf:
                coerce = shape.coerce
                for item, value in zip(items, values, strict=True):
                    if value is None or value is Undefined:
                        item.out[key] = None
                        if shape.nonnull:
                            self._error(run, _null_error(f), f, item, position, True)
                    elif type(value) is _Failed:
                        item.out[key] = None
                        self._error(run, value.error, f, item, position, shape.nonnull)
                    else:
                        try:
                            item.out[key] = coerce(value)
                        except Exception as exc:
                            item.out[key] = None
                            self._error(run, exc, f, item, position, shape.nonnull)
            else:
                pending: dict[int, tuple[_Object, list[_Item]]] = {}
                for item, value in zip(items, values, strict=True):
                    self._complete(run, f, shape, value, item.out, key, item, item, (), pending)
                below.extend(pending.values())
        for obj_shape, children in below:
            tree = obj_shape.tree
            if tree is not None:
                done, children = await tree.splice(run.context, children)
                for item, fragment, cost in done:  # the object's JSON as PostgreSQL built it, as it is
                    item.container[item.key] = fragment
                    run.cost += cost
            if children:
                await self._fields(run, obj_shape.fields, children)

    def _batch_arguments(self, run: _Run, f: _Field) -> dict[str, Any]:
        """The field's arguments as its resolver would get them (strawberry's conversion: enums, inputs)."""
        args = f.args if f.args_fixed else get_argument_values(f.definition, f.nodes[0], run.variables)
        schema = self.strawberry
        return convert_arguments(args, f.strawberry_field.arguments,
                                 scalar_registry=schema.schema_converter.scalar_registry, config=schema.config)

    @staticmethod
    def _row_values(f: _Field, items: list[_Item]) -> list[Any]:
        """A row object's field for every item: read from the object, or computed from its row (and kept),
        without going through ``__getattr__``."""
        attr, compute, cls = f.attr, f.func, f.parent_class
        values = []
        for item in items:
            obj = item.obj
            state = obj.__dict__
            value = state.get(attr, _UNSET)
            if value is _UNSET:
                try:
                    if type(obj) is cls and "_row" in state:
                        value = state[attr] = compute(state["_row"], state["_extras"])  # type: ignore[misc]
                    else:
                        value = getattr(obj, attr)
                except Exception as exc:
                    value = _Failed(exc)
            values.append(value)
        return values

    @staticmethod
    def _guarded(func: Callable[..., Any], *args: Any) -> Any:
        try:
            return func(*args)
        except Exception as exc:
            return _Failed(exc)

    def _complete(self, run: _Run, f: _Field, shape: Any, value: Any, container: Any, key: Any,
                  up: _Slot, owner: _Item, index: tuple[int, ...],
                  pending: dict[int, tuple[_Object, list[_Item]]]) -> None:
        """Put ``value`` at ``container[key]`` as ``shape`` wants it; objects are queued for the next level.

        ``up`` is the position a failure here nulls (when this one cannot be null), ``owner`` the object
        whose field ``f`` this is, ``index`` the list indexes from that field down to here."""
        if value is None or value is Undefined:
            container[key] = None
            if shape.nonnull:
                self._fail_at(run, _null_error(f), f, owner, index, up, True)
            return
        if type(value) is _Failed:
            container[key] = None
            self._fail_at(run, value.error, f, owner, index, up, shape.nonnull)
            return
        kind = type(shape)
        if kind is _Object or kind is _Abstract:
            if kind is _Abstract:
                runtime = self._runtime_type(run, shape, value, f, owner, index)
                if runtime is None:
                    container[key] = None
                    self._fail_at(run, _type_error(shape.type, value), f, owner, index, up, shape.nonnull)
                    return
                shape = shape.of(runtime)
            out: dict[str, Any] = {}
            container[key] = out
            run.cost += shape.weight
            entry = pending.get(id(shape))
            if entry is None:
                entry = pending[id(shape)] = (shape, [])
            entry[1].append(_Item(value, out, container, key, not shape.nonnull, up, owner, f, index))
        elif kind is _List:
            if isinstance(value, str | bytes | dict) or not isinstance(value, Iterable):
                container[key] = None
                error = TypeError(f"Expected Iterable, but did not find one for field {f.parent.name}.{f.name}.")
                self._fail_at(run, error, f, owner, index, up, shape.nonnull)
                return
            out_list: list[Any] = []
            container[key] = out_list
            slot = _Slot(container, key, not shape.nonnull, up, owner, f, index)
            inner = shape.of
            if type(inner) is _Leaf:
                coerce = inner.coerce
                for i, element in enumerate(value):
                    if element is None:
                        out_list.append(None)
                        if inner.nonnull:
                            self._fail_at(run, _null_error(f), f, owner, (*index, i), slot, True)
                        continue
                    try:
                        out_list.append(coerce(element))
                    except Exception as exc:
                        out_list.append(None)
                        self._fail_at(run, exc, f, owner, (*index, i), slot, inner.nonnull)
            else:
                for i, element in enumerate(value):
                    out_list.append(None)
                    self._complete(run, f, inner, element, out_list, i, slot, owner, (*index, i), pending)
        else:
            try:
                container[key] = shape.coerce(value)
            except Exception as exc:
                container[key] = None
                self._fail_at(run, exc, f, owner, index, up, shape.nonnull)

    def _runtime_type(self, run: _Run, shape: _Abstract, value: Any, f: _Field, owner: _Item,
                      index: tuple[int, ...]) -> GraphQLObjectType | None:
        runtime = self.classes.get(type(value))
        if runtime is not None and self.schema.is_sub_type(shape.type, runtime):
            return runtime
        resolve_type = shape.type.resolve_type
        if resolve_type is not None:
            name = resolve_type(value, self._info(run, f, _path(owner, f, index)), shape.type)
            if is_awaitable(name):  # not supported by the compiled path: strawberry's are synchronous
                return None
            runtime = self.schema.get_type(name) if isinstance(name, str) else name
            if isinstance(runtime, GraphQLObjectType) and self.schema.is_sub_type(shape.type, runtime):
                return runtime
        return None

    # --- resolvers -------------------------------------------------------------------------------------------

    def _info(self, run: _Run, f: _Field, path: Path | None) -> GraphQLResolveInfo:
        plan = run.plan
        return GraphQLResolveInfo(
            f.name, f.nodes, f.definition.type, f.parent, path, plan.schema,
            {name: d.definition for name, d in plan.fragments.items()}, None, plan.operation, run.variables,
            run.context, is_awaitable, None, run.helpers)

    async def _resolve(self, run: _Run, f: _Field, items: list[_Item]) -> list[Any]:
        """The field's value for every item; resolvers run together, their awaits driven as one."""
        first_path = _path(items[0], f) if items else None
        info = self._info(run, f, first_path)
        values: list[Any] = [None] * len(items)
        waiting: list[tuple[int, Any]] = []
        if f.kind in (_METHOD, _ASYNC_METHOD):
            strawberry_info = Info(_raw_info=info, _field=f.strawberry_field)
            kwargs = {f.info_name: strawberry_info} if f.info_name else {}
            func = f.func
            for index, item in enumerate(items):
                try:
                    value = func(item.obj, **kwargs) if f.self_first else func(**kwargs)  # type: ignore[misc]
                except Exception as exc:
                    value = _Failed(exc)
                if type(value) is CoroutineType or (type(value) is not _Failed and is_awaitable(value)):
                    waiting.append((index, value))
                else:
                    values[index] = value
        else:
            try:
                args = f.args if f.args_fixed else get_argument_values(f.definition, f.nodes[0], run.variables)
            except Exception as exc:
                return [_Failed(exc)] * len(items)
            resolve = f.definition.resolve
            for index, item in enumerate(items):
                try:
                    value = (resolve or default_field_resolver)(item.obj, info, **args)
                except Exception as exc:
                    value = _Failed(exc)
                if type(value) is CoroutineType or (type(value) is not _Failed and is_awaitable(value)):
                    waiting.append((index, value))
                else:
                    values[index] = value
        if waiting:
            for (index, _), result in zip(waiting, await _drive([a for _, a in waiting]), strict=True):
                values[index] = result
        return values

    # --- errors ------------------------------------------------------------------------------------------------

    def _error(self, run: _Run, exc: Exception, f: _Field, item: _Item, position: int, nonnull: bool) -> None:
        """An error of the leaf field ``f`` (at ``position`` in its selection) of ``item``."""
        self._fail(run, exc, f, _path(item, f), (*item.order, position), item, nonnull)

    def _fail_at(self, run: _Run, exc: Exception, f: _Field, owner: _Item, index: tuple[int, ...],
                 up: _Slot | None, nonnull: bool) -> None:
        self._fail(run, exc, f, _path(owner, f, index), _order(owner, f, index), up, nonnull)

    def _fail(self, run: _Run, exc: Exception, f: _Field, path: Path | None, order: tuple[int, ...],
              owner: _Slot | None, nonnull: bool) -> None:
        error = located_error(exc, f.nodes, path.as_list() if path is not None else None)
        run.errors.append((order, error, self._nullify(run, owner) if nonnull else None))

    @staticmethod
    def _nullify(run: _Run, slot: _Slot | None) -> tuple[int, ...]:
        """A non-null position failed: null the nearest nullable position above it; where that is."""
        while slot is not None:
            if slot.nullable:
                slot.container[slot.key] = None
                return slot.order
            slot = slot.up
        run.root_null = True
        return ()


def _reported(errors: list[tuple[tuple[int, ...], GraphQLError, tuple[int, ...] | None]]) -> list[GraphQLError] | None:
    """The errors in document order, without those inside a position an earlier error nulled."""
    if not errors:
        return None
    reported: list[GraphQLError] = []
    nulled: list[tuple[int, ...]] = []
    for order, error, cleared in sorted(errors, key=lambda e: e[0]):
        if any(order[: len(prefix)] == prefix for prefix in nulled):
            continue
        reported.append(error)
        if cleared is not None:
            nulled.append(cleared)
    return reported


def _null_error(f: _Field) -> TypeError:
    return TypeError(f"Cannot return null for non-nullable field {f.parent.name}.{f.name}.")


def _row_selection(shape: Any) -> Any:
    """What a field selects on the row objects (backend.api.rows) it returns, through lists, connections
    and edges: ``(class, python names of the selected fields)``, or None."""
    while type(shape) is _List:
        shape = shape.of
    if type(shape) is not _Object:
        return None
    origin = getattr(shape.type.extensions.get("strawberry-definition"), "origin", None)
    if isinstance(origin, type) and issubclass(origin, RowObject):
        return origin, frozenset(f.strawberry_field.python_name for f in shape.fields
                                 if f.strawberry_field is not None)
    if shape.type.name.endswith(("Connection", "Edge")):  # edges { node } and nodes
        found = [_row_selection(f.shape) for f in shape.fields if f.name in ("edges", "node", "nodes")]
        found = [s for s in found if s is not None]
        if found and all(s[0] is found[0][0] for s in found):
            return found[0][0], frozenset().union(*(s[1] for s in found))
    return None


def _nodes_tree(shape: Any) -> Any:
    """The tree answering a connection's nodes (``backend.api.sqltree``), when they are selected at one position
    (``edges { node }`` or ``nodes``, once) and can be answered so; else None."""
    if type(shape) is not _Object or not shape.type.name.endswith("Connection"):
        return None
    positions = []
    for f in shape.fields:
        if f.name == "edges" and type(f.shape) is _List and type(f.shape.of) is _Object:
            positions += [g.shape for g in f.shape.of.fields if g.name == "node"]
        elif f.name == "nodes" and type(f.shape) is _List:
            positions.append(f.shape.of)
    if len(positions) != 1 or type(positions[0]) is not _Object:
        return None
    return positions[0].tree


def _select(context: Any, selection: Any, nodes_tree: Any) -> None:
    try:
        context.selection = selection
        context.nodes_tree = nodes_tree
    except AttributeError:  # a context without the attributes (a dict, in tests of the executor alone)
        pass


def _type_error(type_: Any, value: Any) -> TypeError:
    return TypeError(f"Abstract type '{type_.name}' must resolve to an Object type at runtime;"
                     f" no type for {type(value).__name__}.")


async def _drive(awaitables: list[Any]) -> list[Any]:
    """Run coroutines together, as ``gather`` would, without a task each.

    Each coroutine is stepped until it waits on a future; the futures are awaited together (the
    DataLoaders' batches are dispatched meanwhile) and each coroutine resumes when its future is
    done. A value or a ``_Failed`` comes back per awaitable, in order.
    """
    coroutines = [a if type(a) is CoroutineType else _await(a) for a in awaitables]
    results: list[Any] = [None] * len(coroutines)
    ready = list(range(len(coroutines)))
    blocked: dict[Any, list[int]] = {}
    try:
        while ready or blocked:
            yielded_bare: list[int] = []
            for index in ready:
                try:
                    future = coroutines[index].send(None)
                except StopIteration as stop:
                    results[index] = stop.value
                    continue
                except Exception as exc:
                    results[index] = _Failed(exc)
                    continue
                if future is None:  # a bare yield (asyncio.sleep(0)): run again after a loop turn
                    yielded_bare.append(index)
                else:
                    future._asyncio_future_blocking = False
                    blocked.setdefault(future, []).append(index)
            ready = yielded_bare
            if ready:
                await asyncio.sleep(0)
            elif blocked:
                done, _ = await asyncio.wait(list(blocked), return_when=asyncio.FIRST_COMPLETED)
                for future in done:
                    ready.extend(blocked.pop(future))
    finally:
        for coroutine in coroutines:
            if coroutine.cr_frame is not None:  # interrupted (cancelled): do not leave it suspended
                coroutine.close()
    return results


async def _await(awaitable: Any) -> Any:
    return await awaitable


_DIRECTIVE_VARIABLES: LRU = LRU(512)


def _directive_variables_cached(document: DocumentNode) -> tuple[str, ...]:
    found = _DIRECTIVE_VARIABLES.get(id(document))
    if found is None or found[0] is not document:
        found = (document, _directive_variables(document))
        _DIRECTIVE_VARIABLES.put(id(document), found)
    return found[1]


def _make_coercer(type_: Any) -> Callable[[Any], Any]:
    """The scalar's or enum's own output coercion, with a fast path for values already in shape."""
    general = type_.coerce_output_value
    if type_ is GraphQLString or type_ is GraphQLID:
        def coerce_str(value: Any) -> Any:
            return value if value.__class__ is str else _not_undefined(type_, general(value), value)
        return coerce_str
    if type_ is GraphQLInt:
        def coerce_int(value: Any) -> Any:
            if value.__class__ is int and -2147483648 <= value <= 2147483647:
                return value
            return _not_undefined(type_, general(value), value)
        return coerce_int
    if type_ is GraphQLBoolean:
        def coerce_bool(value: Any) -> Any:
            return value if value.__class__ is bool else _not_undefined(type_, general(value), value)
        return coerce_bool
    if type_ is GraphQLFloat:
        def coerce_float(value: Any) -> Any:
            return _not_undefined(type_, general(value), value)
        return coerce_float
    if isinstance(type_, GraphQLEnumType):
        names: dict[Any, Any] = {}

        def coerce_enum(value: Any) -> Any:
            try:
                return names[value]
            except (KeyError, TypeError):
                name = _not_undefined(type_, general(value), value)
                try:
                    names[value] = name
                except TypeError:
                    pass
                return name
        return coerce_enum

    def coerce_scalar(value: Any) -> Any:
        return _not_undefined(type_, general(value), value)
    return coerce_scalar


def _not_undefined(type_: Any, coerced: Any, value: Any) -> Any:
    if coerced is Undefined or coerced is None:
        raise TypeError(f"Expected `{type_.name}.coerce_output_value({value!r})` to return non-nullable value,"
                        f" returned: {coerced!r}")
    return coerced
