"""Every ``StatusDetail`` the fake answers with ``Status=NO``, in one table.

Only the first two and the customer-code refusal are KashFlow's documented words (seen verbatim
in client libraries or their docs); the others are the fake's own plausible wording, because
KashFlow does not publish them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["STATUS_DETAILS", "NotFound", "Rejected", "detail"]

#: ``StatusDetail`` templates by key; ``{placeholders}`` are filled per call.
STATUS_DETAILS: Mapping[str, str] = MappingProxyType(
    {
        # KashFlow's own words.
        "incorrect_credentials": "Incorrect username or password",
        "ip_not_allowed": "The IP address of {ip} is not in the access list",
        # The fake's wording (KashFlow's is undocumented).
        "api_disabled": "API access is disabled for this account",
        "autoauth_disabled": "AutoAuth is not enabled for this account",
        "autoauth_bad_key": "The AutoAuth key is not valid for this account",
        "supplier_not_found": "There is no supplier with that code",
        "supplier_id_not_found": "There is no supplier with that ID",
        "customer_not_found": "There is no customer with that code",
        "customer_id_not_found": "There is no customer with that ID",
        "receipt_not_found": "There is no receipt with that number",
        "receipt_id_not_found": "There is no receipt with that ID",
        "invoice_not_found": "There is no invoice with that number",
        "supplier_name_required": "The supplier name cannot be empty",
        "customer_name_required": "The customer name cannot be empty",
        # KashFlow's answer as quoted in WHMCS's KashFlow module docs (2015).
        "customer_code_taken": "Error Inserting Customer {name}: Customer Code is not unique",
        # Inferred from the customer wording; no public source quotes the supplier one.
        "supplier_code_taken": "Error Inserting Supplier {name}: Supplier Code is not unique",
        "document_missing": "No invoice data was supplied",
        "payment_missing": "No payment data was supplied",
        "line_not_typed": (
            'Line {line}: invoice lines must be of type InvoiceLine (xsi:type="InvoiceLine")'
        ),
        "line_bad_nominal": "Line {line}: there is no nominal code with ID {id}",
        "line_bad_vat_rate": "Line {line}: {rate} is not a valid VAT rate",
        "line_bad_project": "Line {line}: there is no project with ID {id}",
        "bad_project": "There is no project with ID {id}",
        "bad_currency": "There is no currency with the code {code}",
        "bad_pay_method": "There is no payment method with ID {id}",
        "bad_pay_account": "There is no bank account with ID {id}",
        "bad_pay_amount": "The payment amount must be greater than zero",
        # Credit notes: KashFlow's wording for these refusals is unknown (see Readings).
        "line_negative_quantity": "Line {line}: the quantity must be greater than zero",
        "line_negative_rate": "Line {line}: the rate cannot be negative",
        "line_double_negative": "Line {line}: the quantity and the rate cannot both be negative",
        "credit_note_payment_refused": "Payments cannot be recorded against a credit note",
        "credit_note_refund_sign": "A refund on a credit note must be a negative amount",
        "invoice_id_not_found": "There is no invoice with that ID",
        "credit_not_a_credit_note": "Invoice {id} is not a credit note",
        "credit_other_customer": "The credit note and the invoice are for different customers",
        "credit_nothing_to_apply": "There is nothing left to apply",
        "credit_needs_bank": (
            "A bank account and a payment method are needed to apply a credit note"
        ),
        "bad_base64": "The file content is not valid Base64",
        "receipt_payment_not_found": "There is no receipt payment with that number",
        "invoice_payment_not_found": "There is no invoice payment with that number",
        "attachment_not_found": "There is no attachment with that ID",
        "receipt_has_payments": "The receipt has payments; delete them first",
        "invoice_has_payments": "The invoice has payments; delete them first",
        "supplier_has_receipts": "The supplier has receipts and cannot be deleted",
        "customer_has_invoices": "The customer has invoices and cannot be deleted",
        "filename_required": "A file name is required",
        # Assumed wording: attachments live in the account's Dropbox (Dext's help), but no
        # public source quotes KashFlow's refusal when none is connected.
        "dropbox_not_connected": (
            "Unable to upload the file: no Dropbox account is connected to this KashFlow account"
        ),
    }
)


def detail(key: str, **values: object) -> str:
    """The ``StatusDetail`` for *key*, with its placeholders filled from *values*."""
    return STATUS_DETAILS[key].format(**values)


class Rejected(Exception):
    """A business refusal: the operation answers ``Status=NO`` with ``detail``."""

    def __init__(self, detail: str) -> None:
        """Carry KashFlow's words for the refusal."""
        super().__init__(detail)
        self.detail = detail


class NotFound(Rejected):
    """A refusal because the thing asked for does not exist.

    Lookups answer it according to ``Readings.not_found``: ``Status=NO`` with ``detail``, or
    ``Status=OK`` with an empty object. Writes that name a missing document always refuse.
    """
