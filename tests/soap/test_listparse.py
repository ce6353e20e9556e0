"""The fast list reader: new or odd values from KashFlow never break a sync."""

from __future__ import annotations

import logging

import pytest
from lxml import etree

from kashflow_sync import Project, Supplier
from kashflow_sync.soap._listparse import LIST_SPECS, read_items


def _result(item: str, rows: list[str]) -> etree._Element:
    xml = f'<R xmlns="KashFlow">{"".join(f"<{item}>{r}</{item}>" for r in rows)}</R>'
    return etree.fromstring(xml)


def test_unknown_project_status_is_kept_raw() -> None:
    """A project status KashFlow adds later is kept as its raw number, not refused."""
    rows = ["<ID>5</ID><Number>12</Number><Name>P</Name><Status>7</Status>"]
    (project,) = read_items(_result("Project", rows), LIST_SPECS["projects"])
    assert isinstance(project, Project)
    assert project.status == 7 and project.status_name == "unknown(7)" and not project.archived


def test_unreadable_item_is_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """An item whose id is not a number is skipped and logged; the others are read."""
    rows = [
        "<SupplierID>x1</SupplierID><Code>A</Code><Name>Bad</Name>",
        "<SupplierID>2</SupplierID><Code>B</Code><Name>Good</Name>",
    ]
    with caplog.at_level(logging.WARNING, logger="kashflow_sync"):
        items = list(read_items(_result("Supplier", rows), LIST_SPECS["suppliers"]))
    assert [i.name for i in items] == ["Good"]
    assert "skipped" in caplog.text


def test_fields_the_models_do_not_keep_are_ignored() -> None:
    """Unknown or extra elements in an item do not disturb reading."""
    rows = ["<SupplierID>3</SupplierID><Brand>New</Brand><Code>C</Code><Name>N</Name>"]
    (supplier,) = read_items(_result("Supplier", rows), LIST_SPECS["suppliers"])
    assert supplier == Supplier(kashflow_id=3, code="C", name="N")


def test_missing_optional_values_take_defaults() -> None:
    """Absent optional fields (KashFlow omits nulls) become empty strings, 0 or None."""
    (supplier,) = read_items(
        _result("Supplier", ["<SupplierID>4</SupplierID>"]), LIST_SPECS["suppliers"]
    )
    assert (supplier.code, supplier.name, supplier.updated) == ("", "", None)
