"""The retry policy: the only module that uses tenacity.

What is retried is decided by :func:`should_retry` alone: transient failures of calls that are
safe to repeat (reads, and writes that certainly never reached KashFlow). Authentication failures
are never retried: KashFlow locks accounts after repeated bad logins. A write whose request may
have reached KashFlow is not retried here; the publisher looks the document up first.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import attrs
import tenacity as _t

from . import errors
from ._config import DEFAULT_MAX_RETRIES, DEFAULT_RETRY_CAP, DEFAULT_RETRY_INITIAL

__all__ = ["RetryPolicy", "should_retry"]

R = TypeVar("R")


def should_retry(exc: BaseException, *, idempotent: bool) -> bool:
    """Whether a call that failed with *exc* may be sent again as it is."""
    if not isinstance(exc, (errors.TransientError, errors.ProtocolError)):
        return False
    if not exc.retryable:
        return False
    return idempotent or not exc.request_sent


@attrs.frozen
class RetryPolicy:
    """Capped exponential backoff with full jitter.

    Args:
        max_retries: attempts after the first (0 disables retrying).
        initial: first delay in seconds; each further delay doubles, up to *cap*.
        cap: the longest delay, also the most a ``Retry-After`` answer is honoured.
        sleep: how to wait; tests pass a function that records instead of sleeping.
        asleep: how the async client waits (default ``asyncio.sleep``).
        rng: source of jitter, injectable for deterministic tests.

    """

    max_retries: int = DEFAULT_MAX_RETRIES
    initial: float = DEFAULT_RETRY_INITIAL
    cap: float = DEFAULT_RETRY_CAP
    sleep: Callable[[float], None] = attrs.field(default=time.sleep, eq=False)
    asleep: Callable[[float], Awaitable[None]] = attrs.field(default=asyncio.sleep, eq=False)
    rng: random.Random = attrs.field(factory=random.Random, eq=False)

    def delay(self, attempt: int, exc: BaseException | None = None) -> float:
        """Seconds to wait before retry number *attempt* (1-based)."""
        ceiling = min(self.cap, self.initial * (2 ** (attempt - 1)))
        wait = self.rng.uniform(0, ceiling)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            wait = max(wait, min(float(retry_after), self.cap))
        return wait

    def _wait(self, state: _t.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return self.delay(state.attempt_number, exc)

    def call(self, fn: Callable[[], R], *, idempotent: bool) -> R:
        """Run *fn*, retrying it per this policy; re-raise the last error unchanged."""
        retrying = _t.Retrying(
            stop=_t.stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=_t.retry_if_exception(lambda e: should_retry(e, idempotent=idempotent)),
            sleep=self.sleep,
            reraise=True,
        )
        return retrying(fn)

    async def acall(self, fn: Callable[[], Awaitable[R]], *, idempotent: bool) -> R:
        """Await *fn*, retrying it per this policy (tenacity's ``AsyncRetrying``)."""
        retrying = _t.AsyncRetrying(
            stop=_t.stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=_t.retry_if_exception(lambda e: should_retry(e, idempotent=idempotent)),
            sleep=self.asleep,
            reraise=True,
        )

        async def attempt() -> R:
            # tenacity awaits only what it recognises as a coroutine function.
            return await fn()

        result: R = await retrying(attempt)
        return result


#: A policy that never waits: for tests and for the fake's demo.
NO_WAIT = RetryPolicy(initial=0.0, cap=0.0, sleep=lambda _s: None)
