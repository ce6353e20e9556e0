"""What the fake ledger stores: frozen attrs records with Decimal money.

Attributes speak the SDK's words (``kashflow_id``, ``code``, ``name``, ``reference``,
``number``), as :mod:`kashflow_sync`'s own models do; KashFlow's wire names stay readable as
aliases (``supplier_id``, ``invoice_number``, ``customer_reference``...). ``WIRE_ALIASES`` tells
the renderer which attribute holds each WSDL element whose snake_case name is not an attribute,
so records map to the wire without per-type code. ``extra`` keeps optional text the fake only
stores and echoes back (addresses, contact names...), keyed by WSDL element name.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

import attrs

from ..._account.items import NOMINAL_CLASSIFICATIONS
from .alias import Alias
from .docrecords import (
    AttachmentRecord,
    DocumentKind,
    DocumentRecord,
    LineRecord,
    PaymentRecord,
)

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

_NOMINAL_TYPES: Mapping[int, str] = {
    1: "Sales Type",
    2: "Outgoing Type",
    3: "Bank Transaction Type",
}


def _frozen_mapping(value: Mapping[str, object] | None) -> Mapping[str, object]:
    return dict(value or {})


@attrs.frozen
class NominalCodeRecord:
    """A nominal code; ``kashflow_id`` is the internal id that lines' ``ChargeType`` wants."""

    WIRE_TYPE: ClassVar[str] = "NominalCodeExtended"
    WIRE_ALIASES: ClassVar[Mapping[str, str]] = {"id": "kashflow_id"}

    kashflow_id: int
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

    id = Alias[int]("kashflow_id")

    @property
    def classification_name(self) -> str:
        """KashFlow's name for the classification, e.g. ``"Expense"``."""
        return NOMINAL_CLASSIFICATIONS.get(self.classification_id, "")

    @property
    def type_name(self) -> str:
        """KashFlow's name for the nominal type, e.g. ``"Outgoing Type"``."""
        return _NOMINAL_TYPES.get(self.type_id, "")


@attrs.frozen
class _ContactRecord:
    """What suppliers and customers both have: identity, timestamps and trading terms."""

    kashflow_id: int
    code: str
    name: str
    created: datetime
    updated: datetime
    email: str | None = None
    vat_number: str | None = None
    currency_id: int = 0
    payment_terms: int = 0


@attrs.frozen
class SupplierRecord(_ContactRecord):
    """A supplier. Fields KashFlow has but the fake does not interpret live in ``extra``."""

    WIRE_TYPE: ClassVar[str] = "Supplier"
    WIRE_ALIASES: ClassVar[Mapping[str, str]] = {"SupplierID": "kashflow_id"}

    ec: int = 0
    trade_border_type: Decimal = Decimal(0)
    extra: Mapping[str, object] = attrs.field(factory=dict, converter=_frozen_mapping)

    supplier_id = Alias[int]("kashflow_id")


@attrs.frozen
class CustomerRecord(_ContactRecord):
    """A customer. Fields KashFlow has but the fake does not interpret live in ``extra``."""

    WIRE_TYPE: ClassVar[str] = "Customer"
    WIRE_ALIASES: ClassVar[Mapping[str, str]] = {"CustomerID": "kashflow_id"}

    discount: Decimal = Decimal(0)
    show_discount: bool = False
    ec: int = 0
    outside_ec: int = 0
    source: int = 0
    extra: Mapping[str, object] = attrs.field(factory=dict, converter=_frozen_mapping)

    customer_id = Alias[int]("kashflow_id")


@attrs.frozen
class ProjectRecord:
    """A project; ``status`` is 0 completed, 1 active, 2 archived."""

    WIRE_TYPE: ClassVar[str] = "Project"
    WIRE_ALIASES: ClassVar[Mapping[str, str]] = {"ID": "kashflow_id"}

    kashflow_id: int
    number: int
    name: str
    status: int = 1
    reference: str | None = None
    description: str | None = None
    date1: datetime | None = None
    date2: datetime | None = None
    customer_id: int = 0

    id = Alias[int]("kashflow_id")


@attrs.frozen
class VatRateRecord:
    """A VAT rate; ``rate`` is a percentage (20 means 20%, -1 exempt)."""

    WIRE_TYPE: ClassVar[str] = "BasicDataset"
    WIRE_ALIASES: ClassVar[Mapping[str, str]] = {"ID": "kashflow_id", "Value": "rate"}

    kashflow_id: int
    rate: Decimal

    id = Alias[int]("kashflow_id")
    value = Alias[Decimal]("rate")

    @property
    def name(self) -> str:
        """The rate as KashFlow shows it: ``"20%"``, ``"17.5%"``, or ``"N/A"`` for -1."""
        if self.rate == -1:
            return "N/A"
        text = format(self.rate.normalize(), "f")
        return f"{text}%"

    @property
    def description(self) -> str:
        """Same as ``name``; KashFlow fills both."""
        return self.name


@attrs.frozen
class CurrencyRecord:
    """A currency enabled on the account."""

    WIRE_TYPE: ClassVar[str] = "Currencies"
    WIRE_ALIASES: ClassVar[Mapping[str, str]] = {
        "CurrencyId": "kashflow_id",
        "CurrencyCode": "code",
    }

    kashflow_id: int
    code: str
    exchange_rate: Decimal = Decimal(1)
    is_default: bool = False

    currency_id = Alias[int]("kashflow_id")
    currency_code = Alias[str]("code")


@attrs.frozen
class BankAccountRecord:
    """A bank account; ``code`` is its nominal code (e.g. 1200)."""

    WIRE_TYPE: ClassVar[str] = "BankAccount"
    WIRE_ALIASES: ClassVar[Mapping[str, str]] = {
        "AccountID": "kashflow_id",
        "AccountName": "name",
        "AccountCode": "code",
    }

    kashflow_id: int
    name: str
    code: int

    account_id = Alias[int]("kashflow_id")
    account_name = Alias[str]("name")
    account_code = Alias[int]("code")


@attrs.frozen
class PaymentMethodRecord:
    """A payment method (purchase ones from GetRecPayMethods, sales from GetInvPayMethods)."""

    WIRE_TYPE: ClassVar[str] = "PaymentMethod"
    WIRE_ALIASES: ClassVar[Mapping[str, str]] = {"MethodID": "kashflow_id", "MethodName": "name"}

    kashflow_id: int
    name: str

    method_id = Alias[int]("kashflow_id")
    method_name = Alias[str]("name")


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
