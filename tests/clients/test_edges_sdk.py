"""What a Python user meets at the SDK's edges: notices, typed batch errors, logs, endpoint."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import attrs
import pytest

import kashflow_sync as kfs
from kashflow_sync import errors
from kashflow_sync.testing import FakeKashFlow


def purchase(external_id: str = "edge-1", **changes: Any) -> kfs.PurchaseInvoice:
    """A one-line purchase from Acme Paper Ltd, publishable as it is."""
    fields: dict[str, Any] = {
        "external_id": external_id,
        "supplier": "Acme Paper Ltd",
        "reference": f"INV-{external_id}",
        "issue_date": date(2026, 11, 2),
        "lines": [kfs.Line(net=Decimal("100.00"), vat_rate=Decimal("20"), category=7500)],
    }
    fields.update(changes)
    return kfs.PurchaseInvoice(**fields)


@pytest.fixture
def http_client(served_fake: FakeKashFlow) -> Iterator[kfs.KashFlowClient]:
    """A client connected to the fake over loopback."""
    with kfs.KashFlowClient(served_fake.credentials, endpoint=served_fake.url) as client:
        client.connect()
        yield client


def test_validate_leaves_notices_out_unless_asked(http_client: kfs.KashFlowClient) -> None:
    """A new supplier does not block: validate() is [], with include_notices the notice shows."""
    doc = attrs.evolve(purchase(supplier="Acme Papr Ltd"), create_contact=True)
    assert http_client.validate(doc) == []
    [notice] = http_client.validate(doc, include_notices=True)
    assert notice.code == "new_supplier" and notice.severity == "notice"
    assert "closest: Acme Paper Ltd" in notice.message
    assert http_client.publish(doc).status == "published"


def test_batch_error_is_always_a_kashflow_error() -> None:
    """Something other than a KashFlowError in a batch item is wrapped, the original kept."""
    original = RuntimeError("storage exploded")
    item = kfs.BatchItem("x", error=original)
    assert isinstance(item.error, errors.KashFlowError)
    assert item.error.code == "internal_error" and item.error.__cause__ is original
    kept = errors.TransientError("x")
    assert kfs.BatchItem("y", error=kept).error is kept


def test_money_accepts_exact_strings_and_refuses_the_rest() -> None:
    """'12.34' is money; '1e3', 'NaN' and floats are not."""
    assert kfs.Line(net="12.34").net == Decimal("12.34")
    for text in ("1e3", "NaN", "12,34", ""):
        with pytest.raises(ValueError, match="not an amount"):
            kfs.Line(net=text)
    with pytest.raises(TypeError, match="floats cannot represent pennies"):
        kfs.Line(net=45.0)  # type: ignore[arg-type]


def test_endpoint_that_is_not_a_url_is_a_configuration_error() -> None:
    """A bad endpoint is a ConfigurationError, still a ValueError for older callers."""
    with pytest.raises(errors.ConfigurationError) as caught:
        kfs.KashFlowClient(kfs.Credentials("u", "p"), endpoint="127.0.0.1:9")
    assert isinstance(caught.value, ValueError) and caught.value.code == "invalid_endpoint"


def test_log_records_carry_connection_and_external_id(
    http_client: kfs.KashFlowClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Every kashflow_sync record of a publish names its connection and document."""
    with caplog.at_level(logging.DEBUG, logger="kashflow_sync"):
        http_client.publish(purchase(external_id="logged-1"))
    records = [r for r in caplog.records if r.name == "kashflow_sync"]
    assert records, "publishing logs at least its outcome"
    assert {getattr(r, "connection_id", None) for r in records} == {http_client.connection_id}
    assert {getattr(r, "external_id", None) for r in records} == {"logged-1"}
    assert any("published as receipt" in r.getMessage() for r in records)


def test_failed_publish_is_logged_as_a_warning(
    served_fake: FakeKashFlow, caplog: pytest.LogCaptureFixture
) -> None:
    """A document that cannot be published is a warning with its code and external_id."""
    with kfs.KashFlowClient(served_fake.credentials, endpoint=served_fake.url) as client:
        client.connect()
        with caplog.at_level(logging.INFO, logger="kashflow_sync"):
            with pytest.raises(errors.ValidationError):
                client.publish(purchase(external_id="bad-1", location="Leeds"))
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert getattr(warning, "external_id", None) == "bad-1"
    assert "validation_failed" in warning.getMessage()


@pytest.mark.parametrize(
    "error",
    [
        errors.ValidationError(
            [kfs.Problem("missing_lines", "lines", "No lines.", "Add one.")], external_id="x"
        ),
        errors.DocumentFileError(
            {"a.json": [kfs.Problem("invalid_json", "", "not JSON", "Fix it.")]}
        ),
        errors.TransientError("slow", code="timeout", operation="GetSuppliers"),
        errors.StorageError("down", code="database_unavailable", retryable=True),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_pickle_whole(error: errors.KashFlowError) -> None:
    """Errors survive pickling with every attribute (process pools, task queues)."""
    import pickle

    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error)
    assert (copy.code, copy.remedy, copy.retryable) == (error.code, error.remedy, error.retryable)
    assert getattr(copy, "problems", None) == getattr(error, "problems", None)
