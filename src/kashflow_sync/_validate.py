"""Offline validation: every reason KashFlow would refuse a document, found before any network call.

:func:`validate_document` checks an already-resolved document (rules applied) against the synced
lists and returns every problem at once, each with a stable code, the field path, a message and a
remedy a bookkeeper can act on. It is a pure function over values.

Assumptions about KashFlow that no public source pins down are named constants below, each with
the reason it was chosen.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from ._amounts import (
    EXEMPT_VAT_RATE,
    VAT_TOLERANCE,
    has_pennies_only,
    line_vat,
    line_wire_values,
    rate_is_exact,
    vat_from_rate,
)
from ._documents import Document, Line, Problem
from ._listsview import Lists
from ._models import ItemList, NominalCode, PaymentMethod

__all__ = [
    "ALLOWED_ATTACHMENT_TYPES",
    "MAX_ATTACHMENT_BYTES",
    "MAX_CONTACT_NAME_LENGTH",
    "MAX_DESCRIPTION_LENGTH",
    "MAX_REFERENCE_LENGTH",
    "PROBLEM_CODES",
    "DuplicateCheck",
    "attachment_extension",
    "line_wire_values",
    "validate_document",
]

# Problem codes. Stable: hosts match on them, docs list them.
MISSING_CONTACT = "missing_contact"
UNKNOWN_SUPPLIER = "unknown_supplier"
UNKNOWN_CUSTOMER = "unknown_customer"
ARCHIVED_SUPPLIER = "archived_supplier"
ARCHIVED_CUSTOMER = "archived_customer"
MISSING_REFERENCE = "missing_reference"
MISSING_ISSUE_DATE = "missing_issue_date"
DUE_BEFORE_ISSUE = "due_before_issue"
UNKNOWN_CURRENCY = "unknown_currency"
UNSUPPORTED_LOCATION = "unsupported_location"
MISSING_LINES = "missing_lines"
NEGATIVE_AMOUNT = "negative_amount"
MISSING_CATEGORY = "missing_category"
UNKNOWN_CATEGORY = "unknown_category"
ARCHIVED_CATEGORY = "archived_category"
WRONG_CATEGORY_KIND = "wrong_category_kind"
MISSING_VAT_RATE = "missing_vat_rate"
UNKNOWN_VAT_RATE = "unknown_vat_rate"
VAT_EXCEEDS_NET = "vat_exceeds_net"
VAT_MISMATCH = "vat_mismatch"
TOO_MANY_DECIMALS = "too_many_decimals"
ZERO_QUANTITY = "zero_quantity"
RATE_NOT_REPRESENTABLE = "rate_not_representable"
UNKNOWN_PROJECT = "unknown_project"
ARCHIVED_PROJECT = "archived_project"
MISSING_PAYMENT_METHOD = "missing_payment_method"
UNKNOWN_PAYMENT_METHOD = "unknown_payment_method"
MISSING_BANK_ACCOUNT = "missing_bank_account"
UNKNOWN_BANK_ACCOUNT = "unknown_bank_account"
PAYMENT_NOT_POSITIVE = "payment_not_positive"
PAYMENT_EXCEEDS_TOTAL = "payment_exceeds_total"
ATTACHMENT_EMPTY = "attachment_empty"
ATTACHMENT_TOO_LARGE = "attachment_too_large"
ATTACHMENT_TYPE_NOT_ALLOWED = "attachment_type_not_allowed"
TEXT_TOO_LONG = "text_too_long"
DUPLICATE_IN_LEDGER = "duplicate_in_ledger"
STALE_LISTS = "stale_lists"

#: Every problem code, with what it means (the docs' error catalogue is built from this).
PROBLEM_CODES: Mapping[str, str] = MappingProxyType(
    {
        MISSING_CONTACT: "The document names no supplier or customer.",
        UNKNOWN_SUPPLIER: "The supplier is not in the synced lists and may not be created.",
        UNKNOWN_CUSTOMER: "The customer is not in the synced lists and may not be created.",
        ARCHIVED_SUPPLIER: "The supplier is archived in KashFlow or was removed from it.",
        ARCHIVED_CUSTOMER: "The customer is archived in KashFlow or was removed from it.",
        MISSING_REFERENCE: "A purchase has no supplier reference (the supplier's invoice number).",
        MISSING_ISSUE_DATE: "The document has no issue date.",
        DUE_BEFORE_ISSUE: "The due date is earlier than the issue date.",
        UNKNOWN_CURRENCY: "The currency is not enabled on the KashFlow account.",
        UNSUPPORTED_LOCATION: "The document names a location; KashFlow has no locations.",
        MISSING_LINES: "The document has no lines.",
        NEGATIVE_AMOUNT: "The document's net total is negative (a credit note): not supported.",
        MISSING_CATEGORY: "A line has no category (nominal code), from the document or a rule.",
        UNKNOWN_CATEGORY: "A line's nominal code is not in the chart of accounts.",
        ARCHIVED_CATEGORY: "A line's nominal code is archived in KashFlow or was removed from it.",
        WRONG_CATEGORY_KIND: "A sales code on a purchase, or a purchase code on a sales invoice.",
        MISSING_VAT_RATE: "A line has no VAT rate, from the document or a rule.",
        UNKNOWN_VAT_RATE: "A line's VAT rate is not one the KashFlow account offers.",
        VAT_EXCEEDS_NET: "A line's VAT is larger than its net amount.",
        VAT_MISMATCH: "A line's VAT differs from net x rate by more than a penny.",
        TOO_MANY_DECIMALS: "An amount has more than two decimal places.",
        ZERO_QUANTITY: "A line's quantity is zero.",
        RATE_NOT_REPRESENTABLE: "A line's net / quantity needs a unit price finer than 4 decimals.",
        UNKNOWN_PROJECT: "A line's project number is not in the synced projects.",
        ARCHIVED_PROJECT: "A line's project is archived in KashFlow or was removed from it.",
        MISSING_PAYMENT_METHOD: "A payment has no payment method, from the document or a rule.",
        UNKNOWN_PAYMENT_METHOD: "The payment method is not one KashFlow offers for this document.",
        MISSING_BANK_ACCOUNT: "A payment has no bank account, from the document or a rule.",
        UNKNOWN_BANK_ACCOUNT: "The payment's bank account is not in the synced bank accounts.",
        PAYMENT_NOT_POSITIVE: "The payment amount is zero or negative.",
        PAYMENT_EXCEEDS_TOTAL: "The payment amount is more than the document's gross total.",
        ATTACHMENT_EMPTY: "The attachment has no content.",
        ATTACHMENT_TOO_LARGE: "The attachment is larger than KashFlow accepts.",
        ATTACHMENT_TYPE_NOT_ALLOWED: "The attachment's file type is not one KashFlow accepts.",
        TEXT_TOO_LONG: "A text field is longer than KashFlow keeps.",
        DUPLICATE_IN_LEDGER: "The same invoice is already in KashFlow, from another item.",
        STALE_LISTS: "A list item the document uses vanished between validation and publishing.",
    }
)

# Limits. KashFlow documents none of these; the values are assumptions, kept generous so that a
# real document is not refused, and named so they can be corrected in one place.
#: Largest attachment, in bytes. Assumed 10 MB: the SOAP call carries it base64-encoded (about
#: 13.4 MB on the wire), and known SOAP clients cap messages at 20 MB.
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
#: File extensions accepted as attachments, with their content types. PDF and TXT are named in
#: KashFlow's AttachFileToReceipt docs; images and Word files are what receipts come as. Excel
#: files are left out: KashFlow users report they cannot be attached to purchases and invoices.
#: HEIC is left out because KashFlow's browser viewer cannot show it: convert to JPEG or PDF.
ALLOWED_ATTACHMENT_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "pdf": "application/pdf",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "png": "image/png",
        "gif": "image/gif",
        "tif": "image/tiff",
        "tiff": "image/tiff",
        "doc": "application/msword",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "csv": "text/csv",
        "txt": "text/plain",
    }
)
#: Longest supplier reference / customer reference kept (assumed).
MAX_REFERENCE_LENGTH = 50
#: Longest line description kept (assumed).
MAX_DESCRIPTION_LENGTH = 1000
#: Longest supplier or customer name kept when the SDK creates the contact (assumed).
MAX_CONTACT_NAME_LENGTH = 100

#: ``(kind, contact_id, contact_name, reference, gross) -> external_id or None``.
DuplicateCheck = Callable[[str, int | None, str, str, Decimal], str | None]

_FROM_DOCUMENT = "document"


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


class _Collector:
    """Collects problems, wording each one with where its value came from."""

    def __init__(self, explain: Mapping[str, str] | None) -> None:
        self.problems: list[Problem] = []
        self._explain = explain or {}

    def add(self, code: str, field: str, message: str, remedy: str) -> None:
        source = self._explain.get(field)
        if source and source != _FROM_DOCUMENT:
            stem = message[:-1] if message.endswith(".") else message
            if " rule: " in source:
                kind, contact = source.split(" rule: ", 1)
                message = f"{stem} (set by {source})."
                remedy = f"{remedy} Also correct the {kind} rule for {contact}, which set it."
            else:
                message = f"{stem} ({source})."
        self.problems.append(Problem(code=code, field=field, message=message, remedy=remedy))


def _gone(item: Any) -> str:
    """How an archived list item is described: removed from KashFlow, or archived there."""
    return "was removed from KashFlow" if item.removed else "is archived in KashFlow"


def validate_document(
    document: Document,
    lists: Lists,
    *,
    create_missing_contacts: bool = True,
    is_duplicate: DuplicateCheck | None = None,
    explain: Mapping[str, str] | None = None,
) -> list[Problem]:
    """Check a resolved document against the synced lists; return every problem at once.

    Args:
        document: the document with rule defaults already filled in.
        lists: the connection's synced lists.
        create_missing_contacts: when False, a supplier or customer missing from the lists is a
            problem rather than something publishing creates.
        is_duplicate: ``(kind, contact_id, contact_name, reference, gross)`` -> the external id
            of an already-published matching document, or None.
        explain: the resolved document's ``explain``; messages then say when a value was set by
            a rule.

    Returns:
        The problems in document order; empty when the document can be published.

    """
    out = _Collector(explain)
    contact_id, contact_name = _check_contact(out, document, lists, create_missing_contacts)
    _check_header(out, document, lists)
    for index, line in enumerate(document.lines):
        _check_line(out, document, index, line, lists)
    gross = _gross(document)
    _check_payment(out, document, lists, gross)
    _check_attachment(out, document)
    if (
        is_duplicate is not None
        and contact_name is not None
        and not _blank(document.reference)
        and document.lines
    ):
        existing = is_duplicate(
            document.kind, contact_id, contact_name, document.reference.strip(), gross
        )
        # The same external id is a re-publish, answered "already_published", not a duplicate.
        if existing is not None and existing != document.external_id:
            out.add(
                DUPLICATE_IN_LEDGER,
                "reference",
                f"The invoice {'from' if document.kind == 'purchase' else 'to'} {contact_name} "
                f"with reference {document.reference.strip()!r} for {gross} is already in "
                f"KashFlow, published from item {existing!r}.",
                f"Do not publish this item: it duplicates {existing!r}. Delete or archive it in "
                "the source app, or correct its reference if it is a different invoice.",
            )
    return out.problems


def _check_contact(
    out: _Collector, document: Document, lists: Lists, create_missing: bool
) -> tuple[int | None, str | None]:
    """Check the supplier or customer; return its KashFlow id (if known) and name."""
    purchase = document.kind == "purchase"
    field = "supplier" if purchase else "customer"
    if _blank(document.contact):
        out.add(
            MISSING_CONTACT,
            field,
            f"The document names no {field}.",
            f"Enter the {field}'s name or code as it is in KashFlow.",
        )
        return None, None
    written = document.contact.strip()
    contacts = lists.suppliers if purchase else lists.customers
    item = contacts.find(written)
    if item is None:
        if not create_missing:
            out.add(
                UNKNOWN_SUPPLIER if purchase else UNKNOWN_CUSTOMER,
                field,
                f"No {field} called or coded {written!r} is in KashFlow.",
                f"Create the {field} in KashFlow and refresh lists, or correct the name to an "
                f"existing {field}.",
            )
        elif len(written) > MAX_CONTACT_NAME_LENGTH:
            out.add(
                TEXT_TOO_LONG,
                field,
                f"The new {field}'s name is {len(written)} characters; KashFlow keeps "
                f"{MAX_CONTACT_NAME_LENGTH}.",
                f"Shorten the {field} name, or pick an existing {field}.",
            )
        return None, written
    if item.archived:
        out.add(
            ARCHIVED_SUPPLIER if purchase else ARCHIVED_CUSTOMER,
            field,
            f"The {field} {item.name!r} ({item.code}) {_gone(item)}.",
            f"Restore the {field} in KashFlow and refresh lists, or choose another {field}.",
        )
    return item.kashflow_id, item.name


def _check_header(out: _Collector, document: Document, lists: Lists) -> None:
    if _blank(document.reference):
        if document.kind == "purchase":
            # The supplier's invoice number is how the same invoice is recognised again:
            # without it neither duplicate detection nor the publish reconciliation can work.
            out.add(
                MISSING_REFERENCE,
                "reference",
                "The purchase has no supplier reference (the supplier's invoice number).",
                "Enter the invoice number printed on the supplier's invoice.",
            )
    elif len(document.reference.strip()) > MAX_REFERENCE_LENGTH:
        out.add(
            TEXT_TOO_LONG,
            "reference",
            f"The reference is {len(document.reference.strip())} characters; KashFlow keeps "
            f"{MAX_REFERENCE_LENGTH}.",
            f"Shorten the reference to {MAX_REFERENCE_LENGTH} characters.",
        )
    if document.issue_date is None:
        out.add(
            MISSING_ISSUE_DATE,
            "issue_date",
            "The document has no issue date.",
            "Enter the date printed on the invoice.",
        )
    elif document.due_date is not None and document.due_date < document.issue_date:
        out.add(
            DUE_BEFORE_ISSUE,
            "due_date",
            f"The due date {document.due_date} is before the issue date {document.issue_date}.",
            "Correct the due date (or the issue date); check the rule's due days if a rule set it.",
        )
    if document.currency is not None and not _blank(document.currency):
        currency = lists.currencies.find(document.currency.strip())
        if currency is None or currency.archived:
            state = "is not enabled" if currency is None else "is no longer enabled"
            out.add(
                UNKNOWN_CURRENCY,
                "currency",
                f"The currency {document.currency.strip()!r} {state} on the KashFlow account.",
                "Enable the currency in KashFlow and refresh lists, or use one of: "
                + _names(lists.currencies, key=True)
                + ".",
            )
    if document.location is not None and not _blank(document.location):
        out.add(
            UNSUPPORTED_LOCATION,
            "location",
            f"The document names the location {document.location.strip()!r}, but KashFlow has "
            "no locations.",
            "Remove the location, or map it to a KashFlow project on each line instead.",
        )
    if not document.lines:
        out.add(
            MISSING_LINES,
            "lines",
            "The document has no lines.",
            "Add at least one line with its net amount, VAT rate and category.",
        )
    elif document.net < 0:
        out.add(
            NEGATIVE_AMOUNT,
            "lines",
            f"The document's net total is {document.net}: a credit note, which kashflow_sync "
            "does not publish.",
            "Enter the credit note in KashFlow directly, or correct the line amounts' signs.",
        )


def _names(items: ItemList[Any], *, key: bool = False, limit: int = 8) -> str:
    """A short, readable list of active items, for remedies."""
    active = items.active
    shown = [(i.key if key else f"{i.name} ({i.key})") for i in active[:limit]]
    if not shown:
        return "(none synced: refresh lists)"
    more = f" and {len(active) - limit} more" if len(active) > limit else ""
    return ", ".join(shown) + more


def _check_line(out: _Collector, document: Document, index: int, line: Line, lists: Lists) -> None:
    path = f"lines[{index}]"
    if line.description is not None and len(line.description.strip()) > MAX_DESCRIPTION_LENGTH:
        out.add(
            TEXT_TOO_LONG,
            f"{path}.description",
            f"Line {index + 1}'s description is {len(line.description.strip())} characters; "
            f"KashFlow keeps {MAX_DESCRIPTION_LENGTH}.",
            f"Shorten the description to {MAX_DESCRIPTION_LENGTH} characters.",
        )
    _check_category(out, document, index, line, lists)
    rate_known = _check_vat_rate(out, index, line, lists)
    _check_amounts(out, index, line, rate_known)
    if line.project is not None:
        project = lists.projects.find(line.project)
        if project is None:
            out.add(
                UNKNOWN_PROJECT,
                f"{path}.project",
                f"Line {index + 1}'s project {line.project} is not in KashFlow.",
                "Pick an existing project number, or create the project in KashFlow and "
                "refresh lists.",
            )
        elif project.archived:
            out.add(
                ARCHIVED_PROJECT,
                f"{path}.project",
                f"Line {index + 1}'s project {project.number} ({project.name}) {_gone(project)}.",
                "Pick an active project, or reopen the project in KashFlow and refresh lists.",
            )


def _check_category(
    out: _Collector, document: Document, index: int, line: Line, lists: Lists
) -> None:
    field = f"lines[{index}].category"
    if line.category is None:
        out.add(
            MISSING_CATEGORY,
            field,
            f"Line {index + 1} has no category (nominal code).",
            "Choose a nominal code for the line, or set a category on the "
            f"{'supplier' if document.kind == 'purchase' else 'customer'} rule.",
        )
        return
    code: NominalCode | None = lists.nominal_codes.find(line.category)
    if code is None:
        out.add(
            UNKNOWN_CATEGORY,
            field,
            f"Line {index + 1}'s nominal code {line.category} is not in the chart of accounts.",
            "Refresh lists, then pick an existing nominal code (or create it in KashFlow).",
        )
        return
    if code.archived:
        out.add(
            ARCHIVED_CATEGORY,
            field,
            f"Line {index + 1}'s nominal code {code.code} ({code.name}) {_gone(code)}.",
            "Pick another nominal code, or unarchive it in KashFlow and refresh lists.",
        )
        return
    if document.kind == "purchase" and code.is_sales:
        out.add(
            WRONG_CATEGORY_KIND,
            field,
            f"Line {index + 1}'s nominal code {code.code} ({code.name}) is a sales (turnover) "
            "code, used on a purchase.",
            "Pick a cost-of-sale or expense nominal code for a purchase.",
        )
    elif document.kind == "sales" and code.is_purchase:
        out.add(
            WRONG_CATEGORY_KIND,
            field,
            f"Line {index + 1}'s nominal code {code.code} ({code.name}) is a cost-of-sale or "
            "expense code, used on a sales invoice.",
            "Pick a turnover (sales) nominal code for a sales invoice.",
        )


def _check_vat_rate(out: _Collector, index: int, line: Line, lists: Lists) -> bool:
    """Check the line's VAT rate; True when it is one KashFlow will take."""
    field = f"lines[{index}].vat_rate"
    rate = line.vat_rate
    if rate is None:
        out.add(
            MISSING_VAT_RATE,
            field,
            f"Line {index + 1} has no VAT rate.",
            "Enter the line's VAT rate (20 for 20%, -1 for exempt), or set one on the rule.",
        )
        return False
    if rate == EXEMPT_VAT_RATE:
        return True  # KashFlow's "n/a" code on a line, whether or not GetVATRates lists it.
    matches = [r for r in lists.vat_rates if r.rate == rate]
    if any(not r.archived for r in matches):
        return True
    state = "is no longer offered" if matches else "is not offered"
    offered = ", ".join(f"{r.rate.normalize():f}" for r in lists.vat_rates.active) or "(none)"
    out.add(
        UNKNOWN_VAT_RATE,
        field,
        f"Line {index + 1}'s VAT rate {rate.normalize():f}% {state} by the KashFlow account.",
        f"Use one of the account's VAT rates: {offered} (-1 for exempt); refresh lists if the "
        "rate was added in KashFlow.",
    )
    return False


def _check_amounts(out: _Collector, index: int, line: Line, rate_known: bool) -> None:
    path = f"lines[{index}]"
    net_ok = has_pennies_only(line.net)
    if not net_ok:
        out.add(
            TOO_MANY_DECIMALS,
            f"{path}.net",
            f"Line {index + 1}'s net {line.net} has more than two decimal places.",
            "Round the net amount to the penny.",
        )
    if line.vat is not None and not has_pennies_only(line.vat):
        out.add(
            TOO_MANY_DECIMALS,
            f"{path}.vat",
            f"Line {index + 1}'s VAT {line.vat} has more than two decimal places.",
            "Round the VAT amount to the penny.",
        )
    if line.quantity == 0:
        out.add(
            ZERO_QUANTITY,
            f"{path}.quantity",
            f"Line {index + 1} has quantity 0.",
            "Enter the number of units (1 when the line is a single amount).",
        )
    elif net_ok and not rate_is_exact(line.net, line.quantity):
        out.add(
            RATE_NOT_REPRESENTABLE,
            f"{path}.quantity",
            f"Line {index + 1}: {line.net} / {line.quantity} has no unit price of at most four "
            "decimal places that KashFlow would multiply back to the net.",
            "Use quantity 1 with the line's net as the amount, or a quantity that divides the "
            "net evenly.",
        )
    if line.vat is None:
        return
    if abs(line.vat) > abs(line.net):
        out.add(
            VAT_EXCEEDS_NET,
            f"{path}.vat",
            f"Line {index + 1}'s VAT {line.vat} is more than its net {line.net}.",
            "Check the line's net and VAT: they may have been swapped or mis-read.",
        )
        return
    if rate_known and line.vat_rate is not None:
        expected = vat_from_rate(line.net, line.vat_rate)
        if abs(line.vat - expected) > VAT_TOLERANCE:
            out.add(
                VAT_MISMATCH,
                f"{path}.vat",
                f"Line {index + 1}'s VAT {line.vat} does not match {line.net} at "
                f"{line.vat_rate.normalize():f}% ({expected}).",
                "Correct the VAT amount or the VAT rate so they agree (KashFlow rounds per line).",
            )


def _gross(document: Document) -> Decimal:
    """The gross total as it will be sent: VAT worked out where only the rate is known."""
    total = Decimal(0)
    for line in document.lines:
        total += line.net + (line_vat(line) or Decimal(0))
    return total


def _find_method(methods: ItemList[PaymentMethod], method: str | int) -> PaymentMethod | None:
    if isinstance(method, int):
        return methods.by_id(method) or methods.find(method)
    text = method.strip()
    found = methods.find(text)
    if found is None and text.isdigit():
        found = methods.by_id(int(text))
    return found


def _check_payment(out: _Collector, document: Document, lists: Lists, gross: Decimal) -> None:
    payment = document.payment
    if payment is None:
        return
    purchase = document.kind == "purchase"
    if payment.method is None or (isinstance(payment.method, str) and _blank(payment.method)):
        out.add(
            MISSING_PAYMENT_METHOD,
            "payment.method",
            "The payment has no payment method.",
            "Enter how it was paid, or set a payment method on the "
            f"{'supplier' if purchase else 'customer'} rule.",
        )
    else:
        methods = lists.purchase_payment_methods if purchase else lists.sales_payment_methods
        method = _find_method(methods, payment.method)
        if method is None or method.archived:
            kind = "purchase" if purchase else "sales"
            state = "is not" if method is None else "is no longer"
            out.add(
                UNKNOWN_PAYMENT_METHOD,
                "payment.method",
                f"The payment method {payment.method!r} {state} one of KashFlow's {kind} "
                "payment methods.",
                f"Use one of: {', '.join(m.name for m in methods.active) or '(none synced)'}.",
            )
    if payment.bank_account is None or (
        isinstance(payment.bank_account, str) and _blank(payment.bank_account)
    ):
        out.add(
            MISSING_BANK_ACCOUNT,
            "payment.bank_account",
            "The payment has no bank account.",
            "Enter the bank account's nominal code or name, or set one on the rule.",
        )
    else:
        key = payment.bank_account
        bank = lists.bank_accounts.find(key.strip() if isinstance(key, str) else key)
        if bank is None or bank.archived:
            state = "is not" if bank is None else "is no longer"
            out.add(
                UNKNOWN_BANK_ACCOUNT,
                "payment.bank_account",
                f"The bank account {payment.bank_account!r} {state} in KashFlow.",
                f"Use one of: {_names(lists.bank_accounts)}.",
            )
    amount = payment.amount
    if amount is None:
        return
    if amount <= 0:
        out.add(
            PAYMENT_NOT_POSITIVE,
            "payment.amount",
            f"The payment amount {amount} is not positive.",
            "Enter the amount paid, or leave it empty for the full gross.",
        )
    elif amount > gross and document.lines:
        out.add(
            PAYMENT_EXCEEDS_TOTAL,
            "payment.amount",
            f"The payment amount {amount} is more than the document's gross {gross}.",
            "Correct the payment amount, or leave it empty for the full gross.",
        )
    if not has_pennies_only(amount):
        out.add(
            TOO_MANY_DECIMALS,
            "payment.amount",
            f"The payment amount {amount} has more than two decimal places.",
            "Round the payment amount to the penny.",
        )


def _check_attachment(out: _Collector, document: Document) -> None:
    attachment = document.attachment
    if attachment is None:
        return
    size = len(attachment.content)
    if size == 0:
        out.add(
            ATTACHMENT_EMPTY,
            "attachment",
            f"The attachment {attachment.filename!r} is empty.",
            "Attach the source file again; the upload may have failed.",
        )
    elif size > MAX_ATTACHMENT_BYTES:
        out.add(
            ATTACHMENT_TOO_LARGE,
            "attachment",
            f"The attachment {attachment.filename!r} is {size / 1048576:.1f} MB; the limit is "
            f"{MAX_ATTACHMENT_BYTES // 1048576} MB.",
            "Compress the file or scan it at a lower resolution, then attach it again.",
        )
    if attachment_extension(attachment.filename, attachment.content_type) is None:
        out.add(
            ATTACHMENT_TYPE_NOT_ALLOWED,
            "attachment",
            f"The attachment {attachment.filename!r} ({attachment.content_type}) is not a file "
            "type KashFlow accepts.",
            "Convert it to PDF, JPEG or PNG. Accepted: "
            + ", ".join(sorted(ALLOWED_ATTACHMENT_TYPES))
            + ".",
        )


def attachment_extension(filename: str, content_type: str) -> str | None:
    """The allowed file extension for an attachment, or None when its type is not allowed.

    The filename's extension decides; a filename without one falls back to the content type.
    """
    extension = posixpath.splitext(filename.strip())[1].lstrip(".").casefold()
    if extension:
        return extension if extension in ALLOWED_ATTACHMENT_TYPES else None
    wanted = content_type.split(";")[0].strip().casefold()
    for ext, known in ALLOWED_ATTACHMENT_TYPES.items():
        if known == wanted:
            return ext
    return None
