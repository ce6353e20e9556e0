"""The retry policy: what is retried, how long it waits, and that tests never sleep."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from kashflow_sync import errors
from kashflow_sync._retry import RetryPolicy, backoff, should_retry, skip_waits, waits_skipped
from kashflow_sync.celery import backoff as task_backoff


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

    policy = RetryPolicy.no_wait(max_retries=2)
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
        RetryPolicy.no_wait().call(fn, idempotent=False)
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


def _fails_twice() -> Callable[[], str]:
    outcomes = iter([_transient(), _transient(), "ok"])

    def fn() -> str:
        value = next(outcomes)
        if isinstance(value, Exception):
            raise value
        return value

    return fn


@pytest.mark.parametrize(("seed", "attempt"), [(s, a) for s in range(3) for a in range(1, 8)])
def test_default_policy_draws_full_jitter_under_a_doubling_ceiling(seed: int, attempt: int) -> None:
    """The clients' default wait is uniform(0, min(8, 0.5 * 2**(n-1))) seconds, as it always was."""
    ceiling = min(8.0, 0.5 * 2 ** (attempt - 1))
    expected = random.Random(seed).uniform(0, ceiling)
    assert RetryPolicy(rng=random.Random(seed)).delay(attempt) == expected


@pytest.mark.parametrize(("seed", "retries"), [(s, r) for s in range(3) for r in range(8)])
def test_task_countdown_is_the_same_formula_with_equal_jitter(seed: int, retries: int) -> None:
    """Celery's countdown is half of min(cap, base * 2**n) plus a random share of the rest."""
    ceiling = min(600.0, 5.0 * 2.0**retries)
    expected = ceiling / 2 + random.Random(seed).uniform(0, ceiling / 2)
    assert task_backoff(retries, 5.0, 600.0, random.Random(seed)) == expected
    assert backoff(retries + 1, 5.0, 600.0, jitter=0.5, rng=random.Random(seed)) == expected


def test_no_wait_policy_retries_as_often_without_waiting() -> None:
    """RetryPolicy.no_wait() keeps the attempts but every delay is 0 and nothing sleeps."""
    policy = RetryPolicy.no_wait(max_retries=2)
    assert policy.max_retries == 2
    assert RetryPolicy.no_wait().max_retries == RetryPolicy().max_retries
    assert [policy.delay(n, _transient(retry_after=5.0)) for n in range(1, 6)] == [0.0] * 5
    assert policy.call(_fails_twice(), idempotent=True) == "ok"


def test_skip_waits_makes_every_policy_wait_nothing_until_the_block_ends() -> None:
    """Inside skip_waits() a default policy and the task countdown wait 0 s; after, they wait."""
    waits: list[float] = []
    policy = RetryPolicy(sleep=waits.append, rng=random.Random(3))
    with skip_waits():
        assert waits_skipped()
        assert policy.call(_fails_twice(), idempotent=True) == "ok"
        assert task_backoff(3, 5.0, 600.0, retry_after=45.0) == 0.0
    assert waits == [0.0, 0.0]
    assert not waits_skipped()
    assert policy.delay(3) > 0 and task_backoff(3, 5.0, 600.0) >= 20.0


def test_skip_waits_called_alone_stays_on_until_switched_off() -> None:
    """skip_waits() without a with-block holds until skip_waits(False)."""
    try:
        skip_waits()
        assert RetryPolicy().delay(2, _transient(retry_after=3.0)) == 0.0
    finally:
        skip_waits(False)
    assert RetryPolicy().delay(1, _transient(retry_after=3.0)) >= 3.0
