"""Reading the publish journal of :class:`~kashflow_sync.storage.SQLStorage`: rows to entries.

One entry is read by its key (with its attempts in insertion order); a listing for operators
selects entries by state and age on the index ``(connection_id, state, updated_at)`` and then
fetches the attempts of just those entries, a few hundred keys per statement.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, cast

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from .._convert import as_utc
from .._documents.model import DocumentKind, PublishAttempt
from .._journal.entry import JournalEntry, JournalState
from ._sql_schema import attempts_table, journal_table

__all__ = ["entry_values", "list_entries", "read_entry"]

#: Keys per ``IN (...)`` list when fetching the attempts of listed entries.
_ATTEMPT_BATCH = 500


#: What :func:`entry_values` leaves out: the lease (claims write it) and the timestamps (each
#: write sets its own), and the attempts (a table of their own). By name, not by attribute
#: object: resolving the record's type hints (the converter does) changes an attribute's hash.
_NOT_IN_ENTRY_VALUES = attrs.filters.exclude(
    "owner", "lease_until", "created_at", "updated_at", "attempts"
)


def entry_values(entry: JournalEntry) -> dict[str, Any]:
    """The journal row for *entry*, timestamps and owner aside."""
    return attrs.asdict(entry, recurse=False, filter=_NOT_IN_ENTRY_VALUES)


def _entry(row: RowMapping, attempts: Sequence[PublishAttempt]) -> JournalEntry:
    return JournalEntry(
        connection_id=row["connection_id"],
        external_id=row["external_id"],
        kind=cast("DocumentKind", row["kind"]),
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
        attempts=tuple(attempts),
    )


def _attempt_columns() -> tuple[sa.Column[Any], ...]:
    a = attempts_table.c
    return (a.at, a.step, a.outcome, a.detail)


def read_entry(conn: Connection, connection_id: str, external_id: str) -> JournalEntry | None:
    """The entry with its attempts in insertion order, or None."""
    j = journal_table.c
    row = (
        conn.execute(
            sa.select(journal_table).where(
                j.connection_id == connection_id, j.external_id == external_id
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    a = attempts_table.c
    attempts = conn.execute(
        sa.select(*_attempt_columns())
        .where(a.connection_id == connection_id, a.external_id == external_id)
        .order_by(a.id)
    ).all()
    return _entry(row, [PublishAttempt(*fields) for fields in attempts])


def list_entries(
    conn: Connection,
    connection_id: str,
    *,
    states: Collection[JournalState] | None,
    updated_before: datetime | None,
    exclude_prefix: str | None,
    limit: int | None,
) -> list[JournalEntry]:
    """Entries of one connection, least recently updated first, each with its attempts."""
    j = journal_table.c
    query = sa.select(journal_table).where(j.connection_id == connection_id)
    if states is not None:
        query = query.where(j.state.in_(sorted(states)))
    if updated_before is not None:
        query = query.where(j.updated_at < as_utc(updated_before))
    if exclude_prefix:
        # substr, not LIKE: SQLite's LIKE ignores case, and a host's id may differ in case only.
        query = query.where(sa.func.substr(j.external_id, 1, len(exclude_prefix)) != exclude_prefix)
    query = query.order_by(j.updated_at, j.external_id)
    if limit is not None:
        query = query.limit(limit)
    rows = conn.execute(query).mappings().all()
    attempts: dict[str, list[PublishAttempt]] = {}
    keys = [row["external_id"] for row in rows]
    a = attempts_table.c
    for start in range(0, len(keys), _ATTEMPT_BATCH):
        batch = keys[start : start + _ATTEMPT_BATCH]
        for external_id, *fields in conn.execute(
            sa.select(a.external_id, *_attempt_columns())
            .where(a.connection_id == connection_id, a.external_id.in_(batch))
            .order_by(a.id)
        ):
            attempts.setdefault(external_id, []).append(PublishAttempt(*fields))
    return [_entry(row, attempts.get(row["external_id"], ())) for row in rows]
