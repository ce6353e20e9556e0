"""A publish task on a real worker joins the trace of the code that enqueued it.

The caller enqueues inside its own span; the worker (a ``celery worker`` process on Redis)
publishes with a client that reports to its own ``TracerProvider``, which writes spans to a
file. The worker's ``kashflow_sync.publish`` span must be a child of the caller's span, in the
caller's trace, and its KashFlow calls under it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from _otel_app import build
from _services import broker_config, cleanup
from opentelemetry.sdk.trace import TracerProvider

import kashflow_sync as kfs
from _support import purchase
from kashflow_sync.testing import FakeKashFlow

HERE = Path(__file__).resolve().parent


def _worker(config: dict[str, Any], log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KFS_OTEL_CONFIG": json.dumps(config),
        "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent)]),
    }
    command = [sys.executable, "-m", "celery", "-A", "_otel_app", "worker", "--pool", "solo"]
    command += ["--loglevel", "INFO", "--without-gossip", "--without-mingle"]
    command += ["--without-heartbeat", "--hostname", f"otel-{uuid.uuid4().hex[:6]}@%h"]
    with log.open("w") as out:
        return subprocess.Popen(
            command,
            cwd=HERE,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def test_a_publish_task_joins_the_callers_trace(served_fake: FakeKashFlow, tmp_path: Path) -> None:
    """Enqueued in the caller's span: the worker's publish span is its child, same trace."""
    run_id = uuid.uuid4().hex[:10]
    creds = served_fake.credentials
    config = {
        **broker_config("redis", run_id),
        "kind": "redis",
        "queue": f"kfs-otel-{run_id}",
        "db": f"sqlite:///{tmp_path / 'journal.db'}",
        "spans": str(tmp_path / "spans.jsonl"),
        "fake": {
            "url": served_fake.url,
            "username": creds.username,
            "password": creds.password,
            "autoauth_key": creds.autoauth_key,
        },
    }
    storage = kfs.SQLStorage(config["db"])
    with kfs.KashFlowClient(creds, endpoint=served_fake.url, storage=storage) as client:
        client.connect()
    app, tasks = build(config)
    log = tmp_path / "worker.log"
    worker = _worker(config, log)
    try:
        deadline = time.monotonic() + 60
        while " ready." not in log.read_text() and time.monotonic() < deadline:
            assert worker.poll() is None, log.read_text()[-3000:]
            time.sleep(0.1)
        tracer = TracerProvider().get_tracer("the host")
        with tracer.start_as_current_span("caller") as caller:
            pending = tasks.publish.delay("default", kfs.document_to_json(purchase(1)))
        outcome = pending.get(timeout=60)
    finally:
        _stop(worker)
        cleanup(config)
        app.close()
    assert outcome["status"] == "published", outcome
    spans = [json.loads(line) for line in Path(config["spans"]).read_text().splitlines()]
    [publish] = [s for s in spans if s["name"] == "kashflow_sync.publish"]
    assert publish["trace_id"] == caller.get_span_context().trace_id
    assert publish["parent_id"] == caller.get_span_context().span_id
    under = {s["name"] for s in spans if s["parent_id"] == publish["span_id"]}
    assert "KashFlow/InsertReceipt" in under, spans
