"""Time replace_list + load_list of 20,000 suppliers on each storage.

Usage: ``python benchmarks/bench_storage.py [--items N] [--repeat R]``. PostgreSQL is timed too
when ``KASHFLOW_SYNC_TEST_PG`` holds a SQLAlchemy URL (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); its rows are purged afterwards.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from kashflow_sync._account.items import Supplier
from kashflow_sync.storage import MemoryStorage, SQLStorage
from kashflow_sync.typing import Storage

PG_ENV = "KASHFLOW_SYNC_TEST_PG"


def make_suppliers(count: int) -> list[Supplier]:
    stamp = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    return [
        Supplier(
            kashflow_id=100_000 + i,
            code=f"SUP{i:05d}",
            name=f"Supplier number {i} Limited",
            archived=i % 50 == 0,
            email=f"accounts{i}@supplier.example",
            vat_number=f"GB{100000000 + i}",
            currency_id=1,
            payment_terms=30,
            updated=stamp,
        )
        for i in range(count)
    ]


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def time_storage(label: str, storage: Storage, items: list[Supplier], repeat: int) -> None:
    connection_id = f"bench-{uuid.uuid4().hex}"
    try:
        storage.load_list(connection_id, "suppliers")  # schema creation is not timed
        write = best_of(repeat, lambda: storage.replace_list(connection_id, "suppliers", items))
        read = best_of(repeat, lambda: storage.load_list(connection_id, "suppliers"))
        assert list(storage.load_list(connection_id, "suppliers")) == items
    finally:
        storage.purge(connection_id)
    print(f"{label:<12} {write * 1000:>10.1f} ms {read * 1000:>7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    items = make_suppliers(args.items)
    print(f"{args.items} suppliers, best of {args.repeat}")
    print(f"{'storage':<12} {'replace_list':>13} {'load_list':>10}")
    time_storage("memory", MemoryStorage(), items, args.repeat)
    with (
        tempfile.TemporaryDirectory() as tmp,
        SQLStorage(f"sqlite:///{Path(tmp) / 'bench.db'}") as sqlite,
    ):
        time_storage("sqlite file", sqlite, items, args.repeat)
    url = os.environ.get(PG_ENV)
    if url:
        with SQLStorage(url) as pg:
            time_storage("postgresql", pg, items, args.repeat)
    else:
        print(f"(postgresql skipped: set {PG_ENV} to a SQLAlchemy URL to include it)")


if __name__ == "__main__":
    main()
