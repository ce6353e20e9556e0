"""The package's cattrs converter: exact money, ISO dates, models by field."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from kashflow_sync._account.items import LIST_NAMES, Customer, Supplier, VatRate
from kashflow_sync._convert import (
    as_utc,
    converter,
    make_converter,
    structure_attempt,
    structure_entry,
    structure_items,
    structure_rule,
    unstructure_attempt,
    unstructure_entry,
    unstructure_items,
    unstructure_rule,
)
from kashflow_sync._documents.model import PublishAttempt, Rule
from kashflow_sync._journal.entry import JournalEntry
from kashflow_sync.testing.conformance import sample_items

UTC = timezone.utc


@pytest.mark.parametrize(
    ("value", "cls", "data"),
    [
        (Decimal("17.5"), Decimal, "17.5"),
        (Decimal("1.27000"), Decimal, "1.27000"),
        (Decimal("-1"), Decimal, "-1"),
        (
            datetime(2026, 3, 4, 5, 6, 7, 89, tzinfo=UTC),
            datetime,
            "2026-03-04T05:06:07.000089+00:00",
        ),
        (datetime(2026, 3, 4, 5, 6), datetime, "2026-03-04T05:06:00"),
        (date(2026, 11, 2), date, "2026-11-02"),
    ],
)
def test_scalar_forms(value: Any, cls: type, data: str) -> None:
    """Decimals become exact strings and dates ISO 8601 strings, and come back equal."""
    assert converter.unstructure(value, cls) == data
    assert converter.structure(data, cls) == value


def test_float_refused_as_decimal() -> None:
    """A float where a Decimal is stored is refused rather than rounded."""
    with pytest.raises(TypeError, match="decimal string"):
        converter.structure(0.1, Decimal)


@pytest.mark.parametrize("name", sorted(LIST_NAMES))
def test_items_survive_json(name: str) -> None:
    """Every list's items survive unstructure, JSON and structure unchanged."""
    items = sample_items(name)
    data = json.loads(json.dumps(unstructure_items(name, items)))
    assert structure_items(name, data) == tuple(items)


def test_wrong_item_class_refused() -> None:
    """An item of another list's class is refused with its position."""
    with pytest.raises(TypeError, match=r"suppliers\[1\] must be a Supplier, not Customer"):
        unstructure_items("suppliers", [Supplier(1, "A", "A"), Customer(2, "B", "B")])


def test_unknown_list_refused() -> None:
    """An unknown list name raises KeyError naming the known ones."""
    with pytest.raises(KeyError, match="nominal_codes"):
        unstructure_items("locations", [])


def test_vat_rate_keeps_precision() -> None:
    """A VAT rate keeps its exact digits in the stored form."""
    assert unstructure_items("vat_rates", [VatRate(1, "Std", Decimal("17.50"))])[0]["rate"] == (
        "17.50"
    )


@pytest.mark.parametrize(
    "rule",
    [
        Rule(),
        Rule(category=7500, vat_rate=Decimal("20"), project=3, description="x", due_days=30),
        Rule(payment_method="Credit card", bank_account=1200),
        Rule(payment_method=4, bank_account="Current"),
    ],
)
def test_rule_survives_json(rule: Rule) -> None:
    """A rule, int-or-str choices included, survives a JSON round trip."""
    assert structure_rule(json.loads(json.dumps(unstructure_rule(rule)))) == rule


def test_attempt_survives_json() -> None:
    """A publish attempt survives a JSON round trip."""
    attempt = PublishAttempt(datetime(2030, 1, 1, tzinfo=UTC), "create", "ok", "number 7")
    assert structure_attempt(json.loads(json.dumps(unstructure_attempt(attempt)))) == attempt


def test_entry_survives_json() -> None:
    """A journal entry with attempts survives a JSON round trip."""
    at = datetime(2030, 1, 1, tzinfo=UTC)
    entry = JournalEntry(
        "c", "d", "sales", "f", "created", "w", at, 1, 2, 3, True, False, at, at,
        (PublishAttempt(at, "create", "ok"),),
    )  # fmt: skip
    assert structure_entry(json.loads(json.dumps(unstructure_entry(entry)))) == entry


def test_make_converter_is_independent() -> None:
    """make_converter builds a new converter each time, never the global cattrs one."""
    assert make_converter() is not converter


def test_as_utc_converts_offset() -> None:
    """An aware datetime is moved to UTC, the instant unchanged."""
    value = datetime(2030, 1, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    assert as_utc(value) == datetime(2030, 1, 1, 12, tzinfo=UTC)
    assert as_utc(value).tzinfo is UTC


def test_as_utc_refuses_naive() -> None:
    """A naive datetime is refused."""
    with pytest.raises(ValueError, match="timezone-aware"):
        as_utc(datetime(2030, 1, 1))
