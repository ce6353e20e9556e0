"""Removing what ``doctor --probe-writes`` made: children first, nothing left silently.

Cleanup asks KashFlow what hangs off the throwaway supplier rather than trusting its own
notes, so a receipt, payment or attachment whose creation answer was lost is found and deleted
too. A delete that fails with an uncertain outcome (no answer) is checked by looking the thing
up. What cannot be deleted is reported with its numbers and names and how to remove it by hand;
a parent whose children are still there is kept (deleting it could fail or, worse, orphan them).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Literal

import attrs

from ._doctor_model import ProbeItem
from ._doctor_session import DoctorSession, Exchange
from .soap import codec, operations

__all__ = ["Cleanup"]


@attrs.define
class _Pending:
    kind: str
    label: str
    how: str


class Cleanup:
    """Deletes a throwaway supplier and everything on it, recording each outcome in *items*.

    Args:
        session: the doctor's session (writes allowed).
        items: where each :class:`ProbeItem` is appended.
        supplier_name: the throwaway supplier's name, for the report and the manual remedy.
        reference: the throwaway receipts' reference.

    """

    def __init__(
        self, session: DoctorSession, items: list[ProbeItem], supplier_name: str, reference: str
    ) -> None:
        """Prepare; nothing is sent until :meth:`run`."""
        self.session = session
        self.items = items
        self.supplier_name = supplier_name
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

    def unknown_supplier(self) -> None:
        """Record a supplier whose creation got no answer: it may exist."""
        self._record(
            ProbeItem(
                "supplier",
                f"supplier '{self.supplier_name}'",
                "unknown",
                "InsertSupplier got no answer, so it may have been created",
                f"In KashFlow open Suppliers and look for '{self.supplier_name}'; delete it if "
                "it is there.",
            )
        )

    # -- the sweep --------------------------------------------------------------------------

    def run(self, supplier_id: int, known_receipts: list[int], *, supplier_code: str = "") -> None:
        """Delete every receipt of *supplier_id* (and theirs), then the supplier itself.

        Args:
            supplier_id: the throwaway supplier's id.
            known_receipts: the numbers of the receipts made (the sweep finds any others).
            supplier_code: the code KashFlow gave the supplier, if known: it is how the
                supplier is looked up when its delete gets no answer.

        """
        code = f", code {supplier_code}" if supplier_code else ""
        supplier = _Pending(
            "supplier",
            f"supplier '{self.supplier_name}' (id {supplier_id}{code})",
            f"In KashFlow open Suppliers, find '{self.supplier_name}' and delete it (after its "
            "receipts).",
        )
        self._pending = [supplier] + [self._receipt_pending(n) for n in known_receipts]
        numbers = set(known_receipts)
        listed = self.session.exchange(operations.documents_for_contact("purchase", supplier_id))
        if listed.error is None:
            numbers |= {d.number for d in listed.value()}
            self._pending += [self._receipt_pending(n) for n in numbers - set(known_receipts)]
        kept = [number for number in sorted(numbers) if not self._receipt(number)]
        if kept:
            which = ", ".join(str(n) for n in kept)
            still = f"receipts {which} are" if len(kept) > 1 else f"receipt {which} is"
            self._record(
                ProbeItem(
                    "supplier",
                    supplier.label,
                    "left",
                    f"kept because its {still} still there",
                    supplier.how,
                )
            )
            return
        self._delete(
            supplier,
            operations.delete_supplier(supplier_id),
            verify=functools.partial(self._supplier_gone, supplier_id, supplier_code),
        )

    def _receipt_pending(self, number: int) -> _Pending:
        return _Pending(
            "receipt",
            f"receipt {number} (reference {self.reference})",
            f"In KashFlow open Purchases, find receipt {number} (reference {self.reference}), "
            "delete its payments, then delete the receipt.",
        )

    def _receipt(self, number: int) -> bool:
        """Delete receipt *number* with its payments and attachments; True when it is gone."""
        pending = self._receipt_pending(number)
        found = self.session.exchange(operations.get_document("purchase", number))
        if found.error is None and found.result is None:
            self._pending = [p for p in self._pending if p.label != pending.label]
            return True  # nothing to delete: an insert that never landed
        children_gone = True
        payments = self.session.exchange(operations.payments("purchase", number))
        for payment in payments.result or []:
            children_gone &= self._delete(
                _Pending(
                    "payment",
                    f"payment {payment.kashflow_id} of {payment.amount} on receipt {number}",
                    f"In KashFlow open receipt {number} (reference {self.reference}) and delete "
                    f"its payment of {payment.amount}.",
                ),
                operations.delete_receipt_payment(payment.kashflow_id),
                verify=functools.partial(self._payment_gone, number, payment.kashflow_id),
            )
        dbid = found.result.kashflow_id if found.result is not None else 0
        if dbid:
            files = self.session.exchange(operations.receipt_attachments(dbid))
            for attachment in files.result or []:
                children_gone &= self._delete(
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
        if not children_gone:
            self._record(
                ProbeItem(
                    "receipt",
                    pending.label,
                    "left",
                    "kept because a payment or attachment on it is still there",
                    pending.how,
                )
            )
            return False
        return self._delete(
            pending,
            operations.delete_receipt(number),
            verify=functools.partial(self._receipt_gone, number),
        )

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

    def _receipt_gone(self, number: int) -> bool | None:
        found = self.session.exchange(operations.get_document("purchase", number))
        return None if found.error is not None else found.result is None

    def _supplier_gone(self, supplier_id: int, code: str) -> bool | None:
        if code:
            found = self.session.exchange(operations.find_contact("purchase", code))
            return None if found.error is not None else found.result is None
        # Without the code: only a "There is no supplier" refusal proves it gone.
        listed = self.session.exchange(operations.documents_for_contact("purchase", supplier_id))
        return True if (listed.status or "").upper() == "NO" and listed.error is None else None

    def _payment_gone(self, number: int, pay_id: int) -> bool | None:
        found = self.session.exchange(operations.payments("purchase", number))
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
