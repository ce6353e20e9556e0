"""Every failure of SQLStorage is a StorageError: one line, no SQL, no password, cause kept."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import sqlalchemy as sa

from kashflow_sync import errors
from kashflow_sync.storage import SCHEMA_VERSION, SchemaVersionError, SQLStorage


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("/tmp/kf.db", "database_url_invalid"),
        ("kf.db", "database_url_invalid"),
        ("mysql://jane:pw@db.example/kf", "database_url_invalid"),
        ("nosuchdb://jane@db.example/kf", "database_url_invalid"),
    ],
)
def test_unusable_url_is_a_storage_error(url: str, code: str) -> None:
    """A path or a database SQLStorage does not support is refused with a remedy, at once."""
    with pytest.raises(errors.StorageError) as caught:
        SQLStorage(url)
    assert caught.value.code == code
    assert "sqlite:///" in caught.value.remedy
    assert "pw" not in str(caught.value)


def test_unreachable_postgresql_is_a_storage_error() -> None:
    """Nothing listening on the port: database_unavailable, password masked, driver as cause."""
    url = f"postgresql+psycopg://jane:s3cret@127.0.0.1:{_free_port()}/kf"
    with SQLStorage(url) as storage, pytest.raises(errors.StorageError) as caught:
        storage.get_state("c", "k")
    exc = caught.value
    assert exc.code == "database_unavailable" and exc.retryable
    assert "refused" in exc.message.lower()
    assert "s3cret" not in str(exc) and "jane:***@" in str(exc)
    assert "SELECT" not in str(exc) and "\n" not in str(exc)
    assert isinstance(exc.__cause__, sa.exc.OperationalError)


def test_sqlite_in_unwritable_place_is_a_storage_error(tmp_path: Path) -> None:
    """A SQLite file whose folder cannot be created is a StorageError naming the path."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(errors.StorageError) as caught:
        SQLStorage(f"sqlite:///{blocker}/kf.db")
    assert caught.value.code == "database_unavailable"
    assert str(blocker) in caught.value.message


def test_not_a_database_file_is_a_storage_error(tmp_path: Path) -> None:
    """A file that is not SQLite is reported as what the database said, without SQL."""
    path = tmp_path / "text.db"
    path.write_text("hello, this is not a database" * 100)
    with SQLStorage(f"sqlite:///{path}") as storage, pytest.raises(errors.StorageError) as caught:
        storage.get_state("c", "k")
    assert "not a database" in caught.value.message
    assert "SELECT" not in str(caught.value)


def test_schema_version_error_is_a_storage_error(tmp_path: Path) -> None:
    """Tables of another version raise SchemaVersionError, a StorageError with its own code."""
    url = f"sqlite:///{tmp_path / 'kf.db'}"
    with SQLStorage(url) as storage:
        storage.get_state("c", "k")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE kashflow_sync_schema SET version = {SCHEMA_VERSION + 1}")
    engine.dispose()
    with SQLStorage(url) as storage, pytest.raises(errors.StorageError) as caught:
        storage.get_state("c", "k")
    assert isinstance(caught.value, SchemaVersionError)
    assert caught.value.code == "schema_version"
