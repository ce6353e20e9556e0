"""The :class:`~kashflow_sync._telemetry.Telemetry` that reports through ``opentelemetry-api``.

Imported only by :func:`~kashflow_sync._telemetry.telemetry_for`, so that an app without
OpenTelemetry never imports it. Spans and instruments come from the providers a client was
given, or the host's global ones (the API's proxies follow a provider set later).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar, Token
from importlib import metadata
from types import TracebackType
from typing import Any

from opentelemetry import context, metrics, trace
from opentelemetry.metrics import CallbackOptions, Histogram, Observation
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from ._base import AttributeValue, JournalCounter, Scope, Telemetry

__all__ = ["OtelTelemetry", "shared_telemetry"]

log = logging.getLogger("kashflow_sync")

#: The instrumentation scope's name: the tracer's and the meter's.
SCOPE = "kashflow_sync"

try:
    VERSION = metadata.version("kashflow-sync")
except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
    VERSION = ""

# The semantic conventions' names (RPC client; ``soap`` as the system, which they do not name).
RPC_SYSTEM = "rpc.system"
RPC_SERVICE = "rpc.service"
RPC_METHOD = "rpc.method"
SERVER_ADDRESS = "server.address"
ERROR_TYPE = "error.type"
HTTP_STATUS = "http.response.status_code"

# The SDK's own.
CONNECTION = "kashflow_sync.connection_id"
KIND = "kashflow_sync.document.kind"
OUTCOME = "kashflow_sync.outcome"
NUMBER = "kashflow_sync.kashflow.number"
ERROR_CODE = "kashflow_sync.error.code"
RETRYABLE = "kashflow_sync.error.retryable"
PROBLEMS = "kashflow_sync.problems"
ATTEMPT = "kashflow_sync.attempt"
AUTOAUTH = "kashflow_sync.autoauth"
WAIT_REASON = "kashflow_sync.wait.reason"
WAIT_PLANNED = "kashflow_sync.wait.planned"
STATE = "kashflow_sync.journal.state"
CALL = "kashflow_sync.call"

#: Seconds each public call waited, by reason (set by :meth:`OtelTelemetry.call`).
_WAITED: ContextVar[dict[str, float] | None] = ContextVar("kashflow_sync_waited", default=None)

#: Which waits have a histogram of their own, by reason.
_WAIT_METRICS = {"lease": "kashflow_sync.lease.wait", "settle": "kashflow_sync.settle.wait"}


def _code(exc: BaseException) -> str:
    """The error's code (a ``KashFlowError``'s), else its class name: never its message."""
    code = getattr(exc, "code", None)
    if code is None:
        return type(exc).__name__
    return str(getattr(code, "value", code))


def _failed(span: Span, exc: BaseException) -> str:
    """Mark *span* failed with *exc*'s code (no message, no traceback: they may quote data)."""
    code = _code(exc)
    span.set_status(Status(StatusCode.ERROR, code))
    span.set_attribute(ERROR_TYPE, code)
    if getattr(exc, "code", None) is not None:
        span.set_attribute(ERROR_CODE, code)
        span.set_attribute(RETRYABLE, bool(getattr(exc, "retryable", False)))
    problems = getattr(exc, "problems", None)
    if problems:
        span.set_attribute(PROBLEMS, list(dict.fromkeys(str(p.code) for p in problems)))
    return code


class _Scope(Scope):
    """A span made current for a ``with`` block, ended when the block ends.

    Written as a class rather than with ``contextlib``: one of these wraps every KashFlow
    call, and a generator-based context manager costs several times more per use. A span
    that does not record (no provider, or sampled out) is not made current (the API's no-op
    spans carry their parent's context, which is current already) and gets no attributes:
    only what the block measures for the metrics is kept.
    """

    __slots__ = ("_start", "_token", "recording", "span")

    def __init__(self, span: Span) -> None:
        self.span = span
        self.recording = span.is_recording()
        self._token: object = None
        self._start = 0.0

    def __enter__(self) -> _Scope:
        if self.recording:
            self._token = context.attach(trace.set_span_in_context(self.span))
        self._start = time.perf_counter()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.finish(time.perf_counter() - self._start, exc)
        finally:
            if self.recording:
                context.detach(self._token)  # type: ignore[arg-type]
                self.span.end()

    def finish(self, seconds: float, exc: BaseException | None) -> None:
        """Record what the block came to, before the span ends."""
        if exc is not None and self.recording:
            _failed(self.span, exc)

    def set(self, key: str, value: AttributeValue | None) -> None:
        if value is not None and self.recording:
            self.span.set_attribute(key, value)

    def event(self, name: str, attributes: Mapping[str, AttributeValue] | None = None) -> None:
        if self.recording:
            self.span.add_event(name, attributes)


class _Call(_Scope):
    """The span of a public call: its outcome, the publish counter and the waits it made."""

    __slots__ = (
        "_owner",
        "_waited",
        "_waited_token",
        "connection_id",
        "kind",
        "name",
        "number",
        "status",
    )

    def __init__(self, owner: OtelTelemetry, span: Span, name: str, connection_id: str) -> None:
        super().__init__(span)
        self._owner = owner
        self.name = name
        self.connection_id = connection_id
        self.kind: str | None = None
        self.status: str | None = None
        self.number: int | None = None
        self._waited: dict[str, float] = {}
        self._waited_token: Token[dict[str, float] | None] | None = None

    def __enter__(self) -> _Call:
        self._waited_token = _WAITED.set(self._waited)
        super().__enter__()
        return self

    def result(self, status: str, number: int | None = None) -> None:
        self.status = status
        self.number = number

    def finish(self, seconds: float, exc: BaseException | None) -> None:
        if self._waited_token is not None:
            _WAITED.reset(self._waited_token)
        owner, span = self._owner, self.span
        counted: dict[str, AttributeValue] = {CONNECTION: self.connection_id}
        if self.kind is not None:
            counted[KIND] = self.kind
        if exc is not None:
            counted[OUTCOME] = "failed"
            counted[ERROR_CODE] = _failed(span, exc) if self.recording else _code(exc)
        elif self.status is not None:
            counted[OUTCOME] = self.status
            if self.recording:
                span.set_attribute(OUTCOME, self.status)
                if self.number is not None:
                    span.set_attribute(NUMBER, self.number)
        if self.name == "publish" and OUTCOME in counted:
            owner._outcomes.add(1, counted)
        for reason, waited in self._waited.items():
            histogram = owner._waits.get(reason)
            if histogram is not None:
                histogram.record(waited, {CONNECTION: self.connection_id, CALL: self.name})


class _Attempt(_Scope):
    """The span of one attempt at a KashFlow operation, and its duration's record."""

    __slots__ = ("_histogram", "_measured")

    def __init__(
        self, span: Span, histogram: Histogram, measured: Mapping[str, AttributeValue]
    ) -> None:
        super().__init__(span)
        self._histogram = histogram
        self._measured = measured

    def finish(self, seconds: float, exc: BaseException | None) -> None:
        measured = self._measured
        if exc is not None:
            code = _failed(self.span, exc) if self.recording else _code(exc)
            measured = {**measured, ERROR_TYPE: code}
        self._histogram.record(seconds, measured)


class _Wait(_Scope):
    """The span of a wait; its seconds add to the waits of the call that made it."""

    __slots__ = ("reason",)

    def __init__(self, span: Span, reason: str) -> None:
        super().__init__(span)
        self.reason = reason

    def finish(self, seconds: float, exc: BaseException | None) -> None:
        waited = _WAITED.get()
        if waited is not None:
            waited[self.reason] = waited.get(self.reason, 0.0) + seconds


class OtelTelemetry(Telemetry):
    """Spans and metrics on the given providers (None: the host's global ones)."""

    enabled = True

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        self._tracer = trace.get_tracer(SCOPE, VERSION, tracer_provider=tracer_provider)
        meter = metrics.get_meter(SCOPE, VERSION, meter_provider=meter_provider)
        self._duration = meter.create_histogram(
            "kashflow_sync.kashflow.duration",
            unit="s",
            description="Duration of each attempt at a KashFlow operation",
        )
        self._outcomes = meter.create_counter(
            "kashflow_sync.publish.outcomes",
            unit="{document}",
            description="Publish calls, by outcome and error code",
        )
        self._waits = {
            reason: meter.create_histogram(
                name, unit="s", description=f"Time a public call waited on the {reason}"
            )
            for reason, name in _WAIT_METRICS.items()
        }
        #: The duration histogram's attributes of a successful attempt, by operation: made
        #: once (an instrument reads them and keeps no reference it could change).
        self._measured: dict[str, Mapping[str, AttributeValue]] = {}
        self._lock = threading.Lock()
        self._journals: dict[tuple[int, str], tuple[Callable[[], Any], str, JournalCounter]] = {}
        meter.create_observable_gauge(
            "kashflow_sync.journal.entries",
            callbacks=[self._observe_journals],
            unit="{entry}",
            description="Unfinished (and duplicated) journal entries, by state",
        )

    # ------------------------------------------------------------------ spans

    def call(self, name: str, connection_id: str, *, kind: str | None = None) -> _Call:
        attributes: dict[str, AttributeValue] = {CONNECTION: connection_id}
        if kind is not None:
            attributes[KIND] = kind
        span = self._tracer.start_span(f"kashflow_sync.{name}", attributes=attributes)
        scope = _Call(self, span, name, connection_id)
        scope.kind = kind
        return scope

    def attempt(self, operation: str, *, host: str, attempt: int, phase: str | None) -> _Attempt:
        attributes: dict[str, AttributeValue] = {
            RPC_SYSTEM: "soap",
            RPC_SERVICE: "KashFlow",
            RPC_METHOD: operation,
            SERVER_ADDRESS: host,
            ATTEMPT: attempt,
        }
        if phase is not None:
            attributes[AUTOAUTH] = phase
        span = self._tracer.start_span(
            f"KashFlow/{operation}", kind=SpanKind.CLIENT, attributes=attributes
        )
        measured = self._measured.get(operation)
        if measured is None:
            measured = self._measured.setdefault(
                operation, {RPC_SYSTEM: "soap", RPC_METHOD: operation}
            )
        return _Attempt(span, self._duration, measured)

    def wait(self, reason: str, seconds: float) -> _Wait:
        span = self._tracer.start_span(
            f"kashflow_sync.{reason}_wait", attributes={WAIT_REASON: reason, WAIT_PLANNED: seconds}
        )
        return _Wait(span, reason)

    def journaling(self) -> bool:
        return trace.get_current_span().is_recording()

    def journal(self, step: str, attributes: Mapping[str, AttributeValue]) -> None:
        trace.get_current_span().add_event(f"kashflow_sync.journal.{step}", attributes)

    # ------------------------------------------------------------------ the journal gauge

    def watch_journal(self, storage: object, connection_id: str, count: JournalCounter) -> None:
        key = (id(storage), connection_id)
        with self._lock:
            if key in self._journals:
                return
            try:
                ref: Callable[[], Any] = weakref.ref(storage, lambda _r: self._forget(key))
            except TypeError:  # a storage that cannot be weakly referenced is kept
                ref = lambda: storage  # noqa: E731
            self._journals[key] = (ref, connection_id, count)

    def _forget(self, key: tuple[int, str]) -> None:
        with self._lock:
            self._journals.pop(key, None)

    def _observe_journals(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            watched = list(self._journals.values())
        for ref, connection_id, count in watched:
            storage = ref()
            if storage is None:
                continue
            try:
                counts = count(storage, connection_id)
            except Exception:  # a database that is down must not break the host's export
                log.debug("could not count the journal of %r", connection_id, exc_info=True)
                continue
            for state, n in counts.items():
                yield Observation(n, {CONNECTION: connection_id, STATE: state})


_SHARED: dict[tuple[int, int], tuple[OtelTelemetry, Any, Any]] = {}
_SHARED_LOCK = threading.Lock()


def shared_telemetry(tracer_provider: Any = None, meter_provider: Any = None) -> OtelTelemetry:
    """One :class:`OtelTelemetry` per pair of providers, so instruments are made once.

    A worker building a client per task would otherwise register a gauge per client.
    """
    key = (id(tracer_provider), id(meter_provider))
    with _SHARED_LOCK:
        found = _SHARED.get(key)
        if found is None or found[1] is not tracer_provider or found[2] is not meter_provider:
            found = (
                OtelTelemetry(tracer_provider, meter_provider),
                tracer_provider,
                meter_provider,
            )
            _SHARED[key] = found
        return found[0]
