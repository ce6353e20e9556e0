"""The caller's trace context, carried into the task: one trace from enqueue to publish.

When a kashflow_sync task is enqueued, the current OpenTelemetry context (the host's span, say
a web request's) is written into the message's headers with the host's propagator (W3C
``traceparent`` by default). When a worker runs the task, the task's body runs in that context
(:func:`callers_context`), so the client's ``kashflow_sync.publish`` span is a child of the
caller's span. No span is made here: this only carries context.

It works beside ``opentelemetry-instrumentation-celery``: a header that instrumentation already
wrote is left as it is, and on the worker a run that already has a current span (the
instrumentation's ``run/<task>``) is left in it, so there is never a second context per task.
That check is made in the task's body rather than in a ``task_prerun`` handler: handlers run in
the order they were connected, and the instrumentation is usually switched on after the tasks
are registered (in ``worker_process_init``), so a handler of ours would run before its span
exists, attach the headers' context a second time, and detach it out of order, leaving it
current after the task.

Nothing happens without ``opentelemetry-api``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Collection, Iterator
from typing import Any

__all__ = ["callers_context", "carry_trace_context"]

_carried: set[str] = set()
_lock = threading.Lock()

_NOTHING: contextlib.nullcontext[None] = contextlib.nullcontext()


def carry_trace_context(task_names: Collection[str]) -> None:
    """Carry trace context into the tasks named *task_names* (see the module docstring).

    Their bodies must run in :func:`callers_context`.
    """
    try:
        from opentelemetry import propagate
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
        return  # the handler below reads _carried: one serves every registration

    def inject(sender: Any = None, headers: dict[str, Any] | None = None, **_: Any) -> None:
        if headers is None or sender not in _carried:
            return
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        for key, value in carrier.items():
            headers.setdefault(key, value)

    signals.before_task_publish.connect(inject, weak=False, dispatch_uid="kashflow_sync.inject")


def callers_context(task: Any) -> contextlib.AbstractContextManager[None]:
    """Run the body of *task* (a bound task) in the context its message carried.

    Nothing when its task is not carried (or OpenTelemetry is absent), when a span is already
    current (an instrumentation's), or when the message carried no context.
    """
    if task.name not in _carried:
        return _NOTHING
    from opentelemetry import propagate, trace

    if trace.get_current_span().get_span_context().is_valid:
        return _NOTHING  # an instrumentation already runs the task in its span
    carrier = {
        key: value
        for key in propagate.get_global_textmap().fields
        if isinstance(value := getattr(task.request, key, None), str)
    }
    if not carrier:
        return _NOTHING
    return _attached(propagate.extract(carrier))


@contextlib.contextmanager
def _attached(extracted: Any) -> Iterator[None]:
    from opentelemetry import context

    token = context.attach(extracted)
    try:
        yield
    finally:
        context.detach(token)
