"""Answers are parsed as they arrive: memory follows the models read, never the answer's size.

Peak memory is measured in a subprocess per case (resident memory sampled every millisecond:
lxml allocates outside Python's heap) while one answer, served from a file in 64 KiB pieces,
is read through the sync or async client. The guards that give up an implausible answer early
(``implausible_answer``) are checked in-process, through the real client.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

import kashflow_sync as kfs
from _clients import KINDS, any_client
from _support import FAST_RETRY
from kashflow_sync import errors
from kashflow_sync.testing import FakeKashFlow

_SOAP = b'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
_END = b"</soap:Body></soap:Envelope>"
_OPEN = b'<GetSuppliersResponse xmlns="KashFlow"><GetSuppliersResult>'
_CLOSE = b"</GetSuppliersResult><Status>OK</Status><StatusDetail /></GetSuppliersResponse>"


def _supplier(i: int) -> bytes:
    """A supplier with every text field filled, about 1 KB, as KashFlow writes one."""
    return (
        f"<Supplier><SupplierID>{i}</SupplierID><Code>NW{i:06d}</Code>"
        f"<Name>Northwind Trading Company {i:06d} Ltd</Name>"
        "<Contact>Margaret Featherstonehaugh</Contact><Mobile>+44 7700 900000</Mobile>"
        f"<Fax>+44 113 496 0001</Fax><Address1>Unit {i}, Riverside Business Park</Address1>"
        "<Address2>Kirkstall Road</Address2><Address3>Leeds</Address3>"
        "<Address4>West Yorkshire</Address4><PostCode>LS3 1AB</PostCode>"
        "<Telephone>+44 113 496 0000</Telephone>"
        "<Website>https://www.northwind-trading.example.co.uk</Website>"
        f"<Email>accounts.payable{i}@northwind-trading.example.co.uk</Email>"
        "<Created>2026-01-05T09:30:00</Created><Updated>2026-01-05T09:30:00</Updated>"
        f"<EC>0</EC><VATNumber>GB{i:09d}</VATNumber><Notes>Payment by BACS within 30 days "
        "of invoice; remittance advice to the accounts mailbox.</Notes><CurrencyID>1</CurrencyID>"
        "<PaymentTerms>30</PaymentTerms><ContactTitle>Mrs</ContactTitle>"
        "<ContactFirstName>Margaret</ContactFirstName>"
        "<ContactLastName>Featherstonehaugh</ContactLastName>"
        "<TradeBorderType>0</TradeBorderType></Supplier>"
    ).encode()


def _write_list(path: Path, count: int) -> int:
    with path.open("wb") as out:
        out.write(_SOAP + _OPEN)
        for start in range(1, count + 1, 1000):
            out.write(b"".join(_supplier(i) for i in range(start, min(start + 1000, count + 1))))
        out.write(_CLOSE + _END)
    return path.stat().st_size


def _write_comment(path: Path, size: int) -> int:
    # A comment before the envelope, as the fake's ``oversized`` pads (valid before and after).
    with path.open("wb") as out:
        out.write(b'<?xml version="1.0" encoding="utf-8"?><!--')
        block = b"x" * 65536
        for _ in range(size // len(block)):
            out.write(block)
        out.write(b"-->" + _SOAP[len(b'<?xml version="1.0" encoding="utf-8"?>') :])
        out.write(_OPEN + _supplier(1) + _CLOSE + _END)
    return path.stat().st_size


_WARM = _SOAP + _OPEN + _supplier(1) + _CLOSE + _END

_PROBE = textwrap.dedent(
    """
    import asyncio, ctypes, gc, json, os, resource, threading
    import httpx
    import kashflow_sync as kfs
    from kashflow_sync import errors
    from kashflow_sync.soap.operations import fetch_list

    path, kind = {path!r}, {kind!r}

    class Stream(httpx.SyncByteStream, httpx.AsyncByteStream):
        def __iter__(self):
            with open(path, "rb") as fh:
                while piece := fh.read(65536):
                    yield piece
        async def __aiter__(self):
            for piece in self:
                yield piece

    warm = [{warm!r}]

    def handler(request):
        headers = {{"Content-Type": "text/xml"}}
        if warm:  # the first call (the warm-up) is answered with a small, good list
            return httpx.Response(200, headers=headers, content=warm.pop())
        return httpx.Response(200, headers=headers, stream=Stream())

    def rss():
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * resource.getpagesize()

    peak = [0]
    stop = threading.Event()
    def sample():
        while not stop.wait(0.001):
            peak[0] = max(peak[0], rss())

    creds = kfs.Credentials("probe", "probe-password")
    options = dict(endpoint="http://probe/api/service.asmx", storage=kfs.MemoryStorage(),
                   max_answer_bytes=1 << 30)
    transport = httpx.MockTransport(handler)

    def measure(call):
        call()  # warm-up: zeep, the WSDL, lxml
        gc.collect()
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        start = peak[0] = rss()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            outcome = len(call())
        except errors.KashFlowError as exc:
            outcome = exc.code
        stop.set()
        sampler.join()
        peak[0] = max(peak[0], rss())
        print(json.dumps({{"growth": peak[0] - start, "outcome": outcome}}))

    if kind == "sync":
        with kfs.KashFlowClient(creds, http_client=httpx.Client(transport=transport),
                                **options) as client:
            measure(lambda: client._service.call(fetch_list("suppliers")))
    else:
        loop = asyncio.new_event_loop()
        async def build():
            return kfs.AsyncKashFlowClient(
                creds, http_client=httpx.AsyncClient(transport=transport), **options)
        client = loop.run_until_complete(build())
        measure(lambda: loop.run_until_complete(client._service.call(fetch_list("suppliers"))))
    """
)


def _peak(path: Path, kind: str) -> tuple[int, object]:
    """(peak growth in bytes, items read or error code) reading *path* once with *kind*."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE.format(path=str(path), kind=kind, warm=_WARM)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return int(data["growth"]), data["outcome"]


@pytest.mark.parametrize("kind", KINDS)
def test_reading_a_20k_supplier_list_costs_less_than_its_size(kind: str, tmp_path: Path) -> None:
    """20,000 suppliers (21 MB): peak growth under 1.5x the answer (it was about 8x)."""
    size = _write_list(tmp_path / "list.xml", 20_000)
    growth, read = _peak(tmp_path / "list.xml", kind)
    assert read == 20_000
    assert growth < 1.5 * size, f"{growth / 1e6:.1f} MB for a {size / 1e6:.1f} MB answer"


@pytest.mark.parametrize("kind", KINDS)
def test_a_huge_comment_costs_a_few_megabytes_whatever_its_size(kind: str, tmp_path: Path) -> None:
    """100 MB of comment before the envelope: given up at 4 MiB, growth under 16 MB (was 4x)."""
    _write_comment(tmp_path / "comment.xml", 100 * 1024 * 1024)
    growth, outcome = _peak(tmp_path / "comment.xml", kind)
    assert growth < 16 * 1024 * 1024, f"{growth / 1e6:.1f} MB"
    assert outcome == "implausible_answer"


# -- the guards, through the real client --------------------------------------------------------


def _fetch(client: object) -> object:
    import asyncio

    from kashflow_sync.soap.operations import fetch_list

    call = client._service.call(fetch_list("suppliers"))  # type: ignore[attr-defined]
    return asyncio.run(call) if asyncio.iscoroutine(call) else call


def _bodies() -> dict[str, bytes]:
    """One answer past each guard (imported here: the memory tests above run on any version)."""
    from kashflow_sync.soap._answerparse import MAX_KEPT_ELEMENTS, MAX_QUIET_BYTES

    return {
        "a comment longer than the quiet limit": _SOAP
        + b"<!--"
        + b"x" * (2 * MAX_QUIET_BYTES)
        + b"-->"
        + _OPEN
        + _CLOSE
        + _END,
        "a value longer than the quiet limit": _SOAP
        + _OPEN
        + b"<Supplier><Name>"
        + b"n" * (2 * MAX_QUIET_BYTES)
        + b"</Name></Supplier>"
        + _CLOSE
        + _END,
        "too many elements outside the list": _SOAP
        + _OPEN
        + _CLOSE.replace(b"<Status>", b"<x/>" * (MAX_KEPT_ELEMENTS + 1) + b"<Status>")
        + _END,
        "no envelope in the first bytes": b"<html>"
        + b"<p/>" * (MAX_KEPT_ELEMENTS + 1)
        + b"</html>",
    }


GUARDS = [
    "a comment longer than the quiet limit",
    "a value longer than the quiet limit",
    "too many elements outside the list",
    "no envelope in the first bytes",
]


@pytest.mark.parametrize("body", GUARDS)
@pytest.mark.parametrize("kind", KINDS)
def test_an_implausible_answer_is_given_up_once_and_typed(kind: str, body: str) -> None:
    """Each guard: ProtocolError implausible_answer, not retried (one fetch)."""
    calls: list[int] = []
    answer = _bodies()[body]

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, content=answer, headers={"Content-Type": "text/xml"})

    creds = kfs.Credentials("demo", "Pa55-word")
    options = {"endpoint": "http://x/api/service.asmx", "retry": FAST_RETRY}
    transport = httpx.MockTransport(handler)
    client: object
    if kind == "sync":
        client = kfs.KashFlowClient(creds, http_client=httpx.Client(transport=transport), **options)
    else:
        http = httpx.AsyncClient(transport=transport)
        client = kfs.AsyncKashFlowClient(creds, http_client=http, **options)
    with pytest.raises(errors.ProtocolError) as info:
        _fetch(client)
    assert (info.value.code, info.value.retryable, len(calls)) == ("implausible_answer", False, 1)


@pytest.mark.parametrize("kind", KINDS)
def test_a_megabyte_comment_is_still_read(kind: str) -> None:
    """Below the quiet limit a padded answer is an answer: read as the real one."""
    fake = FakeKashFlow()
    with any_client(kind, fake, max_answer_bytes=8 * 1024 * 1024) as client:
        client.connect()
        fake.faults.oversized(2 * 1024 * 1024, op="GetVATRates")  # half the quiet limit
        report = client.refresh_lists(["vat_rates"])
    assert report["vat_rates"].unchanged == len(fake.vat_rates)
