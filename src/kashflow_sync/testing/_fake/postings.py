"""Receipts, sales invoices, their payments and attachments, as KashFlow checks and stores them.

Each posting validates everything first and only then takes ids and stores, so a refused call
leaves no trace (not even a used number).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from .contacts import Contacts
from .messages import NotFound, Rejected, detail
from .readings import store_line
from .records import AttachmentRecord, DocumentKind, DocumentRecord, LineRecord, PaymentRecord

__all__ = ["CONTACT_KIND", "Postings", "settled"]

_ZERO = Decimal("0.00")


def settled(document: DocumentRecord, amount: Decimal) -> DocumentRecord:
    """*document* with *amount* more paid (negative: less); ``Paid`` once nothing is left.

    A credit note's gross is negative: it is settled once as much has gone the other way (a
    refund, or a credit applied), whichever sign the account records a refund with.
    """
    paid = document.amount_paid + amount
    settled_in_full = paid != 0 and abs(paid) >= abs(document.gross)
    return attrs.evolve(document, amount_paid=paid, paid=int(settled_in_full))


#: The kind of contact each kind of document belongs to.
CONTACT_KIND: Mapping[DocumentKind, str] = {"receipt": "supplier", "invoice": "customer"}


@attrs.frozen
class _OneLine:
    """What the seeding helpers post: a one-line document's amounts, code and text."""

    net: Decimal
    vat: Decimal
    vat_rate: Decimal
    nominal_code: int | None
    reference: str | None
    issue_date: datetime | None
    description: str | None


class Postings(Contacts):
    """The ledger plus documents: what InsertReceipt, InsertInvoice and friends act on."""

    # -- seeding helpers ----------------------------------------------------------------------

    def add_receipt(
        self,
        supplier: str,
        *,
        net: Decimal,
        vat: Decimal = _ZERO,
        vat_rate: Decimal = Decimal(20),
        nominal_code: int | None = None,
        reference: str | None = None,
        issue_date: datetime | None = None,
        description: str | None = None,
    ) -> DocumentRecord:
        """Post a one-line receipt directly, as if someone had keyed it into KashFlow.

        Args:
            supplier: the supplier's code or name.
            net: the line's net amount.
            vat: the line's VAT amount.
            vat_rate: a VAT rate the account offers.
            nominal_code: the visible nominal code (0/None: "Other").
            reference: the supplier's invoice number (``CustomerReference``).
            issue_date: the receipt date (default: the clock's today).
            description: the line's description.

        Raises:
            KeyError: unknown supplier or nominal code.
            ValueError: anything KashFlow itself would refuse.

        """
        line = _OneLine(net, vat, vat_rate, nominal_code, reference, issue_date, description)
        return self._add_document("receipt", supplier, line)

    def add_invoice(
        self,
        customer: str,
        *,
        net: Decimal,
        vat: Decimal = _ZERO,
        vat_rate: Decimal = Decimal(20),
        nominal_code: int | None = None,
        reference: str | None = None,
        issue_date: datetime | None = None,
        description: str | None = None,
    ) -> DocumentRecord:
        """Post a one-line sales invoice directly; arguments as for :meth:`add_receipt`."""
        line = _OneLine(net, vat, vat_rate, nominal_code, reference, issue_date, description)
        return self._add_document("invoice", customer, line)

    def _add_document(self, kind: DocumentKind, contact: str, one: _OneLine) -> DocumentRecord:
        """Post *one* line as a document of *kind* for the contact with that code or name."""
        with self._lock:
            who = CONTACT_KIND[kind]
            records, by_code, _ = self._contact_tables(who)
            found = self._find_contact(records, by_code, contact)
            if found is None:
                raise KeyError(f"no {who} {contact!r}")
            charge = self._nominal_by_code[one.nominal_code] if one.nominal_code else 0
            when = one.issue_date or self._stamp().replace(hour=0, minute=0, second=0)
            line = {
                "xsi:type": "InvoiceLine",
                "Quantity": Decimal(1),
                "Description": one.description,
                "Rate": one.net,
                "ChargeType": charge,
                "VatRate": one.vat_rate,
                "VatAmount": one.vat,
                "ProductID": 0,
                "Sort": 1,
                "ProjID": 0,
                "LineID": 0,
            }
            wire = {
                "CustomerID": found.kashflow_id,
                "InvoiceDate": when,
                "DueDate": when,
                "CustomerReference": one.reference,
                "Lines": [line],
            }
            try:
                return self._post_document(kind, wire)
            except Rejected as exc:
                raise ValueError(exc.detail) from None

    # -- postings -------------------------------------------------------------------------

    def _post_document(self, kind: DocumentKind, wire: Mapping[str, Any] | None) -> DocumentRecord:
        """Validate and store a receipt or invoice from an ``Invoice`` element's values."""
        if wire is None:
            raise Rejected(detail("document_missing"))
        with self._lock:
            contact_id = wire.get("CustomerID") or 0
            contact = self._contact_tables(CONTACT_KIND[kind])[0].get(contact_id)
            if contact is None:
                raise Rejected(detail(f"{CONTACT_KIND[kind]}_id_not_found"))
            project_id = wire.get("ProjectID") or 0
            if project_id and project_id not in self._projects:
                raise Rejected(detail("bad_project", id=project_id))
            currency = self._currency_code(wire.get("CurrencyCode"))
            items: Sequence[object] = wire.get("Lines") or []
            for number, item in enumerate(items, 1):
                self._check_line(number, item)
            convert_by = self._home_currency_factor(currency, wire.get("ExchangeRate"))
            dbid = self._take("dbid")
            lines = tuple(
                self._line(number, item, convert_by)
                for number, item in enumerate(items, 1)
                if isinstance(item, Mapping)
            )
            record = DocumentRecord(
                kind=kind,
                kashflow_id=dbid,
                number=self._take(f"{kind}_number"),
                invoice_date=wire.get("InvoiceDate") or self._stamp(),
                due_date=wire.get("DueDate") or wire.get("InvoiceDate") or self._stamp(),
                contact_id=contact_id,
                contact_code=contact.code,
                contact_name=contact.name,
                lines=lines,
                net=sum((line.net for line in lines), _ZERO),
                vat=sum((line.vat for line in lines), _ZERO),
                reference=wire.get("CustomerReference"),
                project_id=project_id,
                currency=currency,
                exchange_rate=wire.get("ExchangeRate") or Decimal(1),
                suppress_total=wire.get("SuppressTotal") or 0,
                estimate_category=wire.get("EstimateCategory"),
                readable_string=wire.get("ReadableString"),
                perma_link=f"https://app.kashflow.fake/{kind}s/{dbid}",
                use_custom_delivery_address=bool(wire.get("UseCustomDeliveryAddress")),
                cisrc_net_amount=wire.get("CISRCNetAmount"),
                cisrc_vat_amount=wire.get("CISRCVatAmount"),
                is_cis_reverse_charge=wire.get("IsCISReverseCharge"),
            )
            self._documents[(kind, record.number)] = record
            self._document_by_dbid[dbid] = (kind, record.number)
            self._touch("documents")
            return record

    def _currency_code(self, code: str | None) -> str | None:
        if not code:
            default = next((c for c in self._currencies.values() if c.is_default), None)
            return default.code if default else None
        if not any(c.code.upper() == code.upper() for c in self._currencies.values()):
            raise Rejected(detail("bad_currency", code=code))
        return code.upper()

    def _home_currency_factor(
        self, currency: str | None, sent_rate: Decimal | None
    ) -> Decimal | None:
        """The factor lines without ``ValuesInCurrency=1`` are converted by, or None.

        Only under ``Readings.values_in_currency`` and only on a document in a currency other
        than the home one: KashFlow then reads such a line's amounts as home-currency values.
        """
        if not self._readings.values_in_currency or currency is None:
            return None
        home = next((c for c in self._currencies.values() if c.is_default), None)
        if home is None or home.code == currency:
            return None
        if sent_rate:
            return sent_rate
        return next(
            (c.exchange_rate for c in self._currencies.values() if c.code == currency),
            Decimal(1),
        )

    def _check_line(self, number: int, item: object) -> None:
        # KashFlow's ArrayOfAnyType lines mean nothing without xsi:type="InvoiceLine".
        if not isinstance(item, Mapping) or item.get("xsi:type") != "InvoiceLine":
            raise Rejected(detail("line_not_typed", line=number))
        charge = item["ChargeType"]
        if charge and charge not in self._nominal:
            raise Rejected(detail("line_bad_nominal", line=number, id=charge))
        rate = item["VatRate"]
        if all(v.value != rate for v in self._vat.values()):
            raise Rejected(detail("line_bad_vat_rate", line=number, rate=rate))
        project = item["ProjID"]
        if project and project not in self._projects:
            raise Rejected(detail("line_bad_project", line=number, id=project))
        self._check_sign(number, item["Quantity"], item["Rate"])

    def _check_sign(self, number: int, quantity: Decimal, rate: Decimal) -> None:
        """Refuse a negative line the way ``Readings.credit_lines`` says KashFlow does."""
        reading = self._readings.credit_lines
        if quantity < 0 and rate < 0:
            raise Rejected(detail("line_double_negative", line=number))
        if quantity < 0 and reading in ("negative_rate", "refused"):
            raise Rejected(detail("line_negative_quantity", line=number))
        if rate < 0 and reading in ("negative_quantity", "refused"):
            raise Rejected(detail("line_negative_rate", line=number))

    def _line(self, number: int, item: Mapping[str, Any], convert_by: Decimal | None) -> LineRecord:
        in_currency = item.get("ValuesInCurrency") == 1
        amounts = store_line(
            self._readings,
            quantity=item["Quantity"],
            rate=item["Rate"],
            vat=item["VatAmount"],
            vat_rate=item["VatRate"],
            convert_by=None if in_currency else convert_by,
        )
        return LineRecord(
            kashflow_id=self._take("line"),
            sort=item.get("Sort") or number,
            quantity=item["Quantity"],
            rate=amounts.rate,
            net=amounts.net,
            charge_type=item["ChargeType"],
            vat_rate=item["VatRate"],
            vat=amounts.vat,
            description=item.get("Description"),
            product_id=item.get("ProductID") or 0,
            project_id=item.get("ProjID") or 0,
            values_in_currency=item.get("ValuesInCurrency"),
        )

    def _post_payment(self, kind: DocumentKind, wire: Mapping[str, Any] | None) -> PaymentRecord:
        """Validate and store a payment; the document's AmountPaid and Paid follow."""
        if wire is None:
            raise Rejected(detail("payment_missing"))
        with self._lock:
            document = self._document(kind, wire["PayInvoice"])
            method, account, amount = wire["PayMethod"], wire["PayAccount"], wire["PayAmount"]
            if method not in self._methods[kind]:
                raise Rejected(detail("bad_pay_method", id=method))
            if account not in self._banks:
                raise Rejected(detail("bad_pay_account", id=account))
            self._check_pay_amount(document, amount)
            record = PaymentRecord(
                kashflow_id=self._take("payment"),
                kind=kind,
                document_number=document.number,
                pay_date=wire["PayDate"],
                method_id=method,
                account_id=account,
                amount=amount,
                note=wire.get("PayNote"),
            )
            self._store_payment(record)
            return record

    def _check_pay_amount(self, document: DocumentRecord, amount: Decimal) -> None:
        """Refuse a payment amount KashFlow would (see ``Readings.credit_refund``)."""
        if document.gross >= 0 or self._readings.credit_refund == "positive":
            if amount <= 0:
                raise Rejected(detail("bad_pay_amount"))
        elif self._readings.credit_refund == "refused":
            raise Rejected(detail("credit_note_payment_refused"))
        elif amount >= 0:
            raise Rejected(detail("credit_note_refund_sign"))

    def _store_payment(self, record: PaymentRecord) -> None:
        """Keep *record*; its document's AmountPaid and Paid follow."""
        with self._lock:
            self._payments[record.kashflow_id] = record
            key = (record.kind, record.document_number)
            self._documents[key] = settled(self._documents[key], record.amount)
            self._touch("documents", "payments")

    def _attach(self, kind: DocumentKind, number: int, wire: Mapping[str, Any]) -> AttachmentRecord:
        """Validate and store an attachment for the document with visible *number*."""
        with self._lock:
            document = self._document(kind, number)
            filename = (wire.get("Filename") or "").strip()
            if not filename:
                raise Rejected(detail("filename_required"))
            try:
                content = base64.b64decode(
                    "".join((wire.get("Base64String") or "").split()), validate=True
                )
            except (binascii.Error, ValueError):
                raise Rejected(detail("bad_base64")) from None
            if not self._readings.dropbox_connected:
                raise Rejected(detail("dropbox_not_connected"))
            record = AttachmentRecord(
                kashflow_id=self._take("attachment"),
                kind=kind,
                document_number=number,
                document_id=document.kashflow_id,
                filename=filename,
                content=content,
                upload_date=self._stamp(),
                content_type=wire.get("ContentType"),
                file_extension=wire.get("FileExtension"),
                file_size=wire.get("FileSize"),
            )
            self._attachments[record.kashflow_id] = record
            self._touch("attachments")
            return record

    # -- queries ---------------------------------------------------------------------------

    def _document(self, kind: DocumentKind, number: int) -> DocumentRecord:
        with self._lock:
            document = self._documents.get((kind, number))
        if document is None:
            raise NotFound(detail(f"{kind}_not_found"))
        return document

    def _documents_for(self, kind: DocumentKind, contact_id: int) -> list[DocumentRecord]:
        with self._lock:
            if contact_id not in self._contact_tables(CONTACT_KIND[kind])[0]:
                raise NotFound(detail(f"{CONTACT_KIND[kind]}_id_not_found"))
            return sorted(
                (
                    d
                    for (k, _), d in self._documents.items()
                    if k == kind and d.contact_id == contact_id
                ),
                key=lambda d: d.number,
            )

    def _recent_documents(self, kind: DocumentKind, count: int) -> list[DocumentRecord]:
        """The *count* receipts or invoices created last, newest first (``GetReceipts_Recent``).

        Assumption: "recent" means most recently created; KashFlow documents none of it.
        """
        newest = sorted(self._documents_of(kind), key=lambda d: d.kashflow_id, reverse=True)
        return newest[: max(count, 0)]

    def _receipt_attachments(self, receipt_dbid: int) -> list[AttachmentRecord]:
        with self._lock:
            found = self._document_by_dbid.get(receipt_dbid)
            if found is None or found[0] != "receipt":
                raise NotFound(detail("receipt_id_not_found"))
            return [
                a
                for a in self._attachments.values()
                if a.kind == "receipt" and a.document_id == receipt_dbid
            ]

    def _payments_for(self, kind: DocumentKind, number: int) -> list[PaymentRecord]:
        with self._lock:
            self._document(kind, number)
            return [
                p for p in self._payments.values() if p.kind == kind and p.document_number == number
            ]
