"""New contacts cost at most two requests, however many share their first letters.

A new supplier's code is a stem of its name and a digest of the whole name, so creating one is
an insert (and a lookup only when the code is taken), never a walk over candidate codes; and two
clients that do not share a journal (two connections on one account, two storages) creating the
same new supplier pick the same code, so KashFlow lets one through and the other adopts it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal

import pytest

import kashflow_sync as kfs
from _support import make_client
from kashflow_sync._engine.contacts import CODE_MAX, CODE_VARIANTS, contact_code
from kashflow_sync.testing import FakeKashFlow

SIDES = {
    "supplier": ("InsertSupplier", "GetSupplier", "supl", "SupplierCode"),
    "customer": ("InsertCustomer", "GetCustomer", "custr", "CustomerCode"),
}


def document(side: str, contact: str, n: int, prefix: str = "c") -> kfs.Document:
    """A purchase from (or a sale to) *contact*, numbered *n*."""
    common = {
        "external_id": f"{prefix}-{side}-{n}",
        "reference": f"{prefix.upper()}-{n}",
        "issue_date": date(2026, 11, 2),
    }
    if side == "supplier":
        line = kfs.Line(net=Decimal("10.00"), vat_rate=Decimal("20"), category=7500)
        return kfs.PurchaseInvoice(supplier=contact, lines=[line], **common)  # type: ignore[arg-type]
    line = kfs.Line(description="Work", net=Decimal("10.00"), vat_rate=Decimal("20"), category=4000)
    return kfs.SalesInvoice(customer=contact, lines=[line], **common)  # type: ignore[arg-type]


def the_names(first: int, last: int) -> list[str]:
    """Names a real ledger has hundreds of, all sharing the stem THE (and THESU)."""
    return [f"The Supplies Company {n:03d}" for n in range(first, last + 1)]


def requests_per_contact(fake: FakeKashFlow, side: str, names: Iterable[str]) -> dict[str, int]:
    """Per name, the inserts and lookups of its contact the fake received."""
    insert, lookup, wire, code_field = SIDES[side]
    owner = {contact_code(n, v): n for n in names for v in range(CODE_VARIANTS)}
    counts: Counter[str] = Counter()
    for call in fake.calls:
        if call.operation == insert:
            counts[str(call.params[wire]["Name"])] += 1  # type: ignore[index]
        elif call.operation == lookup:
            counts[owner.get(str(call.params[code_field]), "?")] += 1
    return dict(counts)


def contacts_of(fake: FakeKashFlow, side: str) -> list[object]:
    """The fake's suppliers or customers."""
    return list(fake.suppliers if side == "supplier" else fake.customers)


@pytest.mark.parametrize("side", ["supplier", "customer"])
def test_200_new_contacts_sharing_a_stem_cost_at_most_two_requests_each(
    fake: FakeKashFlow, side: str
) -> None:
    """200 'The ...' contacts, then 200 more from a client whose lists know none of the first.

    The second client plays another connection on the account: its lists and journal hold
    nothing of the first 200, which share its names' stem. Each new contact still costs at most
    2 requests (1 here), codes stay distinct and within the length kept, and a name of the first
    200 published again by the second client is adopted, not created twice.
    """
    first_names, more_names = the_names(1, 200), the_names(201, 400)
    with make_client(fake) as first, make_client(fake) as other:
        first.connect()
        other.connect()  # lists synced before the first 200 exist
        fake.reset_calls()
        results = first.publish_many([document(side, n, i) for i, n in enumerate(first_names)])
        assert not results.failed, results.failed[:1]
        by_first = requests_per_contact(fake, side, first_names)
        fake.reset_calls()
        again = [*more_names, *first_names[:5]]
        results = other.publish_many([document(side, n, i, "o") for i, n in enumerate(again)])
        assert not results.failed, results.failed[:1]
        by_other = requests_per_contact(fake, side, again)
    assert by_first == dict.fromkeys(first_names, 1)  # an insert each, no lookup
    assert by_other == {**dict.fromkeys(more_names, 1), **dict.fromkeys(first_names[:5], 2)}
    contacts = contacts_of(fake, side)
    names = Counter(c.name for c in contacts)  # type: ignore[attr-defined]
    assert all(names[n] == 1 for n in [*first_names, *more_names])
    codes = [c.code for c in contacts]  # type: ignore[attr-defined]
    assert len(set(codes)) == len(codes)
    assert all(len(c.code) <= CODE_MAX and c.code.isalnum() for c in contacts)  # type: ignore[attr-defined]


def test_code_taken_by_another_name_in_kashflow_moves_to_the_second_code(
    client: kfs.KashFlowClient, fake: FakeKashFlow
) -> None:
    """A name's code held by another contact the lists do not know: its second code, 3 requests."""
    first = contact_code("Brand New Supplies")
    fake.add_supplier("Someone Else Ltd", code=first)  # created after the last sync
    fake.reset_calls()
    client.publish(document("supplier", "Brand New Supplies", 1))
    created = fake.find_supplier("Brand New Supplies")
    assert created is not None and created.code == contact_code("Brand New Supplies", 1)
    assert requests_per_contact(fake, "supplier", ["Brand New Supplies"]) == {
        "Brand New Supplies": 3
    }


def test_both_codes_taken_by_other_names_is_a_typed_error(
    client: kfs.KashFlowClient, fake: FakeKashFlow
) -> None:
    """Both codes held by other names: CONTACT_CODE_TAKEN with a remedy, nothing created."""
    for variant, other in enumerate(["Someone Else Ltd", "Another One Ltd"]):
        fake.add_supplier(other, code=contact_code("Brand New Supplies", variant))
    with pytest.raises(kfs.errors.RejectedError) as raised:
        client.publish(document("supplier", "Brand New Supplies", 1))
    assert raised.value.code == "contact_code_taken" and raised.value.remedy
    assert fake.find_supplier("Brand New Supplies") is None


def run_together(*jobs: Callable[[], object]) -> list[object]:
    """Run *jobs* in threads released at once; their results (or exceptions), in order."""
    gate = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def worker(i: int, job: Callable[[], object]) -> None:
        gate.wait()
        try:
            results[i] = job()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i, j)) for i, j in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.mark.parametrize("shared", [True, False], ids=["one storage", "two storages"])
def test_two_clients_creating_the_same_new_supplier_at_once_make_one(
    fake: FakeKashFlow, shared: bool
) -> None:
    """Two clients publish documents from the same 20 new suppliers at the same moment.

    With one storage the contact's journal entry lets one create each; with two (two
    connections on one account, no shared journal) the code does: both send the same code and
    KashFlow refuses the second, which adopts the first's supplier. Either way one supplier per
    name, and every document hangs off it.
    """
    names = [f"Twin Race Traders {n:02d}" for n in range(20)]
    shared_storage = kfs.MemoryStorage()
    a = make_client(fake, storage=shared_storage if shared else kfs.MemoryStorage())
    b = make_client(fake, storage=shared_storage if shared else kfs.MemoryStorage())
    with a, b:
        a.connect()
        b.connect()
        docs_a = [document("supplier", n, i, prefix="a") for i, n in enumerate(names)]
        docs_b = [document("supplier", n, i, prefix="b") for i, n in enumerate(names)]
        fake.reset_calls()
        results = run_together(
            lambda: [a.publish(d) for d in docs_a], lambda: [b.publish(d) for d in reversed(docs_b)]
        )
    for outcome in results:
        assert not isinstance(outcome, Exception), outcome
    inserts = fake.calls_to("InsertSupplier")
    refused = [c for c in inserts if c.status == "NO"]
    # One storage: its journal lets one client insert each. Two: both insert, KashFlow refuses
    # the second of each pair (the same code), which adopts the first's.
    assert (len(inserts), len(refused)) == ((20, 0) if shared else (40, 20))
    suppliers = Counter(s.name for s in fake.suppliers)
    assert all(suppliers[n] == 1 for n in names), suppliers
    by_name = {s.name: s.supplier_id for s in fake.suppliers}
    for outcome, docs in zip(results, (docs_a, list(reversed(docs_b))), strict=True):
        for result, doc in zip(outcome, docs, strict=True):  # type: ignore[call-overload]
            receipt = fake.receipt(result.number)
            assert receipt is not None and receipt.customer_id == by_name[doc.supplier]


def test_lost_answer_while_another_connection_creates_the_same_supplier(
    fake: FakeKashFlow,
) -> None:
    """A's insert is applied but its answer and the lookup after it are lost; B (another
    journal) then publishes the same supplier and adopts A's; A's retry finds it by the code it
    kept. One supplier, both receipts on it."""
    with make_client(fake) as a, make_client(fake) as b:
        a.connect()
        b.connect()
        fake.faults.drop_response(op="InsertSupplier", times=1)
        fake.faults.http_error(500, op="GetSupplier", times=3)  # every retry of A's lookup
        with pytest.raises(kfs.errors.KashFlowError):
            a.publish(document("supplier", "Lost Answer Ltd", 1, prefix="a"))
        b_result = b.publish(document("supplier", "Lost Answer Ltd", 1, prefix="b"))
        a_result = a.publish(document("supplier", "Lost Answer Ltd", 1, prefix="a"))
    [supplier] = [s for s in fake.suppliers if s.name == "Lost Answer Ltd"]
    assert len(fake.calls_to("InsertSupplier")) == 2  # A's (applied), B's (code taken)
    for result in (a_result, b_result):
        receipt = fake.receipt(result.number)
        assert receipt is not None and receipt.customer_id == supplier.supplier_id
