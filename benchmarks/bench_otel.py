"""What OpenTelemetry costs a publish: absent, present with no provider, exporting to memory.

One receipt with an attachment and a payment per ``publish``, by the sync client, the fake
KashFlow in a process of its own (``kashflow-sync fake serve``) so only the client's work is
counted. Each mode runs in a fresh interpreter:

- ``before``: the source tree of the commit before the feature (``--baseline``), the same run;
- ``absent``: this tree with ``opentelemetry`` refused by the import system, as if it were not
  installed (the client must hold the do-nothing telemetry and import none of it);
- ``no provider``: this tree, ``opentelemetry-api`` importable, no provider set by the host
  (the API's no-op spans);
- ``memory``: this tree with an SDK ``TracerProvider`` (``SimpleSpanProcessor`` into an
  ``InMemorySpanExporter``) and ``MeterProvider`` (``InMemoryMetricReader``, read every 50
  publishes): every span exported as it ends.

Each of them once per storage (``--storage``, repeatable or a comma list; default: every one
that is available), since what a publish costs depends on where its journal goes:

- ``memory``: ``MemoryStorage`` (tests, notebooks, one-shot scripts);
- ``sqlite``: ``SQLStorage`` on a fresh SQLite file per worker (the CLI's default);
- ``postgresql``: ``SQLStorage`` on a fresh database per worker, created on the server of
  ``KASHFLOW_SYNC_TEST_PG`` (a SQLAlchemy URL; the user needs CREATEDB) and dropped after.
  Skipped, saying so, when the variable is unset or the server cannot be reached.

Every ratio is a mode's against ``before`` with the SAME storage, measured in the same run
(``/absent`` and ``memory/absent``: against ``absent``, same storage, same run).

**CPU time** (the default; ``--skip-cpu`` leaves it out). Per storage, one fake and four
workers side by side, each connected and warmed up (``--warmup``); the controller has them
publish in small chunks (``--chunk``), storage after storage and mode after mode, the order
rotated, ``--runs`` times, so that every mode meets the same load on a shared machine. Columns:

- ``CPU ms``: median CPU seconds of one ``publish`` in the client's process
  (``time.process_time``; building the document and taking the exported spans are outside
  the timing), over every publish;
- ``ratio``: that median over ``before``'s;
- ``paired`` and ``95% CI``: the median, over the runs, of (this mode's chunk median / the
  ``before`` chunk median of the same run), and a distribution-free 95% confidence interval
  of that median (order statistics); the verdicts use it, since the two chunks of a pair met
  the same load;
- ``wall ms``: median wall time of one publish (includes waiting on the fake and the database);
- ``KashFlow``, ``storage``: KashFlow round trips (counted as requests leave) and Storage
  method calls per publish; ``spans``: spans exported per publish; last, whether the worker
  imported ``opentelemetry`` and which telemetry class its client holds.

**Instructions** (``--instructions``). CPU time on a shared 2-core machine moves by more than
the 5% that is asked about; the instructions a publish executes do not. Each (storage, mode)
runs twice under ``valgrind --tool=callgrind``: ``--cg-warmup`` publishes then ``--n1``, and
the same warm-up then ``--n2``; instructions per publish = (I(n2) - I(n1)) / (n2 - n1), so
start-up, imports, ``connect`` and the warm-up cancel out. ``PYTHONHASHSEED=0``; both runs
build the same ``--n2`` documents before publishing (so building them cancels out too); a fresh
fake (not under valgrind) and a fresh journal (memory, file or database) per run; the client's
ledger cache lives an hour, so no lookup falls due at a time that depends on valgrind's speed;
no counting hooks on the storage or the HTTP client. Unlike the CPU timing, the count includes
the host's side of exporting: the spans taken from the exporter and cleared after each publish,
the metrics read every 50. Runs go ``--jobs`` at a time (2).

A count repeats to ~0.03% when nothing changes (valgrind lays a process out the same way each
time), but not when the layout does: CPython's type attribute cache (4096 slots, indexed by a
class's version tag and the attribute name's address) misses more or less often depending on
which classes and strings came before, so an unrelated import moves a count; on PostgreSQL
(SQLAlchemy's deep class hierarchies) by 1-2% of a publish. So each (storage, mode) is
measured in ``--layouts`` layouts (2): layout k makes ``k * 50`` empty classes and looks an
attribute up on each before anything else, which shifts every later version tag and address;
the table shows the mean over the layouts and their range. The ``--repeat`` mode (``absent``)
is measured once more, in the next layout. With two or more layouts the verdicts compare modes
layout by layout: a difference is measurable when it has the same sign, beyond 0.1%, in every
layout, and ``memory`` is under 5% when it is in every one; with one, "within noise" means
within twice the largest relative range of any mode on that storage, and at least 0.1%.
Columns: ``M instr`` (millions per publish, mean over the layouts), ``range`` (lowest and
highest layout, M), ``ratio`` to ``before``, ``overhead`` over ``before`` and ``/absent`` over
``absent`` in percent, ``spans`` exported per publish, and the import check as above. Skipped,
saying so, without valgrind.

**Verdicts**, last, per storage: whether ``absent`` is within noise of ``before`` (CPU: the
paired 95% CI holds 1.0) and whether ``memory`` is under 5% (CPU: the CI's upper end below
1.05; over when its lower end is above; otherwise undecided), by each measure that ran; and
``memory`` against ``absent`` too (the ``/absent`` column of the instructions table). The
baseline differs from this tree in more than telemetry: the branches merged after it
(``contacts``, ``saas``, ``storage`` with its one transaction per publish step, ``wait``)
changed the publish path as well, so ``absent/before`` shows their effect too (on SQLite and
PostgreSQL a publish got cheaper), and ``memory/absent`` (one tree, telemetry off against
exporting) is what exporting itself costs; the verdicts say so when ``absent`` is the cheaper.
``--tree REV`` runs the three other modes on commit REV's tree instead of the working tree:
``--baseline 4333a77^ --tree 4333a77`` compares the merge that brought telemetry with its first
parent, which differ by telemetry alone, so ``absent/before`` there is what the do-nothing
telemetry costs.

Run: ``python benchmarks/bench_otel.py [--runs 60] [--chunk 10] [--baseline a515b8e] [--tree REV]
[--storage memory,sqlite,postgresql] [--instructions [--skip-cpu] [--n1 20] [--n2 120]
[--layouts 2]]``. Times on the shared 2-core machine, three storages: the CPU part ~130 s at
``--runs 40`` (about 3 s a run); the instructions part took ~29 min for 30 callgrind runs (one
layout), 2 at a time, while other callgrind runs shared the machine; the default two layouts
make 54 runs, about twice that. Keep ``--n2 - --n1`` a multiple of 50, so
that the metrics reads (every 50 publishes) fall into the difference as often as in use; a
shorter pair, ``--n1 10 --n2 60``, is quicker (each run is mostly start-up).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _callgrind import callgrind
from _receipt import RECEIPT
from bench_engine import ROOT, _tree, fake_process

#: The commit before traces and metrics landed.
DEFAULT_BASELINE = "a515b8e"

MODES = ("before", "absent", "no provider", "memory")
STORAGES = ("memory", "sqlite", "postgresql")
PG_ENV = "KASHFLOW_SYNC_TEST_PG"

#: The bar of issue 24: exporting costs under 5% of a publish.
BAR = 1.05

# The worker: one mode on one storage. Its configuration is one JSON argument. Without
# "publish" it waits on stdin for chunk sizes and answers each with a JSON line of timings;
# with it, it publishes that many (after the warm-up), prints one JSON line and ends (the
# callgrind runs, where nothing but the publishes should differ between two runs).
_WORKER = (
    r"""
import json, sys, time

config = json.loads(sys.argv[1])
# The layout (--layouts): classes made and looked up before anything else shift the version tags
# and addresses of all that follows, and so which type attribute cache slots collide.
layout = [type(f"Layout{i}", (), {}) for i in range(config.get("layout", 0))]
for cls in layout:
    getattr(cls, "x", None)
mode = config["mode"]
if mode == "absent":
    import importlib.abc

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] == "opentelemetry":
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Refuse())
from datetime import date, timedelta
from decimal import Decimal

import httpx
import kashflow_sync as kfs
from kashflow_sync import RetryPolicy

providers, exporter, reader = {}, None, None
if mode == "memory":
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    providers = {"tracer_provider": tracer_provider,
                 "meter_provider": MeterProvider(metric_readers=[reader])}
options = {}
if config.get("timeout"):
    options["timeout"] = config["timeout"]
if config.get("ledger_cache_ttl"):
    options["ledger_cache_ttl"] = timedelta(seconds=config["ledger_cache_ttl"])
creds = kfs.Credentials(config["username"], config["password"], config["autoauth_key"])
if config["storage"] == "memory":
    storage = kfs.MemoryStorage()
else:
    storage = kfs.SQLStorage(config["storage"])
counting = config.get("publish") is None
storage_calls = [0]
if counting:
    for method in [m for m in dir(storage)
                   if not m.startswith("_") and callable(getattr(storage, m))]:
        def counted(*args, _call=getattr(storage, method), **kwargs):
            storage_calls[0] += 1
            return _call(*args, **kwargs)
        setattr(storage, method, counted)


"""
    + RECEIPT
    + r"""


# KashFlow round trips, counted as they leave (the same small cost in every mode).
sent = [0]


def count(_request):
    sent[0] += 1


hooks = {"request": [count]} if counting else {}
prefix = config["prefix"]
done = 0


def handed_over():
    # The spans the last publish exported, cleared as a host's exporter would send them on;
    # the metrics read every 50 publishes.
    global done
    spans = 0
    if exporter is not None:
        spans = len(exporter.get_finished_spans())
        exporter.clear()
        if done % 50 == 49:
            reader.get_metrics_data()
    done += 1
    return spans


def report(client, **numbers):
    telemetry = getattr(client, "_telemetry", None)
    print(json.dumps({
        **numbers, "source": kfs.__file__,
        "telemetry": type(telemetry).__name__ if telemetry is not None else None,
        "otel_imported": any(m.split(".")[0] == "opentelemetry" for m in sys.modules),
    }), flush=True)


try:
    with httpx.Client(timeout=config.get("timeout") or 30, event_hooks=hooks) as http, \
            kfs.KashFlowClient(creds, endpoint=config["url"], http_client=http,
                               retry=RetryPolicy.no_wait(), storage=storage, **providers,
                               **options) as client:
        client.connect()
        for i in range(config["warmup"]):
            client.publish(receipt(f"{prefix}--{i}"))
        if exporter is not None:
            exporter.clear()  # the connect's and the warm-up's spans are not counted
        if not counting:
            docs = [receipt(f"{prefix}-{i}") for i in range(config["build"])]
            spans = 0
            for doc in docs[:config["publish"]]:
                client.publish(doc)
                spans += handed_over()
            report(client, spans=spans / max(config["publish"], 1))
            sys.exit(0)
        # The controller says how many to publish next; each chunk's times go back as one line.
        for line in sys.stdin:
            if line.strip() == "stop":
                break
            calls_before, storage_before = sent[0], storage_calls[0]
            cpu, wall, spans = [], [], 0
            for i in range(done, done + int(line)):
                doc = receipt(f"{prefix}-{i}")
                c0, w0 = time.process_time(), time.perf_counter()
                client.publish(doc)
                cpu.append(time.process_time() - c0)
                wall.append(time.perf_counter() - w0)
                spans += handed_over()
            report(client, cpu=cpu, wall=wall,
                   kashflow_calls=(sent[0] - calls_before) / len(cpu),
                   storage_calls=(storage_calls[0] - storage_before) / len(cpu),
                   spans=spans / len(cpu))
finally:
    storage.close()
"""
)


# ---------------------------------------------------------------------- storages


class Journals:
    """Fresh journals for the workers: a SQLite file each, or a PostgreSQL database each."""

    def __init__(self, folder: Path, pg_url: str | None) -> None:
        self._folder = folder
        self._pg_url = pg_url
        self._names = itertools.count()

    @contextlib.contextmanager
    def fresh(self, storage: str) -> Iterator[str]:
        """The ``storage`` argument of a worker: ``memory``, or a new, empty database's URL."""
        name = f"kf_bench_otel_{os.getpid()}_{next(self._names)}"
        if storage == "memory":
            yield "memory"
        elif storage == "sqlite":
            path = self._folder / f"{name}.db"
            try:
                yield f"sqlite:///{path}"
            finally:
                path.unlink(missing_ok=True)
        else:
            assert self._pg_url is not None
            with self._admin() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            try:
                yield self._database_url(name)
            finally:
                with self._admin() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @contextlib.contextmanager
    def _admin(self) -> Iterator[Any]:
        import sqlalchemy as sa

        assert self._pg_url is not None
        engine = sa.create_engine(
            self._pg_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
        )
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()

    def _database_url(self, name: str) -> str:
        import sqlalchemy as sa

        assert self._pg_url is not None
        return sa.make_url(self._pg_url).set(database=name).render_as_string(hide_password=False)


def choose_storages(asked: list[str] | None) -> tuple[list[str], str | None]:
    """The storages to measure (asked, or all) and PostgreSQL's URL; says what is skipped."""
    wanted = [s.strip() for item in asked or [",".join(STORAGES)] for s in item.split(",")]
    unknown = sorted(set(wanted) - set(STORAGES))
    if unknown:
        raise SystemExit(f"unknown storage {', '.join(unknown)}: choose from {STORAGES}")
    storages = [s for s in STORAGES if s in wanted]
    pg_url = os.environ.get(PG_ENV)
    if "postgresql" in storages:
        reason = None
        if not pg_url:
            reason = f"{PG_ENV} is not set (a SQLAlchemy URL of a server it may create DBs on)"
        else:
            try:
                import sqlalchemy as sa

                engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
                with engine.connect() as conn:
                    conn.exec_driver_sql("SELECT 1")
                engine.dispose()
            except Exception as error:  # any failure means: skip, saying why
                reason = f"cannot reach {PG_ENV}'s server ({type(error).__name__})"
        if reason:
            print(f"SKIPPED storage postgresql: {reason}", flush=True)
            storages.remove("postgresql")
    if not storages:
        raise SystemExit("no storage left to measure")
    return storages, pg_url


def _worker_config(
    details: dict[str, str], storage: str, mode: str, journal: str
) -> dict[str, Any]:
    return {
        "url": details["url"],
        "username": details["username"],
        "password": details["password"],
        "autoauth_key": details["autoauth_key"],
        "storage": journal,
        "mode": mode,
        "prefix": f"{storage}-{mode.replace(' ', '')}",
    }


# ---------------------------------------------------------------------- CPU time


class Worker:
    """One (storage, mode) worker process, publishing a chunk of documents at each :meth:`chunk`."""

    def __init__(self, src: Path, config: dict[str, Any]) -> None:
        self.mode: str = config["mode"]
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER, json.dumps(config)],
            env={**os.environ, "PYTHONPATH": str(src)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.src = src

    def chunk(self, count: int) -> dict[str, Any]:
        """Publish *count* documents; their CPU and wall times, round trips and spans."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{count}\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the {self.mode} worker failed (exit {self.proc.wait()})")
        result: dict[str, Any] = json.loads(line)
        assert result["source"].startswith(str(self.src)), result["source"]
        return result

    def stop(self) -> None:
        """Let the worker finish (or end it, if it cannot be told)."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write("stop\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


Chunks = dict[str, dict[str, list[dict[str, Any]]]]


@dataclasses.dataclass(frozen=True)
class Trees:
    """The source trees the modes run: ``before``'s, and the others' (``--tree``, else ROOT)."""

    before: Path
    this: Path

    def of(self, mode: str) -> Path:
        """The ``src`` folder *mode* imports the SDK from."""
        return self.before if mode == "before" else self.this


def measure_cpu(
    args: argparse.Namespace, storages: list[str], trees: Trees, journals: Journals
) -> Chunks:
    """Every (storage, mode) worker's chunks: ``--runs`` of them, interleaved."""
    results: Chunks = {s: {m: [] for m in MODES} for s in storages}
    with contextlib.ExitStack() as stack:
        workers: dict[str, list[Worker]] = {}
        for storage in storages:
            details = stack.enter_context(fake_process())
            workers[storage] = []
            for mode in MODES:
                journal = stack.enter_context(journals.fresh(storage))
                config = _worker_config(details, storage, mode, journal)
                config["warmup"] = args.warmup
                worker = Worker(trees.of(mode), config)
                stack.callback(worker.stop)  # stopped before its journal is dropped
                workers[storage].append(worker)
        # Small chunks, storages and modes alternating (order rotated): each meets the same load.
        for run in range(args.runs):
            for storage in storages:
                at = run % len(MODES)
                for worker in workers[storage][at:] + workers[storage][:at]:
                    results[storage][worker.mode].append(worker.chunk(args.chunk))
    return results


def median_ci(values: list[float], level: float = 0.95) -> tuple[float, float]:
    """A distribution-free confidence interval of the median of *values* (order statistics).

    The median lies between the k-th smallest and the k-th largest value with probability
    1 - 2 P(Binomial(n, 1/2) < k); k is the largest for which that is at least *level*.
    """
    ordered = sorted(values)
    n = len(ordered)
    k, below = 0, 0.0
    while k < n // 2:
        below += math.comb(n, k) / 2**n  # P(Binomial(n, 1/2) <= k)
        if 1 - 2 * below < level:
            break
        k += 1
    k = max(k, 1)
    return ordered[k - 1], ordered[n - k]


def paired(
    results: dict[str, list[dict[str, Any]]], mode: str, against: str = "before"
) -> list[float]:
    """Per run: *mode*'s chunk median over *against*'s chunk median of the same run."""
    return [
        statistics.median(m["cpu"]) / statistics.median(b["cpu"])
        for m, b in zip(results[mode], results[against], strict=True)
    ]


def print_cpu(args: argparse.Namespace, results: Chunks) -> None:
    """The CPU table, one block per storage."""
    print(
        f"\nCPU per publish (receipt with attachment and payment), client process only; "
        f"{args.runs} chunks x {args.chunk} publishes per mode and storage, alternating, "
        f"medians; baseline {args.baseline}, other modes on {args.tree or 'the working tree'}"
    )
    print(
        f"  {'storage':<10} {'mode':<12} {'CPU ms':>7} {'ratio':>6} {'paired':>7} "
        f"{'95% CI':>13} {'wall ms':>8} {'KashFlow':>9} {'storage':>8} {'spans':>6}"
        f"  imported opentelemetry"
    )
    for storage, by_mode in results.items():
        cpu_of = {m: [t for r in by_mode[m] for t in r["cpu"]] for m in MODES}
        base = statistics.median(cpu_of["before"])
        for mode in MODES:
            rows = by_mode[mode]
            cpu = statistics.median(cpu_of[mode])
            wall = statistics.median(t for r in rows for t in r["wall"])
            pairs = paired(by_mode, mode)
            low, high = median_ci(pairs)
            print(
                f"  {storage:<10} {mode:<12} {cpu * 1000:7.3f} {cpu / base:6.3f} "
                f"{statistics.median(pairs):7.3f} {f'{low:.3f}..{high:.3f}':>13} "
                f"{wall * 1000:8.3f} "
                f"{statistics.median(r['kashflow_calls'] for r in rows):9.1f} "
                f"{statistics.median(r['storage_calls'] for r in rows):8.1f} "
                f"{statistics.median(r['spans'] for r in rows):6.1f}  "
                f"{rows[0]['otel_imported']} ({rows[0]['telemetry']})"
            )
        chunks = [statistics.median(r["cpu"]) * 1000 for r in by_mode["before"]]
        print(
            f"  {storage:<10} 'before' chunk medians range (ms): "
            f"{min(chunks):.3f} .. {max(chunks):.3f}"
        )


# ---------------------------------------------------------------------- instructions


Counts = dict[tuple[str, str, int], dict[str, Any]]


#: Classes made before anything else per layout number (see ``--layouts``).
LAYOUT_STEP = 50


def _callgrind(
    src: Path,
    journals: Journals,
    storage: str,
    mode: str,
    args: argparse.Namespace,
    n: int,
    layout: int = 0,
) -> tuple[int, dict[str, Any]]:
    """Instructions of one worker run publishing *n* after the warm-up; its report line."""
    started = time.perf_counter()
    with fake_process() as details, journals.fresh(storage) as journal:
        config = _worker_config(details, storage, mode, journal)
        config |= {
            "warmup": args.cg_warmup,
            "publish": n,
            "build": args.n2,
            "timeout": 120,
            "ledger_cache_ttl": 3600,
            "layout": layout * LAYOUT_STEP,
        }
        instructions, stdout = callgrind(
            _WORKER,
            json.dumps(config),
            env={"PYTHONPATH": str(src)},
            what=f"{storage}/{mode}",
        )
    report: dict[str, Any] = json.loads(stdout.splitlines()[-1])
    assert report["source"].startswith(str(src)), report["source"]
    # Progress on stderr: a full run takes a while, and what is done survives an interruption.
    print(
        f"  (callgrind {storage}/{mode}, layout {layout}, {n} publishes: {instructions} "
        f"instructions, "
        f"{time.perf_counter() - started:.0f} s)",
        file=sys.stderr,
        flush=True,
    )
    return instructions, report


def measure_instructions(
    args: argparse.Namespace, storages: list[str], trees: Trees, journals: Journals
) -> Counts:
    """Instructions per publish of every (storage, mode, layout)."""
    jobs = [(s, m, k) for k in range(args.layouts) for s in storages for m in MODES]
    if args.repeat != "none":
        jobs += [(s, args.repeat, args.layouts) for s in storages]
    pool = ThreadPoolExecutor(args.jobs)
    try:
        runs = {
            (job, n): pool.submit(
                _callgrind,
                trees.of(job[1]),
                journals,
                *job[:2],
                args,
                n,
                job[2],
            )
            for job in jobs
            for n in (args.n1, args.n2)
        }
        counts: Counts = {}
        for job in jobs:
            (low, _), (high, report) = runs[job, args.n1].result(), runs[job, args.n2].result()
            counts[job] = {**report, "per_publish": (high - low) / (args.n2 - args.n1)}
    finally:
        pool.shutdown(cancel_futures=True)  # after a failure: the runs not started yet are not
    return counts


def layouts_of(counts: Counts, storage: str, mode: str) -> list[float]:
    """*mode*'s instructions per publish on *storage*, one per layout it was measured in."""
    return [
        float(c["per_publish"])
        for (s, m, _), c in sorted(counts.items())
        if (s, m) == (storage, mode)
    ]


def mean_of(counts: Counts, storage: str, mode: str, layouts: int) -> float:
    """*mode*'s mean over the ``--layouts`` layouts (not the ``--repeat`` one)."""
    return statistics.mean(float(counts[storage, mode, k]["per_publish"]) for k in range(layouts))


def min_max_ratio(
    counts: Counts, storage: str, mode: str, against: str, layouts: int
) -> tuple[float, float]:
    """The lowest and highest of *mode* / *against* on *storage*, layout by layout."""
    ratios = [
        counts[storage, mode, k]["per_publish"] / counts[storage, against, k]["per_publish"]
        for k in range(layouts)
    ]
    return min(ratios), max(ratios)


def repeatability(counts: Counts) -> dict[str, float]:
    """Per storage: the largest relative range (max - min over mean) of a mode's layouts."""
    spread: dict[str, float] = {}
    for storage, mode, _ in counts:
        values = layouts_of(counts, storage, mode)
        if len(values) > 1:
            rel = (max(values) - min(values)) / statistics.mean(values)
            spread[storage] = max(spread.get(storage, 0.0), rel)
    return spread


def instruction_noise(spread: dict[str, float], storage: str) -> float:
    """What "within noise" allows on *storage*: twice the measured spread, at least 0.1%."""
    return max(2 * spread.get(storage, max(spread.values(), default=0.0)), 0.001)


def print_instructions(args: argparse.Namespace, storages: list[str], counts: Counts) -> None:
    """The instructions table, and how far the repeated measurement agreed."""
    print(
        f"\nInstructions per publish under callgrind: (I({args.n2}) - I({args.n1})) / "
        f"{args.n2 - args.n1}, after {args.cg_warmup} warm-up publishes; PYTHONHASHSEED=0; "
        f"mean over {args.layouts} layout(s); "
        f"baseline {args.baseline}, other modes on {args.tree or 'the working tree'}"
    )
    print(
        f"  {'storage':<10} {'mode':<12} {'M instr':>9} {'range':>17} {'ratio':>7} "
        f"{'overhead':>9} {'/absent':>8} {'spans':>6}  imported opentelemetry"
    )
    for storage in storages:
        base = mean_of(counts, storage, "before", args.layouts)
        absent = mean_of(counts, storage, "absent", args.layouts)
        for mode in MODES:
            count = counts[storage, mode, 0]
            value = mean_of(counts, storage, mode, args.layouts)
            values = layouts_of(counts, storage, mode)
            print(
                f"  {storage:<10} {mode:<12} {value / 1e6:9.3f} "
                f"{f'{min(values) / 1e6:.3f}..{max(values) / 1e6:.3f}':>17} "
                f"{value / base:7.4f} "
                f"{(value / base - 1) * 100:+8.2f}% {(value / absent - 1) * 100:+7.2f}% "
                f"{count['spans']:6.1f}  "
                f"{count['otel_imported']} ({count['telemetry']})"
            )
    for storage, spread in repeatability(counts).items():
        print(
            f"  {storage:<10} layout spread: a mode's layouts up to {spread * 100:.3f}% apart "
            f"(range column; {args.repeat!r} also in layout {args.layouts})"
        )


# ---------------------------------------------------------------------- verdicts


def _measurable(faster: bool, against: str = "before") -> str:
    return f"MEASURABLE ({'faster' if faster else 'slower'} than {against})"


def _bar(low: float, high: float) -> str:
    if high < BAR:
        return "under 5%"
    if low > BAR:
        return "OVER 5%"
    return "undecided (the CI holds 1.05)"


def print_verdicts(
    storages: list[str], cpu: Chunks | None, counts: Counts | None, layouts: int = 1
) -> None:
    """Per storage: is ``absent`` within noise of ``before``, is ``memory`` under 5%?"""
    print(
        "\nVerdicts (issue 24: absent costs nothing measurable; exporting, 'memory', "
        "under 5% of a publish); 'memory/absent' is the same tree with telemetry off"
    )
    spread = repeatability(counts) if counts else {}
    for storage in storages:
        faster = False  # this tree without telemetry beats the baseline: memory/before flatters
        if cpu is not None:
            for mode, against in (("absent", "before"), ("memory", "before"), ("memory", "absent")):
                pairs = paired(cpu[storage], mode, against)
                low, high = median_ci(pairs)
                if mode == "absent":
                    verdict = "within noise" if low <= 1 <= high else _measurable(high < 1)
                    faster |= high < 1
                else:
                    verdict = _bar(low, high)
                print(
                    f"  {storage:<10} CPU           {f'{mode}/{against}':<14} "
                    f"{statistics.median(pairs):.3f} (95% CI {low:.3f}..{high:.3f}): {verdict}"
                )
        if counts is not None:
            allowed = instruction_noise(spread, storage)
            for mode, against in (
                ("absent", "before"),
                ("no provider", "absent"),
                ("memory", "before"),
                ("memory", "absent"),
            ):
                ratio = mean_of(counts, storage, mode, layouts) / mean_of(
                    counts, storage, against, layouts
                )
                low, high = min_max_ratio(counts, storage, mode, against, layouts)
                if mode == "memory":
                    verdict = _bar(low, high) if layouts > 1 else _bar(ratio, ratio)
                elif layouts > 1:  # the same sign in every layout, beyond 0.1%: measurable
                    within = low - 0.001 <= 1 <= high + 0.001
                    verdict = "within noise" if within else _measurable(high < 1, against)
                else:
                    within = abs(ratio - 1) <= allowed
                    verdict = "within noise" if within else _measurable(ratio < 1, against)
                if mode == "absent" and not within:
                    faster |= ratio < 1
                how = (
                    f"layouts {(low - 1) * 100:+.2f}..{(high - 1) * 100:+.2f}%"
                    if layouts > 1
                    else f"noise +-{allowed * 100:.2f}%"
                )
                print(
                    f"  {storage:<10} instructions  {f'{mode}/{against}':<18} "
                    f"{(ratio - 1) * 100:+.2f}% ({how}): {verdict}"
                )
        if faster:
            print(
                f"  {storage:<10} NOTE: 'absent' is cheaper than 'before' here (the trees differ "
                f"in more than telemetry),\n  {'':<10} so memory/before understates what "
                f"exporting costs: read memory/absent"
            )


# ---------------------------------------------------------------------- main


def _folder(parent: Path, name: str) -> Path:
    folder = parent / name
    folder.mkdir()
    return folder


def main() -> None:
    """Measure every asked storage and mode, print the tables and the verdicts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunk", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--baseline", default=DEFAULT_BASELINE)
    parser.add_argument(
        "--tree", help="run the other modes on this commit's tree (default: the working tree)"
    )
    parser.add_argument(
        "--storage", action="append", help=f"one of {', '.join(STORAGES)} or a comma list"
    )
    parser.add_argument("--instructions", action="store_true", help="count under callgrind")
    parser.add_argument("--skip-cpu", action="store_true", help="no CPU timing")
    parser.add_argument("--n1", type=int, default=20)
    parser.add_argument("--n2", type=int, default=120)
    parser.add_argument("--cg-warmup", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2, help="callgrind runs at a time")
    parser.add_argument("--repeat", choices=(*MODES, "none"), default="absent")
    parser.add_argument(
        "--layouts", type=int, default=2, help="layouts each mode is counted in (see above)"
    )
    args = parser.parse_args()
    if not args.n2 > args.n1 >= 0:
        parser.error("--n2 must be greater than --n1")
    if args.layouts < 1:
        parser.error("--layouts must be at least 1")
    if args.instructions and (args.n2 - args.n1) % 50:
        print("NOTE: --n2 - --n1 is not a multiple of 50: the metrics reads are not amortized")
    storages, pg_url = choose_storages(args.storage)
    if args.instructions and shutil.which("valgrind") is None:
        print("SKIPPED instructions: valgrind is not installed (apt-get install valgrind)")
        args.instructions = False
    cpu: Chunks | None = None
    counts: Counts | None = None
    with tempfile.TemporaryDirectory() as tmp:
        trees = Trees(
            _tree(args.baseline, _folder(Path(tmp), "before")),
            _tree(args.tree, _folder(Path(tmp), "this")) if args.tree else ROOT / "src",
        )
        journals = Journals(Path(tmp), pg_url)
        if not args.skip_cpu:
            started = time.perf_counter()
            cpu = measure_cpu(args, storages, trees, journals)
            print_cpu(args, cpu)
            print(f"  (CPU part: {time.perf_counter() - started:.0f} s)", flush=True)
        if args.instructions:
            started = time.perf_counter()
            counts = measure_instructions(args, storages, trees, journals)
            print_instructions(args, storages, counts)
            print(f"  (instructions part: {time.perf_counter() - started:.0f} s)", flush=True)
    if cpu is not None or counts is not None:
        print_verdicts(storages, cpu, counts, args.layouts)


if __name__ == "__main__":
    main()
