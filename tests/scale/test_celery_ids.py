"""``register(kashflow_ids="batched")``: no read per document; a worker learns ids together."""

from __future__ import annotations

import pytest
from celery import Celery

import kashflow_sync as kfs
from _support import make_client, purchase
from kashflow_sync.celery import _tasks, register
from kashflow_sync.celery._tasks import _WorkerCaches
from kashflow_sync.testing import FakeKashFlow

_Pending = _tasks.Pending


def _tasks_for(
    fake: FakeKashFlow, storage: kfs.MemoryStorage, **options: object
) -> _tasks.KashFlowTasks:
    def factory(connection_id: str) -> kfs.KashFlowClient:
        return make_client(fake, storage=storage, connection_id=connection_id)

    with factory("c1") as setup:
        setup.connect()
    return register(Celery("ids"), factory, **options)  # type: ignore[arg-type]


def _ids_by_number(fake: FakeKashFlow) -> dict[int, int]:
    return {r.number: r.kashflow_id for r in fake.receipts}


def test_batched_ids_cost_one_read_for_a_batch_and_land_in_the_journal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three tasks, a batch of three: no GetReceipt, one GetReceipts_Recent; the journal and
    the last result hold the ids KashFlow gave; the first results say None (not yet known)."""
    monkeypatch.setattr(_tasks, "IDS_BATCH", 3)
    fake, storage = FakeKashFlow(), kfs.MemoryStorage()
    tasks = _tasks_for(fake, storage, kashflow_ids="batched")
    fake.reset_calls()
    docs = [purchase(i, prefix="batched") for i in range(3)]
    outs = [tasks.publish.apply(args=("c1", kfs.document_to_json(d))).result for d in docs]
    assert [o["status"] for o in outs] == ["published"] * 3
    assert fake.calls_to("GetReceipt") == []
    assert len(fake.calls_to("GetReceipts_Recent")) == 1
    ids = _ids_by_number(fake)
    assert [o["kashflow_id"] for o in outs] == [None, None, ids[outs[2]["number"]]]
    for doc, out in zip(docs, outs, strict=True):
        entry = storage.get_journal("c1", doc.external_id)
        assert entry is not None
        assert entry.kashflow_id == ids[out["number"]]
        assert entry.owner is None and entry.lease_until is None


def test_at_once_stays_the_default_with_the_id_in_every_result() -> None:
    """Without the option every result carries the id (one GetReceipt per document)."""
    fake, storage = FakeKashFlow(), kfs.MemoryStorage()
    tasks = _tasks_for(fake, storage)
    fake.reset_calls()
    out = tasks.publish.apply(args=("c1", kfs.document_to_json(purchase(1)))).result
    assert out["kashflow_id"] == _ids_by_number(fake)[out["number"]]
    assert len(fake.calls_to("GetReceipt")) == 1


def test_an_id_the_batch_did_not_learn_is_read_when_published_again() -> None:
    """A lone document (no batch yet): published without its id; publishing it again answers
    already_published with the id, read once and stored, then never read again."""
    fake, storage = FakeKashFlow(), kfs.MemoryStorage()
    tasks = _tasks_for(fake, storage, kashflow_ids="batched")
    body = kfs.document_to_json(purchase(7, prefix="lone"))
    first = tasks.publish.apply(args=("c1", body)).result
    assert first["kashflow_id"] is None
    fake.reset_calls()
    again = tasks.publish.apply(args=("c1", body)).result
    assert again["status"] == "already_published"
    assert again["kashflow_id"] == _ids_by_number(fake)[first["number"]]
    assert len(fake.calls_to("GetReceipt")) == 1
    fake.reset_calls()
    third = tasks.publish.apply(args=("c1", body)).result
    assert third["kashflow_id"] == again["kashflow_id"]
    assert fake.calls == []


def test_a_released_entry_gets_no_id_once_it_stands_for_another_number(fake: FakeKashFlow) -> None:
    """A released entry's id is stored only while it is the same published document: an id
    learned for another number (published anew since) is not written onto it."""
    storage = kfs.MemoryStorage()
    with make_client(fake, storage=storage) as client:
        client.connect()
        a = client._publish(purchase(1, prefix="guard"), read_id=False)
        b = client._publish(purchase(2, prefix="guard"), read_id=False)
        assert a.kashflow_id == 0 and b.kashflow_id == 0
        # The batch believes "guard-1" has b's number (as if forgotten and published anew).
        client._fill_ids([_Pending("guard-1", "purchase", b.number, None)])
        entry = storage.get_journal(client.connection_id, "guard-1")
        assert entry is not None and entry.kashflow_id is None
        # The right number does fill it in.
        client._fill_ids([_Pending("guard-1", "purchase", a.number, None)])
        entry = storage.get_journal(client.connection_id, "guard-1")
        assert entry is not None and entry.kashflow_id == _ids_by_number(fake)[a.number]


def test_ids_fall_due_by_count_or_by_the_oldests_wait() -> None:
    """A connection's waiting documents are due together at IDS_BATCH, or once the oldest
    waited IDS_WAIT seconds; each connection waits apart."""
    now = [0.0]
    caches = _WorkerCaches(4, clock=lambda: now[0])

    def item(i: int) -> _tasks.Pending:
        return _Pending(f"d{i}", "purchase", i, None)

    for i in range(_tasks.IDS_BATCH - 1):
        assert caches.ids_due("a", item(i)) == []
    assert caches.ids_due("b", item(99)) == []
    due = caches.ids_due("a", item(1000))
    assert [p.number for p in due] == [*range(_tasks.IDS_BATCH - 1), 1000]
    assert caches.ids_due("a", None) == []
    now[0] += _tasks.IDS_WAIT
    assert [p.number for p in caches.ids_due("b", None)] == [99]
    assert caches.ids_due("b", None) == []


def test_waiting_ids_are_kept_for_a_bounded_number_of_connections(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past IDS_CONNECTIONS connections with documents waiting (even with no client cache),
    the longest-waiting connection's list is dropped: memory stays bounded."""
    monkeypatch.setattr(_tasks, "IDS_CONNECTIONS", 3)
    caches = _WorkerCaches(0, clock=lambda: 0.0)
    for n in range(5):
        caches.ids_due(f"c{n}", _Pending(f"d{n}", "purchase", n, None))
    assert list(caches._pending) == ["c2", "c3", "c4"]
