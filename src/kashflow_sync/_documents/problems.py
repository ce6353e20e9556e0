"""The validation problem catalogue: every problem code with its meaning, and KashFlow's limits.

Codes are stable: hosts match on them and the docs' error catalogue is built from
:data:`PROBLEM_CODES`. The limits are assumptions about KashFlow that no public source pins down;
each is a named constant with the reason it was chosen, so it can be corrected in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, get_args

from .._limits import EARLIEST_DATE, LATEST_DATE
from .._problem import ProblemCode, Severity

__all__ = [
    "ALLOWED_ATTACHMENT_TYPES",
    "APPLIED_AND_REFUNDED",
    "ARCHIVED_CATEGORY",
    "ARCHIVED_CUSTOMER",
    "ARCHIVED_PROJECT",
    "ARCHIVED_SUPPLIER",
    "ATTACHMENT_EMPTY",
    "ATTACHMENT_NOT_FOUND",
    "ATTACHMENT_NO_FILENAME",
    "ATTACHMENT_PATH_REFUSED",
    "ATTACHMENT_TOO_LARGE",
    "ATTACHMENT_TYPE_NOT_ALLOWED",
    "CHANGED_AFTER_PUBLISHING",
    "CONFUSABLE_CONTACT",
    "CREDITS_OTHER_CONTACT",
    "CREDIT_NOTES_REFUSED",
    "CREDIT_NOT_APPLIED",
    "DATE_OUT_OF_RANGE",
    "DOCUMENT_FILE_CODES",
    "DUE_BEFORE_ISSUE",
    "DUPLICATED_IN_KASHFLOW",
    "DUPLICATE_EXTERNAL_ID",
    "DUPLICATE_IN_LEDGER",
    "DUPLICATE_KEY",
    "EMPTY_CURRENCY",
    "HIDDEN_CHARACTERS",
    "INVALID_CHARACTERS",
    "INVALID_JSON",
    "INVALID_VALUE",
    "MAX_ATTACHMENT_BYTES",
    "MAX_CONTACT_NAME_LENGTH",
    "MAX_DESCRIPTION_LENGTH",
    "MAX_REFERENCE_LENGTH",
    "MISSING_BANK_ACCOUNT",
    "MISSING_CATEGORY",
    "MISSING_CONTACT",
    "MISSING_FIELD",
    "MISSING_ISSUE_DATE",
    "MISSING_LINES",
    "MISSING_PAYMENT_METHOD",
    "MISSING_REFERENCE",
    "MISSING_VAT_RATE",
    "NEGATIVE_AMOUNT",
    "NEW_CUSTOMER",
    "NEW_SUPPLIER",
    "NOTICE_CODES",
    "NO_DOCUMENTS",
    "PAYMENT_EXCEEDS_TOTAL",
    "PAYMENT_NOT_POSITIVE",
    "PAYMENT_WITHOUT_AMOUNT",
    "PROBLEM_CODES",
    "PUBLISH_TIME_CODES",
    "SIMILAR_CONTACT",
    "STALE_LISTS",
    "SUPPLIER_CREDIT_NOT_ALLOCATED",
    "TEXT_TOO_LONG",
    "TOO_MANY_DECIMALS",
    "UNKNOWN_BANK_ACCOUNT",
    "UNKNOWN_CATEGORY",
    "UNKNOWN_CREDITED_INVOICE",
    "UNKNOWN_CURRENCY",
    "UNKNOWN_CUSTOMER",
    "UNKNOWN_FIELD",
    "UNKNOWN_PAYMENT_METHOD",
    "UNKNOWN_PROJECT",
    "UNKNOWN_SUPPLIER",
    "UNKNOWN_VAT_RATE",
    "UNREADABLE_FILE",
    "UNSUPPORTED_LOCATION",
    "VAT_EXCEEDS_NET",
    "VAT_MISMATCH",
    "WRONG_CATEGORY_KIND",
    "ZERO_QUANTITY",
    "ProblemCode",
    "Severity",
]

# Problem codes. Stable: hosts match on them, docs list them.
MISSING_CONTACT: Final = "missing_contact"
UNKNOWN_SUPPLIER: Final = "unknown_supplier"
UNKNOWN_CUSTOMER: Final = "unknown_customer"
ARCHIVED_SUPPLIER: Final = "archived_supplier"
ARCHIVED_CUSTOMER: Final = "archived_customer"
MISSING_REFERENCE: Final = "missing_reference"
MISSING_ISSUE_DATE: Final = "missing_issue_date"
DUE_BEFORE_ISSUE: Final = "due_before_issue"
DATE_OUT_OF_RANGE: Final = "date_out_of_range"
UNKNOWN_CURRENCY: Final = "unknown_currency"
UNSUPPORTED_LOCATION: Final = "unsupported_location"
MISSING_LINES: Final = "missing_lines"
NEGATIVE_AMOUNT: Final = "negative_amount"
MISSING_CATEGORY: Final = "missing_category"
UNKNOWN_CATEGORY: Final = "unknown_category"
ARCHIVED_CATEGORY: Final = "archived_category"
WRONG_CATEGORY_KIND: Final = "wrong_category_kind"
MISSING_VAT_RATE: Final = "missing_vat_rate"
UNKNOWN_VAT_RATE: Final = "unknown_vat_rate"
VAT_EXCEEDS_NET: Final = "vat_exceeds_net"
VAT_MISMATCH: Final = "vat_mismatch"
TOO_MANY_DECIMALS: Final = "too_many_decimals"
ZERO_QUANTITY: Final = "zero_quantity"
UNKNOWN_PROJECT: Final = "unknown_project"
ARCHIVED_PROJECT: Final = "archived_project"
MISSING_PAYMENT_METHOD: Final = "missing_payment_method"
UNKNOWN_PAYMENT_METHOD: Final = "unknown_payment_method"
MISSING_BANK_ACCOUNT: Final = "missing_bank_account"
UNKNOWN_BANK_ACCOUNT: Final = "unknown_bank_account"
PAYMENT_NOT_POSITIVE: Final = "payment_not_positive"
PAYMENT_EXCEEDS_TOTAL: Final = "payment_exceeds_total"
PAYMENT_WITHOUT_AMOUNT: Final = "payment_without_amount"
ATTACHMENT_EMPTY: Final = "attachment_empty"
ATTACHMENT_TOO_LARGE: Final = "attachment_too_large"
ATTACHMENT_TYPE_NOT_ALLOWED: Final = "attachment_type_not_allowed"
TEXT_TOO_LONG: Final = "text_too_long"
DUPLICATE_IN_LEDGER: Final = "duplicate_in_ledger"
STALE_LISTS: Final = "stale_lists"
INVALID_CHARACTERS: Final = "invalid_characters"
ATTACHMENT_NO_FILENAME: Final = "attachment_no_filename"
CHANGED_AFTER_PUBLISHING: Final = "changed_after_publishing"
CONFUSABLE_CONTACT: Final = "confusable_contact"
SIMILAR_CONTACT: Final = "similar_contact"
# Notices: reported by validate(doc, include_notices=True), never blocking.
NEW_SUPPLIER: Final = "new_supplier"
NEW_CUSTOMER: Final = "new_customer"
# Document files (JSON): reported before any document exists, by document_from_json and the CLI.
INVALID_JSON: Final = "invalid_json"
UNREADABLE_FILE: Final = "unreadable_file"
NO_DOCUMENTS: Final = "no_documents"
MISSING_FIELD: Final = "missing_field"
UNKNOWN_FIELD: Final = "unknown_field"
INVALID_VALUE: Final = "invalid_value"
ATTACHMENT_NOT_FOUND: Final = "attachment_not_found"
ATTACHMENT_PATH_REFUSED: Final = "attachment_path_refused"
DUPLICATE_EXTERNAL_ID: Final = "duplicate_external_id"
# Credit notes and duplicates found after publishing.
CREDIT_NOT_APPLIED: Final = "credit_not_applied"
SUPPLIER_CREDIT_NOT_ALLOCATED: Final = "supplier_credit_not_allocated"
DUPLICATED_IN_KASHFLOW: Final = "duplicated_in_kashflow"
UNKNOWN_CREDITED_INVOICE: Final = "unknown_credited_invoice"
CREDITS_OTHER_CONTACT: Final = "credits_other_contact"
APPLIED_AND_REFUNDED: Final = "applied_and_refunded"
CREDIT_NOTES_REFUSED: Final = "credit_notes_refused"
CREDIT_REFUNDS_REFUSED: Final = "credit_refunds_refused"
REFUND_NOT_RECORDED: Final = "refund_not_recorded"
DUPLICATE_KEY: Final = "duplicate_key"
# Inputs that would write something other than what the person sees.
HIDDEN_CHARACTERS: Final = "hidden_characters"
EMPTY_CURRENCY: Final = "empty_currency"

#: Every problem code, with what it means (the docs' error catalogue is built from this).
PROBLEM_CODES: Mapping[ProblemCode, str] = MappingProxyType(
    {
        MISSING_CONTACT: "The document names no supplier or customer.",
        UNKNOWN_SUPPLIER: "The supplier is not in the synced lists and may not be created.",
        UNKNOWN_CUSTOMER: "The customer is not in the synced lists and may not be created.",
        ARCHIVED_SUPPLIER: "The supplier is archived in KashFlow or was removed from it.",
        ARCHIVED_CUSTOMER: "The customer is archived in KashFlow or was removed from it.",
        MISSING_REFERENCE: "A purchase has no supplier reference (the supplier's invoice number).",
        MISSING_ISSUE_DATE: "The document has no issue date.",
        DUE_BEFORE_ISSUE: "The due date is earlier than the issue date.",
        DATE_OUT_OF_RANGE: (
            f"An issue, due or payment date outside {EARLIEST_DATE} to {LATEST_DATE}: KashFlow "
            "would read it back as no date (it writes none as 0001-01-01) or could not hold it."
        ),
        UNKNOWN_CURRENCY: "The currency is not enabled on the KashFlow account.",
        UNSUPPORTED_LOCATION: "The document names a location; KashFlow has no locations.",
        MISSING_LINES: "The document has no lines.",
        NEGATIVE_AMOUNT: (
            "A negative net total: an invoice that is really a credit note, or a credit note "
            "written with minus signs (its amounts are written as printed, positive)."
        ),
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
        UNKNOWN_PROJECT: "A line's project number is not in the synced projects.",
        ARCHIVED_PROJECT: "A line's project is archived in KashFlow or was removed from it.",
        MISSING_PAYMENT_METHOD: "A payment has no payment method, from the document or a rule.",
        UNKNOWN_PAYMENT_METHOD: "The payment method is not one KashFlow offers for this document.",
        MISSING_BANK_ACCOUNT: "A payment has no bank account, from the document or a rule.",
        UNKNOWN_BANK_ACCOUNT: "The payment's bank account is not in the synced bank accounts.",
        PAYMENT_NOT_POSITIVE: "The payment amount is zero or negative.",
        PAYMENT_EXCEEDS_TOTAL: "The payment amount is more than the document's gross total.",
        PAYMENT_WITHOUT_AMOUNT: (
            "The document has a payment but its gross total is zero, so there is nothing to pay "
            "(KashFlow refuses a payment of 0)."
        ),
        ATTACHMENT_NO_FILENAME: "The attachment has no file name.",
        INVALID_CHARACTERS: (
            "A text holds a character XML (and so KashFlow) or the journal cannot carry: a "
            "control character such as NUL, or half of a UTF-16 surrogate pair alone."
        ),
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
        CONFUSABLE_CONTACT: (
            "The supplier or customer looks like an existing one but is spelled with look-alike "
            "letters from another script (a Cyrillic A, U+0410, for a Latin A)."
        ),
        SIMILAR_CONTACT: (
            "The supplier or customer is not in KashFlow but is a near-miss of one that is (a "
            'typo, a dropped word, "Ltd" for "Limited"): probably the same contact. Use its '
            "name, or say it is new with create_contact=True (CLI: --create-contacts)."
        ),
        NEW_SUPPLIER: "Notice: the supplier is not in KashFlow; publishing will create it.",
        NEW_CUSTOMER: "Notice: the customer is not in KashFlow; publishing will create it.",
        INVALID_JSON: "A document file is not valid JSON (or not UTF-8 text).",
        UNREADABLE_FILE: "A document file (or folder) does not exist or cannot be read.",
        NO_DOCUMENTS: "A document file holds an empty list, or a folder holds no *.json file.",
        MISSING_FIELD: "A required field of the document format is missing.",
        UNKNOWN_FIELD: "A field the document format does not have (often a typo).",
        INVALID_VALUE: (
            "A field's value is not what the format allows: a float for money, an impossible "
            "date, text where a number belongs."
        ),
        ATTACHMENT_NOT_FOUND: "The attachment's file does not exist or cannot be read.",
        ATTACHMENT_PATH_REFUSED: (
            "An attachment given as a file path where no folder to read it from was allowed "
            "(documents from a web request or a task queue must carry content_base64), or a "
            "path outside the document file's folder (kashflow-sync publish "
            "--allow-outside-attachments allows it)."
        ),
        DUPLICATE_EXTERNAL_ID: "Two documents of one run have the same external_id.",
        CREDIT_NOT_APPLIED: (
            "Notice: a sales credit note is in KashFlow, but KashFlow did not apply it to the "
            "invoice it credits (the result says why and what to click)."
        ),
        SUPPLIER_CREDIT_NOT_ALLOCATED: (
            "Notice: a supplier credit note is in KashFlow; KashFlow's API cannot allocate it to "
            "the receipt it credits, which is done in KashFlow (Apply Credit)."
        ),
        DUPLICATED_IN_KASHFLOW: (
            "Notice: KashFlow holds this document twice (an earlier send was applied late); one "
            "copy is to be deleted in KashFlow."
        ),
        UNKNOWN_CREDITED_INVOICE: (
            "A credit note's credits names an external_id that was never published, or one that "
            "is not an invoice of the same kind (purchase or sales)."
        ),
        CREDITS_OTHER_CONTACT: (
            "A credit note credits an invoice of another supplier or customer."
        ),
        APPLIED_AND_REFUNDED: (
            "A sales credit note both names the invoice it credits (to be applied to it) and "
            "carries a payment (a refund): it is one or the other."
        ),
        CREDIT_REFUNDS_REFUSED: (
            "The account takes no payment (refund) on a credit note over the API (doctor "
            "--probe-writes learned it): the refund is recorded in KashFlow by hand."
        ),
        REFUND_NOT_RECORDED: (
            "Notice: the credit note is in KashFlow, but KashFlow refused the refund payment "
            "on it; record the refund in KashFlow by hand."
        ),
        CREDIT_NOTES_REFUSED: (
            "The account refuses negative lines over the API (doctor --probe-writes learned it), "
            "so credit notes cannot be published to it."
        ),
        DUPLICATE_KEY: (
            "A JSON object in a document file has the same key twice; JSON readers keep only "
            "the last, silently, so the file is refused rather than half read."
        ),
        HIDDEN_CHARACTERS: (
            "A supplier or customer name, reference or attachment name holds an invisible "
            "character that changes what it is but not how it looks: a bidirectional control "
            "(U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C), a zero-width character "
            "in a reference, or a C1 control (U+0080-U+009F, in any text)."
        ),
        EMPTY_CURRENCY: (
            "The currency is given but empty; it would have been read as the account's home "
            "currency."
        ),
    }
)

#: Codes that never block publishing: validate(doc, include_notices=True) reports them.
NOTICE_CODES: frozenset[ProblemCode] = frozenset(
    {
        NEW_SUPPLIER,
        NEW_CUSTOMER,
        CREDIT_NOT_APPLIED,
        SUPPLIER_CREDIT_NOT_ALLOCATED,
        DUPLICATED_IN_KASHFLOW,
        REFUND_NOT_RECORDED,
    }
)
#: Codes about document files (the JSON format), found before any document exists.
DOCUMENT_FILE_CODES: frozenset[ProblemCode] = frozenset(
    {
        INVALID_JSON,
        UNREADABLE_FILE,
        NO_DOCUMENTS,
        MISSING_FIELD,
        UNKNOWN_FIELD,
        INVALID_VALUE,
        ATTACHMENT_NOT_FOUND,
        ATTACHMENT_PATH_REFUSED,
        DUPLICATE_EXTERNAL_ID,
        DUPLICATE_KEY,
    }
)

if set(get_args(ProblemCode)) != set(PROBLEM_CODES):  # pragma: no cover - a developer's slip
    raise AssertionError("ProblemCode and PROBLEM_CODES must list the same codes")

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
PUBLISH_TIME_CODES: frozenset[ProblemCode] = frozenset(
    {
        STALE_LISTS,
        CHANGED_AFTER_PUBLISHING,
        # Checked against the journal (validate() too) or KashFlow, not the lists:
        UNKNOWN_CREDITED_INVOICE,
        CREDITS_OTHER_CONTACT,
        CREDIT_NOTES_REFUSED,
        CREDIT_REFUNDS_REFUSED,
        # Notices on a publish result:
        CREDIT_NOT_APPLIED,
        SUPPLIER_CREDIT_NOT_ALLOCATED,
        DUPLICATED_IN_KASHFLOW,
        REFUND_NOT_RECORDED,
    }
)
