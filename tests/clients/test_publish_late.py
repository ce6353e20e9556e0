"""A write KashFlow applies *after* the caller timed out is never sent a second time.

Real KashFlow is an ASP.NET service: a request whose caller gave up keeps running and may be
applied seconds later. The fake plays it (``late_apply``): the client sees a timeout, the write
lands a little later. "Not found" right after such a timeout proves nothing, so the SDK waits
out the settle time (here short) and looks again before it would send again.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from _clients import KINDS, any_client
from _support import ledger_check, make_client, purchase
from kashflow_sync import errors
from kashflow_sync.testing import WRITE_OPERATIONS, FakeKashFlow

#: Well above the fake's 5-200 ms: its late writes come from a timer thread, which a loaded
#: machine can run late; real KashFlow's bound is ASP.NET's request limit (the default 120 s).
SETTLE = timedelta(seconds=2)


@pytest.mark.parametrize("client_kind", KINDS)
def test_200_documents_with_writes_applied_late_land_exactly_once(client_kind: str) -> None:
    """Writes answered by a timeout and applied 50 ms later at a 12% rate: 0 dup, 0 lost."""
    fake = FakeKashFlow()
    docs = [purchase(i, prefix="late", attach=i % 2 == 0, pay=i % 3 != 0) for i in range(200)]
    with any_client(client_kind, fake, timeout=5.0, settle_time=SETTLE) as client:
        client.connect()
        fake.faults.random("late_apply", 0.12, seed="late", apply_after=0.05, op=WRITE_OPERATIONS)
        pending = docs
        for _round in range(12):
            batch = client.publish_many(pending, concurrency=4)
            for item in batch.failed:
                assert isinstance(item.error, errors.PublishUncertainError), item.error
            pending = [d for d, item in zip(pending, batch, strict=True) if not item.ok]
            if not pending:
                break
        fired = len(fake.faults.fired)
        fake.faults.clear()
        fake.settle()  # every late write has landed before anything is counted
        final = client.publish_many(pending, concurrency=4)
        assert not final.failed, [i.error for i in final.failed]
    assert fired >= 20, f"the fault fired only {fired} times"
    fake.settle()
    assert ledger_check(fake, docs) == (0, 0)
    assert len(fake.receipts) == 200


@pytest.mark.parametrize("apply_after", [0.005, 0.01, 0.05, 0.2])
def test_a_create_applied_after_the_timeout_is_not_sent_again(apply_after: float) -> None:
    """The review's measurement: a receipt applied 5-200 ms after the timeout, 50 times: 0 dup.

    Without waiting (the old behaviour) 34 of 50 were duplicated at 5 ms and 49-50 of 50 at
    10 ms or later.
    """
    fake = FakeKashFlow()
    docs = [purchase(i, prefix=f"t{apply_after}", attach=False, pay=False) for i in range(50)]
    with make_client(fake, fake.http_client(timeout=0.5), settle_time=SETTLE) as client:
        client.connect()
        fake.faults.late_apply(apply_after, op="InsertReceipt", times=None)
        results = [client.publish(d) for d in docs]
        fake.settle()
    assert all(r.status == "published" for r in results)
    assert ledger_check(fake, docs) == (0, 0)
    assert len(fake.receipts) == 50
    assert len([c for c in fake.calls if c.operation == "InsertReceipt"]) == 50  # never twice


def test_a_payment_republished_right_after_uncertainty_is_not_sent_twice(
    fake: FakeKashFlow,
) -> None:
    """The remedy invites an immediate republish: it must not send the late payment again."""
    doc = purchase(1, attach=False)
    with make_client(fake, settle_time=timedelta(seconds=30)) as client:
        client.connect()
        fake.faults.late_apply(0.3, op="InsertReceiptPayment", times=1)
        with pytest.raises(errors.PublishUncertainError) as first:
            client.publish(doc)
        assert first.value.code == "publish_settling" and first.value.retry_after
        with pytest.raises(errors.PublishUncertainError) as again:
            client.publish(doc)  # at once, as the remedy of a timeout might suggest
        assert again.value.code == "publish_settling"
        assert len(fake.payments) == 0  # not applied yet, and not sent again
        fake.settle()
        assert client.publish(doc).status == "published"  # found now: adopted, not re-sent
    assert ledger_check(fake, [doc]) == (0, 0)
    sent = [c for c in fake.calls if c.operation == "InsertReceiptPayment"]
    assert len(sent) == 1


def test_an_uncertain_contact_insert_is_not_repeated_before_it_settles(
    fake: FakeKashFlow,
) -> None:
    """A new supplier applied late is found, not created a second time under another code."""
    import attrs

    doc = attrs.evolve(purchase(2, attach=False, pay=False), supplier="Late Supplies Ltd")
    with make_client(fake, settle_time=timedelta(seconds=30)) as client:
        client.connect()
        fake.faults.late_apply(0.3, op="InsertSupplier", times=1)
        with pytest.raises(errors.KashFlowError):
            client.publish(doc)
        with pytest.raises(errors.PublishUncertainError) as again:
            client.publish(doc)
        assert again.value.code == "publish_settling"
        fake.settle()
        assert client.publish(doc).status == "published"
    assert [s.name for s in fake.suppliers].count("Late Supplies Ltd") == 1
