"""Exactly-once over at-least-once: real workers, faults firing, one worker SIGKILLed mid-run.

Two ``celery worker`` processes (two pool processes each) publish 300 documents with
attachments and payments through one PostgreSQL journal to the fake KashFlow on loopback, while
the fake drops answers, refuses with 503, resets connections and, rarely, answers too late. A
third of the way in, one worker is SIGKILLed with its pool (a machine dying: its tasks in flight
are delivered again by the broker); a new worker starts. Every document must then be in
KashFlow exactly once with its attachment and payment, and every task must have reached a final
state. Once with RabbitMQ as the broker (results in PostgreSQL), once with Redis.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from _scale_app import build
from _workers import ConfigFactory, Worker
from celery.result import AsyncResult

import kashflow_sync as kfs
from _support import ledger_check, purchase
from kashflow_sync.testing import FakeKashFlow
from kashflow_sync.testing._fake.faults import WRITE_OPERATIONS

N_DOCS = 300
#: The run must finish in this long (it takes well under a minute on two cores).
DEADLINE = 240.0


def _faults(fake: FakeKashFlow) -> None:
    faults = fake.faults
    faults.random("drop_response", 0.03, seed="drop", op=WRITE_OPERATIONS)  # applied, answer lost
    faults.random("http_error", 0.03, seed="503", status=503)  # refused before applying
    faults.random("reset_before", 0.02, seed="reset")  # the connection dropped first
    faults.random("delay", 0.003, seed="slow", seconds=3.0)  # answered after the client gave up


def _wait_for(condition: Any, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("broker", "kashflow_ids"), [("amqp", "at_once"), ("redis", "at_once"), ("redis", "batched")]
)
def test_300_documents_exactly_once_through_a_killed_worker(
    broker: str,
    kashflow_ids: str,
    scale_config: ConfigFactory,
    served_fake: FakeKashFlow,
    tmp_path: Path,
) -> None:
    """0 duplicates, 0 lost, every task final, after SIGKILLing a worker mid-run; with batched
    ids, every id the journal holds is the one KashFlow gave that number."""
    config = scale_config(broker, timeout=2.0, lease=8.0, kashflow_ids=kashflow_ids)
    _app, tasks = build(config)
    connection_id = f"kill-{broker}-{uuid.uuid4().hex[:8]}"
    with (
        kfs.SQLStorage(config["db"]) as storage,
        kfs.KashFlowClient(
            served_fake.credentials,
            endpoint=served_fake.url,
            storage=storage,
            connection_id=connection_id,
        ) as client,
    ):
        client.connect()
    prefix = f"k{uuid.uuid4().hex[:6]}"
    docs = [purchase(i, prefix=prefix) for i in range(N_DOCS)]
    workers = [Worker(config, f"{broker}-{n}-{prefix}", tmp_path) for n in ("a", "b")]
    try:
        for worker in workers:
            worker.wait_ready()
        _faults(served_fake)
        started = time.monotonic()
        pending: list[AsyncResult[Any]] = [
            tasks.publish.delay(connection_id, kfs.document_to_json(doc)) for doc in docs
        ]
        _wait_for(lambda: len(served_fake.receipts) >= N_DOCS // 3, "a third published", 120)
        workers[0].kill()
        landed_at_kill = len(served_fake.receipts)
        workers.append(Worker(config, f"{broker}-c-{prefix}", tmp_path))
        workers[2].wait_ready()
        remaining = DEADLINE - (time.monotonic() - started)
        _wait_for(lambda: all(r.ready() for r in pending), "every task to finish", remaining)
        elapsed = time.monotonic() - started
        fired = len(served_fake.faults.fired)
        results = [r.get(timeout=10) for r in pending]
    finally:
        for worker in workers:
            worker.stop()
    statuses = [r["status"] for r in results]
    failed = [r for r in results if r["status"] not in ("published", "already_published")]
    assert failed == [], failed[:3]
    assert landed_at_kill < N_DOCS, "the kill did not land mid-run"
    assert fired >= 30, f"only {fired} faults fired"
    assert {r["external_id"] for r in results} == {d.external_id for d in docs}
    assert ledger_check(served_fake, docs) == (0, 0)
    assert len(served_fake.receipts) == N_DOCS
    with kfs.SQLStorage(config["db"]) as storage:
        unfinished = storage.list_journal(connection_id, states=["claimed", "sending", "created"])
        published = list(storage.list_journal(connection_id, states=["published"]))
        storage.purge(connection_id)  # the database outlives the run: leave nothing behind
    assert list(unfinished) == []
    ids = {r.number: r.kashflow_id for r in served_fake.receipts}
    mine = {d.external_id for d in docs}
    entries = [e for e in published if e.external_id in mine]
    assert len(entries) == N_DOCS
    assert [e.external_id for e in entries if e.kashflow_id not in (None, ids.get(e.number))] == []
    if kashflow_ids == "at_once":
        assert all(e.kashflow_id for e in entries)
    redelivered = statuses.count("already_published")
    print(f"{broker}: {N_DOCS} docs in {elapsed:.1f}s; {fired} faults; {redelivered} redelivered")
