"""One publish call's lease on journal entries.

A :class:`Lease` belongs to exactly one publish call (never to a thread or a client), so two
publishes running on one thread, one event loop or one process exclude each other exactly as two
workers on two machines do: through ``Storage.claim_journal`` and compare-and-set updates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Final

import attrs

from .. import errors
from .._documents.model import PublishAttempt
from .._error_codes import ErrorCode
from .._journal.entry import ClaimResult, JournalEntry, moved, released
from .._journal.states import PUBLISHED, JournalState
from .._storage_keys import (
    CONTACT_KEY_PREFIX,
    CONTENT_KEY_PREFIX,
    LIST_LOCK_PREFIX,
    RESERVED_PREFIX,
)
from .effects import (
    AddAttempt,
    Batch,
    ClaimJournal,
    Flow,
    GetJournal,
    HolderGone,
    LeaseWait,
    Renewal,
    Sleep,
    StorageEffect,
    UpdateJournal,
    ask,
)

__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_WAIT_POLL",
    "FORGET_OWNER_PREFIX",
    "KEEP",
    "Keep",
    "Lease",
    "describe_holder",
    "held_by_forget",
    "owner_process",
    "wait_message",
]

#: How long a worker owns a document it is publishing before another may take it over.
DEFAULT_LEASE = timedelta(minutes=5)
#: Seconds between looks at a document another worker is publishing.
DEFAULT_WAIT_POLL = 0.05


def lease_lost(external_id: str, *, sent: bool = True) -> errors.PublishUncertainError:
    """The error for a journal entry another worker took over (or whose lease ran out).

    Args:
        external_id: the document.
        sent: False when raised before a write went out (the pre-write fence): nothing of
            that write reached KashFlow.

    """
    return errors.PublishUncertainError(
        f"another worker took over publishing {external_id!r}, or this call's hold on it ran "
        "out" + ("" if sent else "; nothing was sent"),
        code=ErrorCode.LEASE_LOST,
        remedy="Let the other worker finish; publish again later to get its result.",
        request_sent=sent,
    )


class Keep:
    """The type of :data:`KEEP`: a field :meth:`Lease.save` leaves as the entry has it."""

    def __repr__(self) -> str:
        return "KEEP"


#: "Leave this field as it is" (None is a value some fields are saved with).
KEEP: Final = Keep()


#: Lease owners of ``forget`` calls start with this: a published entry held by one is being
#: checked against KashFlow, and a publish waits for the verdict (forgotten: create it anew).
FORGET_OWNER_PREFIX = "forget:"


def held_by_forget(entry: JournalEntry, now: datetime) -> bool:
    """Whether a ``forget`` call holds *entry* now (a live lease of a forget owner)."""
    return (
        entry.owner is not None
        and entry.owner.startswith(FORGET_OWNER_PREFIX)
        and entry.lease_until is not None
        and entry.lease_until > now
    )


#: A lease owner the clients make: ``<call id>:<pid>@<host>`` (see ``_clients.base.new_owner``).
_OWNER = re.compile(r"^(?P<call>[0-9a-f]+):(?P<pid>[0-9]+)@(?P<host>.+)$")


def owner_process(owner: str) -> tuple[int, str] | None:
    """``(pid, host)`` a publish call's lease owner records; None for an id of another form."""
    found = _OWNER.match(owner)
    return None if found is None else (int(found["pid"]), found["host"])


def describe_holder(owner: str | None) -> str:
    """Who *owner* is, in words: the process and host it records, or the id as it is."""
    if owner is None:
        return "another worker"
    forget = owner.startswith(FORGET_OWNER_PREFIX)
    bare = owner.removeprefix(FORGET_OWNER_PREFIX)
    found = _OWNER.match(bare)
    who = (
        f"process {found['pid']} on {found['host']} (call {found['call']})"
        if found
        else f"worker {bare!r}"
    )
    return f"a `forget` call of {who}" if forget else who


def _what_is_held(entry: JournalEntry) -> str:
    """*entry* in words: a document by its id, or what one of the SDK's own entries guards."""
    key = entry.external_id
    if key.startswith(CONTENT_KEY_PREFIX):
        # A content claim's fingerprint is the external id of the document holding it.
        return f"the same document (contact, reference and total) as {entry.fingerprint!r}"
    if key.startswith(CONTACT_KEY_PREFIX):
        return f"the new {key.removeprefix(CONTACT_KEY_PREFIX).partition(':')[0]} it needs"
    if key.startswith(LIST_LOCK_PREFIX):
        return f"the stored list of {key.removeprefix(LIST_LOCK_PREFIX)}"
    return repr(key)


def wait_message(entry: JournalEntry, now: datetime) -> str:
    """Why a publish waits on *entry* (as stored, held by another): whose hold, until when."""
    holder = describe_holder(entry.owner)
    what = "checked against KashFlow" if held_by_forget(entry, now) else "published now"
    if entry.external_id.startswith(RESERVED_PREFIX):
        what = "worked on now"
    until = ""
    if entry.lease_until is not None:
        left = max(int((entry.lease_until - now).total_seconds()), 0)
        at = entry.lease_until.astimezone(timezone.utc).strftime("%H:%M:%S")
        until = f" until {at} UTC ({left} s from now)"
    return (
        f"waiting for {_what_is_held(entry)}: it is being {what} by {holder}, which holds it"
        f"{until}; this publish goes on as soon as that one finishes or gives it back, or "
        "its hold runs out (a process stopped without giving it back)"
    )


@attrs.frozen
class Lease:
    """A publish call's hold on the journal entries it claims.

    Args:
        connection_id: the connection whose journal this is.
        owner: this call's owner id (a fresh id per call, from the caller's id source).
        duration: how long a claim or save holds the entry.
        wait_poll: seconds between looks at an entry another worker holds.
        clock: the current time, timezone-aware (the caller's: the engine reads no clock).

    """

    connection_id: str
    owner: str
    duration: timedelta = DEFAULT_LEASE
    wait_poll: float = DEFAULT_WAIT_POLL
    clock: Callable[[], datetime] = attrs.field(kw_only=True)

    def claiming(self, template: JournalEntry) -> ClaimJournal:
        """The claim of *template*'s entry for this call, now (to ask alone or in a batch)."""
        now = self.clock()
        return ClaimJournal(
            attrs.evolve(template, created_at=now, updated_at=now),
            self.owner,
            now,
            now + self.duration,
        )

    def claim(
        self, template: JournalEntry, first: ClaimResult | None = None
    ) -> Flow[tuple[JournalEntry, bool]]:
        """Take (or create) the entry; wait out another worker's live lease.

        Returns the entry this call now holds (or a ``published`` entry, not held), and whether
        another worker's lease was seen on the way: then that worker may have had a request on
        its way when its lease ran out (see :mod:`.settle`). *first*: the answer to a claim
        already made (in a batch), taken as the first try.
        """
        held_by_another = False
        announced: tuple[str | None, str] | None = None
        while True:
            now = self.clock()
            if first is not None:
                claim, first = first, None
            else:
                claim = yield from ask(self.claiming(template))
            if claim.acquired or (
                claim.entry.state == PUBLISHED and not held_by_forget(claim.entry, now)
            ):
                return claim.entry, held_by_another
            held_by_another = True
            holder = (claim.entry.owner, claim.entry.state)
            if holder != announced:
                announced = holder
                taken = yield from self.take_from_gone(claim.entry, now)
                if taken is not None:
                    return taken, held_by_another
                # Another worker is on it: wait for its outcome or for its lease to run out,
                # saying so once per holder (a silent wait of minutes looks like a hang).
                yield from ask(LeaseWait(claim.entry, wait_message(claim.entry, now)))
            yield from ask(Sleep(self.wait_poll))

    def take_from_gone(self, stored: JournalEntry, now: datetime) -> Flow[JournalEntry | None]:
        """Take *stored* over when its holder is a process known to have ended; else None.

        Such a holder sends nothing more, so its lease protects nothing: the takeover is a
        compare-and-set on that owner, and the caller treats it as any takeover (what the
        ended process may have sent is settled before anything is sent again).
        """
        owner = stored.owner
        if owner is None or owner.startswith(FORGET_OWNER_PREFIX) or stored.state == PUBLISHED:
            return None
        if not (yield from ask(HolderGone(owner))):
            return None
        taken = attrs.evolve(stored, owner=self.owner, lease_until=now + self.duration)
        taken = attrs.evolve(taken, updated_at=now)
        if not (yield from ask(UpdateJournal(taken, owner))):
            return None  # someone else was quicker: wait on them as usual
        message = (
            f"took over {_what_is_held(stored)} from {describe_holder(owner)}, which no longer "
            "runs (it stopped without giving the document back)"
        )
        yield from ask(LeaseWait(stored, message))
        return taken

    def renewal(self, entry: JournalEntry) -> Renewal:
        """What keeps *entry*'s lease alive while a KashFlow call is in flight."""
        return Renewal(entry, self.owner, self.duration, self.clock)

    def save(
        self,
        entry: JournalEntry,
        *,
        state: JournalState | Keep = KEEP,
        fingerprint: str | Keep = KEEP,
        number: int | Keep = KEEP,
        kashflow_id: int | Keep | None = KEEP,
        attachment_done: bool | Keep = KEEP,
        release: bool = False,
        before: Sequence[StorageEffect[Any]] = (),
    ) -> Flow[JournalEntry]:
        """Store *entry* with the fields given and a renewed lease, if this call still holds it.

        Args:
            entry: the entry as this call holds it.
            state: the state it moves to; the move must be in the journal's table.
            fingerprint: for a document, the content now being published; for a contact,
                the code it is created under; for a content claim, the external id owning it.
            number: KashFlow's number of the document.
            kashflow_id: KashFlow's internal id (None: not known).
            attachment_done: the attachment is in KashFlow.
            release: give the entry back as it is stored (no owner, no lease).
            before: calls to make first, in the same transaction (attempts).

        Raises:
            JournalTransitionError: *state* is not a move the table allows (a bug).
            PublishUncertainError: ``lease_lost``: another worker took the entry over.

        """
        updated, _ = yield from self.save_with(
            entry,
            state=state,
            fingerprint=fingerprint,
            number=number,
            kashflow_id=kashflow_id,
            attachment_done=attachment_done,
            release=release,
            before=before,
        )
        return updated

    def saving(
        self,
        entry: JournalEntry,
        *,
        state: JournalState | Keep = KEEP,
        fingerprint: str | Keep = KEEP,
        number: int | Keep = KEEP,
        kashflow_id: int | Keep | None = KEEP,
        attachment_done: bool | Keep = KEEP,
        release: bool = False,
    ) -> JournalEntry:
        """*entry* as :meth:`save` stores it (the fields given, a renewed lease), not stored."""
        if not isinstance(state, Keep):
            entry = moved(entry, state)
        now = self.clock()
        return attrs.evolve(
            entry,
            fingerprint=entry.fingerprint if isinstance(fingerprint, Keep) else fingerprint,
            number=entry.number if isinstance(number, Keep) else number,
            kashflow_id=entry.kashflow_id if isinstance(kashflow_id, Keep) else kashflow_id,
            attachment_done=(
                entry.attachment_done if isinstance(attachment_done, Keep) else attachment_done
            ),
            updated_at=now,
            owner=None if release else entry.owner,
            lease_until=None if release else now + self.duration,
        )

    def save_with(
        self,
        entry: JournalEntry,
        *,
        before: Sequence[StorageEffect[Any]] = (),
        after: Sequence[StorageEffect[Any]] = (),
        **fields: Any,
    ) -> Flow[tuple[JournalEntry, tuple[Any, ...]]]:
        """:meth:`save` with other calls of the same step, in one transaction where it can.

        *before* are made first (attempts: they never fail a compare-and-set), then the save,
        then *after*, which are made only if the save went through. Returns the entry stored
        and the answers to *after*.

        Raises:
            PublishUncertainError: ``lease_lost``: another worker took the entry over.

        """
        updated = self.saving(entry, **fields)
        save = UpdateJournal(updated, self.owner)
        if not before and not after:
            if not (yield from ask(save)):
                raise lease_lost(entry.external_id)
            return updated, ()
        answers = yield from ask(Batch((*before, save, *after)))
        if len(answers) <= len(before) or not answers[len(before)]:
            raise lease_lost(entry.external_id)
        return updated, answers[len(before) + 1 :]

    def release(self, external_id: str) -> Flow[None]:
        """Give the entry back at once, so the next attempt need not wait for the lease.

        The stored state (say ``sending``) is re-read and kept, whatever this call holds.
        """
        entry = yield from ask(GetJournal(self.connection_id, external_id))
        if entry is not None and entry.owner == self.owner:
            yield from ask(
                UpdateJournal(
                    released(entry, self.clock()),
                    self.owner,
                )
            )

    def record(
        self, external_id: str, step: str, outcome: str, detail: str = ""
    ) -> Flow[PublishAttempt]:
        """Append one step's outcome to the entry's history; returns what was appended."""
        adding = self.attempt(external_id, step, outcome, detail)
        yield from ask(adding)
        return adding.attempt

    def attempt(self, external_id: str, step: str, outcome: str, detail: str = "") -> AddAttempt:
        """The call that appends one step's outcome, now (to make with a save: ``before=``)."""
        # str(): an ErrorCode passed as the detail is stored as its plain code string.
        attempt = PublishAttempt(at=self.clock(), step=step, outcome=outcome, detail=str(detail))
        return AddAttempt(self.connection_id, external_id, attempt)
