"""A resolved document -> the values KashFlow's Invoice, InvoiceLine and Payment types want.

Pure functions over values: lists come in, plain dicts go out; the SOAP layer adds the
required-element defaults and the ``xsi:type`` on lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from decimal import Decimal
from typing import Any, Literal

from .. import errors
from .._account.lists import ListsSnapshot
from .._documents.amounts import SAFE_RATE_DECIMALS, line_wire_values
from .._documents.model import Document, Problem
from .._documents.problems import STALE_LISTS

__all__ = ["CreditForm", "document_header", "document_lines", "payment_ids"]

#: Where a credit note's minus goes on each line: on the unit ``Rate`` or on the ``Quantity``
#: (the VAT amount is negative either way). KashFlow's help puts "a minus in front of the line
#: item total"; which field it wants over SOAP is not documented (see ``AccountFacts``).
CreditForm = Literal["rate", "quantity"]


def _stale(document: Document, field: str, what: str) -> None:
    raise errors.ValidationError(
        [
            Problem(
                code=STALE_LISTS,
                field=field,
                message=f"{what} is no longer in the synced lists",
                remedy="Refresh the lists and validate the document again.",
            )
        ],
        external_id=document.external_id,
    )


def document_lines(
    document: Document,
    lists: ListsSnapshot,
    rate_decimals: int = SAFE_RATE_DECIMALS,
    credit_form: CreditForm = "rate",
) -> list[dict[str, Any]]:
    """The document's lines as ``InvoiceLine`` values (nominal and project ids resolved).

    Args:
        document: a validated, resolved document.
        lists: the lists it was validated against.
        rate_decimals: decimals of a unit rate the account keeps (see
            :func:`~kashflow_sync._documents.amounts.line_wire_values`).
        credit_form: for a credit note (its amounts positive, as printed), which field of
            each line carries the minus that makes KashFlow hold it negative.

    """
    foreign = _foreign_currency(document, lists)
    out: list[dict[str, Any]] = []
    for index, line in enumerate(document.lines):
        nominal = lists.nominal_codes.find(line.category) if line.category is not None else None
        if line.category is not None and nominal is None:
            # validate() reports this first; reaching here means the lists changed in between.
            _stale(document, f"lines[{index}].category", f"nominal code {line.category}")
        project = lists.projects.find(line.project) if line.project is not None else None
        wire = line_wire_values(line, rate_decimals)
        quantity, rate, vat = wire.quantity, wire.rate, wire.vat
        if document.sign < 0:
            # KashFlow holds a credit note as a document with negative lines: the net is
            # Quantity x Rate, so exactly one of them carries the minus; the VAT follows it.
            quantity, rate = (quantity, -rate) if credit_form == "rate" else (-quantity, rate)
            vat = -vat
        values: dict[str, Any] = {
            "Quantity": quantity,
            "Description": wire.description,
            "Rate": rate,
            # KashFlow wants the nominal's internal id here, not its visible code.
            "ChargeType": nominal.kashflow_id if nominal else 0,
            "VatRate": line.vat_rate if line.vat_rate is not None else Decimal(0),
            "VatAmount": vat,
            "ProjID": project.kashflow_id if project else 0,
            "Sort": index + 1,
        }
        if foreign:
            # Without it KashFlow reads the amounts as pounds and converts them again.
            values["ValuesInCurrency"] = 1
        out.append(values)
    return out


def _foreign_currency(document: Document, lists: ListsSnapshot) -> bool:
    """Whether the document is in a currency other than the account's own."""
    if not document.currency:
        return False
    currency = lists.currencies.find(document.currency)
    return currency is not None and not currency.is_default


def document_header(document: Document, lists: ListsSnapshot, contact_id: int) -> dict[str, Any]:
    """The ``Invoice`` header values for a receipt or sales invoice."""
    projects = {line.project for line in document.lines}
    project_id = 0
    if len(projects) == 1 and (number := projects.pop()) is not None:
        found = lists.projects.find(number)
        project_id = found.kashflow_id if found else 0
    assert document.issue_date is not None  # validation refuses a document without one
    due = document.due_date or document.issue_date
    header: dict[str, Any] = {
        # xsd:dateTime on the wire, midnight, no zone: as KashFlow writes its own dates.
        "InvoiceDate": datetime.combine(document.issue_date, time()),
        "DueDate": datetime.combine(due, time()),
        "CustomerID": contact_id,
        "CustomerReference": document.reference,
        "ProjectID": project_id,
        "ExchangeRate": Decimal(1),
    }
    if document.currency:
        currency = lists.currencies.find(document.currency)
        header["CurrencyCode"] = currency.code if currency else document.currency
        if currency is not None and not currency.is_default:
            header["ExchangeRate"] = currency.exchange_rate
    return header


def payment_ids(
    document: Document, lists: ListsSnapshot, *, refund_sign: int = -1
) -> Mapping[str, Any]:
    """Payment method id, bank account id, date and amount for the document's payment.

    On a credit note the payment is a refund; KashFlow records it with *refund_sign* (-1: a
    negative amount against the negative document, 1: a positive one).
    """
    payment = document.payment
    assert payment is not None and document.issue_date is not None
    method = lists.payment_method(document.kind, payment.method) if payment.method else None
    bank = lists.bank_account(payment.bank_account) if payment.bank_account else None
    if method is None:
        _stale(document, "payment.method", f"payment method {payment.method!r}")
    if bank is None:
        _stale(document, "payment.bank_account", f"bank account {payment.bank_account!r}")
    assert method is not None and bank is not None
    return {
        "method_id": method.kashflow_id,
        "account_id": bank.kashflow_id,
        "paid_on": payment.paid_on or document.issue_date,
        "amount": (payment.amount if payment.amount is not None else document.gross)
        * (refund_sign if document.sign < 0 else 1),
    }
