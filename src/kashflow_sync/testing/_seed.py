"""Seed data: what every KashFlow account has, and a small realistic UK demo account."""

from __future__ import annotations

from decimal import Decimal

from ._contacts import Contacts

__all__ = ["seed_basics", "seed_demo"]


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
