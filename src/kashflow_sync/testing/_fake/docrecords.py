"""What the fake stores for receipts, invoices, their lines, payments and attachments.

Attributes use the SDK's words (``kashflow_id``, ``number``, ``reference``, ``net``,
``vat``...); KashFlow's wire names (``invoice_dbid``, ``invoice_number``,
``customer_reference``, ``net_amount``...) are kept as aliases.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar, Literal

import attrs

from .alias import Alias

__all__ = ["AttachmentRecord", "DocumentKind", "DocumentRecord", "LineRecord", "PaymentRecord"]

#: ``"receipt"`` (purchase invoice) or ``"invoice"`` (sales invoice).
DocumentKind = Literal["receipt", "invoice"]


@attrs.frozen
class LineRecord:
    """A receipt or invoice line as stored (``InvoiceLine`` on the wire).

    ``rate`` is the unit rate as KashFlow keeps it and ``net`` is ``rate x quantity`` to the
    penny, both as the fake's :class:`~kashflow_sync.testing.Readings` made them when the line
    was stored (``rate_decimals``, ``rounding``, ``values_in_currency``). ``charge_type`` is
    the nominal code's internal id, ``project_id`` the project's.
    """

    WIRE_TYPE: ClassVar[str] = "InvoiceLine"
    WIRE_ALIASES: ClassVar[Mapping[str, str]] = {
        "LineID": "kashflow_id",
        "VatAmount": "vat",
        "ProjID": "project_id",
    }

    kashflow_id: int
    sort: int
    quantity: Decimal
    rate: Decimal
    net: Decimal
    charge_type: int
    vat_rate: Decimal
    vat: Decimal
    description: str | None = None
    product_id: int = 0
    project_id: int = 0
    values_in_currency: int | None = None

    line_id = Alias[int]("kashflow_id")
    vat_amount = Alias[Decimal]("vat")
    proj_id = Alias[int]("project_id")


@attrs.frozen
class DocumentRecord:
    """A receipt (purchase invoice) or a sales invoice; both are ``Invoice`` on the wire.

    ``number`` is the visible receipt or invoice number, ``kashflow_id`` KashFlow's internal
    id (``InvoiceDBID``). On a receipt the contact is the supplier and ``reference`` the
    supplier's own invoice number; KashFlow calls both by customer names on the wire
    (``CustomerID``, ``CustomerReference``), which stay readable as aliases. ``invoice_date``
    and ``due_date`` are the wire's date-times; ``issue_date`` is the date.
    """

    WIRE_TYPE: ClassVar[str] = "Invoice"
    WIRE_ALIASES: ClassVar[Mapping[str, str]] = {
        "InvoiceDBID": "kashflow_id",
        "InvoiceNumber": "number",
        "CustomerID": "contact_id",
        "Customer": "contact_code",
        "CustomerName": "contact_name",
        "CustomerReference": "reference",
        "NetAmount": "net",
        "VATAmount": "vat",
        "CurrencyCode": "currency",
    }

    kind: DocumentKind
    kashflow_id: int
    number: int
    invoice_date: datetime
    due_date: datetime
    contact_id: int
    contact_code: str | None
    contact_name: str | None
    lines: tuple[LineRecord, ...]
    net: Decimal
    vat: Decimal
    reference: str | None = None
    project_id: int = 0
    currency: str | None = None
    exchange_rate: Decimal = Decimal(1)
    amount_paid: Decimal = Decimal(0)
    paid: int = 0
    suppress_total: int = 0
    estimate_category: str | None = None
    readable_string: str | None = None
    perma_link: str | None = None
    use_custom_delivery_address: bool = False
    cisrc_net_amount: Decimal | None = None
    cisrc_vat_amount: Decimal | None = None
    is_cis_reverse_charge: bool | None = None

    invoice_dbid = Alias[int]("kashflow_id")
    dbid = Alias[int]("kashflow_id")
    invoice_number = Alias[int]("number")
    customer_id = Alias[int]("contact_id")
    customer = Alias[str | None]("contact_code")
    customer_name = Alias[str | None]("contact_name")
    customer_reference = Alias[str | None]("reference")
    net_amount = Alias[Decimal]("net")
    vat_amount = Alias[Decimal]("vat")
    currency_code = Alias[str | None]("currency")
    gross_amount = Alias[Decimal]("gross")

    @property
    def gross(self) -> Decimal:
        """Net plus VAT."""
        return self.net + self.vat

    @property
    def issue_date(self) -> date:
        """The document date (``InvoiceDate`` without its time)."""
        return self.invoice_date.date()


@attrs.frozen
class PaymentRecord:
    """A payment against a receipt or an invoice.

    ``kashflow_id`` is the payment number (``PayID``), ``document_number`` the receipt or
    invoice number paid (``PayInvoice``), ``method_id`` and ``account_id`` the payment method
    and bank account ids; the ``pay_*`` wire names are aliases.
    """

    WIRE_TYPE: ClassVar[str] = "Payment"
    WIRE_ALIASES: ClassVar[Mapping[str, str]] = {
        "PayID": "kashflow_id",
        "PayInvoice": "document_number",
        "PayMethod": "method_id",
        "PayAccount": "account_id",
        "PayAmount": "amount",
        "PayNote": "note",
    }

    kashflow_id: int
    kind: DocumentKind
    document_number: int
    pay_date: datetime
    method_id: int
    account_id: int
    amount: Decimal
    note: str | None = None

    pay_id = Alias[int]("kashflow_id")
    pay_invoice = Alias[int]("document_number")
    pay_method = Alias[int]("method_id")
    pay_account = Alias[int]("account_id")
    pay_amount = Alias[Decimal]("amount")
    pay_note = Alias[str | None]("note")

    @property
    def paid_on(self) -> date:
        """The payment date (``PayDate`` without its time)."""
        return self.pay_date.date()


@attrs.frozen
class AttachmentRecord:
    """A file attached to a receipt or an invoice, with its decoded bytes.

    ``document_number`` is the receipt or invoice number, ``document_id`` its internal id
    (``ReceiptID`` on the wire).
    """

    WIRE_TYPE: ClassVar[str] = "ReceiptAttachment"
    WIRE_ALIASES: ClassVar[Mapping[str, str]] = {
        "AttachmentID": "kashflow_id",
        "ReceiptID": "document_id",
        "ActualFilename": "filename",
    }

    kashflow_id: int
    kind: DocumentKind
    document_number: int
    document_id: int
    filename: str
    content: bytes = attrs.field(repr=False)
    upload_date: datetime
    content_type: str | None = None
    file_extension: str | None = None
    file_size: str | None = None
    meta_name: str | None = None
    meta_value: str | None = None

    attachment_id = Alias[int]("kashflow_id")

    @property
    def amazon_filename(self) -> str:
        """The storage key KashFlow reports beside the original name."""
        return f"{self.kashflow_id}_{self.filename}"

    @property
    def file_url(self) -> str:
        """A download address in the fake's own (unreachable) domain."""
        return f"https://files.kashflow.fake/{self.kashflow_id}/{self.filename}"
