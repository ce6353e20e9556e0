"""The tables of :class:`~kashflow_sync.storage.SQLStorage`, their version, and creating them.

The tables are described in :mod:`kashflow_sync.storage.sql`. :func:`ensure_schema` creates them
in an empty database and refuses one whose tables are of another version.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

from .. import errors
from .._convert import as_utc
from .._error_codes import ErrorCode

__all__ = [
    "PER_CONNECTION",
    "SCHEMA_VERSION",
    "SchemaVersionError",
    "attempts_table",
    "ensure_schema",
    "journal_listing_index",
    "journal_table",
    "lists_table",
    "rules_table",
    "state_table",
]

#: The version of the tables this release writes; bumped with every schema change.
#: 2: the journal's ``kind`` holds credit-note kinds (``purchase_credit_note``: 20 characters).
SCHEMA_VERSION = 2

#: Older versions this release upgrades in place, each by changes that keep every row.
_UPGRADABLE = frozenset({1})


# Arbitrary constant key for the PostgreSQL advisory lock that serialises schema creation
# between processes starting at the same moment.
_SCHEMA_LOCK_KEY = 0x6B66_7379_6E63  # "kfsync"


class SchemaVersionError(errors.StorageError):
    """The database's kashflow_sync tables are missing or of a version this release cannot use."""

    default_code = ErrorCode.SCHEMA_VERSION
    default_remedy = (
        "Use a database written by this kashflow_sync version (or upgrade kashflow_sync to the "
        "version that wrote it); a new database is created on first use."
    )


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


def _per_connection(name: str, *columns: sa.Column[Any]) -> sa.Table:
    """A table whose rows belong to one connection: its key starts with ``connection_id``."""
    return sa.Table(
        name, _metadata, sa.Column("connection_id", sa.String, primary_key=True), *columns
    )


#: Each list of a connection as one JSON array.
lists_table = _per_connection(
    "kashflow_sync_lists",
    sa.Column("list_name", sa.String(64), primary_key=True),
    sa.Column("item_count", sa.Integer, nullable=False),
    sa.Column("items", sa.Text, nullable=False),
)

#: Sync state: ``(connection_id, key) -> value``.
state_table = _per_connection(
    "kashflow_sync_state",
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

#: Supplier and customer rules, keyed by the casefolded contact.
rules_table = _per_connection(
    "kashflow_sync_rules",
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("contact_key", sa.String, primary_key=True),
    sa.Column("contact", sa.String, nullable=False),
    sa.Column("rule", sa.Text, nullable=False),
)

#: The publish journal, one row per ``(connection_id, external_id)``.
journal_table = _per_connection(
    "kashflow_sync_journal",
    sa.Column("external_id", sa.String, primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
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

#: What ``list_journal`` reads: the few unfinished entries by state and age, without scanning
#: the published ones. Added after version 1 shipped; it changes no data, so it is created in
#: existing version-1 databases too (see :func:`ensure_schema`) without a version bump.
journal_listing_index = sa.Index(
    "ix_kashflow_sync_journal_state_updated",
    journal_table.c.connection_id,
    journal_table.c.state,
    journal_table.c.updated_at,
)

#: Publish attempts, one row each, in insertion order.
attempts_table = sa.Table(
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

#: The tables holding rows per connection, which purging a connection empties.
PER_CONNECTION = (lists_table, state_table, rules_table, journal_table, attempts_table)


def ensure_schema(conn: Connection, *, create: bool, url: str) -> None:
    """Create the tables when the database has none, or check that theirs are this version.

    Run inside one write transaction; on PostgreSQL it first takes an advisory lock, so
    processes starting at the same moment create the tables once.

    Args:
        conn: a connection with its write transaction begun.
        create: create missing tables; with False a database without them is refused.
        url: the database URL, password masked, for the error messages.

    Raises:
        SchemaVersionError: the tables are missing and *create* is False, or they are of
            another schema version.

    """
    if conn.dialect.name != "sqlite":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_SCHEMA_LOCK_KEY)))
    version = _schema_version(conn)
    if version is None:
        if not create:
            raise SchemaVersionError(
                f"no kashflow_sync tables in {url}; "
                "open it once with SQLStorage(url, create=True) to create them"
            )
        _metadata.create_all(conn)
        conn.execute(sa.insert(_schema).values(id=1, version=SCHEMA_VERSION))
    elif version == SCHEMA_VERSION:
        if create:
            # A database created before the index existed gets it once (then this is a lookup).
            journal_listing_index.create(conn, checkfirst=True)
    elif version in _UPGRADABLE:
        _upgrade(conn, version)
    else:
        newer = version > SCHEMA_VERSION
        raise SchemaVersionError(
            f"the kashflow_sync tables in {url} are schema version {version}; "
            f"this kashflow_sync uses version {SCHEMA_VERSION}"
            + (": upgrade kashflow_sync to use this database" if newer else "")
        )


def _upgrade(conn: Connection, version: int) -> None:
    """Bring version-*version* tables to :data:`SCHEMA_VERSION`, keeping every row.

    From 1: the journal's ``kind`` widens from 16 to 32 characters (SQLite does not enforce a
    length, so only PostgreSQL's column changes), and the listing index is made sure of.
    """
    if version == 1 and conn.dialect.name != "sqlite":
        conn.exec_driver_sql(f"ALTER TABLE {journal_table.name} ALTER COLUMN kind TYPE VARCHAR(32)")
    journal_listing_index.create(conn, checkfirst=True)
    conn.execute(sa.update(_schema).values(version=SCHEMA_VERSION))


def _schema_version(conn: Connection) -> int | None:
    if not sa.inspect(conn).has_table(_schema.name):
        return None
    return conn.execute(sa.select(sa.func.max(_schema.c.version))).scalar()
