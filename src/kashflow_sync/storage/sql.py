"""``SQLStorage``: the :class:`~kashflow_sync.typing.Storage` on SQLite or PostgreSQL.

One implementation on SQLAlchemy Core serves both databases. Tables (created on first use):

``kashflow_sync_schema``
    One row: the schema ``version``. A database written by a newer kashflow_sync is refused.
``kashflow_sync_lists``
    One row per ``(connection_id, list_name)`` holding every item as one JSON array, so that
    replacing a 20,000-item list is one statement and atomic.
``kashflow_sync_state``
    ``(connection_id, key) -> value``.
``kashflow_sync_rules``
    One row per ``(connection_id, kind, contact_key)``; ``contact_key`` is the casefolded contact
    and ``contact`` the name as it was set; ``rule`` is JSON.
``kashflow_sync_journal``
    One row per ``(connection_id, external_id)`` with a column per journal field; claims are
    compare-and-set statements on ``owner`` and ``lease_until``, safe across processes.
``kashflow_sync_journal_attempts``
    Publish attempts, one row each, in insertion order.

Timestamps are stored timezone-aware in UTC (``timestamptz`` on PostgreSQL; fixed-width ISO 8601
text on SQLite, which therefore sorts and compares in time order). Nothing here ever sees a
password or an AutoAuth key.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as _pg
from sqlalchemy.dialects import sqlite as _sqlite
from sqlalchemy.engine import URL, Connection, Dialect, Engine, make_url
from sqlalchemy.pool import StaticPool

from .._convert import (
    as_utc,
    list_item_class,
    structure_items,
    structure_rule,
    unstructure_items,
    unstructure_rule,
)
from .._documents import PublishAttempt, Rule
from .._journal import ClaimResult, JournalEntry, JournalState
from .._models import ListItem
from .memory import check_rule_kind

__all__ = ["SCHEMA_VERSION", "SQLStorage", "SchemaVersionError"]

#: The version of the tables this release writes; bumped with every schema change.
SCHEMA_VERSION = 1

#: Seconds a SQLite connection waits for another process's write lock before giving up.
SQLITE_BUSY_TIMEOUT = 30.0

# Arbitrary constant key for the PostgreSQL advisory lock that serialises schema creation
# between processes starting at the same moment.
_SCHEMA_LOCK_KEY = 0x6B66_7379_6E63  # "kfsync"


class SchemaVersionError(RuntimeError):
    """The database's kashflow_sync tables are missing or of a version this release cannot use."""


class _UTCDateTime(sa.types.TypeDecorator[datetime]):
    """An aware datetime stored in UTC: ``timestamptz`` on PostgreSQL, sortable text on SQLite."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(32))
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = as_utc(value)
        if dialect.name == "sqlite":
            # Fixed width, so text order is time order for lease comparisons.
            return value.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return cast("datetime", value).replace(tzinfo=timezone.utc)
        return cast("datetime", value).astimezone(timezone.utc)


_metadata = sa.MetaData()

_schema = sa.Table(
    "kashflow_sync_schema",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("version", sa.Integer, nullable=False),
)

_lists = sa.Table(
    "kashflow_sync_lists",
    _metadata,
    sa.Column("connection_id", sa.String, primary_key=True),
    sa.Column("list_name", sa.String(64), primary_key=True),
    sa.Column("item_count", sa.Integer, nullable=False),
    sa.Column("items", sa.Text, nullable=False),
)

_state = sa.Table(
    "kashflow_sync_state",
    _metadata,
    sa.Column("connection_id", sa.String, primary_key=True),
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

_rules = sa.Table(
    "kashflow_sync_rules",
    _metadata,
    sa.Column("connection_id", sa.String, primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("contact_key", sa.String, primary_key=True),
    sa.Column("contact", sa.String, nullable=False),
    sa.Column("rule", sa.Text, nullable=False),
)

_journal = sa.Table(
    "kashflow_sync_journal",
    _metadata,
    sa.Column("connection_id", sa.String, primary_key=True),
    sa.Column("external_id", sa.String, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("fingerprint", sa.String, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("owner", sa.String, nullable=True),
    sa.Column("lease_until", _UTCDateTime, nullable=True),
    sa.Column("contact_id", sa.BigInteger, nullable=True),
    sa.Column("number", sa.BigInteger, nullable=True),
    sa.Column("kashflow_id", sa.BigInteger, nullable=True),
    sa.Column("attachment_done", sa.Boolean, nullable=False),
    sa.Column("payment_done", sa.Boolean, nullable=False),
    sa.Column("created_at", _UTCDateTime, nullable=True),
    sa.Column("updated_at", _UTCDateTime, nullable=True),
)

_attempts = sa.Table(
    "kashflow_sync_journal_attempts",
    _metadata,
    # On SQLite only an INTEGER primary key is the auto-numbered rowid.
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("connection_id", sa.String, nullable=False),
    sa.Column("external_id", sa.String, nullable=False),
    sa.Column("at", _UTCDateTime, nullable=False),
    sa.Column("step", sa.String, nullable=False),
    sa.Column("outcome", sa.String, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Index("ix_kashflow_sync_journal_attempts_entry", "connection_id", "external_id", "id"),
)

_PER_CONNECTION = (_lists, _state, _rules, _journal, _attempts)


def _make_engine(url: URL) -> Engine:
    """An engine for *url*, tuned so several threads and processes can share the database."""
    if url.drivername == "postgresql":
        # The ``postgres`` extra installs psycopg 3; a bare URL would pick psycopg2.
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
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


class SQLStorage:
    """Lists, state, rules and publish journal in SQLite or PostgreSQL, through SQLAlchemy.

    Several threads may share one instance, and several processes (or machines, on PostgreSQL)
    may share one database: journal claims are atomic compare-and-set statements.

    Args:
        url: a SQLAlchemy URL (``sqlite:///path/kf.db``, ``sqlite://`` for memory,
            ``postgresql+psycopg://user@host/db``) or an :class:`~sqlalchemy.engine.Engine` the
            caller owns (used as configured: the SQLite pragmas below are only set on engines
            this storage creates). A SQLite file's missing directory is created, and the file
            is switched to WAL with a busy timeout so several processes can share it.
        create: create the tables on first use when they do not exist; with False a database
            without them is refused.

    Raises:
        ValueError: the URL names a database other than SQLite or PostgreSQL.

    """

    def __init__(self, url: str | URL | Engine, *, create: bool = True) -> None:
        """Open (lazily) the database at *url*; tables are checked on first use."""
        if isinstance(url, Engine):
            self._engine = url
            self._owns_engine = False
        else:
            self._engine = _make_engine(make_url(url))
            self._owns_engine = True
        backend = self._engine.dialect.name
        if backend not in ("sqlite", "postgresql"):
            if self._owns_engine:
                self._engine.dispose()
            raise ValueError(f"SQLStorage supports SQLite and PostgreSQL, not {backend!r}")
        self._sqlite = backend == "sqlite"
        self._create = create
        self._ready = False
        self._schema_lock = threading.Lock()
        # SQLite has one writer at a time anyway; serialising this process's threads up front
        # avoids them spinning on the busy timeout (and shares the in-memory connection safely).
        self._local_lock: threading.RLock | None = threading.RLock() if self._sqlite else None

    @property
    def url(self) -> str:
        """The database URL with any password masked."""
        return self._engine.url.render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"SQLStorage({self.url!r})"

    def close(self) -> None:
        """Release the connections of the engine this storage created (never a caller's)."""
        if self._owns_engine:
            self._engine.dispose()

    def __enter__(self) -> SQLStorage:
        """Use as a context manager that closes the storage on exit."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the storage."""
        self.close()

    # Transactions and schema

    def _guard(self) -> AbstractContextManager[Any]:
        return self._local_lock if self._local_lock is not None else nullcontext()

    @contextmanager
    def _begin(self, *, write: bool) -> Iterator[Connection]:
        """One transaction; on SQLite a write takes the database's write lock at once."""
        with self._guard(), self._engine.connect() as conn:
            if self._sqlite:
                # pysqlite would only BEGIN (deferred) before the first write, after our reads:
                # a claim must hold the write lock from its first read to its commit.
                conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    @contextmanager
    def _tx(self, *, write: bool) -> Iterator[Connection]:
        self._ensure_schema()
        with self._begin(write=write) as conn:
            yield conn

    def _ensure_schema(self) -> None:
        if self._ready:
            return
        with self._schema_lock:
            if self._ready:
                return
            with self._begin(write=True) as conn:
                if not self._sqlite:
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_SCHEMA_LOCK_KEY)))
                version = self._schema_version(conn)
                if version is None:
                    if not self._create:
                        raise SchemaVersionError(
                            f"no kashflow_sync tables in {self.url}; "
                            "open it once with SQLStorage(url, create=True) to create them"
                        )
                    _metadata.create_all(conn)
                    conn.execute(sa.insert(_schema).values(id=1, version=SCHEMA_VERSION))
                elif version != SCHEMA_VERSION:
                    newer = version > SCHEMA_VERSION
                    raise SchemaVersionError(
                        f"the kashflow_sync tables in {self.url} are schema version {version}; "
                        f"this kashflow_sync uses version {SCHEMA_VERSION}"
                        + (": upgrade kashflow_sync to use this database" if newer else "")
                    )
            self._ready = True

    @staticmethod
    def _schema_version(conn: Connection) -> int | None:
        if not sa.inspect(conn).has_table(_schema.name):
            return None
        return conn.execute(sa.select(sa.func.max(_schema.c.version))).scalar()

    def _insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT, which offers ON CONFLICT on both databases."""
        return (_sqlite.insert if self._sqlite else _pg.insert)(table)

    def _upsert(self, conn: Connection, table: sa.Table, values: Mapping[str, Any]) -> None:
        keys = [c.name for c in table.primary_key.columns]
        stmt = self._insert(table).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=keys,
            set_={k: stmt.excluded[k] for k in values if k not in keys},
        )
        conn.execute(stmt)

    # Lists

    def load_list(self, connection_id: str, name: str) -> Sequence[ListItem]:
        """Items of the named list in stored order; empty when never synced.

        Raises:
            KeyError: *name* is not one of ``LIST_NAMES``.

        """
        list_item_class(name)
        query = sa.select(_lists.c["items"]).where(
            _lists.c.connection_id == connection_id, _lists.c.list_name == name
        )
        with self._tx(write=False) as conn:
            payload = conn.execute(query).scalar()
        return () if payload is None else structure_items(name, json.loads(payload))

    def replace_list(self, connection_id: str, name: str, items: Sequence[ListItem]) -> None:
        """Replace the named list with *items*, atomically (one statement).

        Raises:
            KeyError: *name* is not one of ``LIST_NAMES``.
            TypeError: an item is not of the list's item class (the old list is kept).

        """
        data = unstructure_items(name, items)
        payload = json.dumps(data, separators=(",", ":"))
        values = {
            "connection_id": connection_id,
            "list_name": name,
            "item_count": len(data),
            "items": payload,
        }
        with self._tx(write=True) as conn:
            self._upsert(conn, _lists, values)

    # Sync state

    def get_state(self, connection_id: str, key: str) -> str | None:
        """A stored state value, or None."""
        query = sa.select(_state.c.value).where(
            _state.c.connection_id == connection_id, _state.c.key == key
        )
        with self._tx(write=False) as conn:
            return cast("str | None", conn.execute(query).scalar())

    def set_state(self, connection_id: str, key: str, value: str | None) -> None:
        """Store a state value; None deletes it."""
        with self._tx(write=True) as conn:
            if value is None:
                conn.execute(
                    sa.delete(_state).where(
                        _state.c.connection_id == connection_id, _state.c.key == key
                    )
                )
            else:
                self._upsert(
                    conn, _state, {"connection_id": connection_id, "key": key, "value": value}
                )

    # Rules

    def get_rule(self, connection_id: str, kind: str, contact: str) -> Rule | None:
        """The rule for a supplier or customer (matched case-insensitively), or None."""
        check_rule_kind(kind)
        query = sa.select(_rules.c.rule).where(
            _rules.c.connection_id == connection_id,
            _rules.c.kind == kind,
            _rules.c.contact_key == contact.casefold(),
        )
        with self._tx(write=False) as conn:
            payload = conn.execute(query).scalar()
        return None if payload is None else structure_rule(json.loads(payload))

    def set_rule(self, connection_id: str, kind: str, contact: str, rule: Rule) -> None:
        """Store (or replace) the rule for a supplier or customer."""
        check_rule_kind(kind)
        if not isinstance(rule, Rule):
            raise TypeError(f"rule must be a kashflow_sync.Rule, not {type(rule).__name__}")
        values = {
            "connection_id": connection_id,
            "kind": kind,
            "contact_key": contact.casefold(),
            "contact": contact,
            "rule": json.dumps(unstructure_rule(rule), separators=(",", ":")),
        }
        with self._tx(write=True) as conn:
            self._upsert(conn, _rules, values)

    def delete_rule(self, connection_id: str, kind: str, contact: str) -> None:
        """Remove a rule; no error if there was none."""
        check_rule_kind(kind)
        with self._tx(write=True) as conn:
            conn.execute(
                sa.delete(_rules).where(
                    _rules.c.connection_id == connection_id,
                    _rules.c.kind == kind,
                    _rules.c.contact_key == contact.casefold(),
                )
            )

    def list_rules(self, connection_id: str, kind: str) -> Mapping[str, Rule]:
        """Every rule of that kind, by the contact name it was set for."""
        check_rule_kind(kind)
        query = (
            sa.select(_rules.c.contact, _rules.c.rule)
            .where(_rules.c.connection_id == connection_id, _rules.c.kind == kind)
            .order_by(_rules.c.contact_key)
        )
        with self._tx(write=False) as conn:
            rows = conn.execute(query).all()
        return {contact: structure_rule(json.loads(payload)) for contact, payload in rows}

    # Publish journal

    def claim_journal(
        self, entry: JournalEntry, owner: str, now: datetime, lease_until: datetime
    ) -> ClaimResult:
        """Atomically take (or create) the journal entry for ``(connection_id, external_id)``.

        An INSERT ... ON CONFLICT DO NOTHING creates the entry; failing that, a conditional
        UPDATE takes it over only when it is unpublished and its lease is ours or has ended.
        Both run in one transaction, so exactly one of any number of concurrent claimers wins.
        """
        now = as_utc(now)
        lease_until = as_utc(lease_until)
        j = _journal.c
        values = _entry_values(entry)
        values.update(
            owner=owner,
            lease_until=lease_until,
            created_at=now if entry.created_at is None else as_utc(entry.created_at),
            updated_at=now,
        )
        create = (
            self._insert(_journal)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["connection_id", "external_id"])
        )
        take_over = (
            sa.update(_journal)
            .where(
                j.connection_id == entry.connection_id,
                j.external_id == entry.external_id,
                j.state != "published",
                sa.or_(j.owner == owner, j.lease_until.is_(None), j.lease_until < now),
            )
            .values(owner=owner, lease_until=lease_until, updated_at=now)
        )
        with self._tx(write=True) as conn:
            acquired = conn.execute(create).rowcount == 1
            if not acquired:
                acquired = conn.execute(take_over).rowcount == 1
            stored = self._read_entry(conn, entry.connection_id, entry.external_id)
        if stored is None:  # pragma: no cover - the row was written in this transaction
            raise RuntimeError("journal entry vanished inside its own transaction")
        return ClaimResult(entry=stored, acquired=acquired)

    def get_journal(self, connection_id: str, external_id: str) -> JournalEntry | None:
        """The journal entry with its attempts in order, or None."""
        with self._tx(write=False) as conn:
            return self._read_entry(conn, connection_id, external_id)

    def update_journal(self, entry: JournalEntry, owner: str) -> bool:
        """Store *entry* if *owner* still holds it; returns False (storing nothing) otherwise.

        ``created_at`` and the attempts are kept as stored (attempts only grow through
        :meth:`add_attempt`); ``updated_at`` is the entry's, or now when it has none.
        """
        j = _journal.c
        values = _entry_values(entry)
        del values["connection_id"], values["external_id"]
        values.update(
            owner=entry.owner,
            lease_until=None if entry.lease_until is None else as_utc(entry.lease_until),
            updated_at=datetime.now(timezone.utc)
            if entry.updated_at is None
            else as_utc(entry.updated_at),
        )
        stmt = (
            sa.update(_journal)
            .where(
                j.connection_id == entry.connection_id,
                j.external_id == entry.external_id,
                j.owner == owner,
            )
            .values(**values)
        )
        with self._tx(write=True) as conn:
            return conn.execute(stmt).rowcount == 1

    def add_attempt(self, connection_id: str, external_id: str, attempt: PublishAttempt) -> None:
        """Append one attempt to the entry's history."""
        stmt = sa.insert(_attempts).values(
            connection_id=connection_id,
            external_id=external_id,
            at=as_utc(attempt.at),
            step=attempt.step,
            outcome=attempt.outcome,
            detail=attempt.detail,
        )
        with self._tx(write=True) as conn:
            conn.execute(stmt)

    def purge(self, connection_id: str) -> None:
        """Drop everything stored for the connection, in one transaction."""
        with self._tx(write=True) as conn:
            for table in _PER_CONNECTION:
                conn.execute(sa.delete(table).where(table.c.connection_id == connection_id))

    @staticmethod
    def _read_entry(conn: Connection, connection_id: str, external_id: str) -> JournalEntry | None:
        j = _journal.c
        row = (
            conn.execute(
                sa.select(_journal).where(
                    j.connection_id == connection_id, j.external_id == external_id
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        a = _attempts.c
        attempts = conn.execute(
            sa.select(a.at, a.step, a.outcome, a.detail)
            .where(a.connection_id == connection_id, a.external_id == external_id)
            .order_by(a.id)
        ).all()
        return JournalEntry(
            connection_id=row["connection_id"],
            external_id=row["external_id"],
            kind=cast("Literal['purchase', 'sales']", row["kind"]),
            fingerprint=row["fingerprint"],
            state=cast("JournalState", row["state"]),
            owner=row["owner"],
            lease_until=row["lease_until"],
            contact_id=row["contact_id"],
            number=row["number"],
            kashflow_id=row["kashflow_id"],
            attachment_done=bool(row["attachment_done"]),
            payment_done=bool(row["payment_done"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            attempts=tuple(
                PublishAttempt(at=at, step=step, outcome=outcome, detail=detail)
                for at, step, outcome, detail in attempts
            ),
        )


def _entry_values(entry: JournalEntry) -> dict[str, Any]:
    """The journal row for *entry*, timestamps and owner aside."""
    return {
        "connection_id": entry.connection_id,
        "external_id": entry.external_id,
        "kind": entry.kind,
        "fingerprint": entry.fingerprint,
        "state": entry.state,
        "contact_id": entry.contact_id,
        "number": entry.number,
        "kashflow_id": entry.kashflow_id,
        "attachment_done": entry.attachment_done,
        "payment_done": entry.payment_done,
    }
