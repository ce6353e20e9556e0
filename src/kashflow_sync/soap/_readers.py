"""Reading zeep's plain-dict answers into the SOAP layer's records (a document, its lines).

The single-document and payment lookups are small and read through zeep's deserializer; the
list lookups have their own fast readers in :mod:`._listparse`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from lxml import etree
from zeep import helpers as zeep_helpers

from .records import LedgerDocument, LedgerLine

__all__ = ["as_date", "decimal", "document", "items"]


def as_date(value: Any) -> date | None:
    """*value* as a date; None for none (KashFlow writes "no date" as year 1)."""
    if isinstance(value, datetime):
        return None if value.year <= 1 else value.date()
    if isinstance(value, date):
        return value
    return None


def decimal(value: Any) -> Decimal:
    """*value* as a Decimal; 0 where KashFlow left it out."""
    if value is None:
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def items(data: Any, key: str) -> Iterator[Mapping[str, Any]]:
    """The items of an ``ArrayOf…`` value: None, one item or a list of them."""
    if not data:
        return
    value = data.get(key) if isinstance(data, Mapping) else data
    if value is None:
        return
    if isinstance(value, Mapping):
        yield value
        return
    yield from (v for v in value if v is not None)


def _line(value: Any) -> LedgerLine:
    if isinstance(value, etree._Element):
        value = {etree.QName(c).localname: c.text for c in value}
    elif not isinstance(value, Mapping):
        value = zeep_helpers.serialize_object(value, dict)  # type: ignore[no-untyped-call]
    return LedgerLine(
        description=value.get("Description") or "",
        quantity=decimal(value.get("Quantity")),
        rate=decimal(value.get("Rate")),
        charge_type=int(value.get("ChargeType") or 0),
        vat_rate=decimal(value.get("VatRate")),
        vat_amount=decimal(value.get("VatAmount")),
        project_id=int(value.get("ProjID") or 0),
    )


def document(data: Mapping[str, Any]) -> LedgerDocument:
    """A receipt or invoice, lines included, from zeep's reading of a single-document answer."""
    raw_lines = data.get("Lines") or {}
    lines = raw_lines.get("anyType") if isinstance(raw_lines, Mapping) else raw_lines
    if lines is None:
        lines = []
    elif not isinstance(lines, list):
        lines = [lines]
    return LedgerDocument(
        kashflow_id=int(data.get("InvoiceDBID") or 0),
        number=int(data.get("InvoiceNumber") or 0),
        issue_date=as_date(data.get("InvoiceDate")),
        due_date=as_date(data.get("DueDate")),
        contact_id=int(data.get("CustomerID") or 0),
        reference=data.get("CustomerReference") or "",
        net=decimal(data.get("NetAmount")),
        vat=decimal(data.get("VATAmount")),
        amount_paid=decimal(data.get("AmountPaid")),
        project_id=int(data.get("ProjectID") or 0),
        currency=data.get("CurrencyCode") or "",
        lines=tuple(_line(v) for v in lines if v is not None),
    )
