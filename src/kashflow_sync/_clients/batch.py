"""Batches: many documents through one client, on bounded threads or bounded tasks.

Results come back in input order; one document's failure never stops the others (its
``BatchItem.error`` holds it); progress is reported after each document, in completion order,
with ``done`` counting up by one each time.

One thing does stop a batch: KashFlow unreachable. A :class:`Breaker` counts connection
failures in a row (in completion order); at its limit it trips: no further document is
started, the ones in flight stop before their next write to KashFlow (giving their journal
entries back), and the batch ends with one :class:`~kashflow_sync.errors.UnreachableError`
instead of a connection failure per document.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from datetime import datetime, timezone

import attrs

from .. import errors
from .._config import DEFAULT_STOP_AFTER_FAILURES
from .._documents.model import BatchItem, BatchResult, Document, PublishResult
from .._error_codes import UNREACHABLE_CODES
from .drivers import StopSignal

__all__ = [
    "DEFAULT_STOP_AFTER_FAILURES",
    "BatchProgress",
    "Breaker",
    "ProgressHook",
    "check_stop_after",
    "run_in_tasks",
    "run_in_threads",
]


@attrs.frozen
class BatchProgress:
    """Progress of ``publish_many``: called after each document finishes."""

    done: int
    total: int
    external_id: str
    ok: bool


ProgressHook = Callable[[BatchProgress], None]


def _check(concurrency: int) -> None:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a whole number of at least 1, not {concurrency!r}")


def check_stop_after(stop_after_failures: int | None) -> None:
    """Refuse a breaker limit that is not None or a whole number of at least 1."""
    if stop_after_failures is None:
        return
    if (
        isinstance(stop_after_failures, bool)
        or not isinstance(stop_after_failures, int)
        or stop_after_failures < 1
    ):
        raise ValueError(
            "stop_after_failures must be a whole number of at least 1, or None (never stop), "
            f"not {stop_after_failures!r}"
        )


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Breaker:
    """Connection failures in a row across a batch; trips (sets :attr:`stop`) at *limit*.

    A document that KashFlow answered (published, or refused) ends the run of failures; any
    other outcome (a validation problem, a stopped or uncertain publish) leaves it as it is.

    Args:
        limit: the failures in a row that trip it; None never trips (only Ctrl-C stops).
        clock: the current time, timezone-aware (when the run of failures began).

    """

    def __init__(self, limit: int | None, *, clock: Callable[[], datetime] = _utcnow) -> None:
        check_stop_after(limit)
        self.limit = limit
        self.clock = clock
        self.failures = 0
        self.since: datetime | None = None
        #: Set when the breaker trips, or by whoever stops the batch (Ctrl-C): documents in
        #: flight stop before their next write to KashFlow.
        self.stop = threading.Event()
        self.tripped = False
        self._lock = threading.Lock()

    def record(self, outcome: object) -> None:
        """Count one finished document's outcome (a result or an exception)."""
        with self._lock:
            if isinstance(outcome, errors.KashFlowError) and outcome.code in UNREACHABLE_CODES:
                if self.failures == 0:
                    self.since = self.clock()
                self.failures += 1
                if self.limit is not None and self.failures >= self.limit and not self.tripped:
                    self.tripped = True
                    self.stop.set()
            elif isinstance(outcome, errors.RejectedError) or (
                # "already published" may come from the journal alone: no sign of KashFlow.
                isinstance(outcome, PublishResult) and outcome.status == "published"
            ):
                self.failures = 0
                self.since = None

    def error(self, not_attempted: int) -> errors.UnreachableError:
        """The one summary of a tripped batch."""
        return errors.UnreachableError(
            since=self.since or self.clock(),
            not_attempted=not_attempted,
            failures=self.failures,
        )


def _item(document: Document, result: PublishResult | None, error: Exception | None) -> BatchItem:
    if error is not None:
        return BatchItem(document.external_id, error=error)
    return BatchItem(document.external_id, result=result)


class _Counter:
    """Counts finished documents and reports each one, in order, under a lock."""

    def __init__(self, total: int, progress: ProgressHook | None) -> None:
        self.total = total
        self.done = 0
        self.progress = progress
        self.lock = threading.Lock()

    def finished(self, item: BatchItem) -> None:
        with self.lock:
            self.done += 1
            if self.progress is not None:
                self.progress(BatchProgress(self.done, self.total, item.external_id, item.ok))


def _result(
    documents: Sequence[Document], items: Sequence[BatchItem | None], breaker: Breaker
) -> BatchResult:
    """The batch's result; documents never started (None) carry the breaker's summary."""
    skipped = sum(1 for item in items if item is None)
    if not breaker.tripped:
        assert not skipped
        return BatchResult(tuple(item for item in items if item is not None))
    stopped = breaker.error(skipped)
    return BatchResult(
        tuple(
            item if item is not None else BatchItem(doc.external_id, error=stopped)
            for doc, item in zip(documents, items, strict=True)
        ),
        stopped=stopped,
    )


def run_in_threads(
    documents: Sequence[Document],
    publish: Callable[[Document, StopSignal], PublishResult],
    *,
    concurrency: int,
    progress: ProgressHook | None,
    breaker: Breaker,
) -> BatchResult:
    """Run *publish* over *documents* on at most *concurrency* threads, until *breaker* trips.

    A ``KeyboardInterrupt`` in the calling thread, or an exception out of *progress*, stops the
    batch as a tripped breaker does: nothing more starts, those in flight stop before their
    next write to KashFlow and give their entries back; it is raised once they have.
    """
    _check(concurrency)
    counter = _Counter(len(documents), progress)

    def one(document: Document) -> BatchItem | None:
        if breaker.stop.is_set():
            return None  # KashFlow is unreachable, or the caller stopped: never started
        try:
            item = _item(document, publish(document, breaker.stop), None)
        except Exception as exc:  # one bad document never stops the batch
            item = _item(document, None, exc)
        breaker.record(item.result if item.error is None else item.error)
        counter.finished(item)
        return item

    if concurrency == 1 or len(documents) <= 1:
        return _result(documents, [one(d) for d in documents], breaker)
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="kf-publish")
    futures = [pool.submit(one, document) for document in documents]
    try:
        running = set(futures)
        while running:
            # A timeout keeps this thread awake for Ctrl-C on every platform.
            done, running = wait(running, timeout=0.2, return_when=FIRST_EXCEPTION)
            for future in done:
                failure = future.exception()
                if failure is not None:  # out of the progress hook: the batch stops too
                    raise failure
    except BaseException:
        breaker.stop.set()  # those in flight stop before their next write
        raise
    finally:
        # Waits for those in flight; on a stop, what has not started never does.
        pool.shutdown(wait=True, cancel_futures=True)
    return _result(documents, [future.result() for future in futures], breaker)


async def run_in_tasks(
    documents: Sequence[Document],
    publish: Callable[[Document, StopSignal], Awaitable[PublishResult]],
    *,
    concurrency: int,
    progress: ProgressHook | None,
    breaker: Breaker,
) -> BatchResult:
    """Await *publish* over *documents*, at most *concurrency* at a time, until *breaker* trips.

    Cancelled (``asyncio.run`` on Ctrl-C), or any exception out of a task: nothing more
    starts, and the error goes on up only once the publishes in flight have ended (each gives
    its entry back), as :func:`run_in_threads` does.
    """
    _check(concurrency)
    counter = _Counter(len(documents), progress)
    gate = asyncio.Semaphore(concurrency)

    async def one(document: Document) -> BatchItem | None:
        async with gate:
            if breaker.stop.is_set():
                return None  # KashFlow is unreachable, or the batch is stopping: never started
            try:
                item = _item(document, await publish(document, breaker.stop), None)
            except Exception as exc:  # one bad document never stops the batch
                item = _item(document, None, exc)
        breaker.record(item.result if item.error is None else item.error)
        counter.finished(item)
        return item

    tasks = [asyncio.ensure_future(one(d)) for d in documents]
    try:
        items = await asyncio.gather(*tasks)
    except BaseException:
        # gather gives up at the first task cancelled or failed, with the others still
        # running: stop them, and wait until each has ended.
        breaker.stop.set()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        raise
    return _result(documents, items, breaker)
