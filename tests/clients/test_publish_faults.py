"""Exactly-once under fire: 200 documents per injected fault, 0 duplicates and 0 lost.

Each fault fires at random (seeded) on every kind of call: the receipt insert, the attachment,
the payment and the lookups the SDK uses to reconcile. Batches are published again until every
document reports success, as a host app would after failures. Faults stay on throughout, except
for a last clean pass if some documents were still uncertain (the outage ends); the ledger must
then hold every document, attachment and payment exactly once.
"""

from __future__ import annotations

import pytest

from _clients import KINDS, any_client
from _support import ledger_check, make_client, purchase
from kashflow_sync import errors
from kashflow_sync.testing import FakeKashFlow, Readings

N_DOCS = 200
RATE = 0.12

FAULTS = {
    "drop_response": {},  # the write was applied, the answer lost
    "http_error_500": {"kind": "http_error", "status": 500},  # refused before applying
    "http_error_503": {"kind": "http_error", "status": 503},
    "delay": {"seconds": 30.0},  # applied, answered after the client timed out
    "reset_before": {},  # the connection dropped before processing
    "malformed_response": {},  # applied, answered with garbage
}


#: Each fault with each client, and with the sync client under the other not-found reading.
RUNS = [
    *((name, kind, "status_no") for name in FAULTS for kind in KINDS),
    *((name, "sync", "empty_object") for name in FAULTS),
]


@pytest.mark.parametrize(("name", "client_kind", "not_found"), RUNS)
def test_200_documents_under_fault_land_exactly_once(
    name: str, client_kind: str, not_found: str
) -> None:
    """Every document, attachment and payment lands exactly once despite the fault."""
    options = dict(FAULTS[name])
    kind = str(options.pop("kind", name))
    fake = FakeKashFlow(readings=Readings(not_found=not_found))  # type: ignore[arg-type]
    docs = [purchase(i, prefix=name, attach=i % 2 == 0, pay=i % 3 != 0) for i in range(N_DOCS)]
    with any_client(client_kind, fake, timeout=5.0) as client:
        client.connect()
        fake.faults.random(kind, RATE, seed=name, **options)  # type: ignore[arg-type]
        pending = docs
        rounds = 0
        while pending and rounds < 12:
            rounds += 1
            batch = client.publish_many(pending, concurrency=4)
            for item in batch.failed:
                # Only uncertainty or transient trouble may surface; never a bad document.
                assert isinstance(
                    item.error,
                    (errors.PublishUncertainError, errors.TransientError, errors.ProtocolError),
                ), item.error
            pending = [d for d, item in zip(pending, batch, strict=True) if item.error is not None]
        fired = len(fake.faults.fired)
        fake.faults.clear()
        if pending:
            final = client.publish_many(pending, concurrency=4)
            assert not final.failed, [i.error for i in final.failed]
        results = [client.publish(d) for d in docs]
    assert fired >= 20, f"the fault fired only {fired} times"
    assert all(r.status == "already_published" for r in results)
    duplicates, lost = ledger_check(fake, docs)
    assert (duplicates, lost) == (0, 0)
    assert len(fake.receipts) == N_DOCS
    assert fake.errors == []


def test_uncertain_create_is_looked_up_before_sending_again(fake: FakeKashFlow) -> None:
    """After a lost answer to InsertReceipt, the next publish finds the receipt, not a copy."""
    # No pre-send ledger check here, so the lookup fault hits the reconciliation only.
    with make_client(fake, check_ledger_duplicates=False) as client:
        client.connect()
        fake.faults.drop_response(op="InsertReceipt", times=1)
        fake.faults.reset_before(op="GetReceiptsForSupplier", times=None)  # lookup impossible
        with pytest.raises(errors.PublishUncertainError):
            client.publish(purchase(1))
        assert len(fake.receipts) == 1
        fake.faults.clear()
        fake.reset_calls()
        result = client.publish(purchase(1))
    assert result.status == "published"
    ops = [c.operation for c in fake.calls]
    assert "InsertReceipt" not in ops and ops[0] == "GetReceiptsForSupplier"
    assert len(fake.receipts) == 1
    steps = [(a.step, a.outcome) for a in client.publish_history("doc-1")]
    assert ("create", "uncertain") in steps and ("create", "found") in steps


def test_done_steps_are_not_repeated(fake: FakeKashFlow) -> None:
    """A publish that failed at the payment resumes there: it checks, then pays; nothing else."""
    with make_client(fake) as client:
        client.connect()
        fake.faults.http_error(400, op="InsertReceiptPayment", times=1)
        with pytest.raises(errors.KashFlowError):
            client.publish(purchase(2))
        fake.reset_calls()
        client.publish(purchase(2))
    assert [c.operation for c in fake.calls] == ["GetReceiptPayment", "InsertReceiptPayment"]
    assert (len(fake.receipts), len(fake.attachments), len(fake.payments)) == (1, 1, 1)


def test_ambiguous_ledger_raises_uncertain_and_never_guesses(fake: FakeKashFlow) -> None:
    """Two matching receipts in KashFlow after an uncertain send: PublishUncertainError."""
    doc = purchase(3, attach=False, pay=False)
    with make_client(fake, check_ledger_duplicates=False) as client:
        client.connect()
        fake.faults.drop_response(op="InsertReceipt", times=1)
        fake.faults.reset_before(op="GetReceiptsForSupplier", times=None)
        with pytest.raises(errors.PublishUncertainError):
            client.publish(doc)
        fake.faults.clear()
        # Someone keyed the same invoice in by hand meanwhile.
        original = fake.receipts[0]
        fake.add_receipt(
            "Acme Paper Ltd",
            net=original.net_amount,
            vat=original.vat_amount,
            vat_rate=20,
            nominal_code=7500,
            reference=doc.reference,
            issue_date=doc.issue_date,
        )
        with pytest.raises(errors.PublishUncertainError) as info:
            client.publish(doc)
    assert info.value.code == "publish_ambiguous"
    assert len(fake.receipts) == 2


def test_copy_already_in_ledger_is_refused_before_sending(fake: FakeKashFlow) -> None:
    """An invoice keyed into KashFlow by hand is duplicate_in_ledger; nothing is created."""
    doc = purchase(5, attach=False, pay=False)
    with make_client(fake) as client:
        client.connect()
        gross = client.resolve(doc).document.gross
        fake.add_receipt(
            "Acme Paper Ltd",
            net=gross,
            vat=0,
            vat_rate=0,
            nominal_code=7500,
            reference=doc.reference,
            issue_date=doc.issue_date,
        )
        fake.reset_calls()
        with pytest.raises(errors.ValidationError) as info:
            client.publish(doc)
    assert [p.code for p in info.value.problems] == ["duplicate_in_ledger"]
    assert "InsertReceipt" not in [c.operation for c in fake.calls]
    assert len(fake.receipts) == 1
