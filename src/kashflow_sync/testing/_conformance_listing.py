"""The part of the Storage conformance suite that pins ``list_journal``, the operator's listing.

:class:`~kashflow_sync.testing.conformance.StorageConformance` inherits these tests; they use
its ``storage`` and ``connection_id`` fixtures.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import attrs

from .._documents.model import PublishAttempt
from .._journal.entry import ClaimResult, JournalEntry, JournalState
from ..typing import Storage

__all__ = ["LEASE", "T0", "JournalListingConformance", "claim", "journal_entry"]

#: The suite's "now": far from any real clock, so a stored local time would show.
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)
LEASE = timedelta(minutes=5)


def journal_entry(connection_id: str, external_id: str = "doc-1") -> JournalEntry:
    """A new purchase's journal entry (fingerprint ``f1``)."""
    return JournalEntry(
        connection_id=connection_id, external_id=external_id, kind="purchase", fingerprint="f1"
    )


def claim(storage: Storage, entry: JournalEntry, owner: str, now: datetime = T0) -> ClaimResult:
    """Claim *entry* for *owner* at *now* for :data:`LEASE`."""
    return storage.claim_journal(entry, owner, now, now + LEASE)


def _put(
    storage: Storage,
    connection_id: str,
    external_id: str,
    *,
    state: JournalState = "claimed",
    minute: int = 0,
) -> JournalEntry:
    """Claim an entry and store it in *state*, last updated *minute* minutes after T0."""
    now = T0 + timedelta(minutes=minute)
    claimed = claim(storage, journal_entry(connection_id, external_id), "worker-a", now).entry
    stored = attrs.evolve(claimed, state=state, updated_at=now)
    assert storage.update_journal(stored, "worker-a")
    return stored


def _ids(entries: object) -> list[str]:
    return [entry.external_id for entry in entries]  # type: ignore[attr-defined]


class JournalListingConformance:
    """Tests of ``Storage.list_journal``; mixed into ``StorageConformance``."""

    def test_list_journal_empty(self, storage: Storage, connection_id: str) -> None:
        """A connection with no journal lists nothing."""
        assert list(storage.list_journal(connection_id)) == []

    def test_list_journal_oldest_update_first(self, storage: Storage, connection_id: str) -> None:
        """Entries come least recently updated first, whatever order they were created in."""
        _put(storage, connection_id, "b", minute=3)
        _put(storage, connection_id, "a", minute=5)
        _put(storage, connection_id, "c", minute=1)
        assert _ids(storage.list_journal(connection_id)) == ["c", "b", "a"]

    def test_list_journal_ties_by_external_id(self, storage: Storage, connection_id: str) -> None:
        """Entries updated at the same moment are ordered by external_id."""
        for external_id in ("m", "z", "a"):
            _put(storage, connection_id, external_id, minute=2)
        assert _ids(storage.list_journal(connection_id)) == ["a", "m", "z"]

    def test_list_journal_by_state(self, storage: Storage, connection_id: str) -> None:
        """Only entries in one of the states asked for are listed."""
        _put(storage, connection_id, "p", state="published", minute=1)
        _put(storage, connection_id, "s", state="sending", minute=2)
        _put(storage, connection_id, "c", state="created", minute=3)
        _put(storage, connection_id, "k", state="claimed", minute=4)
        found = storage.list_journal(connection_id, states=["sending", "created"])
        assert _ids(found) == ["s", "c"]
        assert [e.state for e in found] == ["sending", "created"]

    def test_list_journal_no_states_lists_nothing(
        self, storage: Storage, connection_id: str
    ) -> None:
        """An empty collection of states matches no entry (None means every state)."""
        _put(storage, connection_id, "s", state="sending")
        assert list(storage.list_journal(connection_id, states=[])) == []

    def test_list_journal_updated_before(self, storage: Storage, connection_id: str) -> None:
        """updated_before keeps the entries last updated strictly before that time."""
        _put(storage, connection_id, "old", minute=1)
        _put(storage, connection_id, "edge", minute=10)
        _put(storage, connection_id, "new", minute=20)
        found = storage.list_journal(connection_id, updated_before=T0 + timedelta(minutes=10))
        assert _ids(found) == ["old"]

    def test_list_journal_limit_keeps_oldest(self, storage: Storage, connection_id: str) -> None:
        """A limit returns that many entries, the least recently updated ones."""
        for minute in range(6):
            _put(storage, connection_id, f"doc-{minute}", minute=10 - minute)
        assert _ids(storage.list_journal(connection_id, limit=2)) == ["doc-5", "doc-4"]

    def test_list_journal_exclude_prefix(self, storage: Storage, connection_id: str) -> None:
        """Entries whose external_id starts with exclude_prefix are left out, case-sensitively."""
        _put(storage, connection_id, "kashflow_sync:contact:purchase:acme", minute=1)
        _put(storage, connection_id, "KASHFLOW_SYNC:mine", minute=2)
        _put(storage, connection_id, "doc-1", minute=3)
        found = storage.list_journal(connection_id, exclude_prefix="kashflow_sync:")
        assert _ids(found) == ["KASHFLOW_SYNC:mine", "doc-1"]

    def test_list_journal_prefix_is_literal(self, storage: Storage, connection_id: str) -> None:
        """Characters that are wildcards in SQL (``%``, ``_``) match only themselves."""
        _put(storage, connection_id, "a_b", minute=1)
        _put(storage, connection_id, "axb", minute=2)
        assert _ids(storage.list_journal(connection_id, exclude_prefix="a_")) == ["axb"]

    def test_list_journal_filters_combine(self, storage: Storage, connection_id: str) -> None:
        """States, age, prefix and limit apply together."""
        _put(storage, connection_id, "s1", state="sending", minute=1)
        _put(storage, connection_id, "p1", state="published", minute=2)
        _put(storage, connection_id, "kashflow_sync:c", state="sending", minute=3)
        _put(storage, connection_id, "s2", state="sending", minute=4)
        _put(storage, connection_id, "s3", state="sending", minute=5)
        _put(storage, connection_id, "s4", state="sending", minute=30)
        found = storage.list_journal(
            connection_id,
            states=["sending"],
            updated_before=T0 + timedelta(minutes=20),
            exclude_prefix="kashflow_sync:",
            limit=2,
        )
        assert _ids(found) == ["s1", "s2"]

    def test_list_journal_carries_attempts(self, storage: Storage, connection_id: str) -> None:
        """Each listed entry carries its own attempts, in the order they were added."""
        _put(storage, connection_id, "a", minute=1)
        _put(storage, connection_id, "b", minute=2)
        first = PublishAttempt(T0, "create", "uncertain", "timeout")
        second = PublishAttempt(T0 + timedelta(seconds=1), "publish", "failed", "transient: x")
        storage.add_attempt(connection_id, "a", first)
        storage.add_attempt(connection_id, "a", second)
        entries = storage.list_journal(connection_id)
        assert [list(e.attempts) for e in entries] == [[first, second], []]

    def test_list_journal_whole_entries(self, storage: Storage, connection_id: str) -> None:
        """A listed entry equals what get_journal returns for it."""
        stored = _put(storage, connection_id, "a", state="created", minute=1)
        stored = attrs.evolve(stored, number=1001, kashflow_id=55, attachment_done=True)
        storage.update_journal(stored, "worker-a")
        storage.add_attempt(connection_id, "a", PublishAttempt(T0, "create", "created", "1001"))
        expected = storage.get_journal(connection_id, "a")
        assert list(storage.list_journal(connection_id)) == [expected]

    def test_list_journal_connections_apart(
        self, storage: Storage, connection_id: str, other_connection_id: str
    ) -> None:
        """One connection's entries are never listed for another."""
        _put(storage, connection_id, "mine")
        _put(storage, other_connection_id, "theirs")
        assert _ids(storage.list_journal(connection_id)) == ["mine"]
