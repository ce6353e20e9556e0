"""The retry policy: the only module that uses tenacity, and the one backoff formula.

What is retried is decided by :func:`should_retry` alone: transient failures of calls that are
safe to repeat (reads, and writes that certainly never reached KashFlow). Authentication failures
are never retried: KashFlow locks accounts after repeated bad logins. A write whose request may
have reached KashFlow is not retried here; the publisher looks the document up first.

How long to wait is :func:`backoff`'s answer, for the clients' calls (:class:`RetryPolicy`) and
for the Celery tasks' countdown alike. :func:`skip_waits` turns every wait into none, for test
suites that cannot hand a policy to the code under test (a command that builds its own client).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import attrs
import tenacity as _t

from . import errors
from ._closing import ClosedByWith
from ._config import DEFAULT_MAX_RETRIES, DEFAULT_RETRY_CAP, DEFAULT_RETRY_INITIAL

__all__ = ["RetryPolicy", "backoff", "should_retry", "skip_waits", "waits_skipped"]

R = TypeVar("R")

#: Whether :func:`skip_waits` is on: one flag for the process, so threads see it too.
_skipping = False


def should_retry(exc: BaseException, *, idempotent: bool) -> bool:
    """Whether a call that failed with *exc* may be sent again as it is."""
    if not isinstance(exc, (errors.TransientError, errors.ProtocolError)):
        return False
    if not exc.retryable:
        return False
    return idempotent or not exc.request_sent


def backoff(
    attempt: int,
    initial: float,
    cap: float,
    *,
    jitter: float = 1.0,
    rng: random.Random | None = None,
    retry_after: float | None = None,
) -> float:
    """Seconds to wait before retry number *attempt* (1-based): capped exponential, jittered.

    The ceiling is ``min(cap, initial * 2 ** (attempt - 1))``. The share *jitter* of it is drawn
    at random and the rest kept: ``1.0`` is "full jitter" (anything from 0 to the ceiling; the
    clients' calls, which are few and quick), ``0.5`` "equal jitter" (half the ceiling at
    least; the Celery tasks, where a wait near 0 s would only meet the same outage again). An
    error's *retry_after* (KashFlow's ``Retry-After``, or the time until an uncertain send has
    settled) is waited at least, but never beyond *cap*. While :func:`skip_waits` is on, 0.

    Args:
        attempt: which retry this is: 1 for the first.
        initial: the first ceiling in seconds; each further one doubles.
        cap: the longest wait in seconds, also the most *retry_after* is honoured.
        jitter: the share of the ceiling drawn at random, from 0 (none) to 1.
        rng: source of the randomness (default: the :mod:`random` module's).
        retry_after: the least wait the failure asked for, if any.

    Returns:
        The wait in seconds.

    """
    if _skipping:
        return 0.0
    ceiling = min(cap, initial * 2.0 ** (attempt - 1))
    uniform = rng.uniform if rng is not None else random.uniform
    wait = ceiling * (1.0 - jitter) + uniform(0, ceiling * jitter)
    if retry_after is not None:
        wait = max(wait, min(float(retry_after), cap))
    return wait


class _Restore(ClosedByWith):
    """What :func:`skip_waits` returns: closing it (as its ``with`` block ends) undoes it."""

    def __init__(self, previous: bool) -> None:
        self._previous = previous

    def close(self) -> None:
        """Put back the setting from before :func:`skip_waits`."""
        global _skipping
        _skipping = self._previous


def skip_waits(skip: bool = True) -> _Restore:
    """Make every retry wait 0 seconds (or, with ``False``, wait again), in this process.

    For tests of code that builds its own clients (the command line, a host's task): every
    :class:`RetryPolicy` and the Celery tasks' countdown then wait 0 seconds between attempts,
    while the number of attempts stays as configured. Used as a context manager, the previous
    setting comes back when the block ends::

        with skip_waits():
            run_the_command()

    Called on its own it stays on until ``skip_waits(False)``.
    """
    global _skipping
    previous, _skipping = _skipping, bool(skip)
    return _Restore(previous)


def waits_skipped() -> bool:
    """Whether :func:`skip_waits` is on."""
    return _skipping


def _no_sleep(_seconds: float) -> None:
    """The sleep of :meth:`RetryPolicy.no_wait`: returns at once."""


async def _no_async_sleep(_seconds: float) -> None:
    """The async sleep of :meth:`RetryPolicy.no_wait`: returns at once, without yielding."""


@attrs.frozen
class RetryPolicy:
    """How the clients retry a failed call: capped exponential backoff with full jitter.

    The defaults retry 3 times, waiting at random up to 0.5 s, 1 s, then 2 s (each ceiling
    doubles, to at most 8 s), and at least what a ``Retry-After`` answer asks, up to 8 s; see
    :func:`backoff`. Only what :func:`should_retry` allows is retried. In tests, pass
    :meth:`RetryPolicy.no_wait` so nothing sleeps.

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

    @classmethod
    def no_wait(cls, max_retries: int = DEFAULT_MAX_RETRIES) -> RetryPolicy:
        """A policy that retries as the default does but never waits or sleeps: for tests.

        Args:
            max_retries: attempts after the first, as for the default policy.

        Returns:
            The policy: every delay 0 s, and sleeps (sync and async) that return at once.

        """
        return cls(
            max_retries=max_retries,
            initial=0.0,
            cap=0.0,
            sleep=_no_sleep,
            asleep=_no_async_sleep,
        )

    def delay(self, attempt: int, exc: BaseException | None = None) -> float:
        """Seconds to wait before retry number *attempt* (1-based), after *exc*."""
        retry_after = getattr(exc, "retry_after", None)
        return backoff(attempt, self.initial, self.cap, rng=self.rng, retry_after=retry_after)

    def _wait(self, state: _t.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return self.delay(state.attempt_number, exc)

    def _rules(self, idempotent: bool) -> dict[str, Any]:
        """What tenacity is told, sync or async alike: when to stop, wait and retry."""
        return {
            "stop": _t.stop_after_attempt(self.max_retries + 1),
            "wait": self._wait,
            "retry": _t.retry_if_exception(lambda e: should_retry(e, idempotent=idempotent)),
            "reraise": True,
        }

    def call(self, fn: Callable[[], R], *, idempotent: bool) -> R:
        """Run *fn*, retrying it per this policy; re-raise the last error unchanged."""
        retrying = _t.Retrying(sleep=self.sleep, **self._rules(idempotent))
        return retrying(fn)

    async def acall(self, fn: Callable[[], Awaitable[R]], *, idempotent: bool) -> R:
        """Await *fn*, retrying it per this policy (tenacity's ``AsyncRetrying``)."""
        retrying = _t.AsyncRetrying(sleep=self.asleep, **self._rules(idempotent))

        async def attempt() -> R:
            # tenacity awaits only what it recognises as a coroutine function.
            return await fn()

        result: R = await retrying(attempt)
        return result
