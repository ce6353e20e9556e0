"""Leases judged on the database's clock: a worker whose own clock runs fast takes nothing over."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import kashflow_sync as kfs
from _support import make_client, purchase
from kashflow_sync._clients import base as _base_client
from kashflow_sync._journal.entry import JournalEntry
from kashflow_sync.storage import SQLStorage
from kashflow_sync.testing import FakeKashFlow


def _now() -> datetime:
    return datetime.now(timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest, sqlite_url: str) -> SQLStorage:
    if request.param == "sqlite":
        return SQLStorage(sqlite_url)
    return request.getfixturevalue("pg_storage")  # type: ignore[no-any-return]


def test_database_time_is_the_servers_utc_time(storage: SQLStorage) -> None:
    """database_time() is an aware UTC datetime close to now."""
    stamp = storage.database_time()
    assert stamp.tzinfo is not None and stamp.utcoffset() == timedelta(0)
    assert abs(stamp - _now()) < timedelta(seconds=5)


def _client(storage: object, skew: timedelta, connection_id: str) -> kfs.KashFlowClient:
    fake = FakeKashFlow()
    client = kfs.KashFlowClient(
        fake.credentials,
        endpoint=fake.url,
        http_client=fake.http_client(),
        storage=storage,  # type: ignore[arg-type]
        connection_id=connection_id,
    )
    client._local_clock = lambda: _now() + skew
    return client


def test_a_fast_local_clock_is_corrected_to_the_databases(storage: SQLStorage) -> None:
    """A machine ten minutes fast judges leases on the database's time once it has measured."""
    client = _client(storage, timedelta(minutes=10), "clock-fast")
    assert client._clock() - _now() > timedelta(minutes=9)  # before measuring: its own clock
    client._sync_clock()
    assert abs(client._clock() - _now()) < timedelta(seconds=2)


def test_a_fast_worker_does_not_take_over_a_live_lease(storage: SQLStorage) -> None:
    """Another worker holds a 60 s lease: ten minutes fast or not, this one cannot claim it."""
    import uuid

    cid = f"clock-{uuid.uuid4().hex[:8]}"
    entry = JournalEntry(cid, "doc-1", "purchase", "fp")
    now = _now()
    storage.claim_journal(entry, "other-worker", now, now + timedelta(seconds=60))
    client = _client(storage, timedelta(minutes=10), cid)
    client._sync_clock()
    mine = client._clock()
    claim = storage.claim_journal(entry, "fast-worker", mine, mine + timedelta(minutes=5))
    assert not claim.acquired
    storage.purge(cid)


def test_without_a_database_clock_a_fast_worker_would_take_it_over(sqlite_url: str) -> None:
    """The hazard the database clock removes: judged on its own clock, the lease looks ended."""

    class LocalOnly(SQLStorage):
        database_time = None  # type: ignore[assignment]

    storage = LocalOnly(sqlite_url)
    entry = JournalEntry("clock-local", "doc-1", "purchase", "fp")
    now = _now()
    storage.claim_journal(entry, "other-worker", now, now + timedelta(seconds=60))
    client = _client(storage, timedelta(minutes=10), "clock-local")
    client._sync_clock()
    mine = client._clock()
    assert storage.claim_journal(entry, "fast-worker", mine, mine + timedelta(minutes=5)).acquired


def test_publish_judges_and_stamps_on_the_databases_clock(
    storage: SQLStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A machine ten minutes fast publishes on the database's time: leases, saves, history."""
    import uuid

    monkeypatch.setattr(_base_client, "utcnow", lambda: _now() + timedelta(minutes=10))
    cid = f"clock-pub-{uuid.uuid4().hex[:8]}"
    doc = purchase(1, prefix="clock")
    fake = FakeKashFlow()
    try:
        with make_client(fake, storage=storage, connection_id=cid) as client:
            assert client._local_clock() - _now() > timedelta(minutes=9)  # the fast machine
            client.connect()
            assert client.publish(doc).status == "published"
        entry = storage.get_journal(cid, doc.external_id)
        assert entry is not None and entry.attempts
        for stamp in (entry.updated_at, *(attempt.at for attempt in entry.attempts)):
            assert stamp is not None and abs(stamp - _now()) < timedelta(minutes=1)
    finally:
        storage.purge(cid)
