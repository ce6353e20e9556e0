"""The caller's trace context, carried into the task: one trace from enqueue to publish.

When a kashflow_sync task is enqueued, the current OpenTelemetry context (the host's span, say
a web request's) is written into the message's headers with the host's propagator (W3C
``traceparent`` by default). When a worker runs the task, that context is made current for the
run, so the client's ``kashflow_sync.publish`` span is a child of the caller's span. No span is
made here: this only carries context.

It works beside ``opentelemetry-instrumentation-celery``: a header that instrumentation already
wrote is left as it is, and on the worker a run that already has a current span (the
instrumentation's ``run/<task>``) is left in it, so there is never a second span per task.

Nothing happens without ``opentelemetry-api``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Collection
from typing import Any

__all__ = ["carry_trace_context"]

_carried: set[str] = set()
_lock = threading.Lock()


def carry_trace_context(task_names: Collection[str]) -> None:
    """Carry trace context into the tasks named *task_names* (see the module docstring)."""
    try:
        from opentelemetry import context, propagate, trace
    except ImportError:
        return
    from celery import signals

    with _lock:
        new = set(task_names) - _carried
        if not new:
            return
        first = not _carried
        _carried.update(new)
    if not first:
        return  # the handlers below read _carried: one set of them serves every registration
    tokens: dict[str, object] = {}

    def inject(sender: Any = None, headers: dict[str, Any] | None = None, **_: Any) -> None:
        if headers is None or sender not in _carried:
            return
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        for key, value in carrier.items():
            headers.setdefault(key, value)

    def attach(task_id: str | None = None, task: Any = None, **_: Any) -> None:
        if task is None or task_id is None or task.name not in _carried:
            return
        if trace.get_current_span().get_span_context().is_valid:
            return  # an instrumentation already runs the task in its span
        carrier = {
            key: value
            for key in propagate.get_global_textmap().fields
            if isinstance(value := getattr(task.request, key, None), str)
        }
        if carrier:
            tokens[task_id] = context.attach(propagate.extract(carrier))

    def detach(task_id: str | None = None, **_: Any) -> None:
        token = tokens.pop(task_id, None) if task_id is not None else None
        if token is not None:
            with contextlib.suppress(Exception):
                context.detach(token)  # type: ignore[arg-type]

    signals.before_task_publish.connect(inject, weak=False, dispatch_uid="kashflow_sync.inject")
    signals.task_prerun.connect(attach, weak=False, dispatch_uid="kashflow_sync.attach")
    signals.task_postrun.connect(detach, weak=False, dispatch_uid="kashflow_sync.detach")
