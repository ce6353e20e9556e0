"""No silent duplicate: a write KashFlow applies after the settle time is found by ``verify``.

A create whose answer was lost is sent again only once KashFlow was shown not to have it after
the settle time. A copy KashFlow applies even later (here 1.05x, 1.5x and 3x the settle time
after the caller gave up) is a second copy no protocol can prevent without idempotency keys:
``verify`` must report every one of them, and never a document that is not duplicated.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

import kashflow_sync as kfs
from _clients import KINDS, any_client
from _support import make_client, purchase
from kashflow_sync import errors
from kashflow_sync.testing import FakeKashFlow

SETTLE = 0.3
FACTORS = [1.05, 1.5, 3.0]


def _twice(fake: FakeKashFlow) -> set[str]:
    """The references KashFlow holds more than once."""
    counts = Counter(r.customer_reference for r in fake.receipts)
    return {ref for ref, n in counts.items() if n > 1}


def _publish(client: object, doc: kfs.Document) -> None:
    """Publish until KashFlow answered (a duplicate found at once is an error, and final)."""
    for _ in range(5):
        try:
            client.publish(doc)  # type: ignore[attr-defined]
            return
        except errors.PublishUncertainError as exc:
            if exc.code == "duplicate_created":
                return  # reported at once: verify must still list it
            if exc.code != "publish_settling":
                raise


@pytest.mark.parametrize("factor", FACTORS)
@pytest.mark.parametrize("client_kind", KINDS)
def test_every_late_copy_is_reported_by_verify(client_kind: str, factor: float) -> None:
    """One-at-a-time publishing, the first send of each applied late: verify lists exactly
    the documents KashFlow holds twice, and journal('duplicated') lists the same."""
    fake = FakeKashFlow()
    docs = [purchase(i, prefix=f"late{factor}", attach=False, pay=False) for i in range(4)]
    with any_client(
        client_kind, fake, timeout=SETTLE, settle_time=timedelta(seconds=SETTLE)
    ) as client:
        client.connect()
        for doc in docs:
            fake.faults.late_apply(factor * SETTLE, op="InsertReceipt", times=1)
            _publish(client, doc)
        fake.settle()
        found = client.verify()
        listed = client.journal("duplicated")
        again = client.verify()
    duplicated = {d.external_id for d in docs if d.reference in _twice(fake)}
    assert {s.external_id for s in found} == duplicated
    assert {s.external_id for s in listed} == duplicated
    assert {s.external_id for s in again} == duplicated  # still there until a person acts
    for summary in found:
        assert summary.state == "duplicated"
        assert "twice" in (summary.message or "") and "Delete the other copy" in (
            summary.remedy or ""
        )
    if factor > 1.2:
        assert duplicated, "the late writes made no duplicate: the test proves nothing"


@pytest.mark.parametrize("factor", FACTORS)
def test_publish_many_late_copies_are_reported(factor: float) -> None:
    """A batch whose first four creates are applied late: verify finds every second copy."""
    fake = FakeKashFlow()
    docs = [purchase(i, prefix=f"batch{factor}", attach=False, pay=False) for i in range(8)]
    with make_client(
        fake, fake.http_client(timeout=SETTLE), settle_time=timedelta(seconds=SETTLE)
    ) as client:
        client.connect()
        fake.faults.late_apply(factor * SETTLE, op="InsertReceipt", times=4)
        pending = docs
        for _ in range(5):
            batch = client.publish_many(pending, concurrency=4)
            pending = [
                d
                for d, item in zip(pending, batch, strict=True)
                if item.error is not None and item.error.code == "publish_settling"
            ]
            if not pending:
                break
        fake.settle()
        found = client.verify()
    assert {s.external_id for s in found} == {
        d.external_id for d in docs if d.reference in _twice(fake)
    }


def test_no_document_sent_once_is_ever_reported() -> None:
    """Documents never sent again are not watched: verify reads nothing and reports nothing."""
    fake = FakeKashFlow()
    with make_client(fake) as client:
        client.connect()
        client.publish_many([purchase(i, prefix="clean") for i in range(10)])
        calls = len(fake.calls)
        assert client.verify() == []
        assert len(fake.calls) == calls


def test_a_resend_with_no_late_copy_is_watched_then_retired() -> None:
    """Sent again, the first send never landing: reported clean, and retired after the horizon."""
    fake = FakeKashFlow()
    doc = purchase(1, prefix="never", attach=False, pay=False)
    with make_client(fake, fake.http_client(timeout=SETTLE), settle_time=timedelta(0)) as client:
        client.connect()
        fake.faults.late_apply(60, op="InsertReceipt", times=1)
        client.publish(doc)
        fake.close(late_writes="cancel")  # the first send never lands
        assert client.verify() == []
        lookups = len([c for c in fake.calls if c.operation == "GetReceiptsForSupplier"])
        assert client.verify(horizon=timedelta(0)) == []
        assert client.verify() == []  # retired: nothing more is read
        after = len([c for c in fake.calls if c.operation == "GetReceiptsForSupplier"])
    assert after == lookups + 1


@contextlib.contextmanager
def _duplicated(prefix: str) -> Iterator[tuple[FakeKashFlow, kfs.KashFlowClient, Any, int]]:
    """A document KashFlow holds twice, as verify reported it.

    Yields the fake, the client, the document, the journal's number and the other copy's.
    """
    fake = FakeKashFlow()
    doc = purchase(1, prefix=prefix, attach=False, pay=False)
    with make_client(
        fake, fake.http_client(timeout=SETTLE), settle_time=timedelta(seconds=SETTLE)
    ) as client:
        client.connect()
        fake.faults.late_apply(3 * SETTLE, op="InsertReceipt", times=1)
        _publish(client, doc)
        fake.settle()
        [summary] = client.verify()
        assert summary.number is not None
        other = next(r.number for r in fake.receipts if r.number != summary.number)
        yield fake, client, doc, summary.number, other


def test_a_duplicate_resolved_by_a_person_goes_back_to_published() -> None:
    """The other copy deleted in KashFlow: the next verify marks the document published."""
    with _duplicated("fix") as (fake, client, doc, _ours, other):
        assert client.publish(doc).notices[0].code == "duplicated_in_kashflow"
        fake._delete_document("receipt", other)
        [resolved] = client.verify()
        result = client.publish(doc)
    assert resolved.state == "published"
    assert result.status == "already_published" and result.notices == ()


def test_forget_on_a_duplicate_whose_named_copy_was_deleted_adopts_the_other() -> None:
    """The person deleted the journal's copy and kept the other: forget adopts the survivor."""
    with _duplicated("adopt") as (fake, client, doc, ours, survivor):
        fake._delete_document("receipt", ours)
        adopted = client.forget(doc.external_id)
        result = client.publish(doc)
    assert adopted.state == "published" and adopted.number == survivor
    assert result.number == survivor and result.status == "already_published"
    assert len(fake.receipts) == 1
