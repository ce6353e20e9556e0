"""What ``KashFlowClient`` and ``AsyncKashFlowClient`` share: checks, offline work, settings.

Everything here either touches no network (resolving rules, validating, reading lists, status and
history from storage) or prepares the settings and flows the engine runs. The two clients add
only how the network and the storage are driven: plain calls or awaited ones.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Generic, TypedDict, TypeVar

import attrs
import httpx

from .. import errors
from .._account.facts import AccountFacts, load_account_facts
from .._account.items import ConnectionStatus, SyncReport
from .._account.lists import Lists, ListsSnapshot
from .._config import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_ANSWER_BYTES,
    DEFAULT_TIMEOUT,
    KASHFLOW_SOAP_URL,
    Credentials,
)
from .._convert import fingerprint
from .._documents.amounts import SAFE_RATE_DECIMALS
from .._documents.model import (
    BatchItem,
    BatchResult,
    Document,
    Problem,
    PublishAttempt,
    PublishResult,
    ResolvedDocument,
    credited,
    is_credit_note,
    kashflow_noun,
)
from .._documents.problems import (
    CREDIT_NOTES_REFUSED,
    CREDIT_REFUNDS_REFUSED,
    UNKNOWN_CREDITED_INVOICE,
)
from .._documents.rules import RuleBook, StoredRuleResolver
from .._documents.validate import validate_document
from .._engine import listsync
from .._engine.context import CreditTarget
from .._engine.effects import Flow
from .._engine.forget import forget as forget_flow
from .._engine.ids import Pending, fill_ids, id_on_demand
from .._engine.lease import DEFAULT_LEASE, Lease, held_by_forget
from .._engine.ledger import DEFAULT_LEDGER_CACHE_TTL, LedgerCache
from .._engine.listsync import (
    DEFAULT_FULL_CUSTOMER_SYNC,
    SyncSettings,
    parse_status,
    status_error,
)
from .._engine.publish import PublishSettings, published_result
from .._engine.publish import publish as publish_flow
from .._engine.settle import DEFAULT_SETTLE_TIME
from .._engine.verify import Finding
from .._engine.verify import verify as verify_flow
from .._error_codes import ErrorCode
from .._journal.entry import JournalEntry
from .._journal.states import (
    ABSENT_STATES,
    DONE_STATES,
    DUPLICATED,
    FORGOTTEN,
    UNFINISHED_STATES,
    WATCHING,
)
from .._logcontext import log_context
from .._retry import RetryPolicy
from .._storage_keys import (
    CONTACT_KEY_PREFIX,
    CONTENT_KEY_PREFIX,
    LIST_LOCK_PREFIX,
    RESERVED_PREFIX,
    STATUS,
    VERIFY_KEY_PREFIX,
    duplicate_key,
)
from .._telemetry import Scope, Telemetry, telemetry_for
from ..soap.caller import AsyncKashFlowService, KashFlowService
from ..storage.memory import MemoryStorage
from ..typing import RuleResolver, Storage
from .checks import check_connection_id, check_document, check_durations, check_endpoint
from .drivers import reading
from .journal_view import JournalSummary, journal_states, summarise, updated_before
from .owners import new_owner

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

__all__ = [
    "BaseClient",
    "CallerOptions",
    "ConnectionCaches",
    "PreparedDocument",
    "new_id",
    "utcnow",
]

log = logging.getLogger("kashflow_sync")

#: The HTTP client a client sends through: ``httpx.Client`` or ``httpx.AsyncClient``.
H = TypeVar("H", httpx.Client, httpx.AsyncClient)

#: Seconds between measurements of this machine's offset from the storage's clock, and
#: between reads of what doctor learned about the account (a publish uses both).
CLOCK_RECHECK = 300.0


def utcnow() -> datetime:
    """The current UTC time: this machine's clock, which the client hands to the engine."""
    return datetime.now(timezone.utc)


def new_id() -> str:
    """A fresh random id of 16 hex digits (lease owners, list versions), for the engine."""
    return uuid.uuid4().hex[:16]


@attrs.frozen
class PreparedDocument:
    """A document ready for the engine: resolved, validated, fingerprinted.

    ``facts`` are the account's facts the publish depends on (doctor's, read every few
    minutes); ``credits`` the invoice a credit note credits, as the journal knows it.
    ``check_duplicates`` is False when the contact's rule switched duplicate checking off: the
    engine then neither looks in KashFlow for a copy nor claims the content before sending.
    """

    document: Document
    fingerprint: str
    lists: ListsSnapshot
    seen: JournalEntry | None = None
    rate_decimals: int = SAFE_RATE_DECIMALS
    facts: AccountFacts | None = None
    credits: CreditTarget | None = None
    check_duplicates: bool = True


@attrs.define(eq=False)
class _ClockSync:
    """The offset of the local clock from the storage's, and when it was last measured."""

    offset: timedelta = timedelta(0)
    checked_at: float | None = None


@attrs.define(eq=False)
class _FactsCache:
    """What doctor learned about the account, as last read, and when (``time.monotonic``)."""

    facts: AccountFacts | None = None
    read_at: float | None = None


@attrs.frozen(eq=False)
class ConnectionCaches:
    """What a client keeps between calls that other clients of the same connection may share.

    The lists read from storage (reloaded whenever a sync changes them), the contacts' ledger
    documents for the duplicate check, the offset from the storage's clock and the account's
    facts (both read again every few minutes). Workers that
    build a client per task (``kashflow_sync.celery``) hand each new client the caches of the
    previous one, so a task costs what a call on a long-lived client costs.
    """

    storage: Storage
    connection_id: str
    lists: Lists
    ledger: LedgerCache | None
    clock: _ClockSync
    facts: _FactsCache


def _rate_decimals(facts: AccountFacts | None) -> int:
    """Decimals of a unit rate the account keeps: what doctor learned, else the safe 2."""
    learned = facts.rate_decimals if facts is not None else None
    # More than 4 kept is as good as 4: the SDK never computes a finer rate.
    return min(learned, 4) if learned and learned > SAFE_RATE_DECIMALS else SAFE_RATE_DECIMALS


class CallerOptions(TypedDict):
    """What a client hands its SOAP caller besides the HTTP client, endpoint and credentials."""

    app_name: str
    retry: RetryPolicy
    timeout: float
    max_answer_bytes: int
    telemetry: Telemetry


#: The journal states the gauge ``kashflow_sync.journal.entries`` counts: those a person may
#: have to act on. Published and forgotten entries only grow, and listing them would cost a
#: scan of the whole journal at every export.
GAUGED_STATES = (*UNFINISHED_STATES, DUPLICATED)


def journal_counts(storage: Storage, connection_id: str) -> dict[str, int]:
    """How many of *connection_id*'s documents are in each of :data:`GAUGED_STATES`."""
    counts: dict[str, int] = dict.fromkeys(GAUGED_STATES, 0)
    lister = storage.list_journal
    for entry in lister(connection_id, states=GAUGED_STATES, exclude_prefix=RESERVED_PREFIX):
        counts[entry.state] = counts.get(entry.state, 0) + 1
    return counts


class BaseClient(Generic[H]):
    """The part of a client that does not depend on how I/O is driven (see the subclasses).

    A subclass names its HTTP client class (``_http_type``; ``_http_name`` and ``_http_hint``
    word the refusal of another) and builds its SOAP caller and driver in :meth:`_start`.
    """

    _http_type: type[H]
    _http_name: str
    _http_hint: str
    _service: KashFlowService | AsyncKashFlowService

    def __init__(
        self,
        credentials: Credentials,
        *,
        app_name: str = "kashflow_sync",
        storage: Storage | None = None,
        rules: RuleResolver | None = None,
        connection_id: str = "default",
        endpoint: str = KASHFLOW_SOAP_URL,
        http_client: H | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        create_missing_contacts: bool = True,
        publish_lease: timedelta = DEFAULT_LEASE,
        full_customer_sync_every: timedelta = DEFAULT_FULL_CUSTOMER_SYNC,
        check_ledger_duplicates: bool = True,
        settle_time: timedelta = DEFAULT_SETTLE_TIME,
        ledger_cache_ttl: timedelta = DEFAULT_LEDGER_CACHE_TTL,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        """Build the client; nothing is sent until :meth:`connect` or another call."""
        if not isinstance(credentials, Credentials):
            raise TypeError("credentials must be a kashflow_sync.Credentials")
        check_connection_id(connection_id)
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        check_durations(publish_lease, float(timeout), settle_time, ledger_cache_ttl)
        if (
            not isinstance(max_answer_bytes, int)
            or isinstance(max_answer_bytes, bool)
            or max_answer_bytes <= 0
        ):
            raise ValueError(
                f"max_answer_bytes must be a positive number of bytes, not {max_answer_bytes!r}"
            )
        self.connection_id = connection_id
        """The tenant key in :attr:`storage` this client reads and writes under."""
        self.app_name = app_name
        self.endpoint = check_endpoint(endpoint)
        self.timeout = float(timeout)
        self.max_answer_bytes = max_answer_bytes
        self.storage: Storage = storage if storage is not None else MemoryStorage()
        """Where the lists, rules and publish journal of this connection live."""
        self.create_missing_contacts = create_missing_contacts
        self.full_customer_sync_every = full_customer_sync_every
        self._credentials = credentials
        self._retry = retry or RetryPolicy()
        self._closed = False
        self.lists = Lists(self.storage, connection_id)
        """The account's synced lists (``client.lists.suppliers``), read from storage: no
        network call."""
        self.rules = RuleBook(self.storage, connection_id)
        """The supplier and customer rules kept in storage (``client.rules.set_supplier_rule``);
        :meth:`resolve` applies them."""
        # While a publish is prepared, the rules match contacts in the snapshot it validates
        # against: one read of the lists' version per publish, not two.
        self._pinned: contextvars.ContextVar[ListsSnapshot | None] = contextvars.ContextVar(
            "kashflow_sync_pinned_lists", default=None
        )
        self._resolver: RuleResolver = rules or StoredRuleResolver(
            self.storage, lambda _cid: self._pinned.get() or self.lists
        )
        self._local_clock: Callable[[], datetime] = utcnow
        self._clock_sync = _ClockSync()
        self._facts_cache = _FactsCache()
        self._publish_settings = PublishSettings(
            connection_id,
            clock=self._clock,
            lease=publish_lease,
            check_ledger=check_ledger_duplicates,
            settle_time=settle_time,
            request_deadline=timedelta(seconds=self.timeout),
            ledger_cache=LedgerCache(ledger_cache_ttl, lock=threading.Lock()),
            new_id=new_id,
        )
        if http_client is not None and not isinstance(http_client, self._http_type):
            raise TypeError(
                f"http_client must be an {self._http_name}, not {type(http_client).__name__} "
                f"({self._http_hint})"
            )
        self._telemetry = telemetry_for(tracer_provider, meter_provider)
        if self._telemetry.enabled and hasattr(self.storage, "list_journal"):
            self._telemetry.watch_journal(self.storage, connection_id, journal_counts)
        self._owns_http = http_client is None
        self._http: H = http_client or self._http_type(
            timeout=httpx.Timeout(self.timeout, connect=DEFAULT_CONNECT_TIMEOUT),
            headers={"User-Agent": "kashflow-sync"},
        )
        self._start(self._http)

    def _start(self, http: H) -> None:
        """Build the SOAP caller on *http* and the driver that runs the engine's flows."""
        raise NotImplementedError

    def _connect_flow(
        self, progress: listsync.ProgressCallback | None, force: bool
    ) -> Flow[SyncReport]:
        """The engine's flow for :meth:`connect`: AutoAuth, the credentials' check, every list."""
        return listsync.connect(
            self._sync_settings(),
            app_name=self.app_name,
            autoauth=bool(self.credentials.autoauth_key),
            progress=progress,
            force=force,
        )

    def _refresh_flow(
        self,
        only: str | Sequence[str] | None,
        progress: listsync.ProgressCallback | None,
        force: bool,
    ) -> Flow[SyncReport]:
        """The engine's flow for :meth:`refresh_lists`: the lists named in *only*, or all."""
        names = [only] if isinstance(only, str) else only
        return listsync.refresh(self._sync_settings(), only=names, progress=progress, force=force)

    def _use_credentials(self, credentials: Credentials | None) -> None:
        """Send every later call as *credentials*, when given (:meth:`reconnect`)."""
        if credentials is None:
            return
        if not isinstance(credentials, Credentials):
            raise TypeError("credentials must be a kashflow_sync.Credentials")
        self._credentials = self._service.credentials = credentials

    def _caller_options(self) -> CallerOptions:
        """The SOAP caller's settings, as this client was given them."""
        return CallerOptions(
            app_name=self.app_name,
            retry=self._retry,
            timeout=self.timeout,
            max_answer_bytes=self.max_answer_bytes,
            telemetry=self._telemetry,
        )

    def _traced(self, name: str) -> contextlib.AbstractContextManager[Scope]:
        """The span of public call *name* (``connect``...), when telemetry is on."""
        return self._telemetry.call(name, self.connection_id)

    def _caches(self) -> ConnectionCaches:
        """The caches of this client, to hand to the next client of the connection."""
        return ConnectionCaches(
            storage=self.storage,
            connection_id=self.connection_id,
            lists=self.lists,
            ledger=self._publish_settings.ledger_cache,
            clock=self._clock_sync,
            facts=self._facts_cache,
        )

    def _adopt_caches(self, caches: ConnectionCaches) -> bool:
        """Use the caches of an earlier client of this connection; False if they do not fit.

        They fit a client of the same connection on the same storage object (a ledger cache
        only with the same ``ledger_cache_ttl``). Call before the client's first call.
        """
        if caches.storage is not self.storage or caches.connection_id != self.connection_id:
            return False
        self.lists = caches.lists
        self._clock_sync = caches.clock
        self._facts_cache = caches.facts
        own = self._publish_settings.ledger_cache
        if caches.ledger is not None and own is not None and caches.ledger.ttl == own.ttl:
            self._publish_settings = attrs.evolve(
                self._publish_settings, ledger_cache=caches.ledger
            )
        return True

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

    @property
    def account_facts(self) -> AccountFacts | None:
        """What ``kashflow-sync doctor`` learned about this account, or None if it never ran.

        Read from storage, per connection. A fact that is None was not learned: code using it
        must stay safe under every reading of KashFlow's behaviour (see ``AccountFacts``).
        """
        return load_account_facts(self.storage, self.connection_id)

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

    def _clock(self) -> datetime:
        """The time leases and settle times are judged on: the storage's, where it has one."""
        return self._local_clock() + self._clock_sync.offset

    def _sync_clock(self) -> None:
        """Measure this machine's offset from the storage's clock, at most every few minutes.

        A storage offering ``database_time()`` (``SQLStorage``) is the one clock every worker
        sharing it agrees on: a worker whose own clock runs fast must not think another's lease
        has run out. Called before each publish, outside the engine (it does I/O).
        """
        measure = getattr(self.storage, "database_time", None)
        if measure is None:
            return
        now = time.monotonic()
        sync = self._clock_sync
        if sync.checked_at is not None and now - sync.checked_at < CLOCK_RECHECK:
            return
        before = self._local_clock()
        remote = measure()
        after = self._local_clock()
        # The remote reading was taken somewhere between the two local ones: compare with the
        # middle, so the error is at most half the round trip.
        sync.offset = remote - (before + (after - before) / 2)
        sync.checked_at = now

    def _check_open(self) -> None:
        if self._closed:
            raise errors.KashFlowError(
                f"this {type(self).__name__} is closed",
                code=ErrorCode.CLIENT_CLOSED,
                remedy="Create a new client (or use it in a `with` block and call it inside it).",
            )

    def _sync_settings(self) -> SyncSettings:
        return SyncSettings(
            self.connection_id,
            timer=time.perf_counter,
            now=datetime.now,
            new_id=new_id,
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
        check_document(document)
        if self.status is ConnectionStatus.NOT_CONNECTED:
            raise errors.NotConnectedError(
                f"connection {self.connection_id!r} has no synced lists to validate against; "
                "call connect() first"
            )
        resolved = self.resolve(document)
        problems = self._validate_resolved(resolved, self.lists.for_kind(document.kind))
        problems += self._credit_target(document, self._learned_facts())[1]
        return [p for p in problems if include_notices or p.severity == "error"]

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
                if found == document.external_id:
                    return None
                if found:
                    # Released lazily: a forgotten document (deleted in KashFlow) holds nothing.
                    owner = self.storage.get_journal(self.connection_id, found)
                    return None if owner is not None and owner.state == FORGOTTEN else found
            return None

        return validate_document(
            document,
            lists,
            create_missing_contacts=self.create_missing_contacts,
            # The contact's rule may allow documents sharing reference and total.
            is_duplicate=is_duplicate if resolved.check_duplicates else None,
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
        # Every read before the engine runs (status, journal, lists version, rules, duplicate
        # keys) in one transaction: one round trip's commit instead of one per read.
        with reading(self.storage):
            return self._prepare_read(document)

    def _prepare_read(self, document: Document) -> PublishResult | PreparedDocument:
        """:meth:`_prepare`'s storage reads and decisions."""
        self._require_connected()
        self._sync_clock()
        digest = fingerprint(document)
        entry = self.storage.get_journal(self.connection_id, document.external_id)
        if (
            entry is not None
            and entry.state in DONE_STATES
            and not held_by_forget(entry, self._clock())
        ):
            return published_result(entry, digest)
        lists = self.lists.for_kind(document.kind)
        pinned = self._pinned.set(lists)
        try:
            resolved = self.resolve(document)
        finally:
            self._pinned.reset(pinned)
        problems = [p for p in self._validate_resolved(resolved, lists) if p.severity == "error"]
        facts = self._learned_facts()
        target, credit_problems = self._credit_target(document, facts)
        problems += credit_problems
        if problems:
            raise errors.ValidationError(problems, external_id=document.external_id)
        return PreparedDocument(
            resolved.document,
            digest,
            lists,
            entry,
            _rate_decimals(facts),
            facts,
            target,
            check_duplicates=resolved.check_duplicates,
        )

    def _learned_facts(self) -> AccountFacts | None:
        """What doctor learned about the account, read again every few minutes (not per publish).

        The facts change only when doctor runs.
        """
        cache = self._facts_cache
        now = time.monotonic()
        if cache.read_at is None or now - cache.read_at >= CLOCK_RECHECK:
            cache.facts = self.account_facts
            cache.read_at = now
        return cache.facts

    def _credit_target(
        self, document: Document, facts: AccountFacts | None
    ) -> tuple[CreditTarget | None, list[Problem]]:
        """The invoice a credit note credits, as the journal knows it, or why it cannot go.

        A storage read only: an external id must have been published, as an invoice of the
        same side; a KashFlow number is checked against KashFlow when publishing.
        """
        if not is_credit_note(document.kind):
            return None, []
        if facts is not None and facts.credit_lines == "refused":
            return None, [
                Problem(
                    CREDIT_NOTES_REFUSED,
                    "kind",
                    "This KashFlow account refuses negative lines over the API (learned by "
                    "kashflow-sync doctor --probe-writes), so it cannot take a credit note",
                    "Enter the credit note in KashFlow directly; if the account's settings "
                    "changed, run `kashflow-sync doctor --probe-writes` again.",
                )
            ]
        if facts is not None and facts.credit_refund == "refused" and document.payment:
            return None, [
                Problem(
                    CREDIT_REFUNDS_REFUSED,
                    "payment",
                    "This KashFlow account takes no refund payment on a credit note over the API "
                    "(learned by kashflow-sync doctor --probe-writes)",
                    "Leave the payment out, and record the refund in KashFlow by hand once the "
                    "credit note is published.",
                )
            ]
        credits = credited(document)
        if credits is None:
            return None, []
        if isinstance(credits, int):
            return CreditTarget(number=credits), []
        noun = kashflow_noun(document.side)
        entry = self.storage.get_journal(self.connection_id, credits)
        if entry is None or entry.number is None or entry.state in ABSENT_STATES:
            message = f"credits names {credits!r}, which has not been published to KashFlow"
            remedy = (
                f"Publish {credits!r} first, or give the credited {noun}'s KashFlow number "
                '(credits=1001 in Python, "credits": 1001 in a document file).'
            )
        elif entry.kind != document.side:
            message = (
                f"credits names {credits!r}, which is a {kashflow_noun(entry.kind)}, not a {noun}"
            )
            remedy = f"Name the {noun} this credit note credits, or leave credits out."
        else:
            target = CreditTarget(
                number=entry.number,
                external_id=credits,
                kashflow_id=entry.kashflow_id,
                contact_id=entry.contact_id,
            )
            return target, []
        return None, [Problem(UNKNOWN_CREDITED_INVOICE, "credits", message, remedy)]

    def _publish_flow(
        self,
        prepared: PreparedDocument,
        *,
        owner: str | None = None,
        defer_id: bool = False,
        read_id: bool = True,
    ) -> Flow[PublishResult]:
        """The engine's publish flow for a prepared document."""
        settings = self._publish_settings
        if prepared.rate_decimals != settings.rate_decimals:
            settings = attrs.evolve(settings, rate_decimals=prepared.rate_decimals)
        facts = prepared.facts
        if facts is not None and (facts.credit_lines or facts.credit_refund or facts.apply_false):
            settings = attrs.evolve(
                settings,
                credit_lines=facts.credit_lines,
                credit_refund=facts.credit_refund,
                apply_false=facts.apply_false,
            )
        if not prepared.check_duplicates and settings.check_ledger:
            settings = attrs.evolve(settings, check_ledger=False)
        return publish_flow(
            prepared.document,
            prepared.fingerprint,
            prepared.lists,
            settings,
            owner=owner or new_owner(),
            seen=prepared.seen,
            defer_id=defer_id,
            read_id=read_id,
            credits=prepared.credits,
        )

    def _missing_id_flow(self, result: PublishResult) -> Flow[PublishResult] | None:
        """For an earlier result without its internal id, the flow that reads it (on demand)."""
        if result.kashflow_id or not result.number or result.status != "already_published":
            return None
        settings = self._publish_settings
        lease = Lease(settings.connection_id, "on-demand", settings.lease, clock=settings.clock)
        return id_on_demand(lease, result)

    def _fill_ids_flow(
        self, pending: Sequence[Pending], *, learn: bool = True
    ) -> Flow[dict[str, int]]:
        """The flow that learns the deferred ids of a batch's new documents (and releases them)."""
        settings = self._publish_settings
        lease = Lease(settings.connection_id, "batch", settings.lease, clock=settings.clock)
        return fill_ids(lease, pending, learn=learn)

    @staticmethod
    def _note_deferred_id(
        pending: list[Pending], document: Document, owner: str, result: PublishResult
    ) -> PublishResult:
        """*result*; a document published without its internal id joins *pending*."""
        if result.status == "published" and not result.kashflow_id:
            pending.append(Pending(document.external_id, document.kind, result.number, owner))
        return result

    @staticmethod
    def _with_ids(batch: BatchResult, ids: Mapping[str, int]) -> BatchResult:
        """*batch* with the learned internal ids filled into its results."""
        if not ids:
            return batch
        items = []
        for item in batch:
            result = item.result
            if result is not None and item.external_id in ids and not result.kashflow_id:
                result = attrs.evolve(result, kashflow_id=ids[item.external_id])
                item = BatchItem(item.external_id, result=result)
            items.append(item)
        return BatchResult(tuple(items), stopped=batch.stopped)

    # ------------------------------------------------------------------ logging

    @contextlib.contextmanager
    def _logged_publish(self, document: Document) -> Iterator[list[PublishResult]]:
        """Tag log records with the document; log the outcome put in the yielded list."""
        extra = {"connection_id": self.connection_id, "external_id": document.external_id}
        outcome: list[PublishResult] = []
        kind = getattr(document, "kind", None)
        with (
            self._telemetry.call("publish", self.connection_id, kind=kind) as span,
            log_context(**extra),
        ):
            try:
                yield outcome
            except errors.KashFlowError as exc:
                log.warning(
                    "%s not published: %s (%s)",
                    document.external_id,
                    exc.message,
                    exc.code,
                    extra=extra,
                )
                raise
            for result in outcome:
                log.info(
                    "%s %s as %s %s",
                    document.external_id,
                    result.status.replace("_", " "),
                    kashflow_noun(result.kind),
                    result.number,
                    extra=extra,
                )
                span.result(result.status, result.number)

    def _log_connected(self, report: SyncReport) -> None:
        log.info(
            "connected; lists synced in %.2fs",
            report.duration,
            extra={"connection_id": self.connection_id},
        )

    def publish_history(self, external_id: str) -> list[PublishAttempt]:
        """Every recorded step of publishing *external_id*, oldest first."""
        entry = self.storage.get_journal(self.connection_id, external_id)
        return [] if entry is None else list(entry.attempts)

    def _forget_flow(self, external_id: str) -> Flow[JournalEntry]:
        """The engine's forget flow for *external_id* (checks the id; syncs the clock)."""
        if not isinstance(external_id, str) or not external_id.strip():
            raise TypeError(f"external_id must be a non-empty str, not {external_id!r}")
        if external_id.startswith(RESERVED_PREFIX):
            # The SDK's own entries (content claims, watches, new contacts) move only as the
            # journal's table allows; none of them is a document a person deleted.
            raise errors.ConfigurationError(
                f"{external_id!r} is one of kashflow_sync's own journal entries, not a "
                "document: forget takes the external_id of a document deleted in KashFlow",
                remedy="Pass the document's own external_id (kashflow-sync journal lists them).",
            )
        self._check_open()
        self._require_connected()
        self._sync_clock()
        return forget_flow(external_id, self._publish_settings)

    def _verify_markers(self) -> list[JournalEntry]:
        """The open watches on documents sent again (a storage read)."""
        self._check_open()
        self._require_connected()
        self._sync_clock()
        lister = self._lister()
        # Only watches are ever in this state.
        return list(lister(self.connection_id, states=(WATCHING,), exclude_prefix=None))

    def _verify_flow(
        self, markers: Sequence[JournalEntry], horizon: timedelta
    ) -> Flow[list[Finding]]:
        """The engine's verify flow over *markers*."""
        if not isinstance(horizon, timedelta) or horizon < timedelta(0):
            raise ValueError(f"horizon must be a non-negative timedelta, not {horizon!r}")
        return verify_flow(self.connection_id, markers, now=self._clock(), horizon=horizon)

    def _summaries(self, findings: Sequence[Finding]) -> list[JournalSummary]:
        now = self._clock()
        return [summarise(f.entry, now) for f in findings]

    def _lister(self) -> Callable[..., Sequence[JournalEntry]]:
        lister = getattr(self.storage, "list_journal", None)
        if lister is None:
            kind = type(self.storage).__name__
            raise errors.StorageError(
                f"{kind} cannot list the publish journal: it has no list_journal method",
                code=ErrorCode.JOURNAL_LISTING_UNSUPPORTED,
                remedy=(
                    f"Add list_journal to {kind} (see kashflow_sync.typing.Storage.list_journal; "
                    "the conformance suite in kashflow_sync.testing.conformance tests it). "
                    "Publishing works without it."
                ),
            )
        listing: Callable[..., Sequence[JournalEntry]] = lister
        return listing

    def _journal(
        self,
        state: str | Collection[str] | None,
        older_than: timedelta | datetime | None,
        limit: int | None,
        include_contacts: bool,
    ) -> list[JournalSummary]:
        """What ``journal()`` returns, read from storage (both clients call this)."""
        states = journal_states(state)
        # The clock leases are judged on (the database's, for SQLStorage): a lease shown as held
        # is one a worker still holds, and ages compare with the times the workers stored.
        self._sync_clock()
        now = self._clock()
        before = updated_before(older_than, now)
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise ValueError(f"limit must be a positive int or None, not {limit!r}")
        lister = self._lister()
        # Watches on documents sent again (see verify()) are listed only when their state,
        # ``watching``, is asked for by name.
        watches: bool = states is not None and WATCHING in states
        entries = lister(
            self.connection_id,
            states=states,
            updated_before=before,
            exclude_prefix=CONTENT_KEY_PREFIX if include_contacts or watches else RESERVED_PREFIX,
            limit=limit,
        )
        # The lists' lock entries (see _engine.contacts.list_contact) are the SDK's own
        # bookkeeping, no document's; so are watches unless asked for.
        own = (
            LIST_LOCK_PREFIX,
            *(() if watches else (VERIFY_KEY_PREFIX,)),
            *(() if include_contacts else (CONTACT_KEY_PREFIX,)),
        )
        return [summarise(e, now) for e in entries if not e.external_id.startswith(own)]
