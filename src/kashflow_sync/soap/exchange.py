"""One HTTP exchange with KashFlow: a whole-answer deadline, a size cap, nothing secret left over.

httpx's timeouts bound each network operation, not a whole answer: a KashFlow that sends a byte
every few seconds never trips them. Here the client's ``timeout`` is a deadline for everything
(waiting for a pooled connection, connecting, sending, reading every byte of the answer), for
the SDK's own ``httpx`` clients and for a caller's alike:

* async (:func:`afetch`): the exchange runs under ``asyncio`` cancellation at the deadline.
* sync (:func:`fetch`): a blocking read cannot be interrupted from the thread that waits on
  it, so the exchange runs on a short-lived daemon thread and the caller waits for it at most
  until the deadline. The caller therefore regains control by the deadline (plus thread
  wake-up, a few milliseconds) whatever the server does. The abandoned thread hangs up at the
  next piece of the body it receives. While the status line and headers are still arriving
  (httpx reads them in one call) it cannot be stopped: a server trickling its headers keeps it,
  and one pooled connection, until they are complete. Each of its reads is bounded by the
  per-request timeouts, none longer than the deadline, so a server that goes silent frees it
  within a deadline. The request body is sent in pieces and the thread stops sending once the
  caller has gone, so a request (a big attachment on a slow uplink, say) is never completed,
  and applied by KashFlow, after the caller was told it timed out: at most the piece being
  written when the deadline passed still goes out, and a truncated request is not processed.

Both read the body as a stream through :class:`~.answer.AnswerReader` (size cap, bounded
expansion) into a *sink*, the caller's XML parser (:mod:`._answerparse`), piece by piece: the
body is never held whole, and reading stops early once the sink has seen enough to know the
answer cannot be read. Neither raises: each returns an :class:`Answer` or the mapped
:class:`~kashflow_sync.errors.KashFlowError`, built outside any ``except`` block so it carries
no transport exception (whose request holds the password) as cause or context, and its
traceback holds no frame of this module.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import queue
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import attrs
import httpx

from .. import errors
from . import errormap
from .answer import AnswerReader, AnswerTooLarge, Sink, UnreadableEncoding
from .codec import Envelope

__all__ = ["Answer", "Sink", "afetch", "fetch", "request_timeout", "retry_after"]

log = logging.getLogger("kashflow_sync")

T = TypeVar("T")


@attrs.frozen
class Answer:
    """What KashFlow answered: the HTTP status, the body's size and ``Retry-After``.

    The body itself went to the sink as it was read.
    """

    status_code: int
    size: int
    retry_after: float | None = None


def retry_after(response: httpx.Response) -> float | None:
    """The answer's ``Retry-After`` in seconds, if it has a usable one."""
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def request_timeout(configured: httpx.Timeout, deadline: float) -> httpx.Timeout:
    """The client's per-operation timeouts, none longer than the whole-answer *deadline*."""

    def clamp(value: float | None) -> float:
        return deadline if value is None else min(value, deadline)

    return httpx.Timeout(
        connect=clamp(configured.connect),
        read=clamp(configured.read),
        write=clamp(configured.write),
        pool=clamp(configured.pool),
    )


def _reader(response: httpx.Response, limit: int, sink: Sink) -> AnswerReader:
    """A reader for *response*'s body into *sink*, already fed if the transport gave it whole.

    A transport that builds its response from bytes (``httpx.MockTransport``, the fake
    in-process) gives one httpx has read and expanded already: it is checked as it is.
    """
    if response.is_stream_consumed:
        reader = AnswerReader(limit, sink=sink)
        reader.feed(response.content)
        return reader
    return AnswerReader(
        limit,
        content_encoding=response.headers.get("Content-Encoding"),
        content_length=response.headers.get("Content-Length"),
        sink=sink,
    )


def _failure(operation: str, problem: BaseException) -> errors.KashFlowError:
    """The SDK's error for what went wrong reading the answer (the problem is not chained).

    A header it quotes goes in ``detail``, which the service masks before raising.
    """
    if isinstance(problem, AnswerTooLarge):
        return errormap.answer_too_large(operation, problem.limit, expanded=problem.expanded)
    if isinstance(problem, UnreadableEncoding):
        return errormap.unreadable_answer(operation, str(problem), problem.quoted)
    assert isinstance(problem, httpx.HTTPError)
    log.info("kashflow %s failed: %s", operation, type(problem).__name__)
    return errormap.from_transport_error(operation, problem)


def _done(operation: str, status: int, started: float, answer: Answer) -> Answer:
    log.debug(
        "kashflow %s -> HTTP %s, %d bytes in %.0f ms",
        operation,
        status,
        answer.size,
        (time.monotonic() - started) * 1000,
    )
    return answer


# ---------------------------------------------------------------------- sync

# Bytes of request body written between checks that the caller is still waiting.
_SEND_PIECE = 64 * 1024


class _CallerGone(Exception):
    """Raised into httpx from the request body: the caller stopped waiting, stop sending."""


class _Exchange:
    """One POST, run on a helper thread so the caller can stop waiting at the deadline."""

    def __init__(
        self,
        http: httpx.Client,
        endpoint: str,
        envelope: Envelope,
        timeout: httpx.Timeout,
        limit: int,
        sink: Sink,
    ) -> None:
        self._http = http
        self._endpoint = endpoint
        self._envelope: Envelope | None = envelope
        self._timeout = timeout
        self._limit = limit
        self._sink = sink
        self.done = threading.Event()
        self.abandoned = threading.Event()
        self.answer: Answer | None = None
        self.problem: BaseException | None = None

    def __repr__(self) -> str:
        return f"<exchange {'done' if self.done.is_set() else 'running'}>"

    def run(self) -> None:
        """Send, read the answer piece by piece, and record the outcome (never raises)."""
        envelope, self._envelope = self._envelope, None
        assert envelope is not None
        # An explicit length keeps the body unchunked, as one bytes value would be.
        headers = {**envelope.headers, "Content-Length": str(len(envelope))}
        try:
            with self._http.stream(
                "POST",
                self._endpoint,
                content=self._pieces(envelope.content),
                headers=headers,
                timeout=self._timeout,
            ) as response:
                del envelope
                reader = _reader(response, self._limit, self._sink)
                for piece in () if response.is_stream_consumed else response.iter_raw():
                    if self.abandoned.is_set():
                        return  # the caller has gone; stop reading and hang up
                    if self._sink.stopped:
                        break  # the answer is already known unreadable: hang up
                    reader.feed(piece)
                if not self._sink.stopped:
                    reader.finish()
                self._sink.close()
                self.answer = Answer(response.status_code, reader.size, retry_after(response))
        except BaseException as exc:  # handed to the waiting caller, never raised here
            self.problem = exc
        finally:
            self.done.set()

    def _pieces(self, content: bytes) -> Iterator[bytes]:
        """The request body piece by piece, cut short (mid-request) once the caller has gone."""
        for start in range(0, len(content), _SEND_PIECE):
            if self.abandoned.is_set():
                raise _CallerGone
            yield content[start : start + _SEND_PIECE]


class _Workers:
    """Daemon threads that run exchanges, kept idle between calls for reuse.

    Starting a thread per request costs more than most of the request's own work; an idle
    worker takes the next one instead. Workers are daemons, so one still waiting on a server
    that ignores the deadline never holds up the interpreter's exit; idle ones end after a while.
    """

    IDLE = 60.0  # seconds an idle worker waits for work before it ends

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], object]] = queue.SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], object]) -> None:
        """Run *job* on an idle worker, or on a new one when none is idle."""
        with self._lock:
            start = self._idle == 0
            if not start:
                self._idle -= 1  # that worker is spoken for
        self._jobs.put(job)
        if start:
            threading.Thread(target=self._work, name="kashflow-sync-http", daemon=True).start()

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self.IDLE)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # nobody is counting on this worker: end it
                        self._idle -= 1
                        return
                continue  # a job was promised to an idle worker: take it
            job()
            with self._lock:
                self._idle += 1


_WORKERS = _Workers()


def fetch(
    http: httpx.Client,
    endpoint: str,
    envelope: Envelope,
    *,
    timeout: float,
    limit: int,
    sink: Sink,
) -> Answer | errors.KashFlowError:
    """POST *envelope* and read the whole answer into *sink* within *timeout* s and *limit* bytes.

    Returns the answer, or the error to raise (a timeout, the answer being too large or
    unreadable, or a transport failure). Anything else (a bug in a caller's transport, say)
    is raised as it is.
    """
    started = time.monotonic()
    operation = envelope.operation
    exchange = _Exchange(
        http, endpoint, envelope, request_timeout(http.timeout, timeout), limit, sink
    )
    del envelope
    context = contextvars.copy_context()
    _WORKERS.submit(lambda: context.run(exchange.run))
    try:
        finished = exchange.done.wait(timeout)
    finally:
        if not exchange.done.is_set():
            exchange.abandoned.set()
    if not finished:
        log.info("kashflow %s: no whole answer within %g s", operation, timeout)
        return errormap.deadline_exceeded(operation, timeout)
    if exchange.answer is not None:
        return _done(operation, exchange.answer.status_code, started, exchange.answer)
    problem = exchange.problem
    assert problem is not None
    if not isinstance(problem, (httpx.HTTPError, AnswerTooLarge, UnreadableEncoding)):
        raise problem
    return _failure(operation, problem)


# ---------------------------------------------------------------------- async


async def _aexchange(
    http: httpx.AsyncClient,
    endpoint: str,
    envelope: Envelope,
    timeout: httpx.Timeout,
    limit: int,
    sink: Sink,
) -> Answer:
    async with http.stream(
        "POST", endpoint, content=envelope.content, headers=envelope.headers, timeout=timeout
    ) as response:
        del envelope
        reader = _reader(response, limit, sink)
        if not response.is_stream_consumed:
            async for piece in response.aiter_raw():
                if sink.stopped:
                    break  # the answer is already known unreadable: hang up
                reader.feed(piece)
        if not sink.stopped:
            reader.finish()
        sink.close()
        return Answer(response.status_code, reader.size, retry_after(response))


if sys.version_info >= (3, 11):

    async def _within(seconds: float, work: Awaitable[T]) -> T:
        async with asyncio.timeout(seconds):
            return await work

else:  # pragma: no cover - Python 3.10

    async def _within(seconds: float, work: Awaitable[T]) -> T:
        return await asyncio.wait_for(work, seconds)


async def afetch(
    http: httpx.AsyncClient,
    endpoint: str,
    envelope: Envelope,
    *,
    timeout: float,
    limit: int,
    sink: Sink,
) -> Answer | errors.KashFlowError:
    """The async :func:`fetch`: the exchange is cancelled at the deadline."""
    started = time.monotonic()
    operation = envelope.operation
    work = _aexchange(http, endpoint, envelope, request_timeout(http.timeout, timeout), limit, sink)
    del envelope
    problem: BaseException | None = None
    late = False
    try:
        answer = await _within(timeout, work)
    except (TimeoutError, asyncio.TimeoutError):  # the same class from Python 3.11
        late = True
    except (httpx.HTTPError, AnswerTooLarge, UnreadableEncoding) as exc:
        problem = exc
    if late:
        log.info("kashflow %s: no whole answer within %g s", operation, timeout)
        return errormap.deadline_exceeded(operation, timeout)
    if problem is not None:
        return _failure(operation, problem)
    return _done(operation, answer.status_code, started, answer)
