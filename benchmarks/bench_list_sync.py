"""List sync speed and memory: the SDK against an lxml baseline and plain zeep, in one run.

Seeds the fake KashFlow with 20,000 suppliers, 20,000 customers and 1,000 nominal codes, then
times, interleaved round by round so machine noise hits all three alike:

* ``sdk``: a full sync of every list through KashFlowClient into an empty MemoryStorage (fetch,
  parse, build the models, store: the first sync);
* ``sdk-again``: the same full sync into the storage the previous one filled: the steady state
  of a refresh, where every item is compared with what is stored (the diff);
* ``lxml``: the baseline: fetch the same nine responses and turn every item into a dict of all
  its fields with lxml;
* ``zeep``: fetch the same responses through zeep's generic deserializer.

Peak memory is measured per mode in a fresh subprocess that holds no fake, only the recorded
response bodies served by an ``httpx.MockTransport``: the growth of ``ru_maxrss`` over the run
(lxml allocates outside Python's tracemalloc, so tracemalloc would miss most of it).

Run: ``python benchmarks/bench_list_sync.py [--rounds 5] [--suppliers 20000] [--no-memory]``
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import httpx
from _memory import RssSampler
from lxml import etree

import kashflow_sync as kfs
from kashflow_sync._account.items import LIST_NAMES
from kashflow_sync._engine.listsync import sync_lists
from kashflow_sync.soap._listparse import LIST_SPECS
from kashflow_sync.soap.codec import zeep_reply
from kashflow_sync.soap.transport import shared_zeep_client
from kashflow_sync.testing import FakeKashFlow

NS = "{KashFlow}"
SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"


class Target:
    """Where to sync from: the fake itself, or its recorded answers (memory runs)."""

    def __init__(self, url: str, credentials: kfs.Credentials) -> None:
        self.url = url
        self.credentials = credentials


def make_fake(suppliers: int, customers: int, nominals: int) -> FakeKashFlow:
    fake = FakeKashFlow(seed="demo")
    fake.seed_bulk(suppliers=suppliers, customers=customers, nominal_codes=nominals)
    fake.allow_ip("127.0.0.1", "benchmark")
    return fake


def run_sdk(fake: Target, http: httpx.Client, storage: kfs.MemoryStorage | None = None) -> int:
    """One full sync of every list into *storage* (a new, empty one by default)."""
    client = kfs.KashFlowClient(
        fake.credentials,
        endpoint=fake.url,
        http_client=http,
        storage=storage or kfs.MemoryStorage(),
        connection_id="bench",
    )
    report = client._driver.run(sync_lists(client._sync_settings(), incremental=False))
    return sum(c.total for c in report.lists.values())


def _bodies(fake: Target) -> list[tuple[str, bytes]]:
    """The nine list requests as bytes, built once (the baseline does not pay for zeep)."""
    zeep_client = shared_zeep_client()
    out = []
    for name in LIST_NAMES:
        spec = LIST_SPECS[name]
        env = zeep_client.create_message(
            zeep_client.service,
            spec.operation,
            UserName=fake.credentials.username,
            Password=fake.credentials.password,
            **spec.params,
        )
        out.append((spec.operation, etree.tostring(env)))
    return out


def run_lxml(fake: Target, http: httpx.Client, bodies: list[tuple[str, bytes]]) -> int:
    count = 0
    ns_len = len(NS)
    for op, body in bodies:
        response = http.post(
            fake.url,
            content=body,
            headers={"SOAPAction": f'"KashFlow/{op}"', "Content-Type": "text/xml; charset=utf-8"},
        )
        root = etree.fromstring(response.content)
        result = root.find(f"{SOAP}Body/{NS}{op}Response/{NS}{op}Result")
        rows = [{c.tag[ns_len:]: c.text for c in item} for item in result]  # type: ignore[union-attr]
        count += len(rows)
    return count


def run_zeep(fake: Target, http: httpx.Client, bodies: list[tuple[str, bytes]]) -> int:
    """The same nine calls, each answer read by zeep's generic deserializer."""
    count = 0
    for op, body in bodies:
        response = http.post(
            fake.url,
            content=body,
            headers={"SOAPAction": f'"KashFlow/{op}"', "Content-Type": "text/xml; charset=utf-8"},
        )
        answer = etree.fromstring(response.content).find(f"{SOAP}Body/{NS}{op}Response")
        result = zeep_reply(op, answer).get(f"{op}Result")
        spec = next(s for s in LIST_SPECS.values() if s.operation == op)
        items = (result or {}).get(spec.item) or []
        count += len(items)
    return count


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    gc.collect()
    start = time.perf_counter()
    n = fn()
    return time.perf_counter() - start, n


def record_answers(fake: FakeKashFlow, http: httpx.Client, path: str) -> None:
    """Save the nine list answers so memory runs need no fake in their process."""
    answers = {}
    for op, body in _bodies(fake):
        headers = {"SOAPAction": f'"KashFlow/{op}"', "Content-Type": "text/xml; charset=utf-8"}
        answers[op] = http.post(fake.url, content=body, headers=headers).content
    with open(path, "wb") as fh:
        pickle.dump(answers, fh)


def memory_child(mode: str, path: str) -> None:
    with open(path, "rb") as fh:
        answers: dict[str, bytes] = pickle.load(fh)

    def handler(request: httpx.Request) -> httpx.Response:
        op = request.headers["SOAPAction"].strip('"').rpartition("/")[2]
        return httpx.Response(200, content=answers[op], headers={"Content-Type": "text/xml"})

    fake = Target("http://recorded/api/service.asmx", kfs.Credentials("bench", "bench"))
    http = httpx.Client(transport=httpx.MockTransport(handler))
    bodies = _bodies(fake)
    shared_zeep_client()
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand freed set-up memory back first
    sampler = RssSampler()
    with sampler:
        if mode == "sdk":
            run_sdk(fake, http)
        elif mode == "lxml":
            run_lxml(fake, http, bodies)
        else:
            run_zeep(fake, http, bodies)
    print(json.dumps({"mode": mode, "peak_growth_mb": sampler.growth_mb}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--suppliers", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--nominals", type=int, default=1_000)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--memory-child", choices=["sdk", "lxml", "zeep"])
    parser.add_argument("--answers")
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.answers)
        return

    fake = make_fake(args.suppliers, args.customers, args.nominals)
    http = httpx.Client(transport=fake.transport())
    bodies = _bodies(fake)
    run_lxml(fake, http, bodies)  # warm the fake's render caches and the zeep client
    modes = ("lxml", "sdk", "sdk-again", "zeep")
    times: dict[str, list[float]] = {m: [] for m in modes}
    counts: dict[str, set[int]] = {m: set() for m in modes}
    populated = kfs.MemoryStorage()
    run_sdk(fake, http, populated)  # the storage the steady-state runs refresh
    for _ in range(args.rounds):
        for mode, fn in (
            ("lxml", lambda: run_lxml(fake, http, bodies)),
            ("sdk", lambda: run_sdk(fake, http)),
            ("sdk-again", lambda: run_sdk(fake, http, populated)),
            ("zeep", lambda: run_zeep(fake, http, bodies)),
        ):
            seconds, n = timed(fn)
            times[mode].append(seconds)
            counts[mode].add(n)
    med = {m: statistics.median(t) for m, t in times.items()}
    # Every mode must have read the same items, or the comparison means nothing.
    assert len({n for c in counts.values() for n in c}) == 1, counts
    (items,) = counts["sdk"]
    print(
        f"items per sync: {items} in every mode "
        f"({args.suppliers} suppliers, {args.customers} customers, {args.nominals} nominals)"
    )
    for mode in modes:
        spread = f"{min(times[mode]):.3f}-{max(times[mode]):.3f}"
        print(f"{mode:9s} median {med[mode]:.3f} s  (range {spread}, {args.rounds} rounds)")
    print(f"ratio sdk/lxml       = {med['sdk'] / med['lxml']:.2f}  (first sync; target <= 1.0)")
    print(f"ratio sdk-again/lxml = {med['sdk-again'] / med['lxml']:.2f}  (refresh, with the diff)")
    print(f"ratio zeep/lxml      = {med['zeep'] / med['lxml']:.2f}")
    print(f"ratio zeep/sdk       = {med['zeep'] / med['sdk']:.2f}")
    if not args.no_memory:
        answers = os.path.join(tempfile.mkdtemp(), "answers.pickle")
        record_answers(fake, http, answers)
        for mode in ("lxml", "sdk", "zeep"):
            out = subprocess.run(
                [sys.executable, __file__, "--memory-child", mode, "--answers", answers],
                capture_output=True,
                text=True,
                check=True,
            )
            data = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"peak memory growth {mode:5s}: {data['peak_growth_mb']:.1f} MB")


if __name__ == "__main__":
    main()
