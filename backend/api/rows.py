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
from collections.abc import Callable
from typing import Any, ClassVar, Self

Compute = Callable[[Any, dict[str, Any]], Any]


class RowObject:
    _computes: ClassVar[dict[str, Compute]] = {}

    @classmethod
    def computes(cls, **computes: Compute) -> None:
        """How each field is computed from ``(row, extras)``; every dataclass field must be named."""
        fields = {f.name for f in dataclasses.fields(cls)  # type: ignore[arg-type]
                  if getattr(f, "base_resolver", None) is None}  # fields with resolvers compute themselves
        missing, unknown = fields - computes.keys(), computes.keys() - fields
        if missing or unknown:
            raise TypeError(f"{cls.__name__}.computes: missing {sorted(missing)}, unknown {sorted(unknown)}")
        cls._computes = computes

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
        value = state[name] = compute(state["_row"], state["_extras"])
        return value
