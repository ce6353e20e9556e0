"""Waits said, stops honoured, outages noticed: both clients, against the fake KashFlow.

A publish waiting on another holder's lease logs whose, until when and why (once, with the
document's log context); a holder of this machine that no longer runs is taken over at once;
a stop signal ends a publish before its next write and gives its entry back; a batch whose
documents keep failing to reach KashFlow stops with one ``UnreachableError``.
"""

from __future__ import annotations

import functools
import logging
import signal
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import kashflow_sync as kfs
from _clients import KINDS, BlockingAsyncClient, any_client
from _support import purchase
from kashflow_sync import errors
from kashflow_sync._clients.batch import Breaker
from kashflow_sync._clients.owners import this_host
from kashflow_sync._journal.entry import JournalEntry
from kashflow_sync.testing import FakeKashFlow

OTHER_HOST_OWNER = "0123456789abcdef:4242@build-box"


def _hold(client: Any, external_id: str, owner: str, seconds: float) -> None:
    now = datetime.now(timezone.utc)
    entry = JournalEntry(client.connection_id, external_id, "purchase_invoice", "earlier")
    until = now + timedelta(seconds=seconds)
    assert client.storage.claim_journal(entry, owner, now, until).acquired


def _waits(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "lease_wait", None) is not None]


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _publish(client: Any, document: kfs.Document, stop: Any) -> kfs.PublishResult:
    """Publish through the client's stoppable path (the one publish_many and the CLI use)."""
    if isinstance(client, BlockingAsyncClient):
        return client._call("_publish", document, stop=stop)  # type: ignore[no-any-return]
    return client._publish(document, stop=stop)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------- waits


@pytest.mark.parametrize("kind", KINDS)
def test_a_wait_on_another_holder_is_logged_once_with_whose_and_until_when(
    kind: str, fake: FakeKashFlow, caplog: pytest.LogCaptureFixture
) -> None:
    """A document held elsewhere for a second: one warning naming the holder, then published."""
    doc = purchase(1, attach=False, pay=False)
    with any_client(kind, fake) as client:
        client.connect()
        _hold(client, doc.external_id, OTHER_HOST_OWNER, seconds=1)
        with caplog.at_level(logging.WARNING, logger="kashflow_sync"):
            started = time.monotonic()
            result = client.publish(doc)
        assert time.monotonic() - started >= 0.5
    assert result.status == "published"
    [record] = _waits(caplog)
    assert record.levelno == logging.WARNING
    assert record.external_id == doc.external_id  # type: ignore[attr-defined]
    assert record.connection_id == client.connection_id  # type: ignore[attr-defined]
    message = record.getMessage()
    assert f"waiting for {doc.external_id!r}" in message
    assert "being published now by process 4242 on build-box (call 0123456789abcdef)" in message
    assert " UTC (" in message and "s from now" in message
    assert record.lease_wait.entry.owner == OTHER_HOST_OWNER  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", KINDS)
def test_a_holder_of_this_machine_that_no_longer_runs_is_taken_over_at_once(
    kind: str, fake: FakeKashFlow, caplog: pytest.LogCaptureFixture
) -> None:
    """A hold by a process that ended: published at once (not in 20 s), the takeover logged."""
    doc = purchase(2, attach=False, pay=False)
    pid = _dead_pid()
    with any_client(kind, fake) as client:
        client.connect()
        _hold(client, doc.external_id, f"0123456789abcdef:{pid}@{this_host()}", seconds=20)
        with caplog.at_level(logging.WARNING, logger="kashflow_sync"):
            started = time.monotonic()
            result = client.publish(doc)
        assert time.monotonic() - started < 10
    assert result.status == "published"
    [record] = _waits(caplog)
    assert f"took over {doc.external_id!r} from process {pid}" in record.getMessage()
    assert len(fake.receipts) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_holder_still_running_here_is_waited_for(kind: str, fake: FakeKashFlow) -> None:
    """A process of this machine that still runs holds the entry: no takeover, the lease stands."""
    doc = purchase(3, attach=False, pay=False)
    alive = subprocess.Popen(["sleep", "60"])
    try:
        with any_client(kind, fake) as client:
            client.connect()
            _hold(client, doc.external_id, f"0123456789abcdef:{alive.pid}@{this_host()}", 1)
            started = time.monotonic()
            assert client.publish(doc).status == "published"
            assert time.monotonic() - started >= 0.5
    finally:
        alive.kill()
        alive.wait()


# ---------------------------------------------------------------------------- stops


class _AfterCreate:
    """A stop signal that is set once KashFlow holds a receipt (the create landed)."""

    def __init__(self, fake: FakeKashFlow) -> None:
        self.fake = fake

    def is_set(self) -> bool:
        return bool(self.fake.receipts)


@pytest.mark.parametrize("kind", KINDS)
def test_a_stop_ends_a_publish_before_its_next_write_and_gives_it_back(
    kind: str, fake: FakeKashFlow
) -> None:
    """Stopped after the create: no attachment or payment sent, the entry free; then finished."""
    doc = purchase(4)
    with any_client(kind, fake) as client:
        client.connect()
        with pytest.raises(errors.TransientError) as caught:
            _publish(client, doc, _AfterCreate(fake))
        assert caught.value.code == "stopped" and not caught.value.request_sent
        assert len(fake.receipts) == 1 and fake.payments == [] and fake.attachments == []
        entry = client.storage.get_journal(client.connection_id, doc.external_id)
        assert entry.state == "created" and entry.owner is None and entry.lease_until is None
        assert client.publish(doc).status == "published"
    assert len(fake.receipts) == 1 and len(fake.payments) == 1 and len(fake.attachments) == 1


# ---------------------------------------------------------------------------- the breaker


def _batch_with_outage(
    kind: str, limit: int | None, count: int = 40
) -> tuple[kfs.BatchResult, int]:
    """Publish *count* documents two at a time; KashFlow goes away after the third is done."""
    docs = [purchase(i, prefix="out", attach=False, pay=False) for i in range(count)]
    with FakeKashFlow.serve() as fake, any_client(kind, fake, loopback=True) as client:
        client.connect()

        def progress(event: kfs.BatchProgress) -> None:
            if event.done == 3:
                fake.stop()

        batch = client.publish_many(
            docs, concurrency=2, progress=progress, stop_after_failures=limit
        )
        return batch, len(fake.receipts)


@pytest.mark.parametrize("kind", KINDS)
def test_kashflow_going_away_stops_the_batch_with_one_summary(kind: str) -> None:
    """Three connection failures in a row: nothing more starts; one UnreachableError says so."""
    batch, landed = _batch_with_outage(kind, limit=3)
    stopped = batch.stopped
    assert isinstance(stopped, errors.UnreachableError)
    assert stopped.code == "kashflow_unreachable" and stopped.retryable
    untried = [item for item in batch if item.error is stopped]
    assert stopped.not_attempted == len(untried) >= 30
    assert stopped.failures >= 3
    assert f"{len(untried)} documents not attempted, safe to run again" in stopped.message
    assert stopped.message.startswith("KashFlow unreachable since ")
    assert len(batch) == 40 and len(batch.published) <= landed  # one may be uncertain
    tried = [item for item in batch if item.error is not stopped]
    assert all(item.ok or item.error.code != "kashflow_unreachable" for item in tried)


@pytest.mark.parametrize("kind", KINDS)
def test_without_a_breaker_every_document_is_tried(kind: str) -> None:
    """stop_after_failures=None: the old behaviour, a connection failure per document."""
    batch, landed = _batch_with_outage(kind, limit=None, count=12)
    assert batch.stopped is None
    assert len(batch.failed) == 12 - len(batch.published)
    # A document in flight at the outage may have landed with its outcome unknown (uncertain).
    assert len(batch.published) <= landed <= len(batch.published) + 2
    codes = [item.error.code for item in batch.failed]
    assert "kashflow_unreachable" not in codes and "stopped" not in codes
    # Each tried, and failed its own way: the two in flight at the outage perhaps uncertain.
    assert sum(code in ("connection_failed", "connection_lost") for code in codes) >= len(codes) - 2


@pytest.mark.parametrize("limit", [0, -1, 1.5, True, "3"])
def test_a_breaker_limit_must_be_a_whole_number(fake: FakeKashFlow, limit: Any) -> None:
    """A limit that is not None or a whole number of at least 1 is refused before any work."""
    with any_client("sync", fake) as client, pytest.raises(ValueError, match="stop_after_failures"):
        client.publish_many([], stop_after_failures=limit)


def _transient(code: str) -> errors.TransientError:
    return errors.TransientError("x", code=errors.ErrorCode(code))


PUBLISHED = kfs.PublishResult("a", "purchase_invoice", 1, 2, "published")
ALREADY = kfs.PublishResult("a", "purchase_invoice", 1, 2, "already_published")

BREAKER_CASES = [
    # (outcomes in completion order, trips at a limit of 3)
    ([_transient("connection_failed")] * 3, True),
    ([_transient("connect_timeout"), _transient("timeout"), _transient("connection_lost")], True),
    ([_transient("connection_failed")] * 2 + [PUBLISHED, _transient("connection_failed")], False),
    (
        [_transient("connection_failed")] * 2
        + [errors.RejectedError("no", code=errors.ErrorCode.REJECTED)]
        + [_transient("connection_failed")],
        False,
    ),
    # Neither KashFlow's answer nor a failure to reach it: the run of failures goes on.
    ([_transient("connection_failed")] * 2 + [ALREADY, _transient("connection_failed")], True),
    (
        [_transient("connection_failed")] * 2
        + [errors.ValidationError([]), _transient("connection_failed")],
        True,
    ),
    ([_transient("http_503")] * 5, False),
]


@pytest.mark.parametrize(("outcomes", "trips"), BREAKER_CASES)
def test_breaker_counts_connection_failures_in_a_row(outcomes: list[Any], trips: bool) -> None:
    """What counts toward the limit, what ends a run of failures, what leaves it as it is."""
    breaker = Breaker(3)
    for outcome in outcomes:
        breaker.record(outcome)
    assert breaker.tripped is trips
    assert breaker.stop.is_set() is trips


# ---------------------------------------------------------------------------- Ctrl-C


@pytest.mark.parametrize("concurrency", [1, 2])
def test_ctrl_c_in_publish_many_stops_the_batch_and_gives_its_entries_back(
    concurrency: int,
) -> None:
    """Ctrl-C (KeyboardInterrupt in the caller's thread) two documents in, a third one's
    create in flight on the other thread: it reaches the caller, nothing more starts, the
    third is not attached or paid (it stops before its next write), no entry is left held;
    the same batch run again finishes every document, each once."""
    docs = [purchase(100 + i) for i in range(20)]
    finished: list[str] = []

    def interrupt_after_two(fake: FakeKashFlow, progress: kfs.BatchProgress) -> None:
        finished.append(progress.external_id)
        if len(finished) != 2:
            return
        deadline = time.monotonic() + 5
        while concurrency > 1 and len(fake.faults.fired) < 3:  # the third create is out
            assert time.monotonic() < deadline
            time.sleep(0.005)
        # Ctrl-C: SIGINT to the main thread, which raises KeyboardInterrupt there; this thread
        # gives it time to (the third create takes a second), before it looks for its next
        # document.
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        time.sleep(0.5)

    # Over loopback, where a delayed answer really waits.
    with FakeKashFlow.serve() as fake, any_client("sync", fake, loopback=True) as client:
        client.connect()
        # A create takes a second: the windows this test needs are far wider than a busy
        # machine's scheduling delays.
        fake.faults.delay(1.0, op="InsertReceipt", times=None)
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            client.publish_many(
                docs,
                concurrency=concurrency,
                progress=functools.partial(interrupt_after_two, fake),
            )
        assert time.monotonic() - started < 8  # not the 20 documents' 10 s and more
        in_flight = 0 if concurrency == 1 else 1
        assert len(fake.receipts) == 2 + in_flight
        assert (len(fake.attachments), len(fake.payments)) == (2, 2)
        held = [row.external_id for row in client.journal(None) if row.held_by is not None]
        assert held == []
        fake.faults.clear()
        again = client.publish_many(docs, concurrency=2)
        receipts = sorted(r.customer_reference for r in fake.receipts)
        attached_and_paid = (len(fake.attachments), len(fake.payments))
    assert not again.failed, [item.error for item in again.failed]
    assert receipts == sorted(d.reference for d in docs)
    assert attached_and_paid == (20, 20)


@pytest.mark.parametrize("kind", KINDS)
def test_a_progress_hook_that_raises_stops_the_batch(kind: str) -> None:
    """The caller's progress hook fails two documents in: its error reaches the caller once
    the batch has stopped (nothing more started), and no entry is left held."""
    docs = [purchase(200 + i, attach=False, pay=False) for i in range(20)]

    def broken(progress: kfs.BatchProgress) -> None:
        if progress.done == 2:
            raise LookupError("the hook's own bug")

    with FakeKashFlow.serve() as fake, any_client(kind, fake, loopback=True) as client:
        client.connect()
        # A create takes a second: wider windows than a busy machine's scheduling delays.
        fake.faults.delay(1.0, op="InsertReceipt", times=None)
        with pytest.raises(LookupError, match="the hook's own bug"):
            client.publish_many(docs, concurrency=2, progress=broken)
        landed = len(fake.receipts)
        held = [row.external_id for row in client.journal(None) if row.held_by is not None]
    assert 2 <= landed <= 4, landed  # the two done, and at most the two then in flight
    assert held == []
