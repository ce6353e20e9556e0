"""The journal's database cost per published document, and replace/load of a big list.

Usage::

    python benchmarks/bench_storage.py [--baseline REF] [--docs N] [--skip-lists]

1. **Journal cost per document** (needs ``KASHFLOW_SYNC_TEST_PG``, a SQLAlchemy URL of a
   PostgreSQL server the benchmark may create databases on): one receipt with an attachment
   and a payment, published by a warm sync client (connected, two documents published first)
   through ``publish()`` one after another and through ``publish_many`` (concurrency 4), on
   PostgreSQL and on a SQLite file, against this tree and the baseline commit (``--baseline``,
   default the commit this work started from) in the same run, each in a subprocess of its own
   with the fake KashFlow in-process. Every PostgreSQL run gets a fresh database of its own
   (``kfs_bench_storage``, dropped afterwards) so that nothing else counts in it.

   - *transactions per document*, PostgreSQL: counted by the server,
     ``pg_stat_database.xact_commit + xact_rollback`` of that database, read from the
     ``postgres`` database after the client's connections closed (their statistics are
     flushed when the backend ends). SQLite: the driver's commits and rollbacks (SQLAlchemy
     events).
   - *statements per document*: PostgreSQL, the client's messages on the wire (a simple
     ``Query`` or an extended-protocol ``Execute``, so ``BEGIN``/``COMMIT`` and the pool's
     pings count), read by the proxy below; ``pg_stat_statements`` needs a server restart to
     load, so it is not used. Both: SQL statements SQLAlchemy executed (its events; a
     ``pool_pre_ping`` ping is not among them).
   - *wall time per document* with PostgreSQL behind a TCP proxy (asyncio, in this process)
     that holds every chunk 1 ms, then 5 ms, each way before passing it on.

2. **Lists**: replace_list + load_list of 20,000 suppliers on each storage (``--items``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from _receipt import RECEIPT
from bench_engine import ROOT, _tree
from sqlalchemy.engine import make_url

from kashflow_sync._account.items import Supplier
from kashflow_sync.storage import MemoryStorage, SQLStorage
from kashflow_sync.typing import Storage

PG_ENV = "KASHFLOW_SYNC_TEST_PG"
#: The commit this work started from (issue 22's "today").
DEFAULT_BASELINE = "a515b8e"
BENCH_DB = "kfs_bench_storage"


# ---------------------------------------------------------------------- the latency proxy


class Proxy:
    """A TCP proxy to PostgreSQL holding each chunk *delay* seconds each way; counts messages.

    ``statements`` counts the client's ``Query`` ('Q') and ``Execute`` ('E') messages (after
    the startup packet; SSL is refused by the URL's ``sslmode=disable``).
    """

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.delay = 0.0
        self.statements = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self._thread.start()
        started.wait()

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)

        async def serve() -> None:
            server = await asyncio.start_server(self._client, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            started.set()
            async with server:
                await server.serve_forever()

        self._loop.run_until_complete(serve())

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        counter = _MessageCounter(self)
        await asyncio.gather(
            self._pipe(reader, up_writer, counter), self._pipe(up_reader, writer, None)
        )

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        counter: _MessageCounter | None,
    ) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def forward() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    writer.close()
                    return
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()

        sender = asyncio.ensure_future(forward())
        try:
            while True:
                data = await reader.read(65536)
                if counter is not None and data:
                    counter.feed(data)
                queue.put_nowait((time.monotonic() + self.delay, data))
                if not data:
                    break
            await sender
        except (ConnectionError, OSError):
            sender.cancel()
            writer.close()


class _MessageCounter:
    """Reads the frontend's message stream, counting Query and Execute messages."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.buffer = b""
        self.startup = True

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.startup:
                if len(self.buffer) < 8:
                    return
                length = int.from_bytes(self.buffer[:4], "big")
                if len(self.buffer) < length:
                    return
                code = int.from_bytes(self.buffer[4:8], "big")
                self.buffer = self.buffer[length:]
                if code not in (80877103, 80877104):  # SSLRequest, GSSENCRequest
                    self.startup = False
                continue
            if len(self.buffer) < 5:
                return
            kind = self.buffer[:1]
            length = int.from_bytes(self.buffer[1:5], "big")
            if len(self.buffer) < 1 + length:
                return
            self.buffer = self.buffer[1 + length :]
            if kind in (b"Q", b"E"):
                self.proxy.statements += 1


# ---------------------------------------------------------------------- the worker


_WORKER = (
    r"""
import json, sys, time
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
import kashflow_sync as kfs
from kashflow_sync import RetryPolicy
from kashflow_sync.storage import SQLStorage
from kashflow_sync.testing import FakeKashFlow

cfg = json.loads(sys.argv[1])
fake = FakeKashFlow()
storage = SQLStorage(cfg["url"])
counts = {"tx": 0, "sql": 0}

@sa.event.listens_for(storage._engine, "commit")
def _commit(conn):
    counts["tx"] += 1

@sa.event.listens_for(storage._engine, "rollback")
def _rollback(conn):
    counts["tx"] += 1

@sa.event.listens_for(storage._engine, "before_cursor_execute")
def _sql(conn, cursor, statement, parameters, context, executemany):
    counts["sql"] += 1

"""
    + RECEIPT
    + r"""

def run(client, docs):
    if cfg["mode"] == "publish_many":
        batch = client.publish_many(docs, concurrency=4)
        assert not batch.failed, batch.failed[0].error
    else:
        for d in docs:
            assert client.publish(d).status == "published"

with kfs.KashFlowClient(fake.credentials, endpoint=fake.url, http_client=fake.http_client(),
                        retry=RetryPolicy.no_wait(), storage=storage) as client:
    client.connect()
    run(client, [receipt(f"warm-{i}") for i in range(2)])
    if cfg["fresh_pool"]:
        storage._engine.dispose()  # the server counts a backend's transactions when it ends
    print("READY", flush=True)
    sys.stdin.readline()
    before = dict(counts)
    docs = [receipt(f"bench-{i}") for i in range(cfg["docs"])]
    start = time.perf_counter()
    run(client, docs)
    seconds = time.perf_counter() - start
    after = dict(counts)
storage._engine.dispose()
n = cfg["docs"]
print(json.dumps({"seconds": seconds / n, "source": kfs.__file__,
                  "sa_tx": (after["tx"] - before["tx"]) / n,
                  "sa_sql": (after["sql"] - before["sql"]) / n}))
"""
)


class _Server:
    """The PostgreSQL server: fresh databases, and their transaction counters."""

    def __init__(self, url: str) -> None:
        import psycopg

        parsed = make_url(url)
        self.host = parsed.host or "127.0.0.1"
        self.port = parsed.port or 5432
        self.user = parsed.username or "postgres"
        self.password = parsed.password
        self._psycopg = psycopg

    def _admin(self) -> Any:
        return self._psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname="postgres",
            autocommit=True,
        )

    def fresh(self) -> None:
        with self._admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {BENCH_DB}")

    def drop(self) -> None:
        with self._admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")

    def transactions(self) -> int:
        """Commits + rollbacks of the bench database, once no backend of it is left."""
        with self._admin() as conn:
            for _ in range(100):
                left = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (BENCH_DB,)
                ).fetchone()
                if left is None or left[0] == 0:
                    break
                time.sleep(0.05)
            time.sleep(0.3)  # a backend's statistics are flushed as it ends
            row = conn.execute(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                (BENCH_DB,),
            ).fetchone()
        return int(row[0]) if row else 0

    def url(self, port: int) -> str:
        auth = self.user + (f":{self.password}" if self.password else "")
        return f"postgresql+psycopg://{auth}@127.0.0.1:{port}/{BENCH_DB}?sslmode=disable"


def _worker(src: Path, config: dict[str, Any], between: Callable[[], None]) -> dict[str, Any]:
    """Run the worker on tree *src*; *between* runs once it is warm, before it is timed."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _WORKER, json.dumps(config)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "READY":
        proc.wait()
        raise RuntimeError(f"worker failed before it was warm: {line!r}")
    between()
    proc.stdin.write("go\n")
    proc.stdin.flush()
    out = proc.stdout.read()
    if proc.wait() != 0:
        raise RuntimeError("worker failed")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    assert result["source"].startswith(str(src)), result["source"]
    return result


def journal_cost(baseline: str, docs: int, slow_docs: int) -> None:
    url = os.environ.get(PG_ENV)
    if not url:
        print(f"(journal cost skipped: set {PG_ENV} to a PostgreSQL SQLAlchemy URL)")
        return
    server = _Server(url)
    proxy = Proxy(server.host, server.port)
    rows: list[tuple[str, str, str, dict[str, Any]]] = []
    with (
        tempfile.TemporaryDirectory() as before_dir,
        tempfile.TemporaryDirectory() as tmp,
    ):
        trees = {"before": _tree(baseline, Path(before_dir)), "after": ROOT / "src"}
        for mode in ("publish", "publish_many"):
            for name, src in trees.items():
                # PostgreSQL, counted: a fresh database, no added latency.
                server.fresh()
                proxy.delay = 0.0
                marks: dict[str, int] = {}

                def mark(marks: dict[str, int] = marks) -> None:
                    marks["tx"] = server.transactions()
                    marks["wire"] = proxy.statements

                config = {
                    "url": server.url(proxy.port),
                    "mode": mode,
                    "docs": docs,
                    "fresh_pool": True,
                }
                got = _worker(src, config, mark)
                got["pg_tx"] = (server.transactions() - marks["tx"]) / docs
                got["wire"] = (proxy.statements - marks["wire"]) / docs
                for delay in (0.001, 0.005):
                    server.fresh()
                    proxy.delay = delay
                    config = {**config, "docs": slow_docs, "fresh_pool": False}
                    got[f"wall_{delay}"] = _worker(src, config, lambda: None)["seconds"]
                proxy.delay = 0.0
                rows.append((mode, name, "postgresql", got))
                db = Path(tmp) / f"{name}-{mode}-{uuid.uuid4().hex}.db"
                config = {"url": f"sqlite:///{db}", "mode": mode, "docs": docs, "fresh_pool": False}
                rows.append((mode, name, "sqlite", _worker(src, config, lambda: None)))
    server.drop()
    print(
        f"1. journal cost per published receipt (attachment + payment), warm sync client, "
        f"before = {baseline}, after = this tree; {docs} documents counted, {slow_docs} timed "
        "behind the proxy"
    )
    header = (
        f"{'mode':<13}{'tree':<7}{'storage':<11}{'tx (server)':>12}{'tx (driver)':>12}"
        f"{'wire msgs':>10}{'SQL stmts':>10}{'wall 0ms':>10}{'wall 1ms':>10}{'wall 5ms':>10}"
    )
    print(header)
    for mode, name, storage, got in rows:
        server_tx = f"{got['pg_tx']:.2f}" if "pg_tx" in got else "-"
        wire = f"{got['wire']:.2f}" if "wire" in got else "-"
        slow = [f"{got[k] * 1000:.1f}ms" if k in got else "-" for k in ("wall_0.001", "wall_0.005")]
        print(
            f"{mode:<13}{name:<7}{storage:<11}{server_tx:>12}{got['sa_tx']:>12.2f}{wire:>10}"
            f"{got['sa_sql']:>10.2f}{got['seconds'] * 1000:>8.1f}ms{slow[0]:>10}{slow[1]:>10}"
        )
    pg = {(m, n): g for m, n, s, g in rows if s == "postgresql"}
    for mode in ("publish", "publish_many"):
        before, after = pg[(mode, "before")], pg[(mode, "after")]
        print(
            f"  {mode}: server transactions {after['pg_tx'] / before['pg_tx']:.2f}x, "
            f"wall at 1 ms {after['wall_0.001'] / before['wall_0.001']:.2f}x, "
            f"at 5 ms {after['wall_0.005'] / before['wall_0.005']:.2f}x (after / before)"
        )


# ---------------------------------------------------------------------- 2. lists


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


def lists(count: int, repeat: int) -> None:
    items = make_suppliers(count)
    print(f"2. {count} suppliers, best of {repeat}")
    print(f"{'storage':<12} {'replace_list':>13} {'load_list':>10}")
    time_storage("memory", MemoryStorage(), items, repeat)
    with (
        tempfile.TemporaryDirectory() as tmp,
        SQLStorage(f"sqlite:///{Path(tmp) / 'bench.db'}") as sqlite,
    ):
        time_storage("sqlite file", sqlite, items, repeat)
    url = os.environ.get(PG_ENV)
    if url:
        with SQLStorage(url) as pg:
            time_storage("postgresql", pg, items, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE)
    parser.add_argument("--docs", type=int, default=24, help="documents counted per run")
    parser.add_argument("--slow-docs", type=int, default=12, help="documents timed per proxy run")
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-lists", action="store_true")
    parser.add_argument("--skip-journal", action="store_true")
    args = parser.parse_args()
    if not args.skip_journal:
        journal_cost(args.baseline, args.docs, args.slow_docs)
    if not args.skip_lists:
        lists(args.items, args.repeat)


if __name__ == "__main__":
    main()
