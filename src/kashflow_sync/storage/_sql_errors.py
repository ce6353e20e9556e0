"""SQLAlchemy and driver failures, translated into :class:`~kashflow_sync.errors.StorageError`.

The one place :class:`~kashflow_sync.storage.SQLStorage` turns the layer below into the SDK's
errors (as ``_errormap`` does for the network). Messages carry what the database said, first
line only, with the URL's password masked: never a SQL statement, never a password.

Whether a failure is ``retryable`` follows from what caused it, read from PostgreSQL's SQLSTATE
(its class, the first two characters, unless the full code says more) or SQLite's result code:
a failover, a restart, a lost connection, a lock or serialization conflict, a server out of
connection slots pass by themselves, so a later run (a Celery retry) succeeds; a wrong URL,
refused credentials, tables that are not what this version made, or a value the database cannot
hold fail the same way every time. A connection that failed before the server could say a
SQLSTATE (libpq reports none then) is read from libpq's words; anything unknown that stopped the
connection stays retryable, since giving up on a passing outage abandons documents, while one
more try of a lasting fault only costs a wait.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import NamedTuple

import sqlalchemy as sa

from .. import errors
from .._error_codes import ErrorCode

__all__ = [
    "INVALID_URL_REMEDY",
    "SQLITE_CODES",
    "SQLSTATES",
    "StorageFailure",
    "classify",
    "invalid_url",
    "mask_url_password",
    "sqlstate",
    "storage_errors",
]

#: What to write instead of something that is not a database URL.
INVALID_URL_REMEDY = (
    "Give a SQLAlchemy database URL: sqlite:///relative/path.db or sqlite:////absolute/path.db "
    "for a SQLite file, postgresql+psycopg://user@host:5432/dbname for PostgreSQL."
)

_PASSWORD_IN_URL = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]*(?P<tail>@)", re.I)


def mask_url_password(text: str) -> str:
    """*text* with the password of any ``scheme://user:password@host`` in it masked."""
    return _PASSWORD_IN_URL.sub(r"\g<head>***\g<tail>", text)


def invalid_url(url: str, reason: str) -> errors.StorageError:
    """The error for a database URL that cannot be used at all."""
    return errors.StorageError(
        f"{mask_url_password(url)!r} is not a usable database URL: {reason}",
        code=ErrorCode.DATABASE_URL_INVALID,
        remedy=INVALID_URL_REMEDY,
    )


class StorageFailure(NamedTuple):
    """How one kind of database failure is reported: its code, whether to retry, the remedy.

    ``remedy`` says what is happening first (a failover, a lock conflict...), then what to do.
    """

    code: ErrorCode
    retryable: bool
    remedy: str


_AGAIN = " Trying again later is safe: a publish resumes from its journal where it stopped."

# Retryable: what a failover, a restart, a lost connection or a conflict causes.
_CONNECTION_LOST = StorageFailure(
    ErrorCode.DATABASE_UNAVAILABLE,
    True,
    "The connection to the database server failed or was cut (the network, a server restart or "
    "a failover). Check that the server is running and reachable at the URL's host and port."
    + _AGAIN,
)
_SHUTTING_DOWN = StorageFailure(
    ErrorCode.DATABASE_UNAVAILABLE,
    True,
    "The database server is shutting down: an administrator or a failover stopped it. It "
    "passes once the server (or its replacement) is back." + _AGAIN,
)
_CRASHED = StorageFailure(
    ErrorCode.DATABASE_UNAVAILABLE,
    True,
    "The database server crashed and is restarting: it passes once recovery ends." + _AGAIN,
)
_STARTING = StorageFailure(
    ErrorCode.DATABASE_UNAVAILABLE,
    True,
    "The database server is starting up, shutting down or recovering and takes no connections "
    "yet: it passes in moments (a standby being promoted, a restart)." + _AGAIN,
)
_SESSION_ENDED = StorageFailure(
    ErrorCode.DATABASE_UNAVAILABLE,
    True,
    "The database server ended the session: an administrator did, or a timeout such as "
    "idle_session_timeout or idle_in_transaction_session_timeout ran out (e.g. while this "
    "process was paused)." + _AGAIN,
)
_SERVER_IO = StorageFailure(
    ErrorCode.DATABASE_UNAVAILABLE,
    True,
    "The database server could not read or write its own files (an I/O or system error on "
    "the server); tell its administrator if it persists." + _AGAIN,
)
_READ_ONLY = StorageFailure(
    ErrorCode.DATABASE_READ_ONLY,
    True,
    "The database accepts only reads: the server is a standby, or a primary demoted during a "
    "failover (or the session is read-only: default_transaction_read_only). It passes once the "
    "new primary takes over. If it lasts, point the URL at the primary; a URL listing every "
    "host with target_session_attrs=read-write follows failovers." + _AGAIN,
)
_SERIALIZATION = StorageFailure(
    ErrorCode.DATABASE_CONFLICT,
    True,
    "A concurrent transaction conflicted with this one (a serialization failure: the database "
    "runs SERIALIZABLE or REPEATABLE READ transactions); the database rolled it back whole, so "
    "nothing was half-written." + _AGAIN,
)
_DEADLOCK = StorageFailure(
    ErrorCode.DATABASE_CONFLICT,
    True,
    "Two transactions waited for each other's locks (a deadlock) and the database rolled this "
    "one back whole: nothing was half-written." + _AGAIN,
)
_LOCKED = StorageFailure(
    ErrorCode.DATABASE_CONFLICT,
    True,
    "Another transaction held a lock this one needed for longer than the database waits "
    "(lock_timeout, or statement_timeout while waiting), or the statement was cancelled; "
    "nothing was half-written. If it keeps happening, look for a long transaction holding "
    "kashflow_sync's rows (pg_stat_activity)." + _AGAIN,
)
_NO_ROOM = StorageFailure(
    ErrorCode.DATABASE_OUT_OF_RESOURCES,
    True,
    "The database server ran out of connection slots (max_connections), memory or disk space. "
    "It passes when other clients let go; if it keeps happening, lower the number of worker "
    "processes, put a connection pooler (PgBouncer) in front, or free disk space." + _AGAIN,
)
# Not retryable: the same call fails the same way until a person changes something.
_CREDENTIALS = StorageFailure(
    ErrorCode.DATABASE_ACCESS_REFUSED,
    False,
    "The database server refused the user or password in the URL (or its pg_hba.conf refuses "
    "this host): correct the URL's user and password, or ask the database's administrator.",
)
_NO_DATABASE = StorageFailure(
    ErrorCode.DATABASE_ACCESS_REFUSED,
    False,
    "The database named in the URL does not exist on that server: correct the name, or create "
    "the database (createdb) first.",
)
_NO_PRIVILEGE = StorageFailure(
    ErrorCode.DATABASE_ACCESS_REFUSED,
    False,
    "The URL's database user may not read or write kashflow_sync's tables: GRANT it SELECT, "
    "INSERT, UPDATE and DELETE on them, or use the user that created them.",
)
_SQLITE_READ_ONLY = StorageFailure(
    ErrorCode.DATABASE_ACCESS_REFUSED,
    False,
    "This process may not write the SQLite file: the file, or its folder (which must hold the "
    "-wal and -shm files beside it), is read-only for this user, or the URL opens it read-only "
    "(mode=ro). Make both writable by this user.",
)
_SCHEMA = StorageFailure(
    ErrorCode.DATABASE_SCHEMA_MISMATCH,
    False,
    "The database refused a statement on kashflow_sync's tables: they are not as this version "
    "created them (changed by hand or by another program, or a migration half done). Trying "
    "again fails the same way: restore the tables, or use a fresh database.",
)
_VALUE = StorageFailure(
    ErrorCode.VALUE_NOT_STORABLE,
    False,
    "A value is too large or holds a character the database cannot store; the message says "
    "which. Storing it again fails the same way.",
)
_OTHER = StorageFailure(ErrorCode.STORAGE_ERROR, False, errors.StorageError.default_remedy)
_SQLITE_BUSY = StorageFailure(
    ErrorCode.DATABASE_CONFLICT,
    True,
    "Another process held the SQLite database's write lock for longer than the busy timeout "
    "(30 s); nothing was half-written. If it keeps happening, use PostgreSQL for this many "
    "writers." + _AGAIN,
)
_SQLITE_FULL = StorageFailure(
    ErrorCode.DATABASE_OUT_OF_RESOURCES,
    True,
    "The disk holding the SQLite file is full (or the process ran out of memory): free some "
    "space." + _AGAIN,
)
_SQLITE_IO = StorageFailure(
    ErrorCode.DATABASE_UNAVAILABLE,
    True,
    "The disk or network share holding the SQLite file failed to read or write (a disk I/O "
    "error); check it if it persists." + _AGAIN,
)
_SQLITE_CANTOPEN = StorageFailure(
    ErrorCode.DATABASE_UNAVAILABLE,
    True,
    "The SQLite file could not be opened: check that its folder exists and that this user may "
    "read and write there." + _AGAIN,
)

#: PostgreSQL SQLSTATEs (full codes first, then classes: the first two characters) and how
#: each is reported. A SQLSTATE in neither is :data:`_OTHER`, or a lost connection when the
#: driver raised it as an OperationalError.
SQLSTATES: Mapping[str, StorageFailure] = {
    "08": _CONNECTION_LOST,  # connection_exception, every subclass
    "57P01": _SHUTTING_DOWN,  # admin_shutdown (pg_ctl stop -m fast, a failover)
    "57P02": _CRASHED,  # crash_shutdown
    "57P03": _STARTING,  # cannot_connect_now
    "57P04": _NO_DATABASE,  # database_dropped
    "57P05": _SESSION_ENDED,  # idle_session_timeout
    "57": _SESSION_ENDED,  # operator_intervention
    "25P03": _SESSION_ENDED,  # idle_in_transaction_session_timeout
    "58000": _SERVER_IO,  # system_error
    "58030": _SERVER_IO,  # io_error
    "25006": _READ_ONLY,  # read_only_sql_transaction
    "40": _SERIALIZATION,  # transaction_rollback
    "40001": _SERIALIZATION,  # serialization_failure
    "40003": _SERIALIZATION,  # statement_completion_unknown
    "40P01": _DEADLOCK,  # deadlock_detected
    "40002": _SCHEMA,  # transaction_integrity_constraint_violation: a deferred constraint
    "55P03": _LOCKED,  # lock_not_available
    "55006": _LOCKED,  # object_in_use
    "57014": _LOCKED,  # query_canceled (statement_timeout, pg_cancel_backend)
    "72000": _SERIALIZATION,  # snapshot_too_old
    "53": _NO_ROOM,  # insufficient_resources: disk_full, out_of_memory, too_many_connections
    "53400": _OTHER,  # configuration_limit_exceeded: the same statement fails again
    "28": _CREDENTIALS,  # invalid_authorization_specification, invalid_password
    "3D000": _NO_DATABASE,  # invalid_catalog_name
    "42501": _NO_PRIVILEGE,  # insufficient_privilege
    "42": _SCHEMA,  # syntax_error_or_access_rule_violation: undefined table, column...
    "23": _SCHEMA,  # integrity_constraint_violation: a constraint the SDK did not make
    "22": _VALUE,  # data_exception
    "54": _VALUE,  # program_limit_exceeded, e.g. an index row above 2704 bytes
}

#: SQLite result codes (primary, or extended where it says more) and how each is reported.
SQLITE_CODES: Mapping[int, StorageFailure] = {
    5: _SQLITE_BUSY,  # SQLITE_BUSY: another connection holds the write lock
    6: _SQLITE_BUSY,  # SQLITE_LOCKED: a table locked by another statement
    7: _SQLITE_FULL,  # SQLITE_NOMEM
    8: _SQLITE_READ_ONLY,  # SQLITE_READONLY: no write permission, or opened mode=ro
    264: _SQLITE_BUSY,  # SQLITE_READONLY_RECOVERY: another connection is recovering the WAL
    520: _SQLITE_BUSY,  # SQLITE_READONLY_CANTLOCK: another connection is setting up the WAL
    10: _SQLITE_IO,  # SQLITE_IOERR
    13: _SQLITE_FULL,  # SQLITE_FULL: the disk is full
    14: _SQLITE_CANTOPEN,  # SQLITE_CANTOPEN: the file could not be opened
}

# Where no SQLSTATE was given: libpq's (and the server's startup) words, read as the SQLSTATE
# they stand for. A failed connection carries none, so without these, refused credentials
# would look like an outage and be retried.
_PG_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), state)
    for pattern, state in (
        (r"password authentication failed", "28P01"),
        (r"no pg_hba\.conf entry", "28000"),
        (r'role ".*" does not exist', "28000"),
        (r'database ".*" does not exist', "3D000"),
        (r"too many clients already|remaining connection slots are reserved", "53300"),
        (r"the database system is (starting up|shutting down|in recovery mode)", "57P03"),
        (r"the database system is not yet accepting connections", "57P03"),
        (r"session is read-only|server is in hot standby mode", "25006"),
    )
)
# SQLite's words, for Pythons before 3.11, whose sqlite3 errors carry no result code.
_SQLITE_PHRASES: tuple[tuple[str, int], ...] = (
    ("database is locked", 5),
    ("database table is locked", 6),
    ("readonly database", 8),
    ("database or disk is full", 13),
    ("unable to open database file", 14),
    ("disk i/o error", 10),
)


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()
    return text[0].strip() if text else type(original).__name__


def sqlstate(exc: BaseException) -> str | None:
    """The PostgreSQL SQLSTATE behind *exc*, as the server gave it or as libpq's words say."""
    given = _given_sqlstate(exc)
    original = getattr(exc, "orig", None) or exc
    if given is not None or isinstance(original, sqlite3.Error):
        return given
    text = str(original)
    return next((state for phrase, state in _PG_PHRASES if phrase.search(text)), None)


def _given_sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE the server sent with *exc*, if any."""
    original = getattr(exc, "orig", None) or exc
    # psycopg 3 names it sqlstate, psycopg2 pgcode (a host may hand SQLStorage either engine).
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return state if isinstance(state, str) and len(state) == 5 else None


def _sqlite_code(exc: BaseException) -> int | None:
    original = getattr(exc, "orig", None) or exc
    if not isinstance(original, sqlite3.Error):
        return None
    code = getattr(original, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code
    text = str(original).lower()
    return next((c for phrase, c in _SQLITE_PHRASES if phrase in text), None)


def classify(exc: BaseException) -> StorageFailure:
    """How a SQLAlchemy or driver exception is reported: its code, retryable, remedy.

    Args:
        exc: the exception SQLAlchemy or the driver raised.

    Returns:
        The entry of :data:`SQLSTATES` or :data:`SQLITE_CODES` that fits, the full code before
        its class; otherwise a lost connection for an OperationalError or InterfaceError (the
        connection went away), and a non-retryable ``storage_error`` for anything else.

    """
    state = sqlstate(exc)
    if state is not None:
        found = SQLSTATES.get(state) or SQLSTATES.get(state[:2])
        if found is not None:
            return found
    code = _sqlite_code(exc)
    if code is not None:
        found = SQLITE_CODES.get(code) or SQLITE_CODES.get(code & 0xFF)
        if found is not None:
            return found
    if isinstance(exc, (sa.exc.DataError, sqlite3.DataError)):
        return _VALUE
    if state is None and isinstance(
        exc, (sa.exc.OperationalError, sa.exc.InterfaceError, sqlite3.OperationalError)
    ):
        # Could not reach or open the database, or it went away: worth another try later.
        return _CONNECTION_LOST
    return _OTHER


#: Each code's message, around the database URL and what the database said.
_MESSAGES: Mapping[ErrorCode, str] = {
    ErrorCode.DATABASE_UNAVAILABLE: "cannot use the database {url}: {said}",
    ErrorCode.DATABASE_READ_ONLY: "the database {url} accepts only reads now: {said}",
    ErrorCode.DATABASE_CONFLICT: (
        "a transaction in the database {url} conflicted with another: {said}"
    ),
    ErrorCode.DATABASE_OUT_OF_RESOURCES: "the database {url} is out of resources: {said}",
    ErrorCode.DATABASE_ACCESS_REFUSED: "the database {url} refused access: {said}",
    ErrorCode.DATABASE_SCHEMA_MISMATCH: (
        "the database {url} refused a statement on its tables: {said}"
    ),
    ErrorCode.VALUE_NOT_STORABLE: "the database {url} refused a value: {said}",
}


@contextmanager
def storage_errors(url: str) -> Iterator[None]:
    """Translate SQLAlchemy and driver exceptions raised inside the block into StorageError.

    Args:
        url: the database URL with its password already masked, named in messages.

    """
    try:
        yield
    except errors.KashFlowError:
        raise
    except (sa.exc.SQLAlchemyError, sqlite3.Error) as exc:
        raise _translated(url, exc) from exc


def _translated(url: str, exc: BaseException) -> errors.StorageError:
    """The StorageError for a SQLAlchemy or driver exception (see :func:`classify`)."""
    said = mask_url_password(_first_line(exc))
    failure = classify(exc)
    state = _given_sqlstate(exc)
    if state is not None and state not in said:
        said = f"{said} [SQLSTATE {state}]"
    message = _MESSAGES.get(failure.code, "the database {url} failed: {said}")
    return errors.StorageError(
        message.format(url=url, said=said),
        code=failure.code,
        remedy=failure.remedy,
        retryable=failure.retryable,
    )
