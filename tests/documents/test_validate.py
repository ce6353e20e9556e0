"""Offline validation: one problem code per row, everything at once, and the wire rounding."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from _lists_fixtures import (
    clean_purchase,
    clean_purchase_credit_note,
    clean_sale,
    clean_sales_credit_note,
    line,
    make_lists,
)
from kashflow_sync._account.lists import ListsSnapshot as Lists
from kashflow_sync._documents import problems as problem_codes
from kashflow_sync._documents import validate as v
from kashflow_sync._documents.amounts import line_wire_values, unit_rate, vat_from_rate
from kashflow_sync._documents.model import Attachment, Document, Line, Payment, Rule
from kashflow_sync._documents.problems import DOCUMENT_FILE_CODES, PUBLISH_TIME_CODES
from kashflow_sync._documents.rules import apply_rule
from kashflow_sync._documents.validate import PROBLEM_CODES, validate_document

LISTS = make_lists()
D = Decimal


@pytest.fixture
def lists() -> Lists:
    return make_lists()


def codes(problems: list[Any]) -> list[tuple[str, str]]:
    return [(p.code, p.field) for p in problems]


def no_dup(*_: Any) -> None:
    return None


def dup(*_: Any) -> str:
    return "item-7"


BIG = b"x" * (v.MAX_ATTACHMENT_BYTES + 1)

# (id, document, validate kwargs, expected code, expected field)
ROWS: list[tuple[str, Document, dict[str, Any], str, str]] = [
    ("no contact", clean_purchase(supplier="  "), {}, "missing_contact", "supplier"),
    ("no customer", clean_sale(customer=""), {}, "missing_contact", "customer"),
    (
        "unknown supplier, no creating",
        clean_purchase(supplier="Nobody Ltd"),
        {"create_missing_contacts": False},
        "unknown_supplier",
        "supplier",
    ),
    (
        "unknown customer, no creating",
        clean_sale(customer="Nobody Ltd"),
        {"create_missing_contacts": False},
        "unknown_customer",
        "customer",
    ),
    ("new supplier", clean_purchase(supplier="Nobody Ltd"), {}, "new_supplier", "supplier"),
    ("new customer", clean_sale(customer="Nobody Ltd"), {}, "new_customer", "customer"),
    (
        "look-alike supplier",
        clean_purchase(supplier="\u0410cme Paper Ltd"),
        {},
        "confusable_contact",
        "supplier",
    ),
    (
        "near-miss of a supplier",
        clean_purchase(supplier="Acme Papr Ltd"),
        {},
        "similar_contact",
        "supplier",
    ),
    ("archived supplier", clean_purchase(supplier="OLD01"), {}, "archived_supplier", "supplier"),
    (
        "removed supplier",
        clean_purchase(supplier="Gone Supplies"),
        {},
        "archived_supplier",
        "supplier",
    ),
    ("archived customer", clean_sale(customer="shut ltd"), {}, "archived_customer", "customer"),
    ("no reference", clean_purchase(reference=" "), {}, "missing_reference", "reference"),
    ("no issue date", clean_purchase(issue_date=None), {}, "missing_issue_date", "issue_date"),
    (
        "due before issue",
        clean_purchase(due_date=date(2026, 11, 1)),
        {},
        "due_before_issue",
        "due_date",
    ),
    ("currency not enabled", clean_purchase(currency="USD"), {}, "unknown_currency", "currency"),
    ("location", clean_purchase(location="Leeds"), {}, "unsupported_location", "location"),
    ("no lines", clean_purchase(lines=[]), {}, "missing_lines", "lines"),
    (
        "credit note",
        clean_purchase(lines=[line(net=D("-100.00"), vat=D("-20.00"))]),
        {},
        "negative_amount",
        "lines",
    ),
    (
        "credit note written with minus signs",
        clean_purchase_credit_note(lines=[line(net=D("-100.00"), vat=D("-20.00"))]),
        {},
        "negative_amount",
        "lines",
    ),
    (
        "sales credit note applied and refunded",
        clean_sales_credit_note(payment=Payment(method="BACS", bank_account="Current Account")),
        {},
        "applied_and_refunded",
        "payment",
    ),
    (
        "no category",
        clean_purchase(lines=[line(category=None)]),
        {},
        "missing_category",
        "lines[0].category",
    ),
    (
        "unknown category",
        clean_purchase(lines=[line(category=9999)]),
        {},
        "unknown_category",
        "lines[0].category",
    ),
    (
        "archived category",
        clean_purchase(lines=[line(category=7600)]),
        {},
        "archived_category",
        "lines[0].category",
    ),
    (
        "removed category",
        clean_purchase(lines=[line(category=7700)]),
        {},
        "archived_category",
        "lines[0].category",
    ),
    (
        "turnover code on a purchase",
        clean_purchase(lines=[line(category=4000)]),
        {},
        "wrong_category_kind",
        "lines[0].category",
    ),
    (
        "expense code on a sale",
        clean_sale(lines=[line(category=7500)]),
        {},
        "wrong_category_kind",
        "lines[0].category",
    ),
    (
        "no VAT rate",
        clean_purchase(lines=[line(vat_rate=None)]),
        {},
        "missing_vat_rate",
        "lines[0].vat_rate",
    ),
    (
        "VAT rate not offered",
        clean_purchase(lines=[line(vat_rate=D("15"), vat=D("15.00"))]),
        {},
        "unknown_vat_rate",
        "lines[0].vat_rate",
    ),
    (
        "VAT rate removed from KashFlow",
        clean_purchase(lines=[line(vat_rate=D("17.5"), vat=D("17.50"))]),
        {},
        "unknown_vat_rate",
        "lines[0].vat_rate",
    ),
    (
        "VAT above net",
        clean_purchase(lines=[line(net=D("10.00"), vat=D("50.00"))]),
        {},
        "vat_exceeds_net",
        "lines[0].vat",
    ),
    (
        "VAT off by more than a penny",
        clean_purchase(lines=[line(vat=D("20.02"))]),
        {},
        "vat_mismatch",
        "lines[0].vat",
    ),
    (
        "VAT on an exempt line",
        clean_purchase(lines=[line(vat_rate=D("-1"), vat=D("5.00"))]),
        {},
        "vat_mismatch",
        "lines[0].vat",
    ),
    (
        "net in tenths of a penny",
        clean_purchase(lines=[line(net=D("100.005"))]),
        {},
        "too_many_decimals",
        "lines[0].net",
    ),
    (
        "VAT in tenths of a penny",
        clean_purchase(lines=[line(vat=D("20.001"))]),
        {},
        "too_many_decimals",
        "lines[0].vat",
    ),
    (
        "payment in tenths of a penny",
        clean_purchase(payment=Payment(method="Cash", bank_account=1200, amount=D("10.005"))),
        {},
        "too_many_decimals",
        "payment.amount",
    ),
    (
        "zero quantity",
        clean_purchase(lines=[line(quantity=D(0))]),
        {},
        "zero_quantity",
        "lines[0].quantity",
    ),
    (
        "unknown project",
        clean_purchase(lines=[line(project=99)]),
        {},
        "unknown_project",
        "lines[0].project",
    ),
    (
        "archived project",
        clean_purchase(lines=[line(project=13)]),
        {},
        "archived_project",
        "lines[0].project",
    ),
    (
        "payment without method",
        clean_purchase(payment=Payment(bank_account=1200)),
        {},
        "missing_payment_method",
        "payment.method",
    ),
    (
        "payment method unknown",
        clean_purchase(payment=Payment(method="Bitcoin", bank_account=1200)),
        {},
        "unknown_payment_method",
        "payment.method",
    ),
    (
        "payment method removed",
        clean_purchase(payment=Payment(method="Cheque", bank_account=1200)),
        {},
        "unknown_payment_method",
        "payment.method",
    ),
    (
        "purchase method on a sale",
        clean_sale(payment=Payment(method="Credit card", bank_account=1200)),
        {},
        "unknown_payment_method",
        "payment.method",
    ),
    (
        "payment without bank",
        clean_purchase(payment=Payment(method="Cash")),
        {},
        "missing_bank_account",
        "payment.bank_account",
    ),
    (
        "bank unknown",
        clean_purchase(payment=Payment(method="Cash", bank_account=9999)),
        {},
        "unknown_bank_account",
        "payment.bank_account",
    ),
    (
        "bank removed",
        clean_purchase(payment=Payment(method="Cash", bank_account="old account")),
        {},
        "unknown_bank_account",
        "payment.bank_account",
    ),
    (
        "payment of zero",
        clean_purchase(payment=Payment(method="Cash", bank_account=1200, amount=D(0))),
        {},
        "payment_not_positive",
        "payment.amount",
    ),
    (
        "payment above gross",
        clean_purchase(payment=Payment(method="Cash", bank_account=1200, amount=D("120.01"))),
        {},
        "payment_exceeds_total",
        "payment.amount",
    ),
    (
        "attachment without a file name",
        clean_purchase(attachment=Attachment("", b"%PDF", "application/pdf")),
        {},
        "attachment_no_filename",
        "attachment",
    ),
    (
        "control character in the reference",
        clean_purchase(reference="INV\x0b1"),
        {},
        "invalid_characters",
        "reference",
    ),
    (
        "control character in a line description",
        clean_purchase(lines=[line(description="Paper\x01")]),
        {},
        "invalid_characters",
        "lines[0].description",
    ),
    (
        "empty attachment",
        clean_purchase(attachment=Attachment("inv.pdf", b"")),
        {},
        "attachment_empty",
        "attachment",
    ),
    (
        "attachment over the limit",
        clean_purchase(attachment=Attachment("inv.pdf", BIG)),
        {},
        "attachment_too_large",
        "attachment",
    ),
    (
        "spreadsheet attachment",
        clean_purchase(attachment=Attachment("inv.xlsx", b"PK", "application/vnd.ms-excel")),
        {},
        "attachment_type_not_allowed",
        "attachment",
    ),
    (
        "HEIC photo",
        clean_purchase(attachment=Attachment("IMG_1.HEIC", b"x", "image/heic")),
        {},
        "attachment_type_not_allowed",
        "attachment",
    ),
    (
        "no extension, zip content",
        clean_purchase(attachment=Attachment("scan", b"PK", "application/zip")),
        {},
        "attachment_type_not_allowed",
        "attachment",
    ),
    (
        "long reference",
        clean_purchase(reference="R" * (v.MAX_REFERENCE_LENGTH + 1)),
        {},
        "text_too_long",
        "reference",
    ),
    (
        "long description",
        clean_purchase(lines=[line(description="d" * (v.MAX_DESCRIPTION_LENGTH + 1))]),
        {},
        "text_too_long",
        "lines[0].description",
    ),
    (
        "long name of a supplier to create",
        clean_purchase(supplier="N" * (v.MAX_CONTACT_NAME_LENGTH + 1)),
        {},
        "text_too_long",
        "supplier",
    ),
    (
        "issue date KashFlow writes for none",
        clean_purchase(issue_date=date(1, 1, 1)),
        {},
        "date_out_of_range",
        "issue_date",
    ),
    (
        "due date at the end of the calendar",
        clean_purchase(due_date=date(9999, 12, 31)),
        {},
        "date_out_of_range",
        "due_date",
    ),
    (
        "payment dated 1900",
        clean_purchase(payment=Payment(method="Cash", bank_account=1200, paid_on=date(1900, 1, 1))),
        {},
        "date_out_of_range",
        "payment.paid_on",
    ),
    (
        "payment in full of a zero total",
        clean_purchase(lines=[line(net=D("0.00"), vat=D("0.00"))]),
        {},
        "payment_without_amount",
        "payment",
    ),
    (
        "NUL in the reference",
        clean_purchase(reference="INV\x001"),
        {},
        "invalid_characters",
        "reference",
    ),
    (
        "lone surrogate in a line description",
        clean_purchase(lines=[line(description="Paper\ud800")]),
        {},
        "invalid_characters",
        "lines[0].description",
    ),
    (
        "lone surrogate in the attachment's content type",
        clean_purchase(attachment=Attachment("inv.pdf", b"%PDF", "application/pdf\udfff")),
        {},
        "invalid_characters",
        "attachment.content_type",
    ),
    (
        "right-to-left override after the supplier",
        clean_purchase(supplier="Acme Paper Ltd\u202e"),
        {},
        "hidden_characters",
        "supplier",
    ),
    (
        "bidi isolates around the customer",
        clean_sale(customer="\u2067Bloggs & Co\u2069"),
        {},
        "hidden_characters",
        "customer",
    ),
    (
        "left-to-right mark in the reference",
        clean_purchase(reference="INV-1001\u200e"),
        {},
        "hidden_characters",
        "reference",
    ),
    (
        "zero-width space in the reference",
        clean_purchase(reference="INV-\u200b1001"),
        {},
        "hidden_characters",
        "reference",
    ),
    (
        "C1 control in a line description",
        clean_purchase(lines=[line(description="Paper \x96 A4")]),
        {},
        "hidden_characters",
        "lines[0].description",
    ),
    (
        "right-to-left override in the attachment's file name",
        clean_purchase(attachment=Attachment("inv\u202efdp.pdf", b"%PDF", "application/pdf")),
        {},
        "hidden_characters",
        "attachment",
    ),
    ("empty currency", clean_purchase(currency=""), {}, "empty_currency", "currency"),
    ("blank currency", clean_sale(currency="  "), {}, "empty_currency", "currency"),
    (
        "already in the ledger",
        clean_purchase(),
        {"is_duplicate": dup},
        "duplicate_in_ledger",
        "reference",
    ),
]


@pytest.mark.parametrize(
    ("document", "kwargs", "code", "field"),
    [row[1:] for row in ROWS],
    ids=[row[0] for row in ROWS],
)
def test_each_problem_code(
    document: Document, kwargs: dict[str, Any], code: str, field: str
) -> None:
    """Each faulty document yields exactly its one problem, on the right field."""
    problems = validate_document(document, LISTS, **kwargs)
    assert codes(problems) == [(code, field)]
    problem = problems[0]
    assert problem.message and problem.remedy
    assert code in PROBLEM_CODES


@pytest.mark.parametrize(
    "document",
    [clean_purchase(), clean_sale(), clean_purchase_credit_note(), clean_sales_credit_note()],
    ids=["purchase", "sale", "purchase credit note", "sales credit note"],
)
def test_clean_document_has_no_problems(document: Document, lists: Lists) -> None:
    """A publishable purchase or sale returns an empty list."""
    assert validate_document(document, lists, is_duplicate=no_dup) == []


def test_every_problem_is_returned_at_once(lists: Lists) -> None:
    """A document with many faults reports all of them, in document order."""
    document = clean_purchase(
        supplier="OLD01",
        reference="",
        issue_date=None,
        currency="USD",
        location="Leeds",
        lines=[
            line(category=None, vat_rate=None),
            line(category=7600, vat_rate=D("20"), vat=D("25.00"), project=99),
        ],
        payment=Payment(method="Bitcoin"),
        attachment=Attachment("x.exe", b""),
    )
    assert codes(validate_document(document, lists)) == [
        ("archived_supplier", "supplier"),
        ("missing_reference", "reference"),
        ("missing_issue_date", "issue_date"),
        ("unknown_currency", "currency"),
        ("unsupported_location", "location"),
        ("missing_category", "lines[0].category"),
        ("missing_vat_rate", "lines[0].vat_rate"),
        ("archived_category", "lines[1].category"),
        ("vat_mismatch", "lines[1].vat"),
        ("unknown_project", "lines[1].project"),
        ("unknown_payment_method", "payment.method"),
        ("missing_bank_account", "payment.bank_account"),
        ("attachment_empty", "attachment"),
        ("attachment_type_not_allowed", "attachment"),
    ]


def test_problem_codes_catalogue_covers_every_code() -> None:
    """Every code constant is in PROBLEM_CODES, and nothing else is."""
    constants = {
        value
        for name, value in vars(problem_codes).items()
        if name.isupper() and isinstance(value, str) and name.lower() == value
    }
    assert constants == set(PROBLEM_CODES)
    assert all(meaning.endswith(".") for meaning in PROBLEM_CODES.values())


def test_table_exercises_every_code() -> None:
    """The table above has at least one row per problem code validate() can give."""
    # Some codes come from publishing (journal, lists changed after validation), not validate().
    # Document-file codes come from reading JSON (tests/documents/test_docjson.py).
    expected = set(PROBLEM_CODES) - PUBLISH_TIME_CODES - DOCUMENT_FILE_CODES
    assert {row[3] for row in ROWS} == expected


def test_sales_invoice_needs_no_reference(lists: Lists) -> None:
    """KashFlow numbers sales invoices itself; the customer's reference is optional."""
    assert validate_document(clean_sale(reference=""), lists) == []


def test_missing_contact_created_by_default(lists: Lists) -> None:
    """An unknown supplier is only a notice when publishing may create it: nothing blocks."""
    problems = validate_document(clean_purchase(supplier="New Supplier Ltd"), lists)
    assert [(p.code, p.severity) for p in problems] == [("new_supplier", "notice")]


def test_new_supplier_notice_names_the_closest(lists: Lists) -> None:
    """A typo said to be a new supplier is announced with the closest existing names."""
    document = clean_purchase(supplier="Acme Papr Ltd", create_contact=True)
    [notice] = validate_document(document, lists)
    assert notice.severity == "notice"
    assert "will create supplier 'Acme Papr Ltd' (closest: Acme Paper Ltd)" in notice.message


def test_unknown_supplier_names_the_closest(lists: Lists) -> None:
    """With creating off, the unknown_supplier problem names the closest existing supplier."""
    [problem] = validate_document(
        clean_purchase(supplier="Acme Papr Ltd"), lists, create_missing_contacts=False
    )
    assert "(closest: Acme Paper Ltd)" in problem.message


@pytest.mark.parametrize(
    "written",
    [
        "Acme Paper Ltd\u200b",
        "Acme\u00a0Paper Ltd",
        "  acme   PAPER ltd ",
        "\uff21cme Paper Ltd",
        "Acme\u2060 Paper Ltd",
    ],
    ids=["zero-width space", "non-breaking space", "spaces and case", "fullwidth A", "joiner"],
)
def test_look_alike_spellings_are_the_same_supplier(written: str, lists: Lists) -> None:
    """Invisible and compatibility characters do not make a new supplier: it is matched."""
    document = clean_purchase(supplier=written)
    assert validate_document(document, lists, create_missing_contacts=False) == []


def test_confusable_letters_are_flagged_not_created(lists: Lists) -> None:
    """A Cyrillic A in 'Acme' is a blocking problem naming the character and the real supplier."""
    [problem] = validate_document(clean_purchase(supplier="\u0410cme Paper Ltd"), lists)
    assert problem.code == "confusable_contact" and problem.severity == "error"
    assert "U+0410 CYRILLIC CAPITAL LETTER A" in problem.message
    assert "'Acme Paper Ltd' (ACME01)" in problem.message and "ACME01" in problem.remedy


def test_contact_matched_by_code(lists: Lists) -> None:
    """A supplier named by its code is found, case-insensitively."""
    document = clean_purchase(supplier="acme01")
    assert validate_document(document, lists, create_missing_contacts=False) == []


@pytest.mark.parametrize(
    "category", [30, 8000], ids=["fixed asset on a purchase", "unclassified code"]
)
def test_other_classifications_are_not_wrong_kind(category: int, lists: Lists) -> None:
    """Fixed-asset and unclassified codes pass on either document kind."""
    assert validate_document(clean_purchase(lines=[line(category=category)]), lists) == []
    sale_line = line(category=category, net=D("500.00"), vat=D("100.00"))
    assert validate_document(clean_sale(lines=[sale_line]), lists) == []


@pytest.mark.parametrize(
    "rate", [D("20"), D("20.00"), D("20.0000")], ids=["20", "20.00", "20.0000"]
)
def test_vat_rates_compare_numerically(rate: Decimal, lists: Lists) -> None:
    """20, 20.00 and 20.0000 are the same VAT rate."""
    assert validate_document(clean_purchase(lines=[line(vat_rate=rate)]), lists) == []


def test_exempt_rate_accepted_without_being_listed(lists: Lists) -> None:
    """-1 (exempt / n-a) is KashFlow's line code, valid even though GetVATRates omits it."""
    document = clean_purchase(lines=[line(vat_rate=D(-1), vat=D("0.00"))])
    assert validate_document(document, lists) == []


@pytest.mark.parametrize("vat", [D("19.99"), D("20.01")], ids=["penny under", "penny over"])
def test_vat_within_a_penny_passes(vat: Decimal, lists: Lists) -> None:
    """A line's VAT may differ from net x rate by one penny (per-line rounding)."""
    assert validate_document(clean_purchase(lines=[line(vat=vat)]), lists) == []


def test_discount_line_allowed_when_total_positive(lists: Lists) -> None:
    """A negative line (a discount) is fine while the document's total stays positive."""
    discount = line(description="Discount", net=D("-10.00"), vat=D("-2.00"))
    assert validate_document(clean_purchase(lines=[line(), discount]), lists) == []


@pytest.mark.parametrize(
    "method", ["credit CARD", 1, "1"], ids=["name any case", "id", "id as text"]
)
def test_payment_method_by_name_or_id(method: str | int, lists: Lists) -> None:
    """A payment method is found by name (case-insensitive) or by KashFlow id."""
    document = clean_purchase(payment=Payment(method=method, bank_account=1200))
    assert validate_document(document, lists) == []


@pytest.mark.parametrize(
    "bank", [1200, "1200", "current account"], ids=["code", "code as text", "name"]
)
def test_bank_account_by_code_or_name(bank: str | int, lists: Lists) -> None:
    """A bank account is found by nominal code or by name."""
    document = clean_purchase(payment=Payment(method="Cash", bank_account=bank))
    assert validate_document(document, lists) == []


def test_payment_of_the_full_gross_passes(lists: Lists) -> None:
    """A payment equal to the gross is fine."""
    document = clean_purchase(payment=Payment(method="Cash", bank_account=1200, amount=D("120")))
    assert validate_document(document, lists) == []


def test_gross_counts_vat_worked_out_from_rate(lists: Lists) -> None:
    """A payment is checked against the gross including VAT not yet computed."""
    document = clean_purchase(
        lines=[line(vat=None)],
        payment=Payment(method="Cash", bank_account=1200, amount=D("120.00")),
    )
    assert validate_document(document, lists) == []


@pytest.mark.parametrize(
    "filename,content_type",
    [
        ("INV.PDF", "application/pdf"),
        ("photo.jpeg", "image/jpeg"),
        ("scan.tiff", "image/tiff"),
        ("scan", "image/png"),
        ("notes.txt", "text/plain"),
    ],
)
def test_allowed_attachment_types(filename: str, content_type: str, lists: Lists) -> None:
    """Extensions decide the type, any case; a bare filename falls back to its content type."""
    document = clean_purchase(attachment=Attachment(filename, b"data", content_type))
    assert validate_document(document, lists) == []


def test_attachment_at_the_limit_passes(lists: Lists) -> None:
    """An attachment of exactly MAX_ATTACHMENT_BYTES is accepted."""
    document = clean_purchase(attachment=Attachment("a.pdf", b"x" * v.MAX_ATTACHMENT_BYTES))
    assert validate_document(document, lists) == []


def test_duplicate_check_receives_contact_reference_and_gross(lists: Lists) -> None:
    """is_duplicate gets the kind, the matched contact's id and name, reference and gross."""
    calls: list[tuple[Any, ...]] = []

    def check(*args: Any) -> None:
        calls.append(args)

    document = clean_purchase(supplier="ACME01", reference=" INV-1001 ")
    validate_document(document, lists, is_duplicate=check)
    assert calls == [("purchase", 101, "Acme Paper Ltd", "INV-1001", D("120.00"))]


def test_duplicate_check_for_a_contact_to_create(lists: Lists) -> None:
    """A contact not yet in KashFlow is checked by the name written, with no id."""
    calls: list[tuple[Any, ...]] = []
    validate_document(
        clean_purchase(supplier="New Ltd"), lists, is_duplicate=lambda *a: calls.append(a)
    )
    assert calls[0][:3] == ("purchase", None, "New Ltd")


def test_duplicate_names_the_published_item(lists: Lists) -> None:
    """The duplicate problem names the external id already published."""
    [problem] = validate_document(clean_purchase(), lists, is_duplicate=dup)
    assert "'item-7'" in problem.message


def test_same_external_id_is_not_a_duplicate(lists: Lists) -> None:
    """A match on the document's own external id is a re-publish, not a duplicate."""
    problems = validate_document(clean_purchase(), lists, is_duplicate=lambda *a: "item-42")
    assert problems == []


def test_no_duplicate_check_without_reference(lists: Lists) -> None:
    """Without a reference nothing identifies the invoice, so is_duplicate is not called."""
    calls: list[Any] = []
    validate_document(clean_sale(reference=""), lists, is_duplicate=lambda *a: calls.append(a))
    assert calls == []


def test_removed_item_message_says_removed(lists: Lists) -> None:
    """An item gone from KashFlow is described as removed, not merely archived."""
    [problem] = validate_document(clean_purchase(lines=[line(category=7700)]), lists)
    assert "removed from KashFlow" in problem.message
    [problem] = validate_document(clean_purchase(lines=[line(category=7600)]), lists)
    assert "archived in KashFlow" in problem.message


def test_rule_pointing_at_archived_category_is_reported(lists: Lists) -> None:
    """A rule's archived category surfaces as archived_category, naming the rule."""
    document = clean_purchase(lines=[line(category=None)])
    resolved = apply_rule(document, Rule(category=7600), "supplier rule: Acme Paper Ltd")
    [problem] = validate_document(resolved.document, lists, explain=resolved.explain)
    assert (problem.code, problem.field) == ("archived_category", "lines[0].category")
    assert "(set by supplier rule: Acme Paper Ltd)" in problem.message
    assert "supplier rule for Acme Paper Ltd" in problem.remedy


def test_rule_pointing_at_vanished_bank_account_is_reported(lists: Lists) -> None:
    """A rule's bank account removed from KashFlow surfaces as unknown_bank_account."""
    document = clean_purchase(payment=Payment(method="Cash"))
    resolved = apply_rule(document, Rule(bank_account=1210), "supplier rule: ACME01")
    [problem] = validate_document(resolved.document, lists, explain=resolved.explain)
    assert problem.code == "unknown_bank_account"
    assert "(set by supplier rule: ACME01)" in problem.message


def test_document_values_are_not_attributed_to_rules(lists: Lists) -> None:
    """A faulty value the document itself gave carries no rule note."""
    document = clean_purchase(lines=[line(category=7600)])
    resolved = apply_rule(document, Rule(category=7500), "supplier rule: Acme Paper Ltd")
    [problem] = validate_document(resolved.document, lists, explain=resolved.explain)
    assert "rule" not in problem.message


WIRE_ROWS = [
    # net, quantity, vat, vat_rate, rate_decimals -> quantity, rate, vat_amount, description
    (D("100.00"), D(1), D("20.00"), D(20), 2, (D(1), D("100.00"), D("20.00"), "Paper")),
    (D("10.00"), D(4), None, D(-1), 2, (D(4), D("2.50"), D("0.00"), "Paper")),
    (D("0.05"), D(1), None, D(5), 2, (D(1), D("0.05"), D("0.00"), "Paper")),
    (D("0.10"), D(1), None, D(5), 2, (D(1), D("0.10"), D("0.01"), "Paper")),
    (D("-12.50"), D(1), None, D(20), 2, (D(1), D("-12.50"), D("-2.50"), "Paper")),
    # No 2-dp rate multiplies back exactly: quantity 1 at the net, the quantity in the text.
    (D("100.00"), D(3), None, D(20), 2, (D(1), D("100.00"), D("20.00"), "Paper (3 x 33.3333)")),
    (
        D("19.99"),
        D("2.5"),
        D("3.99"),
        D(20),
        2,
        (D(1), D("19.99"), D("3.99"), "Paper (2.5 x 7.996)"),
    ),
    (D("0.99"), D(4), None, D(0), 2, (D(1), D("0.99"), D("0.00"), "Paper (4 x 0.2475)")),
    # An account known to keep 4 decimals takes the quantity when 4 decimals are exact.
    (D("0.99"), D(4), None, D(0), 4, (D(4), D("0.2475"), D("0.00"), "Paper")),
    (D("100.00"), D(3), None, D(20), 4, (D(1), D("100.00"), D("20.00"), "Paper (3 x 33.3333)")),
    (
        D("1.00"),
        D(30000),
        D("0.20"),
        D(20),
        2,
        (D(1), D("1.00"), D("0.20"), "Paper (30000 x 0.00003333)"),
    ),
]


@pytest.mark.parametrize(("net", "qty", "vat", "rate", "decimals", "expected"), WIRE_ROWS)
def test_line_wire_values(
    net: Decimal,
    qty: Decimal,
    vat: Decimal | None,
    rate: Decimal,
    decimals: int,
    expected: tuple[Decimal, Decimal, Decimal, str],
) -> None:
    """A line goes with its quantity only when quantity x rate is its net exactly."""
    line = Line(description="Paper", net=net, quantity=qty, vat=vat, vat_rate=rate)
    got = line_wire_values(line, decimals)
    assert (got.quantity, got.rate, got.vat, got.description) == expected
    assert [str(x) for x in (got.quantity, got.rate, got.vat)] == [str(x) for x in expected[:3]]
    # Whatever KashFlow keeps of the rate (2 or 4 decimals), the net is the line's exactly.
    assert got.quantity * got.rate == net


def test_quantity_one_sends_the_net_exactly() -> None:
    """With quantity 1 the rate is the net itself, whatever its precision."""
    assert str(unit_rate(D("100.00"), D(1))) == "100.00"


@pytest.mark.parametrize(
    ("net", "rate", "vat"),
    [(D("10.00"), D(20), D("2.00")), (D("0.125"), D(20), D("0.03")), (D("99.99"), D(-1), 0)],
)
def test_vat_from_rate_rounds_half_up(net: Decimal, rate: Decimal, vat: Decimal) -> None:
    """VAT is net x rate / 100, half-up to the penny; -1 (exempt) gives 0."""
    assert vat_from_rate(net, rate) == vat


@pytest.mark.parametrize(
    "bad", [Line(vat=None, vat_rate=None), Line(quantity=D(0), vat=D(0))], ids=["no vat", "qty 0"]
)
def test_line_wire_values_refuses_unvalidated_lines(bad: Line) -> None:
    """A line validation would refuse raises ValueError rather than sending guesses."""
    with pytest.raises(ValueError, match="validate the document first"):
        line_wire_values(bad)
