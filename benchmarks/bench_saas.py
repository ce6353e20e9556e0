"""A SaaS's day in miniature: many connections, one Celery task per document, real workers.

Usage::

    python benchmarks/bench_saas.py [--connections 100 1000] [--docs-per-connection 5]
                                    [--workers 4] [--concurrency 2] [--latency 0.1]
                                    [--cached-connections 64]
                                    [--kashflow-ids at_once batched]

The fake KashFlow is served on loopback by a process of its own (``kashflow-sync fake serve``)
and holds ONE account; every connection is its own ``connection_id`` on it, in one PostgreSQL
journal (database ``kfs_saas`` by default, created if missing: the transaction counts come from
its ``pg_stat_database`` row, so no other work may share it). Every connection is connected
first (not timed), then ``--latency`` seconds are added to every KashFlow call and the timed
part enqueues, in a shuffled order, one list refresh per connection and
``--docs-per-connection`` receipts per connection (two lines, an attachment, a payment), every
fifth to a new supplier (``create_contact=True``; the new suppliers share their first letters,
as real ledgers' do). ``--workers`` ``celery worker`` processes of ``--concurrency`` prefork
processes each take them from Redis (``KASHFLOW_SYNC_TEST_REDIS``). Each size runs once per
``--kashflow-ids`` value (``register(kashflow_ids=...)``), in the same invocation: ``at_once``
(one ``GetReceipt`` per document, as before batched ids) is the baseline.

Printed:

- KashFlow requests per document by operation; the total leaves out the refreshes' list reads
  (shown apart) and is given with and without ``GetSupplier`` (the contact-code lookups).
- Wall time over the floor: the floor is every request's latency, spread over all the worker
  processes (``requests x latency / processes``): what a perfectly busy pool could not beat.
- PostgreSQL transactions per document (commits and rollbacks of the database, all tasks'
  work included, refreshes too) and the database's busy share (``active_time`` over the wall
  time: 1.0 is one backend busy all along).
- Duplicates (a reference twice in KashFlow) and lost documents (not published, or not in
  KashFlow).
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import kashflow_sync as kfs

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_engine import _credentials, control, fake_process  # noqa: E402

PG = os.environ.get("KASHFLOW_SYNC_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("KASHFLOW_SYNC_TEST_REDIS", "redis://127.0.0.1:6379/0")

#: The lists a refresh reads (and connect(), with AutoAuthIP): left out of the per-document sum.
LIST_READS = {
    "GetCustomersModifiedSince",
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
#: Suppliers the demo account holds: four receipts in five go to one of them.
KNOWN = ("Acme Paper Ltd", "Office Supplies Co", "City Rail Ltd")


def receipt(connection_id: str, i: int, new_supplier: str | None) -> kfs.PurchaseInvoice:
    """The benchmark's receipt number *i* of *connection_id*: to *new_supplier* if given."""
    return kfs.PurchaseInvoice(
        external_id=f"{connection_id}-{i}",
        supplier=new_supplier or KNOWN[i % len(KNOWN)],
        reference=f"{connection_id.upper()}-{i:04d}",
        issue_date=date(2026, 11, 1 + i % 28),
        lines=[
            kfs.Line(
                description="Paper",
                net=Decimal("100.00") + i,
                vat_rate=Decimal("20"),
                category=7500,
            ),
            kfs.Line(
                description="Train", net=Decimal("12.50"), vat_rate=Decimal("0"), category=7400
            ),
        ],
        attachment=kfs.Attachment(f"r{i}.pdf", b"%PDF-1.4 " + str(i).encode(), "application/pdf"),
        payment=kfs.Payment(method="Credit card", bank_account=1200),
        create_contact=new_supplier is not None,
    )


def database(name: str) -> str:
    """The URL of database *name* on KASHFLOW_SYNC_TEST_PG's server, created if missing."""
    url = sa.engine.make_url(PG)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.exec_driver_sql(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).first():
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def pg_stats(url: str) -> tuple[int, float]:
    """(transactions committed or rolled back, ms spent executing) of *url*'s database."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT xact_commit + xact_rollback, active_time FROM pg_stat_database "
            "WHERE datname = current_database()"
        ).one()
    engine.dispose()
    # This connection's own transaction is counted too: one per reading, taken off.
    return int(row[0]) - 1, float(row[1])


def start_worker(config: dict[str, Any], name: str, concurrency: int, log: Path) -> Any:
    env = {**os.environ, "KFS_BENCH_CONFIG": json.dumps(config), "PYTHONPATH": str(HERE)}
    with log.open("w") as out:
        return subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "_celery_bench_app", "worker"),
                *("--concurrency", str(concurrency), "--loglevel", "INFO"),
                *("--hostname", f"{name}@%h", "--without-gossip", "--without-mingle"),
                "--without-heartbeat",
            ],
            cwd=HERE,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_ready(log: Path, proc: Any, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if " ready." in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise RuntimeError(f"worker did not start:\n{log.read_text(errors='replace')[-3000:]}")


def stop(proc: Any) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def connect_all(fake: dict[str, str], url: str, connections: list[str]) -> None:
    """Connect every connection (lists synced into the journal's database), 8 at a time."""
    storage = kfs.SQLStorage(url)

    def one(connection_id: str) -> None:
        with kfs.KashFlowClient(
            _credentials(fake), endpoint=fake["url"], storage=storage, connection_id=connection_id
        ) as client:
            client.connect()

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(one, connections))
    storage.close()


def forget_redis(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    from _celery_bench_app import build

    url = database(args.database)
    kfs.SQLStorage(url).close()  # its tables, made if missing; emptied: every run starts clean
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        tables = [
            r[0]
            for r in conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE starts_with(tablename, 'kashflow_sync_')"
            )
        ]
        for table in tables:
            conn.exec_driver_sql(f'TRUNCATE "{table}"')
    engine.dispose()
    run_id = uuid.uuid4().hex[:8]
    prefix = f"kfs-saas-{run_id}:"
    processes = args.workers * args.concurrency
    connections = [f"c{run_id}-{i:04d}" for i in range(args.connections)]
    rng = random.Random(args.seed)
    with fake_process() as fake, tempfile.TemporaryDirectory() as logs:
        started = time.perf_counter()
        connect_all(fake, url, [*connections, f"warm{run_id}"])
        print(
            f"  {len(connections)} connections connected in {time.perf_counter() - started:.0f} s"
        )
        config = {
            "broker": REDIS,
            "backend": REDIS,
            "queue": f"kfs-saas-{run_id}",
            "transport": {"global_keyprefix": prefix},
            "db": url,
            "cached_connections": args.cached_connections,
            "register_options": {"kashflow_ids": args.kashflow_ids},
            "fake": {k: fake[k] for k in ("url", "username", "password", "autoauth_key")},
        }
        _app, tasks = build(config)
        workers = [
            start_worker(config, f"saas{i}-{run_id}", args.concurrency, Path(logs) / f"w{i}.log")
            for i in range(args.workers)
        ]
        try:
            for i, proc in enumerate(workers):
                wait_ready(Path(logs) / f"w{i}.log", proc)
            # Warm up: every process imports, opens its pools and publishes once.
            warm = [
                tasks.publish.delay(
                    f"warm{run_id}", kfs.document_to_json(receipt(f"warm{run_id}", i, None))
                )
                for i in range(processes * 2)
            ]
            for r in warm:
                r.get(timeout=300)
            # Idle backends report their statistics within PostgreSQL's 10 s idle interval.
            time.sleep(11)
            control(
                fake, "POST", "/faults", {"kind": "delay", "seconds": args.latency, "times": None}
            )
            calls_before = len(control(fake, "GET", "/calls"))
            xacts_before, active_before = pg_stats(url)
            work: list[tuple[str, str, kfs.PurchaseInvoice | None]] = []
            new = 0
            for connection_id in connections:
                work.append(("refresh", connection_id, None))
                for i in range(args.docs_per_connection):
                    supplier = None
                    if (len(work) % 5) == 0:
                        new += 1
                        supplier = f"Supplies {run_id} {new:05d} Ltd"
                    work.append(("publish", connection_id, receipt(connection_id, i, supplier)))
            rng.shuffle(work)
            documents = [doc for kind, _c, doc in work if doc is not None]
            started = time.perf_counter()
            pending = []
            for _kind, connection_id, doc in work:
                if doc is None:
                    pending.append(("refresh", None, tasks.refresh.delay(connection_id)))
                else:
                    body = kfs.document_to_json(doc)
                    pending.append(("publish", doc, tasks.publish.delay(connection_id, body)))
            outcomes = [(kind, doc, r.get(timeout=3600)) for kind, doc, r in pending]
            wall = time.perf_counter() - started
        finally:
            for proc in workers:
                stop(proc)  # their backends close: PostgreSQL counts everything they did
            forget_redis(prefix)
        time.sleep(1.5)
        xacts_after, active_after = pg_stats(url)
        calls = control(fake, "GET", "/calls")[calls_before:]
        receipts = control(fake, "GET", "/receipts")
    ops = collections.Counter(c["operation"] for c in calls)
    published = {
        doc.external_id
        for kind, doc, out in outcomes
        if kind == "publish"
        and doc is not None
        and out["status"] in ("published", "already_published")
    }
    by_reference = collections.Counter(r["reference"] for r in receipts)
    wanted = {doc.reference: doc.external_id for doc in documents}
    duplicates = sum(n - 1 for ref, n in by_reference.items() if ref in wanted and n > 1)
    lost = sum(1 for ref, ext in wanted.items() if ext not in published or ref not in by_reference)
    refresh_failed = sum(
        1 for kind, _d, out in outcomes if kind == "refresh" and out["status"] != "refreshed"
    )
    n_docs = len(documents)
    floor = len(calls) * args.latency / processes
    return {
        "docs": n_docs,
        "refreshes": len(connections),
        "new_suppliers": new,
        "ops": ops,
        "wall": wall,
        "floor": floor,
        "xacts": xacts_after - xacts_before,
        "active_ms": active_after - active_before,
        "duplicates": duplicates,
        "lost": lost,
        "refresh_failed": refresh_failed,
        "failed": [out for _k, _d, out in outcomes if out.get("error")][:3],
    }


def report(args: argparse.Namespace, out: dict[str, Any]) -> None:
    docs = out["docs"]
    ops: collections.Counter[str] = out["ops"]
    publishing = {op: n for op, n in ops.items() if op not in LIST_READS}
    total = sum(publishing.values())
    print(
        f"  {docs} receipts ({out['new_suppliers']} to new suppliers) and {out['refreshes']} "
        f"refreshes; {args.workers} workers x concurrency {args.concurrency}; "
        f"{args.latency * 1000:.0f} ms per KashFlow call; cached_connections="
        f"{args.cached_connections}; kashflow_ids={args.kashflow_ids}"
    )
    print("  KashFlow requests per document, by operation:")
    for op, n in sorted(publishing.items(), key=lambda kv: -kv[1]):
        print(f"    {op:28s} {n / docs:6.2f}  ({n})")
    lists = sum(n for op, n in ops.items() if op in LIST_READS)
    print(f"    {'(refreshes list reads, left out)':28s} {lists / docs:6.2f}  ({lists})")
    supplier = publishing.get("GetSupplier", 0)
    print(
        f"  per document, list reads left out: {total / docs:.2f}; "
        f"without GetSupplier: {(total - supplier) / docs:.2f}"
    )
    print(
        f"  wall {out['wall']:.1f} s, floor {out['floor']:.1f} s "
        f"({sum(ops.values())} requests x {args.latency * 1000:.0f} ms / "
        f"{args.workers * args.concurrency} processes): x{out['wall'] / out['floor']:.2f}"
    )
    print(
        f"  PostgreSQL: {out['xacts'] / docs:.1f} transactions per document "
        f"({out['xacts']}), busy share {out['active_ms'] / 1000 / out['wall']:.2f}"
    )
    print(
        f"  duplicates {out['duplicates']}, lost {out['lost']}, "
        f"refreshes failed {out['refresh_failed']}"
    )
    if out["failed"]:
        print(f"  first failures: {out['failed']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, nargs="+", default=[100])
    parser.add_argument("--docs-per-connection", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4, help="celery worker processes")
    parser.add_argument("--concurrency", type=int, default=2, help="prefork pool per worker")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added per call")
    parser.add_argument("--cached-connections", type=int, default=64)
    parser.add_argument(
        "--kashflow-ids",
        nargs="+",
        default=["at_once", "batched"],
        help="register(kashflow_ids=...) values, each a full run at every size; at_once (a "
        "read per document: the SDK's default and the path before batched ids) is the baseline",
    )
    parser.add_argument("--database", default="kfs_saas")
    parser.add_argument("--seed", type=int, default=25)
    args = parser.parse_args()
    sizes, modes = args.connections, args.kashflow_ids
    for n in sizes:
        per_doc: dict[str, float] = {}
        for mode in modes:
            print(f"== {n} connections, kashflow_ids={mode}; load average {os.getloadavg()[0]:.1f}")
            args.connections, args.kashflow_ids = n, mode
            out = run(args)
            report(args, out)
            ops = {op: k for op, k in out["ops"].items() if op not in LIST_READS}
            per_doc[mode] = sum(ops.values()) / out["docs"]
        if "at_once" in per_doc and len(per_doc) > 1:
            ratios = ", ".join(
                f"{mode} {value:.2f} (x{value / per_doc['at_once']:.2f})"
                for mode, value in per_doc.items()
                if mode != "at_once"
            )
            print(f"-- {n} connections, requests per document over at_once: {ratios}")


if __name__ == "__main__":
    main()
