"""The SOAP caller: sends :class:`~.codec.Request` descriptions to KashFlow, sync or async.

What a call does beyond one exchange is written once, as a flow (:func:`autoauth_flow`): a
generator that yields each request to send and is sent its result back, or has its failure
thrown in. A call refused because this machine's IP address is not in the account's access
list (code ``ip_not_allowed``) triggers one ``AutoAuthIP`` and one resend, since egress IPs
change; only with an AutoAuth key, and only that code. :class:`KashFlowService` drives the flow
through an ``httpx.Client``, :class:`AsyncKashFlowService` through an ``httpx.AsyncClient``:
each half only sends a request (retried per the :class:`~.._retry.RetryPolicy`, as far as the
request's ``idempotent`` allows) and hands the outcome back. The exchange itself (deadline, size
cap) is in :mod:`.exchange`, and what is sent and how the answer is read in the pure
:mod:`.codec`.

The envelope (password inside) lives only in ``_exchange``'s frame, which returns, never raises:
no error's traceback reaches it. Whatever KashFlow's words an error quotes are masked before
the error leaves.
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Awaitable, Callable, Generator
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

import attrs
import httpx

from .. import errors
from .._config import DEFAULT_MAX_ANSWER_BYTES, DEFAULT_TIMEOUT, Credentials
from .._error_codes import ErrorCode
from .._retry import RetryPolicy
from .._telemetry import NO_SPAN, NO_TELEMETRY, Scope, Telemetry
from . import codec
from ._answerparse import AnswerParser
from .answer import Sink
from .exchange import Answer, afetch, fetch
from .operations import auto_auth_ip

__all__ = ["AsyncKashFlowService", "CallFlow", "Done", "KashFlowService", "autoauth_flow", "resume"]

log = logging.getLogger("kashflow_sync")

T = TypeVar("T")
H = TypeVar("H", httpx.Client, httpx.AsyncClient)

#: A call's flow: yields each request to send, is sent its result (or thrown its error),
#: returns the call's result.
CallFlow = Generator[codec.Request[Any], Any, T]


def autoauth_flow(request: codec.Request[T], *, app_name: str, autoauth: bool) -> CallFlow[T]:
    """Send *request*; if KashFlow refuses this IP address, allow it (AutoAuthIP) and resend once.

    Args:
        request: the call.
        app_name: the name KashFlow shows beside an IP address AutoAuth added.
        autoauth: whether the credentials hold an AutoAuth key (without one, no AutoAuthIP).

    Returns:
        The result of *request*.

    Raises:
        KashFlowError: whatever the call (or the AutoAuthIP) failed with, unchanged.

    """
    try:
        result: T = yield request
        return result
    except errors.IPNotAllowedError as exc:
        if exc.code != ErrorCode.IP_NOT_ALLOWED or not autoauth:
            raise
    log.info("kashflow %s: IP not allowed; calling AutoAuthIP once", request.operation)
    yield auto_auth_ip(app_name)
    # KashFlow refused the first request outright, so sending it again is safe.
    result = yield request
    return result


@attrs.frozen
class Done(Generic[T]):
    """A flow that has finished, with the call's result."""

    value: T


#: What the AutoAuth flow sends after a step, as the spans name it: the AutoAuthIP, then the
#: request again.
_NEXT_PHASE: dict[str | None, str] = {None: "autoauth", "autoauth": "autoauth_retry"}


def resume(
    flow: CallFlow[T], result: Any = None, *, failure: errors.KashFlowError | None = None
) -> codec.Request[Any] | Done[T]:
    """Hand *flow* its last request's *result* (or *failure*); the next request, or Done.

    A failure the flow does not handle is raised from here, unchanged.
    """
    try:
        return flow.send(result) if failure is None else flow.throw(failure)
    except StopIteration as done:
        return Done(done.value)


@attrs.define(slots=False, eq=False, repr=False)
class _Caller(Generic[H]):
    """What both halves share: settings, the flow to drive, and reading an answer.

    The arguments are :class:`KashFlowService`'s, *http* the HTTP client of the half.
    Nothing is sent until ``call``.
    """

    _http: H
    endpoint: str
    credentials: Credentials
    app_name: str = attrs.field(kw_only=True)
    retry: RetryPolicy = attrs.field(kw_only=True)
    timeout: float = attrs.field(default=DEFAULT_TIMEOUT, kw_only=True)
    max_answer_bytes: int = attrs.field(default=DEFAULT_MAX_ANSWER_BYTES, kw_only=True)
    telemetry: Telemetry = attrs.field(default=NO_TELEMETRY, kw_only=True)
    _host: str = attrs.field(
        init=False,
        default=attrs.Factory(lambda self: urlsplit(self.endpoint).hostname or "", takes_self=True),
    )

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(endpoint={self.endpoint!r}, credentials={self.credentials!r})"

    def _flow(self, request: codec.Request[T]) -> CallFlow[T]:
        return autoauth_flow(
            request, app_name=self.app_name, autoauth=bool(self.credentials.autoauth_key)
        )

    def _read(
        self,
        request: codec.Request[T],
        parsed: AnswerParser,
        answer: Answer | errors.KashFlowError,
    ) -> T:
        """The result of *request* from one exchange's outcome; raise its error, masked.

        The answer was parsed as it arrived (see :mod:`._answerparse`); whatever KashFlow's
        words an error quotes are masked before it is raised.
        """
        if isinstance(answer, errors.KashFlowError):
            raise codec.masked(answer, self.credentials.secrets)
        return codec.decode(
            request,
            answer.status_code,
            parsed,
            secrets=self.credentials.secrets,
            retry_after=answer.retry_after,
        )

    def _attempt(
        self, request: codec.Request[Any], attempts: itertools.count[int], phase: str | None
    ) -> Any:
        """The span of the next attempt at *request* (see :mod:`kashflow_sync._telemetry`)."""
        return self.telemetry.attempt(
            request.operation, host=self._host, attempt=next(attempts), phase=phase
        )


class KashFlowService(_Caller[httpx.Client]):
    """One KashFlow account's SOAP API, spoken through an ``httpx.Client``.

    Args:
        http: the client to send through (its timeouts and pool apply).
        endpoint: the service URL.
        credentials: username, password and optional AutoAuth key.
        app_name: the name KashFlow shows beside an IP address AutoAuth added.
        retry: the retry policy for calls that are safe to repeat.
        timeout: seconds for each whole exchange (see :mod:`.exchange`).
        max_answer_bytes: the largest answer read, as sent and once expanded.

    """

    def call(self, request: codec.Request[T]) -> T:
        """Send *request* with retries and the one AutoAuth retry; return its result."""
        flow = self._flow(request)
        step = resume(flow)
        phase: str | None = None
        while not isinstance(step, Done):
            try:
                result = self.retry.call(self._sender(step, phase), idempotent=step.idempotent)
            except errors.KashFlowError as exc:
                step = resume(flow, failure=exc)
            else:
                step = resume(flow, result)
            phase = _NEXT_PHASE.get(phase)
        return step.value

    def _sender(self, request: codec.Request[T], phase: str | None) -> Callable[[], T]:
        """What the retry policy calls for each attempt: a traced one when telemetry is on."""
        if not self.telemetry.enabled:
            return functools.partial(self._send, request)
        attempts = itertools.count(1)

        def send() -> T:
            with self._attempt(request, attempts, phase) as span:
                return self._send(request, span)

        return send

    def _send(self, request: codec.Request[T], span: Scope = NO_SPAN) -> T:
        """One HTTP exchange: encode, POST, decode (or raise the mapped failure)."""
        parsed = codec.reading(request)
        answer = self._exchange(request, parsed)
        if isinstance(answer, Answer):
            span.set("http.response.status_code", answer.status_code)
        return self._read(request, parsed, answer)

    def _exchange(self, request: codec.Request[Any], sink: Sink) -> Answer | errors.KashFlowError:
        # Returns rather than raises: the envelope (password inside) dies with this frame.
        envelope = codec.encode(request, self.credentials)
        return fetch(
            self._http,
            self.endpoint,
            envelope,
            timeout=self.timeout,
            limit=self.max_answer_bytes,
            sink=sink,
        )


class AsyncKashFlowService(_Caller[httpx.AsyncClient]):
    """One KashFlow account's SOAP API, spoken through an ``httpx.AsyncClient``.

    Takes the same arguments as :class:`KashFlowService`, *http* an ``httpx.AsyncClient``.
    """

    async def call(self, request: codec.Request[T]) -> T:
        """Send *request* with retries and the one AutoAuth retry; return its result."""
        flow = self._flow(request)
        step = resume(flow)
        phase: str | None = None
        while not isinstance(step, Done):
            try:
                result = await self.retry.acall(
                    self._sender(step, phase), idempotent=step.idempotent
                )
            except errors.KashFlowError as exc:
                step = resume(flow, failure=exc)
            else:
                step = resume(flow, result)
            phase = _NEXT_PHASE.get(phase)
        return step.value

    def _sender(self, request: codec.Request[T], phase: str | None) -> Callable[[], Awaitable[T]]:
        """What the retry policy awaits for each attempt: a traced one when telemetry is on."""
        if not self.telemetry.enabled:
            return functools.partial(self._send, request)
        attempts = itertools.count(1)

        async def send() -> T:
            with self._attempt(request, attempts, phase) as span:
                return await self._send(request, span)

        return send

    async def _send(self, request: codec.Request[T], span: Scope = NO_SPAN) -> T:
        """One HTTP exchange: encode, POST, decode (or raise the mapped failure)."""
        parsed = codec.reading(request)
        answer = await self._exchange(request, parsed)
        if isinstance(answer, Answer):
            span.set("http.response.status_code", answer.status_code)
        return self._read(request, parsed, answer)

    async def _exchange(
        self, request: codec.Request[Any], sink: Sink
    ) -> Answer | errors.KashFlowError:
        # Returns rather than raises: the envelope (password inside) dies with this frame.
        envelope = codec.encode(request, self.credentials)
        return await afetch(
            self._http,
            self.endpoint,
            envelope,
            timeout=self.timeout,
            limit=self.max_answer_bytes,
            sink=sink,
        )
