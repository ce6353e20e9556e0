"""FakeKashFlow as a slow, odd or hostile KashFlow: late writes, echoed secrets, huge answers."""

from __future__ import annotations

import contextlib
import gzip
import socket
import struct
import time
from collections.abc import Callable

import httpx
import pytest
from _probing import MODES, stored, supplier
from lxml import etree

from kashflow_sync.testing import HOSTILE_SHAPES, WRITE_OPERATIONS, FakeKashFlow
from kashflow_sync.testing._probe import SoapProbe

SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"
KF = "{KashFlow}"


@pytest.fixture(params=MODES)
def fake_mode(request: pytest.FixtureRequest) -> str:
    """Each test runs against the fake in-process and again on loopback."""
    return request.param  # type: ignore[no-any-return]


def insert_supplier(probe: SoapProbe, name: str, timeout: float = 0.3) -> httpx.Response:
    body = probe.envelope("InsertSupplier", **supplier(probe, name))
    return probe.post(body, '"KashFlow/InsertSupplier"', timeout=timeout)


def wait_for(condition: Callable[[], bool], deadline: float = 5.0) -> None:
    """Poll *condition* until true, failing after *deadline* seconds."""
    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, "condition not met in time"
        time.sleep(0.01)


# -- late writes ----------------------------------------------------------------------------


def test_late_apply_times_out_then_lands_after_apply_after(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """The caller sees a timeout; nothing is there yet; once the write lands, it is applied."""
    # Ten minutes: no pause of this thread can let it land before the lookups below.
    fake.faults.late_apply(600, op="InsertSupplier")
    with pytest.raises(httpx.ReadTimeout):
        insert_supplier(probe, "Late Ltd")
    assert not stored(fake, "Late Ltd")
    assert probe.call("GetSupplier", SupplierCode="LATELT01").Status == "NO"
    (waiting,) = fake.late_writes
    assert waiting.state in ("held", "pending")  # held: the server has not seen the hang-up yet
    fake.close()  # lands what is pending now, rather than waiting the ten minutes
    assert stored(fake, "Late Ltd")
    (late,) = fake.late_writes
    assert (late.operation, late.state, late.status) == ("InsertSupplier", "applied", "OK")
    (call,) = fake.calls_to("InsertSupplier")
    assert (call.fault, call.http_status) == ("late_apply", None)


@pytest.mark.parametrize("fake_mode", ["loopback"], indirect=True)
def test_late_apply_over_loopback_holds_until_the_client_gives_up(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """Over loopback the answer is held; the timer starts when the client hangs up."""
    fake.faults.late_apply(0.0, op="InsertSupplier", hold=30)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        insert_supplier(probe, "Held Ltd", timeout=0.3)
    assert time.monotonic() - started >= 0.3
    fake.settle(timeout=10)
    assert stored(fake, "Held Ltd")


@pytest.mark.parametrize("fake_mode", ["loopback"], indirect=True)
def test_late_apply_hold_limit_closes_the_connection_unanswered(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """A patient client gets no answer after `hold` seconds; the write still lands later."""
    fake.faults.late_apply(0.0, op="InsertSupplier", hold=0.2)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        insert_supplier(probe, "Patient Ltd", timeout=10)
    fake.settle(timeout=10)
    assert stored(fake, "Patient Ltd")


def test_late_apply_fires_at_a_seeded_rate_on_writes_only(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """random("late_apply", rate, op=WRITE_OPERATIONS): repeatable, reads never hit."""

    def pattern() -> list[bool]:
        fake.faults.clear()
        fake.reset_calls()
        fake.faults.random("late_apply", 0.4, seed=7, op=WRITE_OPERATIONS, apply_after=0.0)
        for i in range(12):
            assert probe.call("GetVATRates").Status == "OK"
            with contextlib.suppress(httpx.ReadTimeout):
                insert_supplier(probe, f"Bulk {i}", timeout=0.1)
        assert {c.fault for c in fake.calls_to("GetVATRates")} == {None}
        return [c.fault == "late_apply" for c in fake.calls_to("InsertSupplier")]

    first = pattern()
    fake.settle(timeout=10)
    assert first == pattern()
    assert 0 < sum(first) < 12
    fake.settle(timeout=10)
    assert all(stored(fake, f"Bulk {i}") for i in range(12))


def test_close_applies_pending_late_writes_at_once(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """close() does not wait out apply_after: what is pending lands now."""
    fake.faults.late_apply(600, op="InsertSupplier")
    with pytest.raises(httpx.ReadTimeout):
        insert_supplier(probe, "Closing Ltd")
    with pytest.raises(TimeoutError):
        fake.settle(timeout=0.05)
    fake.close()
    assert stored(fake, "Closing Ltd")
    assert [w.state for w in fake.late_writes] == ["applied"]


def test_reset_cancels_pending_late_writes(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """reset() gives a new account: a late write pending before it never lands."""
    fake.faults.late_apply(0.3, op="InsertSupplier")
    with pytest.raises(httpx.ReadTimeout):
        insert_supplier(probe, "Before Reset Ltd")
    fake.reset()
    fake.allow_ip("127.0.0.1")
    fake.settle(timeout=1)
    assert not stored(fake, "Before Reset Ltd")
    assert fake.late_writes == [] and fake.faults.pending == []


def test_close_can_cancel_late_writes_instead(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """close(late_writes="cancel") drops them."""
    fake.faults.late_apply(600, op="InsertSupplier")
    with pytest.raises(httpx.ReadTimeout):
        insert_supplier(probe, "Dropped Late Ltd")
    fake.close(late_writes="cancel")
    assert not stored(fake, "Dropped Late Ltd")
    assert [w.state for w in fake.late_writes] == ["cancelled"]


# -- secrets echoed -------------------------------------------------------------------------


def refusal_detail(probe: SoapProbe) -> str:
    return str(probe.call("GetReceipt", ReceiptNumber=404).StatusDetail)


def test_echo_secrets_puts_password_and_key_in_refusals(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """echo_secrets: StatusDetail of a refusal repeats the password and AutoAuth key."""
    assert fake.password not in refusal_detail(probe)
    fake.echo_secrets = True
    text = refusal_detail(probe)
    assert text.startswith("There is no receipt with that number")
    assert fake.password in text and str(fake.autoauth_key) in text


def test_echo_secrets_puts_them_in_soap_faults_and_error_pages(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """Schema faults, injected SOAP faults and HTTP error pages carry them too."""
    fake.echo_secrets = True
    bad = probe.post(b"<not xml", '"KashFlow/GetSuppliers"')
    fake.faults.soap_fault(op="GetSuppliers", message="Timeout expired")
    fault = probe.send("GetSuppliers")
    fake.faults.http_error(503, op="GetSuppliers")
    page = probe.send("GetSuppliers")
    assert str(fake.autoauth_key) in bad.text
    assert fake.password in fault.text and "Timeout expired" in fault.text
    assert fake.password in page.text and page.status_code == 503


def test_echoed_secrets_stay_out_of_the_fakes_own_records(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """The call log and repr never hold the password, even while it is echoed to callers."""
    fake.echo_secrets = True
    refusal_detail(probe)
    (call,) = fake.calls
    assert call.status_detail == "There is no receipt with that number"
    assert fake.password not in repr(fake.calls) + repr(fake)


# -- slow and big answers -------------------------------------------------------------------


@pytest.mark.parametrize("fake_mode", ["loopback"], indirect=True)
def test_trickled_answer_beats_a_per_read_timeout(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """Every read arrives within 0.3 s, yet the whole answer takes longer than that."""
    fake.faults.trickle(chunk=32, pause=0.02, op="GetVATRates")
    started = time.monotonic()
    response = probe.post(probe.envelope("GetVATRates"), '"KashFlow/GetVATRates"', timeout=0.3)
    elapsed = time.monotonic() - started
    assert probe.read("GetVATRates", response).Status == "OK"
    writes = (len(response.content) + 100) // 32
    assert elapsed >= writes * 0.02 * 0.9 and elapsed > 0.3


@pytest.mark.parametrize("fake_mode", ["in-process"], indirect=True)
def test_trickled_answer_in_process_streams_small_pieces(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """In-process the body comes through the stream in pieces of at most `chunk` bytes."""
    fake.faults.trickle(chunk=50, pause=0.0, op="GetVATRates")
    request = probe.http.build_request(
        "POST",
        fake.url,
        content=probe.envelope("GetVATRates"),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "KashFlow/GetVATRates"},
    )
    response = probe.http.send(request, stream=True)
    pieces = list(response.iter_raw())
    assert max(len(p) for p in pieces) <= 50 and len(pieces) > 5
    assert b"".join(pieces).endswith(b"</soap:Envelope>")


def test_oversized_answer_is_exactly_the_size_and_still_valid(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """oversized(N): a body of N bytes that is the real answer, padded with a comment."""
    fake.faults.oversized(3_000_000, op="GetVATRates")
    response = probe.send("GetVATRates")
    assert len(response.content) == int(response.headers["content-length"]) == 3_000_000
    assert probe.read("GetVATRates", response).Status == "OK"


def test_gzip_bomb_is_small_on_the_wire_and_expands_to_the_size(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """gzip_bomb(N): Content-Encoding gzip, ~N/1000 bytes sent, N bytes once expanded."""
    fake.faults.gzip_bomb(50_000_000, op="GetVATRates")
    request = probe.http.build_request(
        "POST",
        fake.url,
        content=probe.envelope("GetVATRates"),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "KashFlow/GetVATRates"},
    )
    response = probe.http.send(request, stream=True)
    raw = b"".join(response.iter_raw())
    assert response.headers["content-encoding"] == "gzip"
    assert len(raw) < 100_000
    expanded = gzip.decompress(raw)
    assert len(expanded) == 50_000_000 and expanded.endswith(b"</soap:Envelope>")


def test_huge_status_detail_refuses_without_applying(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """huge_status_detail(N): Status NO, a StatusDetail of N bytes, nothing stored."""
    fake.faults.huge_status_detail(2_000_000, op="InsertSupplier")
    response = probe.send("InsertSupplier", **supplier(probe, "Huge Ltd"))
    answer = etree.fromstring(response.content, etree.XMLParser(huge_tree=True))[0][0]
    assert answer.findtext(f"{KF}Status") == "NO"
    assert len(answer.findtext(f"{KF}StatusDetail", "")) == 2_000_000
    assert not stored(fake, "Huge Ltd")


@pytest.mark.parametrize("part", ["detail", "faultstring"])
def test_huge_fault_puts_the_size_in_the_chosen_part(
    fake: FakeKashFlow, probe: SoapProbe, part: str
) -> None:
    """huge_fault(N, part=...): HTTP 500 soap:Server with N bytes in detail or faultstring."""
    fake.faults.huge_fault(1_000_000, op="GetSuppliers", part=part)  # type: ignore[arg-type]
    response = probe.send("GetSuppliers")
    fault = etree.fromstring(response.content, etree.XMLParser(huge_tree=True)).find(
        f"{SOAP}Body/{SOAP}Fault"
    )
    assert response.status_code == 500 and fault is not None
    text = (
        fault.findtext("faultstring", "")
        if part == "faultstring"
        else fault.findtext("detail/Message", "")
    )
    assert len(text) >= 1_000_000


# -- the loopback server under resets ---------------------------------------------------------


def reset_socket(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@pytest.mark.parametrize("when", ["mid-answer", "mid-request"])
@pytest.mark.parametrize("fake_mode", ["loopback"], indirect=True)
def test_client_reset_prints_nothing_to_stderr(
    fake: FakeKashFlow, probe: SoapProbe, capfd: pytest.CaptureFixture[str], when: str
) -> None:
    """A client resetting the connection leaves stderr empty (no stdlib traceback)."""
    fake.faults.trickle(chunk=8, pause=0.01, op="GetVATRates")
    body = probe.envelope("GetVATRates")
    port = int(fake.url.split(":")[2].split("/")[0])
    head = (
        f"POST /api/service.asmx HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n"
        f"SOAPAction: KashFlow/GetVATRates\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    server = fake._server
    assert server is not None
    with socket.create_connection(("127.0.0.1", port)) as sock:
        if when == "mid-answer":
            sock.sendall(head + body)
            assert sock.recv(8)
        else:
            sock.sendall(head + body[:20])
            wait_for(lambda: len(server._server.connections) == 1)
        reset_socket(sock)
    wait_for(lambda: not server._server.connections)
    assert capfd.readouterr().err == ""
    assert fake.errors == []


def test_late_apply_through_the_async_transport() -> None:
    """httpx.AsyncClient sees the timeout too, and the write still lands."""
    import asyncio

    fake = FakeKashFlow()
    fake.allow_ip("127.0.0.1")
    fake.faults.late_apply(0.0, op="InsertSupplier")
    with httpx.Client(transport=fake.transport()) as sync_http:
        probe = SoapProbe(fake.url, sync_http, username=fake.username, password=fake.password)
        body = probe.envelope("InsertSupplier", **supplier(probe, "Async Late Ltd"))

    async def send() -> None:
        async with httpx.AsyncClient(transport=fake.async_transport()) as http:
            await http.post(
                fake.url,
                content=body,
                headers={"Content-Type": "text/xml", "SOAPAction": "KashFlow/InsertSupplier"},
            )

    with pytest.raises(httpx.ReadTimeout):
        asyncio.run(send())
    fake.settle(timeout=10)
    assert stored(fake, "Async Late Ltd")
    fake.close()


# -- hostile answers ----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", sorted(HOSTILE_SHAPES))
def test_hostile_answer_applies_the_write_then_answers_in_its_shape(
    fake: FakeKashFlow, probe: SoapProbe, shape: str
) -> None:
    """hostile_answer(shape): the write lands; the answer is HTTP 200, not the usual one."""
    first = insert_supplier(probe, "Usual Ltd", timeout=5)
    usual = (first.content, first.headers.get("Content-Encoding"))
    fake.faults.hostile_answer(shape, op="InsertSupplier")
    odd = insert_supplier(probe, "Odd Ltd", timeout=5)
    assert stored(fake, "Odd Ltd")
    assert odd.status_code == 200
    assert (odd.content.replace(b"2005", b"2004"), odd.headers.get("Content-Encoding")) != usual
    assert [c.fault for c in fake.calls_to("InsertSupplier")] == [None, "hostile_answer"]


def test_hostile_answer_with_echo_quotes_the_secrets_in_what_it_makes_up(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """text_result's result and bad_encoding's header repeat the password, also in capitals."""
    fake.echo_secrets = True
    fake.faults.hostile_answer("text_result", op="InsertSupplier")
    fake.faults.hostile_answer("bad_encoding", op="InsertSupplier")
    result = insert_supplier(probe, "Echo Ltd", timeout=5)
    header = insert_supplier(probe, "Echo Two Ltd", timeout=5).headers["Content-Encoding"]
    for text in (result.text, header):
        assert fake.password in text and fake.password.upper() in text


def test_an_unknown_hostile_shape_is_refused(fake: FakeKashFlow) -> None:
    """A shape the fake does not have is a ValueError naming the ones it has."""
    with pytest.raises(ValueError, match="comment_in_body"):
        fake.faults.hostile_answer("no_such_shape")
