"""The Alembic migrations create exactly the tables the code declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData

from custody import schema
from storage import catalog
from storage.db import migrate


def declared() -> MetaData:
    combined = MetaData()
    for source in (schema.metadata, catalog.metadata):
        for table in source.tables.values():
            table.to_metadata(combined)
    return combined


def test_migrated_schema_matches_the_declared_tables(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), declared())
    # Tables declared by other packages (cases/) show up as removed, with their
    # indexes; any other difference (table, column, type, index) is drift.
    names = declared().tables.keys()
    drift = [d for d in diff if not (isinstance(d, tuple) and (
        (d[0] == "remove_table" and d[1].name not in names)
        or (d[0] == "remove_index" and d[1].table.name not in names)))]
    assert not drift, drift


def test_migrate_is_idempotent(engine: Engine) -> None:
    migrate(engine)
    migrate(engine)
