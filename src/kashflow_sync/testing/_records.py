"""What the fake ledger stores: frozen attrs records with Decimal money.

Attribute names are the snake_case of KashFlow's WSDL element names (``SupplierID`` ->
``supplier_id``, ``InvoiceDBID`` -> ``invoice_dbid``), so the renderer maps records to the wire
without per-type code. ``WIRE_ALIASES`` names the few attributes that read better under another
name, and ``extra`` keeps optional text the fake only stores and echoes back (addresses,
contact names...), keyed by WSDL element name.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import ClassVar, Literal

import attrs

from .._models import NOMINAL_CLASSIFICATIONS

__all__ = [
    "AttachmentRecord",
    "BankAccountRecord",
    "CallRecord",
    "CurrencyRecord",
    "CustomerRecord",
    "DocumentKind",
    "DocumentRecord",
    "LineRecord",
    "NominalCodeRecord",
    "PaymentMethodRecord",
    "PaymentRecord",
    "ProjectRecord",
    "SupplierRecord",
    "VatRateRecord",
]

#: ``"receipt"`` (purchase invoice) or ``"invoice"`` (sales invoice).
DocumentKind = Literal["receipt", "invoice"]

_CENT = Decimal("0.01")
_NOMINAL_TYPES: Mapping[int, str] = {
    1: "Sales Type",
    2: "Outgoing Type",
    3: "Bank Transaction Type",
}


def _frozen_mapping(value: Mapping[str, object] | None) -> Mapping[str, object]:
    return dict(value or {})


@attrs.frozen
class NominalCodeRecord:
    """A nominal code; ``id`` is the internal id that lines' ``ChargeType`` wants."""

    WIRE_TYPE: ClassVar[str] = "NominalCodeExtended"

    id: int
    code: int
    name: str
    classification_id: int = 3
    archived: bool = False
    type_id: int = 0
    auto_fill: int = 0
    price: Decimal = Decimal(0)
    vat_rate: Decimal = Decimal(0)
    description: str | None = None
    debit: Decimal = Decimal(0)
    credit: Decimal = Decimal(0)
    balance: Decimal = Decimal(0)

    @property
    def classification_name(self) -> str:
        """KashFlow's name for the classification, e.g. ``"Expense"``."""
        return NOMINAL_CLASSIFICATIONS.get(self.classification_id, "")

    @property
    def type_name(self) -> str:
        """KashFlow's name for the nominal type, e.g. ``"Outgoing Type"``."""
        return _NOMINAL_TYPES.get(self.type_id, "")


@attrs.frozen
class SupplierRecord:
    """A supplier. Fields KashFlow has but the fake does not interpret live in ``extra``."""

    WIRE_TYPE: ClassVar[str] = "Supplier"

    supplier_id: int
    code: str
    name: str
    created: datetime
    updated: datetime
    email: str | None = None
    vat_number: str | None = None
    currency_id: int = 0
    payment_terms: int = 0
    ec: int = 0
    trade_border_type: Decimal = Decimal(0)
    extra: Mapping[str, object] = attrs.field(factory=dict, converter=_frozen_mapping)


@attrs.frozen
class CustomerRecord:
    """A customer. Fields KashFlow has but the fake does not interpret live in ``extra``."""

    WIRE_TYPE: ClassVar[str] = "Customer"

    customer_id: int
    code: str
    name: str
    created: datetime
    updated: datetime
    email: str | None = None
    vat_number: str | None = None
    currency_id: int = 0
    payment_terms: int = 0
    discount: Decimal = Decimal(0)
    show_discount: bool = False
    ec: int = 0
    outside_ec: int = 0
    source: int = 0
    extra: Mapping[str, object] = attrs.field(factory=dict, converter=_frozen_mapping)


@attrs.frozen
class ProjectRecord:
    """A project; ``status`` is 0 completed, 1 active, 2 archived."""

    WIRE_TYPE: ClassVar[str] = "Project"

    id: int
    number: int
    name: str
    status: int = 1
    reference: str | None = None
    description: str | None = None
    date1: datetime | None = None
    date2: datetime | None = None
    customer_id: int = 0


@attrs.frozen
class VatRateRecord:
    """A VAT rate; ``value`` is a percentage (20 means 20%, -1 exempt)."""

    WIRE_TYPE: ClassVar[str] = "BasicDataset"

    id: int
    value: Decimal

    @property
    def name(self) -> str:
        """The rate as KashFlow shows it: ``"20%"``, ``"17.5%"``, or ``"N/A"`` for -1."""
        if self.value == -1:
            return "N/A"
        text = format(self.value.normalize(), "f")
        return f"{text}%"

    @property
    def description(self) -> str:
        """Same as ``name``; KashFlow fills both."""
        return self.name


@attrs.frozen
class CurrencyRecord:
    """A currency enabled on the account."""

    WIRE_TYPE: ClassVar[str] = "Currencies"

    currency_id: int
    currency_code: str
    exchange_rate: Decimal = Decimal(1)
    is_default: bool = False


@attrs.frozen
class BankAccountRecord:
    """A bank account; ``account_code`` is its nominal code (e.g. 1200)."""

    WIRE_TYPE: ClassVar[str] = "BankAccount"

    account_id: int
    account_name: str
    account_code: int


@attrs.frozen
class PaymentMethodRecord:
    """A payment method (purchase ones from GetRecPayMethods, sales from GetInvPayMethods)."""

    WIRE_TYPE: ClassVar[str] = "PaymentMethod"

    method_id: int
    method_name: str


@attrs.frozen
class LineRecord:
    """A receipt or invoice line as stored (``InvoiceLine`` on the wire)."""

    WIRE_TYPE: ClassVar[str] = "InvoiceLine"

    line_id: int
    sort: int
    quantity: Decimal
    rate: Decimal
    charge_type: int
    vat_rate: Decimal
    vat_amount: Decimal
    description: str | None = None
    product_id: int = 0
    proj_id: int = 0
    values_in_currency: int | None = None

    @property
    def net(self) -> Decimal:
        """``Rate * Quantity`` rounded half-up to pennies."""
        return (self.rate * self.quantity).quantize(_CENT, rounding=ROUND_HALF_UP)


@attrs.frozen
class DocumentRecord:
    """A receipt (purchase invoice) or a sales invoice; both are ``Invoice`` on the wire.

    On a receipt ``customer_id`` holds the supplier's id and ``customer_reference`` the
    supplier's own invoice number, exactly as KashFlow does.
    """

    WIRE_TYPE: ClassVar[str] = "Invoice"

    kind: DocumentKind
    invoice_dbid: int
    invoice_number: int
    invoice_date: datetime
    due_date: datetime
    customer_id: int
    customer: str | None
    customer_name: str | None
    lines: tuple[LineRecord, ...]
    net_amount: Decimal
    vat_amount: Decimal
    customer_reference: str | None = None
    project_id: int = 0
    currency_code: str | None = None
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

    @property
    def number(self) -> int:
        """The visible receipt or invoice number."""
        return self.invoice_number

    @property
    def dbid(self) -> int:
        """KashFlow's internal id (``InvoiceDBID``)."""
        return self.invoice_dbid

    @property
    def gross_amount(self) -> Decimal:
        """Net plus VAT."""
        return self.net_amount + self.vat_amount


@attrs.frozen
class PaymentRecord:
    """A payment against a receipt or an invoice; ``pay_invoice`` is the document number."""

    WIRE_TYPE: ClassVar[str] = "Payment"

    pay_id: int
    kind: DocumentKind
    pay_invoice: int
    pay_date: datetime
    pay_method: int
    pay_account: int
    pay_amount: Decimal
    pay_note: str | None = None

    @property
    def document_number(self) -> int:
        """The receipt or invoice number paid."""
        return self.pay_invoice


@attrs.frozen
class AttachmentRecord:
    """A file attached to a receipt or an invoice, with its decoded bytes."""

    WIRE_TYPE: ClassVar[str] = "ReceiptAttachment"
    WIRE_ALIASES: ClassVar[Mapping[str, str]] = {
        "ReceiptID": "document_id",
        "ActualFilename": "filename",
    }

    attachment_id: int
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

    @property
    def amazon_filename(self) -> str:
        """The storage key KashFlow reports beside the original name."""
        return f"{self.attachment_id}_{self.filename}"

    @property
    def file_url(self) -> str:
        """A download address in the fake's own (unreachable) domain."""
        return f"https://files.kashflow.fake/{self.attachment_id}/{self.filename}"


@attrs.frozen
class CallRecord:
    """One SOAP request the fake received.

    Attributes:
        operation: the operation named by SOAPAction or the body, or None when unknowable.
        params: the request's fields as plain Python values, without UserName, Password and
            AutoAuthKey.
        client_ip: the caller's IP as the fake saw it.
        http_status: the HTTP status answered, or None when no answer was sent (connection
            reset or dropped, or an in-process timeout).
        fault: the injected fault kind that fired for this call, or None.
        timestamp: when the call arrived (from the fake's clock).
        status: KashFlow's ``Status`` (``"OK"``/``"NO"``), None for faults and HTTP errors.
        status_detail: KashFlow's ``StatusDetail``, None when there was none.

    """

    operation: str | None
    params: Mapping[str, object]
    client_ip: str
    http_status: int | None
    fault: str | None
    timestamp: datetime
    status: str | None = None
    status_detail: str | None = None
