"""``AsyncKashFlowClient``: the same client for asyncio apps, on the same engine.

KashFlow calls are awaited on an ``httpx.AsyncClient``; the (sync) ``Storage`` runs in a worker
thread, so every storage implementation, a host's own included, works unchanged. Offline work
(``validate``, ``resolve``, ``lists``, ``rules``, ``status``, ``publish_history``) stays plain
calls, as in the sync client; ``journal()``, an operator's listing that may be long, is awaited
so a database storage never blocks the loop. Both clients share the journal: a document one
published is ``already_published`` for the other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from types import TracebackType

import httpx

from .._account.items import SyncReport
from .._config import (
    Credentials,
)
from .._documents.model import BatchResult, Document, PublishResult
from .._engine import listsync
from .._engine.ids import Pending
from .._engine.verify import DEFAULT_VERIFY_HORIZON, Finding
from .._logcontext import log_context
from ..soap.caller import AsyncKashFlowService
from .base import BaseClient
from .batch import (
    DEFAULT_STOP_AFTER_FAILURES,
    Breaker,
    ProgressHook,
    run_in_tasks,
)
from .drivers import AsyncDriver, StopSignal, off_loop
from .journal_view import JournalSummary
from .owners import new_owner

__all__ = ["AsyncKashFlowClient"]


class AsyncKashFlowClient(BaseClient[httpx.AsyncClient]):
    """A connection to one KashFlow account, for asyncio.

    Takes the same arguments as :class:`~kashflow_sync.KashFlowClient`, except that
    *http_client* is an ``httpx.AsyncClient`` the caller owns (never closed by the SDK).
    Cancelling a task mid-publish leaves the journal consistent: publishing the same document
    again looks it up in KashFlow first and never sends it twice.

    Example:
        >>> import asyncio
        >>> import kashflow_sync as kfs
        >>> from kashflow_sync.testing import FakeKashFlow
        >>> fake = FakeKashFlow()
        >>> async def main() -> kfs.ConnectionStatus:
        ...     async with kfs.AsyncKashFlowClient(
        ...         fake.credentials, endpoint=fake.url, http_client=fake.async_http_client()
        ...     ) as client:
        ...         await client.connect()
        ...         return client.status
        >>> asyncio.run(main())
        <ConnectionStatus.CONNECTED: 'connected'>

    """

    _http_type = httpx.AsyncClient
    _http_name = "httpx.AsyncClient"
    _http_hint = "KashFlowClient takes an httpx.Client"

    def _start(self, http: httpx.AsyncClient) -> None:
        self._service = AsyncKashFlowService(
            http, self.endpoint, self.credentials, **self._caller_options()
        )
        self._driver = AsyncDriver(
            self._service, self.storage, self._auth_failed, telemetry=self._telemetry
        )

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> AsyncKashFlowClient:
        """Use the client in an ``async with`` block; it is closed at the end."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close what the client created."""
        await self.aclose()

    async def aclose(self) -> None:
        """Close the ``httpx.AsyncClient`` if the SDK created it (never one the caller passed).

        Calls that need KashFlow raise ``KashFlowError`` (code ``client_closed``) afterwards.
        """
        self._closed = True
        if self._owns_http:
            await self._http.aclose()

    async def connect(
        self, *, progress: listsync.ProgressCallback | None = None, force: bool = False
    ) -> SyncReport:
        """Allow this machine's IP (AutoAuth), check the credentials and sync every list.

        As :meth:`KashFlowClient.connect`, awaited.
        """
        self._check_open()
        flow = self._connect_flow(progress, force)
        with self._traced("connect"), log_context(connection_id=self.connection_id):
            try:
                report = await self._driver.run(flow)
            finally:
                self.lists.invalidate()
            self._log_connected(report)
        return report

    async def reconnect(
        self,
        credentials: Credentials | None = None,
        *,
        progress: listsync.ProgressCallback | None = None,
        force: bool = False,
    ) -> SyncReport:
        """Connect again, with new credentials if given; rules, lists and history are kept.

        *force* is as for :meth:`connect`.
        """
        self._use_credentials(credentials)
        return await self.connect(progress=progress, force=force)

    async def refresh_lists(
        self,
        only: str | Sequence[str] | None = None,
        *,
        progress: listsync.ProgressCallback | None = None,
        force: bool = False,
    ) -> SyncReport:
        """Re-pull all lists, or the named ones; nothing is deleted (see :class:`SyncReport`).

        As :meth:`KashFlowClient.refresh_lists`, awaited.
        """
        self._check_open()
        flow = self._refresh_flow(only, progress, force)
        with self._traced("refresh_lists"), log_context(connection_id=self.connection_id):
            try:
                return await self._driver.run(flow)
            finally:
                self.lists.invalidate()

    # ------------------------------------------------------------------ publishing

    async def publish(self, document: Document) -> PublishResult:
        """Validate, then publish *document* exactly once, with its attachment and payment.

        As :meth:`KashFlowClient.publish`, awaited.
        """
        return await self._publish(document)

    async def _publish(
        self,
        document: Document,
        *,
        owner: str | None = None,
        defer_id: bool = False,
        stop: StopSignal | None = None,
    ) -> PublishResult:
        with self._logged_publish(document) as outcome:
            # Resolving and validating read storage (rules, lists, the journal): off the loop.
            prepared = await asyncio.to_thread(self._prepare, document)
            if isinstance(prepared, PublishResult):
                missing = None if defer_id else self._missing_id_flow(prepared)
                outcome.append(prepared if missing is None else await self._driver.run(missing))
            else:
                flow = self._publish_flow(prepared, owner=owner, defer_id=defer_id)
                outcome.append(await self._driver.run(flow, stop))
        return outcome[0]

    async def publish_many(
        self,
        documents: Sequence[Document],
        *,
        concurrency: int = 4,
        progress: ProgressHook | None = None,
        stop_after_failures: int | None = DEFAULT_STOP_AFTER_FAILURES,
    ) -> BatchResult:
        """Publish many documents, at most *concurrency* at a time; results in input order.

        As :meth:`KashFlowClient.publish_many`, awaited: tasks instead of threads, and the
        same breaker (*stop_after_failures*; ``BatchResult.stopped``). Cancelled (as
        ``asyncio.run`` does on Ctrl-C), it stops likewise: ``CancelledError`` goes on up once
        the publishes in flight have ended and every entry of the batch is given back.
        """
        documents = list(documents)
        breaker = Breaker(stop_after_failures)
        self._check_open()
        pending: list[Pending] = []

        async def one(document: Document, stop: StopSignal) -> PublishResult:
            owner = new_owner()
            result = await self._publish(document, owner=owner, defer_id=True, stop=stop)
            return self._note_deferred_id(pending, document, owner, result)

        with self._traced("publish_many") as span:
            span.set("kashflow_sync.batch.size", len(documents))
            await asyncio.to_thread(self._require_connected)  # a storage read: in the span
            try:
                batch = await run_in_tasks(
                    documents, one, concurrency=concurrency, progress=progress, breaker=breaker
                )
            except BaseException:  # cancelled: the documents created so far give entries back
                if pending:
                    await self._driver.run(self._fill_ids_flow(pending, learn=False))
                raise
            if not pending:
                return batch
            # A batch that found KashFlow unreachable only gives the entries back.
            ids_flow = self._fill_ids_flow(pending, learn=batch.stopped is None)
            return self._with_ids(batch, await self._driver.run(ids_flow))

    # ------------------------------------------------------------------ operators

    async def forget(self, external_id: str) -> JournalSummary:
        """Let a document deleted in KashFlow be published again, once KashFlow confirms it.

        As :meth:`KashFlowClient.forget`, awaited.

        Raises:
            RejectedError: ``still_in_kashflow``: KashFlow still holds it (its number named).
            PublishUncertainError: ``publish_unsettled``: its create is uncertain; publish it
                again first.
            KashFlowError: ``not_in_journal``: nothing was published under this id.

        """
        with (
            self._traced("forget"),
            log_context(connection_id=self.connection_id, external_id=external_id),
        ):
            flow = await off_loop(self.storage, self._forget_flow, external_id)
            entry = await self._driver.run(flow)
        return self._summaries([Finding(entry, ())])[0]

    async def verify(self, *, horizon: timedelta = DEFAULT_VERIFY_HORIZON) -> list[JournalSummary]:
        """Look again for late second copies of documents whose create was sent again.

        As :meth:`KashFlowClient.verify`, awaited.
        """
        with self._traced("verify"), log_context(connection_id=self.connection_id):
            markers = await off_loop(self.storage, self._verify_markers)
            findings = await self._driver.run(self._verify_flow(markers, horizon))
        return self._summaries(findings)

    async def journal(
        self,
        state: str | Collection[str] | None = None,
        older_than: timedelta | datetime | None = None,
        *,
        limit: int | None = None,
        include_contacts: bool = False,
    ) -> list[JournalSummary]:
        """The connection's journal, least recently updated first: what is stuck, and why.

        As :meth:`KashFlowClient.journal` (arguments, result and errors alike), but awaited,
        unlike ``publish_history``: a listing can be long, so a blocking storage (a database)
        is read in a worker thread and the event loop never waits on it.
        """
        args = (state, older_than, limit, include_contacts)
        return await off_loop(self.storage, self._journal, *args)
