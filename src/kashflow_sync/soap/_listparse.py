"""Fast readers for KashFlow's full-list responses, straight from the lxml tree.

zeep's generic deserializer builds an object for every element of every item; a list of 20,000
suppliers costs several times more that way than parsing the XML. These readers visit only the
fields the models keep (lxml filters the children in C) and build the models directly.

Values KashFlow may extend are kept raw; a value that cannot be read (a non-numeric id, say)
skips that one item with a warning rather than failing the sync.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import attrs
from lxml import etree

from .._account.items import (
    BankAccount,
    Currency,
    Customer,
    ListItem,
    NominalCode,
    PaymentMethod,
    Project,
    Supplier,
    VatRate,
)
from .records import LedgerDocument

__all__ = [
    "LIST_SPECS",
    "ListSpec",
    "document_header_reader",
    "item_reader",
    "read_items",
    "spec_reader",
]

log = logging.getLogger("kashflow_sync")

T = TypeVar("T")

NS = "{KashFlow}"


def _text(value: str | None) -> str:
    return value or ""


def _int(value: str | None) -> int:
    return int(value) if value else 0


def _dec(value: str | None) -> Decimal:
    try:
        return Decimal(value) if value else Decimal(0)
    except InvalidOperation:
        raise ValueError(f"not a decimal: {value!r}") from None


def _opt_dec(value: str | None) -> Decimal | None:
    return _dec(value) if value else None


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1")


def _datetime(value: str | None) -> datetime | None:
    if not value or value.startswith("0001-01-01"):
        return None
    try:
        return datetime.fromisoformat(value.rstrip("Z"))
    except ValueError:
        return None


@attrs.frozen
class ListSpec:
    """How to read one list: the operation, its item element and field -> (attribute, reader)."""

    operation: str
    item: str
    fields: Mapping[str, tuple[str, Callable[[str | None], Any]]]
    build: Callable[..., ListItem]
    params: Mapping[str, Any] = attrs.field(factory=dict)
    fixed: Mapping[str, Any] = attrs.field(factory=dict)


def _vat_rate(**kw: Any) -> VatRate:
    return VatRate(**kw)


def _project(**kw: Any) -> Project:
    return Project(archived=kw.get("status") == 2, **kw)


_CONTACT_FIELDS: Mapping[str, tuple[str, Callable[[str | None], Any]]] = {
    "Code": ("code", _text),
    "Name": ("name", _text),
    "Email": ("email", _text),
    "VATNumber": ("vat_number", _text),
    "CurrencyID": ("currency_id", _int),
    "PaymentTerms": ("payment_terms", _int),
    "Updated": ("updated", _datetime),
}

LIST_SPECS: Mapping[str, ListSpec] = {
    "nominal_codes": ListSpec(
        "GetNominalCodesExtended",
        "NominalCodeExtended",
        {
            "id": ("kashflow_id", _int),
            "Code": ("code", _int),
            "Name": ("name", _text),
            "TypeID": ("type_id", _int),
            "TypeName": ("type_name", _text),
            "ClassificationID": ("classification_id", _int),
            "ClassificationName": ("classification_name", _text),
            "VATRate": ("vat_rate", _opt_dec),
            "Archived": ("archived", _bool),
        },
        NominalCode,
    ),
    "suppliers": ListSpec(
        "GetSuppliers",
        "Supplier",
        {"SupplierID": ("kashflow_id", _int), **_CONTACT_FIELDS},
        Supplier,
    ),
    "customers": ListSpec(
        "GetCustomers",
        "Customer",
        {"CustomerID": ("kashflow_id", _int), **_CONTACT_FIELDS},
        Customer,
    ),
    "projects": ListSpec(
        "GetProjects_Full",
        "Project",
        {
            "ID": ("kashflow_id", _int),
            "Number": ("number", _int),
            "Name": ("name", _text),
            "Reference": ("reference", _text),
            "CustomerID": ("customer_id", _int),
            "Status": ("status", _int),
        },
        _project,
        params={"ProjStatus": -1},
    ),
    "purchase_payment_methods": ListSpec(
        "GetRecPayMethods",
        "PaymentMethod",
        {"MethodID": ("kashflow_id", _int), "MethodName": ("name", _text)},
        PaymentMethod,
    ),
    "sales_payment_methods": ListSpec(
        "GetInvPayMethods",
        "PaymentMethod",
        {"MethodID": ("kashflow_id", _int), "MethodName": ("name", _text)},
        PaymentMethod,
    ),
    "bank_accounts": ListSpec(
        "GetBankAccounts",
        "BankAccount",
        {
            "AccountID": ("kashflow_id", _int),
            "AccountName": ("name", _text),
            "AccountCode": ("code", _int),
        },
        BankAccount,
    ),
    "vat_rates": ListSpec(
        "GetVATRates",
        "BasicDataset",
        {"ID": ("kashflow_id", _int), "Name": ("name", _text), "Value": ("rate", _dec)},
        _vat_rate,
    ),
    "currencies": ListSpec(
        "GetCurrencies",
        "Currencies",
        {
            "CurrencyId": ("kashflow_id", _int),
            "CurrencyCode": ("code", _text),
            "ExchangeRate": ("exchange_rate", _dec),
            "isDefault": ("is_default", _bool),
        },
        Currency,
    ),
}


def item_reader(
    item_tag: str,
    fields: Mapping[str, tuple[str, Callable[[str | None], Any]]],
    build: Callable[..., T],
    where: str,
) -> Callable[[etree._Element], T | None]:
    """A reader of one ``<item_tag>`` element into a *build*, from the *fields* only.

    lxml filters the children to the wanted tags in C; an element KashFlow omitted (null)
    reads as its empty value; an item that cannot be read gives None, with a warning.
    """
    readers = {NS + tag: reader for tag, reader in fields.items()}
    wanted = tuple(readers)
    defaults = {attr: convert(None) for attr, convert in fields.values()}

    def read(item: etree._Element) -> T | None:
        values = defaults.copy()
        attr = "?"
        try:
            for child in item.iterchildren(*wanted):
                attr, convert = readers[child.tag]
                values[attr] = convert(child.text)
            attr = "?"
            return build(**values)
        except _UNREADABLE as exc:
            # The value itself is not logged: KashFlow's words may quote the password.
            log.warning(
                "skipped an unreadable %s in %s: its %s could not be read (%s)",
                item_tag,
                where,
                attr,
                type(exc).__name__,
            )
            return None

    return read


# What reading one item's values can raise (a value of the wrong type, out of range...).
_UNREADABLE = (ValueError, TypeError, ArithmeticError, LookupError)


def spec_reader(spec: ListSpec) -> Callable[[etree._Element], ListItem | None]:
    """The reader of one item of the list *spec* describes."""
    return item_reader(spec.item, spec.fields, spec.build, spec.operation)


def read_items(result: etree._Element, spec: ListSpec) -> Iterator[ListItem]:
    """Yield the models in a ``<…Result>`` element, reading only the spec's fields."""
    read = spec_reader(spec)
    for item in result.iterchildren(NS + spec.item):
        value = read(item)
        if value is not None:
            yield value


def _date(value: str | None) -> date | None:
    stamp = _datetime(value)
    return stamp.date() if stamp else None


#: ``Invoice`` fields a list lookup reads: what the ledger checks compare (contact, reference,
#: date, totals) and the ids. A supplier's receipts can run to thousands, each with its lines;
#: reading fewer fields keeps the shared duplicate lookup cheap.
_DOCUMENT_FIELDS: Mapping[str, tuple[str, Callable[[str | None], Any]]] = {
    "InvoiceDBID": ("kashflow_id", _int),
    "InvoiceNumber": ("number", _int),
    "InvoiceDate": ("issue_date", _date),
    "CustomerID": ("contact_id", _int),
    "CustomerReference": ("reference", _text),
    "NetAmount": ("net", _dec),
    "VATAmount": ("vat", _dec),
}


def document_header_reader() -> Callable[[etree._Element], LedgerDocument | None]:
    """A reader of one ``Invoice`` of an ``ArrayOfInvoice`` result, its header only.

    A supplier can have thousands of receipts, and the publisher looks them up before a
    document's first send: reading only the header fields keeps that lookup cheap. A document
    without a number (KashFlow's empty "not found" object) reads as None.
    """
    read = item_reader("Invoice", _DOCUMENT_FIELDS, LedgerDocument, "a document lookup")

    def header(item: etree._Element) -> LedgerDocument | None:
        found = read(item)
        return found if found is not None and found.number > 0 else None

    return header
