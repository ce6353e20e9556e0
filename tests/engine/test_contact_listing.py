"""A contact the engine creates is in the stored lists at once, and none is lost to a race."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
from _script import CONNECTION, Clock, Ids, Script, ledger, operation

from _lists_fixtures import clean_purchase, clean_sale, make_lists, standard_items
from kashflow_sync._account.items import Customer, Supplier
from kashflow_sync._convert import fingerprint
from kashflow_sync._documents.model import Document
from kashflow_sync._engine.contacts import contact_code, contact_id, list_contact
from kashflow_sync._engine.effects import (
    Flow,
    HolderGone,
    KashFlowEffect,
    LeaseWait,
    ReplaceList,
    SetState,
    Sleep,
    StorageEffect,
)
from kashflow_sync._engine.lease import Lease
from kashflow_sync._engine.publish import publish
from kashflow_sync._engine.settle import Settle
from kashflow_sync._journal.entry import JournalEntry
from kashflow_sync._storage_keys import LISTS_VERSION, contact_journal_key
from kashflow_sync.storage import SQLStorage
from kashflow_sync.storage.memory import MemoryStorage

LISTS = make_lists()
NEW = clean_purchase(supplier="Brand New Ltd", attachment=None, payment=None)
CODE = contact_code("Brand New Ltd")


def seeded(storage: Any = None) -> Any:
    """A storage (a MemoryStorage by default) holding the standard lists, as a sync left them."""
    storage = storage if storage is not None else MemoryStorage()
    for name, items in standard_items().items():
        storage.replace_list(CONNECTION, name, items)
    storage.set_state(CONNECTION, LISTS_VERSION, "synced")
    return storage


def publish_new(storage: MemoryStorage, document: Document = NEW) -> Script:
    """Publish *document*, whose contact is new (created with id 555), on *storage*."""
    script = Script(
        {
            "insert_contact": [555],
            "insert_document": [42],
            "get_document": [ledger(42, contact_id=555)],
        },
        storage=storage,
    )
    flow = publish(document, fingerprint(document), LISTS, script.settings(), owner="me")
    script.run(flow)
    return script


def test_created_supplier_is_added_to_the_stored_list() -> None:
    """After creating it, the engine stores the supplier (id, code, name) beside the others."""
    storage = seeded()
    publish_new(storage)
    stored = storage.load_list(CONNECTION, "suppliers")
    assert list(stored[:-1]) == list(standard_items()["suppliers"])
    assert stored[-1] == Supplier(555, CODE, "Brand New Ltd")


def test_created_customer_is_added_to_the_customers() -> None:
    """A sales document's new customer goes to the customers, not the suppliers."""
    storage = seeded()
    sale = clean_sale(customer="Brand New Ltd", payment=None)
    publish_new(storage, sale)
    assert storage.load_list(CONNECTION, "customers")[-1] == Customer(555, CODE, "Brand New Ltd")
    assert len(storage.load_list(CONNECTION, "suppliers")) == len(standard_items()["suppliers"])


def test_lists_version_changes_so_every_client_reloads() -> None:
    """The lists version stamp changes after the list is stored (never before)."""
    storage = seeded()
    script = publish_new(storage)
    assert storage.get_state(CONNECTION, LISTS_VERSION) not in (None, "synced")
    storage_calls = [
        ("replace_list", e.name) if isinstance(e, ReplaceList) else ("set_state", e.key)
        for e in script.effects
        if isinstance(e, ReplaceList | SetState)
    ]
    stored_at = storage_calls.index(("replace_list", "suppliers"))
    assert ("set_state", LISTS_VERSION) in storage_calls[stored_at:]


def test_contact_created_earlier_but_not_listed_is_listed() -> None:
    """A worker that died between creating and listing the supplier: the next one lists it."""
    storage = seeded()
    key = contact_journal_key("purchase", "Brand New Ltd")
    entry = JournalEntry(CONNECTION, key, "purchase", CODE, state="published")
    storage.claim_journal(entry, "dead", Clock()(), Clock()())
    stored = storage.get_journal(CONNECTION, key)
    assert stored is not None
    storage.update_journal(attrs.evolve(stored, kashflow_id=555, owner=None), "dead")
    script = Script(
        {
            "documents_for_contact": [[]],
            "insert_document": [42],
            "get_document": [ledger(42, contact_id=555)],
        },
        storage=storage,
    )
    script.run(publish(NEW, fingerprint(NEW), LISTS, script.settings(), owner="me"))
    assert "insert_contact" not in script.calls
    assert storage.load_list(CONNECTION, "suppliers")[-1] == Supplier(555, CODE, "Brand New Ltd")


def test_listing_twice_keeps_one() -> None:
    """Listing a contact the stored list already has (by id) writes nothing."""
    storage = seeded()
    lease = Lease(CONNECTION, "me", clock=Clock())
    script = Script(storage=storage)
    script.run(list_contact(NEW, lease, 555, CODE, new_id=script.ids))
    script.run(list_contact(NEW, lease, 555, CODE, new_id=script.ids))
    assert [s.kashflow_id for s in storage.load_list(CONNECTION, "suppliers")].count(555) == 1
    replaces = [e for e in script.effects if isinstance(e, ReplaceList)]
    assert len(replaces) == 1


# ---------------------------------------------------------------------- two workers at once


def interleave(storage: Any, clock: Clock, flows: Sequence[tuple[Flow[Any], Script]]):
    """Drive *flows* one effect each in turn, on one storage and one clock; return results.

    Round robin is the worst case for a read-modify-write: each worker reads the list, then
    each writes what it read plus its own contact.
    """
    pending: dict[int, Any] = {}
    results: dict[int, Any] = {}
    for i, (flow, _script) in enumerate(flows):
        pending[i] = next(flow)
    while pending:
        for i in list(pending):
            flow, script = flows[i]
            effect = pending[i]
            script.effects.append(effect)
            if isinstance(effect, StorageEffect):
                outcome = effect.perform(storage)
            elif isinstance(effect, Sleep):
                clock.advance(effect.seconds)
                outcome = None
            elif isinstance(effect, LeaseWait):
                outcome = None
            elif isinstance(effect, HolderGone):
                outcome = False
            else:
                assert isinstance(effect, KashFlowEffect)
                outcome = script.answers[operation(effect)].pop(0)
            try:
                pending[i] = flow.send(outcome)
            except StopIteration as stop:
                results[i] = stop.value
                del pending[i]
    return results


@pytest.fixture(params=["memory", "sqlite"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The storage two workers share: in memory, or one SQLite database."""
    if request.param == "memory":
        yield MemoryStorage()
        return
    with SQLStorage(f"sqlite:///{tmp_path}/kf.db") as storage:
        yield storage


def test_two_workers_creating_two_suppliers_keep_both(shared: Any) -> None:
    """Two new suppliers created at once both end in the stored list: neither write is lost."""
    storage, clock, ids = seeded(shared), Clock(), Ids()
    flows = []
    for n, name in enumerate(["First New Ltd", "Second New Ltd"]):
        script = Script(
            {"find_contact": [None], "insert_contact": [700 + n]}, storage=storage, clock=clock
        )
        document = clean_purchase(external_id=f"item-{n}", supplier=name)
        lease = Lease(CONNECTION, f"worker-{n}", wait_poll=0.05, clock=clock)
        settle = Settle(script.settings().settle_time, script.settings().request_deadline, clock)
        flows.append((contact_id(document, LISTS, lease, settle, new_id=ids), script))
    results = interleave(storage, clock, flows)
    assert results == {0: (700, True), 1: (701, True)}
    names = [s.name for s in storage.load_list(CONNECTION, "suppliers")]
    assert names[-2:] == ["First New Ltd", "Second New Ltd"]
    # The second waited for the first's lease on the list rather than reading it meanwhile.
    assert any(isinstance(e, Sleep) for e in flows[1][1].effects)
