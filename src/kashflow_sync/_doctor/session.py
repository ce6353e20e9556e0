"""The doctor's line to KashFlow: every request logged, writes refused unless allowed.

Everything ``kashflow-sync doctor`` sends, its own probes and the throwaway list sync alike,
goes through one ``httpx.Client`` whose request hook sees each SOAP operation before it leaves.
In read-only mode the hook refuses any operation that is not a ``Get...`` lookup, so "doctor
sends no write" does not depend on every code path remembering it. The response hook keeps
KashFlow's HTTP ``Date`` header, which is how the clock check compares clocks.

Doctor reads KashFlow's raw answers (:meth:`DoctorSession.exchange`) rather than only the
SDK's interpretation of them, because what it reports is the answer itself: ``Status=NO`` with
which words, or an empty object. It builds on :func:`~.soap.codec.encode` and
:func:`~.soap.codec.decode` and never changes them, and sends through the clients' own
exchange (:func:`~.soap.exchange.fetch`), so a KashFlow that trickles its answer or sends one too
large fails doctor by the same deadline and size cap, with the same errors, as it fails a client.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

import attrs
import httpx
from lxml import etree

from .. import errors
from .._config import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_ANSWER_BYTES,
    DEFAULT_TIMEOUT,
    Credentials,
    redact,
)
from .._error_codes import ErrorCode
from .._telemetry import NO_TELEMETRY, Scope, Telemetry
from ..soap import codec
from ..soap._answerparse import AnswerParser
from ..soap.exchange import Answer, fetch

__all__ = ["DoctorSession", "Exchange", "SentRequest", "is_write"]

T = TypeVar("T")
_SOAP_ENV = "{http://schemas.xmlsoap.org/soap/envelope/}"


def is_write(operation: str) -> bool:
    """Whether *operation* may change the account: everything but a ``Get...`` lookup.

    ``AutoAuthIP`` counts as a write: it adds this machine's IP address to the account's API
    access list, and nothing in the SOAP API takes it off again.
    """
    return not operation.startswith("Get")


def _operation_of(request: httpx.Request) -> str:
    action = request.headers.get("SOAPAction", "").strip().strip('"')
    return action.rpartition("/")[2] or "(unknown)"


@attrs.frozen
class SentRequest:
    """One HTTP request the doctor sent, for the report's list of everything sent."""

    operation: str
    write: bool
    http_status: int | None = None
    seconds: float | None = None


@attrs.frozen
class Exchange(Generic[T]):
    """One KashFlow call as the doctor saw it: KashFlow's own answer, and the SDK's reading.

    Attributes:
        operation: the SOAP operation.
        status: KashFlow's ``Status`` (``"OK"``, ``"NO"``), or None when there was none.
        detail: KashFlow's ``StatusDetail`` (secrets masked), ``""`` when empty.
        answer: the ``<OperationResponse>`` element of a SOAP answer, else None.
        result: what the SDK's reader made of the answer (when it did not raise).
        error: the error the SDK maps the answer (or the failure to get one) to, else None.

    """

    operation: str
    status: str | None
    detail: str
    answer: etree._Element | None = attrs.field(repr=False)
    result: T | None
    error: errors.KashFlowError | None

    @property
    def ok(self) -> bool:
        """Whether the SDK read the answer without an error."""
        return self.error is None

    def value(self) -> T:
        """The SDK's result; raise the mapped error when there is none."""
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


class DoctorSession:
    """An ``httpx.Client`` to one endpoint whose every request is logged and write-checked.

    Args:
        endpoint: KashFlow's SOAP URL.
        credentials: merged into every request by the SOAP codec.
        allow_writes: False refuses every operation but ``Get...`` lookups before it is sent.
        transport: an httpx transport to use instead of the network (tests, docs).
        now: this machine's clock (UTC), for comparing it with KashFlow's ``Date`` header.
        timeout: seconds for each whole exchange, as a client's ``timeout``.
        max_answer_bytes: the largest answer read, as a client's ``max_answer_bytes``.
        telemetry: where each exchange is reported, as a client's attempt at an operation
            (a ``KashFlow/<SoapAction>`` span under the current one).

    """

    def __init__(
        self,
        endpoint: str,
        credentials: Credentials,
        *,
        allow_writes: bool = False,
        transport: httpx.BaseTransport | None = None,
        now: Callable[[], datetime] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        telemetry: Telemetry = NO_TELEMETRY,
    ) -> None:
        """Open the client; nothing is sent until a call."""
        self.endpoint = endpoint
        self.telemetry = telemetry
        self._host = urlsplit(endpoint).hostname or ""
        self.timeout = timeout
        self.max_answer_bytes = max_answer_bytes
        self.credentials = credentials
        self.allow_writes = allow_writes
        self.sent: list[SentRequest] = []
        #: Every :meth:`exchange`, in order.
        self.exchanges: list[Exchange[Any]] = []
        #: ``(KashFlow's Date, this machine's time midway through the request)`` per answer.
        self.clock_samples: list[tuple[datetime, datetime]] = []
        self._now = now or (lambda: datetime.now(timezone.utc))
        # Requests on their way: id(request) -> (index in ``sent``, when it left, perf time).
        self._pending: dict[int, tuple[int, datetime, float]] = {}
        self.http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=DEFAULT_CONNECT_TIMEOUT),
            headers={"User-Agent": "kashflow-sync doctor"},
            event_hooks={"request": [self._on_request], "response": [self._on_response]},
        )

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()

    def __enter__(self) -> DoctorSession:
        """Use the session in a ``with`` block."""
        return self

    def __exit__(self, *_exc: object) -> None:
        """Close the session."""
        self.close()

    # -- hooks ------------------------------------------------------------------------------

    def _on_request(self, request: httpx.Request) -> None:
        operation = _operation_of(request)
        write = is_write(operation)
        if write and not self.allow_writes:
            # A bug guard: the read-only doctor must never get here. Raised before sending.
            raise errors.KashFlowError(
                f"doctor refused to send {operation}: it runs read-only without --probe-writes",
                code=ErrorCode.DOCTOR_WRITE_REFUSED,
                remedy="This is a bug in kashflow-sync: please report it.",
                operation=operation,
            )
        self._pending[id(request)] = (len(self.sent), self._now(), time.perf_counter())
        self.sent.append(SentRequest(operation, write))

    def _on_response(self, response: httpx.Response) -> None:
        pending = self._pending.pop(id(response.request), None)
        if pending is None:
            return
        index, started, perf = pending
        self.sent[index] = attrs.evolve(
            self.sent[index],
            http_status=response.status_code,
            seconds=time.perf_counter() - perf,
        )
        date = response.headers.get("Date")
        if not date:
            return
        try:
            theirs = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            return
        if theirs.tzinfo is None:
            theirs = theirs.replace(tzinfo=timezone.utc)
        # The header has whole seconds, cut down: KashFlow's time was within the next second.
        theirs += timedelta(seconds=0.5)
        ended = self._now()
        self.clock_samples.append((theirs, started + (ended - started) / 2))

    # -- calls ------------------------------------------------------------------------------

    def exchange(self, request: codec.Request[T]) -> Exchange[T]:
        """Send *request* once (no retry) and return KashFlow's answer with the SDK's reading.

        KashFlow errors are captured in the exchange, never raised; ``KeyboardInterrupt`` and
        the read-only guard's refusal pass through.
        """
        done = self._exchange(request)
        self.exchanges.append(done)
        return done

    def _exchange(self, request: codec.Request[T]) -> Exchange[T]:
        """One exchange in its span; a KashFlow error marks the span failed, as a client's."""
        done: Exchange[T] | None = None
        attempt = self.telemetry.attempt(request.operation, host=self._host, attempt=1, phase=None)
        try:
            with attempt as span:
                done = self._attempted(request, span)
                if done.error is not None:
                    raise done.error
        except errors.KashFlowError as exc:
            if done is None or exc is not done.error:
                raise  # the read-only guard's refusal
        assert done is not None
        return done

    def _attempted(self, request: codec.Request[T], span: Scope) -> Exchange[T]:
        operation = request.operation
        parsed = codec.reading(request)
        sent = self._fetch(request, parsed)
        if isinstance(sent, errors.KashFlowError):
            failure = codec.masked(sent, self.credentials.secrets)
            return Exchange(operation, None, "", None, None, failure)
        span.set("http.response.status_code", sent.status_code)
        status, detail, answer = self._raw(parsed)
        try:
            result: Any = codec.decode(
                request,
                sent.status_code,
                parsed,
                secrets=self.credentials.secrets,
                retry_after=sent.retry_after,
            )
        except errors.KashFlowError as exc:
            return Exchange(operation, status, detail, answer, None, exc)
        return Exchange(operation, status, detail, answer, result, None)

    def _fetch(
        self, request: codec.Request[Any], sink: AnswerParser
    ) -> Answer | errors.KashFlowError:
        """One exchange, as a client has it: the deadline and the size cap hold.

        The write guard's refusal (raised by the request hook) passes through. Returns rather
        than raises, so the envelope (password inside) dies with this frame.
        """
        envelope = codec.encode(request, self.credentials)
        return fetch(
            self.http,
            self.endpoint,
            envelope,
            timeout=self.timeout,
            limit=self.max_answer_bytes,
            sink=sink,
        )

    def call(self, request: codec.Request[T]) -> T:
        """Send *request* once and return the SDK's result, or raise the mapped error."""
        return self.exchange(request).value()

    def _raw(self, parsed: AnswerParser) -> tuple[str | None, str, etree._Element | None]:
        """``(Status, StatusDetail, <OperationResponse>)`` of a SOAP answer, where present.

        A list's items were read and dropped as they arrived; the rest of the answer is kept.
        """
        root = parsed.root
        if root is None or parsed.failure is not None:
            return None, "", None
        body = root.find(_SOAP_ENV + "Body")
        if body is None or len(body) == 0 or body[0].tag == _SOAP_ENV + "Fault":
            return None, "", None
        answer = body[0]
        status = answer.findtext(codec.NS + "Status")
        detail = answer.findtext(codec.NS + "StatusDetail") or ""
        return (
            status.strip() if status is not None else None,
            redact(detail.strip(), self.credentials.secrets),
            answer,
        )

    def clock_skew(self) -> float | None:
        """Seconds KashFlow's clock is ahead of this machine's (median), or None if unknown.

        The ``Date`` header has whole seconds, so the result is good to about a second.
        """
        if not self.clock_samples:
            return None
        skews = sorted((theirs - ours).total_seconds() for theirs, ours in self.clock_samples)
        return skews[len(skews) // 2]
