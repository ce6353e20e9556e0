"""Scale-out: Celery throughput by worker processes, and 1,000 connections in one PostgreSQL.

Usage::

    python benchmarks/bench_celery.py [--docs 120] [--repeat 3] [--workers 1 2 4]
                                      [--cached-connections 64 0]
                                      [--connections 10 100 1000] [--skip-throughput]

Needs ``KASHFLOW_SYNC_TEST_PG`` (a PostgreSQL SQLAlchemy URL whose user may CREATE DATABASE) and
a broker, ``KASHFLOW_SYNC_TEST_REDIS`` (default ``redis://127.0.0.1:6379/0``).

Throughput: the fake KashFlow is served on loopback by a process of its own, with 20 ms added
to every call (a slow KashFlow, roughly what the real one costs per call); one ``celery worker
--concurrency N`` (N prefork processes) publishes ``--docs`` documents with attachment and
payment, journal on PostgreSQL. Timed from the first enqueue to the last result; the median of
``--repeat`` runs, and its ratio to the fewest processes measured (``--workers``' smallest).
CPU per document is what the worker processes (main and pool) and the fake's process spent
while those documents were published, read from /proc around each timed batch: the workers'
start-up, the warm-up tasks, connecting, and this process's enqueueing and polling for
results are not in it. Measured with the workers' per-process caches on (the default) and off,
in the same run: the caches hand each task's new client the lists and ledger lookups of the
one before.

Connections: a scratch database gets 10, then 100, then 1,000 connected connections (each with
two published documents). At each size, the median refresh time of 20 connections picked at
random (fake in-process: the SDK's and the database's cost, not the network's), the journal
listing time, and the database size per connection.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import kashflow_sync as kfs
from kashflow_sync.testing import FakeKashFlow

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from bench_engine import _credentials, control, fake_process  # noqa: E402

from _support import purchase  # noqa: E402

PG = os.environ.get("KASHFLOW_SYNC_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("KASHFLOW_SYNC_TEST_REDIS", "redis://127.0.0.1:6379/0")


def start_worker(config: dict[str, Any], processes: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KFS_BENCH_CONFIG": json.dumps(config), "PYTHONPATH": str(HERE)}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "_celery_bench_app", "worker"),
                *("--concurrency", str(processes), "--loglevel", "WARNING"),
                *("--without-gossip", "--without-mingle", "--without-heartbeat"),
            ],
            cwd=HERE,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def throughput(args: argparse.Namespace, log_dir: Path) -> None:

    print(
        f"== throughput: {args.docs} documents, 20 ms per KashFlow call, PostgreSQL journal "
        f"(synchronous_commit={args.sync_commit}); load average {os.getloadavg()[0]:.1f}"
    )
    medians: dict[int, dict[int, float]] = {}
    for cached in args.cached_connections:
        label = "per-process caches on" if cached else "caches off (baseline)"
        print(f"-- cached_connections={cached}: {label}")
        medians[cached] = _throughput(args, log_dir, cached)
    if 0 in medians and len(medians) > 1:
        for cached, by_processes in medians.items():
            if cached:
                ratios = ", ".join(
                    f"{p} process(es) x{rate / medians[0][p]:.2f}"
                    for p, rate in by_processes.items()
                )
                print(f"-- cached_connections={cached} over the baseline: {ratios}")


def _throughput(args: argparse.Namespace, log_dir: Path, cached: int) -> dict[int, float]:
    from _celery_bench_app import build

    rates: dict[int, list[float]] = {}
    cpu: dict[int, tuple[float, float]] = {}  # processes -> (workers, fake) CPU s per document
    with fake_process() as fake:
        control(fake, "POST", "/faults", {"kind": "delay", "seconds": 0.02, "times": None})
        for processes in args.workers:
            run_id = uuid.uuid4().hex[:8]
            config = {
                "broker": REDIS,
                "backend": REDIS,
                "queue": f"kfs-bench-{run_id}",
                "transport": {"global_keyprefix": f"kfs-bench-{run_id}:"},
                "db": PG,
                "sync_commit": args.sync_commit,
                "cached_connections": cached,
                "fake": {
                    "url": fake["url"],
                    "username": fake["username"],
                    "password": fake["password"],
                    "autoauth_key": fake["autoauth_key"],
                },
            }
            _app, tasks = build(config)
            used: list[str] = []
            worker = start_worker(config, processes, log_dir / f"w{processes}.log")
            workers_cpu = fake_cpu = 0.0
            try:
                # Warm up: every process imports, opens its pools, and publishes once.
                warm = f"bench-warm-{run_id}"
                used.append(warm)
                _connect(fake, warm)
                warmups = [
                    tasks.publish.delay(warm, kfs.document_to_json(purchase(i, prefix=warm)))
                    for i in range(processes * 2)
                ]
                for r in warmups:
                    r.get(timeout=120)
                for _ in range(args.repeat):
                    connection_id = f"bench-{uuid.uuid4().hex[:8]}"
                    used.append(connection_id)
                    _connect(fake, connection_id)
                    docs = [
                        kfs.document_to_json(purchase(i, prefix=connection_id))
                        for i in range(args.docs)
                    ]
                    spent = _cpu_of(worker.pid), _cpu_of(int(fake["pid"]))
                    started = time.perf_counter()
                    pending = [tasks.publish.delay(connection_id, d) for d in docs]
                    outs = [r.get(timeout=600) for r in pending]
                    elapsed = time.perf_counter() - started
                    workers_cpu += _cpu_of(worker.pid) - spent[0]
                    fake_cpu += _cpu_of(int(fake["pid"])) - spent[1]
                    assert all(o["status"] == "published" for o in outs), outs[:2]
                    rates.setdefault(processes, []).append(args.docs / elapsed)
            finally:
                stop(worker)
                _forget(config, used)
            timed = args.docs * args.repeat
            cpu[processes] = (workers_cpu / timed, fake_cpu / timed)
    fewest = min(rates)
    base = statistics.median(rates[fewest])
    for processes, samples in rates.items():
        median = statistics.median(samples)
        runs = ", ".join(f"{r:.1f}" for r in samples)
        workers_ms, fake_ms = (seconds * 1000 for seconds in cpu[processes])
        print(
            f"  {processes} process(es): median {median:6.1f} docs/s "
            f"(x{median / base:.2f} of {fewest} process(es))  runs: {runs};  "
            f"CPU per doc: workers {workers_ms:.0f} ms, fake {fake_ms:.0f} ms"
        )
    return {p: statistics.median(r) for p, r in rates.items()}


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int) -> float:
    """CPU seconds *pid* and every process below it have spent so far (Linux's /proc)."""
    parents: dict[int, int] = {}
    spent: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:  # gone meanwhile
            continue
        # After the command: state, ppid, ... utime and stime are the 12th and 13th.
        parents[int(entry.name)] = int(fields[1])
        spent[int(entry.name)] = (int(fields[11]) + int(fields[12])) / _TICK
    tree, grew = {pid}, True
    while grew:
        below = {child for child, parent in parents.items() if parent in tree} - tree
        tree |= below
        grew = bool(below)
    return sum(spent.get(p, 0.0) for p in tree)


def _forget(config: dict[str, Any], connections: list[str]) -> None:
    """Delete this run's keys from the shared Redis and its connections from PostgreSQL."""
    import redis

    client = redis.Redis.from_url(config["broker"])
    for key in client.scan_iter(f"{config['transport']['global_keyprefix']}*"):
        client.delete(key)
    client.close()
    with kfs.SQLStorage(config["db"]) as storage:
        for connection_id in connections:
            storage.purge(connection_id)


def _connect(fake: dict[str, str], connection_id: str) -> None:
    with (
        kfs.SQLStorage(PG) as storage,
        kfs.KashFlowClient(
            _credentials(fake), endpoint=fake["url"], storage=storage, connection_id=connection_id
        ) as client,
    ):
        client.connect()


def connections(args: argparse.Namespace) -> None:
    scratch = f"kfs_bench_{os.getpid()}"
    admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{scratch}"')
    url = sa.engine.make_url(PG).set(database=scratch)
    print(
        f"== connections in one PostgreSQL database ({scratch}, dropped afterwards); "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    try:
        _grow(url.render_as_string(hide_password=False), args)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE "{scratch}" WITH (FORCE)')
        admin.dispose()


def _grow(url: str, args: argparse.Namespace) -> None:
    fake = FakeKashFlow()
    storage = kfs.SQLStorage(url)

    def tenant(connection_id: str) -> kfs.KashFlowClient:
        return kfs.KashFlowClient(
            fake.credentials,
            endpoint=fake.url,
            storage=storage,
            connection_id=connection_id,
            http_client=fake.http_client(),
        )

    engine = sa.create_engine(url)
    made: list[str] = []
    rng = random.Random(7)
    print(
        "  connections  refresh median (CPU)  journal listing  DB size/connection  rows/connection"
    )
    for target in args.connections:
        while len(made) < target:
            connection_id = f"tenant-{len(made):05d}"
            with tenant(connection_id) as client:
                client.connect()
                for i in range(2):
                    client.publish(purchase(i, prefix=connection_id, attach=False))
            made.append(connection_id)
        sample = rng.sample(made, min(20, len(made)))
        refresh: list[float] = []
        refresh_cpu: list[float] = []
        listing: list[float] = []
        for connection_id in sample:
            with tenant(connection_id) as client:
                started, cpu = time.perf_counter(), time.process_time()
                client.refresh_lists()
                refresh.append(time.perf_counter() - started)
                refresh_cpu.append(time.process_time() - cpu)
                started = time.perf_counter()
                client.journal(["claimed", "sending", "created"])
                listing.append(time.perf_counter() - started)
        with engine.connect() as conn:
            size = conn.exec_driver_sql(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                "WHERE c.relkind = 'r' AND starts_with(c.relname, 'kashflow_sync_')"
            ).scalar()
            rows = sum(
                conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() or 0
                for table in (
                    "kashflow_sync_lists",
                    "kashflow_sync_state",
                    "kashflow_sync_journal",
                    "kashflow_sync_journal_attempts",
                )
            )
        print(
            f"  {target:>11}  {statistics.median(refresh) * 1000:8.1f} ms"
            f" ({statistics.median(refresh_cpu) * 1000:5.1f} ms)"
            f"  {statistics.median(listing) * 1000:12.2f} ms"
            f"  {int(size or 0) / target / 1024:15.1f} KiB  {rows / target:15.1f}"
        )
    storage.close()
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--connections", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument(
        "--sync-commit",
        choices=["on", "off"],
        default="on",
        help="PostgreSQL synchronous_commit for the workers' sessions: off shows how much of a "
        "publish is the database's commit latency",
    )
    parser.add_argument(
        "--cached-connections",
        type=int,
        nargs="+",
        default=[64, 0],
        help="register(cached_connections=...) values to measure, each a full run; 0 (every "
        "task reloads the lists and fetches the supplier's documents) is the baseline",
    )
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-connections", action="store_true")
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as logs:
        if not args.skip_throughput:
            throughput(args, Path(logs))
    if not args.skip_connections:
        connections(args)


if __name__ == "__main__":
    main()
