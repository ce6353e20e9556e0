"""The publish and refresh tasks, registered on the host's Celery app by :func:`register`.

Celery delivers a task at least once: with ``acks_late`` a message is acknowledged only after
the task returns, so a worker that dies mid-task (``reject_on_worker_lost``, or a lost broker
connection) has the message delivered again, possibly while the first run still goes on. The
publish journal turns that into exactly once: the second run finds the document published
(``already_published``), waits out the first run's lease, or looks the document up in KashFlow
before it would send it again. Nothing here needs a lock of its own.

What ends how:

- A document's outcome is the task's *result* (state ``SUCCESS``): published, already
  published, or failed with the error's code, message and remedy. A failed document is data
  for the host, not a crash.
- Errors that mean "not now" (``TransientError``, ``PublishUncertainError``, ``ProtocolError``
  and a database failure that passes by itself, such as a failover's read-only primary, when
  ``retryable``) are retried with exponential backoff and jitter; when the retries run out
  the result says ``failed`` with ``retryable: true`` and the journal keeps the document's
  state for ``client.journal()``.
- Only a bug ends a task in Celery's ``FAILURE`` state: an exception that is not a
  ``KashFlowError`` (in the SDK, the host's client factory or its storage), with its traceback.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any, Literal

import attrs
from celery import Celery, Task
from celery.schedules import BaseSchedule

from .. import errors
from .._clients.base import ConnectionCaches
from .._clients.sync_client import KashFlowClient
from .._documents.jsonformat import document_from_json
from .._documents.model import (
    Document,
    PublishResult,
    PurchaseCreditNote,
    PurchaseInvoice,
    SalesCreditNote,
    SalesInvoice,
)
from .._engine.ids import Pending
from .._journal.states import DUPLICATED
from .._retry import backoff as _backoff
from ._results import (
    PublishTaskResult,
    RefreshTaskResult,
    VerifyTaskResult,
    failed_publish,
    failed_refresh,
    failed_verify,
    published,
    refreshed,
    verified,
)
from ._tracing import callers_context, carry_trace_context

__all__ = [
    "DEFAULT_CACHED_CONNECTIONS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_REFRESH_EVERY",
    "DEFAULT_RETRY_BACKOFF",
    "DEFAULT_RETRY_BACKOFF_MAX",
    "KashFlowTasks",
    "backoff",
    "register",
    "should_retry",
]

log = logging.getLogger("kashflow_sync.celery")

#: Task retries after the first run, for errors that mean "not now".
DEFAULT_MAX_RETRIES = 8
#: Seconds before the first retry; each further one doubles, up to the maximum.
DEFAULT_RETRY_BACKOFF = 5.0
#: The longest wait between two runs, in seconds. Kept well under Redis's default visibility
#: timeout (1 h) and RabbitMQ's consumer timeout (30 min), which would redeliver a task held
#: that long by a worker waiting for its countdown.
DEFAULT_RETRY_BACKOFF_MAX = 600.0
#: Connections per worker process whose lists and ledger lookups are kept between tasks.
DEFAULT_CACHED_CONNECTIONS = 64
#: How often the lists of every connection are refreshed (Dext refreshes about every 48 h).
DEFAULT_REFRESH_EVERY = timedelta(hours=48)
#: With ``kashflow_ids="batched"``: a connection's documents whose ids one read learns...
IDS_BATCH = 20
#: ...or, once its oldest has waited this long (seconds), at the connection's next task.
IDS_WAIT = 60.0
#: Connections whose waiting documents a process keeps at most (the first waiting dropped).
IDS_CONNECTIONS = 1024

KashFlowIds = Literal["at_once", "batched"]

#: The errors worth another run later: the SDK already retried the calls it safely could.
_NOT_NOW = (
    errors.TransientError,
    errors.PublishUncertainError,
    errors.ProtocolError,
    errors.StorageError,
)

ClientFactory = Callable[[str], KashFlowClient]
Connections = Iterable[str] | Callable[[], Iterable[str]]


def should_retry(exc: errors.KashFlowError) -> bool:
    """Whether a task that failed with *exc* should run again later.

    Only errors that mean "not now" and say they are ``retryable``: never a validation
    problem, a refusal, or refused credentials (KashFlow locks accounts after repeated bad
    logins).
    """
    return isinstance(exc, _NOT_NOW) and exc.retryable


def backoff(
    retries: int,
    base: float,
    cap: float,
    rng: random.Random | None = None,
    *,
    retry_after: float | None = None,
) -> float:
    """Seconds before run number ``retries + 2``: exponential, capped, with "equal jitter".

    The formula of the clients' own retries (:class:`~kashflow_sync.RetryPolicy`), with half of
    each ceiling ``min(cap, base * 2**retries)`` kept and the other half drawn at random, so
    tasks that failed together spread out without any retrying at once (full jitter may draw ~0 s,
    which would only meet the same outage again). An error's ``retry_after`` (KashFlow's
    ``Retry-After``, or how long until an uncertain send has settled) is waited at least, up to
    *cap*: running sooner could only fail the same way.
    """
    return _backoff(retries + 1, base, cap, jitter=0.5, rng=rng, retry_after=retry_after)


def _client(client_factory: ClientFactory, connection_id: str) -> KashFlowClient:
    client = client_factory(connection_id)
    if not isinstance(client, KashFlowClient):
        raise TypeError(
            "client_factory must return a kashflow_sync.KashFlowClient (workers run the sync "
            f"client), not {type(client).__name__}"
        )
    return client


class _WorkerCaches:
    """Each connection's client caches in this worker process, the most recently used kept.

    The host's factory builds a new client for every task (so a task always runs with the
    credentials the host has now); the new client takes over the caches of the connection's
    previous one: its lists (reloaded only when a sync changed them in storage), the ledger
    documents of the duplicate check (kept ``ledger_cache_ttl``) and the storage clock offset.
    Without this, every task would reload every list and download the contact's history.
    """

    def __init__(self, size: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._size = size
        self._clock = clock
        self._lock = threading.Lock()
        self._by_connection: OrderedDict[str, ConnectionCaches] = OrderedDict()
        # Per connection: documents published here without their internal id, with when.
        self._pending: dict[str, list[tuple[float, Pending]]] = {}

    def ids_due(self, connection_id: str, new: Pending | None) -> list[Pending]:
        """Add *new* to the connection's documents awaiting their id; those due, taken out.

        Due: all of them, once there are :data:`IDS_BATCH`, or once the oldest has waited
        :data:`IDS_WAIT` seconds (one read of the account's recent documents learns them).
        """
        now = self._clock()
        with self._lock:
            waiting = self._pending.setdefault(connection_id, [])
            if new is not None:
                waiting.append((now, new))
            while len(self._pending) > IDS_CONNECTIONS:
                # Memory stays bounded, whatever cached_connections: their ids stay unknown.
                del self._pending[next(iter(self._pending))]
            if not waiting or (len(waiting) < IDS_BATCH and now - waiting[0][0] < IDS_WAIT):
                return []
            self._pending.pop(connection_id, None)
        return [item for _since, item in waiting]

    def client(self, client_factory: ClientFactory, connection_id: str) -> KashFlowClient:
        client = _client(client_factory, connection_id)
        if self._size <= 0:
            return client
        with self._lock:
            earlier = self._by_connection.get(connection_id)
            if earlier is not None:
                self._by_connection.move_to_end(connection_id)
        if earlier is not None and client._adopt_caches(earlier):
            return client
        with self._lock:
            # A client on another storage object, or the first of its connection: its caches
            # are the ones the next tasks take over.
            self._by_connection[connection_id] = client._caches()
            self._by_connection.move_to_end(connection_id)
            while len(self._by_connection) > self._size:
                gone, _caches = self._by_connection.popitem(last=False)
                # Its documents' ids stay unknown here: a later publish of one learns its id.
                self._pending.pop(gone, None)
        return client


def _document(document: Any) -> Document:
    if isinstance(document, (PurchaseInvoice, SalesInvoice, PurchaseCreditNote, SalesCreditNote)):
        return document  # a pickle serializer carries the object itself
    if not isinstance(document, Mapping):
        raise errors.ValidationError(
            [],
            message=(
                "the publish task takes a document as JSON data (kfs.document_to_json(doc)), "
                f"not {type(document).__name__}"
            ),
        )
    return document_from_json(document)


@attrs.frozen
class KashFlowTasks:
    """The tasks :func:`register` added to the host's Celery app.

    Attributes:
        app: the host's Celery app.
        publish: ``publish(connection_id, document_json)``; its result is a
            :class:`~kashflow_sync.celery.PublishTaskResult`.
        refresh: ``refresh(connection_id, only=None)``; its result is a
            :class:`~kashflow_sync.celery.RefreshTaskResult`.
        verify: ``verify(connection_id)``: look for late second copies of documents sent
            again (``client.verify()``); its result is a
            :class:`~kashflow_sync.celery.VerifyTaskResult`. Run it now and then per
            connection (hourly, say, on Celery beat).
        prefix: the tasks' name prefix (``"kashflow_sync"``: ``kashflow_sync.publish``).

    """

    app: Celery
    publish: Task[..., PublishTaskResult]
    refresh: Task[..., RefreshTaskResult]
    prefix: str
    queue: str | None = None
    verify: Task[..., VerifyTaskResult] | None = None

    def schedule_refreshes(
        self,
        connections: Connections,
        *,
        every: timedelta | BaseSchedule = DEFAULT_REFRESH_EVERY,
    ) -> Task[..., dict[str, int]]:
        """Refresh every connection's lists on a Celery beat schedule.

        Adds the task ``<prefix>.refresh_all`` and a ``beat_schedule`` entry that runs it
        *every* interval; it enqueues one ``refresh`` task per connection, and workers take
        them at their own pace (the queue is the throttle: each refresh talks to its own
        KashFlow account). Call it where the app is defined, so that workers and ``celery
        beat`` both run it.

        Args:
            connections: the connection ids, or a callable returning them, called at each run
                (so connections added later are refreshed too).
            every: a ``timedelta``, or any Celery schedule (e.g. ``crontab(hour=3)``).

        Returns:
            The ``refresh_all`` task; its result is ``{"scheduled": N}``.

        """
        refresh = self.refresh
        options: dict[str, Any] = {} if self.queue is None else {"queue": self.queue}

        @self.app.task(name=f"{self.prefix}.refresh_all", shared=False, **options)
        def refresh_all() -> dict[str, int]:
            ids = list(connections() if callable(connections) else connections)
            for connection_id in ids:
                refresh.apply_async((connection_id,), **options)
            log.info("scheduled a list refresh of %d connection(s)", len(ids))
            return {"scheduled": len(ids)}

        schedule = dict(self.app.conf.beat_schedule or {})
        schedule[f"{self.prefix}.refresh_all"] = {
            "task": f"{self.prefix}.refresh_all",
            "schedule": every,
            "options": options,
        }
        self.app.conf.beat_schedule = schedule
        task: Task[..., dict[str, int]] = refresh_all
        return task


def register(
    app: Celery,
    client_factory: ClientFactory,
    *,
    prefix: str = "kashflow_sync",
    queue: str | None = None,
    max_retries: int = DEFAULT_MAX_RETRIES,
    retry_backoff: float = DEFAULT_RETRY_BACKOFF,
    retry_backoff_max: float = DEFAULT_RETRY_BACKOFF_MAX,
    cached_connections: int = DEFAULT_CACHED_CONNECTIONS,
    kashflow_ids: KashFlowIds = "at_once",
) -> KashFlowTasks:
    """Register the publish and refresh tasks on *app*.

    Args:
        app: the host's Celery app; call this where the app is defined, so that every
            worker registers the same tasks.
        client_factory: builds a :class:`~kashflow_sync.KashFlowClient` for a connection id.
            The host owns credentials: tasks carry only the connection id. It is called once
            per task, and the client is closed when the task ends; give it a storage and an
            ``httpx.Client`` made once per worker process (see the Running at scale page).
            Building a client is cheap: what is costly to gather (lists, ledger lookups) is
            handed from one task's client to the next (see *cached_connections*).
        prefix: the tasks are named ``<prefix>.publish`` and ``<prefix>.refresh``.
        queue: the queue the tasks are routed to (default: the app's default queue).
        max_retries: runs after the first, for errors that mean "not now".
        retry_backoff: seconds before the first retry; doubled each time.
        retry_backoff_max: the longest wait between runs, in seconds.
        cached_connections: for how many connections (the most recently used) each worker
            process keeps the lists and the duplicate check's ledger lookups between tasks;
            0 keeps none (every task reloads the lists from storage and looks the contact's
            documents up in KashFlow). Only clients on the same storage object share them.
        kashflow_ids: when a new document's internal id (``kashflow_id``) is read.
            ``"at_once"``: by its task, one read per document, so every ``published`` result
            has it. ``"batched"``: not by its task (its result says ``"kashflow_id": None``,
            the number is there as always); each worker process learns the ids of a
            connection's recent documents together, with one read, once 20 wait or the
            oldest has waited a minute (at that connection's next task in the process), and
            stores them in the journal. One KashFlow request fewer per document, for hosts
            that identify documents by number or can wait for the id: publishing the
            document again answers ``already_published`` with the id, read then if the batch
            did not learn it.

    Returns:
        The registered tasks: ``tasks.publish.delay(connection_id, kfs.document_to_json(doc))``,
        ``tasks.refresh.delay(connection_id)``, ``tasks.verify.delay(connection_id)``.

    """
    if max_retries < 0 or retry_backoff < 0 or retry_backoff_max < retry_backoff:
        raise ValueError(
            "max_retries and retry_backoff must not be negative, and retry_backoff_max not "
            "below retry_backoff"
        )
    if cached_connections < 0:
        raise ValueError(f"cached_connections must not be negative, not {cached_connections!r}")
    if kashflow_ids not in ("at_once", "batched"):
        raise ValueError(f"kashflow_ids must be 'at_once' or 'batched', not {kashflow_ids!r}")
    batched = kashflow_ids == "batched"
    caches = _WorkerCaches(cached_connections)
    options: dict[str, Any] = {
        "bind": True,
        # The tasks close over this app's client factory: they are this app's alone. Celery
        # would otherwise share them with every app in the process (the default one too),
        # where the first registration's task would answer for every later one.
        "shared": False,
        # Acknowledge after the task, and give the message back if the worker process dies:
        # at-least-once delivery, which the journal turns into exactly-once publishing.
        "acks_late": True,
        "reject_on_worker_lost": True,
        "max_retries": max_retries,
    }
    if queue is not None:
        options["queue"] = queue

    def again(task: Task[..., Any], exc: errors.KashFlowError) -> bool:
        return should_retry(exc) and task.request.retries < max_retries

    def retry(task: Task[..., Any], exc: errors.KashFlowError, what: str) -> Exception:
        countdown = backoff(
            task.request.retries, retry_backoff, retry_backoff_max, retry_after=exc.retry_after
        )
        log.info(
            "%s: %s (%s); run %d of %d in %.1fs",
            what,
            exc.message,
            exc.code,
            task.request.retries + 2,
            max_retries + 1,
            countdown,
        )
        return task.retry(exc=exc, countdown=countdown, max_retries=max_retries)

    def retry_or_give_up(
        task: Task[..., Any], exc: errors.KashFlowError, what: str, undone: str
    ) -> None:
        """Raise the task's retry of *what* if *exc* deserves one; else log what is *undone*."""
        if again(task, exc):
            raise retry(task, exc, what) from exc
        log.warning("%s: %s (%s) -> %s", undone, exc.message, exc.code, exc.remedy)

    def learn_ids(
        client: KashFlowClient, connection_id: str, doc: Document, result: PublishResult
    ) -> PublishResult:
        """*result*, its id filled in if this task learned the due ids of its connection."""
        new = None
        if result.status == "published" and not result.kashflow_id and result.number:
            new = Pending(doc.external_id, doc.kind, result.number, None)
        due = caches.ids_due(connection_id, new)
        if not due:
            return result
        try:
            ids = client._fill_ids(due)
        except errors.KashFlowError as exc:
            # Published all the same: only the ids stay unknown (a later publish reads one).
            log.warning(
                "%s: internal ids not learned: %s (%s)", connection_id, exc.message, exc.code
            )
            return result
        if doc.external_id in ids:
            result = attrs.evolve(result, kashflow_id=ids[doc.external_id])
        return result

    @app.task(name=f"{prefix}.publish", **options)
    def publish(self: Task[..., Any], connection_id: str, document: Any) -> PublishTaskResult:
        with callers_context(self):
            return publish_one(self, connection_id, document)

    def publish_one(task: Task[..., Any], connection_id: str, document: Any) -> PublishTaskResult:
        try:
            doc = _document(document)
        except errors.ValidationError as exc:
            external_id = document.get("external_id") if isinstance(document, Mapping) else None
            log.warning("%s: not a document: %s", external_id, exc.message)
            return failed_publish(external_id if isinstance(external_id, str) else None, exc)
        try:
            with caches.client(client_factory, connection_id) as client:
                result = client._publish(doc, read_id=not batched)
                if batched:
                    result = learn_ids(client, connection_id, doc, result)
        except errors.KashFlowError as exc:
            what = f"{connection_id}/{doc.external_id}"
            retry_or_give_up(task, exc, what, f"{what} not published")
            return failed_publish(doc.external_id, exc)
        return published(result)

    @app.task(name=f"{prefix}.refresh", **options)
    def refresh(
        self: Task[..., Any], connection_id: str, only: list[str] | None = None, force: bool = False
    ) -> RefreshTaskResult:
        with callers_context(self):
            return refresh_one(self, connection_id, only, force)

    def refresh_one(
        task: Task[..., Any], connection_id: str, only: list[str] | None, force: bool
    ) -> RefreshTaskResult:
        try:
            with caches.client(client_factory, connection_id) as client:
                report = client.refresh_lists(only, force=force)
        except errors.KashFlowError as exc:
            retry_or_give_up(
                task, exc, f"{connection_id} refresh", f"{connection_id}: lists not refreshed"
            )
            return failed_refresh(connection_id, exc)
        return refreshed(connection_id, report)

    @app.task(name=f"{prefix}.verify", **options)
    def verify(self: Task[..., Any], connection_id: str) -> VerifyTaskResult:
        with callers_context(self):
            return verify_one(self, connection_id)

    def verify_one(task: Task[..., Any], connection_id: str) -> VerifyTaskResult:
        try:
            with caches.client(client_factory, connection_id) as client:
                rows = client.verify()
        except errors.KashFlowError as exc:
            retry_or_give_up(task, exc, f"{connection_id} verify", f"{connection_id}: not verified")
            return failed_verify(connection_id, exc)
        for row in rows:
            if row.state == DUPLICATED:
                log.warning(
                    "%s/%s: %s -> %s", connection_id, row.external_id, row.message, row.remedy
                )
        return verified(connection_id, rows)

    carry_trace_context({publish.name, refresh.name, verify.name})
    return KashFlowTasks(
        app=app, publish=publish, refresh=refresh, prefix=prefix, queue=queue, verify=verify
    )
