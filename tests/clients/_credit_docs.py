"""The credit-note tests' documents, shared by their tests and the subprocess worker."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import kashflow_sync as kfs

D = Decimal
CUSTOMER = "Bloggs & Co"
SUPPLIER = "Acme Paper Ltd"


def sale(i: int, prefix: str = "s") -> kfs.SalesInvoice:
    """A sales invoice of 100.00 + 20.00 VAT."""
    return kfs.SalesInvoice(
        external_id=f"{prefix}-inv-{i}",
        customer=CUSTOMER,
        reference=f"{prefix.upper()}-PO-{i}",
        issue_date=date(2026, 11, 2),
        lines=[kfs.Line(description="Work", net=D("100.00"), vat_rate=D(20), category=4000)],
    )


def sales_credit(
    i: int, prefix: str = "s", *, credits: str | int | None = None
) -> kfs.SalesCreditNote:
    """A customer credit note of 40.00 + 8.00 VAT crediting *prefix*-inv-*i* (by default)."""
    return kfs.SalesCreditNote(
        external_id=f"{prefix}-cn-{i}",
        customer=CUSTOMER,
        reference=f"{prefix.upper()}-CR-{i}",
        issue_date=date(2026, 11, 20),
        lines=[kfs.Line(description="Refund", net=D("40.00"), vat_rate=D(20), category=4000)],
        credits=credits if credits is not None else f"{prefix}-inv-{i}",
    )


def supplier_credit(i: int, prefix: str = "p", *, refund: bool = True) -> kfs.PurchaseCreditNote:
    """A supplier credit note of two lines (33.33 x 3 at 20%, 12.50 at 0%), with a file."""
    return kfs.PurchaseCreditNote(
        external_id=f"{prefix}-pcn-{i}",
        supplier=SUPPLIER,
        reference=f"{prefix.upper()}-CN-{i}",
        issue_date=date(2026, 11, 21),
        lines=[
            kfs.Line(
                description="Returned paper",
                net=D("99.99"),
                quantity=D(3),
                vat_rate=D(20),
                category=7500,
            ),
            kfs.Line(description="Fare refund", net=D("12.50"), vat_rate=D(0), category=7400),
        ],
        attachment=kfs.Attachment(f"cn-{i}.pdf", b"%PDF-1.4 credit " + str(i).encode()),
        payment=kfs.Payment(method="Credit card", bank_account=1200) if refund else None,
    )
