"""The attachment and the payment: each sent once, looked for before any resend.

KashFlow lists a receipt's attachments and a document's payments, so a step whose answer was
lost (or a resumed publish) looks before it sends again; a sales invoice's attachments cannot be
listed, so its file is sent again (at worst attached twice, never the invoice).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs

from .. import errors
from .._documents.model import Problem, kashflow_noun
from .._documents.problems import CREDITS_OTHER_CONTACT, UNKNOWN_CREDITED_INVOICE, ProblemCode
from .._error_codes import ErrorCode
from .._journal.entry import JournalEntry
from ..soap.wire import payment_ids
from .contacts import may_have_applied
from .context import Call, CreditTarget, resume_until, settled
from .effects import (
    ApplyCreditNote,
    AttachFile,
    Flow,
    GetDocument,
    InsertPayment,
    Payments,
    ReceiptAttachments,
    ask,
    renewing,
)

__all__ = ["apply_credit", "attach", "credited_invoice", "pay"]


def _write_once(
    call: Call,
    entry: JournalEntry,
    step: Literal["attachment", "payment", "apply"],
    landed: Callable[[], Flow[bool]],
    send: Callable[[], Flow[Any]],
    *,
    resumed: bool,
) -> Flow[tuple[JournalEntry, Literal["sent", "found"] | errors.RejectedError, Any]]:
    """Send a step's write exactly once: unless it is found to have landed already.

    On resume it looks first (waiting out the settle time when the last send was in doubt).
    An uncertain send is looked up until the settle time has passed; still missing, it is a
    ``PublishUncertainError``. KashFlow refusing the write is returned, not raised. The third
    value is what the send answered (None unless it was ``"sent"`` and answered).
    """
    what = f"the {step}"
    if resumed:
        until = resume_until(call, entry, step)
        if (yield from settled(call, until, what, landed)):
            return entry, "found", None
        entry = yield from call.lease.save(entry)  # confirms the lease right before the write
    elif call.unsaved:
        # The id read after the create: kept by the save that confirms the lease (the fence).
        entry = yield from call.lease.save(entry)
    call.unsaved = False
    try:
        answer = yield from renewing(call.lease.renewal(entry), send())
    except errors.RejectedError as exc:
        return entry, exc, None
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
        return entry, "sent", None
    return entry, "sent", answer


def attach(call: Call, entry: JournalEntry, *, resumed: bool) -> Flow[JournalEntry]:
    document, lease = call.document, call.lease
    attachment, number = document.attachment, entry.number
    assert attachment is not None and number is not None
    entry, outcome, _ = yield from _write_once(
        call,
        entry,
        "attachment",
        lambda: _attachment_landed(call, entry),
        lambda: ask(
            AttachFile(
                document.kind,
                number,
                attachment.filename,
                attachment.content,
                attachment.content_type,
            )
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
    recorded = lease.attempt(document.external_id, "attachment", done, attachment.filename)
    # Saved right before the next write (the payment), with its attempt: confirms the lease.
    return (yield from lease.save(entry, attachment_done=True, before=[recorded]))


def _attachment_landed(call: Call, entry: JournalEntry) -> Flow[bool]:
    document = call.document
    if document.side != "purchase":
        # KashFlow has no call listing a sales invoice's attachments: sending again is the only
        # way to be sure, at worst attaching the same file twice (never the invoice).
        return False
    assert document.attachment is not None and entry.number is not None
    receipt_id = entry.kashflow_id
    if not receipt_id:
        found = yield from ask(GetDocument(document.kind, entry.number))
        receipt_id = found.kashflow_id if found else 0
    if not receipt_id:
        return False
    files = yield from ask(ReceiptAttachments(receipt_id))
    return any(f.filename == document.attachment.filename for f in files)


def _payment_landed(call: Call, number: int, ids: Mapping[str, Any]) -> Flow[bool]:
    # Either sign counts: a refund on a credit note may have gone out in the other form.
    paid = yield from ask(Payments(call.document.kind, number))
    amount = abs(ids["amount"])
    return any(abs(p.amount) == amount and p.paid_on == ids["paid_on"] for p in paid)


def pay(call: Call, entry: JournalEntry, *, resumed: bool) -> Flow[JournalEntry]:
    """Record the document's payment once (a credit note's: its refund).

    A refund on a credit note goes as a negative amount, and once more as a positive one if
    KashFlow refuses that (unless doctor learned which the account takes): a refusal records
    nothing, so this cannot pay twice.
    """
    document, lease = call.document, call.lease
    number = entry.number
    assert number is not None
    signs = call.settings.refund_signs if document.sign < 0 else (1,)
    outcome: Literal["sent", "found"] | errors.RejectedError = "sent"
    ids: Mapping[str, Any] = {}
    for index, refund_sign in enumerate(signs):
        ids = payment_ids(document, call.lists, refund_sign=refund_sign)
        entry, outcome, _ = yield from _write_once(
            call,
            entry,
            "payment",
            functools.partial(_payment_landed, call, number, ids),
            functools.partial(ask, InsertPayment(document.kind, number, **ids)),
            resumed=resumed,
        )
        if not isinstance(outcome, errors.RejectedError) or index == len(signs) - 1:
            break
        said = f"{outcome.code}: refused as {ids['amount']}"
        yield from lease.record(document.external_id, "payment", "refused", said)
        resumed = False  # refused: nothing of it landed, so the other sign goes straight out
    if isinstance(outcome, errors.RejectedError):
        if document.sign < 0:
            # The credit note is in KashFlow; the account takes no refund on it over the API.
            # Sending it again would be refused again: a person records it (see .notices).
            said = f"{outcome.detail or outcome.message}"
            yield from call.note("payment", "refused", f"{ids['amount']}: {said}")
            return attrs.evolve(entry, payment_done=True)
        raise outcome
    done = "recorded" if outcome == "sent" else "found"
    # Stored with "published" next, as the flag is.
    call.deferred.append(lease.attempt(document.external_id, "payment", done, str(ids["amount"])))
    return attrs.evolve(entry, payment_done=True)


# ---------------------------------------------------------------------- applying credit notes


def credited_invoice(call: Call, contact: int) -> Flow[CreditTarget]:
    """The invoice the credit note credits, checked before anything is sent for it.

    A sales credit note needs the invoice's internal id (to apply it): read from KashFlow when
    the journal does not know it. Either kind must credit an invoice of its own contact.

    Raises:
        RejectedError: ``credited_invoice_missing``: KashFlow has no such invoice.
        ValidationError: ``credits_other_contact``, or the number is another credit note's.

    """
    document, target = call.document, call.credits
    assert target is not None
    noun = kashflow_noun(document.side)
    if document.side == "sales" and (not target.kashflow_id or target.contact_id is None):
        held = yield from ask(GetDocument(document.side, target.number))
        if held is None:
            raise errors.RejectedError(
                f"KashFlow has no {noun} {target.number}, which {document.external_id!r} credits",
                code=ErrorCode.CREDITED_INVOICE_MISSING,
                remedy=(
                    f"Check the credited {noun}'s number (credits=) in KashFlow; if it was "
                    "deleted there, publish the credit note without credits and apply it by hand."
                ),
            )
        if held.gross < 0:
            said = f"{noun} {target.number} is itself a credit note"
            raise _credits_problem(call, UNKNOWN_CREDITED_INVOICE, said)
        target = attrs.evolve(target, kashflow_id=held.kashflow_id, contact_id=held.contact_id)
    if target.contact_id is not None and target.contact_id != contact:
        raise _credits_problem(
            call,
            CREDITS_OTHER_CONTACT,
            f"{target.describe(noun)} is not {document.contact!r}'s: a credit note credits an "
            "invoice of its own supplier or customer",
        )
    return target


def _credits_problem(call: Call, code: ProblemCode, message: str) -> errors.ValidationError:
    return errors.ValidationError(
        [
            Problem(
                code,
                "credits",
                message,
                "Name the invoice this credit note really credits (its external_id or KashFlow "
                "number), or leave credits out.",
            )
        ],
        external_id=call.document.external_id,
    )


def apply_credit(call: Call, entry: JournalEntry, *, resumed: bool) -> Flow[JournalEntry]:
    """Apply a sales credit note to the invoice it credits, exactly once (``"apply"`` step).

    Applying makes KashFlow record a payment on the credit note (and its opposite on the
    invoice): that is how a lost or doubtful answer is looked up before anything is sent
    again, and how a ``false`` answer is checked before it is believed. Whatever happens, the
    outcome is recorded, and a credit that could not be applied is a notice on the result
    (never a failure: the credit note itself is in KashFlow).
    """
    document, lease, settings = call.document, call.lease, call.settings
    target, number = call.credits, entry.number
    assert target is not None and number is not None
    if not entry.kashflow_id:
        held = yield from renewing(lease.renewal(entry), ask(GetDocument(document.kind, number)))
        if held is not None and held.kashflow_id:
            entry = attrs.evolve(entry, kashflow_id=held.kashflow_id)
    credit_id, invoice_id = entry.kashflow_id, target.kashflow_id
    if not credit_id or not invoice_id:
        raise errors.PublishUncertainError(
            f"could not learn the internal ids needed to apply {document.external_id!r}",
            code=ErrorCode.APPLY_IDS_UNKNOWN,
            remedy="Publish it again: the credit note is in KashFlow; only applying it is left.",
        )
    landed = functools.partial(_credit_applied, call, number)
    entry, outcome, answer = yield from _write_once(
        call,
        entry,
        "apply",
        landed,
        functools.partial(ask, ApplyCreditNote(invoice_id, credit_id)),
        resumed=resumed,
    )
    where = target.describe("invoice")
    if isinstance(outcome, errors.RejectedError):
        reason = f"KashFlow refused: {outcome.detail or outcome.message}"
        yield from call.note("apply", "refused", f"{where}: {reason}")
    elif outcome == "found" or answer is not False:
        yield from call.note("apply", "applied", where)
    elif settings.apply_false != "not_applied" and (yield from landed()):
        # KashFlow answered false but applied it: its boolean is not to be trusted.
        yield from call.note("apply", "applied", f"{where}: KashFlow answered false")
    else:
        reason = "KashFlow answered false and did not apply it"
        yield from call.note("apply", "not_applied", f"{where}: {reason}")
    return entry


def _credit_applied(call: Call, number: int) -> Flow[bool]:
    """Whether KashFlow holds a payment on credit note *number* (an application makes one)."""
    paid = yield from ask(Payments(call.document.kind, number))
    return any(p.amount for p in paid)
