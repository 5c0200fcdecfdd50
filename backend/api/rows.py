"""GraphQL objects built straight from a database row, each field computed when first read.

A page of 50 orders with their lines is a few hundred objects. Building every field of each (money
rounded, quantities shown, global IDs encoded) costs more than the query that fetched them, and a
client usually selects a handful. A ``RowObject`` keeps the row and computes a field on first
access: the executor's plain attribute read, or Python code reading ``order.status``, gets the same
value an eager constructor would have set, and it is cached on the object.

    @strawberry.type(name="Order")
    class OrderType(RowObject, Node):
        number: str
        total: MoneyType
        customer_pk: strawberry.Private[uuid.UUID]

    OrderType.computes(
        number=lambda r, k: r.number,
        total=lambda r, k: MoneyType.of(r.total, r.currency),
        customer_pk=lambda r, k: r.customer_id,
    )

    OrderType.from_row(row)  ->  OrderType.lazy(row)

``computes`` must name every dataclass field (checked when the module loads), so a field added to the
type without a way to compute it fails at import, not in a response. Objects built the usual way
(``OrderType(number=..., ...)``) still work: they carry every field already.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Self

from sqlalchemy import Select, Table

from backend.core.lru import LRU

Compute = Callable[[Any, dict[str, Any]], Any]

# What the field being resolved selects on the row objects it returns: (their class, the Python names
# of the selected fields). Set by the compiled executor on the request context; None means "unknown,
# load every column".
Selection = tuple[type, frozenset[str]] | None

_COLUMNS = LRU(1024)


class RowObject:
    _computes: ClassVar[dict[str, Compute]] = {}
    _table: ClassVar[Table | None] = None
    _columns: ClassVar[dict[str, frozenset[str]]] = {}
    _always: ClassVar[frozenset[str]] = frozenset()
    _sql: ClassVar[dict[str, Any]] = {}

    @classmethod
    def sql(cls, **forms: Any) -> None:
        """How fields read in SQL (``backend.api.sqltree``): a selection of only such fields is answered as
        JSON built by PostgreSQL. Each name must be a field with a compute or a resolver."""
        known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = forms.keys() - known
        if unknown:
            raise TypeError(f"{cls.__name__}.sql: unknown fields {sorted(unknown)}")
        cls._sql = forms

    @classmethod
    def computes(cls, table: Table | None = None, **computes: Compute) -> None:
        """How each field is computed from ``(row, extras)``; every dataclass field must be named.

        With ``table``, the columns each compute reads are recorded (the attribute names it uses,
        and the strings it closes over, that are columns of the table), so a loader can select only
        the columns of the fields a query asks for (``prune``). Private fields (the keys resolvers
        use) are always loaded. A compute must therefore read its columns itself, as ``r.<column>``
        or through a closure over the column's name, not in a helper it calls.
        """
        private = {name for klass in cls.__mro__ for name, annotation in vars(klass).get("__annotations__", {}).items()
                   if "Private[" in str(annotation)}  # strawberry.Private[...]: the keys resolvers use
        fields = {f.name for f in dataclasses.fields(cls)  # type: ignore[arg-type]
                  if getattr(f, "base_resolver", None) is None}  # fields with resolvers compute themselves
        missing, unknown = fields - computes.keys(), computes.keys() - fields
        if missing or unknown:
            raise TypeError(f"{cls.__name__}.computes: missing {sorted(missing)}, unknown {sorted(unknown)}")
        cls._computes = computes
        if table is not None:
            names = set(table.c.keys())
            cls._table = table
            cls._columns = {field: frozenset(_names_read(fn) & names) for field, fn in computes.items()}
            cls._always = frozenset({"id"} & names).union(
                *(cols for field, cols in cls._columns.items() if field in private))

    @classmethod
    def needed_columns(cls, selection: Selection) -> set[str] | None:
        """The columns the selected fields need; None when every column must be loaded."""
        if selection is None or selection[0] is not cls or cls._table is None:
            return None
        needed = set(cls._always)
        for field in selection[1]:
            needed |= cls._columns.get(field, frozenset())  # fields with resolvers read private fields
        return needed

    @classmethod
    def columns(cls, selection: Selection, keep: tuple[str, ...] = ()) -> list[Any]:
        """The columns of the type's table to ``select(*...)`` for the selection (and ``keep``): all of them
        without a selection. Remembered per selection: a page's statement does not prune per request."""
        key = (cls, selection, keep)
        found = _COLUMNS.get(key)
        if found is None:
            table = cls._table
            assert table is not None, f"{cls.__name__}.computes was given no table"
            needed = cls.needed_columns(selection)
            found = [c for c in table.c if needed is None or c.key in needed or c.key in keep]
            _COLUMNS.put(key, found)
        return found

    @classmethod
    def lazy(cls, row: Any, **extras: Any) -> Self:
        """The object for ``row``; ``extras`` (e.g. the currency of an order's lines) go to every compute."""
        obj = object.__new__(cls)
        state = obj.__dict__
        state["_row"] = row
        state["_extras"] = extras
        return obj

    def __getattr__(self, name: str) -> Any:
        # Only called when ``name`` is not set on the object yet: compute it once from the row.
        state = self.__dict__
        compute = type(self)._computes.get(name)
        if compute is None or "_row" not in state:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        try:
            value = state[name] = compute(state["_row"], state["_extras"])
        except AttributeError as exc:  # a column the loader left out: a bug, said plainly
            raise RuntimeError(f"{type(self).__name__}.{name} needs a column that was not loaded ({exc}); "
                               f"resolvers of row objects must read private fields only") from exc
        return value


def _names_read(fn: Any) -> set[str]:
    """Attribute and global names a function's code uses, with its nested code and closed-over strings."""
    found: set[str] = set()

    def visit(code: types.CodeType) -> None:
        found.update(code.co_names)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                visit(const)

    visit(fn.__code__)
    for cell in fn.__closure__ or ():
        value = cell.cell_contents
        if isinstance(value, str):
            found.add(value)
    return found


def prune(stmt: Select[Any], row_type: type[RowObject], selection: Selection, keep: Iterable[str] = ()) -> Select[Any]:
    """``stmt`` without the columns of ``row_type``'s table that the selected fields do not need.

    Columns from other tables (a join's extra columns) and those named in ``keep`` (grouping and
    cursor keys) stay. Without a selection for ``row_type`` the statement is returned as it is.
    """
    needed = row_type.needed_columns(selection)
    if needed is None:
        return stmt
    needed.update(keep)
    table = row_type._table
    columns = [c for c in stmt.selected_columns if getattr(c, "table", None) is not table or c.key in needed]
    return stmt.with_only_columns(*columns, maintain_column_froms=True)
