"""The attachment and the payment: each sent once, looked for before any resend.

KashFlow lists a receipt's attachments and a document's payments, so a step whose answer was
lost (or a resumed publish) looks before it sends again; a sales invoice's attachments cannot be
listed, so its file is sent again (at worst attached twice, never the invoice).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs

from .. import errors
from .._journal import JournalEntry
from .._wire import payment_ids
from .call import Call, resume_until, settled
from .contacts import may_have_applied
from .effects import (
    Flow,
    attach_file,
    get_document,
    insert_payment,
    payments,
    receipt_attachments,
    renewing,
)

__all__ = ["attach", "pay"]


def _write_once(
    call: Call,
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
        until = resume_until(call, entry, step)
        if (yield from settled(call, until, what, landed)):
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
        if not (yield from settled(call, until, what, landed)):
            raise errors.PublishUncertainError(
                f"{what} of {call.document.external_id!r} may not have reached KashFlow",
                detail=str(exc),
            ) from exc
    return entry, "sent"


def attach(call: Call, entry: JournalEntry, *, resumed: bool) -> Flow[JournalEntry]:
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


def _attachment_landed(call: Call, entry: JournalEntry) -> Flow[bool]:
    document = call.document
    if document.side != "purchase":
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


def _payment_landed(call: Call, number: int, ids: Mapping[str, Any]) -> Flow[bool]:
    paid = yield from payments(call.document.kind, number)
    return any(p.amount == ids["amount"] and p.paid_on == ids["paid_on"] for p in paid)


def pay(call: Call, entry: JournalEntry, *, resumed: bool) -> Flow[JournalEntry]:
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
