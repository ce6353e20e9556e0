"""What KashFlow's Delete operations do to the ledger (DeleteReceipt and friends).

The fake's refusals where something still depends on what is being deleted (a receipt with
payments, a supplier with receipts, a customer with invoices) are assumptions: KashFlow's own
rules are not published, but accounting ledgers commonly keep a document that has money
against it. A receipt's attachments go with it.
"""

from __future__ import annotations

from .messages import NotFound, Rejected, detail
from .postings import CONTACT_KIND, Postings, settled
from .records import DocumentKind

__all__ = ["Deletions"]


class Deletions(Postings):
    """The ledger plus deletions; each returns 1 (KashFlow's result when one thing went)."""

    def _delete_payment(self, kind: DocumentKind, pay_id: int) -> int:
        """Delete a payment by its number (``PayID``); the document's AmountPaid follows."""
        with self._lock:
            payment = self._payments.get(pay_id)
            if payment is None or payment.kind != kind:
                raise NotFound(detail(f"{kind}_payment_not_found"))
            del self._payments[pay_id]
            key = (kind, payment.document_number)
            document = self._documents.get(key)
            if document is not None:
                self._documents[key] = settled(document, -payment.amount)
            self._touch("documents", "payments")
            return 1

    def _delete_invoice_payment(self, number: int, pay_id: int) -> None:
        """Delete a payment of the invoice *number* (``DeleteInvoicePayment`` answers no result)."""
        with self._lock:
            payment = self._payments.get(pay_id)
            if payment is None or payment.kind != "invoice" or payment.document_number != number:
                raise NotFound(detail("invoice_payment_not_found"))
            self._delete_payment("invoice", pay_id)

    def _delete_receipt_attachment(self, receipt_dbid: int, attachment_id: int) -> int:
        """Delete one attachment of the receipt with internal id *receipt_dbid*."""
        with self._lock:
            found = self._document_by_dbid.get(receipt_dbid)
            if found is None or found[0] != "receipt":
                raise NotFound(detail("receipt_id_not_found"))
            attachment = self._attachments.get(attachment_id)
            if attachment is None or attachment.document_id != receipt_dbid:
                raise NotFound(detail("attachment_not_found"))
            del self._attachments[attachment_id]
            self._touch("attachments")
            return 1

    def _delete_document(self, kind: DocumentKind, number: int) -> int:
        """Delete a receipt or invoice by number, with its attachments; refused if paid."""
        with self._lock:
            document = self._document(kind, number)
            if any(p.kind == kind and p.document_number == number for p in self._payments.values()):
                raise Rejected(detail(f"{kind}_has_payments"))
            for attachment_id, attachment in list(self._attachments.items()):
                if attachment.kind == kind and attachment.document_id == document.kashflow_id:
                    del self._attachments[attachment_id]
            del self._documents[(kind, number)]
            del self._document_by_dbid[document.kashflow_id]
            self._touch("documents", "attachments")
            return 1

    def _delete_supplier(self, supplier_id: int) -> int:
        """Delete a supplier by internal id; refused while it has receipts."""
        return self._delete_contact("receipt", supplier_id)

    def _delete_customer(self, customer_id: int) -> int:
        """Delete a customer by internal id; refused while it has invoices (credit notes too)."""
        return self._delete_contact("invoice", customer_id)

    def _delete_contact(self, documents: DocumentKind, contact_id: int) -> int:
        """Delete the supplier (receipts) or customer (invoices); refused while it has any."""
        kind = CONTACT_KIND[documents]
        with self._lock:
            if self._documents_for(documents, contact_id):
                raise Rejected(detail(f"{kind}_has_{documents}s"))
            records, by_code, _ = self._contact_tables(kind)
            contact = records.pop(contact_id)
            del by_code[contact.code.upper()]
            self._touch(f"{kind}s")
            return 1
