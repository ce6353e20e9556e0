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

Then, creating new suppliers (``--creation N``, default 200; 0 skips it): N suppliers whose
names share their first six letters (``The Supplies ...``) published one ``publish`` at a time
against the in-process fake, counting the KashFlow requests each new supplier costs
(``GetSupplier`` lookups and ``InsertSupplier``), before and after in the same run. "Before" is
the code choice the SDK had until issue 25 (the name's first six letters and a counter, each
candidate looked up in KashFlow, up to 20), put back in place of the engine's ``_create`` for
that run; "after" is the SDK as it is (a stem and a digest of the name: one insert). Three cases:

- ``one client``: the client lists each supplier it creates, so it knows the taken codes;
- ``other connection``: a client whose lists and journal know none of N suppliers another
  connection made first (the Celery path's many connections), publishing N more names;
- ``same names``: that client publishing the *same* N names: how many suppliers end up twice.

Run: ``python benchmarks/bench_contacts.py [--suppliers 20000] [--rounds 200] [--seed 7]
[--creation 200]``.
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
from kashflow_sync._engine import contacts as engine_contacts

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


# ---------------------------------------------------------------------- creating contacts


def _counter_walk_create(
    document: Any,
    entry: Any,
    contacts: Any,
    lease: Any,
    settle: Any,
    taken_over: bool,
    new_id: Callable[[], str],
) -> Any:
    """The engine's contact creation before issue 25, for the "before" runs (no fault handling).

    The name's first six letters and a two-digit counter; each candidate free in the lists is
    looked up in KashFlow (``GetSupplier``), up to 20, then a random suffix; then the insert.
    """
    from kashflow_sync._engine.effects import FindContact, InsertContact, ask, renewing
    from kashflow_sync._journal.states import PUBLISHED, SENDING

    name = document.contact.strip()
    taken = {c.code.casefold() for c in contacts}
    stem = "".join(ch for ch in name.upper() if ch.isalnum())[:6] or "NEW"
    code = ""
    for n in range(1, 21):
        code = next(
            f"{stem}{k:02d}" for k in range(n, 1000) if f"{stem}{k:02d}".casefold() not in taken
        )
        if (yield from ask(FindContact(document.kind, code))) is None:
            break
        taken.add(code.casefold())
    else:
        code = f"{stem}{new_id()[:6].upper()}"
    entry = yield from lease.save(entry, state=SENDING, fingerprint=code)
    created = yield from renewing(
        lease.renewal(entry), ask(InsertContact(document.kind, name, code))
    )
    yield from lease.save(entry, state=PUBLISHED, kashflow_id=created, release=True)
    return created, code, True


def _receipt(supplier: str, n: int, prefix: str) -> kfs.PurchaseInvoice:
    return kfs.PurchaseInvoice(
        external_id=f"{prefix}-{n}",
        supplier=supplier,
        reference=f"{prefix.upper()}-{n}",
        issue_date=date(2026, 11, 2),
        lines=[kfs.Line(net=Decimal("10.00"), vat_rate=Decimal("20"), category=7500)],
    )


def _client(fake: Any) -> kfs.KashFlowClient:
    client = kfs.KashFlowClient(
        fake.credentials, endpoint=fake.url, http_client=fake.http_client(), app_name="bench"
    )
    client.connect()
    return client


def _publish_counting(
    client: kfs.KashFlowClient, fake: Any, names: list[str], prefix: str
) -> dict[str, float]:
    """Publish one receipt per name, one at a time; contact requests and seconds per name."""
    per_contact: list[int] = []
    lookups = inserts = 0
    start = time.perf_counter()
    for n, name in enumerate(names):
        before = len(fake.calls)
        client.publish(_receipt(name, n, prefix))
        ops = [c.operation for c in fake.calls[before:]]
        lookups += ops.count("GetSupplier")
        inserts += ops.count("InsertSupplier")
        per_contact.append(ops.count("GetSupplier") + ops.count("InsertSupplier"))
    seconds = time.perf_counter() - start
    count = len(names)
    return {
        "lookups": lookups / count,
        "inserts": inserts / count,
        "requests": (lookups + inserts) / count,
        "max": max(per_contact),
        "ms": seconds * 1000 / count,
    }


def creation_costs(count: int) -> dict[tuple[str, str], dict[str, float]]:
    """Per case and way (before/after), what one new supplier cost (see the module docstring)."""
    from kashflow_sync.testing import FakeKashFlow

    first = [f"The Supplies {n:03d} Ltd" for n in range(count)]
    more = [f"The Supplies {n:03d} Ltd" for n in range(count, 2 * count)]
    results: dict[tuple[str, str], dict[str, float]] = {}
    real_create = engine_contacts._create
    for way in ("before", "after"):
        if way == "before":
            engine_contacts._create = _counter_walk_create  # type: ignore[assignment]
        try:
            fake = FakeKashFlow()
            with _client(fake) as one, _client(fake) as other:  # other: lists taken now
                results[("one client", way)] = _publish_counting(one, fake, first, "a")
                results[("other connection", way)] = _publish_counting(other, fake, more, "b")
                results[("same names", way)] = _publish_counting(other, fake, first, "c")
            twice = sum(1 for s in fake.suppliers if s.name in set(first)) - len(first)
            results[("same names", way)]["twice"] = twice
        finally:
            engine_contacts._create = real_create
    return results


def print_creation(count: int) -> None:
    """Print :func:`creation_costs` as a table with after/before ratios."""
    results = creation_costs(count)
    print()
    print(f"creating {count} new suppliers sharing a six-letter stem ('The Supplies NNN Ltd'),")
    print("one publish each, in-process fake; KashFlow requests per new supplier:")
    head = f"{'case':18} {'way':7} {'GetSupplier':>11} {'Insert':>7} {'requests':>9} {'max':>4}"
    print(f"{head} {'ms/supplier':>12} {'twice':>6}")
    for (case, way), r in results.items():
        print(
            f"{case:18} {way:7} {r['lookups']:11.2f} {r['inserts']:7.2f} {r['requests']:9.2f} "
            f"{r['max']:4.0f} {r['ms']:12.2f} {r.get('twice', 0):6.0f}"
        )
    for case in ("one client", "other connection", "same names"):
        b, a = results[(case, "before")], results[(case, "after")]
        print(
            f"{case}: requests per new supplier {b['requests']:.2f} -> {a['requests']:.2f} "
            f"({a['requests'] / b['requests']:.2f}x), lookups {b['lookups']:.2f} -> "
            f"{a['lookups']:.2f}; at 100 ms a request: {b['requests'] * 100:.0f} -> "
            f"{a['requests'] * 100:.0f} ms of latency each"
        )


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
    parser.add_argument("--creation", type=int, default=200)
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
    if args.creation:
        print_creation(args.creation)


if __name__ == "__main__":
    main()
