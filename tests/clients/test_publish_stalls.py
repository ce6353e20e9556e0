"""A worker that stalls past its lease never writes after it: the one that took over does.

Each test stops a worker process (SIGSTOP) right after the journal write that precedes a
KashFlow write (the insert, the attachment, the payment), lets another process publish the same
document after the first one's lease ran out, then resumes the first: KashFlow holds one receipt,
one attachment and one payment, and both workers end with a clear outcome.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from _support import ledger_check, make_client, purchase, spawn_worker, worker_result
from kashflow_sync.storage import SQLStorage
from kashflow_sync.testing import FakeKashFlow

WORKER = Path(__file__).with_name("_stall_worker.py")


def _start(fake: FakeKashFlow, db: str, index: int, pause_at: str) -> subprocess.Popen[str]:
    return spawn_worker(WORKER, fake, db, str(index), pause_at)


def _stopped(proc: subprocess.Popen[str]) -> bool:
    """Whether the process is stopped (state T in /proc)."""
    status = Path(f"/proc/{proc.pid}/status").read_text()
    return any(line.startswith("State:") and "T" in line.split()[1] for line in status.splitlines())


def _outcome(proc: subprocess.Popen[str]) -> dict[str, object]:
    return worker_result(proc, timeout=60)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc to see a stop")
@pytest.mark.parametrize("pause_at", ["sending", "attach", "pay"])
def test_a_worker_stalled_past_its_lease_never_writes(tmp_path: Path, pause_at: str) -> None:
    """Stopped after its last save before a write, resumed after a takeover: one copy of all."""
    db = f"sqlite:///{tmp_path}/journal.db"
    with FakeKashFlow.serve() as fake:
        with make_client(fake, storage=SQLStorage(db), connection_id="stall-test") as setup:
            setup.connect()  # both workers find the lists synced
        stalled = _start(fake, db, 1, pause_at)
        try:
            deadline = time.monotonic() + 30
            while not _stopped(stalled):
                assert stalled.poll() is None, stalled.communicate()
                assert time.monotonic() < deadline, "the worker never reached its pause point"
                time.sleep(0.02)
            taker = _start(fake, db, 1, "none")  # waits out the 4 s lease, then takes over
            taken = _outcome(taker)
            stalled.send_signal(signal.SIGCONT)
            resumed = _outcome(stalled)
        finally:
            if stalled.poll() is None:  # the test failed with it stopped: not left behind
                stalled.kill()
                stalled.communicate()
        doc = purchase(1, prefix="stall")
        counts = (len(fake.receipts), len(fake.attachments), len(fake.payments))
        duplicates, lost = ledger_check(fake, [doc])
    assert taken["outcome"] == "published"
    assert resumed == {"outcome": "lease_lost", "paused": True}
    assert counts == (1, 1, 1)
    assert (duplicates, lost) == (0, 0)
