"""The worker side of ``bench_otel.py``: the worker script, and what it runs with.

:data:`WORKER` is one mode on one storage, run with ``-c`` in a fresh interpreter against a
source tree (:class:`Trees`) and a fresh journal (:class:`Journals`); :class:`Worker` drives
one over stdin for the CPU timing; the callgrind runs give it a ``publish`` count instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _receipt import RECEIPT

#: The modes and the storages, in the order the tables show them.
MODES = ("before", "absent", "no provider", "memory")
STORAGES = ("memory", "sqlite", "postgresql")
PG_ENV = "KASHFLOW_SYNC_TEST_PG"


# The worker: one mode on one storage. Its configuration is one JSON argument. Without
# "publish" it waits on stdin for chunk sizes and answers each with a JSON line of timings;
# with it, it publishes that many (after the warm-up), prints one JSON line and ends (the
# callgrind runs, where nothing but the publishes should differ between two runs).
WORKER = (
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


def worker_config(details: dict[str, str], storage: str, mode: str, journal: str) -> dict[str, Any]:
    return {
        "url": details["url"],
        "username": details["username"],
        "password": details["password"],
        "autoauth_key": details["autoauth_key"],
        "storage": journal,
        "mode": mode,
        "prefix": f"{storage}-{mode.replace(' ', '')}",
    }


# ---------------------------------------------------------------------- processes


class Worker:
    """One (storage, mode) worker process, publishing a chunk of documents at each :meth:`chunk`."""

    def __init__(self, src: Path, config: dict[str, Any]) -> None:
        self.mode: str = config["mode"]
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, json.dumps(config)],
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


@dataclasses.dataclass(frozen=True)
class Trees:
    """The source trees the modes run: ``before``'s, and the others' (``--tree``, else ROOT)."""

    before: Path
    this: Path

    def of(self, mode: str) -> Path:
        """The ``src`` folder *mode* imports the SDK from."""
        return self.before if mode == "before" else self.this
