"""Journal claims stay exclusive when several processes share one database."""

from __future__ import annotations

import multiprocessing
import uuid
from collections import Counter

from _storage_workers import claim_all

from kashflow_sync.storage import SQLStorage

PROCESSES = 4
IDS = [f"doc-{i:03d}" for i in range(50)]


def _claim_from_processes(url: str, connection_id: str) -> tuple[Counter[str], list[str]]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=claim_all, args=(url, connection_id, f"proc-{i}", IDS, barrier, queue))
        for i in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    try:
        outcomes = [queue.get(timeout=120) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
    acquired = Counter(eid for _, won, _ in outcomes for eid in won)
    errors = [error for _, _, error in outcomes if error]
    return acquired, errors


def test_sqlite_file_processes_acquire_each_id_once(sqlite_url: str) -> None:
    """4 processes claiming the same 50 ids on one SQLite file acquire each exactly once."""
    acquired, errors = _claim_from_processes(sqlite_url, f"multiprocess-{uuid.uuid4().hex}")
    assert errors == []
    assert acquired == Counter(IDS)


def test_postgresql_processes_acquire_each_id_once(pg_url: str) -> None:
    """4 processes claiming the same 50 ids on one PostgreSQL database acquire each exactly once."""
    connection_id = f"multiprocess-{uuid.uuid4().hex}"
    try:
        acquired, errors = _claim_from_processes(pg_url, connection_id)
    finally:
        with SQLStorage(pg_url) as storage:
            storage.purge(connection_id)
    assert errors == []
    assert acquired == Counter(IDS)
