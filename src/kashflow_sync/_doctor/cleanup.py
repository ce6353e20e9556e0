"""Removing what ``doctor --probe-writes`` made: children first, nothing left silently.

Cleanup asks KashFlow what hangs off each throwaway contact rather than trusting its own
notes, so a receipt, invoice, credit note, payment or attachment whose creation answer was
lost is found and deleted too. A delete that fails with an uncertain outcome (no answer) is
checked by looking the thing up. What cannot be deleted is reported with its numbers and
names and how to remove it by hand; a parent whose children are still there is kept
(deleting it could fail or, worse, orphan them).

A sales credit note is an invoice with negative lines, and applying it to an invoice makes a
payment on each: they are deleted as any invoice's payments are (``DeleteInvoicePayment``),
before the invoices (``DeleteInvoice``) and the customer (``DeleteCustomer``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, Literal

import attrs

from ..soap import codec, operations
from ..soap.records import LedgerDocument
from .model import ProbeItem
from .session import DoctorSession, Exchange
from .throwaway import Throwaway

__all__ = ["Cleanup"]


@attrs.define
class _Pending:
    kind: str
    label: str
    how: str


class Cleanup:
    """Deletes throwaway contacts and everything on them, recording each outcome in *items*.

    Args:
        session: the doctor's session (writes allowed).
        items: where each :class:`ProbeItem` is appended.
        reference: the throwaway documents' reference (for the report and the manual remedy).

    """

    def __init__(self, session: DoctorSession, items: list[ProbeItem], reference: str) -> None:
        """Prepare; nothing is sent until :meth:`run`."""
        self.session = session
        self.items = items
        self.reference = reference
        self._pending: list[_Pending] = []

    # -- outcomes ---------------------------------------------------------------------------

    def _record(self, item: ProbeItem) -> None:
        self.items.append(item)
        self._pending = [p for p in self._pending if p.label != item.label]

    def mark_rest_left(self, reason: str) -> None:
        """Record everything not dealt with yet as left, with *reason* (after an interruption)."""
        unique = {p.label: p for p in self._pending}
        for pending in unique.values():
            self._record(ProbeItem(pending.kind, pending.label, "left", reason, pending.how))

    def _unknown_contact(self, contact: Throwaway) -> None:
        """Record a contact whose creation got no answer: it may exist."""
        words = contact.words
        insert = "InsertSupplier" if contact.side == "purchase" else "InsertCustomer"
        self._record(
            ProbeItem(
                words.contact,
                f"{words.contact} '{contact.name}'",
                "unknown",
                f"{insert} got no answer, so it may have been created",
                f"In KashFlow open {words.contacts_page} and look for '{contact.name}'; delete "
                "it if it is there.",
            )
        )

    # -- the sweep --------------------------------------------------------------------------

    def run(self, contacts: Sequence[Throwaway]) -> None:
        """Delete every document of each contact (and theirs), then the contact itself.

        Everything known is pending from the start, so an interruption part-way reports
        what the later contacts still hold too; a contact that may exist (its creation went
        unanswered) is reported first, as it needs no request.
        """
        for contact in contacts:
            if contact.unknown:
                self._unknown_contact(contact)
        made = [c for c in contacts if c.kashflow_id is not None and not c.unknown]
        for contact in made:
            self._pending += [self._contact_pending(contact)]
            self._pending += [self._document_pending(contact, n) for n in contact.documents]
        for contact in made:
            self._sweep(contact)

    def _contact_pending(self, contact: Throwaway) -> _Pending:
        words = contact.words
        code = f", code {contact.code}" if contact.code else ""
        return _Pending(
            words.contact,
            f"{words.contact} '{contact.name}' (id {contact.kashflow_id}{code})",
            f"In KashFlow open {words.contacts_page}, find '{contact.name}' and delete it (after "
            f"its {words.document}s).",
        )

    def _document_pending(self, contact: Throwaway, number: int) -> _Pending:
        noun, page = contact.words.document, contact.words.documents_page
        return _Pending(
            noun,
            f"{noun} {number} (reference {self.reference})",
            f"In KashFlow open {page}, find {noun} {number} (reference {self.reference}), "
            f"delete its payments, then delete the {noun}.",
        )

    def _sweep(self, contact: Throwaway) -> None:
        assert contact.kashflow_id is not None
        pending = self._contact_pending(contact)
        known = list(contact.documents)
        numbers = set(known)
        listed = self.session.exchange(
            operations.documents_for_contact(contact.side, contact.kashflow_id)
        )
        if listed.error is None:
            numbers |= {d.number for d in listed.value()}
            self._pending += [self._document_pending(contact, n) for n in numbers - set(known)]
        kept = [number for number in sorted(numbers) if not self._document(contact, number)]
        if kept:
            noun = contact.words.document
            which = ", ".join(str(n) for n in kept)
            still = f"{noun}s {which} are" if len(kept) > 1 else f"{noun} {which} is"
            self._record(
                ProbeItem(
                    pending.kind,
                    pending.label,
                    "left",
                    f"kept because its {still} still there",
                    pending.how,
                )
            )
            return
        delete = (
            operations.delete_supplier if contact.side == "purchase" else operations.delete_customer
        )
        self._delete(
            pending,
            delete(contact.kashflow_id),
            verify=functools.partial(self._contact_gone, contact),
        )

    def _document(self, contact: Throwaway, number: int) -> bool:
        """Delete document *number* with its payments and attachments; True when it is gone."""
        side, noun = contact.side, contact.words.document
        pending = self._document_pending(contact, number)
        found = self.session.exchange(operations.get_document(side, number))
        if found.error is None and found.result is None:
            self._pending = [p for p in self._pending if p.label != pending.label]
            return True  # nothing to delete: an insert that never landed
        children_gone = self._payments(contact, number)
        if side == "purchase":
            children_gone &= self._attachments(number, found.result)
        if not children_gone:
            self._record(
                ProbeItem(
                    noun,
                    pending.label,
                    "left",
                    "kept because a payment or attachment on it is still there",
                    pending.how,
                )
            )
            return False
        delete = operations.delete_receipt if side == "purchase" else operations.delete_invoice
        return self._delete(
            pending,
            delete(number),
            verify=functools.partial(self._document_gone, contact, number),
        )

    def _payments(self, contact: Throwaway, number: int) -> bool:
        """Delete every payment of document *number* (a refund, an applied credit)."""
        side, noun = contact.side, contact.words.document
        gone = True
        payments = self.session.exchange(operations.payments(side, number))
        for payment in payments.result or []:
            request = (
                operations.delete_receipt_payment(payment.kashflow_id)
                if side == "purchase"
                else operations.delete_invoice_payment(number, payment.kashflow_id)
            )
            gone &= self._delete(
                _Pending(
                    "payment",
                    f"payment {payment.kashflow_id} of {payment.amount} on {noun} {number}",
                    f"In KashFlow open {noun} {number} (reference {self.reference}) and delete "
                    f"its payment of {payment.amount}.",
                ),
                request,
                verify=functools.partial(self._payment_gone, contact, number, payment.kashflow_id),
            )
        return gone

    def _attachments(self, number: int, document: LedgerDocument | None) -> bool:
        """Delete every file attached to receipt *number* (KashFlow lists none for invoices)."""
        dbid = document.kashflow_id if document is not None else 0
        if not dbid:
            return True
        gone = True
        files = self.session.exchange(operations.receipt_attachments(dbid))
        for attachment in files.result or []:
            gone &= self._delete(
                _Pending(
                    "attachment",
                    f"attachment {attachment.kashflow_id} ({attachment.filename}) on receipt "
                    f"{number}",
                    f"In KashFlow open receipt {number} (reference {self.reference}) and "
                    f"remove the attached file {attachment.filename}.",
                ),
                operations.delete_receipt_attachment(dbid, attachment.kashflow_id),
                verify=functools.partial(self._attachment_gone, dbid, attachment.kashflow_id),
            )
        return gone

    def _delete(
        self,
        what: _Pending,
        request: codec.Request[int],
        *,
        verify: Callable[[], bool | None] | None,
    ) -> bool:
        """Send one delete; True when the thing is gone (checked by *verify* when unsure)."""
        self._pending.append(what)
        sent = self.session.exchange(request)
        if sent.error is None and (sent.result or 0) > 0:
            self._record(ProbeItem(what.kind, what.label, "deleted"))
            return True
        gone = verify() if verify is not None else None
        if gone:
            self._record(ProbeItem(what.kind, what.label, "deleted"))
            return True
        reason = _why(sent)
        state: Literal["left", "unknown"] = (
            "unknown" if gone is None and sent.status is None else "left"
        )
        self._record(ProbeItem(what.kind, what.label, state, reason, what.how))
        return False

    # -- checks after an unsure delete --------------------------------------------------------

    def _document_gone(self, contact: Throwaway, number: int) -> bool | None:
        found = self.session.exchange(operations.get_document(contact.side, number))
        return None if found.error is not None else found.result is None

    def _contact_gone(self, contact: Throwaway) -> bool | None:
        if contact.code:
            found = self.session.exchange(operations.find_contact(contact.side, contact.code))
            return None if found.error is not None else found.result is None
        # Without the code: only a "There is no supplier/customer" refusal proves it gone.
        assert contact.kashflow_id is not None
        listed = self.session.exchange(
            operations.documents_for_contact(contact.side, contact.kashflow_id)
        )
        return True if (listed.status or "").upper() == "NO" and listed.error is None else None

    def _payment_gone(self, contact: Throwaway, number: int, pay_id: int) -> bool | None:
        found = self.session.exchange(operations.payments(contact.side, number))
        if found.error is not None:
            return None
        return all(p.kashflow_id != pay_id for p in found.value())

    def _attachment_gone(self, receipt_id: int, attachment_id: int) -> bool | None:
        found = self.session.exchange(operations.receipt_attachments(receipt_id))
        if found.error is not None:
            return None
        return all(a.kashflow_id != attachment_id for a in found.value())


def _why(sent: Exchange[Any]) -> str:
    if sent.status is not None and sent.status.upper() == "NO":
        return f"{sent.operation} refused: '{sent.detail}'"
    if sent.error is not None:
        return f"{sent.operation} failed: {sent.error.message}"
    return f"{sent.operation} answered OK but deleted nothing"
