"""What ``KashFlowClient`` and ``AsyncKashFlowClient`` share: checks, offline work, settings.

Everything here either touches no network (resolving rules, validating, reading lists, status and
history from storage) or prepares the settings and flows the engine runs. The two clients add
only how the network and the storage are driven: plain calls or awaited ones.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

import attrs
import httpx

from . import errors
from ._config import DEFAULT_MAX_ANSWER_BYTES, DEFAULT_TIMEOUT, KASHFLOW_SOAP_URL, Credentials
from ._convert import fingerprint
from ._documents import (
    Document,
    Problem,
    PublishAttempt,
    PublishResult,
    PurchaseInvoice,
    ResolvedDocument,
    SalesInvoice,
)
from ._engine.journal import DEFAULT_LEASE
from ._engine.keys import STATUS, duplicate_key
from ._engine.listsync import (
    DEFAULT_FULL_CUSTOMER_SYNC,
    SyncSettings,
    parse_status,
    status_error,
)
from ._engine.publish import PublishSettings, published_result
from ._lists import Lists, ListsSnapshot
from ._models import ConnectionStatus
from ._retry import RetryPolicy
from ._rules import RuleBook, StoredRuleResolver
from ._validate import validate_document
from .storage.memory import MemoryStorage
from .typing import RuleResolver, Storage

__all__ = ["BaseClient", "PreparedDocument", "check_document"]

log = logging.getLogger("kashflow_sync")


def check_document(document: object) -> None:
    """Refuse anything but a ``PurchaseInvoice`` or ``SalesInvoice``, naming what it got."""
    if not isinstance(document, (PurchaseInvoice, SalesInvoice)):
        raise TypeError(
            "expected a kashflow_sync.PurchaseInvoice or SalesInvoice, "
            f"not {type(document).__name__}"
        )


def check_endpoint(endpoint: str) -> str:
    """*endpoint* if it is an http(s) URL with a host; ``ValueError`` otherwise."""
    try:
        url = httpx.URL(endpoint)
    except (TypeError, httpx.InvalidURL) as exc:
        raise ValueError(f"endpoint must be an http(s) URL, not {endpoint!r}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"endpoint must be an http(s) URL, not {endpoint!r}")
    return endpoint


@attrs.frozen
class PreparedDocument:
    """A document ready for the engine: resolved, validated, fingerprinted."""

    document: Document
    fingerprint: str
    lists: ListsSnapshot


class BaseClient:
    """The part of a client that does not depend on how I/O is driven (see the subclasses)."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        app_name: str = "kashflow_sync",
        storage: Storage | None = None,
        rules: RuleResolver | None = None,
        connection_id: str = "default",
        endpoint: str = KASHFLOW_SOAP_URL,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        create_missing_contacts: bool = True,
        publish_lease: timedelta = DEFAULT_LEASE,
        full_customer_sync_every: timedelta = DEFAULT_FULL_CUSTOMER_SYNC,
        check_ledger_duplicates: bool = True,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
    ) -> None:
        """Check the arguments and set up what both clients share."""
        if not isinstance(credentials, Credentials):
            raise TypeError("credentials must be a kashflow_sync.Credentials")
        if not isinstance(connection_id, str) or not connection_id:
            raise ValueError("connection_id must be a non-empty string")
        if not isinstance(publish_lease, timedelta) or publish_lease <= timedelta(0):
            raise ValueError(f"publish_lease must be a positive timedelta, not {publish_lease!r}")
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        if (
            not isinstance(max_answer_bytes, int)
            or isinstance(max_answer_bytes, bool)
            or max_answer_bytes <= 0
        ):
            raise ValueError(
                f"max_answer_bytes must be a positive number of bytes, not {max_answer_bytes!r}"
            )
        self.connection_id = connection_id
        self.app_name = app_name
        self.endpoint = check_endpoint(endpoint)
        self.timeout = float(timeout)
        self.max_answer_bytes = max_answer_bytes
        self.storage: Storage = storage if storage is not None else MemoryStorage()
        self.create_missing_contacts = create_missing_contacts
        self.full_customer_sync_every = full_customer_sync_every
        self._credentials = credentials
        self._retry = retry or RetryPolicy()
        self._closed = False
        self.lists = Lists(self.storage, connection_id)
        self.rules = RuleBook(self.storage, connection_id)
        self._resolver: RuleResolver = rules or StoredRuleResolver(
            self.storage, lambda _cid: self.lists
        )
        self._publish_settings = PublishSettings(
            connection_id, lease=publish_lease, check_ledger=check_ledger_duplicates
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(connection_id={self.connection_id!r}, "
            f"username={self.credentials.username!r}, endpoint={self.endpoint!r})"
        )

    @property
    def credentials(self) -> Credentials:
        """The credentials in use (their repr hides the secrets)."""
        return self._credentials

    # ------------------------------------------------------------------ status

    @property
    def status(self) -> ConnectionStatus:
        """``NOT_CONNECTED``, ``CONNECTED`` or ``NEEDS_RECONNECT``.

        Read from storage, so every client and worker sharing it sees the same status: one
        that finds the credentials refused stops the others publishing too.
        """
        return parse_status(self.storage.get_state(self.connection_id, STATUS))

    def _auth_failed(self) -> None:
        log.warning(
            "KashFlow refused the credentials of connection %r",
            self.connection_id,
            extra={"connection_id": self.connection_id},
        )
        self.storage.set_state(self.connection_id, STATUS, ConnectionStatus.NEEDS_RECONNECT.value)

    def _require_connected(self) -> None:
        problem = status_error(self.connection_id, self.status)
        if problem is not None:
            raise problem

    def _check_open(self) -> None:
        if self._closed:
            raise errors.KashFlowError(
                f"this {type(self).__name__} is closed",
                code="client_closed",
                remedy="Create a new client (or use it in a `with` block and call it inside it).",
            )

    def _sync_settings(self) -> SyncSettings:
        return SyncSettings(
            self.connection_id,
            timer=time.perf_counter,
            full_customer_sync_every=self.full_customer_sync_every,
        )

    def disconnect(self, *, purge: bool = False) -> None:
        """Forget the connection; ``purge=True`` also drops its lists, rules and history."""
        if purge:
            self.storage.purge(self.connection_id)
        else:
            self.storage.set_state(self.connection_id, STATUS, None)
        self.lists.invalidate()

    # ------------------------------------------------------------------ documents (offline)

    def resolve(self, document: Document) -> ResolvedDocument:
        """The document with rule defaults filled in, and what set each field (``.explain``)."""
        check_document(document)
        return self._resolver.resolve(self.connection_id, document)

    def validate(self, document: Document) -> list[Problem]:
        """Every problem that would stop *document* publishing, checked offline; [] if none.

        Raises:
            NotConnectedError: the lists were never synced, so there is nothing to check against.

        """
        check_document(document)
        if self.status is ConnectionStatus.NOT_CONNECTED:
            raise errors.NotConnectedError(
                f"connection {self.connection_id!r} has no synced lists to validate against; "
                "call connect() first"
            )
        resolved = self.resolve(document)
        return self._validate_resolved(resolved, self.lists.for_kind(document.kind))

    def _validate_resolved(self, resolved: ResolvedDocument, lists: ListsSnapshot) -> list[Problem]:
        document = resolved.document

        def is_duplicate(
            kind: str, contact_id: int | None, name: str, reference: str, gross: Any
        ) -> str | None:
            for contact in (contact_id, name):
                if contact is None or contact == "":
                    continue
                key = duplicate_key(kind, contact, reference, gross)
                found = self.storage.get_state(self.connection_id, key)
                if found:
                    return None if found == document.external_id else found
            return None

        return validate_document(
            document,
            lists,
            create_missing_contacts=self.create_missing_contacts,
            is_duplicate=is_duplicate,
            explain=resolved.explain,
        )

    def _prepare(self, document: Document) -> PublishResult | PreparedDocument:
        """Everything before the engine runs (storage reads only, no network).

        Returns the earlier result when the document was published before, else the resolved
        and validated document for the engine.

        Raises:
            ValidationError: the document has problems, or changed after it was published.

        """
        check_document(document)
        self._check_open()
        self._require_connected()
        print_ = fingerprint(document)
        entry = self.storage.get_journal(self.connection_id, document.external_id)
        if entry is not None and entry.state == "published":
            return published_result(entry, print_)
        lists = self.lists.for_kind(document.kind)
        resolved = self.resolve(document)
        problems = self._validate_resolved(resolved, lists)
        if problems:
            raise errors.ValidationError(problems, external_id=document.external_id)
        return PreparedDocument(resolved.document, print_, lists)

    def publish_history(self, external_id: str) -> list[PublishAttempt]:
        """Every recorded step of publishing *external_id*, oldest first."""
        entry = self.storage.get_journal(self.connection_id, external_id)
        return [] if entry is None else list(entry.attempts)
