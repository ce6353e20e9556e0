"""Doctor sends through the clients' exchange: the same deadline, size cap and errors.

A KashFlow that trickles its answer, or sends one too large, must not hang doctor or fill its
memory: each fails doctor's call by the deadline (or after one capped read) with the error the
client's SOAP caller gives for the same answer, and the request is still in doctor's log.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest

from kashflow_sync import errors
from kashflow_sync._doctor.session import DoctorSession
from kashflow_sync._retry import RetryPolicy
from kashflow_sync.soap import operations
from kashflow_sync.soap.caller import KashFlowService
from kashflow_sync.testing import FakeKashFlow

DEADLINE = 1.0
#: A call that ends within LATE seconds of its deadline was stopped by it (the trickled
#: answer, one byte every 50 ms, would take some 40 s): room for a loaded machine.
LATE = 10.0
LIMIT = 200_000
NO_RETRY = RetryPolicy(max_retries=0, initial=0.0, cap=0.0, sleep=lambda _s: None)
OPERATION = "GetCurrencies"


@contextlib.contextmanager
def fake_at(where: str) -> Iterator[FakeKashFlow]:
    """A fake served in-process (``transport``) or over loopback HTTP (``loopback``)."""
    if where == "loopback":
        with FakeKashFlow.serve() as fake:
            fake.allow_ip("127.0.0.1")
            yield fake
    else:
        yield allowing()


def allowing() -> FakeKashFlow:
    """An in-process fake that knows this machine's IP address (answers are real answers)."""
    fake = FakeKashFlow()
    fake.allow_ip("127.0.0.1")
    return fake


def doctor(fake: FakeKashFlow, where: str, **options: Any) -> DoctorSession:
    """A read-only doctor session to *fake*."""
    transport = fake.transport() if where == "transport" else None
    return DoctorSession(fake.url, fake.credentials, transport=transport, **options)


def client_error(fake: FakeKashFlow, **options: Any) -> errors.KashFlowError:
    """The error the clients' SOAP caller raises for the same call (over the network)."""
    with fake.http_client(timeout=30) as http:
        service = KashFlowService(
            http, fake.url, fake.credentials, app_name="tests", retry=NO_RETRY, **options
        )
        with pytest.raises(errors.KashFlowError) as info:
            service.call(operations.fetch_list("currencies"))
    return info.value


@pytest.mark.parametrize("where", ["transport", "loopback"])
def test_a_trickled_answer_fails_doctor_by_the_deadline(where: str) -> None:
    """An answer sent a byte every 50 ms: TransientError(timeout) by the deadline, logged."""
    with fake_at(where) as fake, doctor(fake, where, timeout=DEADLINE) as session:
        fake.faults.trickle(chunk=1, pause=0.05, op=OPERATION)
        started = time.monotonic()
        seen = session.exchange(operations.fetch_list("currencies"))
        elapsed = time.monotonic() - started
    error = seen.error
    assert isinstance(error, errors.TransientError)
    assert (error.code, error.request_sent, error.operation) == ("timeout", True, OPERATION)
    assert DEADLINE * 0.9 <= elapsed < DEADLINE + LATE, elapsed
    assert (seen.status, seen.answer) == (None, None)
    assert [sent.operation for sent in session.sent] == [OPERATION]


def test_a_trickled_answer_is_the_same_error_for_doctor_and_the_client() -> None:
    """Doctor's error for a trickled answer is the client's: same class, code and remedy."""
    fake = allowing()
    fake.faults.trickle(chunk=1, pause=0.05, op=OPERATION, times=2)
    with doctor(fake, "transport", timeout=DEADLINE) as session:
        theirs = session.exchange(operations.fetch_list("currencies")).error
    ours = client_error(fake, timeout=DEADLINE)
    assert theirs is not None
    assert (type(theirs), theirs.code, theirs.remedy) == (type(ours), ours.code, ours.remedy)


@pytest.mark.parametrize("fault", ["oversized", "gzip_bomb"])
def test_an_answer_over_the_cap_is_answer_too_large_for_doctor_as_for_the_client(
    fault: str,
) -> None:
    """A padded or gzip-bombed answer past the cap: the client's ProtocolError, one fetch."""
    fake = allowing()
    getattr(fake.faults, fault)(LIMIT * 5, op=OPERATION, times=None)
    with doctor(fake, "transport", max_answer_bytes=LIMIT) as session:
        seen = session.exchange(operations.fetch_list("currencies"))
    assert len(fake.calls_to(OPERATION)) == 1
    ours = client_error(fake, max_answer_bytes=LIMIT)
    error = seen.error
    assert isinstance(error, errors.ProtocolError)
    assert (error.code, error.retryable, error.operation) == ("answer_too_large", False, OPERATION)
    assert (type(error), error.code, error.message) == (type(ours), ours.code, ours.message)
    assert [sent.operation for sent in session.sent] == [OPERATION]


def test_an_answer_under_the_cap_reads_as_before() -> None:
    """The cap is a cap: a normal answer still gives doctor KashFlow's Status and the result."""
    fake = allowing()
    with doctor(fake, "transport", max_answer_bytes=LIMIT) as session:
        seen = session.exchange(operations.fetch_list("currencies"))
    assert seen.ok and seen.status == "OK" and seen.answer is not None
    assert seen.result
