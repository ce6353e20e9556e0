"""Duplicate checking per supplier and customer: ``Rule(check_duplicates=False)``."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

import kashflow_sync as kfs
from _clients import KINDS, any_client
from _lists_fixtures import clean_purchase
from kashflow_sync import errors
from kashflow_sync._convert import structure_rule, unstructure_rule
from kashflow_sync._documents.rules import apply_rule
from kashflow_sync.testing import FakeKashFlow

RULE_OFF = kfs.Rule(category=7500, check_duplicates=False)


def monthly(month: int, supplier: str = "Acme Paper Ltd") -> kfs.PurchaseInvoice:
    """The same standing charge every month: one reference, one total (Dext: a fixed reference)."""
    return kfs.PurchaseInvoice(
        external_id=f"{supplier[:4]}-{month}",
        supplier=supplier,
        reference="MONTHLY-FEE",
        issue_date=date(2026, month, 1),
        lines=[kfs.Line(net=Decimal("100.00"), vat_rate=Decimal("20"), category=7500)],
    )


@pytest.mark.parametrize("kind", KINDS)
def test_rule_off_publishes_documents_sharing_reference_and_total(
    kind: str, fake: FakeKashFlow
) -> None:
    """A supplier whose rule turns the check off gets both months' documents published."""
    with any_client(kind, fake) as client:
        client.connect()
        client.rules.set_supplier_rule("Acme Paper Ltd", RULE_OFF)
        first, second = client.publish(monthly(10)), client.publish(monthly(11))
    assert (first.status, second.status) == ("published", "published")
    assert first.number != second.number
    assert [r.customer_reference for r in fake.receipts] == ["MONTHLY-FEE", "MONTHLY-FEE"]


@pytest.mark.parametrize("kind", KINDS)
def test_other_suppliers_keep_the_check(kind: str, fake: FakeKashFlow) -> None:
    """Another supplier's second document with the same reference and total is refused."""
    supplier = "Office Supplies Co"
    with any_client(kind, fake) as client:
        client.connect()
        client.rules.set_supplier_rule("Acme Paper Ltd", RULE_OFF)
        client.publish(monthly(10, supplier))
        assert [p.code for p in client.validate(monthly(11, supplier))] == ["duplicate_in_ledger"]
        with pytest.raises(errors.ValidationError) as info:
            client.publish(monthly(11, supplier))
    assert [p.code for p in info.value.problems] == ["duplicate_in_ledger"]
    assert len(fake.receipts) == 1


@pytest.mark.parametrize(("rule", "published"), [(RULE_OFF, True), (kfs.Rule(), False)])
def test_ledger_lookup_before_sending_follows_the_rule(
    fake: FakeKashFlow, rule: kfs.Rule, published: bool
) -> None:
    """A copy keyed into KashFlow by hand stops the document unless the rule turns checks off."""
    with any_client("sync", fake) as client:
        client.connect()
        client.rules.set_supplier_rule("Acme Paper Ltd", rule)
        fake.add_receipt(
            "Acme Paper Ltd",
            net=Decimal("100.00"),
            vat=Decimal("20.00"),
            nominal_code=7500,
            reference="MONTHLY-FEE",
            issue_date=date(2026, 9, 1),
        )
        fake.reset_calls()
        if published:
            assert client.publish(monthly(10)).status == "published"
        else:
            with pytest.raises(errors.ValidationError):
                client.publish(monthly(10))
    looked = "GetReceiptsForSupplier" in [c.operation for c in fake.calls]
    assert looked is not published
    assert len(fake.receipts) == (2 if published else 1)


def test_resolve_explains_who_turned_the_check_off(client: kfs.KashFlowClient) -> None:
    """resolve() says the supplier rule switched duplicate checking off, and for whom."""
    client.rules.set_supplier_rule("ACME01", RULE_OFF)
    resolved = client.resolve(monthly(10))
    assert resolved.check_duplicates is False
    assert resolved.explain["check_duplicates"] == "supplier rule: ACME01"
    other = client.resolve(monthly(10, "Office Supplies Co"))
    assert other.check_duplicates is True and "check_duplicates" not in other.explain


def test_rule_without_the_field_keeps_checking() -> None:
    """Rules default to checking: apply_rule with a plain rule leaves the check on."""
    resolved = apply_rule(clean_purchase(), kfs.Rule(category=7500), "supplier rule: Acme")
    assert resolved.check_duplicates is True and "check_duplicates" not in resolved.explain


def test_check_duplicates_must_be_a_bool() -> None:
    """A value other than True or False is refused at construction."""
    with pytest.raises(TypeError):
        kfs.Rule(check_duplicates="off")  # type: ignore[arg-type]


def test_rule_survives_json_with_the_field() -> None:
    """The stored form keeps check_duplicates=False."""
    assert structure_rule(json.loads(json.dumps(unstructure_rule(RULE_OFF)))) == RULE_OFF


def test_rule_stored_before_the_field_existed_still_loads(tmp_path: Path) -> None:
    """A rule row written by an earlier version (no check_duplicates key) loads, checking on."""
    url = f"sqlite:///{tmp_path}/kf.db"
    with kfs.SQLStorage(url) as storage:
        storage.set_rule("c1", "supplier", "Acme Paper Ltd", kfs.Rule(category=7500))
    old = {
        "category": 7500,
        "vat_rate": None,
        "project": None,
        "payment_method": None,
        "bank_account": None,
        "description": None,
        "due_days": None,
    }
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE kashflow_sync_rules SET rule = :r"), {"r": json.dumps(old)})
    engine.dispose()
    with kfs.SQLStorage(url) as storage:
        loaded = storage.get_rule("c1", "supplier", "Acme Paper Ltd")
    assert loaded == kfs.Rule(category=7500) and loaded.check_duplicates is True
