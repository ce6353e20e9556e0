"""One handler per SOAP operation: the request's values in, the ``<Op>Result`` value out.

A handler raises :class:`~.messages.Rejected` to answer ``Status=NO`` (or
:class:`~.messages.NotFound`, which ``Readings.not_found`` may turn into an empty answer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .messages import NotFound, Rejected, detail

if TYPE_CHECKING:
    from .account import Account

__all__ = ["CACHEABLE", "Handler", "handlers"]

#: A handler: the operation's parsed values and the caller's IP -> the result value.
Handler = Callable[[dict[str, Any], str], object]

#: List answers worth caching, by the ledger collections they depend on. (Not
#: GetCustomersModifiedSince: every timestamp would make a new, possibly huge, entry.)
CACHEABLE: Mapping[str, tuple[str, ...]] = {
    "GetCurrencies": ("currencies",),
    "GetNominalCodesExtended": ("nominal",),
    "GetSuppliers": ("suppliers",),
    "GetCustomers": ("customers",),
    "GetProjects_Full": ("projects",),
    "GetInvPayMethods": ("methods_invoice",),
    "GetRecPayMethods": ("methods_receipt",),
    "GetBankAccounts": ("banks",),
    "GetVATRates": ("vat",),
}


def handlers(f: Account) -> dict[str, Handler]:
    """The handler of every operation the fake serves, bound to the ledger *f*."""
    return {
        "AutoAuthIP": lambda p, ip: _auto_auth_ip(f, p, ip),
        "GetCurrencies": lambda p, ip: f.currencies,
        "GetNominalCodesExtended": lambda p, ip: f.nominal_codes,
        "GetSuppliers": lambda p, ip: f.suppliers,
        "GetSupplier": lambda p, ip: _contact(f, "supplier", p.get("SupplierCode")),
        "GetCustomers": lambda p, ip: f.customers,
        "GetCustomer": lambda p, ip: _contact(f, "customer", p.get("CustomerCode")),
        "GetCustomersModifiedSince": lambda p, ip: [
            c for c in f.customers if c.updated >= p["ModifiedSince"]
        ],
        "GetProjects_Full": lambda p, ip: [
            x for x in f.projects if p["ProjStatus"] in (-1, x.status)
        ],
        "GetInvPayMethods": lambda p, ip: f.sales_payment_methods,
        "GetRecPayMethods": lambda p, ip: f.purchase_payment_methods,
        "GetBankAccounts": lambda p, ip: f.bank_accounts,
        "GetVATRates": lambda p, ip: f.vat_rates,
        "InsertSupplier": lambda p, ip: _new_contact_id(f, "supplier", p.get("supl")),
        "InsertCustomer": lambda p, ip: _new_contact_id(f, "customer", p.get("custr")),
        "InsertReceipt": lambda p, ip: f._post_document("receipt", p.get("Inv")).number,
        "InsertInvoice": lambda p, ip: f._post_document("invoice", p.get("Inv")).number,
        "GetReceipt": lambda p, ip: f._document("receipt", p["ReceiptNumber"]),
        "GetInvoice": lambda p, ip: f._document("invoice", p["InvoiceNumber"]),
        "GetReceiptsForSupplier": lambda p, ip: f._documents_for("receipt", p["SupplierID"]),
        "GetInvoicesForCustomer": lambda p, ip: f._documents_for("invoice", p["CustID"]),
        "GetReceipts_Recent": lambda p, ip: f._recent_documents("receipt", p["NumberOfReceipts"]),
        "GetInvoices_Recent": lambda p, ip: f._recent_documents("invoice", p["NumberOfInvoices"]),
        "AttachFileToReceipt": lambda p, ip: f._attach("receipt", p["ReceiptNo"], p).kashflow_id,
        "AttachFileToInvoice": lambda p, ip: f._attach("invoice", p["InvoiceNo"], p).kashflow_id,
        "GetReceiptAttachments": lambda p, ip: f._receipt_attachments(p["ReceiptID"]),
        "InsertReceiptPayment": lambda p, ip: (
            f._post_payment("receipt", p.get("ReceiptPayment")).kashflow_id
        ),
        "InsertInvoicePayment": lambda p, ip: (
            f._post_payment("invoice", p.get("InvoicePayment")).kashflow_id
        ),
        "GetReceiptPayment": lambda p, ip: f._payments_for("receipt", p["ReceiptNumber"]),
        "GetInvoicePayment": lambda p, ip: f._payments_for("invoice", p["InvoiceNumber"]),
        "DeleteReceiptPayment": lambda p, ip: f._delete_payment(
            "receipt", p["ReceiptPaymentNumber"]
        ),
        "DeleteReceiptAttachment": lambda p, ip: f._delete_receipt_attachment(
            p["ReceiptID"], p["AttachmentID"]
        ),
        "DeleteReceipt": lambda p, ip: f._delete_document("receipt", p["ReceiptNumber"]),
        "DeleteSupplier": lambda p, ip: f._delete_supplier(p["SupplierID"]),
        "DeleteCustomer": lambda p, ip: f._delete_customer(p["CustomerID"]),
        "DeleteInvoice": lambda p, ip: f._delete_document("invoice", p["InvoiceNumber"]),
        "DeleteInvoicePayment": lambda p, ip: f._delete_invoice_payment(
            p["InvoiceNumber"], p["InvoicePaymentNumber"]
        ),
        "applyCreditNoteToInvoice": lambda p, ip: f._apply_credit_note(
            p["InvoiceID"], p["CreditNoteID"]
        ),
    }


def _auto_auth_ip(fake: Account, params: Mapping[str, Any], client_ip: str) -> int:
    if not fake.autoauth_enabled or not fake.autoauth_key:
        raise Rejected(detail("autoauth_disabled"))
    key = (params.get("AutoAuthKey") or "").strip()
    if key.upper() != fake.autoauth_key.upper():
        raise Rejected(detail("autoauth_bad_key"))
    fake.allow_ip(client_ip, params.get("appName") or "")
    return 1


def _new_contact_id(fake: Account, kind: str, wire: Mapping[str, Any] | None) -> int:
    record: Any = fake._insert_contact(kind, wire or {})
    return int(record.kashflow_id)


def _contact(fake: Account, kind: str, code: str | None) -> object:
    found = fake.find_supplier(code or "") if kind == "supplier" else fake.find_customer(code or "")
    if found is None or found.code.upper() != (code or "").strip().upper():
        raise NotFound(detail(f"{kind}_not_found"))
    return found
