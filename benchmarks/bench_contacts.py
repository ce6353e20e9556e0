"""Matching a document's supplier against 20,000 suppliers: what validation costs per document.

Validation runs on every publish, so the supplier match must stay cheap on a large account. One
document is validated (``validate_document``, offline, no storage and no network: 0 round trips)
against a lists snapshot of N generated suppliers, in four cases, each timed per call (median
of several rounds) in the same run:

- ``exact``: the supplier is in the list (the dictionary look-up every publish does: baseline);
- ``similar``: a near-miss (``Acme Papr Ltd``-style typo of a listed name): ``similar_contact``;
- ``new``: a clearly new name: the ``new_supplier`` notice, naming the closest names;
- ``new, no index``: the same, had each validation compared the name with every supplier by the
  rule directly (what the index saves).

Also timed once: building the snapshot (paid on every lists change anyway); building the name
index for the list (paid on the first unmatched name after the lists change); and, through
``client.lists``' view over a MemoryStorage, the first unmatched name after the SDK appended a
contact to the stored list (the grown list reuses its predecessor's indexes) against the same
after a change that forces a rebuild.

Run: ``python benchmarks/bench_contacts.py [--suppliers 20000] [--rounds 200] [--seed 7]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import kashflow_sync as kfs
from kashflow_sync._account.items import (
    BankAccount,
    Currency,
    NominalCode,
    PaymentMethod,
    Supplier,
    VatRate,
)
from kashflow_sync._account.lists import ListsSnapshot
from kashflow_sync._documents.similar import NameIndex, canonical, similar
from kashflow_sync._documents.validate import validate_document

_FIRST = [
    "Acme",
    "Abbey",
    "Alpha",
    "Apex",
    "Arden",
    "Atlas",
    "Beacon",
    "Birch",
    "Bridge",
    "Bright",
    "Castle",
    "Cedar",
    "Central",
    "City",
    "Coastal",
    "Crown",
    "Delta",
    "Eagle",
    "Elite",
    "Falcon",
    "First",
    "Forest",
    "Global",
    "Golden",
    "Granite",
    "Green",
    "Harbour",
    "Heritage",
    "Highland",
    "Horizon",
    "Imperial",
    "Iron",
    "Jubilee",
    "Kingsway",
    "Lakeside",
    "Liberty",
    "Lion",
    "Maple",
    "Meridian",
    "Metro",
    "Millennium",
    "Morgan",
    "North",
    "Oak",
    "Orchard",
    "Pacific",
    "Park",
    "Phoenix",
    "Pioneer",
    "Premier",
    "Prime",
    "Quay",
    "Regal",
    "Riverside",
    "Royal",
    "Saxon",
    "Silver",
    "Smith",
    "Sovereign",
    "Spring",
    "Summit",
    "Sunrise",
    "Thames",
    "Tower",
    "Unity",
    "Valley",
    "Vanguard",
    "Victoria",
    "Wessex",
    "West",
    "Willow",
    "Windsor",
    "York",
    "Zenith",
]
_TRADE = [
    "Paper",
    "Print",
    "Plumbing",
    "Electrical",
    "Joinery",
    "Roofing",
    "Cleaning",
    "Catering",
    "Coffee",
    "Logistics",
    "Haulage",
    "Taxis",
    "Builders",
    "Glazing",
    "Motors",
    "Tyres",
    "Flooring",
    "Security",
    "Consulting",
    "Accountancy",
    "Legal",
    "Dental",
    "Veterinary",
    "Florists",
    "Bakery",
    "Butchers",
    "Brewery",
    "Pharmacy",
    "Opticians",
    "Stationery",
    "Timber",
    "Steel",
    "Packaging",
    "Signs",
    "Media",
    "Software",
    "Telecom",
    "Energy",
    "Insurance",
    "Recruitment",
    "Training",
    "Travel",
]
_TAIL = ("Ltd", "Limited", "PLC", "LLP", "& Co", "& Sons", "Services", "Supplies", "Group", "")


def supplier_names(count: int, rng: random.Random) -> list[str]:
    """*count* distinct, plausible UK supplier names (some with a number: Unit 4, Taxi 12)."""
    names: dict[str, None] = {}
    while len(names) < count:
        parts = [rng.choice(_FIRST)]
        if rng.random() < 0.5:
            parts.append(rng.choice(_FIRST))
        parts.append(rng.choice(_TRADE))
        if rng.random() < 0.15:
            parts.append(str(rng.randint(1, 99)))
        parts.append(rng.choice(_TAIL))
        names.setdefault(" ".join(p for p in parts if p), None)
    return list(names)


def typo(name: str, rng: random.Random) -> str:
    """*name* with one letter of its first long word dropped (a typical typo)."""
    words = name.split()
    index = next(i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha())
    word = words[index]
    cut = rng.randrange(1, len(word) - 1)
    words[index] = word[:cut] + word[cut + 1 :]
    return " ".join(words)


def lists_with(names: list[str]) -> ListsSnapshot:
    """Every list a purchase is validated against, with *names* as the suppliers."""
    return ListsSnapshot.of(
        nominal_codes=[NominalCode(1, 7500, "Printing", classification_id=3)],
        suppliers=[Supplier(10_000 + i, f"S{i:05d}", n) for i, n in enumerate(names)],
        projects=[],
        purchase_payment_methods=[PaymentMethod(1, "Credit card")],
        bank_accounts=[BankAccount(1, "Current", 1200)],
        vat_rates=[VatRate(1, "20%", Decimal("20"))],
        currencies=[Currency(1, "GBP", is_default=True)],
    )


def purchase(supplier: str) -> kfs.PurchaseInvoice:
    """A purchase that is valid apart from its supplier."""
    return kfs.PurchaseInvoice(
        external_id="bench-1",
        supplier=supplier,
        reference="INV-1",
        issue_date=date(2026, 11, 2),
        lines=[kfs.Line(net=Decimal("100.00"), vat_rate=Decimal("20"), category=7500)],
    )


def after_a_contact_was_added(lists: ListsSnapshot) -> tuple[float, float]:
    """Nanoseconds to the first near-miss answer after a contact was appended; after a rebuild.

    Through ``Lists`` (``client.lists``) over a MemoryStorage: the stored list grows by one
    supplier and the lists version changes, as after the SDK creates a supplier.
    """
    from kashflow_sync._account.lists import Lists
    from kashflow_sync._storage_keys import LISTS_VERSION
    from kashflow_sync.storage.memory import MemoryStorage

    storage, cid = MemoryStorage(), "bench"
    items = list(lists.suppliers)
    storage.replace_list(cid, "suppliers", items)
    view = Lists(storage, cid)
    view.suppliers.similar("warm the index")
    timings = []
    for grown in (
        [*items, Supplier(1, "NEW001", "Brand New Supplies Ltd")],  # appended: indexes grow
        [Supplier(2, "NEW002", "First Of All Ltd"), *items],  # not an append: rebuilt
    ):
        storage.replace_list(cid, "suppliers", grown)
        storage.set_state(cid, LISTS_VERSION, f"v{len(timings)}")
        start = time.perf_counter_ns()
        view.suppliers.similar("Brnad New Supplies Ltd")
        timings.append(time.perf_counter_ns() - start)
        storage.replace_list(cid, "suppliers", items)
        storage.set_state(cid, LISTS_VERSION, f"back{len(timings)}")
        view.suppliers.similar("warm the index")
    return timings[0], timings[1]


def per_call(fn: Callable[[], Any], rounds: int) -> float:
    """Median nanoseconds of one call of *fn* over *rounds* calls (after one warm-up)."""
    fn()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples)


def _us(ns: float) -> str:
    return f"{ns / 1000:10.1f} µs"


def main() -> None:
    """Build the list, time each case, print per-call costs and ratios to the exact match."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suppliers", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    names = supplier_names(args.suppliers, rng)

    start = time.perf_counter_ns()
    lists = lists_with(names)
    snapshot_ns = time.perf_counter_ns() - start
    start = time.perf_counter_ns()
    lists.suppliers.similar("warm the index")  # the index is built on first use
    index_ns = time.perf_counter_ns() - start
    appended_ns, rebuilt_ns = after_a_contact_was_added(lists)

    known = rng.choice(names)
    near = typo(rng.choice([n for n in names if any(len(w) >= 5 for w in n.split())]), rng)
    fresh = "Quixotic Llama Haberdashery Ltd"
    cases: dict[str, tuple[str, str]] = {
        "exact": (known, ""),
        "similar": (near, "similar_contact"),
        "new": (fresh, "new_supplier"),
    }
    results: dict[str, float] = {}
    for case, (supplier, expected) in cases.items():
        document = purchase(supplier)
        codes = [p.code for p in validate_document(document, lists)]
        assert codes == ([expected] if expected else []), (case, supplier, codes)
        results[case] = per_call(lambda d=document: validate_document(d, lists), args.rounds)

    # What the index saves: the rule applied to every supplier for one new name.
    canon = [(n, canonical(n)) for n in names]
    query = canonical(fresh)
    results["new, no index"] = per_call(
        lambda: [n for n, c in canon if similar(query, c)], max(5, args.rounds // 20)
    )
    # The index alone, without the rest of validation.
    index = NameIndex((n, n) for n in names)
    results["index look-up (similar)"] = per_call(lambda: index.similar(near), args.rounds)
    results["index look-up (new)"] = per_call(lambda: index.similar(fresh), args.rounds)

    base = results["exact"]
    print(
        f"{args.suppliers} suppliers; snapshot built in {snapshot_ns / 1e6:.1f} ms; name index "
        f"built in {index_ns / 1e6:.1f} ms (once per lists version)"
    )
    print(
        f"first unmatched name after the SDK added a contact: {appended_ns / 1e6:.1f} ms "
        f"(indexes grown); after a change that rebuilds them: {rebuilt_ns / 1e6:.1f} ms"
    )
    print(f"near-miss: {near!r}; new: {fresh!r}")
    print(f"{'case':26} {'per validate':>13}  vs exact")
    for case, ns in results.items():
        print(f"{case:26} {_us(ns)}  {ns / base:7.1f}x")


if __name__ == "__main__":
    main()
