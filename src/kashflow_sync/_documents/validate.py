"""Offline validation: every reason KashFlow would refuse a document, found before any network call.

:func:`validate_document` checks an already-resolved document (rules applied) against the synced
lists and returns every problem at once, each with a stable code, the field path, a message and a
remedy a bookkeeper can act on. It is a pure function over values.

The problem codes and the limits assumed for KashFlow live in
:mod:`.problems`, the per-line checks in :mod:`.validate_lines`,
the checks of dates and characters in :mod:`.validate_values`; the catalogue and
the limits are re-exported here for callers that validate.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Literal

from .._account.items import ItemList
from .._account.lists import ListsSnapshot
from .amounts import has_pennies_only, line_vat, line_wire_values
from .model import Document, Problem, credited, is_credit_note
from .problems import (
    ALLOWED_ATTACHMENT_TYPES,
    APPLIED_AND_REFUNDED,
    ARCHIVED_CUSTOMER,
    ARCHIVED_SUPPLIER,
    ATTACHMENT_EMPTY,
    ATTACHMENT_NO_FILENAME,
    ATTACHMENT_TOO_LARGE,
    ATTACHMENT_TYPE_NOT_ALLOWED,
    DUE_BEFORE_ISSUE,
    DUPLICATE_IN_LEDGER,
    MAX_ATTACHMENT_BYTES,
    MAX_CONTACT_NAME_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_REFERENCE_LENGTH,
    MISSING_BANK_ACCOUNT,
    MISSING_CONTACT,
    MISSING_ISSUE_DATE,
    MISSING_LINES,
    MISSING_PAYMENT_METHOD,
    MISSING_REFERENCE,
    NEGATIVE_AMOUNT,
    PAYMENT_EXCEEDS_TOTAL,
    PAYMENT_NOT_POSITIVE,
    PAYMENT_WITHOUT_AMOUNT,
    PROBLEM_CODES,
    TEXT_TOO_LONG,
    TOO_MANY_DECIMALS,
    UNKNOWN_BANK_ACCOUNT,
    UNKNOWN_CURRENCY,
    UNKNOWN_PAYMENT_METHOD,
    UNSUPPORTED_LOCATION,
    ProblemCode,
    Severity,
)
from .validate_contact import check_unmatched_contact, match_contact
from .validate_lines import check_line, gone
from .validate_values import check_characters, check_currency, check_dates

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

    def add(
        self,
        code: ProblemCode,
        field: str,
        message: str,
        remedy: str,
        *,
        severity: Severity = "error",
    ) -> None:
        source = self._explain.get(field)
        if source and source != _FROM_DOCUMENT:
            stem = message[:-1] if message.endswith(".") else message
            if " rule: " in source:
                kind, contact = source.split(" rule: ", 1)
                message = f"{stem} (set by {source})."
                remedy = f"{remedy} Also correct the {kind} rule for {contact}, which set it."
            else:
                message = f"{stem} ({source})."
        self.problems.append(
            Problem(code=code, field=field, message=message, remedy=remedy, severity=severity)
        )


def validate_document(
    document: Document,
    lists: ListsSnapshot,
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
        The problems in document order; empty when the document can be published. Notices
        (``severity="notice"``, e.g. ``new_supplier``) are included: they never block
        publishing, and ``KashFlowClient.validate`` leaves them out unless asked.

    """
    out = _Collector(explain)
    contact_id, contact_name = _check_contact(out, document, lists, create_missing_contacts)
    _check_header(out, document, lists)
    check_currency(out, document)
    check_dates(out, document)
    for index, line in enumerate(document.lines):
        check_line(out, document, index, line, lists)
    gross = _gross(document)
    _check_payment(out, document, lists, gross)
    _check_attachment(out, document)
    unsendable = check_characters(out, document)
    if (
        is_duplicate is not None
        and contact_name is not None
        and not _blank(document.reference)
        and document.lines
        # The duplicate check reads storage keyed by these texts: a key no storage can hold
        # (NUL, a lone surrogate) would fail there, and the document is refused anyway.
        and not unsendable & {"supplier", "customer", "reference"}
    ):
        existing = is_duplicate(
            document.kind, contact_id, contact_name, document.reference.strip(), gross
        )
        # The same external id is a re-publish, answered "already_published", not a duplicate.
        if existing is not None and existing != document.external_id:
            out.add(
                DUPLICATE_IN_LEDGER,
                "reference",
                f"The invoice {'from' if document.side == 'purchase' else 'to'} {contact_name} "
                f"with reference {document.reference.strip()!r} for {gross} is already in "
                f"KashFlow, published from item {existing!r}.",
                f"Do not publish this item: it duplicates {existing!r}. Delete or archive it in "
                "the source app, or correct its reference if it is a different invoice. If "
                f"{existing!r}'s copy was deleted in KashFlow, run `kashflow-sync forget "
                f"{existing}` (client.forget({existing!r})) first.",
            )
    return out.problems


def _check_contact(
    out: _Collector, document: Document, lists: ListsSnapshot, create_missing: bool
) -> tuple[int | None, str | None]:
    """Check the supplier or customer; return its KashFlow id (if known) and name."""
    purchase = document.side == "purchase"
    field: Literal["supplier", "customer"] = "supplier" if purchase else "customer"
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
    match = match_contact(written, contacts)
    item = match.item
    if match.verdict != "found" or item is None:
        check_unmatched_contact(
            out,
            field,
            written,
            match,
            contacts,
            create_missing=create_missing,
            create_contact=document.create_contact,
        )
        # A look-alike is some other contact's name: no duplicate check under it.
        return None, None if match.verdict == "lookalike" else written
    if item.archived:
        out.add(
            ARCHIVED_SUPPLIER if purchase else ARCHIVED_CUSTOMER,
            field,
            f"The {field} {item.name!r} ({item.code}) {gone(item)}.",
            f"Restore the {field} in KashFlow and refresh lists, or choose another {field}.",
        )
    return item.kashflow_id, item.name


def _check_header(out: _Collector, document: Document, lists: ListsSnapshot) -> None:
    if _blank(document.reference):
        if document.side == "purchase":
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
        if is_credit_note(document.kind):
            out.add(
                NEGATIVE_AMOUNT,
                "lines",
                f"The credit note's net total is {document.net}: a credit note's amounts are "
                "written as printed on it, positive (the SDK writes them to KashFlow negative).",
                "Enter the line amounts without their minus signs.",
            )
        else:
            cls = "PurchaseCreditNote" if document.side == "purchase" else "SalesCreditNote"
            kind = f"{document.side}_credit_note"
            out.add(
                NEGATIVE_AMOUNT,
                "lines",
                f"The document's net total is {document.net}: that is a credit note, not an "
                "invoice.",
                f'Publish it as a credit note (kfs.{cls} in Python, "kind": "{kind}" in a '
                "document file) with its amounts as printed, positive; or correct the line "
                "amounts' signs.",
            )


def _names(items: ItemList[Any], *, key: bool = False, limit: int = 8) -> str:
    """A short, readable list of active items, for remedies."""
    active = items.active
    shown = [(i.key if key else f"{i.name} ({i.key})") for i in active[:limit]]
    if not shown:
        return "(none synced: refresh lists)"
    more = f" and {len(active) - limit} more" if len(active) > limit else ""
    return ", ".join(shown) + more


def _gross(document: Document) -> Decimal:
    """The gross total as it will be sent: VAT worked out where only the rate is known."""
    total = Decimal(0)
    for line in document.lines:
        total += line.net + (line_vat(line) or Decimal(0))
    return total


def _check_payment(
    out: _Collector, document: Document, lists: ListsSnapshot, gross: Decimal
) -> None:
    payment = document.payment
    if payment is None:
        return
    if document.kind == "sales_credit_note" and credited(document) is not None:
        out.add(
            APPLIED_AND_REFUNDED,
            "payment",
            "The credit note names the invoice it credits (to be applied to it) and carries a "
            "payment (a refund): it is applied or refunded, not both.",
            "Leave out the payment to apply the credit to the invoice, or leave out credits to "
            "record the refund.",
        )
    purchase = document.side == "purchase"
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
        method = lists.payment_method(document.kind, payment.method)
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
        bank = lists.bank_account(payment.bank_account)
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
        if gross == 0 and document.lines:
            # The full gross is nothing: KashFlow would take the document and then refuse
            # its payment every time it is published again.
            out.add(
                PAYMENT_WITHOUT_AMOUNT,
                "payment",
                "The document's gross total is 0.00, so its payment would be for nothing.",
                "Remove the payment (a zero-total invoice needs none), or correct the line "
                "amounts.",
            )
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
    if _blank(attachment.filename):
        out.add(
            ATTACHMENT_NO_FILENAME,
            "attachment",
            "The attachment has no file name.",
            "Give the attachment its file name, with its extension (e.g. invoice.pdf).",
        )
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
            f"The attachment {attachment.filename!r} ({attachment.content_type!r}) is not a file "
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
