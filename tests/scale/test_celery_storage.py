"""The publish task and the database: a failover's read-only primary is retried, not given up.

The task runs eagerly (``apply``: Celery runs each retry at once, in this process, without its
countdown) on the real PostgreSQL journal, so the wiring from the driver's SQLSTATE through
``StorageError.retryable`` to ``task.retry`` is checked without a worker.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest
from celery import Celery

import kashflow_sync as kfs
from _support import ledger_check, make_client, purchase
from kashflow_sync.celery import register
from kashflow_sync.testing import FakeKashFlow

#: ``factory(urls, runs)``: a client factory whose run n (from 0) opens the database
#: ``urls(n)``, each URL appended to *runs*.
Factory = Callable[[Callable[[int], str], list[str]], Callable[[str], kfs.KashFlowClient]]

READ_ONLY = "options=" + quote("-c default_transaction_read_only=on")


@pytest.fixture
def connection(pg_url: str, fake: FakeKashFlow) -> Iterator[str]:
    """A connection with its lists synced in the shared PostgreSQL journal; purged afterwards."""
    connection_id = f"celery-db-{uuid.uuid4().hex[:10]}"
    with kfs.SQLStorage(pg_url) as storage:
        with make_client(fake, storage=storage, connection_id=connection_id) as client:
            client.connect()
        yield connection_id
        storage.purge(connection_id)


@pytest.fixture
def opened() -> Iterator[list[kfs.SQLStorage]]:
    """The storages the factories open, closed after the test."""
    storages: list[kfs.SQLStorage] = []
    yield storages
    for storage in storages:
        storage.close()


@pytest.fixture
def factory(fake: FakeKashFlow, opened: list[kfs.SQLStorage]) -> Factory:
    """Client factories whose run number n (from 0) opens the database at ``urls(n)``."""

    def make(urls: Callable[[int], str], runs: list[str]) -> Callable[[str], kfs.KashFlowClient]:
        def client(connection_id: str) -> kfs.KashFlowClient:
            url = urls(len(runs))
            runs.append(url)
            opened.append(kfs.SQLStorage(url))
            return make_client(fake, storage=opened[-1], connection_id=connection_id)

        return client

    return make


def test_read_only_database_is_retried_until_the_primary_is_back(
    pg_url: str, fake: FakeKashFlow, connection: str, factory: Factory
) -> None:
    """Two runs meet a demoted (read-only) primary; the third publishes, once."""
    demoted = f"{pg_url}{'&' if '?' in pg_url else '?'}{READ_ONLY}"
    runs: list[str] = []
    tasks = register(Celery("kfs-read-only"), factory(lambda n: demoted if n < 2 else pg_url, runs))
    doc = purchase(1, prefix=f"ro{uuid.uuid4().hex[:6]}")
    out = tasks.publish.apply(args=(connection, kfs.document_to_json(doc))).get()
    assert runs == [demoted, demoted, pg_url]
    assert (out["status"], out["error"]) == ("published", None)
    assert ledger_check(fake, [doc]) == (0, 0)


def test_read_only_database_past_the_retries_fails_retryable(
    pg_url: str, fake: FakeKashFlow, connection: str, factory: Factory
) -> None:
    """Still read-only when the retries run out: a failed result that says retryable."""
    demoted = f"{pg_url}{'&' if '?' in pg_url else '?'}{READ_ONLY}"
    runs: list[str] = []
    tasks = register(Celery("kfs-read-only"), factory(lambda _n: demoted, runs), max_retries=2)
    doc = purchase(2, prefix=f"ro{uuid.uuid4().hex[:6]}")
    out = tasks.publish.apply(args=(connection, kfs.document_to_json(doc))).get()
    assert len(runs) == 3
    assert out["status"] == "failed"
    assert (out["error"]["code"], out["error"]["retryable"]) == ("database_read_only", True)
    assert not fake.receipts  # nothing was sent


def test_refused_database_access_is_not_retried(
    pg_url: str, fake: FakeKashFlow, connection: str, factory: Factory
) -> None:
    """A database that does not exist fails the task at once: retrying cannot fix a URL."""
    missing = pg_url.rsplit("/", 1)[0] + "/kfs_no_such_database"
    runs: list[str] = []
    tasks = register(Celery("kfs-no-database"), factory(lambda _n: missing, runs))
    doc = purchase(3, prefix=f"nodb{uuid.uuid4().hex[:6]}")
    out = tasks.publish.apply(args=(connection, kfs.document_to_json(doc))).get()
    assert runs == [missing]
    assert (out["error"]["code"], out["error"]["retryable"]) == ("database_access_refused", False)
