from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, MetaData, String, Table, UniqueConstraint, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from backend.core.db import NAMING_CONVENTION, Base, TenantScoped, tenant_fk, tenant_relationship, utcnow
from backend.core.rls import tenant_table_sql


class TestBase(DeclarativeBase):
    """Separate metadata: these tables are created by the test session, not by migrations."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = Base.type_annotation_map


# The global tenant table, as seen from this metadata (it is created by the real migrations).
TENANT_STUB = Table("tenant", TestBase.metadata, Column("id", Uuid, primary_key=True))


class NoteFolder(TenantScoped, TestBase):
    __tablename__ = "test_note_folder"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))


class Note(TenantScoped, TestBase):
    __tablename__ = "test_note"
    __table_args__ = (tenant_fk("folder_id", "test_note_folder"),)

    folder_id: Mapped[uuid.UUID]
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    folder: Mapped[NoteFolder] = tenant_relationship("Note", "NoteFolder", "folder_id", lazy="raise")


def create_tables_sql() -> list[str]:
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateTable

    tables = [t for t in TestBase.metadata.sorted_tables if t is not TENANT_STUB]
    statements = [str(CreateTable(t).compile(dialect=postgresql.dialect())) for t in tables]
    for table in tables:
        statements.extend(tenant_table_sql(table.name))
    return statements
