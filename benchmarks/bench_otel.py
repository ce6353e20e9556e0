"""What OpenTelemetry costs a publish: absent, present with no provider, exporting to memory.

One receipt with an attachment and a payment per ``publish``, by the sync client, the fake in a
process of its own (``kashflow-sync fake serve``) so only the client's work is counted: CPU
seconds in the client's process (``time.process_time``), wall seconds too, KashFlow calls per
publish (counted by the fake) and Storage calls per publish (counted on the instance). Each
mode runs in a fresh interpreter:

- ``before``: the source tree of the commit before the feature (``--baseline``), the same run;
- ``absent``: this tree with ``opentelemetry`` refused by the import system, as if it were not
  installed (the client must hold the do-nothing telemetry and import none of it);
- ``no provider``: this tree, ``opentelemetry-api`` importable, no provider set by the host
  (the API's no-op spans);
- ``memory``: this tree with an SDK ``TracerProvider`` (``SimpleSpanProcessor`` into an
  ``InMemorySpanExporter``) and ``MeterProvider`` (``InMemoryMetricReader``, read every 50
  publishes): every span exported as it ends.

The four workers run side by side, each connected and warmed up; the controller has them
publish in small chunks (``--chunk``), one mode after another, the order rotated, ``--runs``
times, so that every mode meets the same load on a shared machine. Printed: each mode's median
CPU per publish and its ratio to ``before``, the median wall time, the KashFlow and Storage
calls per publish and the spans exported per publish.

Run: ``python benchmarks/bench_otel.py [--runs 60] [--chunk 10] [--baseline a515b8e]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _receipt import RECEIPT
from bench_engine import ROOT, _tree, fake_process

#: The commit before traces and metrics landed.
DEFAULT_BASELINE = "a515b8e"

_WORKER = (
    r"""
import json, statistics, sys, time
if sys.argv[8] == "absent":
    import importlib.abc

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] == "opentelemetry":
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Refuse())
from datetime import date
from decimal import Decimal

import httpx
import kashflow_sync as kfs
from kashflow_sync import RetryPolicy

url, user, password, key, rounds, warmup, prefix, mode = sys.argv[1:9]
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
creds = kfs.Credentials(user, password, key)
storage = kfs.MemoryStorage()
storage_calls = [0]
for method in [m for m in dir(storage) if not m.startswith("_") and callable(getattr(storage, m))]:
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


with httpx.Client(timeout=30, event_hooks={"request": [count]}) as http, kfs.KashFlowClient(
    creds, endpoint=url, http_client=http, retry=RetryPolicy.no_wait(), storage=storage,
    **providers
) as client:
    client.connect()
    for i in range(int(warmup)):
        client.publish(receipt(f"{prefix}--{i}"))
    telemetry = getattr(client, "_telemetry", None)
    if exporter is not None:
        exporter.clear()  # the connect's and the warm-up's spans are not counted
    done = 0
    # The controller says how many to publish next; each chunk's CPU times go back as one line.
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
            if exporter is not None:
                spans += len(exporter.get_finished_spans())
                exporter.clear()
                if i % 50 == 49:
                    reader.get_metrics_data()
        done += int(line)
        print(json.dumps({
            "cpu": cpu, "wall": wall, "kashflow_calls": (sent[0] - calls_before) / len(cpu),
            "storage_calls": (storage_calls[0] - storage_before) / len(cpu),
            "spans": spans / len(cpu), "source": kfs.__file__,
            "telemetry": type(telemetry).__name__ if telemetry is not None else None,
            "otel_imported": any(m.split(".")[0] == "opentelemetry" for m in sys.modules),
        }), flush=True)
"""
)

MODES = ("before", "absent", "no provider", "memory")


class Worker:
    """One mode's worker process, publishing a chunk of documents at each :meth:`chunk`."""

    def __init__(self, src: Path, details: dict[str, str], mode: str, warmup: int) -> None:
        self.mode = mode
        argv = [details["url"], details["username"], details["password"]]
        argv += [details["autoauth_key"], "0", str(warmup), mode.replace(" ", ""), mode]
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER, *[a.replace(" ", "_") for a in argv]],
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
        """Let the worker finish."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("stop\n")
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def main() -> None:
    """Run every mode ``--runs`` times, alternating, and print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunk", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--baseline", default=DEFAULT_BASELINE)
    args = parser.parse_args()
    results: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory() as tmp, fake_process() as details:
        before = _tree(args.baseline, Path(tmp))
        workers = [
            Worker(before if mode == "before" else ROOT / "src", details, mode, args.warmup)
            for mode in MODES
        ]
        try:
            # Small chunks, modes alternating (order rotated): each meets the same load.
            for run in range(args.runs):
                at = run % len(workers)
                for worker in workers[at:] + workers[:at]:
                    results[worker.mode].append(worker.chunk(args.chunk))
        finally:
            for worker in workers:
                worker.stop()
    cpu_of = {m: [t for r in results[m] for t in r["cpu"]] for m in MODES}
    wall_of = {m: [t for r in results[m] for t in r["wall"]] for m in MODES}
    base = statistics.median(cpu_of["before"])
    print(
        f"CPU per publish (receipt with attachment and payment), client process only; "
        f"{args.runs} chunks x {args.chunk} publishes per mode, alternating, medians; "
        f"baseline {args.baseline}"
    )
    print(
        f"  {'mode':<12} {'CPU ms':>7} {'ratio':>6} {'wall ms':>8} {'KashFlow':>9} "
        f"{'storage':>8} {'spans':>6}  imported opentelemetry"
    )
    for mode in MODES:
        rows = results[mode]
        cpu = statistics.median(cpu_of[mode])
        wall = statistics.median(wall_of[mode])
        print(
            f"  {mode:<12} {cpu * 1000:7.3f} {cpu / base:6.3f} {wall * 1000:8.3f} "
            f"{statistics.median(r['kashflow_calls'] for r in rows):9.1f} "
            f"{statistics.median(r['storage_calls'] for r in rows):8.1f} "
            f"{statistics.median(r['spans'] for r in rows):6.1f}  "
            f"{rows[0]['otel_imported']} ({rows[0]['telemetry']})"
        )
    chunks = [statistics.median(r["cpu"]) * 1000 for r in results["before"]]
    print(f"  'before' chunk medians range (ms): {min(chunks):.3f} .. {max(chunks):.3f}")


if __name__ == "__main__":
    main()
