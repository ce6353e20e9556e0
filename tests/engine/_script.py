"""A scripted driver for the engine's flows: KashFlow answers from a table, no fake, no network.

Storage effects go to a real ``MemoryStorage`` (the reference implementation: pure memory);
KashFlow effects are answered in order from a script per operation (named by the effect's type:
``GetDocument`` is ``"get_document"``), and every effect is logged, so a test states what the
engine must ask and what it decides from each answer. The flow's clock is a :class:`Clock` that
moves only when told, and its ids come from :class:`Ids`, a counter.

:meth:`Script.run` performs the effects itself. :meth:`Script.drive` hands them to the clients'
own drivers (sync or async) instead, with the script as KashFlow: what the drivers add to the
flow, such as the lease check right before a write, is then under test too.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Generator, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from kashflow_sync import errors
from kashflow_sync._clients.drivers import AsyncDriver, SyncDriver, request_for
from kashflow_sync._engine.effects import (
    Effect,
    Flow,
    HolderGone,
    KashFlowEffect,
    LeaseWait,
    Sleep,
    StorageEffect,
)
from kashflow_sync._engine.publish import PublishSettings
from kashflow_sync.soap.codec import Request
from kashflow_sync.soap.records import LedgerDocument
from kashflow_sync.storage.memory import MemoryStorage

T = TypeVar("T")

CONNECTION = "test-conn"
START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


class Clock:
    """A clock that moves only when told (and when the flow sleeps)."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Ids:
    """Deterministic ids: ``0001000100010001``, ``0002000200020002``... (16 hex digits)."""

    def __init__(self) -> None:
        self.issued = 0

    def __call__(self) -> str:
        self.issued += 1
        return f"{self.issued:04x}" * 4


def operation(effect: Effect[Any]) -> str:
    """The script's name of a KashFlow effect: its type in snake case (``"get_document"``)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(effect).__name__).lower()


def uncertain(code: str = "timeout") -> errors.TransientError:
    """A failure after which the request may have reached KashFlow."""
    return errors.TransientError("no answer", code=code, request_sent=True)


def never_sent() -> errors.TransientError:
    """A failure before any byte of the request left."""
    return errors.TransientError("refused", code="connection_failed", request_sent=False)


def refused(detail: str = "Invalid nominal code") -> errors.RejectedError:
    """KashFlow saying no (Status NO)."""
    return errors.RejectedError(f"KashFlow refused: {detail}", detail=detail)


def ledger(
    number: int,
    *,
    reference: str = "INV-1001",
    net: str = "100.00",
    vat: str = "20.00",
    issue_date: Any = None,
    contact_id: int = 101,
    kashflow_id: int | None = None,
    lines: tuple[Any, ...] = (),
) -> LedgerDocument:
    """A document as KashFlow would list it (defaults: the clean purchase's)."""
    from datetime import date
    from decimal import Decimal

    return LedgerDocument(
        kashflow_id=kashflow_id if kashflow_id is not None else number + 9000,
        number=number,
        issue_date=issue_date or date(2026, 11, 2),
        due_date=None,
        contact_id=contact_id,
        reference=reference,
        net=Decimal(net),
        vat=Decimal(vat),
        amount_paid=Decimal(0),
        lines=lines,
    )


Answer = Any  # a value, an exception to raise, or a callable(effect) -> value


class Script:
    """Drives a flow: KashFlow answers from *kashflow*, storage from a MemoryStorage.

    Args:
        kashflow: per operation name, the answers to give, in order.
        storage: the storage to use (a fresh MemoryStorage by default).
        clock: the clock the flow's settings use; sleeps advance it.
        ids: the id source the flow's settings use (a fresh counter by default).
        before: called with each effect before it is performed (to change the world mid-flow).
        gone: the owners whose process is known to have ended (``HolderGone`` says True).

    """

    def __init__(
        self,
        kashflow: Mapping[str, Iterable[Answer]] | None = None,
        *,
        storage: MemoryStorage | None = None,
        clock: Clock | None = None,
        ids: Ids | None = None,
        before: Callable[[Effect[Any]], None] | None = None,
        gone: Iterable[str] = (),
    ) -> None:
        self.answers = {name: list(values) for name, values in (kashflow or {}).items()}
        self.storage = storage or MemoryStorage()
        self.clock = clock or Clock()
        self.ids = ids or Ids()
        self.before = before
        self.gone = frozenset(gone)
        self.effects: list[Effect[Any]] = []
        self.sent: list[str] = []

    def settings(self, **changes: Any) -> PublishSettings:
        """Publish settings on this script's clock and ids (check_ledger on, 5-minute lease)."""
        fields: dict[str, Any] = {
            "clock": self.clock,
            "new_id": self.ids,
            "wait_poll": 1.0,
            "settle_time": timedelta(0),
        }
        fields.update(changes)
        return PublishSettings(CONNECTION, **fields)

    @property
    def calls(self) -> list[str]:
        """The KashFlow operations asked for, in order."""
        return [operation(e) for e in self.effects if isinstance(e, KashFlowEffect)]

    @property
    def sleeps(self) -> list[float]:
        """The sleeps asked for, in order."""
        return [e.seconds for e in self.effects if isinstance(e, Sleep)]

    def drive(self, flow: Flow[T], driver: str) -> T:
        """Run *flow* through the clients' ``"sync"`` or ``"async"`` driver; the script is KashFlow.

        Effects are logged (and *before* called) as the flow yields them, before the driver
        performs them; :attr:`sent` lists the KashFlow calls the driver really made.
        """
        watched = self._watched(flow)
        if driver == "sync":
            sync = SyncDriver(_Service(self), self.storage, lambda: None, sleep=self.clock.advance)
            return sync.run(watched)

        async def sleep(seconds: float) -> None:
            self.clock.advance(seconds)

        aio = AsyncDriver(_AsyncService(self), self.storage, lambda: None, sleep=sleep)
        return asyncio.run(aio.run(watched))

    def _watched(self, flow: Flow[T]) -> Generator[Effect[Any], Any, T]:
        try:
            effect = next(flow)
            while True:
                self.effects.append(effect)
                if self.before is not None:
                    self.before(effect)
                try:
                    result = yield effect
                except BaseException as exc:
                    effect = flow.throw(exc)
                else:
                    effect = flow.send(result)
        except StopIteration as stop:
            value: T = stop.value
            return value

    def answer(self, effect: KashFlowEffect[Any]) -> Any:
        """KashFlow's scripted answer to *effect* (raised if it is an exception)."""
        name = operation(effect)
        queue = self.answers.get(name)
        if not queue:
            raise AssertionError(f"unscripted KashFlow call {effect!r}")
        self.sent.append(name)
        answer = queue.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            return answer(effect)
        return answer

    def run(self, flow: Flow[T]) -> T:
        """Drive *flow* to its end; an unscripted KashFlow call fails the test."""
        try:
            effect = next(flow)
            while True:
                self.effects.append(effect)
                if self.before is not None:
                    self.before(effect)
                try:
                    result = self._perform(effect)
                except BaseException as exc:
                    effect = flow.throw(exc)
                else:
                    effect = flow.send(result)
        except StopIteration as stop:
            value: T = stop.value
            return value

    def _perform(self, effect: Effect[Any]) -> Any:
        if isinstance(effect, StorageEffect):
            return effect.perform(self.storage)
        if isinstance(effect, Sleep):
            self.clock.advance(effect.seconds)
            return None
        if isinstance(effect, LeaseWait):
            return None
        if isinstance(effect, HolderGone):
            return effect.owner in self.gone
        assert isinstance(effect, KashFlowEffect)
        return self.answer(effect)

    def _answer_request(self, request: Request[Any]) -> Any:
        """The driver's call for the effect the flow yielded last (the one it is performing)."""
        effect = self.effects[-1]
        assert isinstance(effect, KashFlowEffect), effect
        assert request.operation == request_for(effect).operation, (request, effect)
        return self.answer(effect)

    def journal(self, external_id: str = "item-42") -> Any:
        """The stored journal entry."""
        return self.storage.get_journal(CONNECTION, external_id)


class _Service:
    """KashFlow for the sync driver: the script's answers."""

    def __init__(self, script: Script) -> None:
        self.script = script

    def call(self, request: Request[Any]) -> Any:
        return self.script._answer_request(request)


class _AsyncService:
    """KashFlow for the async driver: the script's answers."""

    def __init__(self, script: Script) -> None:
        self.script = script

    async def call(self, request: Request[Any]) -> Any:
        return self.script._answer_request(request)
