"""KashFlow going away mid-batch: what the breaker saves, against no breaker, in the same run.

A ``publish_many`` of N documents (4 at a time, the default retry policy with its real waits)
against a loopback FakeKashFlow that stops serving once a few documents are in. Two cases, each
on a fresh fake and a fresh MemoryStorage:

- ``no breaker`` (``stop_after_failures=None``, what the SDK did before: the baseline): every
  document is tried and fails after its retries;
- ``breaker`` (the default, 5 connection failures in a row).

For each: seconds from the outage to the batch's end, documents tried, HTTP requests attempted
towards KashFlow after the outage (every retry counts: an httpx request hook), and the
documents not attempted. Storage round trips are in memory here and not counted.

Run: ``python benchmarks/bench_outage.py [--documents 100] [--after 5]``.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

import kashflow_sync as kfs
from kashflow_sync.testing import FakeKashFlow


def _docs(count: int) -> list[kfs.PurchaseInvoice]:
    return [
        kfs.PurchaseInvoice(
            external_id=f"outage-{n}",
            supplier="Acme Paper Ltd",
            reference=f"OUT-{n}",
            issue_date=date(2026, 11, 2),
            lines=[kfs.Line(net=Decimal("10.00"), vat_rate=Decimal("20"), category=7500)],
        )
        for n in range(count)
    ]


def run(documents: int, after: int, limit: int | None) -> dict[str, Any]:
    """One batch with KashFlow gone after *after* documents; what it cost from then on."""
    requests_after = 0
    down_at: list[float] = []

    def count(_request: httpx.Request) -> None:
        nonlocal requests_after
        if down_at:
            requests_after += 1

    with (
        FakeKashFlow.serve() as fake,
        httpx.Client(event_hooks={"request": [count]}) as http,
        kfs.KashFlowClient(fake.credentials, endpoint=fake.url, http_client=http) as client,
    ):
        client.connect()

        def progress(event: kfs.BatchProgress) -> None:
            if event.done == after and not down_at:
                fake.stop()
                down_at.append(time.perf_counter())

        batch = client.publish_many(
            _docs(documents), concurrency=4, progress=progress, stop_after_failures=limit
        )
        ended = time.perf_counter()
    stopped = batch.stopped
    not_attempted = stopped.not_attempted if stopped is not None else 0
    return {
        "seconds": ended - down_at[0],
        "tried": documents - not_attempted,
        "requests": requests_after,
        "not_attempted": not_attempted,
        "summary": str(stopped) if stopped is not None else f"{len(batch.failed)} failures",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--after", type=int, default=5)
    args = parser.parse_args()
    base = run(args.documents, args.after, None)
    new = run(args.documents, args.after, 5)
    print(f"{args.documents} documents, KashFlow gone after {args.after}; 4 at a time")
    print(f"{'case':<12} {'seconds':>8} {'tried':>6} {'requests':>9} {'not tried':>10}")
    for name, row in (("no breaker", base), ("breaker", new)):
        print(
            f"{name:<12} {row['seconds']:8.2f} {row['tried']:6d} {row['requests']:9d} "
            f"{row['not_attempted']:10d}"
        )
    print(
        f"ratio (breaker / no breaker): seconds {new['seconds'] / base['seconds']:.3f}, "
        f"requests {new['requests'] / max(base['requests'], 1):.3f}"
    )
    print("breaker's summary:", new["summary"])


if __name__ == "__main__":
    main()
