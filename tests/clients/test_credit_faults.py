"""Credit notes under fire: every fault kind, both clients, 0 duplicates and 0 lost.

As the invoice fault suite (tests/clients/test_publish_faults.py), for what credit notes add: the
negative insert, the apply step (a journaled write, looked up before any resend) and the
refund. Batches are published again until every document reports success; then the ledger
must hold each credit note once, each customer credit note applied once (one payment on it and
one on its invoice) and each supplier credit note refunded once, with its file.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from _credit_docs import sale, sales_credit, supplier_credit

from _clients import KINDS, any_client
from kashflow_sync import errors
from kashflow_sync.testing import WRITE_OPERATIONS, FakeKashFlow, Readings

N = 30
RATE = 0.15

FAULTS = {
    "drop_response": {},  # applied, the answer lost
    "http_error_500": {"kind": "http_error", "status": 500},  # refused before applying
    "delay": {"seconds": 30.0},  # applied, answered after the client timed out
    "reset_before": {},  # dropped before processing
    "malformed_response": {},  # applied, answered with garbage
    "late_apply": {"apply_after": 0.02, "op": WRITE_OPERATIONS},  # applied after the timeout
}


def _publish_until_done(client: object, documents: list[object]) -> None:
    pending = documents
    for _round in range(15):
        batch = client.publish_many(pending, concurrency=4)  # type: ignore[attr-defined]
        for item in batch.failed:
            assert isinstance(
                item.error,
                (errors.PublishUncertainError, errors.TransientError, errors.ProtocolError),
            ), item.error
        pending = [d for d, item in zip(pending, batch, strict=True) if not item.ok]
        if not pending:
            return
    raise AssertionError(f"{len(pending)} documents never published")


@pytest.mark.parametrize("name", list(FAULTS))
@pytest.mark.parametrize("client_kind", KINDS)
def test_credit_notes_under_fault_land_exactly_once(name: str, client_kind: str) -> None:
    """Each credit note once, each applied once, each refund once, despite the fault."""
    options = dict(FAULTS[name])
    kind = str(options.pop("kind", name))
    settle = timedelta(seconds=1) if kind == "late_apply" else timedelta(0)
    fake = FakeKashFlow()
    invoices = [sale(i, prefix=name) for i in range(N)]
    credits = [sales_credit(i, prefix=name) for i in range(N)]
    refunds = [supplier_credit(i, prefix=name, refund=i % 2 == 0) for i in range(N)]
    with any_client(client_kind, fake, timeout=5.0, settle_time=settle) as client:
        client.connect()
        _publish_until_done(client, invoices)
        fake.faults.random(kind, RATE, seed=name, **options)  # type: ignore[arg-type]
        _publish_until_done(client, [*credits, *refunds])
        fired = len(fake.faults.fired)
        fake.faults.clear()
        fake.settle()
        again = client.publish_many([*credits, *refunds])
    assert fired >= 5, f"the fault fired only {fired} times"
    assert not again.failed, [i.error for i in again.failed]
    assert all(item.result.status == "already_published" for item in again)  # type: ignore[union-attr]
    assert all(item.result.applied for item in again.items[:N])  # type: ignore[union-attr]
    held = Counter(d.customer_reference for d in [*fake.receipts, *fake.invoices])
    wanted = {d.reference for d in [*invoices, *credits, *refunds]}
    assert {ref: n for ref, n in held.items() if n != 1} == {}, "a document landed twice"
    assert set(held) == wanted, "a document was lost"
    for invoice in fake.invoices:
        assert abs(invoice.amount_paid) == Decimal("48.00"), invoice.number  # applied once
    applied = [p for p in fake.payments if p.kind == "invoice"]
    assert len(applied) == 2 * N
    refund_payments = [p for p in fake.payments if p.kind == "receipt"]
    assert len(refund_payments) == len([d for d in refunds if d.payment is not None])
    assert len(fake.attachments) == N


#: The faults of the mixed run: several kinds at once, each at its own rate.
MIXED = [
    ("drop_response", {}, 0.06),
    ("malformed_response", {}, 0.04),
    ("http_error", {"status": 503}, 0.05),
    ("late_apply", {"apply_after": 0.02, "op": WRITE_OPERATIONS}, 0.05),
]


@pytest.mark.parametrize(
    "reading", Readings.credit_alternatives().values(), ids=list(Readings.credit_alternatives())
)
@pytest.mark.parametrize("client_kind", KINDS)
def test_every_reading_under_mixed_faults(reading: Readings, client_kind: str) -> None:
    """Under each credit-note reading, with four fault kinds at once: each credit note once,
    to the penny, applied to its own invoice once (or refused whole, where KashFlow takes
    no negative line)."""
    fake = FakeKashFlow(readings=reading)
    n = 12
    invoices = [sale(i, prefix="mix") for i in range(n)]
    credits = [sales_credit(i, prefix="mix") for i in range(n)]
    refunds = [supplier_credit(i, prefix="mix") for i in range(n)]
    with any_client(client_kind, fake, timeout=5.0, settle_time=timedelta(seconds=1)) as client:
        client.connect()
        _publish_until_done(client, invoices)
        for kind, options, rate in MIXED:
            fake.faults.random(kind, rate, seed=f"{kind}-{client_kind}", **options)  # type: ignore[arg-type]
        if reading.credit_lines == "refused":
            batch = client.publish_many([*credits, *refunds])
            for item in batch.failed:
                assert item.error is not None
                assert item.error.code == "credit_note_refused" or isinstance(
                    item.error,
                    (errors.PublishUncertainError, errors.TransientError, errors.ProtocolError),
                ), item.error
            fake.faults.clear()
            fake.settle()
            assert [d for d in [*fake.invoices, *fake.receipts] if d.net < 0] == []
            return
        _publish_until_done(client, [*credits, *refunds])
        fired = len(fake.faults.fired)
        fake.faults.clear()
        fake.settle()
        again = client.publish_many([*credits, *refunds])
    assert fired >= 5, f"the faults fired only {fired} times"
    assert all(item.result is not None for item in again)
    held = Counter(d.customer_reference for d in [*fake.receipts, *fake.invoices])
    assert {ref: count for ref, count in held.items() if count != 1} == {}
    by_reference = {d.customer_reference: d for d in [*fake.receipts, *fake.invoices]}
    for invoice, note in zip(invoices, credits, strict=True):
        billed, credited = by_reference[invoice.reference], by_reference[note.reference]
        assert (credited.net, credited.vat) == (Decimal("-40.00"), Decimal("-8.00"))
        # Applied to its own invoice, once: one payment on each, naming both numbers.
        on_invoice = [
            p for p in fake.payments if p.kind == "invoice" and p.document_number == billed.number
        ]
        assert len(on_invoice) == 1 and f"invoice {billed.number}" in (on_invoice[0].note or "")
        assert f"Credit note {credited.number} " in (on_invoice[0].note or "")
    refunded = [p for p in fake.payments if p.kind == "receipt"]
    expected = 0 if reading.credit_refund == "refused" else n
    assert len(refunded) == expected
