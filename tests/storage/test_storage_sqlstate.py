"""Storage failures are retryable by what caused them: SQLSTATE classes and SQLite result codes.

A failover, a restart, a lost connection, a lock or serialization conflict, a server out of
connection slots pass by themselves (retryable: a Celery task runs again later); a wrong URL,
refused credentials, changed tables or an unstorable value fail the same way every time.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import psycopg.errors
import pytest
import sqlalchemy as sa

from kashflow_sync import errors
from kashflow_sync.storage import SQLStorage
from kashflow_sync.storage._sql_errors import storage_errors

URL = "postgresql+psycopg://jane:***@db.example/kf"


def _translated(exc: BaseException) -> errors.StorageError:
    """The StorageError SQLStorage raises for the driver's *exc*, wrapped as SQLAlchemy does."""
    if isinstance(exc, psycopg.Error):
        exc = sa.exc.DBAPIError.instance("UPDATE t SET x = 1", {}, exc, psycopg.Error)
    elif isinstance(exc, sqlite3.Error):
        exc = sa.exc.DBAPIError.instance("UPDATE t SET x = 1", {}, exc, sqlite3.Error)
    with pytest.raises(errors.StorageError) as caught, storage_errors(URL):
        raise exc
    return caught.value


# (SQLSTATE, code, retryable): what the server says, and what the caller should do about it.
SQLSTATE_TABLE = [
    ("08006", "database_unavailable", True),  # connection_failure
    ("08001", "database_unavailable", True),  # sqlclient_unable_to_establish_sqlconnection
    ("08003", "database_unavailable", True),  # connection_does_not_exist
    ("08P01", "database_unavailable", True),  # protocol_violation (a proxy cut in)
    ("57P01", "database_unavailable", True),  # admin_shutdown: a failover stopped the primary
    ("57P02", "database_unavailable", True),  # crash_shutdown
    ("57P03", "database_unavailable", True),  # cannot_connect_now: starting up, recovering
    ("57P05", "database_unavailable", True),  # idle_session_timeout
    ("25P03", "database_unavailable", True),  # idle_in_transaction_session_timeout
    ("58030", "database_unavailable", True),  # io_error on the server
    ("25006", "database_read_only", True),  # read_only_sql_transaction: a demoted primary
    ("40001", "database_conflict", True),  # serialization_failure
    ("40P01", "database_conflict", True),  # deadlock_detected
    ("55P03", "database_conflict", True),  # lock_not_available (lock_timeout)
    ("57014", "database_conflict", True),  # query_canceled (statement_timeout)
    ("53300", "database_out_of_resources", True),  # too_many_connections
    ("53100", "database_out_of_resources", True),  # disk_full
    ("53200", "database_out_of_resources", True),  # out_of_memory
    ("53400", "storage_error", False),  # configuration_limit_exceeded: fails again
    ("28P01", "database_access_refused", False),  # invalid_password
    ("28000", "database_access_refused", False),  # invalid_authorization_specification
    ("3D000", "database_access_refused", False),  # invalid_catalog_name: no such database
    ("57P04", "database_access_refused", False),  # database_dropped
    ("42501", "database_access_refused", False),  # insufficient_privilege
    ("42P01", "database_schema_mismatch", False),  # undefined_table
    ("42703", "database_schema_mismatch", False),  # undefined_column
    ("23505", "database_schema_mismatch", False),  # unique_violation
    ("23502", "database_schema_mismatch", False),  # not_null_violation
    ("40002", "database_schema_mismatch", False),  # a deferred constraint at commit
    ("22001", "value_not_storable", False),  # string_data_right_truncation
    ("54000", "value_not_storable", False),  # program_limit_exceeded
    ("XX000", "storage_error", False),  # internal_error
]


@pytest.mark.parametrize(("state", "code", "retryable"), SQLSTATE_TABLE)
def test_sqlstate_decides_code_and_retryable(state: str, code: str, retryable: bool) -> None:
    """Each SQLSTATE maps to its code and retryable, naming the SQLSTATE, with a remedy."""
    error = _translated(psycopg.errors.lookup(state)("what the server said"))
    assert (error.code, error.retryable) == (code, retryable)
    assert f"SQLSTATE {state}" in error.message and "what the server said" in error.message
    assert error.remedy and "UPDATE" not in str(error)


# Connection failures: libpq gives no SQLSTATE, only words (the server's FATAL among them).
CONNECT_TABLE = [
    ("Connection refused\n\tIs the server running on that host?", "database_unavailable", True),
    ("server closed the connection unexpectedly", "database_unavailable", True),
    ('FATAL:  password authentication failed for user "jane"', "database_access_refused", False),
    ('FATAL:  role "jane" does not exist', "database_access_refused", False),
    ('FATAL:  no pg_hba.conf entry for host "10.0.0.9"', "database_access_refused", False),
    ('FATAL:  database "kf" does not exist', "database_access_refused", False),
    ("FATAL:  sorry, too many clients already", "database_out_of_resources", True),
    ("FATAL:  the database system is starting up", "database_unavailable", True),
    ("FATAL:  the database system is shutting down", "database_unavailable", True),
    ("connection is not usable: session is read-only", "database_read_only", True),
]


@pytest.mark.parametrize(("said", "code", "retryable"), CONNECT_TABLE)
def test_failed_connection_is_read_from_libpq_words(said: str, code: str, retryable: bool) -> None:
    """Without a SQLSTATE, refused credentials are not retried; an outage or restart is."""
    error = _translated(psycopg.OperationalError(f"connection failed: {said}"))
    assert (error.code, error.retryable) == (code, retryable)
    assert "SQLSTATE" not in error.message  # none was given: nothing is invented


# (SQLite result code, its message, code, retryable).
SQLITE_TABLE = [
    (5, "database is locked", "database_conflict", True),  # SQLITE_BUSY
    (517, "database is locked", "database_conflict", True),  # SQLITE_BUSY_SNAPSHOT
    (6, "database table is locked", "database_conflict", True),  # SQLITE_LOCKED
    (264, "attempt to write a readonly database", "database_conflict", True),  # RECOVERY
    (8, "attempt to write a readonly database", "database_access_refused", False),
    (1544, "attempt to write a readonly database", "database_access_refused", False),  # folder
    (13, "database or disk is full", "database_out_of_resources", True),
    (10, "disk I/O error", "database_unavailable", True),
    (14, "unable to open database file", "database_unavailable", True),
]


@pytest.mark.parametrize(("result", "said", "code", "retryable"), SQLITE_TABLE)
def test_sqlite_result_code_decides_code_and_retryable(
    result: int, said: str, code: str, retryable: bool
) -> None:
    """Each SQLite result code maps to its code and retryable."""
    exc = sqlite3.OperationalError(said)
    exc.sqlite_errorcode = result  # type: ignore[attr-defined]
    error = _translated(exc)
    assert (error.code, error.retryable) == (code, retryable)


@pytest.mark.parametrize(
    ("said", "code", "retryable"),
    [
        ("database is locked", "database_conflict", True),
        ("attempt to write a readonly database", "database_access_refused", False),
        ("database or disk is full", "database_out_of_resources", True),
    ],
)
def test_sqlite_without_result_codes_is_read_from_its_words(
    said: str, code: str, retryable: bool
) -> None:
    """Before Python 3.11 sqlite3 errors carry no result code: the message decides alike."""
    error = _translated(sqlite3.OperationalError(said))
    assert (error.code, error.retryable) == (code, retryable)


# ---------------------------------------------------------------------------- real databases


def _with_options(url: str, *settings: str) -> str:
    """*url* with server settings for every session it opens (libpq's ``options``)."""
    options = " ".join(f"-c {setting}" for setting in settings)
    return f"{url}{'&' if '?' in url else '?'}options={quote(options)}"


def test_postgresql_read_only_is_retryable(pg_url: str, pg_storage: SQLStorage) -> None:
    """A server that takes only reads (a primary demoted by a failover): 25006, retryable."""
    connection_id = f"read-only-{uuid.uuid4().hex}"
    pg_storage.get_state(connection_id, "probe")  # the tables exist, as on a real primary
    with SQLStorage(_with_options(pg_url, "default_transaction_read_only=on")) as demoted:
        assert demoted.get_state(connection_id, "probe") is None  # reads still work
        with pytest.raises(errors.StorageError) as caught:
            demoted.set_state(connection_id, "probe", "written")
    error = caught.value
    assert (error.code, error.retryable) == ("database_read_only", True)
    assert "25006" in error.message and "failover" in error.remedy
    assert isinstance(error.__cause__, sa.exc.InternalError)  # not an OperationalError
    assert pg_storage.get_state(connection_id, "probe") is None  # nothing half-written


def test_postgresql_lock_timeout_is_a_retryable_conflict(
    pg_url: str, pg_storage: SQLStorage
) -> None:
    """Another transaction holding the row past lock_timeout: 55P03, a retryable conflict."""
    connection_id = f"locked-{uuid.uuid4().hex}"
    pg_storage.set_state(connection_id, "k", "first")
    holder = sa.create_engine(pg_url)
    try:
        with (
            holder.begin() as conn,
            SQLStorage(_with_options(pg_url, "lock_timeout=50")) as impatient,
        ):
            conn.exec_driver_sql(
                "SELECT value FROM kashflow_sync_state WHERE connection_id = %(c)s FOR UPDATE",
                {"c": connection_id},
            )
            with pytest.raises(errors.StorageError) as caught:
                impatient.set_state(connection_id, "k", "second")
    finally:
        holder.dispose()
        pg_storage.purge(connection_id)
    assert (caught.value.code, caught.value.retryable) == ("database_conflict", True)
    assert "55P03" in caught.value.message


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (("/test", "/kfs_no_such_database"), "does not exist"),
        (("postgres@", "kfs_nobody@"), "kfs_nobody"),
    ],
    ids=["no such database", "no such role"],
)
def test_postgresql_refused_access_is_not_retryable(
    pg_url: str, change: tuple[str, str], fragment: str
) -> None:
    """A database or user the server does not know: access refused, never retried."""
    url = pg_url.replace(*change)
    assert url != pg_url
    with SQLStorage(url) as storage, pytest.raises(errors.StorageError) as caught:
        storage.get_state("c", "k")
    assert (caught.value.code, caught.value.retryable) == ("database_access_refused", False)
    assert fragment in caught.value.message


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "kf.db"
    with SQLStorage(f"sqlite:///{path}") as storage:
        storage.set_state("c", "k", "v")  # tables made, WAL on
    yield path


def test_sqlite_locked_past_the_busy_timeout_is_a_retryable_conflict(sqlite_file: Path) -> None:
    """Another process holding SQLite's write lock past the busy timeout: retryable."""
    holder = sqlite3.connect(sqlite_file, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    engine = sa.create_engine(f"sqlite:///{sqlite_file}", connect_args={"timeout": 0.05})
    try:
        with SQLStorage(engine) as storage, pytest.raises(errors.StorageError) as caught:
            storage.set_state("c", "k", "w")
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()
    assert (caught.value.code, caught.value.retryable) == ("database_conflict", True)
    assert "locked" in caught.value.message


def test_sqlite_read_only_file_is_not_retryable(sqlite_file: Path) -> None:
    """A SQLite file this process may only read: access refused, not retried."""
    url = f"sqlite:///file:{sqlite_file}?mode=ro&uri=true"
    with SQLStorage(url) as storage:
        assert storage.get_state("c", "k") == "v"
        with pytest.raises(errors.StorageError) as caught:
            storage.set_state("c", "k", "w")
    assert (caught.value.code, caught.value.retryable) == ("database_access_refused", False)
    assert "readonly" in caught.value.message
