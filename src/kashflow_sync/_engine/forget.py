"""Publishing again after a deletion in KashFlow: ``forget`` checks, then lets go.

The model's own advice for an item published wrongly is "delete the original entries in
KashFlow and republish". The journal would answer ``already_published`` forever, with a number
that no longer exists; so :func:`forget` first asks KashFlow whether the document the SDK
published is still there (under both readings of "not found": ``Status=NO``, or an empty
object), and only when it is gone moves the entry to ``forgotten``. The entry keeps its
history; the next publish of the external id creates the document anew, exactly once (the
journal's compare-and-set decides, as for any publish). Its content claim and duplicate keys
are released lazily: whoever finds them checks the owner's entry, and a forgotten owner holds
nothing.

While ``forget`` holds an entry (a lease under :data:`~.lease.FORGET_OWNER_PREFIX`), a
publish of the same external id waits for its verdict.
"""

from __future__ import annotations

import attrs

from .. import errors
from .._documents.model import kashflow_noun, side
from .._error_codes import ErrorCode
from .._journal.entry import JournalEntry, moved, released
from .._journal.states import ABSENT_STATES, FORGOTTEN, PUBLISHED, SENDING
from .._storage_keys import document_owner_key
from .context import PublishSettings
from .effects import Flow, GetDocument, GetJournal, SetState, Sleep, UpdateJournal, ask
from .lease import FORGET_OWNER_PREFIX, Lease
from .verify import other_copies

__all__ = ["forget"]


def forget(external_id: str, settings: PublishSettings) -> Flow[JournalEntry]:
    """Forget *external_id*'s published document if KashFlow confirms it is gone.

    Returns:
        The entry as it now stands: ``forgotten``; unchanged when nothing was ever sent
        (``claimed``) or it was forgotten already; ``published`` again when it was
        ``duplicated`` and only the other copy is left (that copy is now the document's).

    Raises:
        RejectedError: ``still_in_kashflow``: KashFlow still holds it (named).
        PublishUncertainError: ``publish_unsettled``: whether it is in KashFlow is not known
            yet (its create is uncertain): publish it again first.
        KashFlowError: ``not_in_journal``: nothing was ever published under this id.

    """
    lease = Lease(
        settings.connection_id,
        FORGET_OWNER_PREFIX + settings.new_id(),
        settings.lease,
        settings.wait_poll,
        clock=settings.clock,
    )
    entry = yield from _take(external_id, lease)
    if entry.owner != lease.owner:
        return entry  # nothing to check: never sent, or forgotten already
    try:
        return (yield from _decide(entry, lease, settings))
    except BaseException:
        yield from _let_go(entry, lease)
        raise


def _take(external_id: str, lease: Lease) -> Flow[JournalEntry]:
    """The entry, held by this forget; or as it is, when there is nothing to check."""
    while True:
        entry = yield from ask(GetJournal(lease.connection_id, external_id))
        if entry is None:
            raise errors.KashFlowError(
                f"nothing was ever published under {external_id!r} on this connection",
                code=ErrorCode.NOT_IN_JOURNAL,
                remedy="Check the external id (and the connection); there is nothing to forget.",
                retryable=False,
            )
        if entry.state in ABSENT_STATES:
            return entry
        if entry.state == SENDING:
            raise errors.PublishUncertainError(
                f"whether {external_id!r} is in KashFlow is not known yet: its create was sent "
                "and the answer was lost",
                code=ErrorCode.PUBLISH_UNSETTLED,
                remedy=(
                    f"Publish {external_id!r} again first (it finds the document in KashFlow, "
                    "or sends it), then forget it if it still needs to go."
                ),
            )
        now = lease.clock()
        if entry.owner is not None and entry.lease_until is not None and entry.lease_until > now:
            yield from ask(Sleep(lease.wait_poll))  # a publish (or a forget) is on it: wait
            continue
        taken = attrs.evolve(
            entry, owner=lease.owner, lease_until=now + lease.duration, updated_at=now
        )
        if (yield from ask(UpdateJournal(taken, entry.owner))):
            return taken


def _let_go(entry: JournalEntry, lease: Lease) -> Flow[None]:
    """Hand *entry* back as it was (another call may take it at once)."""
    yield from ask(UpdateJournal(released(entry, lease.clock()), lease.owner))


def _decide(entry: JournalEntry, lease: Lease, settings: PublishSettings) -> Flow[JournalEntry]:
    kind, number = side(entry.kind), entry.number
    assert number is not None
    noun = kashflow_noun(entry.kind)
    held = yield from ask(GetDocument(kind, number))
    # A number KashFlow handed out again (to a document keyed in since) is not ours.
    ours = held is not None and (
        (not entry.kashflow_id or held.kashflow_id == entry.kashflow_id)
        and (entry.contact_id is None or held.contact_id == entry.contact_id)
    )
    others = []
    for other in other_copies(entry):
        copy = yield from ask(GetDocument(kind, other))
        if copy is not None and (entry.contact_id is None or copy.contact_id == entry.contact_id):
            others.append(copy)
    if ours:
        still = ", ".join(str(n) for n in [number, *(c.number for c in others)])
        raise errors.RejectedError(
            f"{noun} {still} of {entry.external_id!r} is still in KashFlow",
            code=ErrorCode.STILL_IN_KASHFLOW,
            remedy=(
                f"Delete {noun} {number} in KashFlow first (its payments and files too), then "
                "forget it again; if the document is right as it is, there is nothing to do."
            ),
        )
    now = lease.clock()
    cache = settings.ledger_cache
    if cache is not None and entry.contact_id is not None:
        cache.drop(kind, entry.contact_id, number)
    if others:
        # Duplicated, and the copy the journal named is gone: the other one is this document.
        kept = others[0]
        adopted = attrs.evolve(
            moved(entry, PUBLISHED),
            number=kept.number,
            kashflow_id=kept.kashflow_id or None,
            owner=None,
            lease_until=None,
            updated_at=now,
        )
        yield from ask(
            SetState(
                settings.connection_id, document_owner_key(kind, kept.number), entry.external_id
            )
        )
        if not (yield from ask(UpdateJournal(adopted, lease.owner))):
            raise _lost(entry)
        yield from lease.record(
            entry.external_id, "forget", "adopted", f"{noun} {kept.number}; {number} is gone"
        )
        return adopted
    forgotten = released(moved(entry, FORGOTTEN), now)
    if not (yield from ask(UpdateJournal(forgotten, lease.owner))):
        raise _lost(entry)
    yield from lease.record(
        entry.external_id, "forget", "forgotten", f"{noun} {number} is no longer in KashFlow"
    )
    return forgotten


def _lost(entry: JournalEntry) -> errors.PublishUncertainError:
    return errors.PublishUncertainError(
        f"forgetting {entry.external_id!r} took longer than its hold on the journal entry",
        code=ErrorCode.LEASE_LOST,
        remedy="Forget it again.",
    )
