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

from collections.abc import Sequence
from typing import Any, Literal

import attrs

from .. import errors
from .._account.lists import ListsSnapshot
from .._documents.model import Document, Problem, PublishAttempt, PublishResult, kashflow_noun
from .._documents.problems import CHANGED_AFTER_PUBLISHING
from .._error_codes import ErrorCode
from .._journal.entry import JournalEntry
from .._journal.states import CLAIMED, CREATED, DUPLICATED, FORGOTTEN, PUBLISHED, UNCREATED_STATES
from .._storage_keys import duplicate_key
from .after_create import apply_credit, attach, credited_invoice, pay
from .contacts import contact_id
from .content import settle_content
from .context import MAX_SETTLE_WAIT, Call, CreditTarget, PublishSettings, last_outcome
from .create import MAX_SENDS, create, no_second_copy
from .effects import Batch, Flow, GetDocument, SetState, StorageEffect, ask
from .lease import Lease
from .notices import APPLY_DONE, step_notices

__all__ = [
    "MAX_SENDS",
    "MAX_SETTLE_WAIT",
    "PublishSettings",
    "publish",
    "published_result",
    "result_of",
]


def published_result(entry: JournalEntry, fingerprint: str) -> PublishResult:
    """The ``already_published`` result of a published (or ``duplicated``) entry.

    Raises:
        ValidationError: ``changed_after_publishing``: it was published with other content.

    """
    if entry.fingerprint != fingerprint:
        kind = kashflow_noun(entry.kind)
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
                        f"Correct {kind} {entry.number} in KashFlow; or delete it in KashFlow, "
                        f"run `kashflow-sync forget {entry.external_id}` "
                        f"(client.forget({entry.external_id!r})) and publish the corrected "
                        "document again; or publish it under a new external_id if it really "
                        "is a different one."
                    ),
                )
            ],
            external_id=entry.external_id,
        )
    return result_of(entry, "already_published")


def result_of(
    entry: JournalEntry,
    status: Literal["published", "already_published"],
    also: Sequence[PublishAttempt] = (),
) -> PublishResult:
    """The result an entry stands for, with what its recorded steps say a person should know.

    *also*: steps recorded since *entry* was read (its attempts are as of its claim).
    """
    applied, notices = step_notices(entry, also)
    return PublishResult(
        external_id=entry.external_id,
        kind=entry.kind,
        number=entry.number or 0,
        kashflow_id=entry.kashflow_id or 0,
        status=status,
        applied=applied,
        notices=notices,
    )


def publish(
    document: Document,
    fingerprint: str,
    lists: ListsSnapshot,
    settings: PublishSettings,
    *,
    owner: str | None = None,
    seen: JournalEntry | None = None,
    defer_id: bool = False,
    read_id: bool = True,
    credits: CreditTarget | None = None,
) -> Flow[PublishResult]:
    """Publish a validated, resolved document exactly once (see the module docstring).

    Args:
        document: the resolved document.
        fingerprint: the digest of the document as the caller gave it (before rules), so a
            rule changed between two attempts does not read as changed content.
        lists: the lists the document was validated against.
        settings: the connection's publish settings.
        owner: this call's lease owner id (a fresh one from ``settings.new_id`` by default).
        seen: the journal entry as read before this call (another worker's lease on it
            means a takeover: see :mod:`.settle`).
        defer_id: do not read the new document's internal id (a batch learns them all with
            one lookup afterwards); the entry is then published still leased to *owner*, for
            :func:`~.ids.fill_ids` to complete and release.
        read_id: False: do not read the new document's internal id, and release the entry
            published without it (``kashflow_id`` 0 in the result); a later
            :func:`~.ids.fill_ids` of :class:`~.ids.Pending` entries with no owner fills it in.
            For callers whose result can wait for the id (the Celery tasks' batched ids).
        credits: for a credit note naming the invoice it credits, that invoice as far as the
            journal knows it (its number at least).

    """
    lease = Lease(
        settings.connection_id,
        owner or settings.new_id(),
        settings.lease,
        settings.wait_poll,
        clock=settings.clock,
    )
    template = JournalEntry(
        connection_id=settings.connection_id,
        external_id=document.external_id,
        kind=document.kind,
        fingerprint=fingerprint,
    )
    entry, waited = yield from lease.claim(template)
    if entry.state == PUBLISHED:
        return published_result(entry, fingerprint)
    if entry.state == DUPLICATED:
        # In KashFlow (twice): never sent again; the result says which copy to delete.
        yield from lease.release(document.external_id)
        return published_result(entry, fingerprint)
    call = Call(
        document, lists, settings, lease, defer_id=defer_id, read_id=read_id, credits=credits
    )
    call.taken_over = waited or (seen is not None and seen.owner not in (None, lease.owner))
    try:
        if entry.state == FORGOTTEN:
            entry = yield from _anew(entry, fingerprint, lease)
        elif entry.fingerprint != fingerprint:
            entry = yield from _content_changed(entry, fingerprint, lease)
        entry = yield from _run(call, entry)
    except GeneratorExit:
        raise
    except BaseException as exc:
        # Whatever went wrong, record it and hand the document back at once: another call
        # must not wait out the lease behind a failure that is already known.
        code = exc.code if isinstance(exc, errors.KashFlowError) else type(exc).__name__
        try:
            failed = lease.attempt(document.external_id, "publish", "failed", f"{code}: {exc}")
            attempts, call.deferred = (*call.deferred, failed), []
            yield from ask(Batch(attempts) if len(attempts) > 1 else failed)
        finally:
            yield from lease.release(document.external_id)
        raise
    return result_of(entry, "published", call.recorded)


def _anew(entry: JournalEntry, fingerprint: str, lease: Lease) -> Flow[JournalEntry]:
    """A forgotten entry (its copy deleted in KashFlow) starts over; its history stays.

    ``publish: anew`` is recorded first: the steps before it belong to the deleted copy (see
    :func:`~.settle.current_attempts`).
    """
    attempt = yield from lease.record(entry.external_id, "publish", "anew", f"was {entry.number}")
    entry = attrs.evolve(
        entry,
        attempts=(*entry.attempts, attempt),
        contact_id=None,
        number=None,
        kashflow_id=None,
        attachment_done=False,
        payment_done=False,
    )
    return (yield from lease.save(entry, state=CLAIMED, fingerprint=fingerprint))


def _content_changed(entry: JournalEntry, fingerprint: str, lease: Lease) -> Flow[JournalEntry]:
    """The document differs from the one this entry was started for (never a published one)."""
    if entry.state == CLAIMED:
        # Nothing was sent: the new content goes.
        return (yield from lease.save(entry, fingerprint=fingerprint))
    where = f"number {entry.number}" if entry.number else "perhaps"
    raise errors.PublishUncertainError(
        f"{entry.external_id!r} changed while an earlier version was being published "
        f"(KashFlow holds it: {where}); the SDK will not guess which version is right",
        code=ErrorCode.CHANGED_WHILE_UNCERTAIN,
        remedy=(
            "Publish the earlier version again to finish it, then correct the document in "
            "KashFlow; or check KashFlow and delete the earlier version by hand."
        ),
        retryable=False,
    )


def _run(call: Call, entry: JournalEntry) -> Flow[JournalEntry]:
    document, lease = call.document, call.lease
    if entry.contact_id is None:
        found, call.new_contact = yield from contact_id(
            document, call.lists, lease, call.settings.settle, new_id=call.settings.new_id
        )
        entry = attrs.evolve(entry, contact_id=found)  # saved with the next state change
    # A document created by an earlier, interrupted run may have had its attachment or payment
    # sent without the journal hearing back: look before sending those again.
    resumed = entry.state == CREATED
    if resumed:
        entry = yield from _resume(call, entry)
    if call.credits is not None and last_outcome(entry, "apply") not in APPLY_DONE:
        assert entry.contact_id is not None
        call.credits = yield from credited_invoice(call, entry.contact_id)
    if entry.state in UNCREATED_STATES:
        entry = yield from create(call, entry)
    if document.attachment is not None and not entry.attachment_done:
        entry = yield from attach(call, entry, resumed=resumed)
    if call.credits is not None and last_outcome(entry, "apply") not in APPLY_DONE:
        if document.kind == "sales_credit_note":
            entry = yield from apply_credit(call, entry, resumed=resumed)
        else:
            # KashFlow's API has no call to allocate a supplier credit: say what to click.
            yield from call.note("apply", "not_possible", call.credits.describe("receipt"))
    if document.payment is not None and not entry.payment_done:
        entry = yield from pay(call, entry, resumed=resumed)
    if call.refused_attachment is not None:
        raise call.refused_attachment
    # A deferred id keeps the lease (still ours) until the batch has filled the id in.
    keep = call.defer_id and not entry.kashflow_id
    number = f"number {entry.number}"
    published = lease.attempt(document.external_id, "publish", "published", number)
    attempts, call.deferred = [*call.deferred, published], []
    # One transaction: the step's attempts, "published", and the keys that find it again.
    entry, _ = yield from lease.save_with(
        entry,
        state=PUBLISHED,
        release=not keep,
        before=attempts,
        after=_duplicate_keys(document, entry, call.settings.connection_id),
    )
    return entry


def _resume(call: Call, entry: JournalEntry) -> Flow[JournalEntry]:
    """Before finishing a document an earlier run created: what that run may have left."""
    contact, number = entry.contact_id, entry.number
    assert contact is not None and number is not None
    if last_outcome(entry, "create") == "duplicate":
        # Stopped earlier because KashFlow held two copies: go on only once one is gone.
        yield from no_second_copy(call, contact, number)
    # It may have died with the content still claimed: tidy it.
    yield from settle_content(call, contact, number)
    if not entry.kashflow_id and not call.defer_id and call.read_id:
        # It may have died before saving the internal id: read it again.
        held = yield from ask(GetDocument(call.document.kind, number))
        if held is not None and held.kashflow_id:
            entry = attrs.evolve(entry, kashflow_id=held.kashflow_id)
    return entry


def _duplicate_keys(
    document: Document, entry: JournalEntry, connection_id: str
) -> list[StorageEffect[Any]]:
    """The keys by which validation finds this published document (by name, by contact id)."""
    return [
        SetState(
            connection_id,
            duplicate_key(document.kind, contact or "", document.reference, document.gross),
            document.external_id,
        )
        for contact in (document.contact, entry.contact_id)
    ]
