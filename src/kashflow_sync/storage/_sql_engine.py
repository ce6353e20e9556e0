"""The SQLAlchemy engine :class:`~kashflow_sync.storage.SQLStorage` creates from a URL.

A SQLite file gets a busy timeout and WAL, so several processes can share it; an in-memory SQLite
database gets one connection shared by every thread; PostgreSQL gets psycopg 3.

PostgreSQL connections are not pinged on every checkout (``pool_pre_ping`` would cost a round
trip per transaction). Instead a connection is recycled after :data:`POOL_RECYCLE` seconds, and
at checkout its socket is looked at without a round trip: a server that ended the connection (a
restart, a failover, ``pg_terminate_backend``, an idle timeout) has said so or closed it, so the
socket reads as ready; such a connection is thrown away and a fresh one taken in its place.
"""

from __future__ import annotations

import select
import sqlite3
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from sqlalchemy.pool import StaticPool

__all__ = ["POOL_RECYCLE", "SQLITE_BUSY_TIMEOUT", "make_engine"]

#: Seconds a SQLite connection waits for another process's write lock before giving up.
SQLITE_BUSY_TIMEOUT = 30.0
#: Seconds after which a pooled PostgreSQL connection is closed and opened again (before a
#: proxy or a managed database's idle timeout drops it unseen).
POOL_RECYCLE = 600


def make_engine(url: URL) -> Engine:
    """An engine for *url*, tuned so several threads and processes can share the database."""
    if url.drivername == "postgresql":
        # The ``postgres`` extra installs psycopg 3; a bare URL would pick psycopg2.
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() != "sqlite":
        try:
            engine = sa.create_engine(url, pool_recycle=POOL_RECYCLE)
        except ModuleNotFoundError as exc:
            hint = " (pip install 'kashflow-sync[postgres]')" if "psycopg" in str(exc) else ""
            raise ImportError(
                f"the database driver for {url.drivername!r} is not installed{hint}"
            ) from exc
        sa.event.listen(engine, "checkout", _drop_if_ended)
        return engine
    database = url.database or ""
    in_memory = database in ("", ":memory:") or url.query.get("mode") == "memory"
    if in_memory:
        # One shared connection, so every thread sees the same in-memory database; the
        # storage's lock keeps the threads from interleaving on it.
        engine = sa.create_engine(
            url, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        if not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url)

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT * 1000)}")
            if not in_memory:
                _enable_wal(cursor)
        finally:
            cursor.close()

    return engine


def _drop_if_ended(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Refuse a pooled connection the server has ended (the pool then opens a new one).

    An idle connection's socket has nothing to read, unless the server sent its farewell
    (``FATAL: terminating connection``) or closed it. Looking costs no round trip.
    """
    try:
        fileno = dbapi_connection.fileno()
        ready, _, _ = select.select([fileno], [], [], 0)
    except (OSError, ValueError, AttributeError):
        raise sa.exc.DisconnectionError("the connection's socket is gone") from None
    if ready or getattr(dbapi_connection, "closed", False):
        raise sa.exc.DisconnectionError("the server ended this connection")


def _enable_wal(cursor: Any) -> None:
    """Switch the database to WAL (readers run while another process writes), once.

    Changing the journal mode needs an exclusive lock and SQLite does not wait for it through
    the busy timeout, so a process starting beside busy ones retries here instead.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
