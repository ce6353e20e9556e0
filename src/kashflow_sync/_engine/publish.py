"""The publish flow: exactly once on an API with no idempotency keys.

A journal entry per ``(connection_id, external_id)`` is claimed in storage before anything is
sent, and moved through ``claimed -> sending -> created -> published``. ``sending`` is written
*before* the create call, so after any uncertain outcome (a timeout, a lost answer, a killed
process, a cancelled task) the next attempt knows the document may be in KashFlow and looks it
up (contact + reference + date + totals) before it would send again. Steps already done
(attachment, payment) are never repeated. A call that finds another's live lease waits for it.
When the outcome cannot be established, :class:`~kashflow_sync.errors.PublishUncertainError` is
raised and the journal keeps saying ``sending``: nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

import attrs

from .. import errors
from .._documents import Document, Problem, PublishResult
from .._journal import JournalEntry
from .._lists import ListsSnapshot
from .._problem_codes import CHANGED_AFTER_PUBLISHING
from .._wire import document_header, document_lines, payment_ids
from .contacts import contact_id, may_have_applied
from .effects import (
    Flow,
    attach_file,
    get_document,
    insert_document,
    insert_payment,
    payments,
    receipt_attachments,
    set_state,
)
from .journal import DEFAULT_LEASE, DEFAULT_WAIT_POLL, Lease, new_owner, utcnow
from .keys import document_owner_key, duplicate_key
from .ledger import reconcile, refuse_ledger_duplicate

__all__ = ["MAX_SENDS", "PublishSettings", "publish", "published_result"]

#: Times the create call is sent again after KashFlow was shown not to have the document.
MAX_SENDS = 3


@attrs.frozen
class PublishSettings:
    """How one connection publishes.

    Args:
        connection_id: the connection whose journal is used.
        lease: how long a publish call holds a document before another may take it over.
        wait_poll: seconds between looks at a document another call is publishing.
        check_ledger: look in KashFlow for the same invoice before a document's first send.
        clock: the current time, timezone-aware.

    """

    connection_id: str
    lease: timedelta = DEFAULT_LEASE
    wait_poll: float = DEFAULT_WAIT_POLL
    check_ledger: bool = True
    clock: Callable[[], datetime] = utcnow


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


def publish(
    document: Document,
    fingerprint: str,
    lists: ListsSnapshot,
    settings: PublishSettings,
    *,
    owner: str | None = None,
) -> Flow[PublishResult]:
    """Publish a validated, resolved document exactly once (see the module docstring).

    Args:
        document: the resolved document.
        fingerprint: the digest of the document as the caller gave it (before rules), so a
            rule changed between two attempts does not read as changed content.
        lists: the lists the document was validated against.
        settings: the connection's publish settings.
        owner: this call's lease owner id (a fresh one by default).

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
    entry = yield from lease.claim(template)
    if entry.state == "published":
        return published_result(entry, fingerprint)
    try:
        if entry.fingerprint != fingerprint:
            entry = yield from _content_changed(entry, fingerprint, lease)
        entry = yield from _run(document, entry, lists, settings, lease)
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


def _run(
    document: Document,
    entry: JournalEntry,
    lists: ListsSnapshot,
    settings: PublishSettings,
    lease: Lease,
) -> Flow[JournalEntry]:
    if entry.contact_id is None:
        found = yield from contact_id(document, lists, lease)
        entry = yield from lease.save(entry, contact_id=found)
    # A document created by an earlier, interrupted run may have had its attachment or payment
    # sent without the journal hearing back: look before sending those again.
    resumed = entry.state == "created"
    if entry.state in ("claimed", "sending"):
        entry = yield from _create(document, entry, lists, settings, lease)
    if document.attachment is not None and not entry.attachment_done:
        entry = yield from _attach(document, entry, lease, resumed=resumed)
    if document.payment is not None and not entry.payment_done:
        entry = yield from _pay(document, entry, lists, lease, resumed=resumed)
    entry = yield from lease.save(entry, state="published", owner=None, lease_until=None)
    yield from lease.record(document.external_id, "publish", "published", f"number {entry.number}")
    return entry


def _found(
    document: Document, entry: JournalEntry, number: int, kashflow_id: int, lease: Lease
) -> Flow[JournalEntry]:
    """KashFlow holds this document as *number*: own it and move the journal on."""
    yield from set_state(
        lease.connection_id, document_owner_key(document.kind, number), document.external_id
    )
    yield from lease.record(document.external_id, "create", "found", f"number {number}")
    return (yield from lease.save(entry, state="created", number=number, kashflow_id=kashflow_id))


def _create(
    document: Document,
    entry: JournalEntry,
    lists: ListsSnapshot,
    settings: PublishSettings,
    lease: Lease,
) -> Flow[JournalEntry]:
    contact = entry.contact_id
    assert contact is not None
    if entry.state == "sending":
        found = yield from reconcile(document, contact, settings.connection_id, lists)
        if found is not None:
            return (yield from _found(document, entry, found.number, found.kashflow_id, lease))
    elif settings.check_ledger:
        yield from refuse_ledger_duplicate(document, contact)
    header = document_header(document, lists, contact)
    lines = document_lines(document, lists)
    for _send in range(MAX_SENDS):
        entry = yield from lease.save(entry, state="sending")
        try:
            number = yield from insert_document(document.kind, header, lines)
        except errors.KashFlowError as exc:
            if not may_have_applied(exc):
                # KashFlow refused it or never saw it: nothing is there.
                yield from lease.save(entry, state="claimed")
                raise
            yield from lease.record(document.external_id, "create", "uncertain", exc.code)
            found = yield from reconcile(document, contact, settings.connection_id, lists)
            if found is None:
                continue  # proven absent: sending again cannot duplicate it
            return (yield from _found(document, entry, found.number, found.kashflow_id, lease))
        # Record the number before anything else can fail.
        entry = yield from lease.save(entry, state="created", number=number)
        yield from set_state(
            settings.connection_id,
            document_owner_key(document.kind, number),
            document.external_id,
        )
        yield from lease.record(document.external_id, "create", "created", f"number {number}")
        created = yield from get_document(document.kind, number)
        if created is not None:
            entry = yield from lease.save(entry, kashflow_id=created.kashflow_id)
        return entry
    raise errors.PublishUncertainError(
        f"KashFlow kept failing to take {document.external_id!r}", code="publish_incomplete"
    )


def _attach(
    document: Document, entry: JournalEntry, lease: Lease, *, resumed: bool
) -> Flow[JournalEntry]:
    attachment = document.attachment
    assert attachment is not None and entry.number is not None
    if resumed and (yield from _attachment_landed(document, entry)):
        yield from lease.record(document.external_id, "attachment", "found", attachment.filename)
        return (yield from lease.save(entry, attachment_done=True))
    try:
        yield from attach_file(
            document.kind,
            entry.number,
            attachment.filename,
            attachment.content,
            attachment.content_type,
        )
    except errors.KashFlowError as exc:
        if not may_have_applied(exc):
            raise
        if not (yield from _attachment_landed(document, entry)):
            raise errors.PublishUncertainError(
                f"the attachment of {document.external_id!r} may not have reached KashFlow",
                detail=str(exc),
            ) from exc
    yield from lease.record(document.external_id, "attachment", "attached", attachment.filename)
    return (yield from lease.save(entry, attachment_done=True))


def _attachment_landed(document: Document, entry: JournalEntry) -> Flow[bool]:
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


def _payment_landed(document: Document, number: int, ids: Mapping[str, Any]) -> Flow[bool]:
    paid = yield from payments(document.kind, number)
    return any(p.amount == ids["amount"] and p.paid_on == ids["paid_on"] for p in paid)


def _pay(
    document: Document, entry: JournalEntry, lists: ListsSnapshot, lease: Lease, *, resumed: bool
) -> Flow[JournalEntry]:
    number = entry.number
    assert number is not None
    ids = payment_ids(document, lists)
    if resumed and (yield from _payment_landed(document, number, ids)):
        yield from lease.record(document.external_id, "payment", "found", str(ids["amount"]))
        return (yield from lease.save(entry, payment_done=True))
    try:
        yield from insert_payment(document.kind, number, **ids)
    except errors.KashFlowError as exc:
        if not may_have_applied(exc):
            raise
        if not (yield from _payment_landed(document, number, ids)):
            raise errors.PublishUncertainError(
                f"the payment of {document.external_id!r} may not have reached KashFlow",
                detail=str(exc),
            ) from exc
    yield from lease.record(document.external_id, "payment", "recorded", str(ids["amount"]))
    return (yield from lease.save(entry, payment_done=True))


def _remember_for_duplicates(
    document: Document, entry: JournalEntry, connection_id: str
) -> Flow[None]:
    for contact in (document.contact, entry.contact_id):
        key = duplicate_key(document.kind, contact or "", document.reference, document.gross)
        yield from set_state(connection_id, key, document.external_id)
