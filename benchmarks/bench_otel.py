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
import json
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _callgrind import callgrind
from _otel_report import Chunks, Counts, print_cpu, print_instructions, print_verdicts
from _otel_workers import (
    MODES,
    STORAGES,
    WORKER,
    Journals,
    Trees,
    Worker,
    choose_storages,
    worker_config,
)
from bench_engine import ROOT, _tree, fake_process

#: The commit before traces and metrics landed.
DEFAULT_BASELINE = "a515b8e"


# ---------------------------------------------------------------------- CPU time


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
                config = worker_config(details, storage, mode, journal)
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


# ---------------------------------------------------------------------- instructions


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
        config = worker_config(details, storage, mode, journal)
        config |= {
            "warmup": args.cg_warmup,
            "publish": n,
            "build": args.n2,
            "timeout": 120,
            "ledger_cache_ttl": 3600,
            "layout": layout * LAYOUT_STEP,
        }
        instructions, stdout = callgrind(
            WORKER,
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
