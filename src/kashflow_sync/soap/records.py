"""What the SOAP layer hands upward about documents already in KashFlow (plain attrs values)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import attrs

__all__ = ["LedgerAttachment", "LedgerDocument", "LedgerLine", "LedgerPayment"]


@attrs.frozen
class LedgerLine:
    """One line of a receipt or invoice as KashFlow holds it."""

    description: str
    quantity: Decimal
    rate: Decimal
    charge_type: int
    vat_rate: Decimal
    vat_amount: Decimal
    project_id: int = 0


@attrs.frozen(kw_only=True)
class LedgerDocument:
    """A receipt (purchase) or sales invoice as KashFlow holds it.

    From a list lookup (a contact's documents, the recent ones) only the header fields the
    ledger checks use are read; ``due_date``, ``amount_paid``, ``project_id``, ``currency`` and
    ``lines`` are filled only by a single-document read.
    """

    kashflow_id: int
    number: int
    issue_date: date | None
    contact_id: int
    reference: str
    net: Decimal
    vat: Decimal
    due_date: date | None = None
    amount_paid: Decimal = Decimal(0)
    project_id: int = 0
    currency: str = ""
    lines: tuple[LedgerLine, ...] = ()

    @property
    def gross(self) -> Decimal:
        """Net plus VAT."""
        return self.net + self.vat


@attrs.frozen
class LedgerPayment:
    """A payment recorded against a receipt or invoice."""

    kashflow_id: int
    document_number: int
    paid_on: date | None
    method_id: int
    account_id: int
    amount: Decimal
    note: str = ""


@attrs.frozen
class LedgerAttachment:
    """A file attached to a receipt."""

    kashflow_id: int
    filename: str
    content_type: str
    size: str = ""
