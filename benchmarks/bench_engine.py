"""The engine refactor, measured: async scaling, and what each sync publish costs before and after.

1. Scaling: the fake KashFlow in a process of its own (so it does not share the benchmark's
   GIL), 20 ms added to every call. ``publish_many`` of receipts with an attachment and a
   payment, by ``AsyncKashFlowClient`` from one event loop and by ``KashFlowClient`` on threads,
   at concurrency 1, 4, 8 and 16; each level repeated, medians. The issue's bar: async at 8 reaches
   at least 6x async at 1.
2. Cost per publish, before vs after: one publish of a receipt with attachment and payment
   by the sync client, timed in the client's process only (CPU seconds, ``time.process_time``;
   wall too), the fake again in a process of its own, KashFlow calls per publish counted by it.
   The same worker runs against the current source tree and against a baseline commit
   (default: the one before the engine), alternating, in one run. The two trees do not make
   the same calls by default: the new one keeps a contact's documents for the duplicate check
   (``ledger_cache_ttl``, 2 minutes), the old one looks them up before every publish. So the
   new tree runs twice: with the cache off (``ledger_cache_ttl=0``: the old tree's calls, the
   like-for-like ratio) and with its defaults (the ratio a user upgrading sees).

Run: ``python benchmarks/bench_engine.py [--docs 48] [--repeat 3] [--rounds 80] [--runs 4]
[--baseline 2faa9cf] [--after REF]``. ``--skip-scaling`` or ``--skip-cost`` run one half.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from _receipt import RECEIPT

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------- the fake, out of process


@contextlib.contextmanager
def fake_process() -> Iterator[dict[str, str]]:
    """``kashflow-sync fake serve`` in a subprocess; yields its URLs, credentials and pid."""
    command = [
        sys.executable,
        "-c",
        "import sys; from kashflow_sync.cli import main; sys.exit(main())",
        "fake",
        "serve",
        "--json",
        "--password",
        "bench-password",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout is not None
        details: dict[str, str] = json.loads(proc.stdout.readline())
        details["pid"] = str(proc.pid)
        yield details
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def control(details: dict[str, str], method: str, path: str, body: Any = None) -> Any:
    """Call the fake's JSON control API."""
    url = details["control"].rstrip("/") + path
    response = httpx.request(method, url, json=body, timeout=30)
    response.raise_for_status()
    return response.json() if response.content else None


def document(i: int, prefix: str, supplier: str = "Acme Paper Ltd") -> Any:
    """A two-line receipt with an attachment and a payment (the benchmarks' standard one)."""
    import kashflow_sync as kfs

    return kfs.PurchaseInvoice(
        external_id=f"{prefix}-{i}",
        supplier=supplier,
        reference=f"{prefix}-{i}",
        issue_date=date(2026, 11, 2),
        lines=[
            kfs.Line(
                description="Paper", net=Decimal("100.00"), vat_rate=Decimal("20"), category=7500
            ),
            kfs.Line(
                description="Train", net=Decimal("12.50"), vat_rate=Decimal("0"), category=7400
            ),
        ],
        attachment=kfs.Attachment("inv.pdf", b"%PDF-1.4 x" * 100, "application/pdf"),
        payment=kfs.Payment(method="Credit card", bank_account=1200),
    )


# ---------------------------------------------------------------------- 1. scaling


def _credentials(details: dict[str, str]) -> Any:
    import kashflow_sync as kfs

    return kfs.Credentials(details["username"], details["password"], details["autoauth_key"])


def _no_wait() -> Any:
    from kashflow_sync import RetryPolicy

    return RetryPolicy.no_wait()


async def _async_batch(details: dict[str, str], docs: list[Any], concurrency: int) -> float:
    import kashflow_sync as kfs

    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    async with (
        httpx.AsyncClient(timeout=30, limits=limits) as http,
        kfs.AsyncKashFlowClient(
            _credentials(details), endpoint=details["url"], http_client=http, retry=_no_wait()
        ) as client,
    ):
        await client.connect()
        start = time.perf_counter()
        batch = await client.publish_many(docs, concurrency=concurrency)
        seconds = time.perf_counter() - start
    assert not batch.failed, batch.failed[0].error
    return seconds


def _sync_batch(details: dict[str, str], docs: list[Any], concurrency: int) -> float:
    import kashflow_sync as kfs

    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    with (
        httpx.Client(timeout=30, limits=limits) as http,
        kfs.KashFlowClient(
            _credentials(details), endpoint=details["url"], http_client=http, retry=_no_wait()
        ) as client,
    ):
        client.connect()
        start = time.perf_counter()
        batch = client.publish_many(docs, concurrency=concurrency)
        seconds = time.perf_counter() - start
    assert not batch.failed, batch.failed[0].error
    return seconds


def scaling(n_docs: int, repeat: int, latency: float) -> None:
    levels = (1, 4, 8, 16)
    print(
        f"1. publish_many throughput: fake in its own process, {latency * 1000:.0f} ms per call, "
        f"{n_docs} receipts with attachment and payment, {repeat} runs per level (medians)"
    )
    rates: dict[tuple[str, int], list[float]] = {}
    # Seconds this process's threads spent runnable but waiting for a CPU, per second of the
    # batch: on a shared machine, a busy run queue caps the scaling whatever the code does.
    waits: dict[tuple[str, int], list[float]] = {}
    calls_per_doc: list[float] = []
    with fake_process() as details:
        for run in range(repeat):
            for kind in ("async", "sync"):
                for concurrency in levels:
                    # A fresh account each time: every batch starts from the same empty ledger.
                    control(details, "POST", "/reset", {"seed": "demo"})
                    control(
                        details,
                        "POST",
                        "/faults",
                        {"kind": "delay", "seconds": latency, "times": None},
                    )
                    docs = [document(i, f"{kind}{concurrency}r{run}") for i in range(n_docs)]
                    waited = _cpu_wait()
                    if kind == "async":
                        seconds = asyncio.run(_async_batch(details, docs, concurrency))
                    else:
                        seconds = _sync_batch(details, docs, concurrency)
                    waits.setdefault((kind, concurrency), []).append(
                        (_cpu_wait() - waited) / seconds
                    )
                    rates.setdefault((kind, concurrency), []).append(n_docs / seconds)
                    calls = control(details, "GET", "/calls")
                    published = [c for c in calls if c["operation"] == "InsertReceipt"]
                    calls_per_doc.append(
                        sum(1 for c in calls if c["operation"] not in _CONNECT_OPS) / len(published)
                    )
    for kind in ("async", "sync"):
        base = statistics.median(rates[(kind, 1)])
        cells = []
        for concurrency in levels:
            median = statistics.median(rates[(kind, concurrency)])
            cells.append(f"c={concurrency}: {median:6.1f}/s ({median / base:4.1f}x)")
        print(f"  {kind:5s} " + "  ".join(cells))
        waited = "  ".join(f"c={c}: {statistics.median(waits[(kind, c)]):4.2f}" for c in levels)
        print(f"  {kind:5s} waiting for a CPU (s per s, run queue): {waited}")
    print(f"  KashFlow calls per document: {statistics.median(calls_per_doc):.1f}")


def _cpu_wait() -> float:
    """Seconds this process's threads have spent runnable, waiting for a CPU (Linux schedstat)."""
    total = 0
    for task in Path("/proc/self/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):  # gone meanwhile, or no schedstat
            continue
    return total / 1e9


#: Calls made by connect() (AutoAuth and the nine lists), not by publishing.
_CONNECT_OPS = {
    "AutoAuthIP",
    "GetCurrencies",
    "GetNominalCodesExtended",
    "GetSuppliers",
    "GetCustomers",
    "GetProjects_Full",
    "GetRecPayMethods",
    "GetInvPayMethods",
    "GetBankAccounts",
    "GetVATRates",
}


# ---------------------------------------------------------------------- 2. cost, before vs after

_WORKER = (
    r"""
import json, statistics, sys, time
from datetime import date, timedelta
from decimal import Decimal

import httpx
import kashflow_sync as kfs
from kashflow_sync import RetryPolicy

"""
    + RECEIPT
    + r"""
url, user, password, key, rounds, prefix, options = sys.argv[1:8]
creds = kfs.Credentials(user, password, key)
# A baseline tree may predate RetryPolicy.no_wait(): the same policy, spelt out.
retry = (RetryPolicy.no_wait() if hasattr(RetryPolicy, "no_wait")
         else RetryPolicy(max_retries=3, initial=0.0, cap=0.0, sleep=lambda _s: None))
settings = {name: timedelta(seconds=value) for name, value in json.loads(options).items()}
# Storage round trips: every Storage method call the client makes, counted on the instance.
storage = kfs.MemoryStorage()
storage_calls = [0]
for method in [m for m in dir(storage) if not m.startswith("_") and callable(getattr(storage, m))]:
    def counted(*args, _call=getattr(storage, method), **kwargs):
        storage_calls[0] += 1
        return _call(*args, **kwargs)
    setattr(storage, method, counted)
with httpx.Client(timeout=30) as http, kfs.KashFlowClient(
    creds, endpoint=url, http_client=http, retry=retry, storage=storage, **settings
) as client:
    client.connect()
    before_publishing = storage_calls[0]
    cpu, wall = [], []
    for i in range(int(rounds)):
        doc = receipt(f"{prefix}-{i}")
        c0, w0 = time.process_time(), time.perf_counter()
        client.publish(doc)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
print(json.dumps({"cpu": statistics.median(cpu), "wall": statistics.median(wall),
                  "storage_calls": (storage_calls[0] - before_publishing) / int(rounds),
                  "source": kfs.__file__}))
"""
)


def _tree(ref: str, into: Path) -> Path:
    """The ``src`` folder of commit *ref*, extracted into *into*."""
    archive = subprocess.run(
        ["git", "archive", ref, "src"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def _worker(
    src: Path, details: dict[str, str], rounds: int, prefix: str, options: dict[str, float]
) -> dict[str, Any]:
    """Run the cost worker on the source tree *src*; *options* are client durations in s."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _WORKER,
            details["url"],
            details["username"],
            details["password"],
            details["autoauth_key"],
            str(rounds),
            prefix,
            json.dumps(options),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["source"].startswith(str(src)), result["source"]
    return result


#: What is compared: the tree each runs on, and the client's settings.
_COST_RUNS = {
    "before": ("before", {}),
    "after, ledger cache off": ("after", {"ledger_cache_ttl": 0.0}),
    "after, defaults": ("after", {}),
}


def _calls_per_publish(details: dict[str, str]) -> float:
    calls = control(details, "GET", "/calls")
    publishing = [c for c in calls if c["operation"] not in _CONNECT_OPS]
    return len(publishing) / sum(1 for c in calls if c["operation"] == "InsertReceipt")


def cost(baseline: str, rounds: int, runs: int, after: str | None = None) -> None:
    print(
        f"2. sync publish cost in the client's process, before ({baseline}) vs after "
        f"({after or 'this tree'}): receipts with attachment and payment, {rounds} per run, "
        f"{runs} alternating runs each (medians of per-run medians). The after tree caches the "
        "duplicate check's ledger lookup by default; with the cache off it makes the calls of a "
        "before tree that predates the cache (2faa9cf, the default baseline)."
    )
    with (
        tempfile.TemporaryDirectory() as before_dir,
        tempfile.TemporaryDirectory() as after_dir,
        fake_process() as details,
    ):
        trees = {
            "before": _tree(baseline, Path(before_dir)),
            "after": _tree(after, Path(after_dir)) if after else ROOT / "src",
        }
        samples: dict[str, list[dict[str, Any]]] = {name: [] for name in _COST_RUNS}
        calls: dict[str, list[float]] = {name: [] for name in _COST_RUNS}
        names = list(_COST_RUNS)
        for run in range(runs):
            order = names if run % 2 == 0 else names[::-1]
            for name in order:
                tree, options = _COST_RUNS[name]
                control(details, "POST", "/reset", {"seed": "demo"})
                prefix = f"r{run}{names.index(name)}"
                samples[name].append(_worker(trees[tree], details, rounds, prefix, options))
                calls[name].append(_calls_per_publish(details))
    cpu = {n: statistics.median(s["cpu"] for s in v) * 1000 for n, v in samples.items()}
    wall = {n: statistics.median(s["wall"] for s in v) * 1000 for n, v in samples.items()}
    for name in names:
        print(
            f"  {name:24s}: {cpu[name]:5.2f} ms CPU, {wall[name]:5.2f} ms wall, "
            f"{statistics.median(calls[name]):.2f} KashFlow calls and "
            f"{statistics.median(s['storage_calls'] for s in samples[name]):.2f} storage calls "
            "per publish"
        )
    for name in names[1:]:
        print(
            f"  {name} / before: CPU {cpu[name] / cpu['before']:.2f}, "
            f"wall {wall[name] / wall['before']:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=48)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--rounds", type=int, default=80)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--baseline", default="2faa9cf")
    parser.add_argument("--after", default=None, help="a commit to compare (default: this tree)")
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--skip-cost", action="store_true")
    args = parser.parse_args()
    if not args.skip_scaling:
        scaling(args.docs, args.repeat, args.latency)
    if not args.skip_cost:
        cost(args.baseline, args.rounds, args.runs, args.after)


if __name__ == "__main__":
    main()
