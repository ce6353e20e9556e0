"""The shared pre-send lookup: one fetch per contact, never hiding a document we created.

The cache answers only the duplicate check before a document's first send. These tests pin
what makes sharing it safe: calls waiting on a fetch always find it under way or answered
(never neither, which would download the history again), a document created while a fetch was
under way is not dropped by that fetch's answer, and reconciling never reads the cache.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import attrs
import pytest
from _script import START, Clock, Script, ledger, uncertain

from _clients import KINDS, any_client
from _lists_fixtures import clean_purchase, make_lists
from _support import purchase
from kashflow_sync import errors
from kashflow_sync._convert import fingerprint
from kashflow_sync._engine.effects import KashFlowEffect, Sleep
from kashflow_sync._engine.ledger import LedgerCache, ledger_view
from kashflow_sync._engine.publish import publish
from kashflow_sync.testing import FakeKashFlow

LISTS = make_lists()
BARE = clean_purchase(attachment=None, payment=None)
TTL = timedelta(minutes=2)


def later(seconds: float) -> Any:
    return START + timedelta(seconds=seconds)


# ---------------------------------------------------------------------- the cache itself


def test_a_call_waiting_on_a_fetch_finds_its_answer_the_moment_it_is_released() -> None:
    """At the instant a fetch is released its answer is there: the waiter never fetches again.

    A thread can be switched out between any two steps of a flow. The cache is probed at the
    worst moment (inside ``end_fetch``) by stepping the waiting flow there.
    """
    clock = Clock()
    waiter_effects: list[object] = []
    waiter_result: list[object] = []

    class Probe(LedgerCache):
        def end_fetch(self, kind: str, contact_id: int, token: object) -> None:
            try:  # the waiter wakes from its poll right here
                waiter_effects.append(waiter.send(None))
            except StopIteration as stop:
                waiter_result.append(stop.value)
            super().end_fetch(kind, contact_id, token)

    cache = Probe(TTL)
    fetcher = ledger_view(BARE, 101, cache, clock)
    waiter = ledger_view(BARE, 101, cache, clock)
    assert isinstance(next(fetcher), KashFlowEffect)  # holds the fetch
    assert isinstance(next(waiter), Sleep)  # waits for it
    with pytest.raises(StopIteration) as done:
        fetcher.send([ledger(7)])
    assert [d.number for d in done.value.value] == [7]
    assert waiter_effects == [], f"the waiter fetched again: {waiter_effects}"
    assert [[d.number for d in found] for found in waiter_result] == [[7]]  # type: ignore[attr-defined]


def test_a_document_created_while_a_fetch_was_under_way_survives_its_answer() -> None:
    """Fetch starts, we create 8, the fetch answers without it: the cache still holds 8."""
    cache = LedgerCache(TTL)
    cache.add("purchase", 101, ledger(8), later(1))
    cache.put("purchase", 101, [ledger(7)], START)
    assert [d.number for d in cache.get("purchase", 101, later(2)) or []] == [7, 8]


def test_a_created_document_is_listed_once_when_the_fetch_lists_it_too() -> None:
    cache = LedgerCache(TTL)
    cache.add("purchase", 101, ledger(8), START)
    cache.put("purchase", 101, [ledger(7), ledger(8)], later(1))
    assert [d.number for d in cache.get("purchase", 101, later(2)) or []] == [7, 8]


def test_a_created_document_no_fetch_lists_a_full_ttl_later_is_taken_as_deleted() -> None:
    """Deleted by hand in KashFlow: a fetch started a TTL after its creation drops it."""
    cache = LedgerCache(TTL)
    cache.add("purchase", 101, ledger(8), START)
    cache.put("purchase", 101, [], later(60))
    assert [d.number for d in cache.get("purchase", 101, later(61)) or []] == [8]
    cache.put("purchase", 101, [], START + TTL)
    assert cache.get("purchase", 101, START + TTL) == []


def test_an_older_answer_does_not_replace_a_newer_one() -> None:
    cache = LedgerCache(TTL)
    cache.put("purchase", 101, [ledger(7), ledger(8)], later(10))
    cache.put("purchase", 101, [ledger(7)], later(5))
    assert [d.number for d in cache.get("purchase", 101, later(11)) or []] == [7, 8]


def test_a_fetch_answers_for_its_ttl_counted_from_when_it_started() -> None:
    cache = LedgerCache(TTL)
    cache.put("purchase", 101, [ledger(7)], START)
    assert cache.get("purchase", 101, START + TTL - timedelta(seconds=1)) is not None
    assert cache.get("purchase", 101, START + TTL) is None
    assert cache.get("sales", 101, START) is None  # per kind and contact


def test_a_duplicate_check_reads_only_the_documents_with_its_reference() -> None:
    """By reference, case and outer spaces ignored; fetched and created alike, each once."""
    cache = LedgerCache(TTL)
    cache.add("purchase", 101, ledger(5001, reference="inv-7 "), later(1))
    cache.add("purchase", 101, ledger(5000, reference="INV-7"), later(1))
    history = [ledger(n, reference=f"INV-{n}") for n in range(1, 3000)]
    cache.put("purchase", 101, [*history, ledger(5000, reference="INV-7")], START)
    found = cache.get("purchase", 101, later(2), " Inv-7")
    assert sorted(d.number for d in found or []) == [7, 5000, 5001]
    assert cache.get("purchase", 101, later(2), "INV-99999") == []
    assert len(cache.get("purchase", 101, later(2)) or []) == 3001


def test_a_failed_fetch_lets_the_next_call_fetch_at_once() -> None:
    """The lookup fails: no fetch is left held, the next call asks KashFlow itself."""
    cache = LedgerCache(TTL)
    script = Script({"documents_for_contact": [errors.TransientError("down"), [ledger(7)]]})
    with pytest.raises(errors.TransientError):
        script.run(ledger_view(BARE, 101, cache, script.clock))
    found = script.run(ledger_view(BARE, 101, cache, script.clock))
    assert [d.number for d in found] == [7]
    assert script.sleeps == []  # nobody waited for a fetch that was over


def test_threads_sharing_the_cache_lose_no_created_document() -> None:
    """Eight threads add 500 documents each while another puts and reads fetches: all stay."""
    cache = LedgerCache(TTL, lock=threading.Lock())
    stop = threading.Event()
    failures: list[BaseException] = []

    def guarded(work: Any) -> Any:
        def run(*args: Any) -> None:
            try:
                work(*args)
            except BaseException as exc:  # reported by the test below
                failures.append(exc)

        return run

    def fetcher() -> None:
        while not stop.is_set():
            cache.put("purchase", 101, [ledger(1)], START)
            cache.get("purchase", 101, later(1))

    def creator(base: int) -> None:
        for n in range(500):
            cache.add("purchase", 101, ledger(base + n), later(1))

    refetch = threading.Thread(target=guarded(fetcher))
    refetch.start()
    creators = [
        threading.Thread(target=guarded(creator), args=(10_000 * (t + 1),)) for t in range(8)
    ]
    for thread in creators:
        thread.start()
    for thread in creators:
        thread.join()
    stop.set()
    refetch.join()
    assert failures == []
    held = cache.get("purchase", 101, later(2)) or []
    assert len({d.number for d in held}) == 1 + 8 * 500


# ---------------------------------------------------------------------- in the publish flow


def test_a_document_we_created_answers_the_next_duplicate_check_without_a_lookup() -> None:
    """Same reference and total under another external id: refused from the cache, no fetch."""
    cache = LedgerCache(TTL)
    script = Script(
        {"documents_for_contact": [[]], "insert_document": [42], "get_document": [ledger(42)]}
    )
    flow = publish(BARE, fingerprint(BARE), LISTS, script.settings(ledger_cache=cache), owner="a")
    assert script.run(flow).number == 42
    twin = attrs.evolve(BARE, external_id="item-43")
    with pytest.raises(errors.ValidationError) as info:
        script.run(
            publish(twin, fingerprint(twin), LISTS, script.settings(ledger_cache=cache), owner="b")
        )
    assert info.value.problems[0].code == "duplicate_in_ledger"
    assert script.calls.count("documents_for_contact") == 1


def test_reconciling_looks_afresh_whatever_the_cache_holds() -> None:
    """After an uncertain insert the lookup goes to KashFlow, though the cache is fresh."""
    cache = LedgerCache(TTL)
    script = Script({"documents_for_contact": [[], [ledger(77)]], "insert_document": [uncertain()]})
    flow = publish(BARE, fingerprint(BARE), LISTS, script.settings(ledger_cache=cache), owner="a")
    assert script.run(flow).number == 77
    assert script.calls == ["documents_for_contact", "insert_document", "documents_for_contact"]


# ---------------------------------------------------------------------- against the fake


@pytest.mark.parametrize("client_kind", KINDS)
def test_a_batch_looks_up_each_supplier_once(client_kind: str) -> None:
    """12 receipts of one supplier, 4 at a time, with a slow history: one history download."""
    others = [attrs.evolve(purchase(i, prefix="o"), supplier="Other Supplier Ltd") for i in (1, 2)]
    docs = [purchase(i, prefix="batch") for i in range(12)]
    with FakeKashFlow.serve() as fake, any_client(client_kind, fake, loopback=True) as client:
        fake.add_supplier("Other Supplier Ltd")
        client.connect()
        fake.faults.delay(0.05, op="GetReceiptsForSupplier", times=None)
        batch = client.publish_many([*docs, *others], concurrency=4)
        assert not batch.failed, batch.failed[0].error
    assert len(fake.calls_to("GetReceiptsForSupplier")) == 2
