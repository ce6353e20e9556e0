"""A worker killed between a credit note's insert and its apply: no second credit note and no
second application when the next run finishes it."""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path

import pytest
from _credit_docs import sale

import kashflow_sync as kfs
from _support import FAST_RETRY, spawn_worker, worker_result
from kashflow_sync.testing import FakeKashFlow

WORKER = Path(__file__).with_name("_credit_worker.py")
COUNT = 3


@pytest.mark.parametrize(
    "held",
    ["GetInvoice", "applyCreditNoteToInvoice"],
    ids=["after the insert, before the apply", "while the apply is answered"],
)
def test_a_kill_between_insert_and_apply_leaves_one_credit_applied_once(
    tmp_path: Path, held: str
) -> None:
    """SIGKILL while the credit note is created but not yet applied (or applied, unanswered),
    then a new run: each credit note once, applied once."""
    db = f"sqlite:///{tmp_path}/journal.db"
    connection = f"kill-{uuid.uuid4().hex[:6]}"
    with FakeKashFlow.serve() as fake:
        with kfs.KashFlowClient(
            fake.credentials,
            endpoint=fake.url,
            storage=kfs.SQLStorage(db),
            connection_id=connection,
            retry=FAST_RETRY,
        ) as client:
            client.connect()
            for i in range(COUNT):
                client.publish(sale(i))
        # The first credit note's call is held (an apply is applied first, then held).
        fake.faults.delay(30.0, op=held, times=1)
        before = len(fake.calls_to(held))
        proc = spawn_worker(WORKER, fake, db, connection, str(COUNT))
        deadline = time.monotonic() + 60
        while len(fake.calls_to(held)) == before and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)  # the held call has reached the fake (and, for the apply, applied)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        fake.faults.clear()
        credit_notes = [d for d in fake.invoices if d.net < 0]
        assert len(credit_notes) == 1, "the kill did not land on the first credit note"
        summary = worker_result(spawn_worker(WORKER, fake, db, connection, str(COUNT)), 120)
        invoices = fake.invoices
        applies = len(fake.calls_to("applyCreditNoteToInvoice"))
    assert summary["outcomes"] == [["published", True]] * COUNT
    assert len([d for d in invoices if d.net < 0]) == COUNT
    assert all(abs(d.amount_paid) == 48 for d in invoices)
    # Each credit note applied exactly once: one apply call each, the killed one included
    # (found by reading KashFlow back when it had been applied).
    assert applies == COUNT
