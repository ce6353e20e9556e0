"""A worker that stalls while it holds an invoice's content claim never sends a second copy.

Worker A claims the content (contact, reference, total) of an invoice, then stalls past its
lease before it sends (a slow database, a GC pause, a stopped VM). Worker B, with the same
invoice under another external id, takes the content over and sends. When A resumes, the
pre-write fence (which checks the content claim with the document's own entry) stops it: A's
publish is "not sent", never "uncertain", and it names B's copy. Reproduced three ways: a row
lock on A's journal row in PostgreSQL (two processes), a storage that pauses right after the
content claim, and a stall inside the ``sending`` save.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

import kashflow_sync as kfs
from _support import FAST_RETRY, make_client, purchase, spawn_worker, worker_result
from kashflow_sync._journal.entry import JournalEntry
from kashflow_sync._storage_keys import CONTENT_KEY_PREFIX
from kashflow_sync.testing import FakeKashFlow

PG_URL = os.environ.get("KASHFLOW_SYNC_TEST_PG")
WORKER = Path(__file__).with_name("_twin_stall_worker.py")
LEASE = timedelta(minutes=5)


class ManualClock:
    """The clients' clock: it moves only when the test says (so leases run out on cue)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class PausingStorage(kfs.MemoryStorage):
    """A MemoryStorage that stops the calling thread once, right after *when* holds.

    Without ``transaction()``, as a host storage written before it: the calls of one step
    land one by one, so a stall can come between the content claim and the ``sending`` save
    (in one transaction, where the storage has them, nothing can come between).
    """

    transaction = None

    def __init__(self, when: Callable[[str, JournalEntry, bool], bool]) -> None:
        super().__init__()
        self.when = when
        self.paused = threading.Event()
        self.resume = threading.Event()
        self._done = False

    def _maybe_pause(self, method: str, entry: JournalEntry, done: bool) -> None:
        if not self._done and self.when(method, entry, done):
            self._done = True
            self.paused.set()
            assert self.resume.wait(timeout=30)

    def claim_journal(self, entry: JournalEntry, owner: str, now: Any, lease_until: Any) -> Any:
        claim = super().claim_journal(entry, owner, now, lease_until)
        self._maybe_pause("claim_journal", claim.entry, claim.acquired)
        return claim

    def update_journal(self, entry: JournalEntry, owner: str | None) -> bool:
        # Paused before the write lands, as a row lock or a slow disk holds a save.
        self._maybe_pause("update_journal", entry, True)
        return super().update_journal(entry, owner)


def twins() -> tuple[kfs.PurchaseInvoice, kfs.PurchaseInvoice]:
    """One invoice under two external ids."""
    first = purchase(1, prefix="twin", attach=False, pay=False)
    return first, attrs.evolve(first, external_id="twin-1-again")


def _run_stalled(storage: PausingStorage) -> tuple[object, object, FakeKashFlow, list[str]]:
    """A publishes and stalls where *storage* says; the lease runs out; B publishes; A resumes."""
    fake = FakeKashFlow()
    clock = ManualClock()
    first, second = twins()
    with (
        make_client(fake, storage=storage, publish_lease=LEASE) as a,
        make_client(fake, storage=storage, publish_lease=LEASE) as b,
    ):
        a.connect()
        a._local_clock = b._local_clock = clock  # type: ignore[assignment]
        outcome: list[object] = []

        def publish_a() -> None:
            try:
                outcome.append(a.publish(first))
            except kfs.errors.KashFlowError as exc:
                outcome.append(exc)

        thread = threading.Thread(target=publish_a)
        thread.start()
        assert storage.paused.wait(timeout=30), "A never reached the stall"
        clock.advance(LEASE * 2)  # A's leases run out while it stalls
        second_outcome = b.publish(second)
        storage.resume.set()
        thread.join(timeout=30)
        steps = [f"{x.step}:{x.outcome}" for x in a.publish_history(first.external_id)]
    return outcome[0], second_outcome, fake, steps


def _stall_after_content_claim(method: str, entry: JournalEntry, done: bool) -> bool:
    return (
        method == "claim_journal"
        and done
        and entry.external_id.startswith(CONTENT_KEY_PREFIX)
        and entry.fingerprint == "twin-1"
    )


def _stall_inside_sending_save(method: str, entry: JournalEntry, done: bool) -> bool:
    return method == "update_journal" and entry.external_id == "twin-1" and entry.state == "sending"


@pytest.mark.parametrize(
    "stall",
    [_stall_after_content_claim, _stall_inside_sending_save],
    ids=["after the content claim", "inside the sending save"],
)
def test_a_stalled_twin_never_sends_a_second_copy(
    stall: Callable[[str, JournalEntry, bool], bool],
) -> None:
    """B's copy lands; A, resumed, is refused before sending, naming B; one receipt."""
    first_outcome, second_outcome, fake, steps = _run_stalled(PausingStorage(stall))
    assert isinstance(second_outcome, kfs.PublishResult) and second_outcome.status == "published"
    assert isinstance(first_outcome, kfs.errors.ValidationError), first_outcome
    [problem] = first_outcome.problems
    assert problem.code == "duplicate_in_ledger" and "'twin-1-again'" in problem.message
    assert len(fake.receipts) == 1
    assert [c.operation for c in fake.calls].count("InsertReceipt") == 1
    assert "create:uncertain" not in steps  # nothing was sent: never "uncertain"


def test_a_lease_that_ran_out_before_the_send_is_held_again_then_sent() -> None:
    """No twin at all: the fence stops the send of a lease that ran out; nobody took it, so
    the call holds it again and sends, once. Never an uncertain send."""
    storage = PausingStorage(_stall_inside_sending_save)
    fake = FakeKashFlow()
    clock = ManualClock()
    first, _ = twins()
    with make_client(fake, storage=storage, publish_lease=LEASE) as client:
        client.connect()
        client._local_clock = clock  # type: ignore[assignment]
        outcome: list[object] = []
        thread = threading.Thread(target=lambda: outcome.append(client.publish(first)))
        thread.start()
        assert storage.paused.wait(timeout=30)
        clock.advance(LEASE * 2)
        storage.resume.set()
        thread.join(timeout=30)
        steps = [(a.step, a.outcome) for a in client.publish_history(first.external_id)]
    [result] = outcome
    assert isinstance(result, kfs.PublishResult) and result.status == "published"
    assert ("create", "uncertain") not in steps
    assert len(fake.receipts) == 1
    assert [c.operation for c in fake.calls].count("InsertReceipt") == 1


@pytest.mark.skipif(not PG_URL, reason="set KASHFLOW_SYNC_TEST_PG to a PostgreSQL SQLAlchemy URL")
def test_a_row_lock_on_postgresql_never_makes_a_second_copy() -> None:
    """A's journal row locked for longer than its lease (as a slow database would), while B
    publishes the twin: A's content claim and ``sending`` save are one transaction, so B
    waits on it. Whichever way it falls, KashFlow ends with one receipt and never an uncertain
    send: one of them publishes and the other is refused before sending, or A's save comes after
    its lease ran out, the fence refuses A (``lease_lost``, retryable), B is refused as its twin,
    and running A again publishes it once."""
    assert PG_URL is not None
    connection = f"rowlock-{uuid.uuid4().hex[:8]}"
    storage = kfs.SQLStorage(PG_URL)
    engine = sa.create_engine(PG_URL)
    try:
        with FakeKashFlow.serve() as fake:
            with kfs.KashFlowClient(
                fake.credentials,
                endpoint=fake.url,
                storage=storage,
                connection_id=connection,
                retry=FAST_RETRY,
            ) as client:
                client.connect()
            # A's pre-send lookup is slow: time for the test to lock A's row before A saves.
            fake.faults.delay(1.0, op="GetReceiptsForSupplier", times=1)
            lease = "2"
            a = spawn_worker(WORKER, fake, PG_URL, connection, "twin-1", lease)
            with engine.connect() as locker:
                _wait_for_row(engine, connection, "twin-1")
                tx = locker.begin()
                locker.execute(
                    sa.text(
                        "SELECT 1 FROM kashflow_sync_journal WHERE connection_id = :c "
                        "AND external_id = 'twin-1' FOR UPDATE"
                    ),
                    {"c": connection},
                )
                _wait_for_blocked(engine)  # A's claim and save wait on the row lock
                time.sleep(float(lease) + 1.0)  # A's leases run out while it waits
                b = spawn_worker(WORKER, fake, PG_URL, connection, "twin-1-again", lease)
                time.sleep(1.0)  # B reaches the content claim A's transaction holds
                tx.rollback()  # A's save goes through now
            second = worker_result(b, timeout=60)
            first = worker_result(a, timeout=60)
            if first["outcome"] == "lease_lost":
                # A's save came after its lease ran out: the fence refused it before sending,
                # said so (retryable), and B was refused as A's twin. Nothing is lost: running
                # A again publishes it, once.
                rerun = worker_result(
                    spawn_worker(WORKER, fake, PG_URL, connection, "twin-1", "30"), timeout=60
                )
                assert rerun["outcome"] == "published", rerun
            receipts = len(fake.receipts)
            inserts = [c.operation for c in fake.calls].count("InsertReceipt")
    finally:
        storage.purge(connection)
        storage.close()
        engine.dispose()
    outcomes = sorted([str(first["outcome"]), str(second["outcome"])])
    assert outcomes in (
        ["duplicate_in_ledger", "published"],
        ["duplicate_pending", "published"],
        ["duplicate_pending", "lease_lost"],
    ), (first, second)
    assert "create:uncertain" not in first["steps"]  # type: ignore[operator]
    assert "create:uncertain" not in second["steps"]  # type: ignore[operator]
    assert (receipts, inserts) == (1, 1)


def _wait_for_blocked(engine: sa.Engine) -> None:
    """Until another session waits on a lock (A's save, on the test's row lock)."""
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND datname = current_database() AND query LIKE '%kashflow_sync_journal%'"
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(query).scalar():
                return
        time.sleep(0.01)
    raise AssertionError("A never waited on the row lock")


def _wait_for_row(engine: sa.Engine, connection: str, external_id: str) -> None:
    query = sa.text(
        "SELECT count(*) FROM kashflow_sync_journal WHERE connection_id = :c AND external_id = :e"
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(query, {"c": connection, "e": external_id}).scalar():
                return
        time.sleep(0.01)
    raise AssertionError(f"{external_id} never reached the journal")


def _wait_for_content(engine: sa.Engine, connection: str) -> None:
    query = sa.text(
        "SELECT count(*) FROM kashflow_sync_journal WHERE connection_id = :c "
        "AND external_id LIKE :p AND fingerprint = 'twin-1'"
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(query, {"c": connection, "p": CONTENT_KEY_PREFIX + "%"}).scalar():
                return
        time.sleep(0.01)
    raise AssertionError("A never claimed the content")


_ = (json, subprocess)  # the workers speak JSON over a pipe (see _support.worker_result)
