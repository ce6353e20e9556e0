"""The :class:`~kashflow_sync._telemetry.Telemetry` that reports through ``opentelemetry-api``.

Imported only by :func:`~kashflow_sync._telemetry.telemetry_for`, so that an app without
OpenTelemetry never imports it. Spans and instruments come from the providers a client was
given, or the host's global ones (the API's proxies follow a provider set later).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from importlib import metadata
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation
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
    """A recording span, as the SDK writes to it."""

    __slots__ = ("number", "span", "status")

    def __init__(self, span: Span) -> None:
        self.span = span
        self.status: str | None = None
        self.number: int | None = None

    def set(self, key: str, value: AttributeValue | None) -> None:
        if value is not None:
            self.span.set_attribute(key, value)

    def event(self, name: str, attributes: Mapping[str, AttributeValue] | None = None) -> None:
        self.span.add_event(name, attributes)

    def result(self, status: str, number: int | None = None) -> None:
        self.status = status
        self.number = number


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
        self._lock = threading.Lock()
        self._journals: dict[tuple[int, str], tuple[Callable[[], Any], str, JournalCounter]] = {}
        meter.create_observable_gauge(
            "kashflow_sync.journal.entries",
            callbacks=[self._observe_journals],
            unit="{entry}",
            description="Unfinished (and duplicated) journal entries, by state",
        )

    # ------------------------------------------------------------------ spans

    @contextlib.contextmanager
    def call(self, name: str, connection_id: str, *, kind: str | None = None) -> Iterator[Scope]:
        attributes: dict[str, AttributeValue] = {CONNECTION: connection_id}
        if kind is not None:
            attributes[KIND] = kind
        waited: dict[str, float] = {}
        token = _WAITED.set(waited)
        try:
            with self._tracer.start_as_current_span(
                f"kashflow_sync.{name}",
                attributes=attributes,
                record_exception=False,
                set_status_on_exception=False,
            ) as span:
                scope = _Scope(span)
                try:
                    yield scope
                except BaseException as exc:
                    code = _failed(span, exc)
                    if name == "publish":
                        outcome = {CONNECTION: connection_id, OUTCOME: "failed", ERROR_CODE: code}
                        if kind is not None:
                            outcome[KIND] = kind
                        self._outcomes.add(1, outcome)
                    raise
                if scope.status is not None:
                    span.set_attribute(OUTCOME, scope.status)
                    if scope.number is not None:
                        span.set_attribute(NUMBER, scope.number)
                    if name == "publish":
                        counted = {CONNECTION: connection_id, OUTCOME: scope.status}
                        if kind is not None:
                            counted[KIND] = kind
                        self._outcomes.add(1, counted)
        finally:
            _WAITED.reset(token)
            for reason, seconds in waited.items():
                histogram = self._waits.get(reason)
                if histogram is not None:
                    histogram.record(seconds, {CONNECTION: connection_id, CALL: name})

    @contextlib.contextmanager
    def attempt(
        self, operation: str, *, host: str, attempt: int, phase: str | None
    ) -> Iterator[Scope]:
        attributes: dict[str, AttributeValue] = {
            RPC_SYSTEM: "soap",
            RPC_SERVICE: "KashFlow",
            RPC_METHOD: operation,
            SERVER_ADDRESS: host,
            ATTEMPT: attempt,
        }
        if phase is not None:
            attributes[AUTOAUTH] = phase
        measured: dict[str, AttributeValue] = {RPC_SYSTEM: "soap", RPC_METHOD: operation}
        start = time.perf_counter()
        with self._tracer.start_as_current_span(
            f"KashFlow/{operation}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield _Scope(span)
            except BaseException as exc:
                measured[ERROR_TYPE] = _failed(span, exc)
                raise
            finally:
                self._duration.record(time.perf_counter() - start, measured)

    @contextlib.contextmanager
    def wait(self, reason: str, seconds: float) -> Iterator[None]:
        start = time.perf_counter()
        with self._tracer.start_as_current_span(
            f"kashflow_sync.{reason}_wait",
            attributes={WAIT_REASON: reason, WAIT_PLANNED: seconds},
        ):
            try:
                yield
            finally:
                waited = _WAITED.get()
                if waited is not None:
                    waited[reason] = waited.get(reason, 0.0) + time.perf_counter() - start

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
