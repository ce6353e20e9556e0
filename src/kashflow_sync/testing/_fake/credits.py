"""Credit notes applied to invoices (``applyCreditNoteToInvoice``), as KashFlow's help has it.

KashFlow's API has no credit-note insert: a sales credit note is an invoice with negative
lines, linked to the invoice it credits with ``applyCreditNoteToInvoice(InvoiceID,
CreditNoteID)``, which answers a boolean. KashFlow's help says applying one creates two
zero-sum payments, which need a bank account and a payment method. The fake plays that, and
``Readings.apply_answer`` says what the boolean means.
"""

from __future__ import annotations

from decimal import Decimal

from .deletes import Deletions
from .messages import NotFound, Rejected, detail
from .records import DocumentRecord, PaymentRecord

__all__ = ["Credits"]


class _CannotApply(Exception):
    """KashFlow could not apply the credit (answered false, or Status=NO)."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.detail = detail(key, **values)


class Credits(Deletions):
    """The ledger plus applying sales credit notes to invoices."""

    def _invoice_by_id(self, dbid: int) -> DocumentRecord:
        found = self._document_by_dbid.get(dbid)
        if found is None or found[0] != "invoice":
            raise NotFound(detail("invoice_id_not_found"))
        return self._documents[found]

    def _apply_credit_note(self, invoice_id: int, credit_note_id: int) -> bool:
        """Apply the credit note (by internal id) to the invoice (by internal id).

        Creates a payment of the amount applied on the invoice and its opposite on the credit
        note, dated today, with the account's first sales payment method and bank account.
        """
        with self._lock:
            try:
                self._apply(invoice_id, credit_note_id)
            except _CannotApply as exc:
                if self._readings.apply_answer == "status_no":
                    raise Rejected(exc.detail) from None
                return False
            return self._readings.apply_answer != "always_false"

    def _apply(self, invoice_id: int, credit_note_id: int) -> None:
        invoice = self._invoice_by_id(invoice_id)
        credit = self._invoice_by_id(credit_note_id)
        if credit.gross >= 0:
            raise Rejected(detail("credit_not_a_credit_note", id=credit_note_id))
        if invoice.contact_id != credit.contact_id:
            raise _CannotApply("credit_other_customer")
        methods = self._methods["invoice"]
        if self._readings.apply_needs_bank and (not methods or not self._banks):
            raise _CannotApply("credit_needs_bank")
        left_on_credit = abs(credit.gross) - abs(credit.amount_paid)
        left_on_invoice = invoice.gross - invoice.amount_paid
        amount = min(left_on_credit, left_on_invoice)
        if amount <= 0:
            raise _CannotApply("credit_nothing_to_apply")
        method = min(methods) if methods else 0
        account = min(self._banks) if self._banks else 0
        when = self._stamp().replace(hour=0, minute=0, second=0)
        note = f"Credit note {credit.number} applied to invoice {invoice.number}"
        for document, value in ((invoice, amount), (credit, -amount)):
            self._store_payment(
                PaymentRecord(
                    kashflow_id=self._take("payment"),
                    kind="invoice",
                    document_number=document.number,
                    pay_date=when,
                    method_id=method,
                    account_id=account,
                    amount=Decimal(value),
                    note=note,
                )
            )
