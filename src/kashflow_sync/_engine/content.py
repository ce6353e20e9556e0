"""One copy per invoice: two external ids for the same invoice never both reach KashFlow.

The ledger lookup before a first send (:func:`~.ledger.refuse_ledger_duplicate`) finds a copy
already in KashFlow, not one that another call is sending at that moment. The same invoice
uploaded twice and published in one batch, or by two workers at once, passes both lookups and
lands twice. So before its first send a document also claims its content (contact, reference
and gross) as a journal entry of its own (``_storage_keys.content_journal_key``), through the
compare-and-set every journal entry uses; the entry's ``fingerprint`` names the external id that
owns the content. Another external id with the same content waits while the owner holds it,
then decides from the owner's journal:

- the owner's document is in KashFlow (its number known): ``duplicate_in_ledger``, nothing sent;
- the owner's send is uncertain: ``duplicate_pending`` until the owner settles;
- the owner never sent (refused, or stopped before sending): the content is taken over.
"""

from __future__ import annotations

import attrs

from .. import errors
from .._documents.model import Problem, kashflow_noun
from .._documents.problems import DUPLICATE_IN_LEDGER
from .._error_codes import ErrorCode
from .._journal.entry import ClaimResult, JournalEntry, moved, released
from .._journal.states import CLAIMED, FORGOTTEN, PUBLISHED, SENDING
from .._storage_keys import content_journal_key
from .context import Call
from .effects import Batch, ClaimJournal, Flow, GetJournal, UpdateJournal, ask
from .lease import lease_lost
from .verify import watch_for_late_copy

__all__ = [
    "claim_content",
    "content_lost",
    "give_back_content",
    "given_back",
    "settle_content",
    "twin_after_send",
]


def _template(call: Call, contact: int) -> JournalEntry | None:
    document = call.document
    if not call.settings.check_ledger or not document.reference.strip():
        return None
    return JournalEntry(
        connection_id=call.settings.connection_id,
        external_id=content_journal_key(document.kind, contact, document.reference, document.gross),
        kind=document.kind,
        fingerprint=document.external_id,
    )


def claim_content(
    call: Call, contact: int, sending: JournalEntry | None = None
) -> Flow[tuple[JournalEntry | None, JournalEntry | None]]:
    """Hold the document's content for this call, or raise if another document has it.

    Returns the held content entry, to hand to :func:`give_back_content` once the create is
    over (None for a document without a reference, nothing to compare it by, or with the
    duplicate checks off); and, when *sending* (the document's entry) is given and the content
    was free, that entry saved ``sending`` in the same transaction as the claim (else None:
    the caller saves it). That save is the write before the send: it confirms the lease.

    Raises:
        ValidationError: ``duplicate_in_ledger``: another external id's copy is in KashFlow.
        PublishUncertainError: ``duplicate_pending``: another external id's copy may be;
            ``lease_lost``: another worker took the document's entry over.

    """
    document, lease = call.document, call.lease
    template = _template(call, contact)
    if template is None:
        return None, None
    first: ClaimResult | None = None
    if sending is not None:
        # The usual case in one transaction: the content is free, take it and say "sending".
        saved = lease.saving(sending, state=SENDING)
        answers = yield from ask(
            Batch((lease.claiming(template), UpdateJournal(saved, lease.owner)))
        )
        first = answers[0]
        if len(answers) == 2:
            if not answers[1]:
                yield from give_back_content(call, first.entry, None)
                raise lease_lost(document.external_id)
            return first.entry, saved
    return (yield from _claim_content(call, template, first)), None


def _claim_content(
    call: Call, template: JournalEntry, first: ClaimResult | None
) -> Flow[JournalEntry | None]:
    document, lease, settings = call.document, call.lease, call.settings
    while True:
        entry, _waited = yield from lease.claim(template, first)
        first = None
        if entry.state != PUBLISHED:
            break
        # Marked once the owner's number was known: it is in KashFlow, unless the owner was
        # forgotten since (its copy deleted in KashFlow): then the content is free again.
        owner = yield from ask(GetJournal(settings.connection_id, entry.fingerprint))
        if entry.fingerprint != document.external_id and (
            owner is not None and owner.state != FORGOTTEN
        ):
            raise _duplicate(call, entry.fingerprint, entry.number)
        now = settings.clock()
        taken = attrs.evolve(
            moved(entry, CLAIMED),
            number=None,
            fingerprint=document.external_id,
            owner=lease.owner,
            lease_until=now + lease.duration,
            updated_at=now,
        )
        if (yield from ask(UpdateJournal(taken, None))):
            return taken
        # Someone took it first: look again.
    if entry.fingerprint == document.external_id:
        return entry
    try:
        owner = yield from ask(GetJournal(settings.connection_id, entry.fingerprint))
        if owner is not None and owner.state != FORGOTTEN:
            if owner.number is not None:
                raise _duplicate(call, entry.fingerprint, owner.number)
            if owner.state != CLAIMED:
                raise _pending(call, entry.fingerprint)
    except errors.KashFlowError:
        yield from give_back_content(call, entry, None)
        raise
    # The owner never sent it (refused, stopped before sending, or it was forgotten since):
    # the content is ours now.
    return (yield from lease.save(entry, fingerprint=document.external_id))


def given_back(call: Call, entry: JournalEntry, number: int | None) -> JournalEntry:
    """The content entry released; with *number*, marked as in KashFlow under it."""
    released_entry = released(entry, call.settings.clock())
    if number is not None:
        released_entry = attrs.evolve(moved(released_entry, PUBLISHED), number=number)
    return released_entry


def give_back_content(call: Call, entry: JournalEntry | None, number: int | None) -> Flow[bool]:
    """Release the content entry; with *number*, mark it as in KashFlow under that number.

    Returns False when this call no longer held it: another external id with the same content
    took it over while this call stalled (see :func:`content_lost` and
    :func:`twin_after_send`); True otherwise (also when there was nothing to give back).
    """
    if entry is None:
        return True
    kept: bool = yield from ask(UpdateJournal(given_back(call, entry, number), call.lease.owner))
    return kept


def _taker(call: Call, entry: JournalEntry) -> Flow[str | None]:
    """The external id that took *entry* (a content claim) over from this call, if any."""
    stored = yield from ask(GetJournal(entry.connection_id, entry.external_id))
    if stored is None or stored.fingerprint == call.document.external_id:
        return None
    return stored.fingerprint


def content_lost(call: Call, entry: JournalEntry | None) -> Flow[errors.KashFlowError]:
    """The error for a first send the fence stopped because a twin took the content over.

    Nothing was sent: the other external id with the same content is being published, so this
    one waits for its outcome, exactly as a twin that found the content held does.
    """
    taker = None if entry is None else (yield from _taker(call, entry))
    if taker is None:
        return lease_lost(call.document.external_id, sent=False)
    twin = yield from ask(GetJournal(call.settings.connection_id, taker))
    if twin is not None and twin.number is not None:
        return _duplicate(call, taker, twin.number)
    return _pending(call, taker)


def twin_after_send(call: Call, entry: JournalEntry, content: JournalEntry | None) -> Flow[None]:
    """After a send whose content claim a twin took over meanwhile: never a silent duplicate.

    The fence stops a stalled call before it sends, but not one that stalls after the fence
    and before its bytes leave. If the twin holds a number too, KashFlow has the invoice twice:
    ``duplicate_created`` names both. If the twin's send is still open, this document is
    watched, and ``verify`` reports the twin's copy once it lands.

    Raises:
        PublishUncertainError: ``duplicate_created``: KashFlow holds this invoice twice.

    """
    taker = None if content is None else (yield from _taker(call, content))
    if taker is None or entry.number is None:
        return
    twin = yield from ask(GetJournal(call.settings.connection_id, taker))
    document = call.document
    if twin is None or twin.number is None:
        # The twin may yet land: verify looks for it later.
        yield from watch_for_late_copy(call, entry, twin=taker)
        return
    kind = kashflow_noun(document.kind)
    yield from call.lease.record(
        document.external_id, "create", "duplicate", f"{twin.number} ({taker})"
    )
    raise errors.PublishUncertainError(
        f"KashFlow now holds {kind}s {entry.number} ({document.external_id!r}) and "
        f"{twin.number} ({taker!r}): the same invoice under two external ids, sent at once",
        code=ErrorCode.DUPLICATE_CREATED,
        remedy=(
            "Delete one of the two in KashFlow by hand, then run `kashflow-sync forget` "
            "(client.forget()) for the external id whose copy you deleted."
        ),
        retryable=False,
    )


def settle_content(call: Call, contact: int, number: int) -> Flow[None]:
    """A resumed publish learned its number: mark the content as in KashFlow, if it is free.

    A worker that died while sending left the content claimed under its lease; whoever claims
    it later decides from this document's journal entry anyway, so this only tidies up, and
    never waits for the entry. A holder known to have ended (a killed process of this
    machine, whose document entry this call took over at once) is taken over here too: else
    its claim would stay unfinished in the journal for good.
    """
    template = _template(call, contact)
    if template is None:
        return
    stored = yield from ask(GetJournal(template.connection_id, template.external_id))
    if stored is not None and stored.state == PUBLISHED:
        return
    now = call.settings.clock()
    lease = call.lease
    claim = yield from ask(
        ClaimJournal(
            attrs.evolve(template, created_at=now, updated_at=now),
            lease.owner,
            now,
            now + lease.duration,
        )
    )
    held = claim.entry if claim.acquired else (yield from lease.take_from_gone(claim.entry, now))
    if held is None:
        return
    mine = held.fingerprint == call.document.external_id
    yield from give_back_content(call, held, number if mine else None)


def _duplicate(call: Call, owner: str, number: int | None) -> errors.ValidationError:
    document = call.document
    kind = kashflow_noun(document.kind)
    held = f"as {kind} {number}" if number else "already"
    return errors.ValidationError(
        [
            Problem(
                code=DUPLICATE_IN_LEDGER,
                field="reference",
                message=(
                    f"{owner!r} is the same {kind} ({document.contact!r}, reference "
                    f"{document.reference!r}, total {document.gross}) and KashFlow holds it {held}"
                ),
                remedy=(
                    f"If this is a different invoice, correct its reference; if it is the same "
                    f"one, do not publish it again ({owner!r} published it). If that copy was "
                    f"deleted in KashFlow, run `kashflow-sync forget {owner}` "
                    f"(client.forget({owner!r})) first."
                ),
            )
        ],
        external_id=document.external_id,
    )


def _pending(call: Call, owner: str) -> errors.PublishUncertainError:
    document = call.document
    kind = kashflow_noun(document.kind)
    return errors.PublishUncertainError(
        f"{owner!r}, the same {kind} ({document.contact!r}, reference {document.reference!r}, "
        f"total {document.gross}), was sent to KashFlow and its outcome is not known yet; "
        f"not sending {document.external_id!r} beside it",
        code=ErrorCode.DUPLICATE_PENDING,
        remedy=(
            f"Publish {owner!r} again to settle it. If it lands, this is the same invoice: do not "
            "publish it. If KashFlow did not record it, publish this one again."
        ),
    )
