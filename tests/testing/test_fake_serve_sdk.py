"""The KashFlowClient smoke run against each way of serving the fake, `fake serve` included."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from _served import ServedFake

import kashflow_sync as kfs
from kashflow_sync.testing import FakeKashFlow
from kashflow_sync.testing._fake.jsonio import to_json

#: What the smoke run reads back: receipts, payments and attachments as JSON-like dicts.
Ledger = Callable[[str], list[dict[str, Any]]]


def from_records(fake: FakeKashFlow) -> Ledger:
    """Read the Python fake's records in the control API's JSON shape."""

    def read(name: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = to_json(getattr(fake, name))
        return rows

    return read


@pytest.fixture(params=["in-process", "loopback", "fake serve"])
def target(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[kfs.Credentials, str, Any, Ledger]]:
    """Credentials, endpoint, an http_client (or None) and a ledger reader for each mode."""
    if request.param == "fake serve":
        served: ServedFake = request.getfixturevalue("served")
        details = served.details
        credentials = kfs.Credentials(
            details["username"], details["password"], details["autoauth_key"]
        )

        def read(name: str) -> list[dict[str, Any]]:
            rows: list[dict[str, Any]] = served.http.get(served.control + name).json()
            return rows

        yield credentials, served.url, None, read
        return
    fake = FakeKashFlow()
    if request.param == "loopback":
        with fake.running():
            yield fake.credentials, fake.url, None, from_records(fake)
    else:
        http = fake.http_client()
        yield fake.credentials, fake.url, http, from_records(fake)
        http.close()


def test_connect_and_publish_with_attachment_and_payment(
    target: tuple[kfs.Credentials, str, Any, Ledger],
) -> None:
    """connect(), then publish a receipt with a PDF and a card payment, once."""
    credentials, endpoint, http, read = target
    doc = kfs.PurchaseInvoice(
        external_id="smoke-1",
        supplier="Acme Paper Ltd",
        reference="SMOKE-1",
        issue_date=date(2026, 11, 2),
        lines=[kfs.Line(net=Decimal("100.00"), vat_rate=Decimal("20"), category=7500)],
        attachment=kfs.Attachment("smoke.pdf", b"%PDF-1.4 smoke", "application/pdf"),
        payment=kfs.Payment(method="Credit card", bank_account=1200),
    )
    with kfs.KashFlowClient(
        credentials, app_name="smoke", endpoint=endpoint, http_client=http
    ) as client:
        report = client.connect()
        assert report["suppliers"].added == 3
        result = client.publish(doc)
        assert client.publish(doc).status == "already_published"
    (receipt,) = read("receipts")
    (payment,) = read("payments")
    (attachment,) = read("attachments")
    assert (receipt["number"], receipt["reference"]) == (result.number, "SMOKE-1")
    assert (payment["document_number"], Decimal(payment["amount"])) == (
        result.number,
        Decimal("120.00"),
    )
    assert attachment["filename"] == "smoke.pdf"
