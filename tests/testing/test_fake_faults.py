"""FakeKashFlow: injected faults, in-process and over loopback, and the loopback server."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
from _probing import MODES, stored, supplier
from lxml import etree

from kashflow_sync.testing import FakeKashFlow
from kashflow_sync.testing._probe import SoapProbe


@pytest.fixture(params=MODES)
def fake_mode(request: pytest.FixtureRequest) -> str:
    """Each test runs against the fake in-process and again on loopback."""
    return request.param  # type: ignore[no-any-return]


def test_http_error_answers_without_applying(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """http_error: the status and Retry-After come back; the insert never happens."""
    fake.faults.http_error(503, op="InsertSupplier", retry_after=2)
    response = probe.send("InsertSupplier", **supplier(probe, "Lost Ltd"))
    assert (response.status_code, response.headers["retry-after"]) == (503, "2")
    assert "Service Unavailable" in response.text
    assert not stored(fake, "Lost Ltd")
    assert probe.call("InsertSupplier", **supplier(probe, "Lost Ltd")).Status == "OK"


def test_soap_fault_answers_500_without_applying(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """soap_fault: HTTP 500 with a soap:Server fault carrying the message."""
    fake.faults.soap_fault(op="InsertSupplier", message="Timeout expired")
    response = probe.send("InsertSupplier", **supplier(probe, "Faulty Ltd"))
    assert response.status_code == 500
    fault = etree.fromstring(response.content)[0][0]
    assert (fault.findtext("faultcode"), fault.findtext("faultstring")) == (
        "soap:Server",
        "Timeout expired",
    )
    assert not stored(fake, "Faulty Ltd")


def test_reset_before_drops_the_connection_without_applying(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """reset_before: a transport error (ConnectError in-process) and nothing stored."""
    fake.faults.reset_before(op="InsertSupplier")
    expected = httpx.TransportError if fake.serving else httpx.ConnectError
    with pytest.raises(expected):
        probe.send("InsertSupplier", **supplier(probe, "Reset Ltd"))
    assert not stored(fake, "Reset Ltd")
    (call,) = fake.calls
    assert (call.fault, call.http_status) == ("reset_before", None)
    assert probe.call("GetSuppliers").Status == "OK"


def test_drop_response_applies_then_hangs_up(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """drop_response: the write lands, the answer is lost (the exactly-once hazard)."""
    fake.faults.drop_response(op="InsertSupplier")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        probe.send("InsertSupplier", **supplier(probe, "Dropped Ltd"))
    assert stored(fake, "Dropped Ltd")
    assert [f.kind for f in fake.faults.fired] == ["drop_response"]


def test_malformed_response_applies_then_answers_garbage(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """malformed_response: HTTP 200 whose body is not XML; the write landed."""
    fake.faults.malformed_response(op="InsertSupplier")
    response = probe.send("InsertSupplier", **supplier(probe, "Garbled Ltd"))
    assert response.status_code == 200
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(response.content)
    assert stored(fake, "Garbled Ltd")


def test_delay_longer_than_the_timeout_times_out_after_applying(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """delay beyond the read timeout: httpx.ReadTimeout, yet the write happened."""
    fake.faults.delay(0.3, op="InsertSupplier")
    with pytest.raises(httpx.ReadTimeout):
        body = probe.envelope("InsertSupplier", **supplier(probe, "Slow Ltd"))
        probe.post(body, "KashFlow/InsertSupplier", timeout=0.05)
    assert stored(fake, "Slow Ltd")


def test_short_delay_still_answers(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """A delay within the timeout just answers (late over loopback, at once in-process)."""
    fake.faults.delay(0.02)
    assert probe.call("GetVATRates").Status == "OK"
    assert fake.calls[0].fault == "delay"


def test_faults_match_their_operation_only(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """A fault queued for one operation leaves the others alone."""
    fake.faults.http_error(500, op="InsertReceipt")
    assert probe.send("GetSuppliers").status_code == 200
    assert len(fake.faults.pending) == 1


def test_counts_and_always(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """times=2 fires twice then is gone; times=None fires until cleared."""
    fake.faults.http_error(502, times=2)
    assert [probe.send("GetVATRates").status_code for _ in range(3)] == [502, 502, 200]
    fake.faults.http_error(503, times=None)
    assert [probe.send("GetVATRates").status_code for _ in range(3)] == [503] * 3
    fake.faults.clear()
    assert probe.send("GetVATRates").status_code == 200
    assert fake.faults.fired == []


def test_random_faults_are_repeatable_for_a_seed(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """random(kind, rate, seed) fires on the same calls for the same seed."""

    def pattern() -> list[int]:
        fake.faults.clear()
        fake.faults.random("http_error", 0.3, seed=42, status=503)
        return [probe.send("GetVATRates").status_code for _ in range(40)]

    first = pattern()
    assert first == pattern()
    assert 0 < first.count(503) < 40


def test_calls_record_faults_and_statuses(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """Each call records its fault, HTTP status and KashFlow status."""
    fake.faults.http_error(503, op="GetSuppliers")
    probe.send("GetSuppliers")
    probe.send("GetSuppliers")
    assert [(c.operation, c.fault, c.http_status, c.status) for c in fake.calls] == [
        ("GetSuppliers", "http_error", 503, None),
        ("GetSuppliers", None, 200, "OK"),
    ]
    fake.reset_calls()
    assert fake.calls == []


@pytest.mark.parametrize("fake_mode", ["loopback"], indirect=True)
def test_concurrent_requests_over_loopback(fake: FakeKashFlow) -> None:
    """Many threads inserting at once get distinct ids and all are stored."""
    results: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        with httpx.Client(trust_env=False, timeout=10) as http:
            probe = SoapProbe(fake.url, http, username=fake.username, password=fake.password)
            for i in range(10):
                result = probe.call("InsertSupplier", **supplier(probe, f"Worker {n}-{i}"))
                with lock:
                    results.append(result.InsertSupplierResult)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == len(set(results)) == 80
    assert len(fake.suppliers) == 83


@pytest.mark.parametrize("fake_mode", ["loopback"], indirect=True)
def test_loopback_sees_the_socket_peer_unless_overridden(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """Over loopback the caller IP is the peer address; client_ip overrides it."""
    fake.revoke_ip("127.0.0.1")
    assert probe.call("GetSuppliers").StatusDetail.startswith("The IP address of 127.0.0.1 ")
    fake.client_ip = "198.51.100.1"
    assert "198.51.100.1" in probe.call("GetSuppliers").StatusDetail


def test_serve_starts_and_stops_quickly() -> None:
    """serve() binds a free loopback port; leaving the block closes it, idle sockets too."""
    with FakeKashFlow.serve(seed=None) as fake:
        assert fake.url.startswith("http://127.0.0.1:")
        port = int(fake.url.split(":")[2].split("/")[0])
        idle = socket.create_connection(("127.0.0.1", port))
        with httpx.Client(trust_env=False) as http:
            assert http.get(fake.wsdl_url).status_code == 200
        started = time.perf_counter()
    stopped = time.perf_counter() - started
    idle.close()
    assert not fake.serving and fake.url.startswith("http://kashflow.fake")
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    assert stopped < 2.0


def test_start_twice_is_an_error() -> None:
    """A fake serves on one port at a time; stop() is idempotent."""
    fake = FakeKashFlow(seed=None).start()
    try:
        with pytest.raises(RuntimeError):
            fake.start()
    finally:
        fake.stop()
        fake.stop()


@pytest.mark.parametrize("fake_mode", ["loopback"], indirect=True)
def test_chunked_request_over_loopback(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """A chunked request body is read whole."""
    body = probe.envelope("GetVATRates")
    response = probe.http.post(
        fake.url,
        content=iter([body[:40], body[40:]]),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "KashFlow/GetVATRates"},
    )
    assert probe.read("GetVATRates", response).Status == "OK"
