"""The journal's database cost per published document, pinned; and a dropped connection survived.

Counted as the database sees it: on PostgreSQL, the server's own ``xact_commit + xact_rollback``
of a database created for the test (nothing else uses it); on SQLite, the driver's commits and
rollbacks. A receipt with an attachment and a payment, published by a warm client, costs at most
:data:`MAX_TRANSACTIONS` (issue 22's bar; ~50 before it). ``benchmarks/bench_storage.py``
measures the same against the tree before, with wall time behind a slow network.

A connection the server ends while it waits in the pool (a restart, a failover, an idle timeout)
is noticed at checkout without a round trip and replaced: a publish whose connections are all
killed between its claim and its send, or right after its send, still publishes exactly once.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

import kashflow_sync as kfs
from _support import make_client, purchase
from kashflow_sync.testing import FakeKashFlow

PG_URL = os.environ.get("KASHFLOW_SYNC_TEST_PG")
needs_pg = pytest.mark.skipif(not PG_URL, reason="set KASHFLOW_SYNC_TEST_PG to a PostgreSQL URL")

#: Transactions per published receipt (attachment and payment) at most, warm client.
MAX_TRANSACTIONS = 8
WARM, COUNTED = 2, 6


def _publish(client: kfs.KashFlowClient, docs: list[kfs.PurchaseInvoice], many: bool) -> None:
    if many:
        batch = client.publish_many(docs, concurrency=4)
        assert not batch.failed, batch.failed[0].error
    else:
        for doc in docs:
            assert client.publish(doc).status == "published"


@pytest.fixture
def own_database() -> Iterator[str]:
    """A PostgreSQL database of this test's own (dropped afterwards); its SQLAlchemy URL."""
    assert PG_URL is not None
    url = make_url(PG_URL)
    name = f"kfs_pin_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _server_transactions(url: str) -> int:
    """Commits + rollbacks the server counted for *url*'s database, once its backends ended."""
    parsed = make_url(url)
    admin = sa.create_engine(parsed.set(database="postgres"))
    try:
        with admin.connect() as conn:
            for _ in range(200):
                left = conn.execute(
                    sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d"),
                    {"d": parsed.database},
                ).scalar()
                if not left:
                    break
                time.sleep(0.02)
            time.sleep(0.3)  # a backend's statistics are flushed as it ends
            count = conn.execute(
                sa.text(
                    "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = :d"
                ),
                {"d": parsed.database},
            ).scalar()
    finally:
        admin.dispose()
    return int(count or 0)


@needs_pg
@pytest.mark.parametrize("many", [False, True], ids=["publish", "publish_many"])
def test_postgresql_counts_at_most_eight_transactions_per_receipt(
    fake: FakeKashFlow, own_database: str, many: bool
) -> None:
    storage = kfs.SQLStorage(own_database)
    with make_client(fake, storage=storage) as client:
        client.connect()
        _publish(client, [purchase(i, prefix="warm") for i in range(WARM)], many)
        storage._engine.dispose()  # the server counts a backend's transactions as it ends
        before = _server_transactions(own_database)
        _publish(client, [purchase(i, prefix="counted") for i in range(COUNTED)], many)
        storage._engine.dispose()
        per_document = (_server_transactions(own_database) - before) / COUNTED
    storage.close()
    assert per_document <= MAX_TRANSACTIONS, per_document


@pytest.mark.parametrize("many", [False, True], ids=["publish", "publish_many"])
def test_sqlite_commits_at_most_eight_transactions_per_receipt(
    fake: FakeKashFlow, tmp_path: Path, many: bool
) -> None:
    storage = kfs.SQLStorage(f"sqlite:///{tmp_path / 'journal.db'}")
    counted = [0]

    def count(*_args: Any) -> None:
        counted[0] += 1

    sa.event.listen(storage._engine, "commit", count)
    sa.event.listen(storage._engine, "rollback", count)
    with make_client(fake, storage=storage) as client:
        client.connect()
        _publish(client, [purchase(i, prefix="warm") for i in range(WARM)], many)
        before = counted[0]
        _publish(client, [purchase(i, prefix="counted") for i in range(COUNTED)], many)
        per_document = (counted[0] - before) / COUNTED
    storage.close()
    assert per_document <= MAX_TRANSACTIONS, per_document


# ---------------------------------------------------------------------- dropped connections


class _Killing(httpx.BaseTransport):
    """The fake's transport, ending every database connection of the storage at chosen calls.

    *before* / *after*: whether to end them before the named KashFlow call is served (the
    storage's next call then finds its pooled connection dead) or after its answer.
    """

    def __init__(self, inner: httpx.BaseTransport, kill: Callable[[], int], when: str) -> None:
        self.inner, self.kill, self.when = inner, kill, when
        self.killed = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        action = request.headers.get("SOAPAction", "")
        if self.when == "before the send" and action.endswith('/GetReceiptsForSupplier"'):
            self.killed += self.kill()
        response = self.inner.handle_request(request)
        if (self.when == "after the send" and action.endswith('/InsertReceipt"')) or (
            self.when == "after every call" and response.status_code == 200
        ):
            response.read()
            self.killed += self.kill()
        return response


def _killer(url: str, application: str) -> Callable[[], int]:
    admin = sa.create_engine(url, poolclass=sa.pool.NullPool)

    def kill() -> int:
        with admin.connect() as conn:
            pids = conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :a AND pid <> pg_backend_pid()"
                ),
                {"a": application},
            ).all()
            conn.commit()
            deadline = time.monotonic() + 10
            while (
                time.monotonic() < deadline
                and conn.execute(
                    sa.text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :a"),
                    {"a": application},
                ).scalar()
            ):
                time.sleep(0.01)
        return len(pids)

    return kill


@needs_pg
@pytest.mark.parametrize("when", ["before the send", "after the send", "after every call"])
def test_a_dropped_connection_neither_duplicates_nor_loses_a_document(when: str) -> None:
    """The storage's PostgreSQL connections are ended by the server between the claim and the
    send, right after the send, or after every KashFlow call: the publish goes on, once."""
    assert PG_URL is not None
    application = f"kfs-drop-{uuid.uuid4().hex[:8]}"
    url = make_url(PG_URL).update_query_dict({"application_name": application})
    connection = f"drop-{uuid.uuid4().hex[:8]}"
    storage = kfs.SQLStorage(url)
    fake = FakeKashFlow()
    killing = _Killing(fake.transport(), _killer(PG_URL, application), when)
    try:
        with make_client(
            fake,
            http=httpx.Client(transport=killing),
            storage=storage,
            connection_id=connection,
        ) as client:
            client.connect()
            result = client.publish(purchase(1))
            entry = storage.get_journal(connection, "doc-1")
    finally:
        storage.purge(connection)
        storage.close()
        fake.close()
    assert killing.killed >= 1  # the connections really were ended
    assert result.status == "published"
    assert (len(fake.receipts), len(fake.attachments), len(fake.payments)) == (1, 1, 1)
    assert entry is not None and entry.state == "published" and entry.owner is None
