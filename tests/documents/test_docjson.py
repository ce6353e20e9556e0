"""Documents as JSON: the format's rules, its error messages, and an exact round trip."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kashflow_sync as kfs
from kashflow_sync import errors
from kashflow_sync._documents.schema import SCHEMA_ID, JsonNumber, document_schema
from kashflow_sync._limits import unsendable_character

PURCHASE: dict[str, Any] = {
    "external_id": "item-42",
    "supplier": "Acme Paper Ltd",
    "reference": "INV-1001",
    "issue_date": "2026-11-02",
    "due_date": "2026-12-02",
    "currency": "GBP",
    "lines": [
        {
            "description": "Paper",
            "net": "100.00",
            "vat": "20.00",
            "vat_rate": "20",
            "category": 7500,
        },
        {"description": "Toner", "net": 50, "vat_rate": 17.5, "quantity": 2, "project": 1},
    ],
    "attachment": {"content_base64": "JVBERi0xLjQ=", "filename": "inv.pdf"},
    "payment": {"method": "Credit card", "bank_account": 1200, "paid_on": "2026-11-03"},
}


def _with(**changes: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(PURCHASE))
    for key, value in changes.items():
        if value is ...:
            data.pop(key)
        else:
            data[key] = value
    return data


def _line(**changes: Any) -> dict[str, Any]:
    return _with(lines=[{**PURCHASE["lines"][0], **changes}])


def _problems(data: Any) -> list[kfs.Problem]:
    with pytest.raises(errors.ValidationError) as caught:
        kfs.document_from_json(data)
    return list(caught.value.problems)


def test_purchase_invoice_from_json() -> None:
    """A full purchase document becomes a PurchaseInvoice with Decimal money and real dates."""
    doc = kfs.document_from_json(PURCHASE)
    assert isinstance(doc, kfs.PurchaseInvoice)
    assert doc.issue_date == date(2026, 11, 2)
    assert doc.lines[0] == kfs.Line(
        description="Paper",
        net=Decimal("100.00"),
        vat=Decimal("20.00"),
        vat_rate=Decimal("20"),
        category=7500,
    )
    assert doc.lines[1].vat_rate == Decimal("17.5") and doc.lines[1].quantity == 2
    assert doc.attachment == kfs.Attachment("inv.pdf", b"%PDF-1.4", "application/pdf")


def test_sales_invoice_is_inferred_from_customer() -> None:
    """A document with a customer and no kind is a sales invoice."""
    doc = kfs.document_from_json(
        {"external_id": "s-7", "customer": "Bloggs & Co", "issue_date": "2026-11-04", "lines": []}
    )
    assert isinstance(doc, kfs.SalesInvoice) and doc.customer == "Bloggs & Co"


def test_attachment_path_is_relative_to_base_dir(tmp_path: Any) -> None:
    """An attachment path is read from base_dir, and its content type guessed from the name."""
    (tmp_path / "scan.png").write_bytes(b"\x89PNG")
    doc = kfs.document_from_json(_with(attachment="scan.png"), base_dir=tmp_path)
    assert doc.attachment == kfs.Attachment("scan.png", b"\x89PNG", "image/png")


ERRORS = [
    # (data, field, code, fragment of the message)
    (
        _line(net=JsonNumber("100.5")),
        "lines[0].net",
        "invalid_value",
        'write money as a string: "100.5"',
    ),
    (_line(net="1e3"), "lines[0].net", "invalid_value", "is not an amount"),
    (_line(net="12345678901234"), "lines[0].net", "invalid_value", "too large"),
    (_line(vat="abc"), "lines[0].vat", "invalid_value", "is not an amount"),
    (_line(vat=True), "lines[0].vat", "invalid_value", "not true"),
    (_line(vat_rate=[20]), "lines[0].vat_rate", "invalid_value", "a number or a decimal string"),
    (_line(category="seventy"), "lines[0].category", "invalid_value", "whole number"),
    (_line(colour="red"), "lines[0].colour", "unknown_field", "known fields: description"),
    (_with(issue_date="02/11/2026"), "issue_date", "invalid_value", "YYYY-MM-DD"),
    (_with(issue_date="2026-02-30"), "issue_date", "invalid_value", "February 2026 has 28 days"),
    (_with(due_date="2026-13-01"), "due_date", "invalid_value", "there is no month 13"),
    (_with(issue_date=...), "issue_date", "missing_field", "is required"),
    (_with(external_id=...), "external_id", "missing_field", "is required"),
    (_with(external_id=42), "external_id", "invalid_value", "must be a string"),
    (_with(external_id="kashflow_sync:x"), "external_id", "invalid_value", "may not start"),
    (_with(supplier=...), "supplier", "missing_field", '"customer" for a sales invoice'),
    (_with(customer="Bloggs"), "customer", "invalid_value", "not both"),
    (_with(kind="refund"), "kind", "invalid_value", '"purchase" or "sales"'),
    (_with(kind="sales"), "customer", "missing_field", 'required for kind "sales"'),
    (_with(lines="none"), "lines", "invalid_value", "must be a list"),
    (_with(attachment={"content_base64": "aGk="}), "attachment.filename", "missing_field", "with"),
    (_with(attachment={"filename": "a.pdf"}), "attachment", "missing_field", '"path"'),
    (
        _with(attachment={"path": "missing.pdf"}),
        "attachment.path",
        "attachment_path_refused",
        "no folder to read it from",
    ),
    (_with(payment={"amount": 12.5}), "payment.amount", "invalid_value", "JSON number"),
    (_with(payment={"paid_on": 20261103}), "payment.paid_on", "invalid_value", "date string"),
    (_with(totl="1"), "totl", "unknown_field", "unknown field"),
]


@pytest.mark.parametrize(("data", "field", "code", "fragment"), ERRORS)
def test_each_mistake_names_its_field(data: Any, field: str, code: str, fragment: str) -> None:
    """Each mistake is a problem naming the field, with a code, a message and a remedy."""
    [problem] = [p for p in _problems(data) if p.field == field]
    assert problem.code == code
    assert fragment in problem.message
    assert problem.remedy


def test_a_path_is_read_only_from_the_folder_given(tmp_path: Path) -> None:
    """base_dir allows path attachments; a missing file there is attachment_not_found."""
    (tmp_path / "inv.pdf").write_bytes(b"%PDF-1.4 path")
    doc = kfs.document_from_json(_with(attachment={"path": "inv.pdf"}), base_dir=tmp_path)
    assert doc.attachment is not None and doc.attachment.content == b"%PDF-1.4 path"
    with pytest.raises(errors.ValidationError) as caught:
        kfs.document_from_json(_with(attachment={"path": "gone.pdf"}), base_dir=tmp_path)
    assert [p.code for p in caught.value.problems] == ["attachment_not_found"]


def test_without_a_folder_no_file_of_this_machine_is_read() -> None:
    """Untrusted data naming a server file (say /etc/passwd) is refused, nothing is read."""
    problems = _problems(_with(attachment={"path": "/etc/passwd"}))
    assert [p.code for p in problems] == ["attachment_path_refused"]


def test_every_mistake_of_a_document_is_reported_at_once() -> None:
    """Several mistakes in one document are all reported in one ValidationError."""
    data = _with(issue_date="2026-02-30", totl=1, lines=[{"net": 1.5}, {"net": "x", "vat": "y"}])
    fields = {p.field for p in _problems(data)}
    assert fields == {"issue_date", "totl", "lines[0].net", "lines[1].net", "lines[1].vat"}


def test_str_of_the_error_carries_messages_and_remedies() -> None:
    """str(ValidationError) lists each problem's message and remedy, not only the codes."""
    with pytest.raises(errors.ValidationError) as caught:
        kfs.document_from_json(_with(issue_date="2026-02-30"))
    text = str(caught.value)
    assert "February 2026 has 28 days" in text and "Correct the date" in text


def test_a_number_is_accepted_for_vat_rate_and_quantity() -> None:
    """vat_rate and quantity are not money: 17.5 and 2.5 as JSON numbers are taken exactly."""
    doc = kfs.document_from_json(_line(vat_rate=JsonNumber("17.5"), quantity=JsonNumber("2.5")))
    assert doc.lines[0].vat_rate == Decimal("17.5") and doc.lines[0].quantity == Decimal("2.5")


def test_whole_numbers_are_exact_money() -> None:
    """A whole JSON number is accepted for money: it is exact."""
    assert kfs.document_from_json(_line(net=100, vat=20)).lines[0].net == Decimal(100)


def test_python_decimals_are_exact_money() -> None:
    """Data built in Python may hold Decimals for money; only JSON fractions are refused."""
    assert kfs.document_from_json(_line(net=Decimal("100.50"))).lines[0].net == Decimal("100.50")


def test_input_is_not_modified() -> None:
    """Building a document leaves the caller's data as it was."""
    data = _with()
    before = json.dumps(data)
    kfs.document_from_json(data)
    assert json.dumps(data) == before


def test_to_json_is_valid_under_the_shipped_schema() -> None:
    """document_to_json writes what the shipped schema accepts (money as fixed-point strings)."""
    import jsonschema

    doc = kfs.document_from_json(_line(net="1000", vat=Decimal(0)))
    data = kfs.document_to_json(doc)
    jsonschema.Draft202012Validator(document_schema()).validate(data)
    assert data["kind"] == "purchase" and data["lines"][0]["net"] == "1000"


def test_schema_names_its_format_and_version() -> None:
    """The shipped schema's $id is the format's name and version, a URN rather than a fake URL."""
    assert document_schema()["$id"] == SCHEMA_ID == "urn:kashflow-sync:document:1"


# ---------------------------------------------------------------------------- round trip

_text = st.text(max_size=20)
_money = st.decimals(
    min_value=Decimal("-999999999.99"), max_value=Decimal("999999999.99"), places=2
)
_rate = st.one_of(st.none(), st.decimals(min_value=-1, max_value=100, places=3))
_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
_lines = st.builds(
    kfs.Line,
    description=st.none() | _text,
    net=_money,
    vat=st.none() | _money,
    vat_rate=_rate,
    category=st.none() | st.integers(0, 99999),
    project=st.none() | st.integers(0, 9999),
    quantity=st.decimals(min_value=0, max_value=10000, places=4),
)
_attachments = st.none() | st.builds(
    kfs.Attachment, filename=_text, content=st.binary(max_size=64), content_type=_text
)
_payments = st.none() | st.builds(
    kfs.Payment,
    method=st.none() | _text | st.integers(0, 10**6),
    bank_account=st.none() | _text | st.integers(0, 10**6),
    paid_on=st.none() | _dates,
    amount=st.none() | _money,
)
# Ids the journal can key (no NUL, no lone surrogate): documents refuse others at construction.
_ids = st.text(min_size=1, max_size=20).filter(
    lambda s: s.strip() and not s.startswith("kashflow_sync:") and not unsendable_character(s)
)
_common = {
    "external_id": _ids,
    "reference": _text,
    "issue_date": st.none() | _dates,
    "lines": st.lists(_lines, max_size=3),
    "due_date": st.none() | _dates,
    "currency": st.none() | _text,
    "attachment": _attachments,
    "payment": _payments,
    "location": st.none() | _text,
}
_documents = st.builds(kfs.PurchaseInvoice, supplier=_text, **_common) | st.builds(
    kfs.SalesInvoice, customer=_text, **_common
)


@settings(max_examples=150, deadline=None)
@given(_documents)
def test_round_trip_is_exact(document: kfs.Document) -> None:
    """document_from_json(document_to_json(d)) == d, through a JSON string too."""
    data = kfs.document_to_json(document)
    assert kfs.document_from_json(data) == document
    assert kfs.document_from_json(json.loads(json.dumps(data))) == document


AWKWARD = [
    kfs.SalesInvoice(
        external_id="\u00e9t\u00e9 \u2603",
        customer="",
        reference="",
        issue_date=None,
        lines=[],
    ),
    kfs.PurchaseInvoice(
        external_id="big",
        supplier="Acme\u200bPaper\u00a0Ltd",
        reference="R\x00",
        issue_date=date(2026, 2, 28),
        lines=[kfs.Line(net=Decimal("1E+3"), vat=Decimal("-0.00"), quantity=Decimal("0.0001"))],
        attachment=kfs.Attachment("", b"", ""),
        payment=kfs.Payment(method=0, bank_account="", amount=Decimal("999999999999")),
    ),
]


@pytest.mark.parametrize("document", AWKWARD, ids=["empty-sale", "edge-values"])
def test_awkward_documents_round_trip(document: kfs.Document) -> None:
    """Empty names, control characters, exponents, negative zero and empty files survive."""
    assert kfs.document_from_json(kfs.document_to_json(document)) == document


def test_to_json_refuses_what_is_not_a_document() -> None:
    """document_to_json names the expected types when given something else."""
    with pytest.raises(TypeError, match="PurchaseInvoice, SalesInvoice, PurchaseCreditNote or"):
        kfs.document_to_json({"external_id": "x"})  # type: ignore[arg-type]
