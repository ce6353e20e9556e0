"""Protocols a host application may implement: :class:`Storage` and :class:`RuleResolver`.

kashflow_sync ships :class:`~kashflow_sync.MemoryStorage` and :class:`~kashflow_sync.SQLStorage`
(SQLite and PostgreSQL) as reference implementations; ``kashflow_sync.testing.conformance``
holds the test suite any implementation can run.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ._account.items import ListItem
    from ._documents.model import Document, PublishAttempt, ResolvedDocument, Rule
    from ._journal.entry import ClaimResult, JournalEntry, JournalState

__all__ = ["RuleKind", "RuleResolver", "Storage", "TransactionalStorage"]

#: Whose rule: ``"supplier"`` or ``"customer"``.
RuleKind = Literal["supplier", "customer"]


@runtime_checkable
class Storage(Protocol):
    """Where a client keeps lists, sync state, rules and the publish journal.

    Every method takes the ``connection_id`` first: one storage serves many KashFlow accounts and
    nothing of one is visible through another. Writes are atomic: a failure leaves the previous
    value intact.

    The async client calls these (sync) methods in a worker thread. An implementation that
    never waits on I/O (in memory) may set a class attribute ``blocking = False`` so that it is
    called on the event loop instead; it is optional and not part of the protocol check.

    A storage shared by several machines may also offer ``database_time() -> datetime``
    (aware, UTC): the clients then judge leases and settle times on that one clock instead of
    each machine's own (``SQLStorage`` does). Also optional, not part of the protocol check.
    """

    # Lists
    def load_list(self, connection_id: str, name: str) -> Sequence[ListItem]:
        """Items of the named list in stored order; empty when never synced."""
        ...

    def replace_list(self, connection_id: str, name: str, items: Sequence[ListItem]) -> None:
        """Replace the named list with *items*, atomically."""
        ...

    # Sync state (small string values: last sync times, schema markers)
    def get_state(self, connection_id: str, key: str) -> str | None:
        """A stored state value, or None."""
        ...

    def set_state(self, connection_id: str, key: str, value: str | None) -> None:
        """Store a state value; None deletes it."""
        ...

    # Rules
    def get_rule(self, connection_id: str, kind: RuleKind, contact: str) -> Rule | None:
        """The rule for a supplier or customer (matched case-insensitively), or None."""
        ...

    def set_rule(self, connection_id: str, kind: RuleKind, contact: str, rule: Rule) -> None:
        """Store (or replace) the rule for a supplier or customer."""
        ...

    def delete_rule(self, connection_id: str, kind: RuleKind, contact: str) -> None:
        """Remove a rule; no error if there was none."""
        ...

    def list_rules(self, connection_id: str, kind: RuleKind) -> Mapping[str, Rule]:
        """Every rule of that kind, by the contact name it was set for."""
        ...

    # Publish journal
    def claim_journal(
        self, entry: JournalEntry, owner: str, now: datetime, lease_until: datetime
    ) -> ClaimResult:
        """Atomically take (or create) the journal entry for ``(connection_id, external_id)``.

        If no entry exists, *entry* is stored with ``owner`` and ``lease_until`` and returned with
        ``acquired=True``. If one exists and is not published and its lease ended before *now*
        (or *owner* already holds it), it is taken over and returned with ``acquired=True``.
        Otherwise the stored entry is returned with ``acquired=False``.
        """
        ...

    def get_journal(self, connection_id: str, external_id: str) -> JournalEntry | None:
        """The journal entry, or None."""
        ...

    def update_journal(self, entry: JournalEntry, owner: str | None) -> bool:
        """Store *entry* if *owner* still holds it; returns False (storing nothing) otherwise.

        ``owner=None`` stores it only while nobody holds it (the stored owner is None): how a
        published entry is taken for ``forget`` or marked ``duplicated`` by ``verify``.
        """
        ...

    def add_attempt(self, connection_id: str, external_id: str, attempt: PublishAttempt) -> None:
        """Append one attempt to the entry's history."""
        ...

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

        What an operator reads to see what is stuck (``client.journal()``); the SDK never calls
        it while publishing. Ties on ``updated_at`` are ordered by ``external_id``.

        Args:
            connection_id: the connection whose journal is listed.
            states: only entries in one of these states; None for every state.
            updated_before: only entries whose ``updated_at`` is earlier than this
                (timezone-aware) time.
            exclude_prefix: leave out entries whose ``external_id`` starts with this (the SDK
                passes its reserved prefix to hide the entries of the contacts it created).
            limit: at most this many entries (the oldest); None for all.

        """
        ...

    def purge(self, connection_id: str) -> None:
        """Drop everything stored for the connection."""
        ...


@runtime_checkable
class TransactionalStorage(Storage, Protocol):
    """A :class:`Storage` that can run several calls as one transaction.

    The publish flow records each step with a few calls that belong together (the journal
    entry, its attempts, the keys that point at it); a storage offering :meth:`transaction`
    makes them one commit, and one round trip fewer each. A storage without it still works:
    the SDK then makes the same calls one by one, in the same order (each its own
    transaction, as before), and says so once in the log. ``MemoryStorage`` and
    ``SQLStorage`` offer it; ``kashflow_sync.testing.conformance`` tests it.
    """

    def transaction(self, *, write: bool = True) -> AbstractContextManager[None]:
        """A block whose calls, made on this thread, run as one transaction.

        - The calls run in order and see each other's writes; the block commits once, when
          it ends.
        - Other threads and processes never see a part of the block: a compare-and-set
          (``claim_journal``, ``update_journal``) inside it is as safe as outside.
        - A block opened inside another joins it.
        - If the block raises, the storage may roll back what it ran, or keep it (a storage
          whose calls cannot fail half-way, such as one in memory): the SDK orders the calls
          of a block so that either is safe.

        Args:
            write: False for a block that only reads (SQLite then takes no write lock).

        """
        ...


@runtime_checkable
class RuleResolver(Protocol):
    """Fills a document's blanks from the rules for its supplier or customer."""

    def resolve(self, connection_id: str, document: Document) -> ResolvedDocument:
        """Return the document with defaults filled in and what set each field."""
        ...
