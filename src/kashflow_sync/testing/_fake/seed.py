"""Seed data: what every KashFlow account has, and a small realistic UK demo account."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from .contacts import Contacts
from .jsonio import call_with_json

__all__ = ["SEED_LISTS", "add_lists", "apply_seed", "seed_basics", "seed_demo"]

#: What a seed mapping may hold, in the order it is applied (codes before the bank accounts
#: that use them, contacts before their documents), and the fake method each item goes to.
SEED_LISTS: Mapping[str, str] = {
    "currencies": "add_currency",
    "vat_rates": "add_vat_rate",
    "nominal_codes": "add_nominal_code",
    "bank_accounts": "add_bank_account",
    "purchase_payment_methods": "add_purchase_payment_method",
    "sales_payment_methods": "add_sales_payment_method",
    "projects": "add_project",
    "suppliers": "add_supplier",
    "customers": "add_customer",
    "receipts": "add_receipt",
    "invoices": "add_invoice",
}


def apply_seed(ledger: Any, seed: Mapping[str, Any]) -> None:
    """Seed *ledger* from a JSON-shaped mapping, as ``kashflow-sync fake serve --seed`` does.

    ``base`` is ``"empty"`` (default: VAT rates and GBP only) or ``"demo"``. Every other key
    names a list (see :data:`SEED_LISTS`) whose items are keyword arguments of the matching
    ``add_...`` method (``{"name": "Acme", "code": "ACME01"}``), or a single value for its
    first argument (``"17.5"`` for a VAT rate, ``"Cash"`` for a payment method)::

        {"base": "demo",
         "suppliers": [{"name": "Northwind Traders", "code": "NORTH01"}],
         "nominal_codes": [{"code": 7100, "name": "Rent and rates"}],
         "receipts": [{"supplier": "NORTH01", "net": "100.00", "vat": "20.00"}]}

    Args:
        ledger: the fake to seed.
        seed: the mapping.

    Raises:
        ValueError: an unknown key or base, or a value the method refuses.
        TypeError: an item with arguments the method does not take.

    """
    base = seed.get("base", "empty")
    if base not in ("demo", "empty"):
        raise ValueError(f"seed base must be 'demo' or 'empty', not {base!r}")
    lists = {k: v for k, v in seed.items() if k != "base"}
    _check_keys(lists)
    if base == "demo":
        seed_demo(ledger)
    else:
        seed_basics(ledger)
    add_lists(ledger, lists)


def add_lists(ledger: Any, lists: Mapping[str, Any]) -> None:
    """Add the lists of a seed mapping (no ``base``) to an existing account.

    Raises:
        ValueError: an unknown key, or a value the method refuses.
        TypeError: an item with arguments the method does not take.

    """
    _check_keys(lists)
    for key, method_name in SEED_LISTS.items():
        items = lists.get(key) or []
        if not isinstance(items, list):
            raise ValueError(f"seed {key!r} must be a list")
        method: Callable[..., Any] = getattr(ledger, method_name)
        for item in items:
            if isinstance(item, Mapping):
                call_with_json(method, **item)
            else:
                call_with_json(method, item)


def seed_basics(ledger: Contacts) -> None:
    """What no KashFlow account is without: the UK VAT rates and GBP as home currency."""
    for rate in ("20", "5", "0", "-1"):
        ledger.add_vat_rate(Decimal(rate))
    ledger.add_currency("GBP", Decimal(1), default=True)


def seed_demo(ledger: Contacts) -> None:
    """A small UK business: chart of accounts, banks, payment methods, contacts, projects."""
    seed_basics(ledger)
    ledger.add_currency("EUR", Decimal("1.1700"))
    ledger.add_currency("USD", Decimal("1.2700"))
    for code, name, classification, archived in (
        (1200, "Bank current account", 5, False),
        (1210, "Bank deposit account", 5, False),
        (4000, "Sales", 1, False),
        (4900, "Other income", 1, False),
        (5000, "Purchases", 2, False),
        (7400, "Travel", 3, False),
        (7500, "Printing postage and stationery", 3, False),
        (7502, "Telephone", 3, False),
        (7600, "Legal fees", 3, False),
        (8200, "Donations", 3, True),
    ):
        ledger.add_nominal_code(
            code, name, classification, archived, type_id=3 if classification == 5 else None
        )
    ledger.add_bank_account("Current account", 1200)
    ledger.add_bank_account("Deposit account", 1210)
    for name in ("Cash", "Cheque", "Credit card", "BACS"):
        ledger.add_payment_method("receipt", name)
    for name in ("Cash", "Cheque", "BACS", "Card"):
        ledger.add_payment_method("invoice", name)
    ledger.add_supplier(
        "Acme Paper Ltd",
        "ACME01",
        email="accounts@acmepaper.example",
        VATNumber="GB123456789",
        Address1="1 Mill Lane",
        Address2="Leeds",
        PostCode="LS1 1AA",
    )
    ledger.add_supplier("Office Supplies Co", "OFFICE01", email="sales@officesupplies.example")
    ledger.add_supplier("City Rail Ltd", "RAIL01")
    ledger.add_customer(
        "Bloggs & Co",
        "BLOGGS01",
        email="joe@bloggs.example",
        Address1="2 High Street",
        Postcode="M1 2BB",
    )
    ledger.add_customer("Smith Widgets Ltd", "SMITH01", payment_terms=30)
    ledger.add_project(1, "Website redesign", 1, reference="WEB")
    ledger.add_project(2, "Office move", 0, reference="MOVE")
    ledger.add_project(3, "Old client work", 2, reference="OLD")


def _check_keys(lists: Mapping[str, Any]) -> None:
    unknown = sorted(set(lists) - set(SEED_LISTS))
    if unknown:
        raise ValueError(f"unknown seed list(s) {unknown}; known: {', '.join(SEED_LISTS)}")
