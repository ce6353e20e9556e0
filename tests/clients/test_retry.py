"""The retry policy: what is retried, how long it waits, and that tests never sleep."""

from __future__ import annotations

import random

import pytest

from kashflow_sync import errors
from kashflow_sync._retry import RetryPolicy, should_retry


def _transient(sent: bool = True, retry_after: float | None = None) -> errors.TransientError:
    return errors.TransientError("x", request_sent=sent, retry_after=retry_after)


SHOULD_RETRY_CASES = [
    (_transient(sent=True), True, True),
    (_transient(sent=True), False, False),
    (_transient(sent=False), False, True),
    (errors.ProtocolError("x"), True, True),
    (errors.ProtocolError("x", retryable=False), True, False),
    (errors.AuthenticationError("x"), True, False),
    (errors.RejectedError("x"), True, False),
    (ValueError("x"), True, False),
]


@pytest.mark.parametrize(("exc", "idempotent", "expected"), SHOULD_RETRY_CASES)
def test_should_retry(exc: BaseException, idempotent: bool, expected: bool) -> None:
    """Only transient failures of repeatable calls are retried; writes only if never sent."""
    assert should_retry(exc, idempotent=idempotent) is expected


def test_retries_then_succeeds_without_sleeping() -> None:
    """A read failing twice succeeds on the third try; the injected sleep records the waits."""
    waits: list[float] = []
    calls = iter([_transient(), _transient(), "ok"])

    def fn() -> str:
        value = next(calls)
        if isinstance(value, Exception):
            raise value
        return value

    policy = RetryPolicy(max_retries=3, initial=1.0, cap=4.0, sleep=waits.append)
    assert policy.call(fn, idempotent=True) == "ok"
    assert len(waits) == 2


def test_gives_up_after_max_retries_and_reraises() -> None:
    """The last error surfaces unchanged after max_retries + 1 attempts."""
    attempts = []

    def fn() -> None:
        attempts.append(1)
        raise _transient()

    policy = RetryPolicy(max_retries=2, sleep=lambda _s: None)
    with pytest.raises(errors.TransientError):
        policy.call(fn, idempotent=True)
    assert len(attempts) == 3


def test_sent_write_is_not_retried() -> None:
    """A write whose request may have reached KashFlow is tried once only."""
    attempts = []

    def fn() -> None:
        attempts.append(1)
        raise _transient(sent=True)

    with pytest.raises(errors.TransientError):
        RetryPolicy(sleep=lambda _s: None).call(fn, idempotent=False)
    assert len(attempts) == 1


def test_backoff_is_capped_with_jitter() -> None:
    """Delays grow exponentially, never exceed the cap, and vary (jitter)."""
    policy = RetryPolicy(initial=0.5, cap=2.0, rng=random.Random(7))
    delays = [policy.delay(n) for n in range(1, 10)]
    assert all(0 <= d <= 2.0 for d in delays)
    assert len(set(delays)) > 1


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    """Retry-After raises the wait, but never beyond the cap."""
    policy = RetryPolicy(initial=0.01, cap=5.0, rng=random.Random(1))
    assert policy.delay(1, _transient(retry_after=3.0)) >= 3.0
    assert policy.delay(1, _transient(retry_after=60.0)) <= 5.0


def test_async_retries_with_the_same_policy_and_awaits_its_sleep() -> None:
    """acall retries what call retries, waits through the async sleep, re-raises the last."""
    import asyncio

    waits: list[float] = []
    outcomes = iter([_transient(), _transient(), "ok"])

    async def record(seconds: float) -> None:
        waits.append(seconds)

    async def fn() -> str:
        value = next(outcomes)
        if isinstance(value, Exception):
            raise value
        return value

    policy = RetryPolicy(max_retries=3, initial=1.0, cap=4.0, asleep=record)
    assert asyncio.run(policy.acall(fn, idempotent=True)) == "ok"
    assert len(waits) == 2

    async def sent_write() -> None:
        raise _transient(sent=True)

    attempts_before = len(waits)
    with pytest.raises(errors.TransientError):
        asyncio.run(policy.acall(sent_write, idempotent=False))
    assert len(waits) == attempts_before  # a sent write is tried once only
