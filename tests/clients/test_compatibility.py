"""What must not change between versions or across processes: digests and pickled errors."""

from __future__ import annotations

import pickle
from datetime import date
from decimal import Decimal

import pytest

import kashflow_sync as kfs
from _support import purchase
from kashflow_sync import errors
from kashflow_sync._convert import fingerprint

SALE = kfs.SalesInvoice(
    external_id="s-1",
    customer="Bloggs & Co",
    reference="PO-1",
    issue_date=date(2026, 11, 2),
    lines=[
        kfs.Line(description="Work", net=Decimal("500.00"), vat_rate=Decimal("20"), category=4000)
    ],
)


@pytest.mark.parametrize(
    ("document", "digest"),
    [
        (purchase(1), "f41e604e6db4d94cf02abf2e447ad596"),
        (purchase(2, attach=False, pay=False), "88cc1161116c92e80b3b4633ebaa6baa"),
        (SALE, "b73323035413dcdd6134d46cfad37f73"),
    ],
    ids=["purchase-with-extras", "bare-purchase", "sale"],
)
def test_fingerprint_is_the_one_version_0_1_stored(document: kfs.Document, digest: str) -> None:
    """Journals written by 0.1.0 keep matching: a changed digest would read as changed content."""
    assert fingerprint(document) == digest


ERRORS = [
    errors.ValidationError(
        [kfs.Problem("unknown_category", "lines[0].category", "no such code", "pick one")],
        external_id="doc-1",
    ),
    errors.TransientError(
        "no answer", code="timeout", operation="InsertReceipt", request_sent=True
    ),
    errors.PublishUncertainError("unsure", code="publish_ambiguous", retryable=False),
    errors.RejectedError("refused", detail="Invalid nominal code", operation="InsertReceipt"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_errors_survive_pickling(error: errors.KashFlowError) -> None:
    """Errors cross process pools whole: class, message, code, remedy and extras."""
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert (str(copy), copy.code, copy.remedy, copy.retryable, copy.request_sent) == (
        str(error),
        error.code,
        error.remedy,
        error.retryable,
        error.request_sent,
    )
    assert vars(copy) == vars(error)


def test_a_failed_batch_item_survives_pickling() -> None:
    """A BatchItem holding a ValidationError can be returned from a process pool."""
    item = kfs.BatchItem("doc-1", error=ERRORS[0])
    copy = pickle.loads(pickle.dumps(item))
    assert copy.error.problems == ERRORS[0].problems  # type: ignore[union-attr]
