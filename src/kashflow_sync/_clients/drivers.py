"""The two drivers of the engine's flows: one plain loop, one awaited loop.

A flow (see :mod:`kashflow_sync._engine`) yields effects; a driver performs each one and sends
the result back, or throws the exception in, until the flow returns. Effects are told apart by
type: a KashFlow effect becomes its ``codec.Request`` (:func:`request_for`), a storage effect
performs itself on the storage, a ``Sleep`` waits. :class:`SyncDriver` calls KashFlow and the
storage directly and sleeps with ``time.sleep``. :class:`AsyncDriver` awaits
KashFlow calls, runs the (sync) ``Storage`` in a worker thread so host implementations work
unchanged (a storage whose ``blocking`` attribute is False, like ``MemoryStorage``, is called on
the loop directly), and sleeps with ``asyncio.sleep``.

Cancellation (async): a storage call is never abandoned half-way. If the task is cancelled while
one runs in its thread, the driver lets it finish, hands its result to the flow, and delivers the
cancellation at the flow's next effect, so the flow always knows what the journal says and its
clean-up (recording the failure, releasing the lease) runs before the task ends cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Protocol, TypeVar, cast

import attrs

from .. import errors
from .._engine import effects as fx
from .._engine.effects import (
    Batch,
    ClaimJournal,
    Effect,
    Flow,
    HolderGone,
    KashFlowEffect,
    LeaseWait,
    Renewal,
    Sleep,
    StorageEffect,
    UpdateJournal,
)
from .._engine.lease import lease_lost
from .._error_codes import ErrorCode
from .._journal.entry import JournalEntry
from .._telemetry import NO_TELEMETRY, Telemetry
from ..soap import operations
from ..soap.caller import AsyncKashFlowService, KashFlowService
from ..soap.codec import Request
from ..typing import Storage
from .owners import holder_gone

__all__ = [
    "AsyncDriver",
    "StopSignal",
    "SyncDriver",
    "off_loop",
    "perform_storage",
    "reading",
    "report_wait",
    "request_for",
    "stopped",
]

T = TypeVar("T")

log = logging.getLogger("kashflow_sync")


class StopSignal(Protocol):
    """Set when a run must stop (Ctrl-C, a batch's breaker): a ``threading.Event`` is one."""

    def is_set(self) -> bool:
        """Whether the run must stop."""
        ...


def stopped() -> errors.TransientError:
    """The error a flow gets in place of its next KashFlow write or wait once told to stop.

    Nothing more is sent (``request_sent=False``), so the flow takes it as "not sent", records
    it and gives its journal entry back: the next run starts at once, without a wait.
    """
    return errors.TransientError(
        "stopped before its next write to KashFlow (the run is stopping): nothing more was "
        "sent, and the document was given back to go on from there next time",
        code=ErrorCode.STOPPED,
        request_sent=False,
    )


def _check_stop(stop: StopSignal | None) -> None:
    if stop is not None and stop.is_set():
        raise stopped()


def report_wait(effect: LeaseWait) -> None:
    """Log a wait on another holder's lease (a warning carrying the effect as ``lease_wait``)."""
    log.warning("%s", effect.message, extra={"lease_wait": effect})


async def off_loop(storage: Storage, call: Callable[..., T], *args: Any) -> T:
    """Run *call* (which uses *storage*) in a worker thread, so the event loop never waits on it.

    A storage whose ``blocking`` attribute is False (``MemoryStorage``) is called on the loop:
    a thread hop would cost more than the call.
    """
    if getattr(storage, "blocking", True):
        return await asyncio.to_thread(call, *args)
    return call(*args)


#: Storage classes already reported as lacking ``transaction()`` (said once per class).
_WITHOUT_TRANSACTIONS: set[type] = set()


def perform_storage(storage: Storage, effect: StorageEffect[T]) -> T:
    """Make a storage effect's call(s); a :class:`Batch` in one transaction where it can.

    A host storage written before ``TransactionalStorage`` gets the batch's calls one by one
    (each its own transaction, as before): it works, with more round trips, and the log says
    so once.
    """
    if not isinstance(effect, Batch):
        return effect.perform(storage)
    begin = getattr(storage, "transaction", None)
    if begin is None:
        if type(storage) not in _WITHOUT_TRANSACTIONS:
            _WITHOUT_TRANSACTIONS.add(type(storage))
            log.info(
                "%s has no transaction(): each journal call is a transaction of its own "
                "(it works; a storage offering transaction() saves round trips)",
                type(storage).__name__,
            )
        return cast("T", effect.perform(storage))
    with begin(write=effect.writes):
        return cast("T", effect.perform(storage))


def reading(storage: Storage) -> contextlib.AbstractContextManager[Any]:
    """A read-only transaction of *storage* for the block, if it offers them; else nothing."""
    begin = getattr(storage, "transaction", None)
    return begin(write=False) if begin is not None else contextlib.nullcontext()


def _calls(effect: StorageEffect[Any], answer: Any) -> Iterator[tuple[StorageEffect[Any], Any]]:
    """Each storage call *effect* made and its answer, a :class:`Batch`'s one by one.

    A batch that stopped early has fewer answers than calls: the calls not made are left out.
    """
    if not isinstance(effect, Batch):
        yield effect, answer
        return
    for call, call_answer in zip(effect.effects, answer, strict=False):
        yield from _calls(call, call_answer)


class _Confirmed:
    """The journal entries a flow's own storage calls showed it holds, since its last wait.

    Cleared by every KashFlow call and every sleep (and by a storage call that failed): what
    is left was confirmed by a compare-and-set with nothing slow after it. A write whose
    leases are all here needs no fence read: the write before it was the fence.
    """

    def __init__(self) -> None:
        self._held: dict[tuple[str, str], JournalEntry] = {}

    def clear(self) -> None:
        self._held.clear()

    def note(self, effect: StorageEffect[Any], answer: Any) -> None:
        for call, call_answer in _calls(effect, answer):
            # What the call shows this flow holds now (None: not held), for journal writes.
            if isinstance(call, UpdateJournal):
                held = call.entry if call_answer else None
            elif isinstance(call, ClaimJournal):
                held = call_answer.entry if call_answer.acquired else None
            else:
                continue
            key = (call.entry.connection_id, call.entry.external_id)
            if held is None:
                self._held.pop(key, None)
            else:
                self._held[key] = held

    def covers(self, renewal: Renewal) -> bool:
        """Whether every lease *renewal* fences was just confirmed to its owner.

        And with at least half the lease still to run: a stall (a pause, a GC, a slow disk)
        of that long since the write, or a clock that drifted from the database's by that
        much, falls back to reading the journal.
        """
        now = renewal.clock()
        for entry in renewal.entries:
            held = self._held.get((entry.connection_id, entry.external_id))
            if (
                held is None
                or held.owner != renewal.owner
                or held.lease_until is None
                or held.lease_until - now < renewal.duration / 2
            ):
                return False
        return True


def _renew(storage: Storage, renewal: Renewal) -> bool:
    """Extend the renewal's leases once (compare-and-set); False when another worker holds one."""
    held = True
    for entry in renewal.renewed_entries():
        try:
            held = bool(storage.update_journal(entry, renewal.owner)) and held
        except Exception:  # the call in flight decides; a failed renewal shows at the next save
            log.warning("could not renew the lease of %r", entry.external_id, exc_info=True)
            held = False
    return held


def _lease_still_held(storage: Storage, renewal: Renewal) -> None:
    """Raise ``lease_lost`` unless the journal still says this call holds every lease it needs.

    Checked by the driver immediately before a write is sent, after every step of the flow:
    a worker that stalled (a pause, a GC, a slow disk) past its lease must not send. Nothing
    has been sent when this raises, so the error says so (``request_sent=False``): the flow
    takes it as "not sent", never as an uncertain send.
    """
    now = renewal.clock()
    for entry in renewal.entries:
        stored = storage.get_journal(entry.connection_id, entry.external_id)
        if (
            stored is None
            or stored.owner != renewal.owner
            or stored.lease_until is None
            or stored.lease_until <= now
        ):
            raise lease_lost(renewal.entry.external_id, sent=False)


def _interval(renewal: Renewal) -> float:
    return max(renewal.duration.total_seconds() / 3, 0.01)


class _Heartbeat:
    """One daemon thread renewing the leases of calls in flight (for the sync driver).

    A thread per call would cost more than most calls take; calls register and unregister
    here instead, and the thread renews each one every third of its lease.
    """

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._due: dict[int, tuple[float, Renewal]] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._sleeping_until = 0.0  # when the thread wakes next by itself (0: not waiting)

    @contextlib.contextmanager
    def keep_alive(self, renewal: Renewal) -> Iterator[None]:
        key = next(self._ids)
        due = time.monotonic() + _interval(renewal)
        with self._lock:
            self._due[key] = (due, renewal)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="kashflow-sync-lease", daemon=True
                )
                self._thread.start()
            elif due < self._sleeping_until:
                # Only wake the thread when it would otherwise sleep past this renewal: a wake
                # per call would cost a context switch per KashFlow request.
                self._wake.notify()
        try:
            yield
        finally:
            with self._lock:
                self._due.pop(key, None)

    def _run(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                ready = [(k, r) for k, (at, r) in self._due.items() if at <= now]
                for key, renewal in ready:
                    self._due[key] = (now + _interval(renewal), renewal)
                if not ready:
                    nearest = min((at for at, _ in self._due.values()), default=now + 60)
                    self._sleeping_until = nearest
                    self._wake.wait(timeout=max(nearest - now, 0.005))
                    self._sleeping_until = 0.0
                    continue
            for _key, renewal in ready:
                _renew(self._storage, renewal)


def request_for(effect: KashFlowEffect[T]) -> Request[T]:
    """The KashFlow call that performs *effect*, as ``soap.operations`` builds it.

    The request's ``idempotent`` flag is the one place that says whether the call writes to
    the ledger (the drivers fence such a call with the journal lease).
    """
    return cast("Request[T]", _request(effect))


def _request(effect: KashFlowEffect[Any]) -> Request[Any]:
    match effect:
        case fx.AutoAuthIp():
            return operations.auto_auth_ip(effect.app_name)
        case fx.FetchList():
            return operations.fetch_list(effect.name)
        case fx.CustomersModifiedSince():
            return operations.customers_modified_since(effect.since)
        case fx.InsertContact():
            return operations.insert_contact(effect.kind, effect.name, effect.code)
        case fx.FindContact():
            return operations.find_contact(effect.kind, effect.code)
        case fx.InsertDocument():
            return operations.insert_document(effect.kind, effect.header, effect.lines)
        case fx.GetDocument():
            return operations.get_document(effect.kind, effect.number)
        case fx.DocumentsForContact():
            return operations.documents_for_contact(effect.kind, effect.contact_id)
        case fx.RecentDocuments():
            return operations.recent_documents(effect.kind, effect.count)
        case fx.AttachFile():
            return operations.attach_file(
                effect.kind, effect.number, effect.filename, effect.content, effect.content_type
            )
        case fx.ReceiptAttachments():
            return operations.receipt_attachments(effect.receipt_id)
        case fx.InsertPayment():
            return operations.insert_payment(
                effect.kind,
                effect.number,
                paid_on=effect.paid_on,
                method_id=effect.method_id,
                account_id=effect.account_id,
                amount=effect.amount,
            )
        case fx.Payments():
            return operations.payments(effect.kind, effect.number)
        case fx.ApplyCreditNote():
            return operations.apply_credit_note(effect.invoice_id, effect.credit_note_id)
    raise TypeError(f"no KashFlow call for {effect!r}")


def _note_journal(telemetry: Telemetry, effect: StorageEffect[Any], result: Any) -> None:
    """Note each journal claim and step of *effect*, and what came of it, on the current span.

    The state changes between steps are left out: each is implied by the step recorded with it,
    and an event per write would cost a publish more than its KashFlow spans. Nothing is built
    when the current span does not record.
    """
    if not telemetry.journaling():
        return
    for call, answer in _calls(effect, result):
        if isinstance(call, fx.ClaimJournal):
            telemetry.journal(
                "claim",
                {
                    "kashflow_sync.journal.state": answer.entry.state,
                    "kashflow_sync.journal.acquired": bool(answer.acquired),
                },
            )
        elif isinstance(call, fx.AddAttempt):
            telemetry.journal(
                "attempt",
                {
                    "kashflow_sync.journal.step": call.attempt.step,
                    "kashflow_sync.journal.outcome": call.attempt.outcome,
                },
            )


def _fence_for(request: Request[Any], effect: KashFlowEffect[Any]) -> Renewal | None:
    """The renewal to fence *request* with: a call unsafe to repeat, made under a lease."""
    return effect.renew if not request.idempotent else None


@attrs.frozen
class SyncDriver:
    """Runs flows for ``KashFlowClient``.

    Args:
        service: sends KashFlow calls.
        storage: the client's storage.
        on_auth_failure: called when KashFlow refuses the credentials (marks the connection).
        sleep: how to wait.
        telemetry: where waits and journal writes are reported.

    """

    service: KashFlowService
    storage: Storage
    on_auth_failure: Callable[[], None]
    sleep: Callable[[float], None] = time.sleep
    telemetry: Telemetry = attrs.field(default=NO_TELEMETRY, kw_only=True)
    _heartbeat: _Heartbeat = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_heartbeat", _Heartbeat(self.storage))

    def run(self, flow: Flow[T], stop: StopSignal | None = None) -> T:
        """Drive *flow* to its end and return its result (or raise what it raises).

        Once *stop* is set, the flow's next KashFlow write or wait raises :func:`stopped`
        instead (reads and storage calls go on, so the flow can finish what a write began,
        record the stop and give its lease back).
        """
        confirmed = _Confirmed()
        try:
            effect = next(flow)
            while True:
                try:
                    result = self._perform(effect, confirmed, stop)
                except BaseException as exc:
                    confirmed.clear()
                    effect = flow.throw(exc)
                else:
                    effect = flow.send(result)
        except StopIteration as stop:
            value: T = stop.value
            return value

    def _perform(
        self, effect: Effect[Any], confirmed: _Confirmed, stop: StopSignal | None = None
    ) -> Any:
        if isinstance(effect, StorageEffect):
            answer = perform_storage(self.storage, effect)
            confirmed.note(effect, answer)
            if self.telemetry.enabled:
                _note_journal(self.telemetry, effect, answer)
            return answer
        if isinstance(effect, KashFlowEffect):
            request = request_for(effect)
            if not request.idempotent:
                _check_stop(stop)
            alive = (
                self._heartbeat.keep_alive(effect.renew)
                if effect.renew is not None
                else contextlib.nullcontext()
            )
            fence = _fence_for(request, effect)
            if fence is not None and not confirmed.covers(fence):
                _lease_still_held(self.storage, fence)
            confirmed.clear()
            try:
                with alive:
                    return self.service.call(request)
            except errors.AuthenticationError:
                self.on_auth_failure()
                raise
        if isinstance(effect, Sleep):
            confirmed.clear()
            _check_stop(stop)
            with self.telemetry.wait(effect.reason, effect.seconds):
                self.sleep(effect.seconds)
            return None
        if isinstance(effect, LeaseWait):
            report_wait(effect)
            return None
        if isinstance(effect, HolderGone):
            return holder_gone(effect.owner)
        raise TypeError(f"unknown effect {effect!r}")


@attrs.frozen
class AsyncDriver:
    """Runs flows for ``AsyncKashFlowClient`` (see the module docstring on cancellation).

    Args:
        service: sends KashFlow calls, awaited.
        storage: the client's (sync) storage, called in a worker thread.
        on_auth_failure: called (in a worker thread) when KashFlow refuses the credentials.
        sleep: how to wait.
        telemetry: where waits and journal writes are reported.

    """

    service: AsyncKashFlowService
    storage: Storage
    on_auth_failure: Callable[[], None]
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    telemetry: Telemetry = attrs.field(default=NO_TELEMETRY, kw_only=True)

    async def run(self, flow: Flow[T], stop: StopSignal | None = None) -> T:
        """Drive *flow* to its end and return its result (or raise what it raises).

        *stop* is as for :meth:`SyncDriver.run`.
        """
        cancelled: BaseException | None = None
        confirmed = _Confirmed()
        try:
            effect = next(flow)
            while True:
                if cancelled is not None:
                    # Deliver a cancellation that arrived during a storage call.
                    exc, cancelled = cancelled, None
                    confirmed.clear()
                    effect = flow.throw(exc)
                    continue
                if isinstance(effect, StorageEffect):
                    ok, value, cancelled = await self._storage(effect)
                    if ok:
                        confirmed.note(effect, value)
                        if self.telemetry.enabled:
                            _note_journal(self.telemetry, effect, value)
                    else:
                        confirmed.clear()
                    effect = flow.send(value) if ok else flow.throw(value)
                    continue
                try:
                    result = await self._perform(effect, confirmed, stop)
                except BaseException as exc:
                    confirmed.clear()
                    effect = flow.throw(exc)
                else:
                    effect = flow.send(result)
        except StopIteration as stop:
            if cancelled is not None:
                raise cancelled from None
            done: T = stop.value
            return done

    @contextlib.asynccontextmanager
    async def _keep_alive(self, renewal: Renewal | None) -> AsyncIterator[None]:
        """Renew *renewal*'s lease every third of it while the body runs."""
        if renewal is None:
            yield
            return

        async def beat() -> None:
            while True:
                await asyncio.sleep(_interval(renewal))
                await off_loop(self.storage, _renew, self.storage, renewal)

        task = asyncio.ensure_future(beat())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _storage(self, effect: StorageEffect[Any]) -> tuple[bool, Any, BaseException | None]:
        """``(ok, result or exception, cancellation that arrived meanwhile)`` of a storage call."""
        if not getattr(self.storage, "blocking", True):
            # An in-memory storage answers in microseconds: a thread hop would cost more
            # (waiting for the GIL) than the call itself.
            try:
                return True, perform_storage(self.storage, effect), None
            except Exception as exc:
                return False, exc, None
        call = asyncio.ensure_future(asyncio.to_thread(perform_storage, self.storage, effect))
        cancel: BaseException | None = None
        while not call.done():
            try:
                await asyncio.shield(call)
            except asyncio.CancelledError as exc:
                if call.cancelled():
                    return False, exc, cancel
                # The thread runs on regardless: wait for it so the flow learns what it did.
                cancel = cancel or exc
            except Exception:
                break
        if call.cancelled():
            return False, asyncio.CancelledError(), cancel
        failure = call.exception()
        if failure is not None:
            return False, failure, cancel
        return True, call.result(), cancel

    async def _perform(
        self, effect: Effect[Any], confirmed: _Confirmed, stop: StopSignal | None = None
    ) -> Any:
        if isinstance(effect, KashFlowEffect):
            request = request_for(effect)
            if not request.idempotent:
                _check_stop(stop)
            fence = _fence_for(request, effect)
            if fence is not None and not confirmed.covers(fence):
                await off_loop(self.storage, _lease_still_held, self.storage, fence)
            confirmed.clear()
            try:
                async with self._keep_alive(effect.renew):
                    return await self.service.call(request)
            except errors.AuthenticationError:
                await asyncio.to_thread(self.on_auth_failure)
                raise
        if isinstance(effect, Sleep):
            confirmed.clear()
            _check_stop(stop)
            with self.telemetry.wait(effect.reason, effect.seconds):
                await self.sleep(effect.seconds)
            return None
        if isinstance(effect, LeaseWait):
            report_wait(effect)
            return None
        if isinstance(effect, HolderGone):
            return holder_gone(effect.owner)
        raise TypeError(f"unknown effect {effect!r}")
