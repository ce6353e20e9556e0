"""The KashFlow calls the SDK makes, each as a :class:`~.codec.Request` builder.

Every builder returns a description of one call (operation, parameters, how to read the answer,
whether it is safe to repeat: ``idempotent=False`` is also how the clients' drivers know a call
writes to the ledger); the sync and async callers send it. The engine's typed KashFlow effects
are mapped to these builders by type, in ``_clients.drivers.request_for``.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from lxml import etree
from zeep import xsd

from .. import errors
from .._account.items import ListItem
from .._documents.model import side
from .._error_codes import ErrorCode
from . import _readers
from ._listparse import LIST_SPECS, document_header_reader, spec_reader
from .codec import AUTOAUTH_KEY, NS, ItemStream, Request, zeep_reply
from .records import LedgerAttachment, LedgerDocument, LedgerPayment
from .transport import shared_zeep_client

__all__ = [
    "apply_credit_note",
    "attach_file",
    "auto_auth_ip",
    "customers_modified_since",
    "delete_customer",
    "delete_invoice",
    "delete_invoice_payment",
    "delete_receipt",
    "delete_receipt_attachment",
    "delete_receipt_payment",
    "delete_supplier",
    "documents_for_contact",
    "fetch_list",
    "find_contact",
    "get_document",
    "insert_contact",
    "insert_document",
    "insert_payment",
    "payments",
    "receipt_attachments",
    "recent_documents",
]

#: A document kind (``"purchase"``, ``"sales"`` or a credit note's): each call goes to the
#: operation of the kind's ledger side (credit notes are receipts and invoices in KashFlow).
Kind = str

#: The operation and its key parameter for each step, by document kind. KashFlow mixes ids
#: and numbers across these calls; the parameter names say which one each takes.
_OPS: Mapping[str, Mapping[str, tuple[str, str]]] = {
    "purchase": {
        "contact": ("GetSupplier", "SupplierCode"),
        "insert_contact": ("InsertSupplier", "supl"),
        "insert": ("InsertReceipt", "Inv"),
        "get": ("GetReceipt", "ReceiptNumber"),
        "for_contact": ("GetReceiptsForSupplier", "SupplierID"),
        "recent": ("GetReceipts_Recent", "NumberOfReceipts"),
        "attach": ("AttachFileToReceipt", "ReceiptNo"),
        "pay": ("InsertReceiptPayment", "ReceiptPayment"),
        "payments": ("GetReceiptPayment", "ReceiptNumber"),
    },
    "sales": {
        "contact": ("GetCustomer", "CustomerCode"),
        "insert_contact": ("InsertCustomer", "custr"),
        "insert": ("InsertInvoice", "Inv"),
        "get": ("GetInvoice", "InvoiceNumber"),
        "for_contact": ("GetInvoicesForCustomer", "CustID"),
        "recent": ("GetInvoices_Recent", "NumberOfInvoices"),
        "attach": ("AttachFileToInvoice", "InvoiceNo"),
        "pay": ("InsertInvoicePayment", "InvoicePayment"),
        "payments": ("GetInvoicePayment", "InvoiceNumber"),
    },
}

# KashFlow writes "no date" as the minimum .NET DateTime.
_NO_DATE = datetime(1, 1, 1)


def _wire_datetime(value: date | datetime | None) -> datetime:
    if value is None:
        return _NO_DATE
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime(value.year, value.month, value.day)


def _defaults(type_name: str) -> dict[str, Any]:
    """A value for every required element of a KashFlow type (0, False, no date)."""
    values: dict[str, Any] = {}
    for name, element in shared_zeep_client().get_type(f"ns0:{type_name}").elements:
        if element.min_occurs < 1:
            continue
        kind = getattr(element.type, "name", "")
        if kind == "boolean":
            values[name] = False
        elif kind == "dateTime":
            values[name] = _NO_DATE
        elif kind == "decimal":
            values[name] = Decimal(0)
        else:
            values[name] = 0
    return values


#: The largest id KashFlow can answer: insert results are ``s:int`` (32-bit) in its WSDL, and
#: the id is sent back as an ``s:int`` in later calls (``GetReceipt``...).
MAX_KASHFLOW_ID = 2**31 - 1

#: An insert result as KashFlow writes an ``s:int``: ASCII digits with an optional sign.
_INT_TEXT = re.compile(r"[+-]?[0-9]+")


def _int_or_zero(text: str) -> int:
    """An integer answer whose meaning is loose (a count): 0 unless plain ASCII digits.

    ``str.isdigit`` alone takes "²", which ``int()`` then refuses with an unmapped ValueError.
    """
    digits = text.lstrip("-")
    return int(text) if digits.isascii() and digits.isdigit() else 0


def _new_id(operation: str) -> Callable[[etree._Element], int]:
    """Read an insert's integer result; KashFlow answers 0 where it means "refused".

    Read strictly: ``int()`` would take "1_000" or Arabic-Indic digits, and a number beyond
    ``s:int`` could neither be sent back to KashFlow nor be what KashFlow meant.

    Raises:
        ProtocolError: ``id_not_a_number`` or ``id_out_of_range``; the write may have been
            applied, so the publisher reconciles before anything is sent again.
        RejectedError: ``no_id``, for 0 or a negative number.

    """

    def read(answer: etree._Element) -> int:
        result = answer.find(f"{NS}{operation}Result")
        # No result is KashFlow's null, which it answers for "refused" (as it does 0).
        text = "0" if result is None else (result.text or "").strip() or "0"
        if result is not None and len(result):
            text = f"<{etree.QName(result[0]).localname}>"  # an element, not a number
        # KashFlow's text goes in detail, uncut: decode masks the secrets, then cuts it.
        if not _INT_TEXT.fullmatch(text):
            raise errors.ProtocolError(
                f"KashFlow's {operation} answer has no number",
                code=ErrorCode.ID_NOT_A_NUMBER,
                operation=operation,
                detail=text,
            )
        digits = text.lstrip("+-").lstrip("0")
        negative = text.startswith("-")
        # Compared as text first: int() of thousands of digits is slow, then refused.
        if not negative and (len(digits) > 10 or int(digits or "0") > MAX_KASHFLOW_ID):
            raise errors.ProtocolError(
                f"KashFlow's {operation} answer is not an id it could hold "
                f"(its ids are at most {MAX_KASHFLOW_ID})",
                code=ErrorCode.ID_OUT_OF_RANGE,
                operation=operation,
                detail=text,
            )
        if negative or not digits:
            raise errors.RejectedError(
                f"KashFlow returned no id from {operation}",
                code=ErrorCode.NO_ID,
                operation=operation,
            )
        return int(digits)

    return read


def _record(answer: etree._Element, operation: str) -> etree._Element | None:
    """The ``<operation>Result`` of a record or list of records, or None (KashFlow's null).

    Raises:
        ValueError: the result holds text, which no record is (``decode`` maps it to a
            ``ProtocolError``): read by zeep, it would pass for "no such record".

    """
    result = answer.find(f"{NS}{operation}Result")
    if result is not None and (result.text or "").strip():
        raise ValueError(f"{operation}Result holds text, not a record")
    return result


def _none() -> None:
    return None


def _empty() -> list[Any]:
    return []


# ---------------------------------------------------------------------- connection and lists


def auto_auth_ip(app_name: str) -> Request[int]:
    """Add this machine's IP address to the account's API access list (``AutoAuthIP``)."""

    def read(answer: etree._Element) -> int:
        # The meaning of AutoAuthIP's integer is undocumented; Status is the verdict.
        return _int_or_zero(answer.findtext(f"{NS}AutoAuthIPResult") or "0")

    params = {"appName": app_name, "AutoAuthKey": AUTOAUTH_KEY}
    return Request("AutoAuthIP", params, read, idempotent=True)


def fetch_list(name: str) -> Request[list[ListItem]]:
    """Every item of the named list, read by the fast list reader as the answer arrives.

    No result element (KashFlow's null) is an empty list; a result holding anything but the
    list's items is a ``ProtocolError`` (``not_a_list``), never a shorter list.
    """
    spec = LIST_SPECS[name]
    items = ItemStream(f"{spec.operation}Result", spec.item, spec_reader(spec))
    return Request(spec.operation, dict(spec.params), None, idempotent=True, items=items)


def customers_modified_since(since: datetime) -> Request[list[ListItem]]:
    """Customers created or changed at or after *since* (``GetCustomersModifiedSince``)."""
    spec = LIST_SPECS["customers"]
    op = "GetCustomersModifiedSince"
    items = ItemStream(f"{op}Result", spec.item, spec_reader(spec))
    params = {"ModifiedSince": _wire_datetime(since)}
    return Request(op, params, None, idempotent=True, items=items)


# ---------------------------------------------------------------------- contacts


def insert_contact(
    kind: Kind, name: str, code: str = "", now: datetime | None = None
) -> Request[int]:
    """Create a supplier (``kind="purchase"``) or customer; the result is its new id."""
    op, param = _OPS[side(kind)]["insert_contact"]
    record = _defaults("Supplier" if side(kind) == "purchase" else "Customer")
    stamp = (now or datetime.now()).replace(microsecond=0, tzinfo=None)
    record.update(Name=name, Created=stamp, Updated=stamp)
    if code:
        record["Code"] = code
    return Request(op, {param: record}, _new_id(op), idempotent=False)


def find_contact(kind: Kind, code: str) -> Request[tuple[int, str] | None]:
    """``(id, name)`` of the supplier (``kind="purchase"``) or customer with this code."""
    op, param = _OPS[side(kind)]["contact"]
    id_field = "SupplierID" if side(kind) == "purchase" else "CustomerID"

    def read(answer: etree._Element) -> tuple[int, str] | None:
        result = answer.find(f"{NS}{op}Result")
        if result is None:
            return None
        found = result.find(NS + id_field)
        if (result.text or "").strip() or (len(result) and found is None):
            # Text, or elements that are not a contact: not KashFlow's "not found" object.
            raise ValueError(f"{op}Result is not a contact")
        value = (found.text if found is not None else None) or "0"
        if not _INT_TEXT.fullmatch(value.strip()):
            raise ValueError(f"{op}Result has no numeric {id_field}")
        if int(value) <= 0:
            return None  # KashFlow may answer "not found" with an empty object
        return int(value), result.findtext(NS + "Name") or ""

    return Request(op, {param: code}, read, idempotent=True, not_found=_none)


# ---------------------------------------------------------------------- documents


def insert_document(
    kind: Kind, header: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]
) -> Request[int]:
    """Create a receipt (``kind="purchase"``) or sales invoice with its lines in one call.

    The result is KashFlow's new document *number*. Lines go as ``ArrayOfAnyType`` items typed
    ``xsi:type="InvoiceLine"``, which KashFlow requires.
    """
    op, param = _OPS[side(kind)]["insert"]
    line_type = shared_zeep_client().get_type("ns0:InvoiceLine")
    typed = []
    for sort, line in enumerate(lines, start=1):
        values = _defaults("InvoiceLine")
        values["Sort"] = sort
        values.update(line)
        typed.append(xsd.AnyObject(line_type, line_type(**values)))  # type: ignore[no-untyped-call]
    invoice = _defaults("Invoice")
    invoice.update(header)
    invoice["Lines"] = {"anyType": typed}
    return Request(op, {param: invoice}, _new_id(op), idempotent=False)


def get_document(kind: Kind, number: int) -> Request[LedgerDocument | None]:
    """The receipt or invoice with this number, or None when KashFlow has none."""
    op, param = _OPS[side(kind)]["get"]

    def read(answer: etree._Element) -> LedgerDocument | None:
        _record(answer, op)
        data = zeep_reply(op, answer).get(f"{op}Result")
        found = _readers.document(data) if data else None
        # KashFlow may answer "not found" with an empty object: number and id 0.
        return found if found is not None and found.number > 0 else None

    return Request(op, {param: number}, read, idempotent=True, not_found=_none)


def _document_list(kind: Kind, step: str, value: int) -> Request[list[LedgerDocument]]:
    """A call answering a list of receipts or invoices (headers only), by ``_OPS`` step."""
    op, param = _OPS[side(kind)][step]
    items = ItemStream(f"{op}Result", "Invoice", document_header_reader())
    return Request(op, {param: value}, None, idempotent=True, not_found=_empty, items=items)


def documents_for_contact(kind: Kind, contact_id: int) -> Request[list[LedgerDocument]]:
    """Every receipt of a supplier, or every invoice of a customer (headers, no lines)."""
    return _document_list(kind, "for_contact", contact_id)


def recent_documents(kind: Kind, count: int) -> Request[list[LedgerDocument]]:
    """The *count* receipts or invoices created last, across all contacts (headers only).

    Its size does not grow with a contact's history: a batch learns the internal ids of the
    documents it created with this one call.
    """
    return _document_list(kind, "recent", count)


def attach_file(
    kind: Kind, number: int, filename: str, content: bytes, content_type: str
) -> Request[int]:
    """Attach a file to a receipt or invoice (by document number); the result is its id."""
    op, number_param = _OPS[side(kind)]["attach"]
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    if not extension:
        extension = (mimetypes.guess_extension(content_type) or "").lstrip(".")
    params = {
        number_param: number,
        "Base64String": base64.b64encode(content).decode("ascii"),
        "ContentType": content_type,
        "Filename": filename,
        "FileExtension": extension,
        "FileSize": str(len(content)),
    }
    return Request(op, params, _new_id(op), idempotent=False)


def receipt_attachments(receipt_id: int) -> Request[list[LedgerAttachment]]:
    """Files attached to a receipt (by internal id); KashFlow has no such call for invoices."""

    def read(answer: etree._Element) -> list[LedgerAttachment]:
        _record(answer, "GetReceiptAttachments")
        data = zeep_reply("GetReceiptAttachments", answer).get("GetReceiptAttachmentsResult")
        return [
            LedgerAttachment(
                kashflow_id=int(a.get("AttachmentID") or 0),
                filename=a.get("ActualFilename") or "",
                content_type=a.get("ContentType") or "",
                size=str(a.get("FileSize") or ""),
            )
            for a in _readers.items(data, "ReceiptAttachment")
        ]

    return Request(
        "GetReceiptAttachments", {"ReceiptID": receipt_id}, read, idempotent=True, not_found=_empty
    )


def insert_payment(
    kind: Kind,
    number: int,
    *,
    paid_on: date,
    method_id: int,
    account_id: int,
    amount: Decimal,
    note: str = "",
) -> Request[int]:
    """Record a payment against a receipt or invoice (by number); the result is its id."""
    op, param = _OPS[side(kind)]["pay"]
    payment = _defaults("Payment")
    payment.update(
        PayInvoice=number,
        PayDate=_wire_datetime(paid_on),
        PayMethod=method_id,
        PayAccount=account_id,
        PayAmount=amount,
    )
    if note:
        payment["PayNote"] = note
    return Request(op, {param: payment}, _new_id(op), idempotent=False)


def payments(kind: Kind, number: int) -> Request[list[LedgerPayment]]:
    """Payments recorded against a receipt or invoice (by number)."""
    op, param = _OPS[side(kind)]["payments"]

    def read(answer: etree._Element) -> list[LedgerPayment]:
        _record(answer, op)
        data = zeep_reply(op, answer).get(f"{op}Result")
        found = (
            LedgerPayment(
                kashflow_id=int(p.get("PayID") or 0),
                document_number=int(p.get("PayInvoice") or 0),
                paid_on=_readers.as_date(p.get("PayDate")),
                method_id=int(p.get("PayMethod") or 0),
                account_id=int(p.get("PayAccount") or 0),
                amount=_readers.decimal(p.get("PayAmount")),
                note=p.get("PayNote") or "",
            )
            for p in _readers.items(data, "Payment")
        )
        return [p for p in found if p.kashflow_id > 0 or p.amount]

    return Request(op, {param: number}, read, idempotent=True, not_found=_empty)


def apply_credit_note(invoice_id: int, credit_note_id: int) -> Request[bool]:
    """Apply a sales credit note to the invoice it credits, both by internal id.

    ``applyCreditNoteToInvoice`` answers a boolean whose meaning KashFlow does not document
    (``false`` may mean "not applied", or nothing at all): the publisher reads back whether it
    happened before trusting a ``false``.

    Raises:
        ProtocolError: ``not_a_boolean``: the answer is neither true nor false.

    """
    op = "applyCreditNoteToInvoice"

    def read(answer: etree._Element) -> bool:
        text = (answer.findtext(f"{NS}{op}Result") or "").strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0", ""):
            return False
        raise errors.ProtocolError(
            f"KashFlow's {op} answer is not true or false ({text[:40]!r})",
            code=ErrorCode.NOT_A_BOOLEAN,
            operation=op,
        )

    params = {"InvoiceID": invoice_id, "CreditNoteID": credit_note_id}
    return Request(op, params, read, idempotent=False)


# ---------------------------------------------------------------------- deletes
#
# Deletes take numbers or ids KashFlow may hand out again once the thing is gone (a new
# receipt gets "the highest number plus one"), so a delete is never repeated blindly
# (idempotent=False): after an uncertain failure the caller looks the thing up instead.


def _deleted(operation: str) -> Callable[[etree._Element], int]:
    """Read a delete's integer result: 1 when one thing went, 0 when there was nothing."""

    def read(answer: etree._Element) -> int:
        return _int_or_zero((answer.findtext(f"{NS}{operation}Result") or "0").strip())

    return read


def _nothing_deleted() -> int:
    return 0


def _delete(operation: str, params: Mapping[str, Any]) -> Request[int]:
    # "There is no ..." (or, under the other reading, Status OK with 0) means nothing was there.
    return Request(
        operation, params, _deleted(operation), idempotent=False, not_found=_nothing_deleted
    )


def delete_receipt_payment(payment_number: int) -> Request[int]:
    """Delete a receipt's payment by its number (``PayID``); the result is 1, or 0 if absent."""
    return _delete("DeleteReceiptPayment", {"ReceiptPaymentNumber": payment_number})


def delete_receipt_attachment(receipt_id: int, attachment_id: int) -> Request[int]:
    """Delete one file attached to a receipt (by the receipt's internal id); 1, or 0 if absent."""
    return _delete(
        "DeleteReceiptAttachment", {"ReceiptID": receipt_id, "AttachmentID": attachment_id}
    )


def delete_receipt(number: int) -> Request[int]:
    """Delete a receipt by its number; 1, or 0 if KashFlow had no such receipt."""
    return _delete("DeleteReceipt", {"ReceiptNumber": number})


def delete_invoice(number: int) -> Request[int]:
    """Delete a sales invoice (or credit note) by its number; 1, or 0 if KashFlow had none."""
    return _delete("DeleteInvoice", {"InvoiceNumber": number})


def delete_invoice_payment(number: int, payment_number: int) -> Request[int]:
    """Delete one payment of the invoice *number*; 1 (its answer has no result), or 0 if absent."""

    def read(_answer: etree._Element) -> int:
        return 1  # Status OK is the whole answer: KashFlow declares no result for it

    params = {"InvoiceNumber": number, "InvoicePaymentNumber": payment_number}
    return Request(
        "DeleteInvoicePayment", params, read, idempotent=False, not_found=_nothing_deleted
    )


def delete_supplier(supplier_id: int) -> Request[int]:
    """Delete a supplier by its internal id; 1, or 0 if KashFlow had no such supplier."""
    return _delete("DeleteSupplier", {"SupplierID": supplier_id})


def delete_customer(customer_id: int) -> Request[int]:
    """Delete a customer by its internal id; 1, or 0 if KashFlow had no such customer."""
    return _delete("DeleteCustomer", {"CustomerID": customer_id})
