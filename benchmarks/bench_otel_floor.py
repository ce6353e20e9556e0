"""What the OpenTelemetry SDK itself costs for the telemetry of one publish: the floor.

``bench_otel.py`` measures what exporting costs a publish. This script measures the part of it
that is the SDK's own work and no code of ours: each operation the SDK is asked for, alone, in
a loop, under ``valgrind --tool=callgrind`` (instructions, which repeat to a fraction of a
percent whatever else the machine is doing), as (I(n2) - I(n1)) / (n2 - n1) so start-up and
imports cancel out. The SDK is set up as in ``bench_otel.py``'s ``memory`` mode: a
``TracerProvider`` with a ``SimpleSpanProcessor`` into an ``InMemorySpanExporter`` (cleared
every 100 spans), a ``MeterProvider`` with an ``InMemoryMetricReader``, all under a sampled
parent span made current (as a publish's attempts are).

Operations:

- ``span``: ``start_span`` and ``end``, no attributes;
- ``attempt span``: ``start_span`` with a KashFlow attempt's five attributes, made current and
  detached, one attribute set (the HTTP status), ``end``: what each KashFlow call costs;
- ``event``: ``add_event`` with two attributes (a journal step);
- ``histogram record``: ``record`` with two attributes under the sampled span (so an exemplar
  is offered, the SDK's default filter);
- ``counter add``: ``add`` with three attributes.

Then the floor of one receipt with attachment and payment, as the SDK sees it (5 spans of which
4 attempts, 6 journal events, 4 histogram records, 1 counter add, 3 attributes set on the
publish span), against the instructions of a publish with telemetry absent, if given
(``--publish M``, millions, from ``bench_otel.py --instructions``): what share of a publish the
SDK's own work is before any line of the SDK's caller runs.

Run: ``python benchmarks/bench_otel_floor.py [--n1 2000] [--n2 6000]
[--publish 22.2 --publish 53.3 ...]`` (about a minute; needs valgrind and the SDK).
"""

from __future__ import annotations

import argparse
import shutil
from concurrent.futures import ThreadPoolExecutor

from _callgrind import callgrind

_LOOP = r"""
import sys
from opentelemetry import context, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
tracer_provider = TracerProvider()
tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
tracer = tracer_provider.get_tracer("kashflow_sync")
meter = MeterProvider(metric_readers=[InMemoryMetricReader()]).get_meter("kashflow_sync")
histogram = meter.create_histogram("kashflow_sync.kashflow.duration", unit="s")
counter = meter.create_counter("kashflow_sync.publish.outcomes")
publish = tracer.start_span("kashflow_sync.publish", attributes={"a": "default", "b": "purchase"})
context.attach(trace.set_span_in_context(publish))
ATTEMPT = {"rpc.system": "soap", "rpc.service": "KashFlow", "rpc.method": "InsertReceipt",
           "server.address": "127.0.0.1", "kashflow_sync.attempt": 1}
MEASURED = {"rpc.system": "soap", "rpc.method": "InsertReceipt"}
STEP = {"kashflow_sync.journal.step": "create", "kashflow_sync.journal.outcome": "created"}
COUNTED = {"kashflow_sync.connection_id": "default", "kashflow_sync.document.kind": "purchase",
           "kashflow_sync.outcome": "published"}
operation, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    if operation == "span":
        tracer.start_span("KashFlow/InsertReceipt").end()
    elif operation == "attempt span":
        span = tracer.start_span("KashFlow/InsertReceipt", kind=trace.SpanKind.CLIENT,
                                 attributes=ATTEMPT)
        token = context.attach(trace.set_span_in_context(span))
        span.set_attribute("http.response.status_code", 200)
        context.detach(token)
        span.end()
    elif operation == "event":
        publish.add_event("kashflow_sync.journal.attempt", STEP)
    elif operation == "histogram record":
        histogram.record(0.01, MEASURED)
    elif operation == "counter add":
        counter.add(1, COUNTED)
    elif operation == "attribute set":
        publish.set_attribute("kashflow_sync.kashflow.number", i)
    if i % 100 == 99:
        exporter.clear()
"""

OPERATIONS = (
    "span",
    "attempt span",
    "event",
    "histogram record",
    "counter add",
    "attribute set",
)

#: What the SDK is asked for by one receipt with attachment and payment (4 KashFlow calls).
PUBLISH = {
    "attempt span": 4,
    "span": 1,
    "event": 6,
    "histogram record": 4,
    "counter add": 1,
    "attribute set": 3,
}


def instructions(operation: str, n: int) -> int:
    """Instructions callgrind counts for the loop of *operation* run *n* times."""
    return callgrind(_LOOP, operation, str(n), what=repr(operation))[0]


def main() -> None:
    """Count each operation, then the floor of one publish."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n1", type=int, default=2000)
    parser.add_argument("--n2", type=int, default=6000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--publish",
        type=float,
        action="append",
        default=[],
        help="millions of instructions of a publish with telemetry absent (repeatable)",
    )
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("SKIPPED: valgrind is not installed (apt-get install valgrind)")
    with ThreadPoolExecutor(args.jobs) as pool:
        runs = {
            (op, n): pool.submit(instructions, op, n)
            for op in OPERATIONS
            for n in (args.n1, args.n2)
        }
        each = {
            op: (runs[op, args.n2].result() - runs[op, args.n1].result()) / (args.n2 - args.n1)
            for op in OPERATIONS
        }
    print(
        f"OpenTelemetry SDK, instructions per operation under callgrind: "
        f"(I({args.n2}) - I({args.n1})) / {args.n2 - args.n1}; PYTHONHASHSEED=0"
    )
    for op in OPERATIONS:
        print(f"  {op:<18} {each[op] / 1000:8.1f} K")
    floor = sum(each[op] * times for op, times in PUBLISH.items())
    asked = ", ".join(f"{times} {op}" for op, times in PUBLISH.items())
    print(f"One receipt with attachment and payment asks the SDK for: {asked}")
    print(f"  the SDK's own work: {floor / 1e6:.3f} M instructions per publish")
    for publish in args.publish:
        print(f"  against a publish of {publish:.3f} M: {floor / (publish * 1e6):.1%}")


if __name__ == "__main__":
    main()
