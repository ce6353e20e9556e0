"""The publish journal's record: what the SDK knows about one document's publication."""

from __future__ import annotations

from datetime import datetime

import attrs

from .._documents.model import DocumentKind, PublishAttempt
from .states import CLAIMED, JournalState, check_transition

__all__ = ["ClaimResult", "JournalEntry", "JournalState", "moved", "released"]


@attrs.frozen
class JournalEntry:
    """One document's publication record, keyed by ``(connection_id, external_id)``.

    ``owner`` and ``lease_until`` say which worker is publishing it now; another worker waits
    until the lease ends. ``fingerprint`` identifies the document content that was published.
    ``state`` says how far it got (see :mod:`.states` for the states and their legal moves).
    """

    connection_id: str
    external_id: str
    kind: DocumentKind
    fingerprint: str
    state: JournalState = CLAIMED
    owner: str | None = None
    lease_until: datetime | None = None
    contact_id: int | None = None
    number: int | None = None
    kashflow_id: int | None = None
    attachment_done: bool = False
    payment_done: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    attempts: tuple[PublishAttempt, ...] = ()


@attrs.frozen
class ClaimResult:
    """What ``Storage.claim_journal`` found: the entry, and whether the caller now holds it."""

    entry: JournalEntry
    acquired: bool


def moved(entry: JournalEntry, target: JournalState) -> JournalEntry:
    """*entry* in state *target*, once :func:`~.states.check_transition` allowed the move.

    Raises:
        JournalTransitionError: the move is not in the table (a bug).

    """
    check_transition(entry, target)
    return attrs.evolve(entry, state=target)


def released(entry: JournalEntry, now: datetime) -> JournalEntry:
    """*entry* held by no one (no owner, no lease), as updated at *now*."""
    return attrs.evolve(entry, owner=None, lease_until=None, updated_at=now)
