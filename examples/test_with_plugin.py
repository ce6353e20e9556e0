"""An integration test of *your* code against the fake KashFlow, with the pytest plugin.

kashflow-sync's plugin is loaded automatically once the package is installed, giving the
``kashflow_fake`` and ``kashflow_client`` fixtures and the ``kashflow`` marker:

    python -m pytest examples/test_with_plugin.py
    python examples/test_with_plugin.py          # the same, through pytest.main

It needs pytest, which the ``examples`` extra installs (``pip install '.[examples]'`` from a
checkout).

``sync_expenses`` stands in for the host application's own code.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

import pytest

import kashflow_sync as kfs
from kashflow_sync import errors


def sync_expenses(client: kfs.KashFlowClient, expenses: Iterable[dict[str, str]]) -> list[str]:
    """The application code under test: publish expense rows, return the ids that failed."""
    documents = [
        kfs.PurchaseInvoice(
            external_id=row["id"],
            supplier=row["supplier"],
            reference=row["ref"],
            issue_date=date.fromisoformat(row["date"]),
            lines=[kfs.Line(description=row["what"], net=Decimal(row["net"]), category=7500)],
        )
        for row in expenses
    ]
    batch = client.publish_many(documents, concurrency=2)
    return [item.external_id for item in batch.failed]


EXPENSES = [
    {
        "id": f"exp-{n}",
        "supplier": "Acme Paper Ltd",
        "ref": f"A-{n}",
        "date": "2026-11-02",
        "what": "Paper",
        "net": "10.00",
    }
    for n in range(5)
]


@pytest.fixture
def with_rule(kashflow_client: kfs.KashFlowClient) -> kfs.KashFlowClient:
    kashflow_client.rules.set_supplier_rule("Acme Paper Ltd", kfs.Rule(vat_rate=Decimal("20")))
    return kashflow_client


def test_every_expense_lands_once(with_rule, kashflow_fake):
    assert sync_expenses(with_rule, EXPENSES) == []
    assert sync_expenses(with_rule, EXPENSES) == []  # a re-run creates nothing new
    assert len(kashflow_fake.receipts) == 5
    assert {r.vat_amount for r in kashflow_fake.receipts} == {Decimal("2.00")}


@pytest.mark.kashflow(preset="lost_responses")
def test_lost_answers_never_duplicate(with_rule, kashflow_fake):
    assert sync_expenses(with_rule, EXPENSES) == []
    assert len(kashflow_fake.receipts) == 5
    assert kashflow_fake.faults.fired, "the preset should have dropped some answers"


@pytest.mark.kashflow(faults=[("http_error", {"status": 503, "times": None})])
def test_kashflow_down_fails_every_expense_cleanly(with_rule, kashflow_fake):
    assert sync_expenses(with_rule, EXPENSES[:2]) == ["exp-0", "exp-1"]
    assert kashflow_fake.receipts == []


def test_unknown_category_is_reported_before_sending(with_rule, kashflow_fake):
    kashflow_fake.reset_calls()
    doc = kfs.PurchaseInvoice(
        external_id="bad",
        supplier="Acme Paper Ltd",
        reference="X",
        issue_date=date(2026, 11, 2),
        lines=[kfs.Line(net=Decimal("1.00"), category=9999)],
    )
    with pytest.raises(errors.ValidationError) as caught:
        with_rule.publish(doc)
    assert [p.code for p in caught.value.problems] == ["unknown_category"]
    assert kashflow_fake.calls == []


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
