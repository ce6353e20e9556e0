"""``KashFlowClient``: one object per KashFlow connection, instead of module globals.

It owns (or borrows) the ``httpx.Client``, speaks to KashFlow through the SOAP layer, keeps
lists, rules and the publish journal in a :class:`~kashflow_sync.typing.Storage` under its
``connection_id``, and exposes the connection lifecycle, the lists, rules, validation and
publishing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from types import TracebackType
from typing import Any

import httpx

from . import errors
from ._config import DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, KASHFLOW_SOAP_URL, Credentials
from ._documents import (
    BatchResult,
    Document,
    Problem,
    PublishAttempt,
    PublishResult,
    PurchaseInvoice,
    ResolvedDocument,
    SalesInvoice,
)
from ._lists import DEFAULT_FULL_CUSTOMER_SYNC, ProgressCallback, sync_lists
from ._listsview import Lists
from ._logcontext import log_context
from ._models import ConnectionStatus, SyncReport
from ._publish import DEFAULT_LEASE, BatchProgress, Publisher, fingerprint
from ._retry import RetryPolicy
from ._rules import RuleBook, StoredRuleResolver
from ._validate import validate_document
from .soap.service import KashFlowService
from .storage.memory import MemoryStorage
from .typing import RuleResolver, Storage

__all__ = ["KashFlowClient"]

log = logging.getLogger("kashflow_sync")

_STATUS_KEY = "connection.status"


class KashFlowClient:
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
        timeout: seconds for a whole response when the SDK makes its own ``httpx.Client``.
        retry: the retry policy for calls safe to repeat.
        create_missing_contacts: create a supplier or customer not in the lists on publish;
            when False such a document has the problem ``unknown_supplier``/``unknown_customer``.
        publish_lease: how long a worker owns a document it is publishing before another
            worker may take over (after a crash).
        full_customer_sync_every: customers are pulled in full at least this often; in between,
            refreshes fetch only customers changed since the last sync.
        check_ledger_duplicates: before a document's first send, look in KashFlow for the same
            contact, reference and total (one lookup call) and refuse it as
            ``duplicate_in_ledger`` if found; catches copies keyed in by hand or by other tools.

    Raises:
        ConfigurationError: *endpoint* is not an http(s) URL (``invalid_endpoint``).

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

    def __init__(
        self,
        credentials: Credentials,
        *,
        app_name: str = "kashflow_sync",
        storage: Storage | None = None,
        rules: RuleResolver | None = None,
        connection_id: str = "default",
        endpoint: str = KASHFLOW_SOAP_URL,
        http_client: httpx.Client | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        create_missing_contacts: bool = True,
        publish_lease: timedelta = DEFAULT_LEASE,
        full_customer_sync_every: timedelta = DEFAULT_FULL_CUSTOMER_SYNC,
        check_ledger_duplicates: bool = True,
    ) -> None:
        """Build the client; nothing is sent until :meth:`connect` or another call."""
        if not isinstance(credentials, Credentials):
            raise TypeError("credentials must be a kashflow_sync.Credentials")
        if not connection_id:
            raise ValueError("connection_id must be a non-empty string")
        url = httpx.URL(endpoint)
        if url.scheme not in ("http", "https") or not url.host:
            raise errors.ConfigurationError(  # also a ValueError
                f"endpoint must be an http(s) URL, not {endpoint!r}",
                code="invalid_endpoint",
                remedy=f"Pass the full URL, e.g. endpoint={KASHFLOW_SOAP_URL!r}.",
            )
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=DEFAULT_CONNECT_TIMEOUT),
            headers={"User-Agent": "kashflow-sync"},
        )
        self.connection_id = connection_id
        self.app_name = app_name
        self.endpoint = endpoint
        self.storage: Storage = storage if storage is not None else MemoryStorage()
        self.create_missing_contacts = create_missing_contacts
        self.full_customer_sync_every = full_customer_sync_every
        self._service = KashFlowService(
            self._http,
            endpoint,
            credentials,
            app_name=app_name,
            retry=retry or RetryPolicy(),
            on_auth_failure=self._auth_failed,
        )
        self.lists = Lists(self.storage, connection_id)
        self.rules = RuleBook(self.storage, connection_id)
        self._resolver: RuleResolver = rules or StoredRuleResolver(
            self.storage, lambda _cid: self.lists
        )
        self._publisher = Publisher(
            self._service,
            self.storage,
            connection_id,
            lambda: self.lists,
            lease=publish_lease,
            check_ledger=check_ledger_duplicates,
        )

    def __repr__(self) -> str:
        return (
            f"KashFlowClient(connection_id={self.connection_id!r}, "
            f"username={self._service.credentials.username!r}, status={self.status.value})"
        )

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> KashFlowClient:
        """Use the client in a ``with`` block; it is closed at the end."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close what the client created."""
        self.close()

    def close(self) -> None:
        """Close the ``httpx.Client`` if the SDK created it (never one the caller passed)."""
        if self._owns_http:
            self._http.close()

    @property
    def credentials(self) -> Credentials:
        """The credentials in use (their repr hides the secrets)."""
        return self._service.credentials

    @property
    def status(self) -> ConnectionStatus:
        """``NOT_CONNECTED``, ``CONNECTED`` or ``NEEDS_RECONNECT``.

        Read from storage, so every client and worker sharing it sees the same status: one
        that finds the credentials refused stops the others publishing too.
        """
        stored = self.storage.get_state(self.connection_id, _STATUS_KEY)
        try:
            return ConnectionStatus(stored) if stored else ConnectionStatus.NOT_CONNECTED
        except ValueError:  # written by a newer version: treat as never connected
            return ConnectionStatus.NOT_CONNECTED

    def _set_status(self, status: ConnectionStatus) -> None:
        self.storage.set_state(self.connection_id, _STATUS_KEY, status.value)

    def _auth_failed(self, exc: errors.AuthenticationError) -> None:
        log.warning(
            "KashFlow refused the credentials of connection %r",
            self.connection_id,
            extra={"connection_id": self.connection_id},
        )
        self._set_status(ConnectionStatus.NEEDS_RECONNECT)

    def connect(self, *, progress: ProgressCallback | None = None) -> SyncReport:
        """Allow this machine's IP (AutoAuth), check the credentials and sync every list.

        Raises:
            AuthenticationError: KashFlow refused the username or password.
            IPNotAllowedError: the IP is not allowed and no (valid) AutoAuth key was given.
            PermissionDeniedError: API access is disabled for the account or user.

        """
        with log_context(connection_id=self.connection_id):
            if self._service.credentials.autoauth_key:
                self._service.auto_auth_ip()
            # The first list fetched doubles as the credentials check.
            first = {"currencies": self._service.fetch_list("currencies")}
            report = sync_lists(
                self._service,
                self.storage,
                self.connection_id,
                incremental=False,
                progress=progress,
                prefetched=first,
            )
            self.lists.invalidate()
            self._set_status(ConnectionStatus.CONNECTED)
            log.info(
                "connected; lists synced in %.2fs",
                report.duration,
                extra={"connection_id": self.connection_id},
            )
        return report

    def reconnect(
        self, credentials: Credentials | None = None, *, progress: ProgressCallback | None = None
    ) -> SyncReport:
        """Connect again, with new credentials if given; rules, lists and history are kept."""
        if credentials is not None:
            self._service.credentials = credentials
        return self.connect(progress=progress)

    def refresh_lists(
        self, only: str | Sequence[str] | None = None, *, progress: ProgressCallback | None = None
    ) -> SyncReport:
        """Re-pull all lists, or the named ones; nothing is deleted (see :class:`SyncReport`)."""
        if isinstance(only, str):
            only = [only]
        self._require_connected()
        try:
            with log_context(connection_id=self.connection_id):
                return sync_lists(
                    self._service,
                    self.storage,
                    self.connection_id,
                    only=only,
                    full_customer_sync_every=self.full_customer_sync_every,
                    progress=progress,
                )
        finally:
            self.lists.invalidate()

    def disconnect(self, *, purge: bool = False) -> None:
        """Forget the connection; ``purge=True`` also drops its lists, rules and history."""
        if purge:
            self.storage.purge(self.connection_id)
        else:
            self.storage.set_state(self.connection_id, _STATUS_KEY, None)
        self.lists.invalidate()

    def _require_connected(self) -> None:
        status = self.status
        if status is ConnectionStatus.NOT_CONNECTED:
            raise errors.NotConnectedError(
                f"connection {self.connection_id!r} is not connected; call connect() first"
            )
        if status is ConnectionStatus.NEEDS_RECONNECT:
            raise errors.AuthenticationError(
                f"connection {self.connection_id!r} needs reconnecting: KashFlow refused its "
                "credentials",
                code="needs_reconnect",
            )

    # ------------------------------------------------------------------ documents

    def resolve(self, document: Document) -> ResolvedDocument:
        """The document with rule defaults filled in, and what set each field (``.explain``)."""
        _check_document(document)
        return self._resolver.resolve(self.connection_id, document)

    def validate(self, document: Document, *, include_notices: bool = False) -> list[Problem]:
        """Every problem that would stop *document* publishing, checked offline; [] if none.

        Args:
            document: the document to check (rules are applied first).
            include_notices: also return notices, problems with ``severity="notice"`` that do
                not block publishing, such as ``new_supplier`` (publishing will create the
                supplier; the message names the closest existing ones).

        Raises:
            NotConnectedError: the lists were never synced, so there is nothing to check against.

        """
        _check_document(document)
        if self.status is ConnectionStatus.NOT_CONNECTED:
            raise errors.NotConnectedError(
                f"connection {self.connection_id!r} has no synced lists to validate against; "
                "call connect() first"
            )
        problems = self._validate_resolved(self.resolve(document))
        return [p for p in problems if include_notices or p.severity == "error"]

    def _validate_resolved(self, resolved: ResolvedDocument) -> list[Problem]:
        document = resolved.document

        def is_duplicate(
            kind: str, contact_id: int | None, name: str, reference: str, gross: Any
        ) -> str | None:
            found = self._publisher.duplicate_of(kind, contact_id, name, reference, gross)
            return None if found == document.external_id else found

        return validate_document(
            document,
            self.lists,
            create_missing_contacts=self.create_missing_contacts,
            is_duplicate=is_duplicate,
            explain=resolved.explain,
        )

    def publish(self, document: Document) -> PublishResult:
        """Validate, then publish *document* exactly once, with its attachment and payment.

        Returns:
            ``status="published"``, or ``"already_published"`` when this ``external_id`` was
            published before (nothing is sent again).

        Raises:
            ValidationError: the document has problems (nothing was sent).
            PublishUncertainError: whether KashFlow recorded it could not be established;
                publishing it again later is safe.

        """
        _check_document(document)
        extra = {"connection_id": self.connection_id, "external_id": document.external_id}
        with log_context(**extra):
            try:
                result = self._publish(document)
            except errors.KashFlowError as exc:
                log.warning(
                    "%s not published: %s (%s)",
                    document.external_id,
                    exc.message,
                    exc.code,
                    extra=extra,
                )
                raise
            log.info(
                "%s %s as %s %s",
                document.external_id,
                result.status.replace("_", " "),
                "receipt" if result.kind == "purchase" else "invoice",
                result.number,
                extra=extra,
            )
        return result

    def _publish(self, document: Document) -> PublishResult:
        self._require_connected()
        digest = fingerprint(document)
        earlier = self._publisher.already_published(document.external_id, digest)
        if earlier is not None:
            return earlier
        resolved = self.resolve(document)
        problems = [p for p in self._validate_resolved(resolved) if p.severity == "error"]
        if problems:
            raise errors.ValidationError(problems, external_id=document.external_id)
        return self._publisher.publish(resolved.document, digest)

    def publish_many(
        self,
        documents: Sequence[Document],
        *,
        concurrency: int = 4,
        progress: Callable[[BatchProgress], None] | None = None,
    ) -> BatchResult:
        """Publish many documents on up to *concurrency* threads; results in input order.

        One document's failure never stops the others: its ``BatchItem.error`` holds it.
        """
        documents = list(documents)
        self._require_connected()
        return self._publisher.publish_many(
            documents, self.publish, concurrency=concurrency, progress=progress
        )

    def publish_history(self, external_id: str) -> list[PublishAttempt]:
        """Every recorded step of publishing *external_id*, oldest first."""
        entry = self.storage.get_journal(self.connection_id, external_id)
        return [] if entry is None else list(entry.attempts)


def _check_document(document: object) -> None:
    if not isinstance(document, (PurchaseInvoice, SalesInvoice)):
        raise TypeError(
            "expected a kashflow_sync.PurchaseInvoice or SalesInvoice, "
            f"not {type(document).__name__}"
        )
