"""Creating the document: the one step whose repetition would duplicate it.

The create is sent only after the journal says ``sending`` (and the lease is confirmed); an
uncertain answer is reconciled, waited out (:mod:`.settle`) and reconciled again before it is
ever sent again; after a second send, KashFlow is checked for two copies.
"""

from __future__ import annotations

import functools
from typing import Any

import attrs

from .. import errors
from .._documents.model import kashflow_noun
from .._error_codes import ErrorCode
from .._journal.entry import JournalEntry
from .._journal.states import CLAIMED, CREATED, PUBLISHED, SENDING
from .._storage_keys import document_owner_key
from ..soap.records import LedgerDocument
from ..soap.wire import CreditForm, document_header, document_lines
from .contacts import may_have_applied
from .content import (
    claim_content,
    content_lost,
    give_back_content,
    given_back,
    settle_content,
    twin_after_send,
)
from .context import Call, settled
from .effects import (
    DocumentsForContact,
    Flow,
    GetDocument,
    GetJournal,
    GetState,
    InsertDocument,
    Renewal,
    SetState,
    StorageEffect,
    UpdateJournal,
    ask,
    renewing,
)
from .ledger import reconcile, refuse_ledger_duplicate, tolerance
from .verify import watch_for_late_copy

__all__ = ["MAX_SENDS", "create"]

#: Times the create call is sent within one publish after KashFlow was shown not to have it.
MAX_SENDS = 3


def create(call: Call, entry: JournalEntry) -> Flow[JournalEntry]:
    document, settings = call.document, call.settings
    contact = entry.contact_id
    assert contact is not None
    if entry.state == SENDING:
        # Not found proves nothing while the earlier send may still be applied.
        until = settings.settle.until(entry, taken_over=call.taken_over, step="create")
        look = functools.partial(_renewed_reconcile, call, entry, contact)
        found = yield from settled(call, until, "the create", look)
        if found is not None:
            entry = yield from _found(call, entry, found)
        else:
            entry = yield from _send(call, entry, contact, resent=True)
        if entry.number is not None:
            yield from settle_content(call, contact, entry.number)
        return entry
    if not settings.check_ledger:
        return (yield from _send(call, entry, contact, resent=False))
    if not call.new_contact:
        # A contact this call just created has no documents in KashFlow: nothing to look up.
        yield from refuse_ledger_duplicate(document, contact, settings.ledger_cache, settings.clock)
    # Held from just before the first send until the number is known: the same invoice under
    # another external id waits for it, then finds it (see .content). The driver's pre-write
    # fence checks it with the document's own entry, so a call that stalled while another
    # took the content over never sends.
    # The claim and the "sending" save go in one transaction when the content is free.
    call.content, sending = yield from claim_content(call, contact, entry)
    try:
        entry = yield from _send(call, sending or entry, contact, resent=False, saved=bool(sending))
    except GeneratorExit:
        raise
    except BaseException as exc:
        content, call.content = call.content, None
        kept = yield from give_back_content(call, content, None)
        if not kept and isinstance(exc, errors.KashFlowError) and not exc.request_sent:
            # The fence stopped the send: the content was taken over while this call stalled,
            # so the twin that holds it now decides, as for any twin.
            raise (yield from content_lost(call, content)) from exc
        raise
    if call.content_returned is not None:
        # Given back with the "created" save (see _created).
        (content, kept), call.content_returned = call.content_returned, None
    else:
        content, call.content = call.content, None
        kept = yield from give_back_content(call, content, entry.number)
    if not kept:
        # Sent, but a twin took the content over meanwhile: it may have sent too.
        yield from twin_after_send(call, entry, content)
    return entry


def renewal(call: Call, entry: JournalEntry) -> Renewal:
    """What keeps this call's leases alive during a KashFlow call, and fences a write.

    The document's entry, and the content claim while the first send holds one.
    """
    held = call.lease.renewal(entry)
    if call.content is None:
        return held
    return attrs.evolve(held, also=(call.content,))


def _send(
    call: Call, entry: JournalEntry, contact: int, *, resent: bool, saved: bool = False
) -> Flow[JournalEntry]:
    """Send the create (again, if *resent*) until KashFlow answers a number or surely refuses.

    *saved*: *entry* was just saved ``sending`` (with the content claim): the first send
    goes without saving it again.

    A credit note whose lines KashFlow refused with a negative rate goes once more with a
    negative quantity, unless doctor learned which the account takes: a refusal leaves
    nothing in KashFlow, so this cannot duplicate it.
    """
    document, lease, settings = call.document, call.lease, call.settings
    header = document_header(document, call.lists, contact)
    forms: list[CreditForm] = list(settings.credit_forms) if document.sign < 0 else ["rate"]
    refusals: list[errors.KashFlowError] = []
    lines = document_lines(document, call.lists, settings.rate_decimals, forms[0])
    sends = 0
    confirmed_again = False
    while sends < MAX_SENDS:
        sends += 1
        # Saved right before the insert: this confirms the lease (compare-and-set on the owner)
        # and tells any later attempt that the document may be in KashFlow.
        if not saved:
            entry = yield from lease.save(entry, state=SENDING)
        saved = False
        try:
            number = yield from renewing(
                renewal(call, entry), ask(InsertDocument(document.kind, header, lines))
            )
        except errors.KashFlowError as exc:
            if not may_have_applied(exc):
                # KashFlow refused it, never saw it, or the fence stopped it: nothing is there.
                if not confirmed_again and stopped_by_fence(exc):
                    # The leases ran out (a stall); if nobody took them, hold them again and
                    # send: nothing of this send left.
                    confirmed_again = True
                    held = yield from _hold_again(call, entry)
                    if held is not None:
                        entry, sends = held, sends - 1
                        continue
                yield from lease.save(entry, state=CLAIMED)
                if isinstance(exc, errors.RejectedError) and len(forms) > 1:
                    refusals.append(exc)
                    tried = forms.pop(0)
                    detail = f"{exc.code}: refused with a negative {tried}"
                    yield from lease.record(document.external_id, "create", "refused", detail)
                    lines = document_lines(document, call.lists, settings.rate_decimals, forms[0])
                    sends -= 1
                    continue
                if refusals and isinstance(exc, errors.RejectedError):
                    raise _credit_note_refused(call, [*refusals, exc]) from exc
                raise
            until = settings.clock() + settings.settle_time
            yield from lease.record(document.external_id, "create", "uncertain", exc.code)
            look = functools.partial(_renewed_reconcile, call, entry, contact)
            found = yield from settled(call, until, "the create", look)
            if found is not None:
                return (yield from _found(call, entry, found))
            resent = True
            continue  # proven absent after the settle time: sending again cannot duplicate it
        entry = yield from _created(call, entry, number)
        if resent:
            # Sent again after an uncertain send: make sure KashFlow did not end up with two,
            # now and (verify) once a late copy of the earlier send could have landed.
            yield from watch_for_late_copy(call, entry)
            yield from no_second_copy(call, contact, number)
        return entry
    raise errors.PublishUncertainError(
        f"KashFlow kept failing to take {document.external_id!r}", code=ErrorCode.PUBLISH_INCOMPLETE
    )


def stopped_by_fence(exc: errors.KashFlowError) -> bool:
    """Whether *exc* is the drivers' pre-write fence refusing a send (nothing was sent)."""
    return exc.code == ErrorCode.LEASE_LOST and not exc.request_sent


def _hold_again(call: Call, entry: JournalEntry) -> Flow[JournalEntry | None]:
    """After the fence stopped a send: this call's leases again, if nobody took them since.

    The content claim first (its own compare-and-set on the owner that holds it, or on no
    owner), then the document's entry (saved ``sending``, confirming the lease). None when
    another call holds either: then that call decides.
    """
    lease, content = call.lease, call.content
    if content is not None:
        stored = yield from ask(GetJournal(content.connection_id, content.external_id))
        if (
            stored is None
            or stored.fingerprint != call.document.external_id
            or stored.owner not in (None, lease.owner)
            or stored.state == PUBLISHED
        ):
            return None
        now = call.settings.clock()
        held = attrs.evolve(
            stored, owner=lease.owner, lease_until=now + lease.duration, updated_at=now
        )
        if not (yield from ask(UpdateJournal(held, stored.owner))):
            return None
        call.content = held
    try:
        again: JournalEntry = yield from lease.save(entry, state=SENDING)
    except errors.PublishUncertainError:
        return None
    return again


def _credit_note_refused(call: Call, refusals: list[errors.KashFlowError]) -> errors.KashFlowError:
    """KashFlow refused a credit note in every line form: say so in its words."""
    words = {exc.detail or exc.message for exc in refusals}
    if len(words) == 1:
        return refusals[-1]  # the same refusal either way: not about the minus sign
    said = "; ".join(sorted(words))
    return errors.RejectedError(
        f"KashFlow refused {call.document.external_id!r} with negative rates and with negative "
        f"quantities ({said})",
        code=ErrorCode.CREDIT_NOTE_REFUSED,
        remedy=(
            "KashFlow took neither form of credit note from the API: enter this credit note "
            "in KashFlow directly (a receipt or invoice with the line totals negative), and "
            "run `kashflow-sync doctor --probe-writes` to record what the account accepts."
        ),
        detail=said,
    )


def _renewed_reconcile(
    call: Call, entry: JournalEntry, contact: int
) -> Flow[LedgerDocument | None]:
    """Reconcile while keeping *entry*'s lease alive."""
    found: LedgerDocument | None = yield from renewing(
        renewal(call, entry), _reconcile(call, contact)
    )
    return found


def _reconcile(call: Call, contact: int) -> Flow[LedgerDocument | None]:
    found: LedgerDocument | None = yield from reconcile(
        call.document,
        contact,
        call.settings.connection_id,
        call.lists,
        rate_decimals=call.settings.rate_decimals,
        cache=call.settings.ledger_cache,
        clock=call.settings.clock,
    )
    return found


def _found(call: Call, entry: JournalEntry, found: LedgerDocument) -> Flow[JournalEntry]:
    """KashFlow holds this document: own its number and move the journal on."""
    document, lease = call.document, call.lease
    yield from ask(
        SetState(
            lease.connection_id,
            document_owner_key(document.side, found.number),
            document.external_id,
        )
    )
    yield from lease.record(document.external_id, "create", "found", f"number {found.number}")
    return (
        yield from lease.save(
            entry,
            state=CREATED,
            number=found.number,
            kashflow_id=found.kashflow_id or None,
        )
    )


def _created(call: Call, entry: JournalEntry, number: int) -> Flow[JournalEntry]:
    """The insert answered *number*: remember it, and learn the internal id unless deferred."""
    document, lease, settings = call.document, call.lease, call.settings
    # Known to later duplicate checks at once, before any storage call can yield to them.
    if settings.ledger_cache is not None and entry.contact_id is not None:
        settings.ledger_cache.add(
            document.side,
            entry.contact_id,
            LedgerDocument(
                kashflow_id=0,
                number=number,
                issue_date=document.issue_date,
                due_date=document.due_date,
                contact_id=entry.contact_id,
                reference=document.reference,
                net=document.ledger_net,
                vat=document.ledger_vat,
                amount_paid=document.net * 0,
            ),
            settings.clock(),
        )
    # The number first (a failure from here on must not lose it), in one transaction with
    # what points at it: the number's owner, the attempt, the content claim given back.
    content = call.content
    after: list[StorageEffect[Any]] = [
        SetState(
            settings.connection_id, document_owner_key(document.side, number), document.external_id
        ),
        lease.attempt(document.external_id, "create", "created", f"number {number}"),
    ]
    if content is not None:
        after.append(UpdateJournal(given_back(call, content, number), lease.owner))
    entry, answers = yield from lease.save_with(entry, state=CREATED, number=number, after=after)
    if content is not None:
        call.content, call.content_returned = None, (content, bool(answers[-1]))
    if call.defer_id or not call.read_id:
        # This save is the fence of the attachment's send (nothing between), or the id is
        # learned later, in a batch (Celery's kashflow_ids='batched').
        return entry
    created = yield from renewing(lease.renewal(entry), ask(GetDocument(document.kind, number)))
    if created is None or not created.kashflow_id:
        return entry
    # Saved with the next change: the save that confirms the lease before the next write
    # (see after_create), or "published". A run that dies before then leaves the id unknown;
    # the resumed publish reads it again.
    call.unsaved = True
    return attrs.evolve(entry, kashflow_id=created.kashflow_id)


def no_second_copy(call: Call, contact: int, number: int) -> Flow[None]:
    """After sending again: if KashFlow holds another copy too, say so (never ``published``).

    The journal keeps this call's *number*; the check runs again on every later publish until
    a person has removed the other copy.
    """
    document = call.document
    try:
        held = yield from ask(DocumentsForContact(document.kind, contact))
    except errors.KashFlowError:
        return  # a safeguard: failing to make the check must not fail the publish
    close = tolerance(document)
    others = []
    for d in held:
        if d.number == number or d.issue_date != document.issue_date:
            continue
        if d.reference.strip().casefold() != document.reference.strip().casefold():
            continue
        if abs(d.net - document.ledger_net) > close or abs(d.vat - document.ledger_vat) > close:
            continue
        owner = yield from ask(
            GetState(call.settings.connection_id, document_owner_key(document.side, d.number))
        )
        if owner in (None, document.external_id):
            others.append(d.number)
    if not others:
        return
    kind = kashflow_noun(document.kind)
    extra = ", ".join(map(str, others))
    yield from call.lease.record(document.external_id, "create", "duplicate", extra)
    raise errors.PublishUncertainError(
        f"KashFlow now holds {kind}s {number} and {extra} for {document.external_id!r}: an "
        "earlier send was applied after it had been proven absent",
        code=ErrorCode.DUPLICATE_CREATED,
        remedy=(
            f"Delete {kind} {extra} in KashFlow by hand (keep {number}), then publish again to "
            "finish the attachment and payment; consider a longer settle_time."
        ),
        retryable=False,
    )
