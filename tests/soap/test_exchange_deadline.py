"""``timeout`` is a deadline for a whole answer: a trickled answer fails by it, in both clients.

KashFlow (the fake, over real loopback HTTP) sends its answer one byte every 50 ms, so every
single read succeeds well within httpx's per-read timeout while the whole answer would take
about a minute. Each call must fail by the deadline plus a small margin.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio.from_thread
import httpx
import pytest

import kashflow_sync as kfs
from _support import purchase
from kashflow_sync import errors
from kashflow_sync._retry import RetryPolicy
from kashflow_sync.testing import FakeKashFlow

DEADLINE = 1.0
#: The whole trickled answer (about 900 bytes, one every 50 ms) takes some 45 s. A call that
#: ends within LATE seconds of its deadline was stopped by it: the bound leaves a loaded
#: machine ample room to schedule threads late, and stays far below the trickle's time.
LATE = 10.0
NO_RETRY = RetryPolicy.no_wait(max_retries=0)


@contextlib.contextmanager
def loopback_client(
    kind: str, fake: FakeKashFlow, *, own_http: bool, **kw: Any
) -> Iterator[Callable[..., Any]]:
    """``call(method_name, *args)`` on a connected client of *kind* over loopback.

    *own_http*: the caller passes its own httpx client with a generous per-read timeout (30 s),
    so only the SDK's deadline can stop a trickle; otherwise the SDK makes its own.
    """
    kw.setdefault("app_name", "deadline tests")
    kw.setdefault("timeout", DEADLINE)
    if kind == "sync":
        http = httpx.Client(timeout=30) if own_http else None
        with kfs.KashFlowClient(fake.credentials, endpoint=fake.url, http_client=http, **kw) as c:
            c.connect()
            yield lambda name, *args: getattr(c, name)(*args)
        if http is not None:
            http.close()
        return
    with anyio.from_thread.start_blocking_portal() as portal:

        async def build() -> kfs.AsyncKashFlowClient:
            http = httpx.AsyncClient(timeout=30) if own_http else None
            return kfs.AsyncKashFlowClient(
                fake.credentials, endpoint=fake.url, http_client=http, **kw
            )

        client = portal.call(build)
        portal.call(client.connect)
        try:
            yield lambda name, *args: portal.call(getattr(client, name), *args)
        finally:
            portal.call(client.aclose)
            if client._http is not None and not client._owns_http:
                portal.call(client._http.aclose)


@pytest.fixture
def fake_mode() -> str:
    """The deadline is about sockets: ``fake`` serves on real loopback HTTP."""
    return "loopback"


@pytest.mark.parametrize("own_http", [False, True], ids=["sdk-http", "caller-http"])
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_trickled_answer_fails_by_the_deadline(
    kind: str, own_http: bool, fake: FakeKashFlow
) -> None:
    """A read answered one byte at a time raises TransientError(timeout) by the deadline."""
    with loopback_client(kind, fake, own_http=own_http, retry=NO_RETRY) as call:
        fake.faults.trickle(chunk=1, pause=0.05, op="GetVATRates")
        started = time.monotonic()
        with pytest.raises(errors.TransientError) as info:
            call("refresh_lists", ["vat_rates"])
        elapsed = time.monotonic() - started
    assert info.value.code == "timeout" and info.value.request_sent
    assert DEADLINE * 0.9 <= elapsed < DEADLINE + LATE, elapsed


def test_sync_helper_hangs_up_at_the_next_piece_after_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Once the caller gave up, the thread reading the answer stops at the next piece it gets.

    In-process the headers arrive at once and the body trickles, so this is the body phase:
    without the check the thread would read on for over a minute. (Helper threads are reused,
    so what is watched is the exchange's own run ending, not a thread.)
    """
    from kashflow_sync.soap import exchange

    finished = threading.Event()
    run = exchange._Exchange.run

    def watched(self: Any) -> None:
        try:
            run(self)
        finally:
            if getattr(self._sink, "operation", None) == "GetVATRates":
                finished.set()

    monkeypatch.setattr(exchange._Exchange, "run", watched)
    fake = FakeKashFlow()
    with (
        fake.http_client(timeout=30) as http,
        kfs.KashFlowClient(
            fake.credentials, endpoint=fake.url, http_client=http, timeout=DEADLINE, retry=NO_RETRY
        ) as client,
    ):
        client.connect()
        finished.clear()
        fake.faults.trickle(chunk=1, pause=0.05, op="GetVATRates")
        with pytest.raises(errors.TransientError):
            client.refresh_lists(["vat_rates"])
        gave_up = time.monotonic()
        assert finished.wait(LATE), "the helper read on after the caller gave up"
    assert time.monotonic() - gave_up < LATE  # not the ~40 s the rest of the trickle takes


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_trickled_answer_to_a_create_is_reconciled_not_resent(
    kind: str, fake: FakeKashFlow
) -> None:
    """A create whose answer trickles past the deadline is found in KashFlow, not sent twice."""
    with loopback_client(kind, fake, own_http=False) as call:
        fake.faults.trickle(chunk=1, pause=0.05, op="InsertReceipt")
        result = call("publish", purchase(1, attach=False, pay=False))
    assert result.status == "published"
    assert len(fake.receipts) == 1
    assert len(fake.calls_to("InsertReceipt")) == 1


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_answer_within_the_deadline_is_unaffected(kind: str, fake: FakeKashFlow) -> None:
    """A slow answer that still arrives whole in time is read normally."""
    with loopback_client(kind, fake, own_http=True, retry=NO_RETRY) as call:
        fake.faults.trickle(chunk=512, pause=0.05, op="GetVATRates")
        report = call("refresh_lists", ["vat_rates"])
    assert report["vat_rates"].unchanged > 0


class SlowUplink(httpx.BaseTransport):
    """A network that takes the request body one piece every 50 ms, and says what arrived."""

    def __init__(self) -> None:
        self.pieces = 0
        self.whole_request_arrived = False
        self.finished = threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            for _piece in request.stream:  # type: ignore[union-attr]
                self.pieces += 1
                time.sleep(0.05)  # the slow network, not a test waiting
            self.whole_request_arrived = True
            return httpx.Response(200, content=b"<late/>")
        finally:
            self.finished.set()


def test_sync_stops_sending_a_slow_upload_once_the_caller_gave_up() -> None:
    """A big request still uploading at the deadline is cut short, so it can never be applied.

    Otherwise the helper thread would finish sending it after the caller was told "timeout",
    and KashFlow could apply a write the SDK already treats as uncertain.
    """
    from kashflow_sync.soap.answer import AnswerBody
    from kashflow_sync.soap.codec import Envelope
    from kashflow_sync.soap.exchange import fetch

    uplink = SlowUplink()
    envelope = Envelope("AttachFileToReceipt", b"x" * (100 * 64 * 1024), {})  # 100 pieces, 5 s
    with httpx.Client(transport=uplink) as http:
        outcome = fetch(
            http,
            "http://kashflow.test/",
            envelope,
            timeout=0.5,
            limit=10_000,
            sink=AnswerBody([]),
        )
        assert isinstance(outcome, errors.TransientError) and outcome.code == "timeout"
        assert uplink.finished.wait(5)
    assert not uplink.whole_request_arrived
    assert uplink.pieces < 30
