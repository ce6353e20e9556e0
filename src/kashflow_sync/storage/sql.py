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
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime, timezone
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as _pg
from sqlalchemy.dialects import sqlite as _sqlite
from sqlalchemy.engine import URL, Connection, Engine, make_url

from .. import errors
from .._account.items import ListItem
from .._closing import ClosedByWith
from .._convert import (
    as_utc,
    list_item_class,
    structure_items,
    structure_rule,
    unstructure_items,
    unstructure_rule,
)
from .._documents.model import PublishAttempt, Rule
from .._error_codes import ErrorCode
from .._journal.entry import ClaimResult, JournalEntry, JournalState
from .._journal.states import PUBLISHED
from ._key_checks import check_keys
from ._sql_engine import make_engine
from ._sql_errors import invalid_url, storage_errors
from ._sql_rows import entry_values, list_entries, read_entry
from ._sql_schema import (
    PER_CONNECTION,
    SCHEMA_VERSION,
    SchemaVersionError,
    attempts_table,
    ensure_schema,
    journal_table,
    lists_table,
    rules_table,
    state_table,
)
from .memory import check_rule_kind

__all__ = ["SCHEMA_VERSION", "SQLStorage", "SchemaVersionError"]


class SQLStorage(ClosedByWith):
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
        StorageError: the URL is not a database URL (``database_url_invalid``), names a
            database other than SQLite or PostgreSQL, or its driver is not installed
            (``database_driver_missing``). Every later failure of the database is a
            ``StorageError`` too, with the driver's exception as ``__cause__``.

    """

    def __init__(self, url: str | URL | Engine, *, create: bool = True) -> None:
        """Open (lazily) the database at *url*; tables are checked on first use."""
        if isinstance(url, Engine):
            self._engine = url
            self._owns_engine = False
        else:
            self._engine = _engine_for(url)
            self._owns_engine = True
        backend = self._engine.dialect.name
        if backend not in ("sqlite", "postgresql"):
            if self._owns_engine:
                self._engine.dispose()
            raise invalid_url(str(url), f"SQLStorage supports SQLite and PostgreSQL, not {backend}")
        self._sqlite = backend == "sqlite"
        self._create = create
        self._ready = False
        self._schema_lock = threading.Lock()
        # SQLite has one writer at a time anyway; serialising this process's threads up front
        # avoids them spinning on the busy timeout (and shares the in-memory connection safely).
        self._local_lock: threading.RLock | None = threading.RLock() if self._sqlite else None
        # The connection of this thread's open transaction() block, if any.
        self._joined = threading.local()

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

    # Transactions and schema

    def _guard(self) -> AbstractContextManager[Any]:
        return self._local_lock if self._local_lock is not None else nullcontext()

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[None]:
        """Run the calls this thread makes inside the block in one transaction.

        One commit (and, on PostgreSQL, one transaction counted by the server) for several
        journal calls that belong together. A block inside another joins it. If the block
        raises, every call made in it is rolled back. On SQLite, ``write=True`` takes the
        write lock at the start (as every write call does); a read-only block passes
        ``write=False``.
        """
        if getattr(self._joined, "conn", None) is not None:
            yield
            return
        self._ensure_schema()
        with self._begin(write=write) as conn:
            self._joined.conn = conn
            try:
                yield
            finally:
                self._joined.conn = None

    @contextmanager
    def _begin(self, *, write: bool) -> Iterator[Connection]:
        """One transaction; on SQLite a write takes the database's write lock at once.

        Inside a :meth:`transaction` block, that block's connection (no commit of its own).
        """
        joined: Connection | None = getattr(self._joined, "conn", None)
        if joined is not None:
            yield joined
            return
        with self._guard(), storage_errors(self.url), self._engine.connect() as conn:
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
                ensure_schema(conn, create=self._create, url=self.url)
            self._ready = True

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
        check_keys(connection_id)
        list_item_class(name)
        query = sa.select(lists_table.c["items"]).where(
            lists_table.c.connection_id == connection_id, lists_table.c.list_name == name
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
        check_keys(connection_id)
        data = unstructure_items(name, items)
        payload = json.dumps(data, separators=(",", ":"))
        values = {
            "connection_id": connection_id,
            "list_name": name,
            "item_count": len(data),
            "items": payload,
        }
        with self._tx(write=True) as conn:
            self._upsert(conn, lists_table, values)

    # Sync state

    def get_state(self, connection_id: str, key: str) -> str | None:
        """A stored state value, or None."""
        check_keys(connection_id, key=key)
        query = sa.select(state_table.c.value).where(
            state_table.c.connection_id == connection_id, state_table.c.key == key
        )
        with self._tx(write=False) as conn:
            return cast("str | None", conn.execute(query).scalar())

    def set_state(self, connection_id: str, key: str, value: str | None) -> None:
        """Store a state value; None deletes it."""
        check_keys(connection_id, key=key)
        with self._tx(write=True) as conn:
            if value is None:
                conn.execute(
                    sa.delete(state_table).where(
                        state_table.c.connection_id == connection_id, state_table.c.key == key
                    )
                )
            else:
                self._upsert(
                    conn, state_table, {"connection_id": connection_id, "key": key, "value": value}
                )

    def connection_ids(self) -> list[str]:
        """The connections this database holds anything for (lists, state or rules), sorted.

        Not part of the :class:`~kashflow_sync.typing.Storage` protocol: the command line reads
        it to suggest the id meant when ``--connection-id`` names none of them.
        """
        tables = (state_table, lists_table, rules_table)
        query = sa.union(*(sa.select(t.c.connection_id) for t in tables))
        with self._tx(write=False) as conn:
            return sorted(str(row[0]) for row in conn.execute(query))

    # Rules

    def get_rule(self, connection_id: str, kind: str, contact: str) -> Rule | None:
        """The rule for a supplier or customer (matched case-insensitively), or None."""
        check_keys(connection_id, contact=contact)
        check_rule_kind(kind)
        query = sa.select(rules_table.c.rule).where(
            rules_table.c.connection_id == connection_id,
            rules_table.c.kind == kind,
            rules_table.c.contact_key == contact.casefold(),
        )
        with self._tx(write=False) as conn:
            payload = conn.execute(query).scalar()
        return None if payload is None else structure_rule(json.loads(payload))

    def set_rule(self, connection_id: str, kind: str, contact: str, rule: Rule) -> None:
        """Store (or replace) the rule for a supplier or customer."""
        check_keys(connection_id, contact=contact)
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
            self._upsert(conn, rules_table, values)

    def delete_rule(self, connection_id: str, kind: str, contact: str) -> None:
        """Remove a rule; no error if there was none."""
        check_keys(connection_id, contact=contact)
        check_rule_kind(kind)
        with self._tx(write=True) as conn:
            conn.execute(
                sa.delete(rules_table).where(
                    rules_table.c.connection_id == connection_id,
                    rules_table.c.kind == kind,
                    rules_table.c.contact_key == contact.casefold(),
                )
            )

    def list_rules(self, connection_id: str, kind: str) -> Mapping[str, Rule]:
        """Every rule of that kind, by the contact name it was set for."""
        check_keys(connection_id)
        check_rule_kind(kind)
        query = (
            sa.select(rules_table.c.contact, rules_table.c.rule)
            .where(rules_table.c.connection_id == connection_id, rules_table.c.kind == kind)
            .order_by(rules_table.c.contact_key)
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
        check_keys(entry.connection_id, external_id=entry.external_id)
        now = as_utc(now)
        lease_until = as_utc(lease_until)
        j = journal_table.c
        values = entry_values(entry)
        values.update(
            owner=owner,
            lease_until=lease_until,
            created_at=now if entry.created_at is None else as_utc(entry.created_at),
            updated_at=now,
        )
        create = (
            self._insert(journal_table)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["connection_id", "external_id"])
        )
        take_over = (
            sa.update(journal_table)
            .where(
                j.connection_id == entry.connection_id,
                j.external_id == entry.external_id,
                j.state != PUBLISHED,
                sa.or_(j.owner == owner, j.lease_until.is_(None), j.lease_until < now),
            )
            .values(owner=owner, lease_until=lease_until, updated_at=now)
        )
        with self._tx(write=True) as conn:
            acquired = conn.execute(create).rowcount == 1
            if not acquired:
                acquired = conn.execute(take_over).rowcount == 1
            stored = read_entry(conn, entry.connection_id, entry.external_id)
        if stored is None:  # pragma: no cover - the row was written in this transaction
            raise RuntimeError("journal entry vanished inside its own transaction")
        return ClaimResult(entry=stored, acquired=acquired)

    def get_journal(self, connection_id: str, external_id: str) -> JournalEntry | None:
        """The journal entry with its attempts in order, or None."""
        check_keys(connection_id, external_id=external_id)
        with self._tx(write=False) as conn:
            return read_entry(conn, connection_id, external_id)

    def update_journal(self, entry: JournalEntry, owner: str | None) -> bool:
        """Store *entry* if *owner* still holds it; returns False (storing nothing) otherwise.

        ``owner=None`` stores it only while nobody holds it. ``created_at`` and the attempts
        are kept as stored (attempts only grow through
        :meth:`add_attempt`); ``updated_at`` is the entry's, or now when it has none.
        """
        check_keys(entry.connection_id, external_id=entry.external_id)
        j = journal_table.c
        values = entry_values(entry)
        del values["connection_id"], values["external_id"]
        values.update(
            owner=entry.owner,
            lease_until=None if entry.lease_until is None else as_utc(entry.lease_until),
            updated_at=datetime.now(timezone.utc)
            if entry.updated_at is None
            else as_utc(entry.updated_at),
        )
        stmt = (
            sa.update(journal_table)
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
        check_keys(connection_id, external_id=external_id)
        stmt = sa.insert(attempts_table).values(
            connection_id=connection_id,
            external_id=external_id,
            at=as_utc(attempt.at),
            step=attempt.step,
            outcome=attempt.outcome,
            detail=attempt.detail,
        )
        with self._tx(write=True) as conn:
            conn.execute(stmt)

    def database_time(self) -> datetime:
        """The database server's current time, UTC (for leases judged on one clock).

        Workers on several machines share a PostgreSQL journal; their own clocks may drift
        apart, the database's is one. SQLite is a file on one machine: its clock is that
        machine's.
        """
        if self._sqlite:
            return datetime.now(timezone.utc)
        with self._begin(write=False) as conn:
            # clock_timestamp(), not current_timestamp: inside a transaction() block the
            # latter is when the block began, not now.
            value = conn.execute(sa.select(sa.func.clock_timestamp())).scalar_one()
        stamp = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        if stamp.tzinfo is None:  # a server answering without a zone answers in UTC here
            stamp = stamp.replace(tzinfo=timezone.utc)
        return stamp.astimezone(timezone.utc)

    def list_journal(
        self,
        connection_id: str,
        *,
        states: Collection[JournalState] | None = None,
        updated_before: datetime | None = None,
        exclude_prefix: str | None = None,
        limit: int | None = None,
    ) -> Sequence[JournalEntry]:
        """The connection's journal entries, least recently updated first, with their attempts.

        See :meth:`kashflow_sync.typing.Storage.list_journal` for the arguments. The entries
        are found through the index on ``(connection_id, state, updated_at)``, so listing the
        few unfinished entries stays cheap beside millions of published ones.
        """
        check_keys(connection_id)
        with self._tx(write=False) as conn:
            return list_entries(
                conn,
                connection_id,
                states=states,
                updated_before=updated_before,
                exclude_prefix=exclude_prefix,
                limit=limit,
            )

    def purge(self, connection_id: str) -> None:
        """Drop everything stored for the connection, in one transaction."""
        check_keys(connection_id)
        with self._tx(write=True) as conn:
            for table in PER_CONNECTION:
                conn.execute(sa.delete(table).where(table.c.connection_id == connection_id))


def _engine_for(url: str | URL) -> Engine:
    """The engine for a URL given as text or URL, every failure a StorageError."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        raise invalid_url(str(url), "it does not start with a scheme such as sqlite://") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise invalid_url(
            str(url), f"SQLStorage supports SQLite and PostgreSQL, not {parsed.get_backend_name()}"
        )
    try:
        return make_engine(parsed)
    except sa.exc.NoSuchModuleError:
        raise invalid_url(str(url), f"no database is called {parsed.drivername!r}") from None
    except OSError as exc:  # the SQLite file's folder could not be created
        raise errors.StorageError(
            f"cannot create the folder for the database {parsed.database}: {exc.strerror}",
            code=ErrorCode.DATABASE_UNAVAILABLE,
            remedy="Choose a database path in a folder you can write to.",
        ) from exc
    except ImportError as exc:
        raise errors.StorageError(
            str(exc),
            code=ErrorCode.DATABASE_DRIVER_MISSING,
            remedy="Install the PostgreSQL driver: pip install 'kashflow-sync[postgres]'.",
        ) from exc
