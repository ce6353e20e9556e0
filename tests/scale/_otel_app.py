"""A Celery app whose worker writes its spans to a file: does a task join the caller's trace?

``celery -A _otel_app worker`` reads its config from ``KFS_OTEL_CONFIG``; the test process calls
:func:`build` with the same config to enqueue. The worker's clients are handed a
``TracerProvider`` (the host's, as a real app would set one up) whose exporter appends each
finished span to the file the config names, as one JSON line. With ``"instrument": true`` the
worker also runs ``opentelemetry-instrumentation-celery`` (:func:`instrument_worker`); with
``"instrument": "links"``, the same with ``use_span_links=True``.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from typing import Any

from celery import Celery
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

import kashflow_sync as kfs
from kashflow_sync.celery import KashFlowTasks, register


class FileExporter(SpanExporter):
    """Appends each span to a file as one JSON line (names, ids, attributes)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with open(self.path, "a", encoding="utf-8") as out:
            for span in spans:
                row = {
                    "name": span.name,
                    "trace_id": span.context.trace_id,
                    "span_id": span.context.span_id,
                    "parent_id": span.parent.span_id if span.parent else None,
                    "attributes": dict(span.attributes or {}),
                    "links": [[link.context.trace_id, link.context.span_id] for link in span.links],
                }
                out.write(json.dumps(row) + "\n")
        return SpanExportResult.SUCCESS


def build(config: dict[str, Any]) -> tuple[Celery, KashFlowTasks]:
    """The app and its kashflow_sync tasks for *config*."""
    app = Celery("kfs_otel_test", broker=config["broker"], backend=config["backend"])
    app.conf.update(
        task_default_queue=config["queue"],
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        worker_prefetch_multiplier=1,
        worker_enable_remote_control=False,
        worker_send_task_events=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options=config["transport"],
        result_backend_transport_options=config["transport"],
    )
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(FileExporter(config["spans"])))

    @functools.cache
    def storage(pid: int) -> kfs.SQLStorage:
        return kfs.SQLStorage(config["db"])

    def client_factory(connection_id: str) -> kfs.KashFlowClient:
        fake = config["fake"]
        return kfs.KashFlowClient(
            kfs.Credentials(fake["username"], fake["password"], fake["autoauth_key"]),
            endpoint=fake["url"],
            storage=storage(os.getpid()),
            connection_id=connection_id,
            tracer_provider=provider,
        )

    tasks = register(app, client_factory, max_retries=0)
    if config.get("instrument"):
        instrument_worker(provider, links=config["instrument"] == "links")
    return app, tasks


def instrument_worker(provider: TracerProvider, *, links: bool = False) -> None:
    """``opentelemetry-instrumentation-celery`` on, as a host sets it up after its tasks.

    Registered after :func:`register`, so the SDK's signal handlers run before the
    instrumentation's. After each task, a span ``after_task`` is started in whatever context is
    current then: a root span unless a task's context was left attached.
    """
    from celery import signals
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    CeleryInstrumentor().instrument(tracer_provider=provider, use_span_links=links)
    tracer = provider.get_tracer("the worker")

    def after_task(**_: Any) -> None:
        tracer.start_span("after_task").end()

    signals.task_postrun.connect(after_task, weak=False)


if "KFS_OTEL_CONFIG" in os.environ:
    app, tasks = build(json.loads(os.environ["KFS_OTEL_CONFIG"]))
