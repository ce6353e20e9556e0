"""Fault injection: queued misbehaviours matched by operation, fired before or after applying.

Each fault is a :class:`FaultRule` with a count (``times``; None for always) and optionally a
probability drawn from its own seeded RNG, so bulk fault tests are repeatable.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any, Literal

import attrs

from .kinds import FAULT_KINDS, FaultKind

__all__ = [
    "FAULT_KINDS",
    "WRITE_OPERATIONS",
    "FaultKind",
    "FaultRule",
    "Faults",
    "FiredFault",
    "Operations",
]

_KINDS: frozenset[str] = frozenset(FAULT_KINDS)

#: Faults that answer (or hang up) before the operation is applied: it never is.
BEFORE_APPLY: frozenset[str] = frozenset(
    {"http_error", "reset_before", "soap_fault", "huge_status_detail", "huge_fault"}
)

#: The operations that change the ledger; ``op=WRITE_OPERATIONS`` aims a fault at all of them.
WRITE_OPERATIONS: frozenset[str] = frozenset(
    {
        "InsertSupplier",
        "InsertCustomer",
        "InsertReceipt",
        "InsertInvoice",
        "InsertReceiptPayment",
        "InsertInvoicePayment",
        "AttachFileToReceipt",
        "AttachFileToInvoice",
        "DeleteReceiptPayment",
        "DeleteReceiptAttachment",
        "DeleteReceipt",
        "DeleteSupplier",
        "DeleteCustomer",
        "DeleteInvoice",
        "DeleteInvoicePayment",
        "applyCreditNoteToInvoice",
    }
)

#: What ``op=`` takes: one operation name, several, or None for any.
Operations = str | Collection[str] | None


def _operations(op: Operations) -> str | frozenset[str] | None:
    if op is None or isinstance(op, str):
        return op
    return frozenset(op)


@attrs.define
class FaultRule:
    """One queued fault.

    Attributes:
        kind: what happens (see :class:`Faults`).
        operation: the operation it matches, a set of them, or None for any.
        remaining: how many more times it fires; None means every time.
        probability: chance of firing on a matching call, or None for always.
        status: HTTP status for ``http_error``.
        retry_after: ``Retry-After`` header value (seconds) for ``http_error``.
        seconds: how long ``delay`` holds the answer.
        message: the fault string for ``soap_fault``.
        apply_after: for ``late_apply``, seconds between the caller giving up and the write.
        hold: for ``late_apply`` over loopback, the longest the answer is held open.
        chunk: for ``trickle``, bytes per write.
        pause: for ``trickle``, seconds between writes.
        size: bytes of the answer (``oversized``, ``gzip_bomb`` once expanded) or of the
            text (``huge_status_detail``, ``huge_fault``).
        part: for ``huge_fault``, ``"detail"`` or ``"faultstring"``.
        shape: for ``hostile_answer``, one of ``HOSTILE_SHAPES``.

    """

    kind: str
    operation: str | frozenset[str] | None = attrs.field(default=None, converter=_operations)
    remaining: int | None = 1
    probability: float | None = None
    status: int = 500
    retry_after: float | None = None
    seconds: float = 0.0
    message: str = ""
    apply_after: float = 0.0
    hold: float = 30.0
    chunk: int = 1
    pause: float = 0.0
    size: int = 0
    part: str = "detail"
    shape: str = ""
    rng: random.Random | None = attrs.field(default=None, repr=False)

    def matches(self, operation: str | None) -> bool:
        """Whether this rule applies to a call of *operation* (before the probability draw)."""
        if self.remaining == 0:
            return False
        if self.operation is None or isinstance(self.operation, str):
            return self.operation in (None, operation)
        return operation in self.operation


@attrs.frozen
class FiredFault:
    """A fault that fired: its kind, the operation it hit and when."""

    kind: str
    operation: str | None
    timestamp: datetime


class Faults:
    """The fault queue of one :class:`~kashflow_sync.testing.FakeKashFlow` (``fake.faults``).

    Every method queues a rule and returns it. ``op`` names one operation, several (a list or
    set, e.g. :data:`WRITE_OPERATIONS`) or None for any. On each request the first queued rule
    that matches the operation (and wins its probability draw, if it has one) fires once; a
    rule whose count runs out is removed. Faults behave the same in-process and over loopback.
    """

    def __init__(self, clock: Callable[[], datetime] = datetime.now) -> None:
        """Start with no faults queued."""
        self._lock = threading.Lock()
        self._clock = clock
        self._rules: list[FaultRule] = []
        self._fired: list[FiredFault] = []

    def http_error(
        self,
        status: int = 503,
        op: Operations = None,
        times: int | None = 1,
        retry_after: float | None = None,
        *,
        probability: float | None = None,
        seed: int | str | None = 0,
    ) -> FaultRule:
        """Answer HTTP *status* with an HTML error page; the operation is not applied."""
        return self._queue(
            "http_error", op, times, probability, seed, status=status, retry_after=retry_after
        )

    def delay(
        self,
        seconds: float,
        op: Operations = None,
        times: int | None = 1,
        *,
        probability: float | None = None,
        seed: int | str | None = 0,
    ) -> FaultRule:
        """Apply the operation but answer only after *seconds*.

        Over loopback the server really waits. In-process nothing sleeps: if *seconds*
        exceeds the request's read timeout the transport raises ``httpx.ReadTimeout`` (after
        applying), otherwise it answers at once.
        """
        return self._queue("delay", op, times, probability, seed, seconds=seconds)

    def reset_before(
        self,
        op: Operations = None,
        times: int | None = 1,
        *,
        probability: float | None = None,
        seed: int | str | None = 0,
    ) -> FaultRule:
        """Drop the connection before processing; nothing is applied.

        In-process this raises ``httpx.ConnectError``; over loopback the socket is reset.
        """
        return self._queue("reset_before", op, times, probability, seed)

    def drop_response(
        self,
        op: Operations = None,
        times: int | None = 1,
        *,
        probability: float | None = None,
        seed: int | str | None = 0,
    ) -> FaultRule:
        """Apply the operation, then hang up without answering (the lost-response case).

        In-process this raises ``httpx.RemoteProtocolError``; over loopback the server closes
        the connection without writing a response.
        """
        return self._queue("drop_response", op, times, probability, seed)

    def malformed_response(
        self,
        op: Operations = None,
        times: int | None = 1,
        *,
        probability: float | None = None,
        seed: int | str | None = 0,
    ) -> FaultRule:
        """Apply the operation, then answer HTTP 200 with a truncated, non-XML body."""
        return self._queue("malformed_response", op, times, probability, seed)

    def soap_fault(
        self,
        op: Operations = None,
        times: int | None = 1,
        message: str = (
            "Server was unable to process request. ---> "
            "Object reference not set to an instance of an object."
        ),
        *,
        probability: float | None = None,
        seed: int | str | None = 0,
    ) -> FaultRule:
        """Answer HTTP 500 with a ``soap:Server`` fault carrying *message*; nothing applied."""
        return self._queue("soap_fault", op, times, probability, seed, message=message)

    def late_apply(
        self,
        apply_after: float,
        op: Operations = None,
        times: int | None = 1,
        *,
        hold: float = 30.0,
        probability: float | None = None,
        seed: int | str | None = 0,
    ) -> FaultRule:
        """The caller times out, and the write lands *apply_after* seconds later.

        Real KashFlow is ASP.NET: a request whose caller gave up keeps running and may be
        applied seconds later. In-process the transport raises ``httpx.ReadTimeout`` at once;
        over loopback the server holds the answer until the client hangs up (its timeout) or
        *hold* seconds pass, then closes the connection unanswered. Either way the request is
        processed (credentials, checks and all) *apply_after* seconds after that, by a
        background timer: a lookup right after the timeout finds nothing, one after
        *apply_after* finds the write. ``fake.settle()`` waits until every late write has
        been applied; ``fake.close()`` applies what is still pending, ``fake.reset()``
        cancels it. ``fake.late_writes`` shows each one and its outcome.

        Args:
            apply_after: seconds from the caller's timeout to the write.
            op: the operation(s) to hit (``WRITE_OPERATIONS`` for every write), None for any.
            times: how many calls it hits; None for every one.
            hold: over loopback, the longest the server keeps the request open.
            probability: chance per matching call (see :meth:`random`).
            seed: seeds the probability draws.

        """
        if apply_after < 0 or hold < 0:
            raise ValueError("apply_after and hold must not be negative")
        return self._queue(
            "late_apply", op, times, probability, seed, apply_after=apply_after, hold=hold
        )

    def trickle(
        self,
        chunk: int = 1,
        pause: float = 0.05,
        op: Operations = None,
        times: int | None = 1,
        *,
        probability: float | None = None,
        seed: int | str | None = 0,
    ) -> FaultRule:
        """Apply the operation, then send the answer *chunk* bytes at a time, *pause* apart.

        Over loopback the status line, headers and body all trickle, so every single read
        succeeds within a per-read timeout while the whole answer takes
        ``len / chunk * pause`` seconds: only a whole-response deadline catches it.
        In-process the body trickles through the response stream.
        """
        if chunk < 1 or pause < 0:
            raise ValueError("chunk must be at least 1 and pause not negative")
        return self._queue("trickle", op, times, probability, seed, chunk=chunk, pause=pause)

    def oversized(
        self,
        size: int,
        op: Operations = None,
        times: int | None = 1,
        *,
        probability: float | None = None,
        seed: int | str | None = 0,
    ) -> FaultRule:
        """Apply the operation, then answer with a body of *size* bytes.

        The body is the real answer padded with an XML comment, so it stays a valid answer
        that only a size limit refuses. It is generated as it is sent: the fake itself never
        holds *size* bytes.
        """
        return self._queue("oversized", op, times, probability, seed, size=_size(size))

    def gzip_bomb(
        self,
        size: int,
        op: Operations = None,
        times: int | None = 1,
        *,
        probability: float | None = None,
        seed: int | str | None = 0,
    ) -> FaultRule:
        """Apply the operation, then answer ``Content-Encoding: gzip`` expanding to *size* bytes.

        The compressed body is about a thousandth of *size* (1 GB expands from about 1 MB);
        expanded, it is the real answer padded with an XML comment.
        """
        return self._queue("gzip_bomb", op, times, probability, seed, size=_size(size))

    def huge_status_detail(
        self,
        size: int,
        op: Operations = None,
        times: int | None = 1,
        *,
        probability: float | None = None,
        seed: int | str | None = 0,
    ) -> FaultRule:
        """Refuse the operation (``Status=NO``) with a ``StatusDetail`` of *size* bytes.

        Nothing is applied. The text is KashFlow-like words repeated, sent as it is generated.
        """
        return self._queue("huge_status_detail", op, times, probability, seed, size=_size(size))

    def huge_fault(
        self,
        size: int,
        op: Operations = None,
        times: int | None = 1,
        *,
        part: Literal["detail", "faultstring"] = "detail",
        probability: float | None = None,
        seed: int | str | None = 0,
    ) -> FaultRule:
        """Answer HTTP 500 with a ``soap:Server`` fault whose *part* holds *size* bytes.

        *part* is ``"detail"`` (the ``<detail>`` element) or ``"faultstring"``. Nothing is
        applied.
        """
        if part not in ("detail", "faultstring"):
            raise ValueError("part must be 'detail' or 'faultstring'")
        return self._queue("huge_fault", op, times, probability, seed, size=_size(size), part=part)

    def hostile_answer(
        self,
        shape: str,
        op: Operations = None,
        times: int | None = 1,
        *,
        probability: float | None = None,
        seed: int | str | None = 0,
    ) -> FaultRule:
        """Apply the operation, then answer with its real answer rewritten in *shape*.

        The shapes (:data:`~kashflow_sync.testing.HOSTILE_SHAPES`) are odd but valid answers
        that say the same thing (a comment or processing instruction before the response,
        other namespace prefixes, CDATA, UTF-16...), answers that cannot be read (truncated,
        an HTML page, binary garbage, a result of the wrong type...), and a missing result or
        status, which KashFlow's conventions give a meaning.
        """
        from .hostile import HOSTILE_SHAPES

        if shape not in HOSTILE_SHAPES:
            raise ValueError(f"unknown hostile shape {shape!r}; known: {', '.join(HOSTILE_SHAPES)}")
        return self._queue("hostile_answer", op, times, probability, seed, shape=shape)

    def random(
        self,
        kind: FaultKind,
        rate: float,
        seed: int | str = 0,
        op: Operations = None,
        **options: object,
    ) -> FaultRule:
        """Fire *kind* on a fraction *rate* of matching calls, forever, repeatably for *seed*.

        Args:
            kind: one of the fault kinds (``"http_error"``, ``"delay"``...).
            rate: probability per matching call, 0 to 1.
            seed: seeds this rule's own RNG.
            op: the operation to match, several (``WRITE_OPERATIONS`` for every write), or
                None for any.
            **options: the kind's own options (``status=``, ``seconds=``, ``apply_after=``...).

        """
        if kind not in _KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        method: Callable[..., FaultRule] = getattr(self, kind)
        return method(op=op, times=None, probability=rate, seed=seed, **options)

    def clear(self) -> None:
        """Remove every queued fault and forget which ones fired."""
        with self._lock:
            self._rules.clear()
            self._fired.clear()

    @property
    def pending(self) -> list[FaultRule]:
        """The rules still queued, in matching order."""
        with self._lock:
            return list(self._rules)

    @property
    def fired(self) -> list[FiredFault]:
        """Every fault that fired, oldest first."""
        with self._lock:
            return list(self._fired)

    def pick(self, operation: str | None) -> FaultRule | None:
        """Choose the fault for one call of *operation* and count it as fired (or None)."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(operation):
                    continue
                draw = rule.rng.random() if rule.rng is not None else 0.0
                if rule.probability is not None and draw >= rule.probability:
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                self._fired.append(FiredFault(rule.kind, operation, self._clock()))
                return rule
            return None

    def _queue(
        self,
        kind: FaultKind,
        op: Operations,
        times: int | None,
        probability: float | None,
        seed: int | str | None,
        **options: Any,
    ) -> FaultRule:
        """Queue a rule of *kind*: the shared part of every fault method (count, draw, seed)."""
        rule = FaultRule(kind, op, times, probability, **options)
        if rule.remaining is not None and rule.remaining < 1:
            raise ValueError("times must be at least 1, or None for always")
        if rule.probability is not None:
            if not 0 <= rule.probability <= 1:
                raise ValueError("probability must be between 0 and 1")
            rule.rng = random.Random(seed)
        with self._lock:
            self._rules.append(rule)
        return rule


def _size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive number of bytes, not {size!r}")
    return size
