"""The same invoice under two external ids, published at once, reaches KashFlow once.

The ledger lookup cannot see a copy another call is sending at that moment; the content claim
(``_engine/content.py``) can. Engine tests drive the interleavings exactly; the fake tests show
a batch and two workers with a slow KashFlow.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import attrs
import httpx
import pytest
from _script import CONNECTION, Script, ledger, refused, uncertain

import kashflow_sync as kfs
from _clients import KINDS, any_client
from _lists_fixtures import clean_purchase, make_lists
from _support import make_client, purchase
from kashflow_sync import errors
from kashflow_sync._convert import fingerprint
from kashflow_sync._documents.model import Document
from kashflow_sync._engine.effects import ClaimJournal, InsertDocument
from kashflow_sync._engine.publish import publish
from kashflow_sync._journal.entry import JournalEntry
from kashflow_sync._storage_keys import (
    CONTENT_KEY_PREFIX,
    content_journal_key,
    duplicate_key,
)
from kashflow_sync.storage.memory import MemoryStorage
from kashflow_sync.testing import FakeKashFlow

LISTS = make_lists()
FIRST = clean_purchase(attachment=None, payment=None)
TWIN = attrs.evolve(FIRST, external_id="item-43")


def run(script: Script, document: Document, owner: str, **settings: object):
    flow = publish(document, fingerprint(document), LISTS, script.settings(**settings), owner=owner)
    return script.run(flow)


def content_entry(storage: MemoryStorage, document: Document = FIRST):
    key = content_journal_key("purchase", 101, document.reference, document.gross)
    return storage.get_journal(CONNECTION, key)


def test_a_twin_published_after_the_first_is_refused_by_its_content_claim() -> None:
    """KashFlow's list does not show the first yet: the content claim still refuses the twin."""
    storage = MemoryStorage()
    first = Script(
        {"documents_for_contact": [[]], "insert_document": [42], "get_document": [ledger(42)]},
        storage=storage,
    )
    assert run(first, FIRST, "a").number == 42
    held = content_entry(storage)
    assert (held.state, held.number, held.fingerprint, held.owner) == (
        "published",
        42,
        "item-42",
        None,
    )
    twin = Script({"documents_for_contact": [[]]}, storage=storage)
    with pytest.raises(errors.ValidationError) as info:
        run(twin, TWIN, "b")
    problem = info.value.problems[0]
    assert problem.code == "duplicate_in_ledger"
    assert "'item-42'" in problem.message and "receipt 42" in problem.message
    assert "insert_document" not in twin.calls


def test_a_twin_started_while_the_first_is_being_sent_waits_then_stops() -> None:
    """The twin starts while the first's insert is out: it waits, never sends beside it."""
    storage = MemoryStorage()
    outcomes: list[object] = []

    def start_twin(effect: object) -> None:
        if isinstance(effect, InsertDocument) and not outcomes:
            twin = Script({"documents_for_contact": [[]]}, storage=storage, clock=first.clock)
            try:
                outcomes.append(run(twin, TWIN, "b"))
            except errors.KashFlowError as exc:
                outcomes.append(exc)
            outcomes.append(twin)

    first = Script(
        {"documents_for_contact": [[]], "insert_document": [42], "get_document": [ledger(42)]},
        storage=storage,
        before=start_twin,
    )
    assert run(first, FIRST, "a").number == 42
    error, twin = outcomes
    # Nested, the first cannot move on: the twin waits out the first's lease on the content,
    # then finds the first one's send under way.
    assert isinstance(error, errors.PublishUncertainError) and error.code == "duplicate_pending"
    assert "'item-42'" in str(error) and "Publish 'item-42' again" in (error.remedy or "")
    assert "insert_document" not in twin.calls and sum(twin.sleeps) >= 300
    assert content_entry(storage).fingerprint == "item-42"


def test_a_twin_after_an_uncertain_first_send_is_duplicate_pending() -> None:
    """The first's insert timed out and it stopped to settle: the twin does not send."""
    storage = MemoryStorage()
    first = Script(
        {"documents_for_contact": [[], []], "insert_document": [uncertain()]}, storage=storage
    )
    with pytest.raises(errors.PublishUncertainError) as settling:
        run(first, FIRST, "a", settle_time=timedelta(minutes=2))
    assert settling.value.code == "publish_settling"
    twin = Script({"documents_for_contact": [[]]}, storage=storage)
    with pytest.raises(errors.PublishUncertainError) as info:
        run(twin, TWIN, "b")
    assert info.value.code == "duplicate_pending" and info.value.retryable
    assert twin.calls == ["documents_for_contact"]
    assert twin.sleeps == []  # the first gave the content back: nothing to wait out
    assert content_entry(storage).owner is None  # given back at once, not held by the twin


def test_a_twin_takes_the_content_over_when_the_first_was_refused() -> None:
    """KashFlow refused the first (nothing there): the twin is sent and owns the content."""
    storage = MemoryStorage()
    first = Script({"documents_for_contact": [[]], "insert_document": [refused()]}, storage=storage)
    with pytest.raises(errors.RejectedError):
        run(first, FIRST, "a")
    twin = Script(
        {"documents_for_contact": [[]], "insert_document": [43], "get_document": [ledger(43)]},
        storage=storage,
    )
    assert run(twin, TWIN, "b").number == 43
    assert twin.sleeps == []  # the first gave the content back: nothing to wait out
    held = content_entry(storage)
    assert (held.fingerprint, held.state, held.number) == ("item-43", "published", 43)


def test_a_document_published_again_under_its_own_id_is_not_its_own_twin() -> None:
    """Refused once, then published again: the content it claimed is already its own."""
    script = Script(
        {
            "documents_for_contact": [[], []],
            "insert_document": [refused(), 42],
            "get_document": [ledger(42)],
        }
    )
    with pytest.raises(errors.RejectedError):
        run(script, FIRST, "a")
    assert run(script, FIRST, "a2").number == 42


class Crash(BaseException):
    """The process dying between two steps."""


class _OneByOne(MemoryStorage):
    """A host storage of calls one by one (no ``transaction()``), which dies once, right
    after the number is saved and before the content claim is given back with it."""

    transaction = None
    armed = True

    def update_journal(self, entry: JournalEntry, owner: str | None) -> bool:
        if self.armed and entry.external_id.startswith(CONTENT_KEY_PREFIX) and entry.number:
            raise Crash
        return super().update_journal(entry, owner)


def test_a_run_resumed_after_the_create_marks_the_content_as_in_kashflow() -> None:
    """The first run stops right after the journal took the number (a storage without
    transactions, where the calls of the step land one by one); the next one tidies up."""
    storage = _OneByOne()
    script = Script(
        {"documents_for_contact": [[]], "insert_document": [42], "get_document": [ledger(42)]},
        storage=storage,
    )
    with pytest.raises(Crash):
        run(script, FIRST, "a")
    assert content_entry(script.storage).state == "claimed"
    storage.armed = False
    assert run(script, FIRST, "a2").number == 42
    held = content_entry(script.storage)
    assert (held.state, held.number, held.owner) == ("published", 42, None)


def test_a_run_resumed_after_a_killed_holder_marks_the_content_at_once() -> None:
    """The first run's process dies with its insert applied (the content still claimed under
    its live lease); the next run takes the document over at once, as its holder no longer
    runs, and takes the content claim over too: nothing is left claimed, nothing waited out."""

    def kill_after_insert(effect: object) -> None:
        if "insert_document" in first.sent and not isinstance(effect, InsertDocument):
            raise Crash  # SIGKILL: no line of the flow runs after this (no give-back)

    storage = MemoryStorage()
    first = Script(
        {"documents_for_contact": [[]], "insert_document": [42]},
        storage=storage,
        before=kill_after_insert,
    )
    with pytest.raises(Crash):
        run(first, FIRST, "a")
    assert content_entry(storage).state == "claimed" and content_entry(storage).owner == "a"
    again = Script(
        {"documents_for_contact": [[ledger(42)]], "get_document": [ledger(42)]},
        storage=storage,
        clock=first.clock,
        gone={"a"},
    )
    assert run(again, FIRST, "b").number == 42
    assert again.sleeps == [] and "insert_document" not in again.calls
    held = content_entry(storage)
    assert (held.state, held.number, held.owner) == ("published", 42, None)


@pytest.mark.parametrize(
    ("document", "settings"),
    [(attrs.evolve(FIRST, reference=""), {}), (FIRST, {"check_ledger": False})],
    ids=["no reference", "duplicate checks off"],
)
def test_no_content_is_claimed_without_a_reference_or_with_the_checks_off(
    document: Document, settings: dict[str, object]
) -> None:
    script = Script(
        {"documents_for_contact": [[]], "insert_document": [42], "get_document": [ledger(42)]}
    )
    run(script, document, "a", **settings)
    keys = [c for c in script.effects if isinstance(c, ClaimJournal)]
    assert len(keys) == 1  # the document's own entry only
    assert not [
        e
        for e in script.storage.list_journal(CONNECTION)
        if e.external_id.startswith(CONTENT_KEY_PREFIX)
    ]


# ---------------------------------------------------------------------- against the fake


@pytest.mark.parametrize("client_kind", KINDS)
def test_the_same_invoice_twice_in_one_batch_lands_once(client_kind: str) -> None:
    """A slow KashFlow (100 ms an insert), 4 at a time: one receipt, the twin refused."""
    first = purchase(1, prefix="twin")
    twin = attrs.evolve(first, external_id="twin-1-again")
    docs = [first, twin, *(purchase(i, prefix="other") for i in range(2, 6))]
    with FakeKashFlow.serve() as fake, any_client(client_kind, fake, loopback=True) as client:
        client.connect()
        fake.faults.delay(0.1, op="InsertReceipt", times=None)
        batch = client.publish_many(docs, concurrency=4)
    assert len([r for r in fake.receipts if r.customer_reference == first.reference]) == 1
    # The two twins start on two threads at once: either may claim the content first (the
    # first in the list usually does; on a busy machine not always). One lands, one refused.
    oks = [item.ok for item in batch]
    assert oks[2:] == [True] * 4 and sorted(oks[:2]) == [False, True], oks
    landed, refused = (batch[0], batch[1]) if oks[0] else (batch[1], batch[0])
    error = refused.error
    assert isinstance(error, errors.ValidationError)
    assert error.problems[0].code == "duplicate_in_ledger"
    assert f"{landed.external_id!r}" in error.problems[0].message


def test_two_workers_given_the_same_invoice_land_it_once() -> None:
    """Two clients (two workers' worth: own caches, shared storage) publish twins at once."""
    storage = MemoryStorage()
    first = purchase(7, prefix="worker")
    twin = attrs.evolve(first, external_id="worker-7-again")
    outcomes: dict[str, object] = {}
    with FakeKashFlow.serve() as fake:
        fake.faults.delay(0.1, op="InsertReceipt", times=None)
        start = threading.Barrier(2)

        def worker(document: Document) -> None:
            with httpx.Client() as http, make_client(fake, http, storage=storage) as client:
                client.connect()
                start.wait()
                try:
                    outcomes[document.external_id] = client.publish(document).number
                except errors.KashFlowError as exc:
                    outcomes[document.external_id] = exc

        threads = [threading.Thread(target=worker, args=(d,)) for d in (first, twin)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        landed = [r for r in fake.receipts if r.customer_reference == first.reference]
    assert len(landed) == 1
    refused_one = [o for o in outcomes.values() if isinstance(o, errors.ValidationError)]
    assert len(refused_one) == 1 and refused_one[0].problems[0].code == "duplicate_in_ledger"


def _explicit(net: str, vat: str, external_id: str) -> Document:
    line = kfs.Line(
        description="Paper", net=Decimal(net), vat=Decimal(vat), vat_rate=Decimal(20), category=7500
    )
    return attrs.evolve(FIRST, external_id=external_id, lines=[line])


def test_amounts_written_differently_are_one_content() -> None:
    """120 and 120.00 are the same total: one content key, one duplicate key."""
    plain, pence = _explicit("100", "20", "a"), _explicit("100.00", "20.00", "b")
    assert (str(plain.gross), str(pence.gross)) == ("120", "120.00")
    assert content_journal_key("purchase", 101, "INV-1", plain.gross) == content_journal_key(
        "purchase", 101, "INV-1", pence.gross
    )
    assert duplicate_key("purchase", 101, "INV-1", plain.gross) == duplicate_key(
        "purchase", 101, " inv-1", pence.gross
    )


@pytest.mark.parametrize("client_kind", KINDS)
def test_a_twin_with_its_amounts_written_otherwise_is_refused(client_kind: str) -> None:
    """Published as 100 + 20; the twin says 100.00 + 20.00: validation names the first."""
    first, twin = _explicit("100", "20", "fmt-1"), _explicit("100.00", "20.00", "fmt-1-again")
    fake = FakeKashFlow()
    with any_client(client_kind, fake) as client:
        client.connect()
        assert client.publish(first).status == "published"
        assert [p.code for p in client.validate(twin)] == ["duplicate_in_ledger"]  # offline
        with pytest.raises(errors.ValidationError) as info:
            client.publish(twin)
    assert info.value.problems[0].code == "duplicate_in_ledger"
    assert "fmt-1" in info.value.problems[0].message
    assert len(fake.receipts) == 1
