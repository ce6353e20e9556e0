"""SQLStorage behaviour beyond the shared conformance suite: engine, schema, URLs, SQLite."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from kashflow_sync._account.items import Supplier
from kashflow_sync._journal.entry import JournalEntry
from kashflow_sync.storage import SCHEMA_VERSION, SchemaVersionError, SQLStorage

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)


def test_repr_masks_password() -> None:
    """The repr shows the URL with the password masked."""
    storage = SQLStorage("postgresql+psycopg://jane:s3cret-pw@db.example/kf")
    try:
        assert "s3cret-pw" not in repr(storage)
        assert repr(storage) == "SQLStorage('postgresql+psycopg://jane:***@db.example/kf')"
    finally:
        storage.close()


def test_bare_postgresql_url_uses_psycopg() -> None:
    """A postgresql:// URL is opened with psycopg 3, the driver of the postgres extra."""
    storage = SQLStorage("postgresql://jane@db.example/kf")
    try:
        assert storage.url == "postgresql+psycopg://jane@db.example/kf"
    finally:
        storage.close()


def test_sqlite_directory_created(tmp_path: Path) -> None:
    """A sqlite:/// URL whose directory does not exist gets it created."""
    path = tmp_path / "a" / "b" / "kf.db"
    with SQLStorage(f"sqlite:///{path}") as storage:
        storage.set_state("c", "k", "v")
    assert path.exists()


def test_sqlite_file_uses_wal(sqlite_url: str) -> None:
    """A SQLite file is switched to WAL so several processes can share it."""
    with SQLStorage(sqlite_url) as storage:
        storage.set_state("c", "k", "v")
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_schema_version_recorded(sqlite_url: str) -> None:
    """First use creates the tables and records the schema version."""
    with SQLStorage(sqlite_url) as storage:
        storage.get_state("c", "k")
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        version = conn.exec_driver_sql("SELECT version FROM kashflow_sync_schema").scalar()
        tables = set(sa.inspect(conn).get_table_names())
    engine.dispose()
    assert version == SCHEMA_VERSION
    assert tables == {
        "kashflow_sync_schema",
        "kashflow_sync_lists",
        "kashflow_sync_state",
        "kashflow_sync_rules",
        "kashflow_sync_journal",
        "kashflow_sync_journal_attempts",
    }


def test_newer_schema_refused(sqlite_url: str) -> None:
    """A database written by a newer schema version is refused with a clear error."""
    with SQLStorage(sqlite_url) as storage:
        storage.get_state("c", "k")
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE kashflow_sync_schema SET version = {SCHEMA_VERSION + 1}")
    engine.dispose()
    with SQLStorage(sqlite_url) as storage, pytest.raises(SchemaVersionError, match="upgrade"):
        storage.get_state("c", "k")


def test_create_false_refuses_empty_database(sqlite_url: str) -> None:
    """With create=False a database without the tables is refused, not silently filled."""
    with (
        SQLStorage(sqlite_url, create=False) as storage,
        pytest.raises(SchemaVersionError, match="create=True"),
    ):
        storage.get_state("c", "k")


def test_create_false_uses_existing_tables(sqlite_url: str) -> None:
    """With create=False a database that has the tables is used as is."""
    with SQLStorage(sqlite_url) as storage:
        storage.set_state("c", "k", "v")
    with SQLStorage(sqlite_url, create=False) as storage:
        assert storage.get_state("c", "k") == "v"


def test_data_survives_reopen(sqlite_url: str) -> None:
    """What one SQLStorage wrote, a new one on the same file reads."""
    items = [Supplier(1, "A", "Acme")]
    with SQLStorage(sqlite_url) as storage:
        storage.replace_list("c", "suppliers", items)
    with SQLStorage(sqlite_url) as storage:
        assert list(storage.load_list("c", "suppliers")) == items


def test_close_leaves_callers_engine_open(sqlite_url: str) -> None:
    """close() does not dispose an engine the caller passed in."""
    engine = sa.create_engine(sqlite_url)
    storage = SQLStorage(engine)
    storage.set_state("c", "k", "v")
    storage.close()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT value FROM kashflow_sync_state").scalar() == "v"
    engine.dispose()


def test_journal_timestamps_stored_in_utc(sqlite_url: str) -> None:
    """A lease given in another time zone comes back as the same instant, in UTC."""
    plus_two = timezone(timedelta(hours=2))
    now = T0.astimezone(plus_two)
    with SQLStorage(sqlite_url) as storage:
        entry = JournalEntry("c", "d", "purchase", "f")
        result = storage.claim_journal(entry, "w", now, now + timedelta(minutes=5))
    assert result.entry.lease_until == T0 + timedelta(minutes=5)
    assert result.entry.lease_until is not None
    assert result.entry.lease_until.tzinfo == timezone.utc


def test_naive_claim_time_refused() -> None:
    """A naive datetime for a claim is refused: its instant is unknown."""
    with SQLStorage("sqlite://") as storage, pytest.raises(ValueError, match="timezone-aware"):
        storage.claim_journal(
            JournalEntry("c", "d", "purchase", "f"),
            "w",
            datetime(2030, 1, 1),
            datetime(2030, 1, 1, 0, 5),
        )


def test_unknown_list_name_refused() -> None:
    """A list name outside LIST_NAMES raises KeyError."""
    with SQLStorage("sqlite://") as storage, pytest.raises(KeyError, match="unknown list"):
        storage.load_list("c", "locations")


def test_unknown_rule_kind_refused() -> None:
    """A rule kind other than supplier or customer raises ValueError."""
    with SQLStorage("sqlite://") as storage, pytest.raises(ValueError, match="rule kind"):
        storage.get_rule("c", "vendor", "Acme")


def test_list_stored_as_one_row(sqlite_url: str) -> None:
    """A replaced list is one row holding the item count, whatever its length."""
    items = [Supplier(i, f"S{i}", f"Supplier {i}") for i in range(500)]
    with SQLStorage(sqlite_url) as storage:
        storage.replace_list("c", "suppliers", items)
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT item_count FROM kashflow_sync_lists").all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [(500,)]


def test_no_credentials_in_schema(sqlite_url: str) -> None:
    """No table has a column that could hold a password or key."""
    with SQLStorage(sqlite_url) as storage:
        storage.get_state("c", "k")
    engine = sa.create_engine(sqlite_url)
    inspector = sa.inspect(engine)
    columns = {
        col["name"] for table in inspector.get_table_names() for col in inspector.get_columns(table)
    }
    engine.dispose()
    assert [c for c in columns if any(w in c for w in ("password", "secret", "autoauth"))] == []


def _credit_note_entry(connection_id: str) -> JournalEntry:
    return JournalEntry(
        connection_id=connection_id,
        external_id="cn-1",
        kind="purchase_credit_note",
        fingerprint="f",
        created_at=T0,
        updated_at=T0,
    )


def test_version_1_sqlite_upgraded_in_place(sqlite_url: str) -> None:
    """A version-1 database is upgraded on first use, keeping its rows."""
    with SQLStorage(sqlite_url) as storage:
        storage.set_state("c", "k", "kept")
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE kashflow_sync_schema SET version = 1")
    with SQLStorage(sqlite_url) as storage:
        assert storage.get_state("c", "k") == "kept"
        storage.claim_journal(_credit_note_entry("c"), "w", T0, T0 + timedelta(minutes=5))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version FROM kashflow_sync_schema").scalar() == 2
    engine.dispose()


def test_version_1_postgresql_widens_the_journal_kind(pg_url: str) -> None:
    """On PostgreSQL the upgrade widens the journal's kind: a credit note's kind fits."""
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    name = f"kfs_upgrade_{datetime.now(timezone.utc):%H%M%S%f}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = sa.make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    try:
        with SQLStorage(url) as storage:
            storage.set_state("c", "k", "kept")
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            # What version 1 wrote: a 16-character kind.
            conn.exec_driver_sql(
                "ALTER TABLE kashflow_sync_journal ALTER COLUMN kind TYPE VARCHAR(16)"
            )
            conn.exec_driver_sql("UPDATE kashflow_sync_schema SET version = 1")
        with SQLStorage(url) as storage:
            assert storage.get_state("c", "k") == "kept"
            claim = storage.claim_journal(
                _credit_note_entry("c"), "w", T0, T0 + timedelta(minutes=5)
            )
            assert claim.entry.kind == "purchase_credit_note"
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version FROM kashflow_sync_schema").scalar() == 2
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()
