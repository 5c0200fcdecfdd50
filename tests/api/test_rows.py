"""Row objects: fields computed from the row on first read, and the columns each field needs."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
import strawberry
from sqlalchemy import Column, Integer, MetaData, String, Table, Uuid, select

from backend.api.rows import RowObject, prune

_t = Table("thing", MetaData(), Column("id", Uuid, primary_key=True), Column("name", String),
           Column("price", Integer), Column("tax", Integer), Column("owner_id", Uuid), Column("notes", String))


@strawberry.type
class Thing(RowObject):
    name: str
    gross: int
    notes: str | None
    owner_pk: strawberry.Private[uuid.UUID]

    @strawberry.field
    def owner(self) -> str:
        return str(self.owner_pk)


def _col(name: str):  # type: ignore[no-untyped-def]
    return lambda r, k: getattr(r, name)


Thing.computes(_t, name=lambda r, k: r.name.title(), gross=lambda r, k: r.price + r.tax + k.get("extra", 0),
               notes=_col("notes"), owner_pk=lambda r, k: r.owner_id)


def test_fields_are_computed_once_on_first_read():
    row = SimpleNamespace(name="green tea", price=10, tax=2, owner_id=uuid.uuid4(), notes=None)
    thing = Thing.lazy(row, extra=1)
    assert thing.__dict__.keys() == {"_row", "_extras"}
    assert thing.name == "Green Tea" and thing.gross == 13 and "notes" not in thing.__dict__
    row.price = 100
    assert thing.gross == 13  # cached on the object
    with pytest.raises(AttributeError):
        thing.nonexistent  # noqa: B018


def test_every_field_needs_a_compute():
    with pytest.raises(TypeError, match="missing"):
        Thing.computes(_t, name=lambda r, k: r.name)


def test_columns_follow_the_selection_and_private_keys_are_always_loaded():
    assert Thing._always == {"id", "owner_id"}
    assert Thing.needed_columns((Thing, frozenset({"gross"}))) == {"id", "owner_id", "price", "tax"}
    assert Thing.needed_columns((Thing, frozenset({"notes", "owner"}))) == {"id", "owner_id", "notes"}
    assert Thing.needed_columns(None) is None and Thing.needed_columns((object, frozenset())) is None
    stmt = prune(select(_t), Thing, (Thing, frozenset({"name"})), keep=("price",))
    assert [c.key for c in stmt.selected_columns] == ["id", "name", "price", "owner_id"]


def test_reading_a_column_that_was_not_loaded_says_so():
    row = SimpleNamespace(id=uuid.uuid4(), name="x", owner_id=uuid.uuid4())  # as pruned for {"name"}
    with pytest.raises(RuntimeError, match=r"Thing\.gross needs a column that was not loaded"):
        Thing.lazy(row).gross  # noqa: B018
