"""The publish and refresh tasks, run by a real ``celery worker`` on Redis (never eager mode)."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from _scale_app import build
from _services import broker_config, cleanup, service_url
from _workers import Worker
from celery import Celery
from celery.result import AsyncResult

import kashflow_sync as kfs
from _support import ledger_check, purchase
from kashflow_sync.celery import KashFlowTasks
from kashflow_sync.testing import FakeKashFlow

WAIT = 60.0


@attrs.frozen
class Env:
    fake: FakeKashFlow
    app: Celery
    tasks: KashFlowTasks
    worker: Worker
    pg: str
    refreshed: tuple[str, str]
    made: list[str] = attrs.field(factory=list)

    @contextlib.contextmanager
    def client(self, connection_id: str) -> Iterator[kfs.KashFlowClient]:
        """A client of *connection_id* in this process, on the shared PostgreSQL journal."""
        with (
            kfs.SQLStorage(self.pg) as storage,
            kfs.KashFlowClient(
                self.fake.credentials,
                endpoint=self.fake.url,
                storage=storage,
                connection_id=connection_id,
            ) as client,
        ):
            yield client

    def connected(self, prefix: str = "c") -> str:
        """A new connection, connected (lists synced) in the shared PostgreSQL journal."""
        connection_id = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.made.append(connection_id)
        with self.client(connection_id) as client:
            client.connect()
        return connection_id


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """One fake, one worker (two processes) and the app, shared by the tests of this module."""
    pg = service_url("pg")
    run_id = uuid.uuid4().hex[:10]
    refreshed = (f"r1-{run_id}", f"r2-{run_id}")
    with FakeKashFlow.serve() as fake:
        creds = fake.credentials
        config = {
            **broker_config("redis", run_id),
            "kind": "redis",
            "queue": f"kfs-test-{run_id}",
            "db": pg,
            "fake": {
                "url": fake.url,
                "username": creds.username,
                "password": creds.password,
                "autoauth_key": creds.autoauth_key,
            },
            "refresh_all": list(refreshed),
        }
        app, tasks = build(config)
        worker = Worker(config, f"tasks-{run_id}", tmp_path_factory.mktemp("workers"))
        env = Env(fake, app, tasks, worker, pg, refreshed, [*refreshed])
        try:
            worker.wait_ready()
            yield env
        finally:
            worker.stop()
            with kfs.SQLStorage(pg) as storage:  # the database outlives the run
                for connection_id in env.made:
                    storage.purge(connection_id)
            cleanup(config)


def result(async_result: AsyncResult[Any]) -> Any:
    return async_result.get(timeout=WAIT)


def test_publish_returns_plain_json_with_the_number(env: Env) -> None:
    """The result is the contract's JSON: status, number, kashflow_id, and a null error."""
    connection_id = env.connected()
    doc = purchase(1, prefix=f"json{uuid.uuid4().hex[:6]}")
    out = result(env.tasks.publish.delay(connection_id, kfs.document_to_json(doc)))
    assert set(out) == {
        "external_id",
        "status",
        "number",
        "kashflow_id",
        "error",
        "applied",
        "notices",
    }
    assert (out["external_id"], out["status"], out["error"]) == (doc.external_id, "published", None)
    assert isinstance(out["number"], int) and isinstance(out["kashflow_id"], int)
    assert ledger_check(env.fake, [doc]) == (0, 0)


def test_publishing_again_is_already_published(env: Env) -> None:
    """The same document enqueued twice is created once; the second result says so."""
    connection_id = env.connected()
    doc = purchase(2, prefix=f"twice{uuid.uuid4().hex[:6]}")
    first = result(env.tasks.publish.delay(connection_id, kfs.document_to_json(doc)))
    second = result(env.tasks.publish.delay(connection_id, kfs.document_to_json(doc)))
    assert (first["status"], second["status"]) == ("published", "already_published")
    assert first["number"] == second["number"]


def test_a_document_with_problems_fails_with_each_remedy(env: Env) -> None:
    """Validation problems end as a failed result listing them; nothing is sent or retried."""
    connection_id = env.connected()
    doc = purchase(3, prefix=f"bad{uuid.uuid4().hex[:6]}")
    data = kfs.document_to_json(doc)
    data["lines"][0]["category"] = 9999
    sent = len(env.fake.receipts)
    out = result(env.tasks.publish.delay(connection_id, data))
    assert out["status"] == "failed" and out["number"] is None
    error = out["error"]
    assert (error["code"], error["retryable"]) == ("validation_failed", False)
    assert "unknown_category" in [p["code"] for p in error["problems"]]
    assert all(p["remedy"] for p in error["problems"])
    assert len(env.fake.receipts) == sent


def test_data_that_is_not_a_document_fails_as_a_result(env: Env) -> None:
    """JSON that breaks the document format is a failed result naming the problems."""
    out = result(env.tasks.publish.delay(env.connected(), {"external_id": "x-1", "lines": []}))
    assert (out["external_id"], out["status"]) == ("x-1", "failed")
    assert out["error"]["code"] == "validation_failed" and out["error"]["problems"]


def test_transient_trouble_is_retried_until_it_passes(env: Env) -> None:
    """KashFlow answering 503 more often than the SDK retries: the task retries and publishes."""
    connection_id = env.connected()
    doc = purchase(4, prefix=f"retry{uuid.uuid4().hex[:6]}")
    fault = env.fake.faults.http_error(503, op="InsertReceipt", times=7)
    try:
        out = result(env.tasks.publish.delay(connection_id, kfs.document_to_json(doc)))
    finally:
        env.fake.faults.clear()
    assert out["status"] == "published"
    assert fault.remaining == 0  # every one fired: more than one task run was needed
    assert ledger_check(env.fake, [doc]) == (0, 0)


def test_a_read_only_database_is_retried_until_the_primary_is_back(env: Env) -> None:
    """A failover's read-only primary in the first two runs: the third run publishes, once."""
    connection_id = env.connected("demoted")
    doc = purchase(8, prefix=f"demoted{uuid.uuid4().hex[:6]}")
    out = result(env.tasks.publish.delay(connection_id, kfs.document_to_json(doc)))
    assert (out["status"], out["error"]) == ("published", None)
    assert ledger_check(env.fake, [doc]) == (0, 0)
    retried = f"{connection_id}/{doc.external_id}: "
    runs = [line for line in env.worker.text().splitlines() if retried in line]
    assert len(runs) == 2 and all("(database_read_only); run" in line for line in runs)


def test_retries_running_out_end_as_a_retryable_failure(env: Env) -> None:
    """When the task's retries run out the result says failed, retryable, with a remedy."""
    connection_id = env.connected()
    doc = purchase(5, prefix=f"out{uuid.uuid4().hex[:6]}")
    env.fake.faults.http_error(503, op="InsertReceipt", times=None)
    try:
        out = result(
            env.app.send_task("kfs_one_retry.publish", (connection_id, kfs.document_to_json(doc)))
        )
    finally:
        env.fake.faults.clear()
    assert out["status"] == "failed"
    assert out["error"]["retryable"] is True and out["error"]["code"] == "http_503"
    assert out["error"]["remedy"]


def test_a_connection_never_connected_fails_without_retrying(env: Env) -> None:
    """Publishing for an unknown connection is a failed result (not_connected) at once."""
    doc = purchase(6, prefix="nc")
    started = time.monotonic()
    out = result(env.tasks.publish.delay(f"never-{uuid.uuid4().hex}", kfs.document_to_json(doc)))
    assert out["error"]["code"] == "not_connected" and out["error"]["retryable"] is False
    assert time.monotonic() - started < WAIT


def test_a_bug_in_the_host_factory_is_a_task_failure(env: Env) -> None:
    """An exception that is not a KashFlowError ends the task in Celery's FAILURE state."""
    pending = env.tasks.publish.delay("host-bug", kfs.document_to_json(purchase(7)))
    with pytest.raises(RuntimeError, match="host's factory has a bug"):
        pending.get(timeout=WAIT)
    assert pending.state == "FAILURE"


def test_refresh_reports_each_list(env: Env) -> None:
    """The refresh task returns what changed per list, as JSON."""
    out = result(env.tasks.refresh.delay(env.connected()))
    assert (out["status"], out["error"]) == ("refreshed", None)
    assert "suppliers" in out["lists"] and set(out["lists"]["suppliers"]) == {
        "added",
        "changed",
        "archived",
        "unchanged",
    }


def test_refresh_that_would_archive_most_suppliers_fails_until_forced(env: Env) -> None:
    """An answer emptying the supplier list: the task fails saying so; force=True stores it."""
    for i in range(12):
        env.fake.add_supplier(f"Mass Supplier {uuid.uuid4().hex[:6]} {i}")
    connection_id = env.connected()
    env.fake.faults.hostile_answer("no_result", op="GetSuppliers", times=None)
    try:
        refused = result(env.tasks.refresh.delay(connection_id, ["suppliers"]))
        forced = result(env.tasks.refresh.delay(connection_id, ["suppliers"], force=True))
    finally:
        env.fake.faults.clear()
    assert (refused["status"], refused["error"]["code"]) == ("failed", "mass_archive_refused")
    assert forced["status"] == "refreshed"
    assert forced["lists"]["suppliers"]["archived"] >= 15


def test_refresh_all_enqueues_a_refresh_per_connection(env: Env) -> None:
    """The beat task refreshes every listed connection: a new supplier reaches both."""
    for connection_id in env.refreshed:
        with env.client(connection_id) as client:
            client.connect()
    name = f"Fresh Supplier {uuid.uuid4().hex[:6]}"
    env.fake.add_supplier(name)
    out = result(env.app.send_task("kashflow_sync.refresh_all"))
    assert out == {"scheduled": 2}
    deadline = time.monotonic() + WAIT
    with kfs.SQLStorage(env.pg) as storage:
        while time.monotonic() < deadline:
            names = [{s.name for s in storage.load_list(c, "suppliers")} for c in env.refreshed]
            if all(name in found for found in names):
                break
            time.sleep(0.2)
    assert all(name in found for found in names)


def test_refresh_all_is_on_the_beat_schedule(env: Env) -> None:
    """schedule_refreshes adds a beat entry running refresh_all every 48 hours."""
    from datetime import timedelta

    entry = env.app.conf.beat_schedule["kashflow_sync.refresh_all"]
    assert (entry["task"], entry["schedule"]) == ("kashflow_sync.refresh_all", timedelta(hours=48))


def test_no_secret_reaches_results_or_the_worker_log(env: Env) -> None:
    """Neither the password nor the AutoAuth key appears in a result or the worker's log."""
    connection_id = env.connected()
    doc = purchase(8, prefix=f"sec{uuid.uuid4().hex[:6]}")
    out = result(env.tasks.publish.delay(connection_id, kfs.document_to_json(doc)))
    creds = env.fake.credentials
    secrets = [creds.password, creds.autoauth_key or "1234ABCD-1234"]
    text = env.worker.text() + repr(out)
    assert "succeeded" in env.worker.text()
    assert not [s for s in secrets if s in text]


def test_workers_keep_lists_between_tasks_yet_see_a_refresh(env: Env) -> None:
    """Both worker processes keep the connection's lists and ledger lookups between tasks
    (fewer history downloads than documents), and a refresh made elsewhere reaches them: a
    supplier new in KashFlow is found, not created again."""
    connection_id = env.connected()
    prefix = f"keep{uuid.uuid4().hex[:6]}"
    before = len(env.fake.calls_to("GetReceiptsForSupplier"))
    docs = [purchase(i, prefix=prefix) for i in range(8)]
    outs = [
        result(r)
        for r in [env.tasks.publish.delay(connection_id, kfs.document_to_json(d)) for d in docs]
    ]
    assert {o["status"] for o in outs} == {"published"}
    # One download per worker process at most (the cache is per process), not one per task.
    assert len(env.fake.calls_to("GetReceiptsForSupplier")) - before <= 2

    name = f"Brand New {uuid.uuid4().hex[:6]}"
    env.fake.add_supplier(name)
    with env.client(connection_id) as elsewhere:
        elsewhere.refresh_lists(only=["suppliers"])
    inserted = len(env.fake.calls_to("InsertSupplier"))
    fresh = [attrs.evolve(purchase(20 + i, prefix=prefix), supplier=name) for i in range(4)]
    outs = [
        result(r)
        for r in [env.tasks.publish.delay(connection_id, kfs.document_to_json(d)) for d in fresh]
    ]
    assert {o["status"] for o in outs} == {"published"}
    assert len(env.fake.calls_to("InsertSupplier")) == inserted


@pytest.mark.parametrize("factor", [1.05, 1.5, 3.0])
def test_verify_reports_every_copy_applied_after_the_settle_time(env: Env, factor: float) -> None:
    """A create KashFlow applies after the worker gave up and after its settle time is a
    second copy: the verify task reports it (duplicated), and nothing else."""
    connection_id = env.connected("verify")
    doc = purchase(1, prefix=f"late{uuid.uuid4().hex[:6]}", attach=False, pay=False)
    settle, timeout = 3.0, 5.0  # as _scale_app's defaults
    env.fake.faults.late_apply(factor * settle, op="InsertReceipt", times=1)
    out = result(env.tasks.publish.delay(connection_id, kfs.document_to_json(doc)))
    assert out["status"] == "published" or out["error"]["code"] == "duplicate_created", out
    env.fake.settle(timeout=factor * settle + timeout + 10)
    report = result(env.tasks.verify.delay(connection_id))
    copies = [r for r in env.fake.receipts if r.customer_reference == doc.reference]
    reported = [e["external_id"] for e in report["entries"] if e["state"] == "duplicated"]
    assert report["status"] == "verified" and report["error"] is None
    assert reported == ([doc.external_id] if len(copies) > 1 else [])
    if factor > 1.2:
        assert len(copies) == 2, "the late write made no duplicate: the test proves nothing"
