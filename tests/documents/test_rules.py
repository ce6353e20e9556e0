"""Rules: the rule book in storage, finding a contact's rule, and filling a document's blanks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import attrs
import pytest

from _lists_fixtures import CONNECTION, clean_purchase, clean_sale, line, make_lists, make_storage
from kashflow_sync._account.lists import ListsSnapshot
from kashflow_sync._documents.model import Line, Payment, PurchaseInvoice, Rule
from kashflow_sync._documents.rules import (
    COMPUTED_FROM_VAT_RATE,
    RuleBook,
    RuleMatch,
    StoredRuleResolver,
    apply_rule,
    find_rule,
)
from kashflow_sync.storage.memory import MemoryStorage
from kashflow_sync.typing import RuleResolver

D = Decimal
ACME = "supplier rule: Acme Paper Ltd"
FULL_RULE = Rule(
    category=7500,
    vat_rate=D("20"),
    project=12,
    payment_method="Credit card",
    bank_account=1200,
    description="Stationery",
    due_days=30,
)


def blank_purchase(**changes: Any) -> PurchaseInvoice:
    """A purchase whose line leaves every rule-fillable field blank."""
    fields: dict[str, Any] = {
        "lines": [Line(net=D("100.00"))],
        "payment": Payment(),
        "attachment": None,
        "currency": None,
    }
    fields.update(changes)
    return clean_purchase(**fields)


# RuleBook


@pytest.fixture
def book() -> RuleBook:
    return RuleBook(MemoryStorage(), CONNECTION)


@pytest.mark.parametrize("kind", ["supplier", "customer"])
def test_rule_book_set_get_list_delete(book: RuleBook, kind: str) -> None:
    """A rule set for a contact is read back, listed and deleted, per kind."""
    rule = Rule(category=7500)
    getattr(book, f"set_{kind}_rule")("Acme Paper Ltd", rule)
    assert getattr(book, f"{kind}_rule")("Acme Paper Ltd") == rule
    assert getattr(book, f"{kind}_rules")() == {"Acme Paper Ltd": rule}
    getattr(book, f"delete_{kind}_rule")("Acme Paper Ltd")
    assert getattr(book, f"{kind}_rule")("Acme Paper Ltd") is None
    getattr(book, f"delete_{kind}_rule")("Acme Paper Ltd")  # deleting again is not an error


def test_rule_book_matches_contacts_case_insensitively(book: RuleBook) -> None:
    """'ACME PAPER LTD' finds the rule set for 'Acme Paper Ltd'."""
    book.set_supplier_rule("Acme Paper Ltd", Rule(category=7500))
    assert book.supplier_rule("ACME PAPER LTD") == Rule(category=7500)


def test_rule_book_kinds_are_separate(book: RuleBook) -> None:
    """A supplier rule is not a customer rule for the same name."""
    book.set_supplier_rule("Acme", Rule(category=7500))
    assert book.customer_rule("Acme") is None
    assert book.customer_rules() == {}


def test_rule_book_replaces_a_rule(book: RuleBook) -> None:
    """Setting a rule again replaces the old one."""
    book.set_supplier_rule("Acme", Rule(category=7500))
    book.set_supplier_rule("acme", Rule(category=5000))
    assert book.supplier_rule("Acme") == Rule(category=5000)
    assert len(book.supplier_rules()) == 1


def test_rule_book_connections_are_isolated() -> None:
    """One storage, two connections: a rule of one is invisible to the other."""
    storage = MemoryStorage()
    RuleBook(storage, "a").set_supplier_rule("Acme", Rule(category=7500))
    assert RuleBook(storage, "b").supplier_rule("Acme") is None


@pytest.mark.parametrize(
    ("contact", "rule", "error"),
    [("", Rule(), ValueError), ("   ", Rule(), ValueError), ("Acme", {"category": 1}, TypeError)],
    ids=["empty", "blank", "not a Rule"],
)
def test_rule_book_refuses_bad_input(book: RuleBook, contact: str, rule: Any, error: type) -> None:
    """An empty contact or a non-Rule is refused before anything is stored."""
    with pytest.raises(error):
        book.set_supplier_rule(contact, rule)
    assert book.supplier_rules() == {}


# apply_rule


def test_rule_fills_every_blank() -> None:
    """Category, VAT rate, project, description, due date and payment fields come from the rule."""
    resolved = apply_rule(blank_purchase(), FULL_RULE, ACME)
    doc = resolved.document
    assert doc.lines[0] == Line(
        description="Stationery",
        net=D("100.00"),
        vat=D("20.00"),
        vat_rate=D("20"),
        category=7500,
        project=12,
    )
    assert doc.due_date == date(2026, 12, 2)
    assert doc.payment == Payment(method="Credit card", bank_account=1200)


def test_document_wins_over_rule() -> None:
    """Every value the document gives is kept, and explained as the document's."""
    document = clean_purchase(
        lines=[line(project=13)],
        due_date=date(2026, 11, 20),
        payment=Payment(method="Cash", bank_account="Current Account"),
    )
    resolved = apply_rule(document, FULL_RULE, ACME)
    assert resolved.document == document
    assert set(resolved.explain.values()) == {"document"}


def test_explain_names_the_source_of_every_field() -> None:
    """explain maps each field with a value to the document, the rule, or the VAT computation."""
    document = blank_purchase(payment=Payment(paid_on=date(2026, 11, 3)), currency="GBP")
    resolved = apply_rule(document, FULL_RULE, ACME)
    assert dict(resolved.explain) == {
        "external_id": "document",
        "supplier": "document",
        "reference": "document",
        "issue_date": "document",
        "due_date": ACME,
        "currency": "document",
        "lines[0].description": ACME,
        "lines[0].net": "document",
        "lines[0].quantity": "document",
        "lines[0].vat_rate": ACME,
        "lines[0].category": ACME,
        "lines[0].project": ACME,
        "lines[0].vat": COMPUTED_FROM_VAT_RATE,
        "payment": "document",
        "payment.method": ACME,
        "payment.bank_account": ACME,
        "payment.paid_on": "document",
    }


def test_explain_is_read_only() -> None:
    """The explain mapping cannot be changed after resolving."""
    resolved = apply_rule(blank_purchase(), FULL_RULE, ACME)
    with pytest.raises(TypeError):
        resolved.explain["due_date"] = "me"  # type: ignore[index]


def test_fields_left_blank_are_not_explained() -> None:
    """A field neither the document nor the rule sets is absent from explain."""
    resolved = apply_rule(blank_purchase(payment=None), Rule(category=7500), ACME)
    for path in ("lines[0].vat_rate", "lines[0].vat", "lines[0].project", "due_date", "payment"):
        assert path not in resolved.explain
    assert resolved.document.lines[0].vat is None


@pytest.mark.parametrize("description", [None, "", "   "], ids=["None", "empty", "spaces"])
def test_blank_description_is_filled(description: str | None) -> None:
    """A description that is None, empty or only spaces takes the rule's."""
    document = blank_purchase(lines=[Line(net=D(1), description=description)])
    resolved = apply_rule(document, Rule(description="Stationery"), ACME)
    assert resolved.document.lines[0].description == "Stationery"
    assert resolved.explain["lines[0].description"] == ACME


def test_rule_never_creates_a_payment() -> None:
    """A document without a payment stays without one, whatever the rule says."""
    resolved = apply_rule(blank_purchase(payment=None), FULL_RULE, ACME)
    assert resolved.document.payment is None
    assert not any(path.startswith("payment") for path in resolved.explain)


def test_blank_payment_fields_are_filled() -> None:
    """A payment method or bank account given as blank text takes the rule's."""
    document = blank_purchase(payment=Payment(method=" ", bank_account=""))
    resolved = apply_rule(document, FULL_RULE, ACME)
    assert resolved.document.payment == Payment(method="Credit card", bank_account=1200)
    assert resolved.explain["payment.method"] == ACME


def test_due_days_need_an_issue_date() -> None:
    """Without an issue date the rule's due days cannot set a due date."""
    resolved = apply_rule(blank_purchase(issue_date=None), Rule(due_days=30), ACME)
    assert resolved.document.due_date is None
    assert "due_date" not in resolved.explain


def test_due_days_zero_means_due_on_issue() -> None:
    """due_days=0 makes the due date the issue date."""
    resolved = apply_rule(blank_purchase(), Rule(due_days=0), ACME)
    assert resolved.document.due_date == date(2026, 11, 2)


@pytest.mark.parametrize(
    ("net", "rate", "vat"),
    [
        (D("100.00"), D("20"), D("20.00")),
        (D("10.25"), D("5"), D("0.51")),
        (D("0.125"), D("20"), D("0.03")),
        (D("-10.25"), D("5"), D("-0.51")),
        (D("80.00"), D("-1"), D("0.00")),
        (D("80.00"), D("0"), D("0.00")),
    ],
)
def test_vat_computed_from_rate(net: Decimal, rate: Decimal, vat: Decimal) -> None:
    """A line's missing VAT is net x rate / 100, half-up to the penny; exempt gives 0."""
    resolved = apply_rule(blank_purchase(lines=[Line(net=net, vat_rate=rate)]), None, "unused")
    assert resolved.document.lines[0].vat == vat
    assert resolved.explain["lines[0].vat"] == COMPUTED_FROM_VAT_RATE
    assert resolved.explain["lines[0].vat_rate"] == "document"


def test_stated_vat_is_kept() -> None:
    """A stated VAT amount is never recomputed, even when it disagrees with the rate."""
    document = blank_purchase(lines=[Line(net=D(100), vat=D("19.00"), vat_rate=D(20))])
    resolved = apply_rule(document, None, "unused")
    assert resolved.document.lines[0].vat == D("19.00")
    assert resolved.explain["lines[0].vat"] == "document"


def test_each_line_is_filled_on_its_own() -> None:
    """The rule fills per line: a line's own value stays, its neighbour's blank is filled."""
    document = blank_purchase(lines=[Line(net=D(10), category=5000), Line(net=D(20))])
    resolved = apply_rule(document, Rule(category=7500), ACME)
    assert [ln.category for ln in resolved.document.lines] == [5000, 7500]
    assert resolved.explain["lines[0].category"] == "document"
    assert resolved.explain["lines[1].category"] == ACME


def test_no_rule_only_explains_and_computes() -> None:
    """With no rule the document is unchanged apart from VAT worked out from the rate."""
    document = clean_purchase(lines=[line(vat=None)])
    resolved = apply_rule(document, None, "unused")
    assert resolved.document == attrs.evolve(document, lines=[line()])
    assert "unused" not in resolved.explain.values()


def test_sales_invoice_is_filled_from_customer_rule() -> None:
    """Sales invoices are filled the same way, explained by the customer rule."""
    document = clean_sale(lines=[Line(net=D("500.00"), vat_rate=D(20))], payment=Payment())
    rule = Rule(category=4000, project=12, payment_method="BACS", bank_account=1200)
    resolved = apply_rule(document, rule, "customer rule: Bloggs & Co")
    assert resolved.document.lines[0].category == 4000
    assert resolved.document.payment == Payment(method="BACS", bank_account=1200)
    assert resolved.explain["customer"] == "document"
    assert resolved.explain["lines[0].project"] == "customer rule: Bloggs & Co"


# Finding the rule


@pytest.mark.parametrize(
    ("rule_set_on", "document_names"),
    [
        ("Acme Paper Ltd", "ACME01"),
        ("ACME01", "Acme Paper Ltd"),
        ("acme paper ltd", "Acme Paper Ltd"),
        ("Acme Paper Ltd", "acme01"),
    ],
    ids=["name rule, code document", "code rule, name document", "case", "code any case"],
)
def test_rule_found_by_name_or_code(rule_set_on: str, document_names: str) -> None:
    """A rule set on a supplier's name applies to a document naming its code, and vice versa."""
    storage = make_storage()
    RuleBook(storage, CONNECTION).set_supplier_rule(rule_set_on, Rule(category=7500))
    resolver = StoredRuleResolver(storage)
    resolved = resolver.resolve(CONNECTION, blank_purchase(supplier=document_names))
    assert resolved.document.lines[0].category == 7500
    assert resolved.explain["lines[0].category"].startswith("supplier rule: ")


def test_rule_for_the_contact_as_written_comes_first() -> None:
    """When rules exist for both the written name and the code, the written one wins."""
    storage = make_storage()
    book = RuleBook(storage, CONNECTION)
    book.set_supplier_rule("ACME01", Rule(category=5000))
    book.set_supplier_rule("Acme Paper Ltd", Rule(category=7500))
    resolved = StoredRuleResolver(storage).resolve(CONNECTION, blank_purchase(supplier="ACME01"))
    assert resolved.document.lines[0].category == 5000
    assert resolved.explain["lines[0].category"] == "supplier rule: ACME01"


def test_rule_for_a_contact_not_in_the_lists() -> None:
    """A supplier still to be created finds its rule by the name written."""
    storage = make_storage()
    RuleBook(storage, CONNECTION).set_supplier_rule("New Ltd", Rule(category=7500))
    resolved = StoredRuleResolver(storage).resolve(CONNECTION, blank_purchase(supplier="New Ltd"))
    assert resolved.explain["lines[0].category"] == "supplier rule: New Ltd"


def test_customer_rule_not_used_for_a_purchase() -> None:
    """A purchase only looks at supplier rules."""
    storage = make_storage()
    RuleBook(storage, CONNECTION).set_customer_rule("Acme Paper Ltd", Rule(category=4000))
    resolved = StoredRuleResolver(storage).resolve(CONNECTION, blank_purchase())
    assert resolved.document.lines[0].category is None


def test_customer_rule_found_through_customer_code() -> None:
    """A sales invoice naming a customer code finds the rule set on the customer's name."""
    storage = make_storage()
    RuleBook(storage, CONNECTION).set_customer_rule("Bloggs & Co", Rule(project=12))
    document = clean_sale(customer="BLOG01", lines=[Line(net=D(1), vat_rate=D(20))])
    resolved = StoredRuleResolver(storage).resolve(CONNECTION, document)
    assert resolved.document.lines[0].project == 12
    assert resolved.explain["lines[0].project"] == "customer rule: Bloggs & Co"


def test_resolver_uses_lists_for_when_given() -> None:
    """lists_for supplies the lists; the storage's own lists are then not read."""
    storage = MemoryStorage()  # no lists stored at all
    RuleBook(storage, CONNECTION).set_supplier_rule("Acme Paper Ltd", Rule(category=7500))
    asked: list[str] = []

    def lists_for(connection_id: str) -> ListsSnapshot:
        asked.append(connection_id)
        return make_lists()

    resolver = StoredRuleResolver(storage, lists_for=lists_for)
    resolved = resolver.resolve(CONNECTION, blank_purchase(supplier="ACME01"))
    assert resolved.document.lines[0].category == 7500
    assert asked == [CONNECTION]


def test_resolver_without_rule_explains_the_document() -> None:
    """No rule for the contact: the document comes back with everything from the document."""
    resolved = StoredRuleResolver(make_storage()).resolve(CONNECTION, clean_purchase())
    assert resolved.document == clean_purchase()
    assert set(resolved.explain.values()) == {"document"}


def test_stored_resolver_is_a_rule_resolver() -> None:
    """StoredRuleResolver satisfies the RuleResolver protocol."""
    assert isinstance(StoredRuleResolver(MemoryStorage()), RuleResolver)


def test_find_rule_reports_the_key_that_matched() -> None:
    """find_rule returns the kind, the contact key it matched and the rule."""
    rules = {("supplier", "acme paper ltd"): Rule(category=7500)}

    def get_rule(kind: str, contact: str) -> Rule | None:
        return rules.get((kind, contact.casefold()))

    match = find_rule(get_rule, blank_purchase(supplier="acme01"), make_lists())
    assert match == RuleMatch(kind="supplier", contact="Acme Paper Ltd", rule=Rule(category=7500))
    assert match.source == ACME
    assert find_rule(get_rule, blank_purchase(supplier="acme01")) is None
