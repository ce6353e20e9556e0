"""The two drivers of the engine's flows: one plain loop, one awaited loop.

A flow (see :mod:`kashflow_sync._engine`) yields effects; a driver performs each one and sends
the result back, or throws the exception in, until the flow returns. :class:`SyncDriver` calls
KashFlow and the storage directly and sleeps with ``time.sleep``. :class:`AsyncDriver` awaits
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
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import attrs

from . import errors
from ._engine.effects import Effect, Flow, KashFlowCall, Sleep, StorageCall
from .soap.aservice import AsyncKashFlowService
from .soap.service import KashFlowService
from .typing import Storage

__all__ = ["AsyncDriver", "SyncDriver"]

T = TypeVar("T")


def _storage_method(storage: Storage, effect: StorageCall) -> Callable[..., Any]:
    method: Callable[..., Any] = getattr(storage, effect.method)
    return method


@attrs.frozen
class SyncDriver:
    """Runs flows for ``KashFlowClient``.

    Args:
        service: sends KashFlow calls.
        storage: the client's storage.
        on_auth_failure: called when KashFlow refuses the credentials (marks the connection).
        sleep: how to wait.

    """

    service: KashFlowService
    storage: Storage
    on_auth_failure: Callable[[], None]
    sleep: Callable[[float], None] = time.sleep

    def run(self, flow: Flow[T]) -> T:
        """Drive *flow* to its end and return its result (or raise what it raises)."""
        try:
            effect = next(flow)
            while True:
                try:
                    result = self._perform(effect)
                except BaseException as exc:
                    effect = flow.throw(exc)
                else:
                    effect = flow.send(result)
        except StopIteration as stop:
            value: T = stop.value
            return value

    def _perform(self, effect: Effect) -> Any:
        if isinstance(effect, StorageCall):
            return _storage_method(self.storage, effect)(*effect.args)
        if isinstance(effect, KashFlowCall):
            try:
                return self.service.perform(effect.name, *effect.args, **effect.kwargs)
            except errors.AuthenticationError:
                self.on_auth_failure()
                raise
        if isinstance(effect, Sleep):
            self.sleep(effect.seconds)
            return None
        raise TypeError(f"unknown effect {effect!r}")


@attrs.frozen
class AsyncDriver:
    """Runs flows for ``AsyncKashFlowClient`` (see the module docstring on cancellation).

    Args:
        service: sends KashFlow calls, awaited.
        storage: the client's (sync) storage, called in a worker thread.
        on_auth_failure: called (in a worker thread) when KashFlow refuses the credentials.
        sleep: how to wait.

    """

    service: AsyncKashFlowService
    storage: Storage
    on_auth_failure: Callable[[], None]
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def run(self, flow: Flow[T]) -> T:
        """Drive *flow* to its end and return its result (or raise what it raises)."""
        cancelled: BaseException | None = None
        try:
            effect = next(flow)
            while True:
                if cancelled is not None:
                    # Deliver a cancellation that arrived during a storage call.
                    exc, cancelled = cancelled, None
                    effect = flow.throw(exc)
                    continue
                if isinstance(effect, StorageCall):
                    ok, value, cancelled = await self._storage(effect)
                    effect = flow.send(value) if ok else flow.throw(value)
                    continue
                try:
                    result = await self._perform(effect)
                except BaseException as exc:
                    effect = flow.throw(exc)
                else:
                    effect = flow.send(result)
        except StopIteration as stop:
            if cancelled is not None:
                raise cancelled from None
            done: T = stop.value
            return done

    async def _storage(self, effect: StorageCall) -> tuple[bool, Any, BaseException | None]:
        """``(ok, result or exception, cancellation that arrived meanwhile)`` of a storage call."""
        if not getattr(self.storage, "blocking", True):
            # An in-memory storage answers in microseconds: a thread hop would cost more
            # (waiting for the GIL) than the call itself.
            try:
                return True, _storage_method(self.storage, effect)(*effect.args), None
            except Exception as exc:
                return False, exc, None
        call = asyncio.ensure_future(
            asyncio.to_thread(_storage_method(self.storage, effect), *effect.args)
        )
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

    async def _perform(self, effect: Effect) -> Any:
        if isinstance(effect, KashFlowCall):
            try:
                return await self.service.perform(effect.name, *effect.args, **effect.kwargs)
            except errors.AuthenticationError:
                await asyncio.to_thread(self.on_auth_failure)
                raise
        if isinstance(effect, Sleep):
            await self.sleep(effect.seconds)
            return None
        raise TypeError(f"unknown effect {effect!r}")
