"""The limits of what KashFlow and the journal hold: dates, characters, keys, insert answers."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
from lxml import etree

import kashflow_sync as kfs
from _lists_fixtures import clean_purchase, line, make_lists
from kashflow_sync import errors
from kashflow_sync._documents.rules import RuleBook, apply_rule, due_date_after, find_rule
from kashflow_sync._documents.schema import document_schema
from kashflow_sync._documents.validate import validate_document
from kashflow_sync._limits import (
    EARLIEST_DATE,
    LATEST_DATE,
    MAX_EXTERNAL_ID_LENGTH,
    MAX_RULE_CONTACT_LENGTH,
)
from kashflow_sync.soap import operations
from kashflow_sync.storage import MemoryStorage

LISTS = make_lists()
DAY = timedelta(days=1)


def date_problems(document: kfs.Document) -> list[tuple[str, str]]:
    return [
        (p.code, p.field)
        for p in validate_document(document, LISTS)
        if p.code == "date_out_of_range"
    ]


# -- dates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("issued", "refused"),
    [
        (EARLIEST_DATE, False),
        (LATEST_DATE, False),
        (EARLIEST_DATE - DAY, True),
        (LATEST_DATE + DAY, True),
        (date(1900, 1, 1), True),
    ],
    ids=["earliest", "latest", "day before", "day after", "REST's no-date"],
)
def test_issue_date_range_is_inclusive(issued: date, refused: bool) -> None:
    """EARLIEST_DATE and LATEST_DATE themselves publish; a day outside them does not."""
    found = date_problems(clean_purchase(issue_date=issued, payment=None))
    assert found == ([("date_out_of_range", "issue_date")] if refused else [])


def test_smallest_date_is_worded_as_a_missing_date() -> None:
    """0001-01-01 is named as what it usually is: a date that was never filled in."""
    [problem] = validate_document(clean_purchase(issue_date=date.min, payment=None), LISTS)
    assert "0001-01-01" in problem.message and "missing date" in problem.remedy


@pytest.mark.parametrize(
    ("issued", "days", "due"),
    [
        (date(2026, 1, 31), 30, date(2026, 3, 2)),
        (date(9999, 12, 31), 30, date.max),
        (date(2026, 1, 1), 10**12, date.max),
        (date(1, 1, 2), -5, date.min),
    ],
    ids=["in the calendar", "past its end", "days beyond timedelta", "before its start"],
)
def test_due_date_after_holds_at_the_calendar_ends(issued: date, days: int, due: date) -> None:
    """A due date past the calendar is its end (then refused by validation), not OverflowError."""
    assert due_date_after(issued, days) == due


def test_due_days_rule_on_the_last_date_is_reported_with_the_rule() -> None:
    """apply_rule does not raise; validation names the rule that set the impossible due date."""
    resolved = apply_rule(
        clean_purchase(issue_date=date.max, payment=None), kfs.Rule(due_days=1), "supplier rule: A"
    )
    problems = validate_document(resolved.document, LISTS, explain=resolved.explain)
    [due] = [p for p in problems if p.field == "due_date"]
    assert due.code == "date_out_of_range" and "(set by supplier rule: A)" in due.message


# -- a payment of nothing -----------------------------------------------------------------


def test_stated_payment_on_a_zero_total_is_payment_exceeds_total() -> None:
    """A stated amount on a zero total is payment_exceeds_total alone, as before."""
    payment = kfs.Payment(method="Cash", bank_account=1200, amount=Decimal("5.00"))
    document = clean_purchase(lines=[line(net=0, vat=0)], payment=payment)
    assert [p.code for p in validate_document(document, LISTS)] == ["payment_exceeds_total"]


# -- characters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["tab\tin", "line\nfeed", "carriage\rreturn", "\u2028", "\U0001d11e"]
)
def test_characters_xml_carries_are_accepted(text: str) -> None:
    """Tab, line breaks, the line separator and characters beyond the BMP are not refused."""
    document = clean_purchase(reference=f"R{text}", lines=[line(description=text)])
    assert validate_document(document, LISTS) == []


@pytest.mark.parametrize("text", ["INV\x00", "INV\ud800"], ids=["NUL", "lone surrogate"])
def test_duplicate_check_is_not_asked_about_an_unstorable_reference(text: str) -> None:
    """The ledger-duplicate lookup (a storage read) is skipped: no key holds such a text."""

    def lookup(*_: Any) -> str:
        raise AssertionError("asked storage about an unstorable reference")

    problems = validate_document(clean_purchase(reference=text), LISTS, is_duplicate=lookup)
    assert [(p.code, p.field) for p in problems] == [("invalid_characters", "reference")]


@pytest.mark.parametrize("field", ["supplier", "location"])
def test_problem_messages_never_hold_a_lone_surrogate(field: str) -> None:
    """Messages name the character by code point, so they can be printed and logged."""
    document = attrs.evolve(clean_purchase(), **{field: "Acme\udcff"})
    for problem in validate_document(document, LISTS):
        (problem.message + problem.remedy).encode("utf-8")
    assert any("U+DCFF" in p.message for p in validate_document(document, LISTS))


# -- rules --------------------------------------------------------------------------------


@pytest.mark.parametrize("contact", ["Acme\x00", "Acme\ud800", "A" * (MAX_RULE_CONTACT_LENGTH + 1)])
def test_rule_for_an_unstorable_contact_is_refused(contact: str) -> None:
    """RuleBook refuses a contact no storage could key (ValueError), storing nothing."""
    storage = MemoryStorage()
    with pytest.raises(ValueError):
        RuleBook(storage, "c").set_supplier_rule(contact, kfs.Rule(category=7500))
    assert storage.list_rules("c", "supplier") == {}


def test_rule_lookup_skips_a_contact_no_storage_holds() -> None:
    """Resolving a document whose supplier holds NUL never asks the storage for that key."""

    def get_rule(_kind: str, contact: str) -> kfs.Rule | None:
        assert "\x00" not in contact
        return None

    assert find_rule(get_rule, clean_purchase(supplier="Acme\x00")) is None


# -- keys ---------------------------------------------------------------------------------


def test_external_id_at_the_limit_is_accepted() -> None:
    """An external_id of exactly MAX_EXTERNAL_ID_LENGTH characters builds a document."""
    document = clean_purchase(external_id="x" * MAX_EXTERNAL_ID_LENGTH)
    assert len(document.external_id) == MAX_EXTERNAL_ID_LENGTH


def test_document_format_states_the_external_id_limit() -> None:
    """The shipped JSON Schema's maxLength for external_id is the SDK's limit."""
    document = document_schema()["$defs"]["document"]
    assert document["properties"]["external_id"]["maxLength"] == MAX_EXTERNAL_ID_LENGTH


@pytest.mark.parametrize(
    ("external_id", "field", "words"),
    [
        ("x" * (MAX_EXTERNAL_ID_LENGTH + 1), "external_id", f"limit is {MAX_EXTERNAL_ID_LENGTH}"),
        ("item\x001", "", "U+0000"),
    ],
    ids=["too long", "NUL"],
)
def test_document_file_with_unstorable_external_id_is_a_problem(
    external_id: str, field: str, words: str
) -> None:
    """document_from_json reports the external_id in words, as an invalid_value problem."""
    data = {
        "kind": "purchase",
        "external_id": external_id,
        "supplier": "Acme Paper Ltd",
        "reference": "INV-1",
        "issue_date": "2026-11-02",
        "lines": [{"net": "10.00"}],
    }
    with pytest.raises(errors.ValidationError) as caught:
        kfs.document_from_json(data)
    [problem] = caught.value.problems
    assert (problem.code, problem.field) == ("invalid_value", field) and words in problem.message


# -- insert answers -----------------------------------------------------------------------


def _answer(text: str) -> etree._Element:
    root = etree.Element("{KashFlow}InsertReceiptResponse")
    etree.SubElement(root, "{KashFlow}InsertReceiptResult").text = text
    return root


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        (" 42 ", 42),
        ("+42", 42),
        ("0000000000000042", 42),
        ("2147483647", 2**31 - 1),
        ("0", "no_id"),
        ("-5", "no_id"),
        ("", "no_id"),
        ("abc", "id_not_a_number"),
        ("1_000", "id_not_a_number"),
        ("\u0661\u0662", "id_not_a_number"),
        ("12.0", "id_not_a_number"),
        ("1e3", "id_not_a_number"),
        ("2147483648", "id_out_of_range"),
        ("9" * 5000, "id_out_of_range"),
    ],
)
def test_insert_answer_is_read_strictly(text: str, expected: int | str) -> None:
    """An insert's id is an s:int in ASCII digits; anything else is a typed error with a code."""
    read = operations.insert_document("purchase", {}, []).read
    if isinstance(expected, int):
        assert read(_answer(text)) == expected
        return
    with pytest.raises(errors.KashFlowError) as caught:
        read(_answer(text))
    assert caught.value.code == expected
    kind = errors.RejectedError if expected == "no_id" else errors.ProtocolError
    assert isinstance(caught.value, kind) and caught.value.operation == "InsertReceipt"
