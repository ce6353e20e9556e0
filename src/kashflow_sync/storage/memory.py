"""``MemoryStorage``: the default :class:`~kashflow_sync.typing.Storage`, kept in process memory."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime, timezone

import attrs

from .._account.items import ListItem
from .._convert import as_utc, list_item_class
from .._documents.model import PublishAttempt, Rule
from .._journal.entry import ClaimResult, JournalEntry, JournalState
from .._journal.states import PUBLISHED
from ._key_checks import check_keys

__all__ = ["MemoryStorage"]

#: Whose rules a storage keeps.
RULE_KINDS = ("supplier", "customer")


def check_rule_kind(kind: str) -> None:
    """Refuse a rule kind other than ``"supplier"`` or ``"customer"``.

    Raises:
        ValueError: *kind* is not a known rule kind.

    """
    if kind not in RULE_KINDS:
        raise ValueError(f"rule kind must be 'supplier' or 'customer', not {kind!r}")


@attrs.define
class _Connection:
    """Everything stored for one connection_id."""

    lists: dict[str, tuple[ListItem, ...]] = attrs.Factory(dict)
    state: dict[str, str] = attrs.Factory(dict)
    # (kind, casefolded contact) -> (contact as set, rule)
    rules: dict[tuple[str, str], tuple[str, Rule]] = attrs.Factory(dict)
    # external_id -> entry without attempts; attempts kept apart, as add_attempt appends them
    journal: dict[str, JournalEntry] = attrs.Factory(dict)
    attempts: dict[str, list[PublishAttempt]] = attrs.Factory(dict)


class MemoryStorage:
    """Lists, state, rules and publish journal in memory; lost when the process ends.

    Thread-safe: one lock guards every call. Lists are stored as immutable tuples and
    :meth:`load_list` hands back the stored tuple itself, so reading a 20,000-item list copies
    nothing. Journal timestamps must be timezone-aware and are kept in UTC.
    """

    #: Never waits on I/O: the async client calls it on the event loop, not in a thread.
    blocking = False

    def __init__(self) -> None:
        """Start empty."""
        # Reentrant: a transaction() block holds it around the calls made inside it.
        self._lock = threading.RLock()
        self._connections: dict[str, _Connection] = {}

    @contextlib.contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[None]:
        """Run the calls this thread makes inside the block with no other thread's between.

        Each call applies at once and cannot fail half-way, so there is nothing to roll back:
        a block that raises keeps the calls made before the error.
        """
        del write  # every call here takes the one lock
        with self._lock:
            yield

    def __repr__(self) -> str:
        with self._lock:
            count = len(self._connections)
        return f"MemoryStorage({count} connection(s))"

    def _conn(self, connection_id: str) -> _Connection:
        conn = self._connections.get(connection_id)
        if conn is None:
            conn = self._connections[connection_id] = _Connection()
        return conn

    # Lists

    def load_list(self, connection_id: str, name: str) -> Sequence[ListItem]:
        """Items of the named list in stored order; empty when never synced.

        Raises:
            KeyError: *name* is not one of ``LIST_NAMES``.

        """
        check_keys(connection_id)
        list_item_class(name)
        with self._lock:
            conn = self._connections.get(connection_id)
            return () if conn is None else conn.lists.get(name, ())

    def replace_list(self, connection_id: str, name: str, items: Sequence[ListItem]) -> None:
        """Replace the named list with *items*, atomically.

        Raises:
            KeyError: *name* is not one of ``LIST_NAMES``.
            TypeError: an item is not of the list's item class (the old list is kept).

        """
        check_keys(connection_id)
        cls = list_item_class(name)
        stored = tuple(items)
        for index, item in enumerate(stored):
            if not isinstance(item, cls):
                raise TypeError(
                    f"{name}[{index}] must be a {cls.__name__}, not {type(item).__name__}"
                )
        with self._lock:
            self._conn(connection_id).lists[name] = stored

    # Sync state

    def get_state(self, connection_id: str, key: str) -> str | None:
        """A stored state value, or None."""
        check_keys(connection_id, key=key)
        with self._lock:
            conn = self._connections.get(connection_id)
            return None if conn is None else conn.state.get(key)

    def set_state(self, connection_id: str, key: str, value: str | None) -> None:
        """Store a state value; None deletes it."""
        check_keys(connection_id, key=key)
        with self._lock:
            if value is None:
                conn = self._connections.get(connection_id)
                if conn is not None:
                    conn.state.pop(key, None)
            else:
                self._conn(connection_id).state[key] = value

    # Rules

    def get_rule(self, connection_id: str, kind: str, contact: str) -> Rule | None:
        """The rule for a supplier or customer (matched case-insensitively), or None."""
        check_keys(connection_id, contact=contact)
        check_rule_kind(kind)
        with self._lock:
            conn = self._connections.get(connection_id)
            found = None if conn is None else conn.rules.get((kind, contact.casefold()))
            return None if found is None else found[1]

    def set_rule(self, connection_id: str, kind: str, contact: str, rule: Rule) -> None:
        """Store (or replace) the rule for a supplier or customer."""
        check_keys(connection_id, contact=contact)
        check_rule_kind(kind)
        if not isinstance(rule, Rule):
            raise TypeError(f"rule must be a kashflow_sync.Rule, not {type(rule).__name__}")
        with self._lock:
            self._conn(connection_id).rules[(kind, contact.casefold())] = (contact, rule)

    def delete_rule(self, connection_id: str, kind: str, contact: str) -> None:
        """Remove a rule; no error if there was none."""
        check_keys(connection_id, contact=contact)
        check_rule_kind(kind)
        with self._lock:
            conn = self._connections.get(connection_id)
            if conn is not None:
                conn.rules.pop((kind, contact.casefold()), None)

    def list_rules(self, connection_id: str, kind: str) -> Mapping[str, Rule]:
        """Every rule of that kind, by the contact name it was set for."""
        check_keys(connection_id)
        check_rule_kind(kind)
        with self._lock:
            conn = self._connections.get(connection_id)
            if conn is None:
                return {}
            return {name: rule for (k, _), (name, rule) in conn.rules.items() if k == kind}

    # Publish journal

    def claim_journal(
        self, entry: JournalEntry, owner: str, now: datetime, lease_until: datetime
    ) -> ClaimResult:
        """Atomically take (or create) the journal entry for ``(connection_id, external_id)``."""
        check_keys(entry.connection_id, external_id=entry.external_id)
        now = as_utc(now)
        lease_until = as_utc(lease_until)
        with self._lock:
            conn = self._conn(entry.connection_id)
            stored = conn.journal.get(entry.external_id)
            if stored is None:
                stored = _stored(
                    entry,
                    owner=owner,
                    lease_until=lease_until,
                    created_at=entry.created_at or now,
                    updated_at=now,
                )
                acquired = True
            elif stored.state != PUBLISHED and (
                stored.owner == owner or stored.lease_until is None or stored.lease_until < now
            ):
                stored = attrs.evolve(stored, owner=owner, lease_until=lease_until, updated_at=now)
                acquired = True
            else:
                acquired = False
            conn.journal[entry.external_id] = stored
            return ClaimResult(entry=self._with_attempts(conn, stored), acquired=acquired)

    def get_journal(self, connection_id: str, external_id: str) -> JournalEntry | None:
        """The journal entry with its attempts in order, or None."""
        check_keys(connection_id, external_id=external_id)
        with self._lock:
            conn = self._connections.get(connection_id)
            stored = None if conn is None else conn.journal.get(external_id)
            return None if conn is None or stored is None else self._with_attempts(conn, stored)

    def update_journal(self, entry: JournalEntry, owner: str | None) -> bool:
        """Store *entry* if *owner* still holds it; returns False (storing nothing) otherwise.

        ``owner=None`` stores it only while nobody holds it. ``created_at`` and the attempts
        are kept as stored (attempts only grow through
        :meth:`add_attempt`); ``updated_at`` is the entry's, or now when it has none.
        """
        check_keys(entry.connection_id, external_id=entry.external_id)
        with self._lock:
            conn = self._connections.get(entry.connection_id)
            stored = None if conn is None else conn.journal.get(entry.external_id)
            if conn is None or stored is None or stored.owner != owner:
                return False
            conn.journal[entry.external_id] = _stored(
                entry,
                lease_until=entry.lease_until,
                created_at=stored.created_at,
                updated_at=entry.updated_at or datetime.now(timezone.utc),
            )
            return True

    def add_attempt(self, connection_id: str, external_id: str, attempt: PublishAttempt) -> None:
        """Append one attempt to the entry's history."""
        check_keys(connection_id, external_id=external_id)
        at = as_utc(attempt.at)
        if at is not attempt.at:
            attempt = attrs.evolve(attempt, at=at)
        with self._lock:
            self._conn(connection_id).attempts.setdefault(external_id, []).append(attempt)

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

        See :meth:`kashflow_sync.typing.Storage.list_journal` for the arguments.
        """
        check_keys(connection_id)
        before = None if updated_before is None else as_utc(updated_before)
        wanted = None if states is None else frozenset(states)
        with self._lock:
            conn = self._connections.get(connection_id)
            if conn is None:
                return []
            found = [
                entry
                for entry in conn.journal.values()
                if (wanted is None or entry.state in wanted)
                and (before is None or (entry.updated_at is not None and entry.updated_at < before))
                and not (exclude_prefix and entry.external_id.startswith(exclude_prefix))
            ]
            found.sort(key=_listing_order)
            if limit is not None:
                found = found[:limit]
            return [self._with_attempts(conn, entry) for entry in found]

    def purge(self, connection_id: str) -> None:
        """Drop everything stored for the connection."""
        check_keys(connection_id)
        with self._lock:
            self._connections.pop(connection_id, None)

    def close(self) -> None:
        """Nothing to release; present so every storage can be closed alike."""

    @staticmethod
    def _with_attempts(conn: _Connection, entry: JournalEntry) -> JournalEntry:
        attempts = conn.attempts.get(entry.external_id)
        return attrs.evolve(entry, attempts=tuple(attempts)) if attempts else entry


#: Sorts before every real time: entries without one (never stored by the SDK) come first.
_NO_TIME = datetime.min.replace(tzinfo=timezone.utc)


def _listing_order(entry: JournalEntry) -> tuple[datetime, str]:
    return (entry.updated_at or _NO_TIME, entry.external_id)


def _stored(
    entry: JournalEntry,
    *,
    lease_until: datetime | None,
    created_at: datetime | None,
    updated_at: datetime | None,
    owner: str | None = None,
) -> JournalEntry:
    """*entry* as kept: these fields set, timestamps in UTC (naive ones refused), no attempts.

    One copy per store: the journal is written several times per publish, so this is kept to
    a single ``evolve``.
    """
    return attrs.evolve(
        entry,
        owner=entry.owner if owner is None else owner,
        lease_until=None if lease_until is None else as_utc(lease_until),
        created_at=None if created_at is None else as_utc(created_at),
        updated_at=None if updated_at is None else as_utc(updated_at),
        attempts=(),
    )
