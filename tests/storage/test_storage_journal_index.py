"""The journal listing index: created with new tables, and added to older version-1 databases."""

from __future__ import annotations

import sqlalchemy as sa

from kashflow_sync.storage import SQLStorage

INDEX = "ix_kashflow_sync_journal_state_updated"


def _indexes(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return {ix["name"] for ix in sa.inspect(engine).get_indexes("kashflow_sync_journal")}
    finally:
        engine.dispose()


def test_new_database_has_the_listing_index(sqlite_url: str) -> None:
    """Tables created by this release carry the (connection_id, state, updated_at) index."""
    with SQLStorage(sqlite_url) as storage:
        storage.get_state("c", "k")
    assert INDEX in _indexes(sqlite_url)


def test_older_database_gets_the_index_on_open(sqlite_url: str) -> None:
    """A version-1 database made before the index existed gets it when next opened."""
    with SQLStorage(sqlite_url) as storage:
        storage.set_state("c", "k", "v")
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP INDEX {INDEX}")
    engine.dispose()
    with SQLStorage(sqlite_url) as storage:
        assert storage.get_state("c", "k") == "v"
    assert INDEX in _indexes(sqlite_url)


def test_read_only_open_adds_no_index(sqlite_url: str) -> None:
    """With create=False the storage changes nothing in the database, not even an index."""
    with SQLStorage(sqlite_url) as storage:
        storage.set_state("c", "k", "v")
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP INDEX {INDEX}")
    engine.dispose()
    with SQLStorage(sqlite_url, create=False) as storage:
        assert list(storage.list_journal("c")) == []
    assert INDEX not in _indexes(sqlite_url)
