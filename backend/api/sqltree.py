"""Subtrees of a query answered as JSON built by PostgreSQL, spliced into the response.

The compiled executor (``backend.api.executor``) builds a response object by object in Python: for
a page of 50 orders with their lines that is a few hundred objects and a thousand fields, about 4 µs
each (docs/performance.md). Where every field a query selects below an object can be said in SQL,
one statement can build that object's whole JSON instead, nested lists and objects included, and
the executor splices the text into the response untouched (``orjson.Fragment``). This is how
PostGraphile answers its queries.

A row type (``backend.api.rows.RowObject``) says how its fields read in SQL next to its computes::

    OrderType.sql(
        id=global_id("Order"), number=text("number"), status=enum("status", OrderStatus),
        total=money("total", "currency"),
        customer=one(CustomerType, by_id(CustomerType), "customer_id"),
        lines=many(OrderLineType, _lines_stmt, "id"),
    )

``one`` and ``many`` reuse the statements the fields' loaders run (``stmt_for(tenant, keys)``), with
the parent's key in place of the batch's keys, so a relation reads the same rows in the same order
as its loader does. A selection is answered in SQL only when all of it can be: every field has a
form, none has a field extension or permission (module gates stay with their resolvers), arguments
match what a relation was declared for, and a non-null field can never be null in SQL. Anything else
(an unknown field, a timestamp, a resolver that checks something) leaves the whole subtree to the
Python path, so a form is an optimisation, never a second meaning: ``tests/api/test_sqltree.py``
compares every declared form with its Python compute, over values chosen to reach their corners.

The statement runs in the request's transaction on its session (``backend.core.fetch``), so
row-level security, the tenant and the CRM's record visibility apply to every table it reads. It
also returns each object's cost (the objects below it, as ``backend.api.limits`` counts them), so
the actual cost of a query is the same on both paths.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from enum import Enum
from typing import Any

import orjson
from sqlalchemy import ARRAY, Boolean, Integer, String, Text, and_, case, cast, func, literal_column, null, select, true
from sqlalchemy.dialects.postgresql import aggregate_order_by, array
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, ColumnClause
from sqlalchemy.sql.util import ClauseAdapter, find_tables

from backend.api.executor import _TYPENAME, _Leaf, _List, _Object
from backend.api.loaders import by_id_statement
from backend.api.rows import RowObject
from backend.core.db import BATCH_KEYS, BATCH_TENANT
from backend.core.fetch import Prepared, Record, fetch
from backend.core.lru import LRU
from backend.core.money import MINOR_UNITS

__all__ = ["by_id", "compile_tree", "enum", "expression", "global_id", "many", "money", "one", "quantity", "text"]

Columns = dict[str, Any]  # a level's columns by name (aliased)
StmtFor = Callable[[Any, Any], Any]  # (tenant, keys) -> Select, as the loaders' statements
_MAX_KEYS = 50  # json_build_object takes at most 100 arguments
_SERIALS = itertools.count(1)


# --- leaf forms -------------------------------------------------------------------------------------------


class _Form:
    """How one field of a row type reads in SQL: ``value(columns, field)`` answers ``(json value, cost,
    can it be null)`` or None when this selection cannot be said in SQL (the Python path answers it)."""

    def value(self, tree: _Compiler, cols: Columns, f: Any) -> tuple[Any, Any, bool] | None:
        raise NotImplementedError


class _Scalar(_Form):
    def __init__(self, build: Callable[[Columns], Any], needs: tuple[str, ...], nullable: bool | None) -> None:
        self.build = build
        self.needs = needs
        self.nullable = nullable  # None: as nullable as the columns it reads

    def value(self, tree: _Compiler, cols: Columns, f: Any) -> tuple[Any, Any, bool] | None:
        shape = f.shape
        if type(shape) is _List and type(shape.of) is _Leaf and shape.of.nonnull:  # built as a JSON array
            shape = shape.of
        if type(shape) is not _Leaf or any(n not in cols for n in self.needs):
            return None
        nullable = self.nullable if self.nullable is not None else any(
            getattr(cols[n], "nullable", True) for n in self.needs)
        return self.build(cols), None, nullable


def text(column: str) -> _Form:
    """A string, integer or boolean column as it is."""

    def build(cols: Columns) -> Any:
        col = cols[column]
        if not isinstance(col.type, String | Integer | Boolean):
            raise TypeError(f"text({column!r}) is for strings, integers and booleans, not {col.type}")
        return col

    return _Scalar(build, (column,), None)


def quantity(column: str | Callable[[Columns], Any], *needs: str) -> _Form:
    """A Decimal shown without trailing zeros (``backend.modules.inventory.units.show``): a column, or an
    expression of the level's columns (``needs`` names them)."""
    if isinstance(column, str):
        name = column
        return _Scalar(lambda cols: func.trim_scale(cols[name]).cast(Text), (name,), None)
    return _Scalar(lambda cols: func.trim_scale(column(cols)).cast(Text), needs, None)


def enum(column: str, enum_type: type[Enum]) -> _Form:
    """A strawberry enum stored as its value: the GraphQL name of each value (an unknown value is left to
    Python, which fails on it as it always did: the CASE has no ELSE)."""
    whens = {member.value: member.name for member in enum_type}

    def build(cols: Columns) -> Any:
        return case({_lit(value): _lit(name) for value, name in whens.items()}, value=cols[column])

    return _Scalar(build, (column,), None)


def global_id(type_name: str) -> _Form:
    """The node's global ID: base64url("<type>:<uuid hex>") without padding (``backend.core.ids``)."""
    prefix = _lit(f"{type_name}:")

    def build(cols: Columns) -> Any:
        raw = func.convert_to(prefix.op("||")(func.replace(cols["id"].cast(Text), _lit("-"), _lit(""))), _lit("UTF8"))
        return func.rtrim(func.translate(func.encode(raw, _lit("base64")), _lit("+/\n"), _lit("-_")), _lit("="))

    return _Scalar(build, ("id",), False)


def expression(build: Callable[[Columns], Any], *needs: str, nullable: bool) -> _Form:
    """Any SQL expression of the level's columns whose JSON is the field's value (``archived``: a
    timestamp is not null)."""
    return _Scalar(build, needs, nullable)


class _Money(_Form):
    def __init__(self, amount: str, currency: str) -> None:
        self.amount = amount
        self.currency = currency

    def value(self, tree: _Compiler, cols: Columns, f: Any) -> tuple[Any, Any, bool] | None:
        shape = f.shape
        if type(shape) is not _Object or self.amount not in cols or self.currency not in cols:
            return None
        amount, currency = cols[self.amount], cols[self.currency]
        pairs: list[Any] = []
        for sub in shape.fields:
            if sub.kind == _TYPENAME:
                value = _string(shape.type.name)
            elif sub.name == "amount":
                value = money_text(amount, tree.places(currency))
            elif sub.name == "currencyCode":
                value = currency
            else:
                return None
            pairs += [literal_column(_quoted(sub.key)), value]
        built = func.json_build_object(*pairs)
        if getattr(amount, "nullable", True):
            return (case((amount.is_(None), null()), else_=built),
                    case((amount.is_(None), _n(0)), else_=_n(shape.weight)), True)
        return built, _n(shape.weight), False


def money(amount: str, currency: str) -> _Form:
    """A ``Money`` object of an amount column in a currency column (``MoneyType.of``)."""
    return _Money(amount, currency)


def money_text(amount: Any, places: Any) -> Any:
    """``round_money`` as text, with ``places`` the currency's minor unit: half to even, and a negative
    amount that rounds to zero shown as ``-0.00`` (as Python's Decimal shows it)."""
    unit = func.power(literal_column("10::numeric"), -places)
    away = func.round(amount, places)  # PostgreSQL rounds half away from zero
    tie = func.abs(amount - func.trunc(amount, places)) * _n(2) == unit
    even = case((and_(tie, func.mod(away / unit, _n(2)) != _n(0)), away - func.sign(amount) * unit), else_=away)
    negative_zero = and_(amount < _n(0), amount * _n(2) >= -unit)  # rounds to 0, keeps its sign
    return case((amount == away, away.cast(Text)),  # already in the minor unit (the usual case): no rounding
                (negative_zero, _lit("-").op("||")(func.round(literal_column("0::numeric"), places).cast(Text))),
                else_=func.round(even, places).cast(Text))


def minor_units(currency: Any) -> Any:
    """The currency's minor unit (``backend.core.money.minor_units``) as a SQL expression."""
    return case({_lit(code): _n(n) for code, n in MINOR_UNITS.items() if n != 2}, value=currency, else_=_n(2))


# --- relations ------------------------------------------------------------------------------------------------


class _Relation(_Form):
    def __init__(self, child: type[RowObject], stmt_for: StmtFor, key: str, many: bool,
                 when: Callable[[dict[str, Any]], bool] | None, inherit: dict[str, str] | None) -> None:
        self.child = child
        self.stmt_for = stmt_for
        self.key = key
        self.many = many
        self.when = when
        self.inherit = inherit or {}

    def value(self, tree: _Compiler, cols: Columns, f: Any) -> tuple[Any, Any, bool] | None:
        if f.definition.args and (not f.args_fixed or self.when is None or not self.when(f.args)):
            return None
        if self.key not in cols or any(name not in cols for name in self.inherit.values()):
            return None
        shape = f.shape
        if self.many:
            if type(shape) is not _List or type(shape.of) is not _Object or not shape.of.nonnull:
                return None
            shape = shape.of
        elif type(shape) is not _Object or shape.nonnull:  # a row RLS hides would be an error in Python
            return None
        if _origin(shape) is not self.child:
            return None
        tree.relations += 1
        page, tree.page = tree.page, None  # the relations below this one are read per row
        try:
            if self.many and page is not None and not self.inherit:
                batch = tree.aliased(self.stmt_for(BATCH_TENANT, BATCH_KEYS))
                column = _batch_column(batch)
                if column is not None:
                    return self._per_page(tree, page, batch, column, cols, shape)
            stmt = tree.relation(self.stmt_for, cols[self.key])
            level = tree.level(stmt, self.child, shape, {own: cols[parent] for own, parent in self.inherit.items()})
        finally:
            tree.page = page
        if level is None:
            return None
        stmt, built, cost = level
        if self.many:  # aggregated in the loader's order, on the statement itself
            agg = _aggregated(stmt, built, cost, shape).lateral(tree.name())
            tree.laterals.append((agg, true()))
            return func.coalesce(agg.c.j, literal_column("'[]'::json")), func.coalesce(agg.c.c, _n(0)), False
        one = stmt.with_only_columns(built.label("j"), (cost + _n(shape.weight)).label("c"),
                                     maintain_column_froms=True)
        lateral = (one.offset(literal_column("0")) if tree.fenced else one).lateral(tree.name())
        tree.laterals.append((lateral, true()))
        return lateral.c.j, func.coalesce(lateral.c.c, _n(0)), True

    def _per_page(self, tree: _Compiler, page: Any, stmt: Any, column: Any, cols: Columns,
                  shape: Any) -> tuple[Any, Any, bool] | None:
        """The children of a whole page in one pass, grouped by their parent's key: the loader's statement for
        the page's keys (``= ANY`` of them: one index scan), aggregated per key in a ``MATERIALIZED`` CTE and
        joined to the page by the key. A lateral per row costs PostgreSQL an aggregate and an index scan for
        each of the page's rows (measured: R2's statement 0.53 -> 0.44 ms). Lists that take columns from their
        parent stay per row: an order's lines grouped so, with the page joined in for their currency, made R1's
        statement slower (1.2 -> 1.6 ms: its generic plan expects 6,721 orders on the page, and an ``= ANY``
        index scan over 51 orders' lines cost as much as 51 lookups)."""
        # An array expression (cast, so ``= ANY`` reads it as an array, not as a subquery's rows)
        keys = cast(select(func.array_agg(page.c[self.key])).scalar_subquery(), ARRAY(page.c[self.key].type))
        level = tree.level(_with_keys(stmt, keys), self.child, shape, {})
        if level is None:
            return None
        stmt, built, cost = level
        grouped = (_aggregated(stmt, built, cost, shape, column.label("k")).group_by(column)
                   .cte(tree.name()).prefix_with("MATERIALIZED"))
        tree.laterals.append((grouped, grouped.c.k == cols[self.key]))
        return func.coalesce(grouped.c.j, literal_column("'[]'::json")), func.coalesce(grouped.c.c, _n(0)), False


def _aggregated(stmt: Any, built: Any, cost: Any, shape: Any, *keys: Any) -> Any:
    """``stmt``'s rows as one JSON array, in the loader's order (``j``), with their cost (``c``)."""
    ordered = list(stmt._order_by_clauses)
    rows = func.json_agg(aggregate_order_by(built, *ordered) if ordered else built)
    return stmt.with_only_columns(*keys, rows.label("j"), func.sum(cost + _n(shape.weight)).label("c"),
                                  maintain_column_froms=True).order_by(None)


def one(child: type[RowObject], stmt_for: StmtFor, key: str) -> _Form:
    """A nullable object field: ``stmt_for(tenant, keys)`` with the parent's column ``key`` as the one key
    (the statement of the field's by-id loader, e.g. ``by_id(CustomerType)``)."""
    return _Relation(child, stmt_for, key, False, None, None)


def many(child: type[RowObject], stmt_for: StmtFor, key: str, *,
         when: Callable[[dict[str, Any]], bool] | None = None, inherit: dict[str, str] | None = None) -> _Form:
    """A list field: the rows of its loader's ``stmt_for(tenant, keys)`` for the parent's column ``key``, in
    the statement's order. With ``when``, only for field arguments it accepts (the field's others stay in
    Python). ``inherit`` gives the children columns of the parent (``{"currency": "currency"}``: an order's
    lines are in its currency), so the statement need not join the parent's table again for them."""
    return _Relation(child, stmt_for, key, True, when, inherit)


def by_id(row_type: type[RowObject]) -> StmtFor:
    """The statement of a by-id loader of ``row_type``'s table (``backend.api.loaders.rows_by_id``)."""
    assert row_type._table is not None, f"{row_type.__name__}.computes was given no table"
    return by_id_statement(row_type._table)


# --- compiling a selection ---------------------------------------------------------------------------------


def _origin(shape: Any) -> Any:
    return getattr(shape.type.extensions.get("strawberry-definition"), "origin", None)


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _lit(value: str) -> Any:
    """A string constant written into the statement (a template binds only tenant and keys)."""
    return literal_column(_quoted(value))


def _n(value: int) -> Any:
    return literal_column(str(int(value)))


def _string(value: str) -> Any:
    return cast(_lit(value), Text)


def _for_key(stmt: Any, key: Any) -> Any:
    """A batch statement (``id = ANY(:batch_keys)``) for one key, an outer row's column: ``= ANY(ARRAY[key])``."""
    return _with_keys(stmt, array([key]))


def _with_keys(stmt: Any, keys: Any) -> Any:
    """A batch statement with ``keys`` (an array expression) in place of its batch's keys."""

    def replaced(element: Any) -> Any:
        if _is_batch_keys(element):
            return keys
        return None

    return visitors.replacement_traverse(stmt, {}, replaced)


def _is_batch_keys(element: Any) -> bool:
    return isinstance(element, BindParameter) and element.key == "batch_keys"


def _batch_column(stmt: Any) -> Any:
    """The column a batch statement compares with its batch's keys (``column = ANY(:batch_keys)``), or None."""
    for element in visitors.iterate(stmt.whereclause) if stmt.whereclause is not None else ():
        if isinstance(element, BinaryExpression) and isinstance(element.left, ColumnClause) and any(
                _is_batch_keys(e) for e in visitors.iterate(element.right)):
            return element.left
    return None


class _Compiler:
    def __init__(self, fenced: bool = False, page: Any = None) -> None:
        # fenced: a one-to-one relation's lateral is kept a subquery per row (``OFFSET 0``), never pulled up
        # into a join the planner may turn around (``Tree.with_page``).
        self.fenced = fenced
        # page: the page's rows (a CTE) while its own level compiles: its lists are read once for the whole
        # page (``_Relation._per_page``) rather than per row.
        self.page = page
        self.count = 0
        self.relations = 0
        self.laterals: list[tuple[Any, Any]] = []  # (what the level joins, on what)
        self.minor_units: dict[Any, Any] = {}

    def places(self, currency: Any) -> Any:
        """The minor unit of a currency column of the level, worked out once per row."""
        found = self.minor_units.get(currency)
        if found is None:
            lateral = select(minor_units(currency).label("p")).correlate_except(None).lateral(self.name())
            self.laterals.append((lateral, true()))
            found = self.minor_units[currency] = lateral.c.p
        return found

    def name(self) -> str:
        self.count += 1
        return f"j{self.count}"

    def aliased(self, stmt: Any) -> Any:
        """``stmt`` with every table it reads under a name of its own, so nested levels never capture
        each other's tables (an order's lines join the order table too)."""
        own = []
        for table in find_tables(stmt):
            alias = table.alias(self.name())
            stmt = ClauseAdapter(alias).traverse(stmt)
            own.append(alias)
        # Any other table is the parent's, however deep the statement ends up nested.
        return stmt.correlate_except(*own)

    def relation(self, stmt_for: StmtFor, parent_key: Any) -> Any:
        return _for_key(self.aliased(stmt_for(BATCH_TENANT, BATCH_KEYS)), parent_key)

    def level(self, stmt: Any, row_type: type[RowObject], shape: Any,
              inherited: Columns | None = None) -> tuple[Any, Any, Any] | None:
        """``stmt`` joined to the laterals of its relations, the JSON of its row and the cost below it."""
        forms: dict[str, _Form] = getattr(row_type, "_sql", {})
        fields = shape.fields
        if not forms or len(fields) > _MAX_KEYS:
            return None
        cols = {c.key: c for c in stmt.selected_columns}
        cols.update(inherited or {})
        outer, self.laterals = (self.laterals, self.minor_units), []
        self.minor_units = {}
        pairs: list[Any] = []
        costs: list[Any] = []
        for f in fields:
            if f.kind == _TYPENAME:
                pairs += [literal_column(_quoted(f.key)), _string(shape.type.name)]
                continue
            sf = f.strawberry_field
            form = forms.get(sf.python_name) if sf is not None else None
            if form is None or sf.extensions or getattr(sf, "permission_classes", None):
                return None
            found = form.value(self, cols, f)
            if found is None:
                return None
            value, cost, nullable = found
            if nullable and f.shape.nonnull:
                return None
            pairs += [literal_column(_quoted(f.key)), value]
            if cost is not None:
                costs.append(cost)
        laterals = self.laterals
        self.laterals, self.minor_units = outer
        for joined, on in laterals:
            stmt = stmt.outerjoin(joined, on)
        cost = sum(costs[1:], costs[0]) if costs else _n(0)
        return stmt, func.json_build_object(*pairs), cost


class Tree:
    """One object position of a plan, answered as JSON: its statement, by the objects' ids."""

    __slots__ = ("_pages", "prepared", "row_type", "serial", "shape")

    def __init__(self, prepared: Prepared, row_type: type[RowObject], shape: Any) -> None:
        self.prepared = prepared
        self.row_type = row_type
        self.shape = shape
        self.serial = next(_SERIALS)  # marks the rows of its pages (``with_page``)
        self._pages = LRU(16)

    def with_page(self, page: Prepared) -> Prepared:
        """``page`` (a page of these objects' rows, ``backend.api.relay.keyset_page``) with each row's JSON
        built in the same statement: one round trip instead of two. The page is a ``MATERIALIZED`` CTE,
        planned on its own exactly as when it runs alone (a join would let the planner, misled by the
        row-level policies' estimates, sort the whole table). Each row's JSON is built on the page's own
        rows when they hold every column it reads (its one-to-one relations kept a lookup per row), else by
        the statement ``splice`` runs, for that row's id. Rows come back with ``_j``, ``_c`` and ``_tree``
        after the page's columns; ``splice`` takes them as they are. ``page`` itself when the combined
        statement would not run directly.
        """
        found = self._pages.get(page)
        if found is None:
            rows = page.stmt.cte("page").prefix_with("MATERIALIZED")
            marked = literal_column(str(self.serial), Integer).label("_tree")
            level = _Compiler(fenced=True, page=rows).level(select(*rows.c), self.row_type, self.shape)
            if level is not None:
                stmt, built, cost = level
                combined = stmt.with_only_columns(*rows.c, cast(built, Text).label("_j"),
                                                  cast(cost, Integer).label("_c"), marked, maintain_column_froms=True)
            else:
                by_id = _for_key(self.prepared.stmt, rows.c.id).lateral()
                combined = select(*rows.c, by_id.c.j.label("_j"), by_id.c.c.label("_c"), marked).select_from(
                    rows.outerjoin(by_id, true()))
            prepared = Prepared(combined.order_by(*(ClauseAdapter(rows).traverse(clause)
                                                    for clause in page.stmt._order_by_clauses)))
            found = prepared if prepared.direct else page
            self._pages.put(page, found)
        return found

    async def splice(self, context: Any, items: list[Any]) -> tuple[list[tuple[Any, Any, int]], list[Any]]:
        """``([(item, fragment, cost)], items left to Python)``: the objects with a row, answered in one
        statement; any other (built without a row, or gone since its parent was read) stays in Python."""
        keyed: dict[Any, list[Any]] = {}
        rest: list[Any] = []
        done: list[tuple[Any, Any, int]] = []
        serial = self.serial
        for item in items:
            state = getattr(item.obj, "__dict__", None)
            row = state.get("_row") if state is not None and isinstance(item.obj, RowObject) else None
            if row is None:
                rest.append(item)
            else:
                if type(row) is Record:  # a raw row, by name in C; any other by attribute
                    if row.get("_tree") == serial and row["_j"] is not None:  # built with its page (with_page)
                        done.append((item, orjson.Fragment(row["_j"]), row["_c"]))
                        continue
                    key = row["id"]
                else:
                    key = row.id
                found = keyed.get(key)
                if found is None:
                    keyed[key] = [item]
                else:
                    found.append(item)
        if keyed:
            rows = await fetch(context.require_tenant_session(), self.prepared,
                               {"batch_tenant": context.principal.tenant_id, "batch_keys": list(keyed)})
            pop = keyed.pop
            for key, text, cost in rows:  # the statement's columns: id, j, c
                fragment = orjson.Fragment(text)
                for item in pop(key, ()):
                    done.append((item, fragment, cost))
            for left in keyed.values():
                rest.extend(left)
        return done, rest


def compile_tree(shape: Any) -> Tree | None:
    """The statement answering ``shape`` (an object position) in SQL, or None when part of it cannot be."""
    row_type = _origin(shape)
    if not (isinstance(row_type, type) and issubclass(row_type, RowObject)) or not getattr(row_type, "_sql", None):
        return None
    tree = _Compiler()
    stmt = tree.aliased(by_id(row_type)(BATCH_TENANT, BATCH_KEYS))
    level = tree.level(stmt, row_type, shape)
    if level is None:
        return None
    if tree.relations == 0:  # the objects are in hand: Python computes their leaves for less than a statement
        return None
    stmt, built, cost = level
    id_column = {c.key: c for c in stmt.selected_columns}["id"]
    return Tree(Prepared(stmt.with_only_columns(id_column.label("id"), cast(built, Text).label("j"),
                                                cast(cost, Integer).label("c"), maintain_column_froms=True)),
                row_type, shape)
