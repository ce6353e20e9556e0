"""The fake's records speak the SDK's words; KashFlow's wire names stay as aliases."""

from __future__ import annotations

import base64
from datetime import date, datetime
from decimal import Decimal

import attrs
import pytest

from kashflow_sync.testing import FakeKashFlow
from kashflow_sync.testing._fake.alias import Alias


@pytest.fixture(scope="module")
def fake() -> FakeKashFlow:
    fake = FakeKashFlow(clock=lambda: datetime(2026, 11, 5, 10, 30))
    receipt = fake.add_receipt(
        "ACME01",
        net=Decimal("10.00"),
        vat=Decimal("2.00"),
        reference="INV-1",
        issue_date=datetime(2026, 11, 2),
        nominal_code=7500,
    )
    account = fake.bank_accounts[0].kashflow_id
    fake._post_payment(
        "receipt",
        {
            "PayInvoice": receipt.number,
            "PayDate": datetime(2026, 11, 3),
            "PayMethod": fake.purchase_payment_methods[0].kashflow_id,
            "PayAccount": account,
            "PayAmount": Decimal("12.00"),
            "PayNote": "card",
        },
    )
    fake._attach(
        "receipt",
        receipt.number,
        {"Filename": "a.pdf", "Base64String": base64.b64encode(b"x").decode()},
    )
    return fake


ALIASES = [
    ("receipts", "kashflow_id", ("invoice_dbid", "dbid")),
    ("receipts", "number", ("invoice_number",)),
    ("receipts", "reference", ("customer_reference",)),
    ("receipts", "contact_id", ("customer_id",)),
    ("receipts", "contact_code", ("customer",)),
    ("receipts", "contact_name", ("customer_name",)),
    ("receipts", "net", ("net_amount",)),
    ("receipts", "vat", ("vat_amount",)),
    ("receipts", "gross", ("gross_amount",)),
    ("receipts", "currency", ("currency_code",)),
    ("payments", "kashflow_id", ("pay_id",)),
    ("payments", "document_number", ("pay_invoice",)),
    ("payments", "method_id", ("pay_method",)),
    ("payments", "account_id", ("pay_account",)),
    ("payments", "amount", ("pay_amount",)),
    ("payments", "note", ("pay_note",)),
    ("attachments", "kashflow_id", ("attachment_id",)),
    ("suppliers", "kashflow_id", ("supplier_id",)),
    ("customers", "kashflow_id", ("customer_id",)),
    ("nominal_codes", "kashflow_id", ("id",)),
    ("projects", "kashflow_id", ("id",)),
    ("vat_rates", "kashflow_id", ("id",)),
    ("vat_rates", "rate", ("value",)),
    ("currencies", "kashflow_id", ("currency_id",)),
    ("currencies", "code", ("currency_code",)),
    ("bank_accounts", "kashflow_id", ("account_id",)),
    ("bank_accounts", "name", ("account_name",)),
    ("bank_accounts", "code", ("account_code",)),
    ("purchase_payment_methods", "kashflow_id", ("method_id",)),
    ("purchase_payment_methods", "name", ("method_name",)),
]


@pytest.mark.parametrize(("collection", "name", "aliases"), ALIASES)
def test_wire_names_read_the_sdk_named_attribute(
    fake: FakeKashFlow, collection: str, name: str, aliases: tuple[str, ...]
) -> None:
    """Each wire name is an alias of the SDK-named attribute of the same record."""
    record = getattr(fake, collection)[0]
    for alias in aliases:
        assert getattr(record, alias) == getattr(record, name), alias


def test_receipt_reads_like_the_sdks_document(fake: FakeKashFlow) -> None:
    """reference, number, issue_date, net, vat and gross as the SDK names them."""
    receipt = fake.receipts[0]
    assert (receipt.reference, receipt.number, receipt.issue_date) == (
        "INV-1",
        1,
        date(2026, 11, 2),
    )
    assert (receipt.net, receipt.vat, receipt.gross) == (
        Decimal("10.00"),
        Decimal("2.00"),
        Decimal("12.00"),
    )
    assert (fake.payments[0].paid_on, fake.payments[0].amount) == (
        date(2026, 11, 3),
        Decimal("12.00"),
    )


def test_line_wire_names_are_aliases(fake: FakeKashFlow) -> None:
    """A line's LineID, VatAmount and ProjID read kashflow_id, vat and project_id."""
    line = fake.receipts[0].lines[0]
    assert (line.line_id, line.vat_amount, line.proj_id) == (line.kashflow_id, line.vat, 0)


def test_reprs_and_fields_use_the_sdk_words(fake: FakeKashFlow) -> None:
    """Fields (and so reprs and JSON) say reference and number, not the wire names."""
    names = [f.name for f in attrs.fields(type(fake.receipts[0]))]
    assert {"reference", "number", "kashflow_id"} <= set(names)
    assert "customer_reference" not in names and "reference='INV-1'" in repr(fake.receipts[0])


def test_alias_is_read_only_and_documented() -> None:
    """An alias cannot be assigned (records are frozen) and says what it reads."""
    from kashflow_sync.testing import DocumentRecord

    alias = DocumentRecord.customer_reference
    assert isinstance(alias, Alias) and "reference" in (alias.__doc__ or "")
