"""The publish flow: exactly once on an API with no idempotency keys.

A journal entry per ``(connection_id, external_id)`` is claimed in storage before anything is
sent, and moved through ``claimed -> sending -> created -> published``. ``sending`` is written
*before* the create call, so after any uncertain outcome (a timeout, a lost answer, a killed
process, a cancelled task) the next attempt knows the document may be in KashFlow and looks it
up (contact + reference + date + totals) before it would send again, and only once KashFlow can
no longer be applying the earlier send (:mod:`.settle`). Steps already done (attachment,
payment) are never repeated. The lease is confirmed right before every write (a store with
compare-and-set on the owner) and kept alive while a call is in flight. When the outcome cannot
be established, :class:`~kashflow_sync.errors.PublishUncertainError` is raised and the journal
keeps saying where it stands: nothing is guessed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

import attrs

from .. import errors
from .._amounts import SAFE_RATE_DECIMALS
from .._documents import Document, Problem, PublishResult
from .._journal import JournalEntry
from .._lists import ListsSnapshot
from .._problem_codes import CHANGED_AFTER_PUBLISHING
from .._wire import document_header, document_lines, payment_ids
from ..soap.records import LedgerDocument
from .contacts import contact_id, may_have_applied
from .effects import (
    Flow,
    attach_file,
    documents_for_contact,
    get_document,
    get_state,
    insert_document,
    insert_payment,
    payments,
    receipt_attachments,
    renewing,
    set_state,
    sleep,
)
from .journal import DEFAULT_LEASE, DEFAULT_WAIT_POLL, Lease, new_owner, utcnow
from .keys import document_owner_key, duplicate_key
from .ledger import LedgerCache, reconcile, refuse_ledger_duplicate, tolerance
from .settle import DEFAULT_SETTLE_TIME, Settle

__all__ = ["MAX_SENDS", "MAX_SETTLE_WAIT", "PublishSettings", "publish", "published_result"]

T = TypeVar("T")

#: Times the create call is sent within one publish after KashFlow was shown not to have it.
MAX_SENDS = 3
#: A settle time ending sooner than this is waited out in the call (then looked up again);
#: a longer one is ``publish_settling`` for the caller to come back to.
MAX_SETTLE_WAIT = timedelta(seconds=5)
#: The first pause between lookups while a settle time is waited out (doubling after each).
SETTLE_POLL = 0.05


@attrs.frozen
class PublishSettings:
    """How one connection publishes.

    Args:
        connection_id: the connection whose journal is used.
        lease: how long a publish call holds a document before another may take it over.
        wait_poll: seconds between looks at a document another call is publishing.
        check_ledger: look in KashFlow for the same invoice before a document's first send.
        clock: the current time, timezone-aware.
        settle_time: how long KashFlow may still apply a request it received (see
            :mod:`.settle`).
        request_deadline: the longest one request of this client takes.
        rate_decimals: decimals of a unit rate the account keeps (2 unless learned).
        ledger_cache: the shared pre-send lookup, or None to look every time.
        max_settle_wait: the longest settle time waited out within a call.

    """

    connection_id: str
    lease: timedelta = DEFAULT_LEASE
    wait_poll: float = DEFAULT_WAIT_POLL
    check_ledger: bool = True
    clock: Callable[[], datetime] = utcnow
    settle_time: timedelta = DEFAULT_SETTLE_TIME
    request_deadline: timedelta = timedelta(seconds=60)
    rate_decimals: int = SAFE_RATE_DECIMALS
    ledger_cache: LedgerCache | None = None
    max_settle_wait: timedelta = MAX_SETTLE_WAIT

    @property
    def settle(self) -> Settle:
        """The settle rule these settings describe."""
        return Settle(self.settle_time, self.request_deadline, self.clock)


def _kind_word(kind: str) -> str:
    return "receipt" if kind == "purchase" else "invoice"


def published_result(entry: JournalEntry, fingerprint: str) -> PublishResult:
    """The ``already_published`` result of a published entry.

    Raises:
        ValidationError: ``changed_after_publishing``: it was published with other content.

    """
    if entry.fingerprint != fingerprint:
        kind = _kind_word(entry.kind)
        raise errors.ValidationError(
            [
                Problem(
                    code=CHANGED_AFTER_PUBLISHING,
                    field="external_id",
                    message=(
                        f"{entry.external_id!r} was published before, as {kind} {entry.number}, "
                        "with different content; KashFlow keeps that first version"
                    ),
                    remedy=(
                        f"Correct {kind} {entry.number} in KashFlow, or publish the new document "
                        "under a new external_id if it really is a different one."
                    ),
                )
            ],
            external_id=entry.external_id,
        )
    return _result(entry, "already_published")


def _result(
    entry: JournalEntry, status: Literal["published", "already_published"]
) -> PublishResult:
    return PublishResult(
        external_id=entry.external_id,
        kind=entry.kind,
        number=entry.number or 0,
        kashflow_id=entry.kashflow_id or 0,
        status=status,
    )


@attrs.define
class _Call:
    """What one publish call works with."""

    document: Document
    lists: ListsSnapshot
    settings: PublishSettings
    lease: Lease
    taken_over: bool = False
    defer_id: bool = False
    new_contact: bool = False
    #: A refused attachment: the payment still goes, then this is raised (document kept).
    refused_attachment: errors.KashFlowError | None = None


def publish(
    document: Document,
    fingerprint: str,
    lists: ListsSnapshot,
    settings: PublishSettings,
    *,
    owner: str | None = None,
    seen: JournalEntry | None = None,
    defer_id: bool = False,
) -> Flow[PublishResult]:
    """Publish a validated, resolved document exactly once (see the module docstring).

    Args:
        document: the resolved document.
        fingerprint: the digest of the document as the caller gave it (before rules), so a
            rule changed between two attempts does not read as changed content.
        lists: the lists the document was validated against.
        settings: the connection's publish settings.
        owner: this call's lease owner id (a fresh one by default).
        seen: the journal entry as read before this call (another worker's lease on it
            means a takeover: see :mod:`.settle`).
        defer_id: do not read the new document's internal id (a batch learns them all with
            one lookup afterwards); the entry is then published still leased to *owner*, for
            :func:`~.ids.fill_ids` to complete and release.

    """
    lease = Lease(
        settings.connection_id,
        owner or new_owner(),
        settings.lease,
        settings.wait_poll,
        settings.clock,
    )
    template = JournalEntry(
        connection_id=settings.connection_id,
        external_id=document.external_id,
        kind=document.kind,
        fingerprint=fingerprint,
    )
    entry, waited = yield from lease.claim(template)
    if entry.state == "published":
        return published_result(entry, fingerprint)
    call = _Call(document, lists, settings, lease, defer_id=defer_id)
    call.taken_over = waited or (seen is not None and seen.owner not in (None, lease.owner))
    try:
        if entry.fingerprint != fingerprint:
            entry = yield from _content_changed(entry, fingerprint, lease)
        entry = yield from _run(call, entry)
    except GeneratorExit:
        raise
    except BaseException as exc:
        # Whatever went wrong, record it and hand the document back at once: another call
        # must not wait out the lease behind a failure that is already known.
        code = exc.code if isinstance(exc, errors.KashFlowError) else type(exc).__name__
        try:
            yield from lease.record(document.external_id, "publish", "failed", f"{code}: {exc}")
        finally:
            yield from lease.release(document.external_id)
        raise
    yield from _remember_for_duplicates(document, entry, settings.connection_id)
    return _result(entry, "published")


def _content_changed(entry: JournalEntry, fingerprint: str, lease: Lease) -> Flow[JournalEntry]:
    """The document differs from the one this entry was started for (never a published one)."""
    if entry.state == "claimed":
        # Nothing was sent: the new content goes.
        return (yield from lease.save(entry, fingerprint=fingerprint))
    where = f"number {entry.number}" if entry.number else "perhaps"
    raise errors.PublishUncertainError(
        f"{entry.external_id!r} changed while an earlier version was being published "
        f"(KashFlow holds it: {where}); the SDK will not guess which version is right",
        code="changed_while_uncertain",
        remedy=(
            "Publish the earlier version again to finish it, then correct the document in "
            "KashFlow; or check KashFlow and delete the earlier version by hand."
        ),
        retryable=False,
    )


def _run(call: _Call, entry: JournalEntry) -> Flow[JournalEntry]:
    document, lease = call.document, call.lease
    if entry.contact_id is None:
        found, call.new_contact = yield from contact_id(
            document, call.lists, lease, call.settings.settle
        )
        entry = attrs.evolve(entry, contact_id=found)  # saved with the next state change
    # A document created by an earlier, interrupted run may have had its attachment or payment
    # sent without the journal hearing back: look before sending those again.
    resumed = entry.state == "created"
    if resumed and _last_outcome(entry, "create") == "duplicate":
        # Stopped earlier because KashFlow held two copies: go on only once one is gone.
        assert entry.contact_id is not None and entry.number is not None
        yield from _no_second_copy(call, entry.contact_id, entry.number)
    if entry.state in ("claimed", "sending"):
        entry = yield from _create(call, entry)
    if document.attachment is not None and not entry.attachment_done:
        entry = yield from _attach(call, entry, resumed=resumed)
    if document.payment is not None and not entry.payment_done:
        entry = yield from _pay(call, entry, resumed=resumed)
    if call.refused_attachment is not None:
        raise call.refused_attachment
    # A deferred id keeps the lease (still ours) until the batch has filled the id in.
    keep = {} if call.defer_id and not entry.kashflow_id else {"owner": None, "lease_until": None}
    yield from lease.record(document.external_id, "publish", "published", f"number {entry.number}")
    return (yield from lease.save(entry, state="published", **keep))


def _create(call: _Call, entry: JournalEntry) -> Flow[JournalEntry]:
    document, lease, settings = call.document, call.lease, call.settings
    contact = entry.contact_id
    assert contact is not None
    resent = entry.state == "sending"
    if resent:
        # Not found proves nothing while the earlier send may still be applied.
        until = settings.settle.until(entry, taken_over=call.taken_over, step="create")
        look = functools.partial(_renewed_reconcile, call, entry, contact)
        found = yield from _settled(call, until, "the create", look)
        if found is not None:
            return (yield from _found(call, entry, found))
    elif settings.check_ledger and not call.new_contact:
        # A contact this call just created has no documents in KashFlow: nothing to look up.
        yield from refuse_ledger_duplicate(document, contact, settings.ledger_cache, settings.clock)
    header = document_header(document, call.lists, contact)
    lines = document_lines(document, call.lists, settings.rate_decimals)
    for _send in range(MAX_SENDS):
        # Saved right before the insert: this confirms the lease (compare-and-set on the owner)
        # and tells any later attempt that the document may be in KashFlow.
        entry = yield from lease.save(entry, state="sending")
        try:
            number = yield from renewing(
                lease.renewal(entry), insert_document(document.kind, header, lines)
            )
        except errors.KashFlowError as exc:
            if not may_have_applied(exc):
                # KashFlow refused it or never saw it: nothing is there.
                yield from lease.save(entry, state="claimed")
                raise
            until = settings.clock() + settings.settle_time
            yield from lease.record(document.external_id, "create", "uncertain", exc.code)
            look = functools.partial(_renewed_reconcile, call, entry, contact)
            found = yield from _settled(call, until, "the create", look)
            if found is not None:
                return (yield from _found(call, entry, found))
            resent = True
            continue  # proven absent after the settle time: sending again cannot duplicate it
        entry = yield from _created(call, entry, number)
        if resent:
            # Sent again after an uncertain send: make sure KashFlow did not end up with two.
            yield from _no_second_copy(call, contact, number)
        return entry
    raise errors.PublishUncertainError(
        f"KashFlow kept failing to take {document.external_id!r}", code="publish_incomplete"
    )


def _settled(call: _Call, until: datetime, what: str, look: Callable[[], Flow[T]]) -> Flow[T]:
    """Look (*look* makes the lookup); while it finds nothing before *until*, wait, look again.

    A short remaining settle time is waited out here; a long one raises ``publish_settling``.
    Returns the last lookup's answer (a falsy one only once *until* has passed).
    """
    settings = call.settings
    pause = SETTLE_POLL
    while True:
        found = yield from look()
        now = settings.clock()
        if found or now >= until:
            return found
        if until - now > settings.max_settle_wait:
            settings.settle.refuse_until(until, call.document.external_id, what)
        # Look again soon, then less often: a late write is adopted as soon as it lands.
        yield from sleep(min(pause, (until - now).total_seconds()))
        pause *= 2


def _renewed_reconcile(
    call: _Call, entry: JournalEntry, contact: int
) -> Flow[LedgerDocument | None]:
    """Reconcile while keeping *entry*'s lease alive."""
    found: LedgerDocument | None = yield from renewing(
        call.lease.renewal(entry), _reconcile(call, contact)
    )
    return found


def _reconcile(call: _Call, contact: int) -> Flow[LedgerDocument | None]:
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


def _found(call: _Call, entry: JournalEntry, found: LedgerDocument) -> Flow[JournalEntry]:
    """KashFlow holds this document: own its number and move the journal on."""
    document, lease = call.document, call.lease
    yield from set_state(
        lease.connection_id, document_owner_key(document.kind, found.number), document.external_id
    )
    yield from lease.record(document.external_id, "create", "found", f"number {found.number}")
    return (
        yield from lease.save(
            entry,
            state="created",
            number=found.number,
            kashflow_id=found.kashflow_id or None,
        )
    )


def _created(call: _Call, entry: JournalEntry, number: int) -> Flow[JournalEntry]:
    """The insert answered *number*: remember it, and learn the internal id unless deferred."""
    document, lease, settings = call.document, call.lease, call.settings
    # The number first: a failure from here on must not lose it.
    entry = yield from lease.save(entry, state="created", number=number)
    yield from set_state(
        settings.connection_id, document_owner_key(document.kind, number), document.external_id
    )
    yield from lease.record(document.external_id, "create", "created", f"number {number}")
    if settings.ledger_cache is not None and entry.contact_id is not None:
        settings.ledger_cache.add(
            document.kind,
            entry.contact_id,
            LedgerDocument(
                kashflow_id=0,
                number=number,
                issue_date=document.issue_date,
                due_date=document.due_date,
                contact_id=entry.contact_id,
                reference=document.reference,
                net=document.net,
                vat=document.vat,
                amount_paid=document.net * 0,
            ),
        )
    if call.defer_id:
        return entry
    created = yield from renewing(lease.renewal(entry), get_document(document.kind, number))
    if created is None or not created.kashflow_id:
        return entry
    # Saved right before the next write (attachment or payment): confirms the lease.
    return (yield from lease.save(entry, kashflow_id=created.kashflow_id))


def _no_second_copy(call: _Call, contact: int, number: int) -> Flow[None]:
    """After sending again: if KashFlow holds another copy too, say so (never ``published``).

    The journal keeps this call's *number*; the check runs again on every later publish until
    a person has removed the other copy.
    """
    document = call.document
    try:
        held = yield from documents_for_contact(document.kind, contact)
    except errors.KashFlowError:
        return  # a safeguard: failing to make the check must not fail the publish
    close = tolerance(document)
    others = []
    for d in held:
        if d.number == number or d.issue_date != document.issue_date:
            continue
        if d.reference.strip().casefold() != document.reference.strip().casefold():
            continue
        if abs(d.net - document.net) > close or abs(d.vat - document.vat) > close:
            continue
        owner = yield from get_state(
            call.settings.connection_id, document_owner_key(document.kind, d.number)
        )
        if owner in (None, document.external_id):
            others.append(d.number)
    if not others:
        return
    kind = _kind_word(document.kind)
    extra = ", ".join(map(str, others))
    yield from call.lease.record(document.external_id, "create", "duplicate", extra)
    raise errors.PublishUncertainError(
        f"KashFlow now holds {kind}s {number} and {extra} for {document.external_id!r}: an "
        "earlier send was applied after it had been proven absent",
        code="duplicate_created",
        remedy=(
            f"Delete {kind} {extra} in KashFlow by hand (keep {number}), then publish again to "
            "finish the attachment and payment; consider a longer settle_time."
        ),
        retryable=False,
    )


def _last_outcome(entry: JournalEntry, step: str) -> str | None:
    """The outcome last recorded for *step* of *entry*, if any."""
    outcomes = [a.outcome for a in entry.attempts if a.step == step]
    return outcomes[-1] if outcomes else None


def _resume_until(call: _Call, entry: JournalEntry, step: str) -> datetime:
    """On resume: from when a step found missing may be sent again (now, unless in doubt)."""
    if call.taken_over or _last_outcome(entry, step) == "uncertain":
        return call.settings.settle.until(entry, taken_over=call.taken_over, step=step)
    return call.settings.clock()


def _write_once(
    call: _Call,
    entry: JournalEntry,
    step: Literal["attachment", "payment"],
    landed: Callable[[], Flow[bool]],
    send: Callable[[], Flow[Any]],
    *,
    resumed: bool,
) -> Flow[tuple[JournalEntry, Literal["sent", "found"] | errors.RejectedError]]:
    """Send a step's write exactly once: unless it is found to have landed already.

    On resume it looks first (waiting out the settle time when the last send was in doubt).
    An uncertain send is looked up until the settle time has passed; still missing, it is a
    ``PublishUncertainError``. KashFlow refusing the write is returned, not raised.
    """
    what = f"the {step}"
    if resumed:
        until = _resume_until(call, entry, step)
        if (yield from _settled(call, until, what, landed)):
            return entry, "found"
        entry = yield from call.lease.save(entry)  # confirms the lease right before the write
    try:
        yield from renewing(call.lease.renewal(entry), send())
    except errors.RejectedError as exc:
        return entry, exc
    except errors.KashFlowError as exc:
        if not may_have_applied(exc):
            raise
        until = call.settings.clock() + call.settings.settle_time
        yield from call.lease.record(call.document.external_id, step, "uncertain", exc.code)
        if not (yield from _settled(call, until, what, landed)):
            raise errors.PublishUncertainError(
                f"{what} of {call.document.external_id!r} may not have reached KashFlow",
                detail=str(exc),
            ) from exc
    return entry, "sent"


def _attach(call: _Call, entry: JournalEntry, *, resumed: bool) -> Flow[JournalEntry]:
    document, lease = call.document, call.lease
    attachment, number = document.attachment, entry.number
    assert attachment is not None and number is not None
    entry, outcome = yield from _write_once(
        call,
        entry,
        "attachment",
        lambda: _attachment_landed(call, entry),
        lambda: attach_file(
            document.kind, number, attachment.filename, attachment.content, attachment.content_type
        ),
        resumed=resumed,
    )
    if isinstance(outcome, errors.RejectedError):
        # KashFlow refused the file (no Dropbox connected, say): the document is in KashFlow
        # and stays; the payment still goes, then this is reported. Publishing again sends
        # only the attachment.
        yield from lease.record(document.external_id, "attachment", "refused", outcome.code)
        call.refused_attachment = outcome
        return entry
    done = "attached" if outcome == "sent" else "found"
    yield from lease.record(document.external_id, "attachment", done, attachment.filename)
    # Saved right before the next write (the payment): confirms the lease.
    return (yield from lease.save(entry, attachment_done=True))


def _attachment_landed(call: _Call, entry: JournalEntry) -> Flow[bool]:
    document = call.document
    if document.kind != "purchase":
        # KashFlow has no call listing a sales invoice's attachments: sending again is the only
        # way to be sure, at worst attaching the same file twice (never the invoice).
        return False
    assert document.attachment is not None and entry.number is not None
    receipt_id = entry.kashflow_id
    if not receipt_id:
        found = yield from get_document(document.kind, entry.number)
        receipt_id = found.kashflow_id if found else 0
    if not receipt_id:
        return False
    files = yield from receipt_attachments(receipt_id)
    return any(f.filename == document.attachment.filename for f in files)


def _payment_landed(call: _Call, number: int, ids: Mapping[str, Any]) -> Flow[bool]:
    paid = yield from payments(call.document.kind, number)
    return any(p.amount == ids["amount"] and p.paid_on == ids["paid_on"] for p in paid)


def _pay(call: _Call, entry: JournalEntry, *, resumed: bool) -> Flow[JournalEntry]:
    document, lease = call.document, call.lease
    number = entry.number
    assert number is not None
    ids = payment_ids(document, call.lists)
    entry, outcome = yield from _write_once(
        call,
        entry,
        "payment",
        lambda: _payment_landed(call, number, ids),
        lambda: insert_payment(document.kind, number, **ids),
        resumed=resumed,
    )
    if isinstance(outcome, errors.RejectedError):
        raise outcome
    done = "recorded" if outcome == "sent" else "found"
    yield from lease.record(document.external_id, "payment", done, str(ids["amount"]))
    return attrs.evolve(entry, payment_done=True)  # saved with "published" next


def _remember_for_duplicates(
    document: Document, entry: JournalEntry, connection_id: str
) -> Flow[None]:
    for contact in (document.contact, entry.contact_id):
        key = duplicate_key(document.kind, contact or "", document.reference, document.gross)
        yield from set_state(connection_id, key, document.external_id)
