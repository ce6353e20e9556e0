"""The publish journal as a state machine: its states, and the one table of legal moves.

Every journal entry records one thing, told by its key (its *role*): a ``document`` (keyed by
its external id), a new ``contact`` the SDK creates, an invoice's ``content`` claimed before
its first send, a ``watch`` on a document sent twice, or a ``list_lock`` held while a created
contact is added to a stored list. All share the seven states, but each role moves through
them its own way, so :data:`TRANSITIONS` is keyed by role, then by the state an entry is in,
and lists the states it may move to, each with what makes it move (as h11's table is keyed by
client and server).

Every save that names a state goes through :func:`moved` (``Lease.save`` does): a move the
table does not list raises :class:`JournalTransitionError`, before anything is stored. A save
that keeps the state (a lease renewed, a step done, an id learned) is no move and is not
checked. The states are plain strings (``entry.state == "published"`` holds); the names below
are their typed spellings, for code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal, Protocol, get_args

from .._storage_keys import (
    CONTACT_KEY_PREFIX,
    CONTENT_KEY_PREFIX,
    LIST_LOCK_PREFIX,
    VERIFY_KEY_PREFIX,
)

__all__ = [
    "ABSENT_STATES",
    "CLAIMED",
    "CREATED",
    "DONE_STATES",
    "DUPLICATED",
    "FORGOTTEN",
    "JOURNAL_STATES",
    "PUBLISHED",
    "ROLES",
    "SENDING",
    "TRANSITIONS",
    "UNCREATED_STATES",
    "UNFINISHED_STATES",
    "WATCHING",
    "EntryRole",
    "JournalState",
    "JournalTransitionError",
    "check_transition",
    "role_of",
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

CLAIMED: Final = "claimed"
SENDING: Final = "sending"
CREATED: Final = "created"
PUBLISHED: Final = "published"
DUPLICATED: Final = "duplicated"
FORGOTTEN: Final = "forgotten"
WATCHING: Final = "watching"

#: Every journal state, in the order a document moves through them.
JOURNAL_STATES: tuple[JournalState, ...] = get_args(JournalState)
#: The states of a document whose publish has not finished: what an operator looks at.
UNFINISHED_STATES: tuple[JournalState, ...] = (CLAIMED, SENDING, CREATED)
#: The states of a document that is in KashFlow and is never sent again.
DONE_STATES: tuple[JournalState, ...] = (PUBLISHED, DUPLICATED)
#: The states of a document whose create is still to be sent (``claimed``) or settled
#: (``sending``): no KashFlow number yet.
UNCREATED_STATES: tuple[JournalState, ...] = (CLAIMED, SENDING)
#: The states of a document the journal knows no copy of in KashFlow: nothing was sent
#: (``claimed``), or its copy was deleted and forgotten (``forgotten``).
ABSENT_STATES: tuple[JournalState, ...] = (CLAIMED, FORGOTTEN)

#: What a journal entry records, told by its key (see :func:`role_of`).
EntryRole = Literal["document", "contact", "content", "watch", "list_lock"]
#: Every role, documents first.
ROLES: tuple[EntryRole, ...] = get_args(EntryRole)

#: The legal moves: role -> the state an entry is in -> {a state it may move to: what moves
#: it}. Every entry starts ``claimed`` (``Storage.claim_journal`` creates it so). Staying in a
#: state is listed only where the flow names the state again on purpose.
TRANSITIONS: Mapping[EntryRole, Mapping[JournalState, Mapping[JournalState, str]]] = {
    "document": {
        CLAIMED: {SENDING: "the create is about to be sent"},
        SENDING: {
            SENDING: "sent again, once KashFlow was shown not to hold it",
            CLAIMED: "KashFlow refused the create, or it was never sent",
            CREATED: "KashFlow answered its number, or it was found in KashFlow",
        },
        CREATED: {
            PUBLISHED: "the attachment, credit and payment are done",
            DUPLICATED: "verify found a second copy in KashFlow",
            FORGOTTEN: "forget: KashFlow confirmed it deleted",
        },
        PUBLISHED: {
            DUPLICATED: "verify found a second copy in KashFlow",
            FORGOTTEN: "forget: KashFlow confirmed it deleted",
        },
        DUPLICATED: {
            PUBLISHED: (
                "verify: the other copy was deleted; or forget: the journal's copy was "
                "deleted and the other one is adopted"
            ),
            FORGOTTEN: "forget: KashFlow confirmed every copy deleted",
        },
        FORGOTTEN: {CLAIMED: "published again: it is created anew"},
    },
    "contact": {
        CLAIMED: {SENDING: "the insert is about to be sent under the code its name gives"},
        SENDING: {
            SENDING: "sent again under the next code (the last one was taken)",
            CLAIMED: "KashFlow refused the insert, or every code tried was taken",
            PUBLISHED: "KashFlow answered its id, or it was found under its code",
        },
        PUBLISHED: {},
    },
    "content": {
        CLAIMED: {PUBLISHED: "the owning document's number is known: it is in KashFlow"},
        PUBLISHED: {CLAIMED: "its owner was forgotten: another external id takes it"},
    },
    "watch": {
        CLAIMED: {WATCHING: "a document was sent again: look for a late copy"},
        WATCHING: {
            WATCHING: "sent again while watched: watched afresh",
            PUBLISHED: "the watch ended: copy resolved, horizon passed, or nothing to watch",
        },
        PUBLISHED: {WATCHING: "sent again after its watch ended: watched again"},
    },
    "list_lock": {CLAIMED: {}},
}


class _Entry(Protocol):
    """What a move needs of a journal entry (``JournalEntry`` has it; this module sits below it)."""

    @property
    def external_id(self) -> str: ...

    @property
    def state(self) -> JournalState: ...


class JournalTransitionError(RuntimeError):
    """A journal entry was about to move in a way :data:`TRANSITIONS` does not allow.

    A bug in kashflow_sync, never the caller's doing: nothing of the move was stored.
    """

    def __init__(
        self, external_id: str, role: EntryRole, source: JournalState, target: JournalState
    ) -> None:
        allowed = ", ".join(TRANSITIONS[role].get(source, {})) or "nothing"
        super().__init__(
            f"journal entry {external_id!r} ({role}) cannot move from {source!r} to "
            f"{target!r} (from {source!r} only to: {allowed}); nothing was stored. This is a "
            "bug in kashflow_sync: please report it."
        )
        self.external_id = external_id
        self.role = role
        self.source = source
        self.target = target


_PREFIXES: tuple[tuple[str, EntryRole], ...] = (
    (CONTACT_KEY_PREFIX, "contact"),
    (CONTENT_KEY_PREFIX, "content"),
    (VERIFY_KEY_PREFIX, "watch"),
    (LIST_LOCK_PREFIX, "list_lock"),
)


def role_of(external_id: str) -> EntryRole:
    """What the journal entry keyed *external_id* records (a document unless an SDK key)."""
    for prefix, role in _PREFIXES:
        if external_id.startswith(prefix):
            return role
    return "document"


def check_transition(entry: _Entry, target: JournalState) -> None:
    """Raise unless :data:`TRANSITIONS` lets *entry* move from its state to *target*.

    Raises:
        JournalTransitionError: the move is not in the table (a bug).

    """
    role = role_of(entry.external_id)
    if target not in TRANSITIONS[role].get(entry.state, {}):
        raise JournalTransitionError(entry.external_id, role, entry.state, target)
