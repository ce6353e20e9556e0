"""Peak memory while reading one KashFlow answer, per answer shape, sync and async clients.

The parent builds the answers once, as files:

* ``list-20k``: the fake's ``GetSuppliers`` answer for 20,000 suppliers with every text field
  filled (the measurement ``DEFAULT_MAX_ANSWER_BYTES`` is chosen from);
* ``customers-20k``: the fake's ``GetCustomers`` answer for 20,000 customers with address,
  delivery address, contact and notes;
* ``list-20k-gzip``: the same, sent ``Content-Encoding: gzip``;
* ``list-big``: those suppliers repeated (new ids) to ``--big`` MB: the issue's 200 MB answer;
* ``comment``, ``blanks``, ``detail``: a hostile answer of ``--big`` MB that is one XML comment
  before the envelope (as the fake's ``oversized`` fault pads), whitespace between its
  elements, or one huge ``StatusDetail``;
* ``items-tiny``: ``--tiny`` MB of suppliers holding only an id and a one-letter name.

Each (answer, client, source tree) is read in a fresh subprocess that serves the file in 64 KiB
pieces through an ``httpx.MockTransport`` stream (nothing of it is held before the call), makes
one ``fetch_list`` call (customers for ``customers-20k``, suppliers otherwise) through the
client's SOAP service, and reports the growth
of resident memory (sampled every millisecond; lxml and zlib allocate outside Python's heap)
over the call, and what is still held after it (the models returned, once freed memory is
handed back to the system). ``--baseline-src DIR``
runs every case again with another checkout's ``src`` first on ``sys.path`` (the code before a
change), in the same run.

Run: ``python benchmarks/bench_answer_memory.py [--big 200] [--baseline-src /tmp/base/src]``
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
from _memory import RssSampler, rss

SUPPLIER_FIELDS = {
    "Contact": "Margaret Featherstonehaugh",
    "Telephone": "+44 113 496 0000",
    "Mobile": "+44 7700 900000",
    "Fax": "+44 113 496 0001",
    "Address2": "Kirkstall Road",
    "Address3": "Leeds",
    "Address4": "West Yorkshire",
    "PostCode": "LS3 1AB",
    "Website": "https://www.northwind-trading.example.co.uk",
    "Notes": (
        "Payment by BACS within 30 days of invoice; remittance advice to the accounts "
        "mailbox. Quote the PO number on every invoice."
    ),
    "ContactTitle": "Mrs",
    "ContactFirstName": "Margaret",
    "ContactLastName": "Featherstonehaugh",
}
_PIECE = 64 * 1024
_MB = 1_000_000


# ---------------------------------------------------------------------- building the answers


CUSTOMER_FIELDS = {
    **{k: v for k, v in SUPPLIER_FIELDS.items() if k != "PostCode"},
    "Postcode": "LS3 1AB",
    "CountryName": "United Kingdom",
    "CountryCode": "GB",
    "CustHasDeliveryAddress": 1,
    "DeliveryAddress2": "Kirkstall Road",
    "DeliveryAddress3": "Leeds",
    "DeliveryAddress4": "West Yorkshire",
    "DeliveryCountryName": "United Kingdom",
    "DeliveryCountryCode": "GB",
    "DeliveryPostcode": "LS3 1AB",
}


def fake_suppliers_answer(count: int, list_name: str = "suppliers") -> bytes:
    """The fake's answer for *count* suppliers (or customers) with their text fields filled."""
    from kashflow_sync.soap import codec
    from kashflow_sync.soap.operations import fetch_list
    from kashflow_sync.testing import FakeKashFlow

    fake = FakeKashFlow()
    fake.allow_ip("127.0.0.1")
    for i in range(1, count + 1):
        common = {
            "email": f"accounts.payable{i}@northwind-trading.example.co.uk",
            "vat_number": f"GB{i:09d}",
            "payment_terms": 30,
            "Address1": f"Unit {i}, Riverside Business Park",
        }
        if list_name == "suppliers":
            name = f"Northwind Trading Company {i:05d} Ltd"
            fake.add_supplier(name, f"NW{i:05d}", currency_id=1, **common, **SUPPLIER_FIELDS)
        else:
            name = f"Riverside Garden Centre {i:05d} Ltd"
            extra = {"DeliveryAddress1": f"Unit {i}, Riverside Business Park"}
            fake.add_customer(name, f"RG{i:05d}", **common, **extra, **CUSTOMER_FIELDS)
    envelope = codec.encode(fetch_list(list_name), fake.credentials)
    with fake.http_client() as http:
        answer = http.post(fake.url, content=envelope.content, headers=envelope.headers)
    fake.close()
    return answer.content


def _split(answer: bytes) -> tuple[bytes, bytes, bytes]:
    """(head up to the first item, the items, tail from the end of the last item)."""
    first = answer.index(b"<Supplier>")
    last = answer.rindex(b"</Supplier>") + len(b"</Supplier>")
    return answer[:first], answer[first:last], answer[last:]


def write_answers(folder: Path, suppliers: int, big_mb: int, tiny_mb: int) -> dict[str, Path]:
    """Write every answer shape into *folder*; returns name -> file."""
    answer = fake_suppliers_answer(suppliers)
    head, items, tail = _split(answer)
    files: dict[str, Path] = {}

    def write(name: str, *parts: bytes | Iterator[bytes]) -> None:
        path = folder / f"{name}.xml"
        with path.open("wb") as out:
            for part in parts:
                if isinstance(part, bytes):
                    out.write(part)
                else:
                    for piece in part:
                        out.write(piece)
        files[name] = path

    write("list-20k", answer)
    write("customers-20k", fake_suppliers_answer(suppliers, "customers"))
    (folder / "list-20k-gzip.xml").write_bytes(gzip.compress(answer, 6))
    files["list-20k-gzip"] = folder / "list-20k-gzip.xml"

    ids = re.compile(rb"<SupplierID>(\d+)</SupplierID>")

    def repeated(target: int) -> Iterator[bytes]:
        written, shift = 0, 0
        while written < target:
            block = ids.sub(
                lambda m, s=shift: b"<SupplierID>%d</SupplierID>" % (int(m[1]) + s), items
            )
            yield block
            written += len(block)
            shift += 1_000_000

    write("list-big", head, repeated(big_mb * _MB), tail)
    empty = head + tail
    end_of_declaration = empty.index(b"?>") + 2
    body_open = empty.index(b"<soap:Body>") + len(b"<soap:Body>")
    write(
        "comment",
        empty[:end_of_declaration],
        b"<!--",
        _filler(b"x", big_mb * _MB),
        b"-->",
        empty[end_of_declaration:],
    )
    write("blanks", empty[:body_open], _filler(b" \n", big_mb * _MB), empty[body_open:])
    # A refusal: Status NO, its StatusDetail padded.
    no = re.sub(rb"<StatusDetail ?/>", b"<StatusDetail></StatusDetail>", empty)
    no = no.replace(b"<Status>OK</Status>", b"<Status>NO</Status>")
    at = no.index(b"<StatusDetail>") + len(b"<StatusDetail>")
    write("detail", no[:at], _filler(b"KashFlow was unable to do it. ", big_mb * _MB), no[at:])

    def tiny(target: int) -> Iterator[bytes]:
        written, next_id = 0, 1
        while written < target:
            block = b"".join(
                b"<Supplier><SupplierID>%d</SupplierID><Name>a</Name></Supplier>" % (next_id + k)
                for k in range(1000)
            )
            next_id += 1000
            yield block
            written += len(block)

    write("items-tiny", head, tiny(tiny_mb * _MB), tail)
    return files


def _filler(unit: bytes, size: int) -> Iterator[bytes]:
    block = (unit * (_PIECE // len(unit) + 1))[:_PIECE]
    full, rest = divmod(size, _PIECE)
    for _ in range(full):
        yield block
    yield block[:rest]


# ---------------------------------------------------------------------- one measurement


class FileStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A file served piece by piece, to either client."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __iter__(self) -> Iterator[bytes]:
        with open(self.path, "rb") as fh:
            while piece := fh.read(_PIECE):
                yield piece

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self:
            yield piece


def child(kind: str, path: str, warm: str, limit: int) -> None:
    """Read the answer in *path* once with a *kind* client; print what it cost as JSON.

    The warm-up call (a small supplier list) loads zeep, the WSDL and lxml first.
    """
    import kashflow_sync as kfs
    from kashflow_sync import errors
    from kashflow_sync.soap.operations import fetch_list

    served = [warm]
    gzipped = path.endswith("-gzip.xml")
    list_name = "customers" if "customers" in Path(path).name else "suppliers"

    def handler(request: httpx.Request) -> httpx.Response:
        file = served[-1]
        headers = {"Content-Type": "text/xml; charset=utf-8"}
        headers["Content-Length"] = str(os.path.getsize(file))
        if gzipped and file == path:
            headers["Content-Encoding"] = "gzip"
        return httpx.Response(200, headers=headers, stream=FileStream(file))

    creds = kfs.Credentials("bench", "bench-password")
    options = {
        "endpoint": "http://recorded/api/service.asmx",
        "storage": kfs.MemoryStorage(),
        "connection_id": "bench",
        "max_answer_bytes": limit,
    }
    transport = httpx.MockTransport(handler)
    outcome: dict[str, object] = {}

    def measure(call: object) -> None:
        served.append(path)
        gc.collect()
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        started = time.perf_counter()
        with RssSampler() as sampler:
            try:
                result = call()  # type: ignore[operator]
                outcome["items"] = len(result)
            except errors.KashFlowError as exc:
                outcome["error"] = exc.code
                result = None
            seconds = time.perf_counter() - started
        # What is still held with the result in hand: the models (freed memory handed back).
        gc.collect()
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        kept = rss()
        outcome["seconds"] = seconds
        outcome["peak_mb"] = (sampler.peak - sampler.start) / 2**20
        outcome["kept_mb"] = (kept - sampler.start) / 2**20
        del result

    if kind == "sync":
        http = httpx.Client(transport=transport)
        with kfs.KashFlowClient(creds, http_client=http, **options) as client:
            client._service.call(fetch_list("suppliers"))  # warm-up: zeep, the WSDL, lxml
            measure(lambda: client._service.call(fetch_list(list_name)))
    else:

        async def run() -> None:
            http = httpx.AsyncClient(transport=transport)
            async with kfs.AsyncKashFlowClient(creds, http_client=http, **options) as client:
                await client._service.call(fetch_list("suppliers"))
                loop = asyncio.get_running_loop()
                box: dict[str, object] = {}

                def call() -> object:
                    # the sampler wraps a blocking wait on the coroutine, run on this loop
                    future = asyncio.run_coroutine_threadsafe(
                        client._service.call(fetch_list(list_name)), loop
                    )
                    box["r"] = future.result()
                    return box.pop("r")

                await loop.run_in_executor(None, measure, call)
            await http.aclose()

        asyncio.run(run())
    print(json.dumps(outcome))


# ---------------------------------------------------------------------- the run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suppliers", type=int, default=20_000)
    parser.add_argument("--big", type=int, default=200, help="MB of the big answers")
    parser.add_argument("--tiny", type=int, default=50, help="MB of the tiny-items answer")
    parser.add_argument("--baseline-src", help="another checkout's src, measured first")
    parser.add_argument("--only", help="comma-separated answer names")
    parser.add_argument("--kinds", default="sync,async")
    parser.add_argument("--child", nargs=4, metavar=("KIND", "PATH", "WARM", "LIMIT"))
    args = parser.parse_args()
    if args.child:
        kind, path, warm, limit = args.child
        child(kind, path, warm, int(limit))
        return

    folder = Path(tempfile.mkdtemp(prefix="kfs-answers-"))
    files = write_answers(folder, args.suppliers, args.big, args.tiny)
    warm = folder / "warm.xml"
    warm.write_bytes(fake_suppliers_answer(3))
    names = args.only.split(",") if args.only else list(files)
    here = str(Path(__file__).resolve().parents[1] / "src")
    sources = ([("before", args.baseline_src)] if args.baseline_src else []) + [("after", here)]
    limit = 1 << 30  # every answer is read whole: this measures reading, not refusing
    print(f"20,000-supplier answer: {files['list-20k'].stat().st_size / _MB:.1f} MB")
    print(f"20,000-customer answer: {files['customers-20k'].stat().st_size / _MB:.1f} MB")
    print(
        f"{'answer':14s} {'MB':>7s} {'code':6s} {'client':6s} {'peak MB':>8s} "
        f"{'peak/size':>9s} {'kept MB':>8s} {'s':>6s} result"
    )
    for name in names:
        size = files[name].stat().st_size
        # A gzip answer's cost is that of the expanded answer.
        expanded = len(gzip.decompress(files[name].read_bytes())) if name.endswith("gzip") else size
        for label, src in sources:
            for kind in args.kinds.split(","):
                env = {**os.environ, "PYTHONPATH": src}
                argv = ["--child", kind, str(files[name]), str(warm), str(limit)]
                proc = subprocess.run(
                    [sys.executable, __file__, *argv],
                    capture_output=True,
                    text=True,
                    env=env,
                    check=False,
                )
                if proc.returncode != 0:
                    print(f"{name:14s} {label}: failed\n{proc.stderr[-2000:]}")
                    continue
                out = json.loads(proc.stdout.strip().splitlines()[-1])
                result = out.get("error") or f"{out['items']} items"
                print(
                    f"{name:14s} {size / _MB:7.1f} {label:6s} {kind:6s} {out['peak_mb']:8.1f} "
                    f"{out['peak_mb'] * 2**20 / expanded:9.2f} {out['kept_mb']:8.1f} "
                    f"{out['seconds']:6.2f} {result}"
                )
    for file in folder.iterdir():
        file.unlink()
    folder.rmdir()


if __name__ == "__main__":
    main()
