"""The publish journal's record: what the SDK knows about one document's publication."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

import attrs

from .._documents.model import DocumentKind, PublishAttempt

__all__ = [
    "DONE_STATES",
    "JOURNAL_STATES",
    "UNFINISHED_STATES",
    "ClaimResult",
    "JournalEntry",
    "JournalState",
]

#: ``claimed``: nothing sent yet. ``sending``: the create call may have reached KashFlow (after a
#: crash, look it up before sending again). ``created``: KashFlow's number is known; attachment
#: and payment may still be missing. ``published``: every step done. ``duplicated``: published,
#: but KashFlow was later found to hold a second copy (an earlier send applied late; see
#: ``verify``): a person deletes one. ``forgotten``: published, then deleted in KashFlow and
#: forgotten (``forget``): the next publish creates it anew. ``watching``: not a document but
#: the SDK's own watch on one that was sent twice (key ``kashflow_sync:verify:...``), which
#: ``verify`` reads.
JournalState = Literal[
    "claimed", "sending", "created", "published", "duplicated", "forgotten", "watching"
]
#: Every journal state, in the order a document moves through them.
JOURNAL_STATES: tuple[str, ...] = get_args(JournalState)
#: The states of a document whose publish has not finished: what an operator looks at.
UNFINISHED_STATES: tuple[JournalState, ...] = ("claimed", "sending", "created")
#: The states of a document that is in KashFlow and is never sent again.
DONE_STATES: tuple[JournalState, ...] = ("published", "duplicated")


@attrs.frozen
class JournalEntry:
    """One document's publication record, keyed by ``(connection_id, external_id)``.

    ``owner`` and ``lease_until`` say which worker is publishing it now; another worker waits
    until the lease ends. ``fingerprint`` identifies the document content that was published.
    """

    connection_id: str
    external_id: str
    kind: DocumentKind
    fingerprint: str
    state: JournalState = "claimed"
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
