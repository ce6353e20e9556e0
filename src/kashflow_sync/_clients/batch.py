"""Batches: many documents through one client, on bounded threads or bounded tasks.

Results come back in input order; one document's failure never stops the others (its
``BatchItem.error`` holds it); progress is reported after each document, in completion order,
with ``done`` counting up by one each time.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import attrs

from .._documents.model import BatchItem, BatchResult, Document, PublishResult

__all__ = ["BatchProgress", "ProgressHook", "run_in_tasks", "run_in_threads"]


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


def run_in_threads(
    documents: Sequence[Document],
    publish: Callable[[Document], PublishResult],
    *,
    concurrency: int,
    progress: ProgressHook | None,
) -> BatchResult:
    """Run *publish* over *documents* on at most *concurrency* threads."""
    _check(concurrency)
    counter = _Counter(len(documents), progress)

    def one(document: Document) -> BatchItem:
        try:
            item = _item(document, publish(document), None)
        except Exception as exc:  # one bad document never stops the batch
            item = _item(document, None, exc)
        counter.finished(item)
        return item

    if concurrency == 1 or len(documents) <= 1:
        return BatchResult(tuple(one(d) for d in documents))
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="kf-publish") as pool:
        return BatchResult(tuple(pool.map(one, documents)))


async def run_in_tasks(
    documents: Sequence[Document],
    publish: Callable[[Document], Awaitable[PublishResult]],
    *,
    concurrency: int,
    progress: ProgressHook | None,
) -> BatchResult:
    """Await *publish* over *documents*, at most *concurrency* at a time, in one event loop."""
    _check(concurrency)
    counter = _Counter(len(documents), progress)
    gate = asyncio.Semaphore(concurrency)

    async def one(document: Document) -> BatchItem:
        async with gate:
            try:
                item = _item(document, await publish(document), None)
            except Exception as exc:  # one bad document never stops the batch
                item = _item(document, None, exc)
        counter.finished(item)
        return item

    return BatchResult(tuple(await asyncio.gather(*(one(d) for d in documents))))
