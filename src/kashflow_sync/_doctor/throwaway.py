"""What ``doctor --probe-writes`` makes: a throwaway supplier or customer, and its documents.

Everything the probe writes hangs off a contact it creates for the purpose (a supplier for
receipts, a customer for invoices and credit notes), so the cleanup can find all of it from
KashFlow itself, even a document whose creation answer was lost. A :class:`Throwaway` is one
such contact with what the probe knows of it; the functions here create it and its documents
the same careful way on either side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import attrs

from ..soap import operations
from ..soap.records import LedgerDocument
from .session import DoctorSession, Exchange

__all__ = [
    "WORDS",
    "Side",
    "Throwaway",
    "Words",
    "create_contact",
    "insert",
    "read_back",
    "vat_of",
]

Side = Literal["purchase", "sales"]
_CENT = Decimal("0.01")


def vat_of(net: Decimal, rate: Decimal) -> Decimal:
    """The VAT on *net* at *rate* percent, to the penny (0 for a rate of 0 or exempt)."""
    return (net * rate / 100).quantize(_CENT, ROUND_HALF_UP) if rate > 0 else Decimal("0.00")


@attrs.frozen
class Words:
    """How KashFlow (and the report) names one side's things."""

    contact: str
    contacts_page: str
    document: str
    documents_page: str


WORDS: Mapping[Side, Words] = {
    "purchase": Words("supplier", "Suppliers", "receipt", "Purchases"),
    "sales": Words("customer", "Customers", "invoice", "Invoices"),
}


@attrs.define
class Throwaway:
    """A contact the probe creates, and the numbers of the documents it made on it.

    Attributes:
        side: ``"purchase"`` (a supplier) or ``"sales"`` (a customer).
        name: its made-up name, unique per run.
        kashflow_id: its id once KashFlow answered, else None.
        unknown: its creation went unanswered (or was interrupted): it may exist.
        code: the code KashFlow gave it (none is sent), once a document of it was read.
        documents: the numbers of the documents made on it, in the order made.

    """

    side: Side
    name: str
    kashflow_id: int | None = None
    unknown: bool = False
    code: str = ""
    documents: list[int] = attrs.Factory(list)

    @property
    def words(self) -> Words:
        """The side's names for things."""
        return WORDS[self.side]


def create_contact(session: DoctorSession, contact: Throwaway) -> Exchange[int]:
    """Create *contact* without a Code; its id is set when KashFlow answers one.

    Until the answer is in, the contact may exist: Ctrl-C, or an answer lost on the way,
    leave it ``unknown`` for the cleanup to report.
    """
    contact.unknown = True
    made = session.exchange(operations.insert_contact(contact.side, contact.name))
    error = made.error
    contact.unknown = error is not None and made.status is None and error.request_sent
    if error is None:
        contact.kashflow_id = made.value()
    return made


def insert(
    session: DoctorSession,
    contact: Throwaway,
    *,
    reference: str,
    today: date,
    lines: Sequence[Mapping[str, Any]],
    currency: str | None = None,
    exchange_rate: Decimal | None = None,
) -> Exchange[int]:
    """Create a receipt or invoice of *contact*; its number joins ``contact.documents``.

    A failed insert is not recorded: a refusal made nothing, and a lost answer's document (if
    it landed) is found by the cleanup through the contact.
    """
    assert contact.kashflow_id is not None
    issued = datetime(today.year, today.month, today.day)
    header: dict[str, Any] = {
        "CustomerID": contact.kashflow_id,
        "CustomerReference": reference,
        "InvoiceDate": issued,
        "DueDate": issued,
    }
    if currency:
        header["CurrencyCode"] = currency
    if exchange_rate:
        header["ExchangeRate"] = exchange_rate
    sent = session.exchange(operations.insert_document(contact.side, header, lines))
    if sent.error is None:
        contact.documents.append(sent.value())
    return sent


def read_back(
    session: DoctorSession, contact: Throwaway, number: int
) -> Exchange[LedgerDocument | None]:
    """Read document *number* of *contact* back; learn the contact's code from it."""
    found = session.exchange(operations.get_document(contact.side, number))
    if found.answer is not None and found.result is not None and not contact.code:
        # The code KashFlow gave the contact (none was sent): the document names it, and it
        # is how the cleanup can look the contact up to check it is gone.
        contact.code = (found.answer.findtext(".//{KashFlow}Customer") or "").strip()
    return found
