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
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_ANSWER_BYTES,
    DEFAULT_TIMEOUT,
    KASHFLOW_SOAP_URL,
    Credentials,
)
from .._documents.model import BatchResult, Document, PublishResult
from .._engine import listsync
from .._engine.ids import Pending
from .._engine.lease import DEFAULT_LEASE
from .._engine.ledger import DEFAULT_LEDGER_CACHE_TTL
from .._engine.settle import DEFAULT_SETTLE_TIME
from .._engine.verify import DEFAULT_VERIFY_HORIZON, Finding
from .._logcontext import log_context
from .._retry import RetryPolicy
from ..soap.caller import AsyncKashFlowService
from ..typing import RuleResolver, Storage
from .base import BaseClient, new_id
from .batch import ProgressHook, run_in_tasks
from .drivers import AsyncDriver, off_loop
from .journal_view import JournalSummary

__all__ = ["AsyncKashFlowClient"]


class AsyncKashFlowClient(BaseClient):
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

    def __init__(
        self,
        credentials: Credentials,
        *,
        app_name: str = "kashflow_sync",
        storage: Storage | None = None,
        rules: RuleResolver | None = None,
        connection_id: str = "default",
        endpoint: str = KASHFLOW_SOAP_URL,
        http_client: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        create_missing_contacts: bool = True,
        publish_lease: timedelta = DEFAULT_LEASE,
        full_customer_sync_every: timedelta = listsync.DEFAULT_FULL_CUSTOMER_SYNC,
        check_ledger_duplicates: bool = True,
        settle_time: timedelta = DEFAULT_SETTLE_TIME,
        ledger_cache_ttl: timedelta = DEFAULT_LEDGER_CACHE_TTL,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
    ) -> None:
        """Build the client; nothing is sent until :meth:`connect` or another call."""
        super().__init__(
            credentials,
            app_name=app_name,
            storage=storage,
            rules=rules,
            connection_id=connection_id,
            endpoint=endpoint,
            timeout=timeout,
            retry=retry,
            create_missing_contacts=create_missing_contacts,
            publish_lease=publish_lease,
            full_customer_sync_every=full_customer_sync_every,
            check_ledger_duplicates=check_ledger_duplicates,
            settle_time=settle_time,
            ledger_cache_ttl=ledger_cache_ttl,
            max_answer_bytes=max_answer_bytes,
        )
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise TypeError(
                f"http_client must be an httpx.AsyncClient, not {type(http_client).__name__} "
                "(KashFlowClient takes an httpx.Client)"
            )
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout, connect=DEFAULT_CONNECT_TIMEOUT),
            headers={"User-Agent": "kashflow-sync"},
        )
        self._service = AsyncKashFlowService(
            self._http,
            self.endpoint,
            credentials,
            app_name=app_name,
            retry=self._retry,
            timeout=self.timeout,
            max_answer_bytes=self.max_answer_bytes,
        )
        self._driver = AsyncDriver(self._service, self.storage, self._auth_failed)

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

        Args:
            progress: called as each list starts and is stored.
            force: store a list even if more than half of its stored items would be archived
                (see :meth:`refresh_lists`); it matters only when lists were synced before.

        Raises:
            AuthenticationError: KashFlow refused the username or password.
            IPNotAllowedError: the IP is not allowed and no (valid) AutoAuth key was given.
            PermissionDeniedError: API access is disabled for the account or user.
            ProtocolError: ``mass_archive_refused``, as for :meth:`refresh_lists`.

        """
        self._check_open()
        flow = listsync.connect(
            self._sync_settings(),
            app_name=self.app_name,
            autoauth=bool(self.credentials.autoauth_key),
            progress=progress,
            force=force,
        )
        with log_context(connection_id=self.connection_id):
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
        if credentials is not None:
            if not isinstance(credentials, Credentials):
                raise TypeError("credentials must be a kashflow_sync.Credentials")
            self._credentials = self._service.credentials = credentials
        return await self.connect(progress=progress, force=force)

    async def refresh_lists(
        self,
        only: str | Sequence[str] | None = None,
        *,
        progress: listsync.ProgressCallback | None = None,
        force: bool = False,
    ) -> SyncReport:
        """Re-pull all lists, or the named ones; nothing is deleted (see :class:`SyncReport`).

        Args:
            only: a list name, or several; None for every list.
            progress: called as each list starts and is stored.
            force: store a list even if more than half of its active items would be archived.
                Without it such a list (of at least ``MASS_ARCHIVE_MIN_ITEMS`` items) is left
                as it was: a KashFlow answer cut short looks exactly like that.

        Raises:
            ProtocolError: ``mass_archive_refused`` (the message says how many of how many
                would have been archived; lists before it are stored), ``not_a_list`` (the
                answer's list holds something else), or another unreadable answer.

        """
        self._check_open()
        names = [only] if isinstance(only, str) else only
        with log_context(connection_id=self.connection_id):
            try:
                return await self._driver.run(
                    listsync.refresh(
                        self._sync_settings(), only=names, progress=progress, force=force
                    )
                )
            finally:
                self.lists.invalidate()

    # ------------------------------------------------------------------ publishing

    async def publish(self, document: Document) -> PublishResult:
        """Validate, then publish *document* exactly once, with its attachment and payment.

        Returns:
            ``status="published"``, or ``"already_published"`` when this ``external_id`` was
            published before (nothing is sent again).

        Raises:
            ValidationError: the document has problems (nothing was sent).
            PublishUncertainError: whether KashFlow recorded it could not be established;
                publishing it again later is safe (``retry_after`` says when, if it matters).

        """
        return await self._publish(document)

    async def _publish(
        self, document: Document, *, owner: str | None = None, defer_id: bool = False
    ) -> PublishResult:
        with self._logged_publish(document) as outcome:
            # Resolving and validating read storage (rules, lists, the journal): off the loop.
            prepared = await asyncio.to_thread(self._prepare, document)
            if isinstance(prepared, PublishResult):
                outcome.append(prepared)
            else:
                flow = self._publish_flow(prepared, owner=owner, defer_id=defer_id)
                outcome.append(await self._driver.run(flow))
        return outcome[0]

    async def publish_many(
        self,
        documents: Sequence[Document],
        *,
        concurrency: int = 4,
        progress: ProgressHook | None = None,
    ) -> BatchResult:
        """Publish many documents, at most *concurrency* at a time; results in input order.

        One document's failure never stops the others: its ``BatchItem.error`` holds it. The
        internal ids of the documents created are learned together at the end (one call per
        kind, instead of one per document).
        """
        documents = list(documents)
        self._check_open()
        await asyncio.to_thread(self._require_connected)
        pending: list[Pending] = []

        async def one(document: Document) -> PublishResult:
            owner = new_id()
            result = await self._publish(document, owner=owner, defer_id=True)
            return self._note_deferred_id(pending, document, owner, result)

        batch = await run_in_tasks(documents, one, concurrency=concurrency, progress=progress)
        if not pending:
            return batch
        return self._with_ids(batch, await self._driver.run(self._fill_ids_flow(pending)))

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
        flow = await off_loop(self.storage, self._forget_flow, external_id)
        with log_context(connection_id=self.connection_id, external_id=external_id):
            entry = await self._driver.run(flow)
        return self._summaries([Finding(entry, ())])[0]

    async def verify(self, *, horizon: timedelta = DEFAULT_VERIFY_HORIZON) -> list[JournalSummary]:
        """Look again for late second copies of documents whose create was sent again.

        As :meth:`KashFlowClient.verify`, awaited.
        """
        markers = await off_loop(self.storage, self._verify_markers)
        with log_context(connection_id=self.connection_id):
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

        Awaited, unlike ``publish_history``: a listing can be long, so a blocking storage (a
        database) is read in a worker thread and the event loop never waits on it.

        Args:
            state: a journal state (``"claimed"``, ``"sending"``, ``"created"``,
                ``"published"``) or several; None for every state.
            older_than: only entries unchanged for at least this long (a ``timedelta``), or
                last changed before this moment (a timezone-aware ``datetime``).
            limit: at most this many entries, the oldest; None for all.
            include_contacts: also list the journal entries of suppliers and customers the
                SDK created (external ids starting ``kashflow_sync:contact:``).

        Returns:
            A :class:`~kashflow_sync.JournalSummary` per entry: state, number, attempts, the
            last error's code and message, and a remedy.

        Raises:
            StorageError: ``journal_listing_unsupported`` when the storage (a host's own,
                written before ``Storage.list_journal`` existed) cannot list the journal.
            ValueError: an unknown state, a negative age or a limit below 1.

        """
        args = (state, older_than, limit, include_contacts)
        return await off_loop(self.storage, self._journal, *args)
