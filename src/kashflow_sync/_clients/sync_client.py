"""``KashFlowClient``: one object per KashFlow connection, instead of module globals.

It owns (or borrows) the ``httpx.Client``, speaks to KashFlow through the SOAP layer, keeps
lists, rules and the publish journal in a :class:`~kashflow_sync.typing.Storage` under its
``connection_id``, and runs the engine's flows with the sync driver.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

import httpx

from .._account.items import SyncReport
from .._closing import ClosedByWith
from .._config import (
    Credentials,
)
from .._documents.model import BatchResult, Document, PublishResult
from .._engine import listsync
from .._engine.ids import Pending
from .._engine.verify import DEFAULT_VERIFY_HORIZON, Finding
from .._logcontext import log_context
from ..soap.caller import KashFlowService
from .base import BaseClient
from .batch import (
    DEFAULT_STOP_AFTER_FAILURES,
    Breaker,
    ProgressHook,
    run_in_threads,
)
from .drivers import StopSignal, SyncDriver
from .journal_view import JournalSummary
from .owners import new_owner

__all__ = ["KashFlowClient"]


class KashFlowClient(BaseClient[httpx.Client], ClosedByWith):
    """A connection to one KashFlow account.

    Args:
        credentials: username, password and (optionally) the AutoAuth key.
        app_name: shown by KashFlow beside the IP address AutoAuth adds to the access list.
        storage: where lists, rules and the publish journal live; default a new
            :class:`~kashflow_sync.MemoryStorage`. Use :class:`~kashflow_sync.SQLStorage` to
            keep them across runs or share them between workers.
        rules: a :class:`~kashflow_sync.typing.RuleResolver`; default rules kept in *storage*.
        connection_id: the tenant key in *storage*; one storage serves many accounts.
        endpoint: KashFlow's SOAP URL (tests pass the fake's).
        http_client: an ``httpx.Client`` the caller owns; never closed by the SDK.
        timeout: seconds for each whole KashFlow call: waiting for a connection, connecting,
            sending and reading every byte of the answer. It holds for *http_client* too (whose
            own per-operation timeouts apply as well, capped at this); a call past it is a
            ``TransientError`` with code ``timeout``.
        retry: the retry policy for calls safe to repeat.
        create_missing_contacts: create a supplier or customer not in the lists on publish;
            when False such a document has the problem ``unknown_supplier``/``unknown_customer``.
        publish_lease: how long a publish call owns a document before another worker may take
            over (after a crash).
        full_customer_sync_every: customers are pulled in full at least this often; in between,
            refreshes fetch only customers changed since the last sync.
        check_ledger_duplicates: before a document's first send, look in KashFlow for the same
            contact, reference and total (one lookup call) and refuse it as
            ``duplicate_in_ledger`` if found; catches copies keyed in by hand or by other tools.
        settle_time: how long a write whose outcome is unknown (a timeout, a dropped
            connection) may still be applied by KashFlow; until it has passed, such a document
            is neither sent again nor concluded absent. The default is ASP.NET's request limit
            (110 s) plus a margin; see "Publishing, exactly once".
        ledger_cache_ttl: how long a contact's documents, once fetched for the duplicate check
            (*check_ledger_duplicates*), answer that check for further documents of the contact.
        max_answer_bytes: the largest answer read from KashFlow, counted as sent and once
            expanded; a larger one is a ``ProtocolError`` with code ``answer_too_large`` (never
            retried). The default (64 MiB) holds 20,000 customers with their addresses and
            notes, or 60,000 suppliers; raise it only for an account bigger than that.
        tracer_provider: the OpenTelemetry ``TracerProvider`` to report spans to; default the
            host's global one. Needs ``opentelemetry-api`` (the ``otel`` extra); without it
            the SDK imports none of it and does no tracing work. See "Traces and metrics".
        meter_provider: the ``MeterProvider`` for the SDK's metrics; default the global one.

    Raises:
        TypeError: *credentials* is not a :class:`~kashflow_sync.Credentials`.
        ValueError: an argument is out of range (an endpoint that is not an http(s) URL, an
            empty connection_id, a lease, timeout or max_answer_bytes that is not positive).

    Example:
        >>> import kashflow_sync as kfs
        >>> from kashflow_sync.testing import FakeKashFlow
        >>> fake = FakeKashFlow()
        >>> with kfs.KashFlowClient(fake.credentials, endpoint=fake.url,
        ...                         http_client=fake.http_client()) as client:
        ...     report = client.connect()
        ...     client.status
        <ConnectionStatus.CONNECTED: 'connected'>

    """

    _http_type = httpx.Client
    _http_name = "httpx.Client"
    _http_hint = "AsyncKashFlowClient takes an httpx.AsyncClient"

    def _start(self, http: httpx.Client) -> None:
        self._service = KashFlowService(
            http, self.endpoint, self.credentials, **self._caller_options()
        )
        self._driver = SyncDriver(
            self._service, self.storage, self._auth_failed, telemetry=self._telemetry
        )

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close the ``httpx.Client`` if the SDK created it (never one the caller passed).

        Calls that need KashFlow raise ``KashFlowError`` (code ``client_closed``) afterwards.
        """
        self._closed = True
        if self._owns_http:
            self._http.close()

    def connect(
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
        flow = self._connect_flow(progress, force)
        with self._traced("connect"), log_context(connection_id=self.connection_id):
            try:
                report = self._driver.run(flow)
            finally:
                self.lists.invalidate()
            self._log_connected(report)
        return report

    def reconnect(
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
        return self.connect(progress=progress, force=force)

    def refresh_lists(
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
                Without it such a list (of at least ten active items) is left
                as it was: a KashFlow answer cut short looks exactly like that.

        Raises:
            ProtocolError: ``mass_archive_refused`` (the message says how many of how many
                would have been archived; lists before it are stored), ``not_a_list`` (the
                answer's list holds something else), or another unreadable answer.

        """
        self._check_open()
        flow = self._refresh_flow(only, progress, force)
        with self._traced("refresh_lists"), log_context(connection_id=self.connection_id):
            try:
                return self._driver.run(flow)
            finally:
                self.lists.invalidate()

    # ------------------------------------------------------------------ publishing

    def publish(self, document: Document) -> PublishResult:
        """Validate, then publish *document* exactly once, with its attachment and payment.

        Returns:
            ``status="published"``, or ``"already_published"`` when this ``external_id`` was
            published before (nothing is sent again).

        Raises:
            ValidationError: the document has problems (nothing was sent).
            PublishUncertainError: whether KashFlow recorded it could not be established;
                publishing it again later is safe (``retry_after`` says when, if it matters).

        """
        return self._publish(document)

    def _publish(
        self,
        document: Document,
        *,
        owner: str | None = None,
        defer_id: bool = False,
        read_id: bool = True,
        stop: StopSignal | None = None,
    ) -> PublishResult:
        with self._logged_publish(document) as outcome:
            prepared = self._prepare(document)
            if isinstance(prepared, PublishResult):
                missing = None if defer_id else self._missing_id_flow(prepared)
                outcome.append(prepared if missing is None else self._driver.run(missing))
            else:
                flow = self._publish_flow(prepared, owner=owner, defer_id=defer_id, read_id=read_id)
                outcome.append(self._driver.run(flow, stop))
        return outcome[0]

    def _fill_ids(self, pending: Sequence[Pending]) -> dict[str, int]:
        """Learn and store the internal ids of *pending* documents (see ``_engine.ids``)."""
        self._check_open()
        with log_context(connection_id=self.connection_id):
            return self._driver.run(self._fill_ids_flow(pending))

    def publish_many(
        self,
        documents: Sequence[Document],
        *,
        concurrency: int = 4,
        progress: ProgressHook | None = None,
        stop_after_failures: int | None = DEFAULT_STOP_AFTER_FAILURES,
    ) -> BatchResult:
        """Publish many documents on up to *concurrency* threads; results in input order.

        One document's failure never stops the others: its ``BatchItem.error`` holds it. The
        internal ids of the documents created are learned together at the end (one call per
        kind, instead of one per document).

        Except an outage: after *stop_after_failures* documents in a row failed to reach
        KashFlow at all (``connection_failed``, ``connect_timeout``, ``connection_lost``,
        ``timeout``, each after its own retries), no further document is started and those in
        flight stop before their next write to KashFlow (code ``stopped``, their journal entries
        given back). ``BatchResult.stopped`` is then one
        :class:`~kashflow_sync.errors.UnreachableError` ("KashFlow unreachable since 14:02; 296
        documents not attempted, safe to run again"), also the ``error`` of each document not
        attempted. None never stops the batch.

        Ctrl-C stops the batch the same way: the ``KeyboardInterrupt`` goes on up once the
        documents in flight have stopped and every entry of the batch is given back.

        Raises:
            ValueError: *concurrency* or *stop_after_failures* is not a whole number of at
                least 1.
            KeyboardInterrupt: Ctrl-C in the calling thread, once the batch has stopped.

        """
        documents = list(documents)
        breaker = Breaker(stop_after_failures)
        self._check_open()
        pending: list[Pending] = []
        with self._traced("publish_many") as span:
            span.set("kashflow_sync.batch.size", len(documents))
            self._require_connected()  # a storage read: inside the span, as the call's time
            # Each thread runs in a copy of this context: its publish span is the batch's child.
            batch_context = contextvars.copy_context()

            def one(document: Document, stop: StopSignal) -> PublishResult:
                owner = new_owner()
                publish = functools.partial(self._publish, owner=owner, defer_id=True, stop=stop)
                result = batch_context.copy().run(publish, document)
                return self._note_deferred_id(pending, document, owner, result)

            try:
                batch = run_in_threads(
                    documents, one, concurrency=concurrency, progress=progress, breaker=breaker
                )
            except BaseException:  # Ctrl-C: the documents created so far give their entries back
                if pending:
                    self._driver.run(self._fill_ids_flow(pending, learn=False))
                raise
            if not pending:
                return batch
            # A batch that found KashFlow unreachable only gives the entries back.
            ids_flow = self._fill_ids_flow(pending, learn=batch.stopped is None)
            return self._with_ids(batch, self._driver.run(ids_flow))

    # ------------------------------------------------------------------ operators

    def forget(self, external_id: str) -> JournalSummary:
        """Let a document deleted in KashFlow be published again, once KashFlow confirms it.

        Dext's advice for an item published wrongly is "delete the original entries in
        KashFlow and republish". The journal would answer ``already_published`` forever; so
        ``forget`` first asks KashFlow for the document the SDK published (by its number,
        under every reading of "not found"). Gone: the entry becomes ``forgotten`` (its
        history stays in ``publish_history``) and the next publish creates it anew, exactly
        once. A ``duplicated`` document whose named copy was deleted adopts the other copy.

        Args:
            external_id: the document's id.

        Returns:
            The entry as it now stands (``forgotten``; unchanged when nothing was ever sent).

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
            entry = self._driver.run(self._forget_flow(external_id))
        return self._summaries([Finding(entry, ())])[0]

    def verify(self, *, horizon: timedelta = DEFAULT_VERIFY_HORIZON) -> list[JournalSummary]:
        """Look again for late second copies of documents whose create was sent again.

        A document is sent again only after KashFlow was shown not to have it once the settle
        time had passed; a copy KashFlow applies even later (a request stuck in its queue) is
        a duplicate no protocol can prevent without idempotency keys. Every document sent
        again is watched: this re-reads its contact's documents in KashFlow, marks any found
        twice as journal state ``duplicated`` (both numbers in ``message``, which copy to
        delete in ``remedy``), and puts a ``duplicated`` one whose extra copy was deleted back
        to ``published``. Run it now and then (``kashflow-sync verify``, or the Celery task).

        Args:
            horizon: how long after its send a document is watched (default a day).

        Returns:
            A :class:`~kashflow_sync.JournalSummary` per document this run found in KashFlow
            twice (``duplicated``), or found clean again (``published``).

        Raises:
            StorageError: ``journal_listing_unsupported``: the storage cannot list the journal.
            KashFlowError: KashFlow could not be read; what was found so far is kept, and
                verifying again is safe.

        """
        with self._traced("verify"), log_context(connection_id=self.connection_id):
            markers = self._verify_markers()
            findings = self._driver.run(self._verify_flow(markers, horizon))
        return self._summaries(findings)

    def journal(
        self,
        state: str | Collection[str] | None = None,
        older_than: timedelta | datetime | None = None,
        *,
        limit: int | None = None,
        include_contacts: bool = False,
    ) -> list[JournalSummary]:
        """The connection's journal, least recently updated first: what is stuck, and why.

        Reads storage only (no network). ``client.journal("sending")`` lists the documents
        whose outcome is uncertain; ``older_than=timedelta(hours=1)`` leaves out those a
        worker may still be on.

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
        return self._journal(state, older_than, limit, include_contacts)
