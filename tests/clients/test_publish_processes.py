"""Exactly-once across processes: a worker killed mid-batch, and two workers on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from _support import ledger_check, purchase, spawn_worker, worker_result
from kashflow_sync.storage import SQLStorage
from kashflow_sync.testing import FakeKashFlow

WORKER = Path(__file__).with_name("_publish_worker.py")
PG_URL = os.environ.get("KASHFLOW_SYNC_TEST_PG")


@pytest.fixture
def connection_id() -> Iterator[str]:
    """A connection id of this test's own, purged from the shared PostgreSQL afterwards."""
    cid = f"procs-{uuid.uuid4().hex[:12]}"
    yield cid
    if PG_URL:
        with SQLStorage(PG_URL) as storage:
            storage.purge(cid)


def _worker(
    fake: FakeKashFlow,
    db: str,
    count: int,
    prefix: str,
    lease: float,
    connection_id: str,
    kind: str = "sync",
    id_suffix: str = "",
) -> subprocess.Popen[str]:
    return spawn_worker(
        WORKER, fake, db, str(count), prefix, str(lease), connection_id, kind, id_suffix
    )


def _finish(proc: subprocess.Popen[str]) -> dict[str, object]:
    return worker_result(proc, timeout=120)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_killed_worker_is_completed_by_the_next_run(
    tmp_path: Path, kind: str, connection_id: str
) -> None:
    """SIGKILL mid-batch, then a second run: every document once, attachments and payments too."""
    db = f"sqlite:///{tmp_path}/journal.db"
    count = 60
    with FakeKashFlow.serve() as fake:
        fake.faults.delay(0.02, times=None)  # slow KashFlow a little so the kill lands mid-batch
        proc = _worker(fake, db, count, "kill", 1.0, connection_id, kind=kind)
        deadline = time.monotonic() + 60
        while len(fake.receipts) < count // 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        landed_before = len(fake.receipts)
        assert 0 < landed_before < count, "the kill did not land mid-batch"
        fake.faults.clear()
        summary = _finish(_worker(fake, db, count, "kill", 1.0, connection_id, kind=kind))
        duplicates, lost = ledger_check(fake, [purchase(i, prefix="kill") for i in range(count)])
    assert summary["failed"] == []
    assert (duplicates, lost) == (0, 0)
    assert len(fake.receipts) == count


@pytest.mark.skipif(not PG_URL, reason="set KASHFLOW_SYNC_TEST_PG to a PostgreSQL SQLAlchemy URL")
@pytest.mark.parametrize("kinds", [("sync", "sync"), ("async", "async"), ("sync", "async")])
def test_two_workers_on_postgresql_publish_each_document_once(
    kinds: tuple[str, str], connection_id: str
) -> None:
    """Two processes, one PostgreSQL journal, the same 100 documents: 0 duplicates."""
    assert PG_URL is not None
    prefix = f"pg{uuid.uuid4().hex[:6]}"
    count = 100
    with FakeKashFlow.serve() as fake:
        workers = [_worker(fake, PG_URL, count, prefix, 30.0, connection_id, k) for k in kinds]
        summaries = [_finish(w) for w in workers]
        duplicates, lost = ledger_check(fake, [purchase(i, prefix=prefix) for i in range(count)])
    assert all(s["failed"] == [] for s in summaries)
    assert sum(int(s["published"]) for s in summaries) == count  # type: ignore[call-overload]
    assert (duplicates, lost) == (0, 0)
    assert len(fake.receipts) == count


@pytest.mark.skipif(not PG_URL, reason="set KASHFLOW_SYNC_TEST_PG to a PostgreSQL SQLAlchemy URL")
def test_two_workers_given_the_same_invoices_under_other_ids_land_each_once(
    connection_id: str,
) -> None:
    """Process A publishes 60 invoices, process B the same 60 under other external ids, at once,
    with a slow KashFlow: each invoice lands once; every refusal names the copy that landed."""
    assert PG_URL is not None
    prefix = f"tw{uuid.uuid4().hex[:6]}"
    count = 60
    with FakeKashFlow.serve() as fake:
        fake.faults.delay(0.03, op="InsertReceipt", times=None)
        workers = [
            _worker(fake, PG_URL, count, prefix, 30.0, connection_id, kind, suffix)
            for kind, suffix in (("sync", ""), ("async", "-again"))
        ]
        summaries = [_finish(w) for w in workers]
        duplicates, lost = ledger_check(fake, [purchase(i, prefix=prefix) for i in range(count)])
    assert (duplicates, lost) == (0, 0)
    assert len(fake.receipts) == count
    assert sum(int(s["published"]) for s in summaries) == count  # type: ignore[call-overload]
    failures = [f for s in summaries for f in s["failed"]]  # type: ignore[attr-defined]
    assert len(failures) == count
    assert set(failures) == {"ValidationError:duplicate_in_ledger"}
