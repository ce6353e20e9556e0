"""A publish task on a real worker joins the trace of the code that enqueued it.

The caller enqueues inside its own span; the worker (a ``celery worker`` process, on RabbitMQ
and on Redis) publishes with a client that reports to its own ``TracerProvider``, which writes
spans to a file. The worker's ``kashflow_sync.publish`` span must be a child of the caller's
span, in the caller's trace, and its KashFlow calls under it. Beside
``opentelemetry-instrumentation-celery`` (on both sides), the instrumentation's spans sit in
between, and the SDK adds no second context of its own.
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

import pytest
from _otel_app import build
from _services import broker_config, cleanup
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

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


BROKERS = ["amqp", "redis"]


def _config(kind: str, fake: FakeKashFlow, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:10]
    creds = fake.credentials
    return {
        **broker_config(kind, run_id),
        "kind": kind,
        "queue": f"kfs-otel-{run_id}",
        "db": f"sqlite:///{tmp_path / 'journal.db'}",
        "spans": str(tmp_path / "spans.jsonl"),
        "fake": {
            "url": fake.url,
            "username": creds.username,
            "password": creds.password,
            "autoauth_key": creds.autoauth_key,
        },
        **extra,
    }


def _publish_on_a_worker(
    config: dict[str, Any], fake: FakeKashFlow, tmp_path: Path, tracer: Any
) -> tuple[Any, list[dict[str, Any]]]:
    """Start a worker for *config*; enqueue a publish in a span ``caller`` of *tracer*.

    Returns the caller's span and the spans the worker wrote.
    """
    storage = kfs.SQLStorage(config["db"])
    with kfs.KashFlowClient(fake.credentials, endpoint=fake.url, storage=storage) as client:
        client.connect()
    app, tasks = build({**config, "instrument": False})
    log = tmp_path / "worker.log"
    worker = _worker(config, log)
    try:
        deadline = time.monotonic() + 60
        while " ready." not in log.read_text() and time.monotonic() < deadline:
            assert worker.poll() is None, log.read_text()[-3000:]
            time.sleep(0.1)
        with tracer.start_as_current_span("caller") as caller:
            pending = tasks.publish.delay("default", kfs.document_to_json(purchase(1)))
        outcome = pending.get(timeout=60)
    finally:
        _stop(worker)
        cleanup(config)
        app.close()
    assert outcome["status"] == "published", outcome
    return caller, [json.loads(line) for line in Path(config["spans"]).read_text().splitlines()]


@pytest.mark.parametrize("kind", BROKERS)
def test_a_publish_task_joins_the_callers_trace(
    kind: str, served_fake: FakeKashFlow, tmp_path: Path
) -> None:
    """Enqueued in the caller's span: the worker's publish span is its child, same trace."""
    config = _config(kind, served_fake, tmp_path)
    tracer = TracerProvider().get_tracer("the host")
    caller, spans = _publish_on_a_worker(config, served_fake, tmp_path, tracer)
    [publish] = [s for s in spans if s["name"] == "kashflow_sync.publish"]
    assert publish["trace_id"] == caller.get_span_context().trace_id
    assert publish["parent_id"] == caller.get_span_context().span_id
    under = {s["name"] for s in spans if s["parent_id"] == publish["span_id"]}
    assert "KashFlow/InsertReceipt" in under, spans


def _instrumented(
    kind: str, fake: FakeKashFlow, tmp_path: Path, *, instrument: bool | str
) -> tuple[Any, ReadableSpan, list[dict[str, Any]]]:
    """A publish enqueued with the Celery instrumentation on in both the caller and the worker
    (*instrument*: ``True``, or ``"links"`` for ``use_span_links``).

    Returns the caller's span, the caller's ``apply_async/<task>`` span, and the worker's spans.
    """
    config = _config(kind, fake, tmp_path, instrument=instrument)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    CeleryInstrumentor().instrument(tracer_provider=provider)
    try:
        caller, spans = _publish_on_a_worker(config, fake, tmp_path, provider.get_tracer("h"))
    finally:
        CeleryInstrumentor().uninstrument()
    [send] = [s for s in exporter.get_finished_spans() if s.name.startswith("apply_async/")]
    return caller, send, spans


@pytest.mark.parametrize("kind", BROKERS)
def test_beside_the_celery_instrumentation_one_trace_and_no_second_context(
    kind: str, served_fake: FakeKashFlow, tmp_path: Path
) -> None:
    """caller -> apply_async -> run -> one kashflow_sync.publish; nothing left attached after."""
    caller, send, spans = _instrumented(kind, served_fake, tmp_path, instrument=True)
    assert send.parent is not None and send.parent.span_id == caller.get_span_context().span_id
    [run] = [s for s in spans if s["name"].startswith("run/")]
    [publish] = [s for s in spans if s["name"] == "kashflow_sync.publish"]
    trace_id = caller.get_span_context().trace_id
    assert send.context.trace_id == run["trace_id"] == publish["trace_id"] == trace_id
    assert run["parent_id"] == send.context.span_id
    assert publish["parent_id"] == run["span_id"], spans
    # The task's context is gone once it ended: a span started then is a root of its own.
    [after] = [s for s in spans if s["name"] == "after_task"]
    assert after["parent_id"] is None, after


@pytest.mark.parametrize("kind", BROKERS)
def test_with_span_links_the_publish_stays_under_the_task_span(
    kind: str, served_fake: FakeKashFlow, tmp_path: Path
) -> None:
    """``use_span_links=True``: ``run/<task>`` starts a trace linked to the sender's span, and
    ``kashflow_sync.publish`` is its child there (the SDK does not put it back in the caller's
    trace behind the instrumentation's back)."""
    caller, send, spans = _instrumented(kind, served_fake, tmp_path, instrument="links")
    [run] = [s for s in spans if s["name"].startswith("run/")]
    [publish] = [s for s in spans if s["name"] == "kashflow_sync.publish"]
    assert run["trace_id"] != caller.get_span_context().trace_id and run["parent_id"] is None
    assert run["links"] == [[send.context.trace_id, send.context.span_id]]
    assert publish["trace_id"] == run["trace_id"] and publish["parent_id"] == run["span_id"]
