"""The validation problem catalogue: every problem code with its meaning, and KashFlow's limits.

Codes are stable: hosts match on them and the docs' error catalogue is built from
:data:`PROBLEM_CODES`. The limits are assumptions about KashFlow that no public source pins down;
each is a named constant with the reason it was chosen, so it can be corrected in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "ALLOWED_ATTACHMENT_TYPES",
    "ARCHIVED_CATEGORY",
    "ARCHIVED_CUSTOMER",
    "ARCHIVED_PROJECT",
    "ARCHIVED_SUPPLIER",
    "ATTACHMENT_EMPTY",
    "ATTACHMENT_NO_FILENAME",
    "ATTACHMENT_TOO_LARGE",
    "ATTACHMENT_TYPE_NOT_ALLOWED",
    "CHANGED_AFTER_PUBLISHING",
    "DUE_BEFORE_ISSUE",
    "DUPLICATE_IN_LEDGER",
    "INVALID_CHARACTERS",
    "MAX_ATTACHMENT_BYTES",
    "MAX_CONTACT_NAME_LENGTH",
    "MAX_DESCRIPTION_LENGTH",
    "MAX_REFERENCE_LENGTH",
    "MISSING_BANK_ACCOUNT",
    "MISSING_CATEGORY",
    "MISSING_CONTACT",
    "MISSING_ISSUE_DATE",
    "MISSING_LINES",
    "MISSING_PAYMENT_METHOD",
    "MISSING_REFERENCE",
    "MISSING_VAT_RATE",
    "NEGATIVE_AMOUNT",
    "PAYMENT_EXCEEDS_TOTAL",
    "PAYMENT_NOT_POSITIVE",
    "PROBLEM_CODES",
    "PUBLISH_TIME_CODES",
    "RATE_NOT_REPRESENTABLE",
    "STALE_LISTS",
    "TEXT_TOO_LONG",
    "TOO_MANY_DECIMALS",
    "UNKNOWN_BANK_ACCOUNT",
    "UNKNOWN_CATEGORY",
    "UNKNOWN_CURRENCY",
    "UNKNOWN_CUSTOMER",
    "UNKNOWN_PAYMENT_METHOD",
    "UNKNOWN_PROJECT",
    "UNKNOWN_SUPPLIER",
    "UNKNOWN_VAT_RATE",
    "UNSUPPORTED_LOCATION",
    "VAT_EXCEEDS_NET",
    "VAT_MISMATCH",
    "WRONG_CATEGORY_KIND",
    "ZERO_QUANTITY",
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
INVALID_CHARACTERS = "invalid_characters"
ATTACHMENT_NO_FILENAME = "attachment_no_filename"
CHANGED_AFTER_PUBLISHING = "changed_after_publishing"

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
        ATTACHMENT_NO_FILENAME: "The attachment has no file name.",
        INVALID_CHARACTERS: "A text holds control characters XML (and so KashFlow) cannot carry.",
        ATTACHMENT_EMPTY: "The attachment has no content.",
        ATTACHMENT_TOO_LARGE: "The attachment is larger than KashFlow accepts.",
        ATTACHMENT_TYPE_NOT_ALLOWED: "The attachment's file type is not one KashFlow accepts.",
        TEXT_TOO_LONG: "A text field is longer than KashFlow keeps.",
        DUPLICATE_IN_LEDGER: "The same invoice is already in KashFlow, from another item.",
        STALE_LISTS: "A list item the document uses vanished between validation and publishing.",
        CHANGED_AFTER_PUBLISHING: (
            "This external_id was already published with different content; KashFlow keeps the "
            "first version."
        ),
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

#: Codes only ``publish`` raises (it checks them against the journal or KashFlow, not the lists).
PUBLISH_TIME_CODES = frozenset({STALE_LISTS, CHANGED_AFTER_PUBLISHING})
