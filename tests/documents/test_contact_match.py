"""Contacts matched as a careful bookkeeper would: used, refused as similar, or created."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from _lists_fixtures import clean_purchase, clean_sale, make_lists, standard_items
from kashflow_sync._account.items import Customer, ItemList, Supplier
from kashflow_sync._account.lists import ListsSnapshot
from kashflow_sync._documents.similar import NameIndex, canonical, similar
from kashflow_sync._documents.validate import validate_document
from kashflow_sync._documents.validate_contact import match_contact

USED, SIMILAR, CONFUSABLE, CREATED = "used", "similar", "confusable", "created"

# (existing supplier, name on the document, outcome). Each row is checked against a list
# holding only its existing supplier (code EX01), so rows cannot answer for each other.
PAIRS: list[tuple[str, str, str]] = [
    # The same name as a person reads it: used.
    ("Acme Paper Ltd", "ACME PAPER LTD", USED),
    ("Acme Paper Ltd", "  acme   paper ltd ", USED),
    ("Acme Paper Ltd", "Acme\u00a0Paper Ltd", USED),
    ("Acme Paper Ltd", "Acme Paper Ltd\u200b", USED),
    ("Acme Paper Ltd", "\uff21cme Paper Ltd", USED),
    ("Acme Paper Ltd", "ex01", USED),
    # Typos: a letter dropped, doubled, swapped with its neighbour, replaced.
    ("Acme Paper Ltd", "Acme Papr Ltd", SIMILAR),
    ("Acme Paper Ltd", "Acme Papper Ltd", SIMILAR),
    ("Acme Paper Ltd", "Acme Paepr Ltd", SIMILAR),
    ("Johnson Electrical Ltd", "Jonson Electrical Ltd", SIMILAR),
    ("Wickes Building Supplies", "Wickes Bulding Supplies", SIMILAR),
    ("British Telecommunications plc", "British Telecomunications plc", SIMILAR),
    ("Smith & Sons Ltd", "Smith and Son Ltd", SIMILAR),
    # Legal forms and their spellings.
    ("Acme Paper Ltd", "Acme Paper Limited", SIMILAR),
    ("Acme Paper Ltd", "Acme Paper", SIMILAR),
    ("Acme Paper Ltd", "Acme Paper PLC", SIMILAR),
    ("Acme Paper Ltd", "Acme Paper Ltd.", SIMILAR),
    ("Bloggs & Co", "Bloggs & Co Ltd", SIMILAR),
    ("Amazon EU Sarl", "Amazon EU", SIMILAR),
    ("Smith Brothers Ltd", "Smith Bros Ltd", SIMILAR),
    # "&" and "and", punctuation, spacing, "The", accents.
    ("Bloggs & Co", "Bloggs and Co", SIMILAR),
    ("Marks & Spencer PLC", "Marks and Spencer", SIMILAR),
    ("Acme Paper Ltd", "Acme-Paper Ltd", SIMILAR),
    ("Acme Paper Ltd", "AcmePaper Ltd", SIMILAR),
    ("O'Brien Builders", "OBrien Builders", SIMILAR),
    ("O'Brien Builders", "O\u2019Brien Builders", SIMILAR),
    ("St. John's Garage", "St Johns Garage", SIMILAR),
    ("The Print Shop", "Print Shop", SIMILAR),
    ("The Print Shop", "The Print Shop Ltd", SIMILAR),
    ("Caf\u00e9 Nero Ltd", "Cafe Nero Ltd", SIMILAR),
    # A word dropped or added (not the first).
    ("Acme Paper Ltd", "Acme Ltd", SIMILAR),
    ("Acme Paper Ltd", "Acme Paper Supplies Ltd", SIMILAR),
    ("Acme Paper Ltd", "Acme Paper (UK) Ltd", SIMILAR),
    ("Screwfix Direct", "Screwfix", SIMILAR),
    ("Costa", "Costa Coffee", SIMILAR),
    # One letter from another business: asked, since that is what a typo looks like.
    ("The Print Shop", "The Paint Shop", SIMILAR),
    # Look-alike letters of another script; with a typo besides, a near-miss.
    ("Acme Paper Ltd", "\u0410cme Paper Ltd", CONFUSABLE),
    ("Acme Paper Ltd", "Acm\u0435 Pap\u0435r Ltd", CONFUSABLE),
    ("Costa Coffee", "C\u03bfsta Coffee", CONFUSABLE),
    ("Acme Paper Ltd", "\u0410cme Papr Ltd", SIMILAR),
    # Names that differ in a number are different contacts.
    ("Unit 4 Ltd", "Unit 5 Ltd", CREATED),
    ("Taxi 12", "Taxi 21", CREATED),
    ("Studio 54", "Studio 45", CREATED),
    ("Arden Taxis 1", "Arden Taxis 11", CREATED),
    ("Acme Paper Ltd", "Acme Paper 2 Ltd", CREATED),
    # Truly different names, sharing words or letters.
    ("The Print Shop", "The Coffee Shop", CREATED),
    ("The Print Shop", "Shop", CREATED),
    ("B&Q", "B&M", CREATED),
    ("North West Plumbing Ltd", "North East Plumbing Ltd", CREATED),
    ("British Gas", "British Airways", CREATED),
    ("Tom Smith Joinery", "Tim Smith Joinery", CREATED),
    ("Tesco Stores Ltd", "Tesla Motors Ltd", CREATED),
    ("Royal Mail", "Royal Bank of Scotland", CREATED),
    ("Costa", "Costa Rica Coffee Importers", CREATED),
    ("Acme Paper Ltd", "Zenith Stationery Ltd", CREATED),
]

_CODES = {"similar_contact": SIMILAR, "confusable_contact": CONFUSABLE, "new_supplier": CREATED}


def lists_with(*suppliers: str) -> ListsSnapshot:
    """The standard lists, with only *suppliers* (codes EX01, EX02...) as suppliers."""
    items = standard_items()
    items["suppliers"] = [
        Supplier(900 + n, f"EX{n:02d}", name) for n, name in enumerate(suppliers, start=1)
    ]
    return make_lists(items)


def outcome(existing: str, written: str, **changes: Any) -> str:
    """What validation does with *written* when *existing* is the only supplier."""
    problems = validate_document(clean_purchase(supplier=written, **changes), lists_with(existing))
    if not problems:
        return USED
    [problem] = problems
    return _CODES[problem.code]


def test_table_has_forty_real_world_pairs() -> None:
    """The table covers at least 40 pairs and every outcome."""
    assert len(PAIRS) >= 40
    assert {row[2] for row in PAIRS} == {USED, SIMILAR, CONFUSABLE, CREATED}


@pytest.mark.parametrize(("existing", "written", "expected"), PAIRS, ids=[r[1] for r in PAIRS])
def test_pair_is_used_refused_or_created(existing: str, written: str, expected: str) -> None:
    """Each name is used, refused as similar or confusable, or created, as the table says."""
    assert outcome(existing, written) == expected


SIMILAR_PAIRS = [row for row in PAIRS if row[2] == SIMILAR]


@pytest.mark.parametrize(
    ("existing", "written", "_expected"), SIMILAR_PAIRS, ids=[r[1] for r in SIMILAR_PAIRS]
)
def test_create_contact_says_a_near_miss_is_new(
    existing: str, written: str, _expected: str
) -> None:
    """create_contact=True turns every near-miss into a new supplier (the notice)."""
    assert outcome(existing, written, create_contact=True) == CREATED


@pytest.mark.parametrize("written", ["\u0410cme Paper Ltd", "ACME PAPER LTD"])
def test_create_contact_does_not_override_a_match_or_a_lookalike(written: str) -> None:
    """A name found, or spelled with look-alike letters, is never created, whatever the flag."""
    found = outcome("Acme Paper Ltd", written, create_contact=True)
    assert found == outcome("Acme Paper Ltd", written) != CREATED


def test_similar_contact_names_the_existing_one_and_both_ways_out() -> None:
    """The problem names the closest supplier and says how to use it or create a new one."""
    [problem] = validate_document(clean_purchase(supplier="Acme Papr Ltd"), make_lists())
    assert (problem.code, problem.field, problem.severity) == (
        "similar_contact",
        "supplier",
        "error",
    )
    assert "'Acme Paper Ltd' (ACME01)" in problem.message
    assert "correct the supplier to that name (or its code ACME01)" in problem.remedy
    assert "create_contact=True" in problem.remedy
    assert '"create_contact": true' in problem.remedy
    assert "kashflow-sync publish --create-contacts" in problem.remedy


def test_similar_customer_is_refused_too() -> None:
    """Customers are matched by the same rule: a near-miss of 'Bloggs & Co' is refused."""
    [problem] = validate_document(clean_sale(customer="Blogs & Co"), make_lists())
    assert (problem.code, problem.field) == ("similar_contact", "customer")
    assert "'Bloggs & Co' (BLOG01)" in problem.message


def test_closest_of_several_comes_first() -> None:
    """With several near-misses, the closest is named first and offered in the remedy."""
    lists = lists_with("Acme Ltd", "Acme Paper Ltd", "Acme Papers")
    [problem] = validate_document(clean_purchase(supplier="Acme Papr Ltd"), lists)
    assert problem.message.index("'Acme Paper Ltd'") < problem.message.index("'Acme Ltd'")
    assert "If it is 'Acme Paper Ltd'" in problem.remedy


def test_look_alike_letters_in_a_near_miss_are_named() -> None:
    """A near-miss also spelled with a Cyrillic letter says so, naming the character."""
    [problem] = validate_document(clean_purchase(supplier="\u0410cme Papr Ltd"), make_lists())
    assert problem.code == "similar_contact"
    assert "U+0410 CYRILLIC CAPITAL LETTER A" in problem.message


def test_archived_suppliers_are_not_offered_as_near_misses() -> None:
    """Only active suppliers count: a name close to an archived one is a new supplier."""
    assert outcome("Old Supplies", "Old Suplies") == SIMILAR
    items = standard_items()  # holds "Old Supplies", archived
    problems = validate_document(clean_purchase(supplier="Old Suplies"), make_lists(items))
    assert [p.code for p in problems] == ["new_supplier"]


def test_near_miss_with_creating_off_is_unknown_naming_it() -> None:
    """With create_missing_contacts=False a near-miss is unknown_supplier, naming the closest."""
    [problem] = validate_document(
        clean_purchase(supplier="Acme Papr Ltd"), make_lists(), create_missing_contacts=False
    )
    assert problem.code == "unknown_supplier" and "(closest: Acme Paper Ltd" in problem.message


# ---------------------------------------------------------------------- the decision


@pytest.mark.parametrize(
    ("written", "verdict"),
    [
        ("acme paper ltd", "found"),
        ("\u0410cme Paper Ltd", "lookalike"),
        ("Acme Papr Ltd", "similar"),
        ("Zenith Stationery", "new"),
    ],
)
def test_one_decision_gives_each_verdict(written: str, verdict: str) -> None:
    """match_contact answers found, lookalike, similar or new, in that order of precedence."""
    suppliers: ItemList[Supplier] = make_lists().suppliers
    assert match_contact(written, suppliers).verdict == verdict


def test_lookalike_wins_over_similar() -> None:
    """A name that is both a look-alike and a near-miss of another is the look-alike."""
    suppliers = ItemList([Supplier(1, "A1", "Acme Paper Ltd"), Supplier(2, "A2", "Acme Paper")])
    match = match_contact("\u0410cme Paper Ltd", suppliers)
    assert (match.verdict, match.item) == ("lookalike", suppliers[0])


def test_customers_are_matched_by_the_same_decision() -> None:
    """The decision is one function for suppliers and customers alike."""
    customers = ItemList([Customer(1, "C1", "Bloggs & Co")])
    assert match_contact("Bloggs and Co", customers).similar == (customers[0],)


# ---------------------------------------------------------------------- the rule


@given(
    stem=st.sampled_from(["Unit", "Taxi", "Studio", "Acme Paper", "Flat", "Route"]),
    first=st.integers(min_value=0, max_value=9999),
    second=st.integers(min_value=0, max_value=9999),
    suffix=st.sampled_from(["", " Ltd", " Limited", " & Co"]),
)
def test_names_differing_in_a_number_are_never_similar(
    stem: str, first: int, second: int, suffix: str
) -> None:
    """Whatever the rest of the name, a different number makes a different contact."""
    a, b = canonical(f"{stem} {first}{suffix}"), canonical(f"{stem} {second} Ltd")
    assert similar(a, b) == (first == second)


def test_index_finds_what_the_rule_finds() -> None:
    """The index (look-ups and the RapidFuzz pass) finds exactly the names the rule accepts."""
    names = [existing for existing, _written, _outcome in PAIRS]
    index = NameIndex((name, name) for name in names)
    for _existing, written, _outcome in PAIRS:
        by_rule = {n for n in names if similar(canonical(written), canonical(n))}
        assert set(index.similar(written, limit=len(names))) == by_rule, written


# ---------------------------------------------------------------------- a list that grew


def _answers(items: ItemList[Supplier], names: list[str]) -> list[Any]:
    return [
        (
            items.find(n),
            items.lookalike(n),
            items.similar(n, limit=5),
            items.closest_names(n, limit=5),
        )
        for n in names
    ]


def test_extended_list_answers_as_a_fresh_one() -> None:
    """A list grown by appended contacts answers every look-up as one built from scratch."""
    old = ItemList([Supplier(n, f"EX{n:02d}", row[0]) for n, row in enumerate(PAIRS)])
    queries = [row[1] for row in PAIRS] + ["Brand New Ltd", "Brnad New Ltd", "Unit 5 Ltd"]
    _answers(old, queries)  # every index built before the list grows
    added = [Supplier(900, "NEW01", "Brand New Ltd"), Supplier(901, "NEW02", "Unit 5 Ltd")]
    grown = old.extended([*old, *added])
    assert grown is not None
    assert _answers(grown, queries) == _answers(ItemList([*old, *added]), queries)


def test_extending_leaves_the_old_list_as_it_was() -> None:
    """The list it grew from does not see the appended contacts, even under shared keys."""
    old = ItemList([Supplier(1, "A1", "Acme Paper Ltd")])
    old.similar("warm")
    # Same joined words as the old name, and same word count and length: shared index slots.
    added = [Supplier(2, "A2", "Acme Paper Limited"), Supplier(3, "A3", "Acme Paqer Ltd")]
    grown = old.extended([*old, *added])
    assert grown is not None
    assert {s.kashflow_id for s in grown.similar("Acme Paper", limit=5)} == {1, 2, 3}
    assert old.similar("Acme Paper", limit=5) == [old[0]]
    assert old.find("Acme Paqer Ltd") is None


@pytest.mark.parametrize(
    "items",
    [
        [Supplier(1, "A1", "Acme Paper Ltd", archived=True), Supplier(2, "B1", "Brand New")],
        [Supplier(2, "B1", "Brand New")],
    ],
    ids=["an item changed", "an item gone"],
)
def test_a_list_that_did_not_only_grow_is_built_anew(items: list[Supplier]) -> None:
    """extended() refuses a list whose earlier items changed or went: it is built from scratch."""
    assert ItemList([Supplier(1, "A1", "Acme Paper Ltd")]).extended(items) is None


def test_lists_view_reuses_the_index_after_a_contact_is_added() -> None:
    """After the SDK appends a contact, the reloaded suppliers keep their name index."""
    from _lists_fixtures import CONNECTION, make_storage
    from kashflow_sync._account.lists import Lists
    from kashflow_sync._storage_keys import LISTS_VERSION

    storage = make_storage()
    lists = Lists(storage, CONNECTION)
    lists.suppliers.similar("warm the index")
    stored = storage.load_list(CONNECTION, "suppliers")
    storage.replace_list(CONNECTION, "suppliers", [*stored, Supplier(555, "NEW01", "Brand New")])
    storage.set_state(CONNECTION, LISTS_VERSION, "after-contact")
    reloaded = lists.suppliers
    assert reloaded.find("Brand New") is not None
    assert reloaded._similar is not None  # extended, not waiting to be built from scratch
    assert reloaded.similar("Brnad New") == [reloaded.find("Brand New")]
