"""Build ``Lists`` from plain list items, through a MemoryStorage, for rule and validation tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import attrs

from kashflow_sync._account.items import (
    BankAccount,
    Currency,
    Customer,
    NominalCode,
    PaymentMethod,
    Project,
    Supplier,
    VatRate,
)
from kashflow_sync._account.lists import Lists, ListsSnapshot
from kashflow_sync._documents.model import (
    Attachment,
    Line,
    Payment,
    PurchaseCreditNote,
    PurchaseInvoice,
    SalesCreditNote,
    SalesInvoice,
)
from kashflow_sync.storage.memory import MemoryStorage

CONNECTION = "test-conn"

TURNOVER, COST_OF_SALE, EXPENSE, FIXED_ASSET = 1, 2, 3, 4


def standard_items() -> dict[str, Sequence[Any]]:
    """A small account: every list, with active, archived and removed items."""
    return {
        "nominal_codes": [
            NominalCode(1, 4000, "Sales", classification_id=TURNOVER),
            NominalCode(2, 5000, "Cost of sales", classification_id=COST_OF_SALE),
            NominalCode(3, 7500, "Printing and stationery", classification_id=EXPENSE),
            NominalCode(4, 7600, "Telephone (old)", archived=True, classification_id=EXPENSE),
            NominalCode(
                5, 7700, "Gone code", archived=True, removed=True, classification_id=EXPENSE
            ),
            NominalCode(6, 30, "Office equipment", classification_id=FIXED_ASSET),
            NominalCode(7, 8000, "Unclassified"),
        ],
        "suppliers": [
            Supplier(101, "ACME01", "Acme Paper Ltd"),
            Supplier(102, "OLD01", "Old Supplies", archived=True),
            Supplier(103, "GONE01", "Gone Supplies", archived=True, removed=True),
        ],
        "customers": [
            Customer(201, "BLOG01", "Bloggs & Co"),
            Customer(202, "SHUT01", "Shut Ltd", archived=True),
        ],
        "projects": [
            Project(301, 12, "Website"),
            Project(302, 13, "Closed job", archived=True, status=2),
        ],
        "purchase_payment_methods": [
            PaymentMethod(1, "Credit card"),
            PaymentMethod(2, "Cash"),
            PaymentMethod(9, "Cheque", archived=True, removed=True),
        ],
        "sales_payment_methods": [PaymentMethod(11, "BACS")],
        "bank_accounts": [
            BankAccount(501, "Current Account", 1200),
            BankAccount(502, "Old Account", 1210, archived=True, removed=True),
        ],
        "vat_rates": [
            VatRate(1, "20%", Decimal("20")),
            VatRate(2, "5%", Decimal("5")),
            VatRate(3, "0%", Decimal("0")),
            VatRate(4, "17.5%", Decimal("17.5"), archived=True, removed=True),
        ],
        "currencies": [
            Currency(1, "GBP", "Pound sterling", is_default=True),
            Currency(2, "EUR", "Euro"),
        ],
    }


def make_storage(items: dict[str, Sequence[Any]] | None = None) -> MemoryStorage:
    """A MemoryStorage holding *items* (default: :func:`standard_items`) for ``CONNECTION``."""
    storage = MemoryStorage()
    for name, values in (standard_items() if items is None else items).items():
        storage.replace_list(CONNECTION, name, values)
    return storage


def make_lists(items: dict[str, Sequence[Any]] | None = None) -> ListsSnapshot:
    """A snapshot of every list, taken through ``Lists`` over :func:`make_storage`."""
    return Lists(make_storage(items), CONNECTION).snapshot()


PDF = Attachment(filename="inv.pdf", content=b"%PDF-1.4 test", content_type="application/pdf")


def clean_purchase(**changes: Any) -> PurchaseInvoice:
    """A purchase that validates against :func:`standard_items`, with *changes* applied."""
    fields: dict[str, Any] = {
        "external_id": "item-42",
        "supplier": "Acme Paper Ltd",
        "reference": "INV-1001",
        "issue_date": date(2026, 11, 2),
        "lines": [
            Line(
                description="Paper",
                net=Decimal("100.00"),
                vat=Decimal("20.00"),
                vat_rate=Decimal("20"),
                category=7500,
            )
        ],
        "currency": "GBP",
        "attachment": PDF,
        "payment": Payment(method="Credit card", bank_account=1200, paid_on=date(2026, 11, 3)),
    }
    fields.update(changes)
    return PurchaseInvoice(**fields)


def clean_sale(**changes: Any) -> SalesInvoice:
    """A sales invoice that validates against :func:`standard_items`, with *changes* applied."""
    fields: dict[str, Any] = {
        "external_id": "s-7",
        "customer": "Bloggs & Co",
        "reference": "PO-77",
        "issue_date": date(2026, 11, 2),
        "lines": [
            Line(
                description="Consulting",
                net=Decimal("500.00"),
                vat=Decimal("100.00"),
                vat_rate=Decimal("20"),
                category=4000,
                project=12,
            )
        ],
        "payment": Payment(method="BACS", bank_account="Current Account"),
    }
    fields.update(changes)
    return SalesInvoice(**fields)


def clean_sales_credit_note(**changes: Any) -> SalesCreditNote:
    """A sales credit note (crediting ``s-7``) that validates, with *changes* applied."""
    fields = attrs.asdict(clean_sale(), recurse=False)
    del fields["kind"]
    fields.update(external_id="s-8", reference="CR-8", payment=None, credits="s-7")
    fields.update(changes)
    return SalesCreditNote(**fields)


def clean_purchase_credit_note(**changes: Any) -> PurchaseCreditNote:
    """A supplier credit note that validates, with *changes* applied."""
    fields = attrs.asdict(clean_purchase(), recurse=False)
    del fields["kind"]
    fields.update(external_id="p-cn-1", reference="CN-55")
    fields.update(changes)
    return PurchaseCreditNote(**fields)


def line(**changes: Any) -> Line:
    """The clean purchase's line with *changes* applied."""
    fields: dict[str, Any] = {
        "description": "Paper",
        "net": Decimal("100.00"),
        "vat": Decimal("20.00"),
        "vat_rate": Decimal("20"),
        "category": 7500,
    }
    fields.update(changes)
    return Line(**fields)
