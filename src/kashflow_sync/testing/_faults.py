"""Fault injection: queued misbehaviours matched by operation, fired before or after applying.

Each fault is a :class:`FaultRule` with a count (``times``; None for always) and optionally a
probability drawn from its own seeded RNG, so bulk fault tests are repeatable.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Literal, get_args

import attrs

__all__ = ["FaultKind", "FaultRule", "Faults", "FiredFault"]

#: The kinds of fault the fake can inject.
FaultKind = Literal[
    "http_error", "delay", "reset_before", "drop_response", "malformed_response", "soap_fault"
]
_KINDS: frozenset[str] = frozenset(get_args(FaultKind))

#: Faults that answer (or hang up) before the operation is applied.
BEFORE_APPLY: frozenset[str] = frozenset({"http_error", "reset_before", "soap_fault"})


@attrs.define
class FaultRule:
    """One queued fault.

    Attributes:
        kind: what happens (see :class:`Faults`).
        operation: the operation it matches, or None for any.
        remaining: how many more times it fires; None means every time.
        probability: chance of firing on a matching call, or None for always.
        status: HTTP status for ``http_error``.
        retry_after: ``Retry-After`` header value (seconds) for ``http_error``.
        seconds: how long ``delay`` holds the answer.
        message: the fault string for ``soap_fault``.

    """

    kind: str
    operation: str | None = None
    remaining: int | None = 1
    probability: float | None = None
    status: int = 500
    retry_after: float | None = None
    seconds: float = 0.0
    message: str = ""
    rng: random.Random | None = attrs.field(default=None, repr=False)

    def matches(self, operation: str | None) -> bool:
        """Whether this rule applies to a call of *operation* (before the probability draw)."""
        return self.remaining != 0 and self.operation in (None, operation)


@attrs.frozen
class FiredFault:
    """A fault that fired: its kind, the operation it hit and when."""

    kind: str
    operation: str | None
    timestamp: datetime


class Faults:
    """The fault queue of one :class:`~kashflow_sync.testing.FakeKashFlow` (``fake.faults``).

    Every method queues a rule and returns it. On each request the first queued rule that
    matches the operation (and wins its probability draw, if it has one) fires once; a rule
    whose count runs out is removed. Faults behave the same in-process and over loopback.
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
        op: str | None = None,
        times: int | None = 1,
        retry_after: float | None = None,
        *,
        probability: float | None = None,
        seed: int | str | None = 0,
    ) -> FaultRule:
        """Answer HTTP *status* with an HTML error page; the operation is not applied."""
        return self._add(
            FaultRule("http_error", op, times, probability, status=status, retry_after=retry_after),
            seed,
        )

    def delay(
        self,
        seconds: float,
        op: str | None = None,
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
        return self._add(FaultRule("delay", op, times, probability, seconds=seconds), seed)

    def reset_before(
        self,
        op: str | None = None,
        times: int | None = 1,
        *,
        probability: float | None = None,
        seed: int | str | None = 0,
    ) -> FaultRule:
        """Drop the connection before processing; nothing is applied.

        In-process this raises ``httpx.ConnectError``; over loopback the socket is reset.
        """
        return self._add(FaultRule("reset_before", op, times, probability), seed)

    def drop_response(
        self,
        op: str | None = None,
        times: int | None = 1,
        *,
        probability: float | None = None,
        seed: int | str | None = 0,
    ) -> FaultRule:
        """Apply the operation, then hang up without answering (the lost-response case).

        In-process this raises ``httpx.RemoteProtocolError``; over loopback the server closes
        the connection without writing a response.
        """
        return self._add(FaultRule("drop_response", op, times, probability), seed)

    def malformed_response(
        self,
        op: str | None = None,
        times: int | None = 1,
        *,
        probability: float | None = None,
        seed: int | str | None = 0,
    ) -> FaultRule:
        """Apply the operation, then answer HTTP 200 with a truncated, non-XML body."""
        return self._add(FaultRule("malformed_response", op, times, probability), seed)

    def soap_fault(
        self,
        op: str | None = None,
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
        return self._add(FaultRule("soap_fault", op, times, probability, message=message), seed)

    def random(
        self,
        kind: FaultKind,
        rate: float,
        seed: int | str = 0,
        op: str | None = None,
        **options: object,
    ) -> FaultRule:
        """Fire *kind* on a fraction *rate* of matching calls, forever, repeatably for *seed*.

        Args:
            kind: one of the fault kinds (``"http_error"``, ``"delay"``...).
            rate: probability per matching call, 0 to 1.
            seed: seeds this rule's own RNG.
            op: the operation to match, or None for any.
            **options: the kind's own options (``status=``, ``seconds=``, ``message=``...).

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

    def _add(self, rule: FaultRule, seed: int | str | None) -> FaultRule:
        if rule.remaining is not None and rule.remaining < 1:
            raise ValueError("times must be at least 1, or None for always")
        if rule.probability is not None:
            if not 0 <= rule.probability <= 1:
                raise ValueError("probability must be between 0 and 1")
            rule.rng = random.Random(seed)
        with self._lock:
            self._rules.append(rule)
        return rule
