"""The JSON document format of ``kashflow-sync publish``: loading, errors, and its JSON Schema."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import kashflow_sync as kfs
from kashflow_sync._cli_documents import DocumentFileError, document_schema, load_documents

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
            "quantity": "2",
        },
        {"description": "Toner", "net": "50.00", "vat_rate": 20, "project": 1},
    ],
    "attachment": {"path": "inv.pdf", "content_type": "application/pdf"},
    "payment": {"method": "Credit card", "bank_account": 1200, "paid_on": "2026-11-03"},
}


def write(tmp_path: Path, data: Any, name: str = "doc.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "inv.pdf").write_bytes(b"%PDF-1.4 test")
    return tmp_path


def test_purchase_invoice_loads_every_field(folder: Path) -> None:
    """A full purchase document becomes a PurchaseInvoice with Decimal money and dates."""
    [doc] = load_documents(write(folder, PURCHASE))
    assert isinstance(doc, kfs.PurchaseInvoice)
    assert doc.supplier == "Acme Paper Ltd"
    assert doc.issue_date == date(2026, 11, 2)
    assert doc.due_date == date(2026, 12, 2)
    assert doc.lines[0] == kfs.Line(
        description="Paper",
        net=Decimal("100.00"),
        vat=Decimal("20.00"),
        vat_rate=Decimal("20"),
        category=7500,
        quantity=Decimal("2"),
    )
    assert doc.lines[1].vat is None and doc.lines[1].project == 1
    assert doc.payment == kfs.Payment(
        method="Credit card", bank_account=1200, paid_on=date(2026, 11, 3)
    )


def test_attachment_is_read_relative_to_the_json_file(folder: Path) -> None:
    """The attachment path is resolved against the JSON file's folder, not the cwd."""
    [doc] = load_documents(write(folder, PURCHASE))
    assert doc.attachment == kfs.Attachment("inv.pdf", b"%PDF-1.4 test", "application/pdf")


def test_attachment_as_plain_path_guesses_content_type(folder: Path) -> None:
    """An attachment given as a string is a path; its content type comes from the name."""
    [doc] = load_documents(write(folder, {**PURCHASE, "attachment": "inv.pdf"}))
    assert doc.attachment is not None
    assert doc.attachment.content_type == "application/pdf"


def test_sales_invoice_is_inferred_from_customer(folder: Path) -> None:
    """A document with a customer and no kind is a sales invoice."""
    data = {
        "external_id": "s-7",
        "customer": "Bloggs & Co",
        "reference": "PO-77",
        "issue_date": "2026-11-04",
        "lines": [{"net": "500.00", "vat_rate": "20", "category": 4000}],
    }
    [doc] = load_documents(write(folder, data))
    assert isinstance(doc, kfs.SalesInvoice)
    assert doc.customer == "Bloggs & Co"


def test_a_list_of_documents_loads_in_order(folder: Path) -> None:
    """A file holding a list gives every document, in file order."""
    second = {**PURCHASE, "external_id": "item-43"}
    docs = load_documents(write(folder, [PURCHASE, second]))
    assert [d.external_id for d in docs] == ["item-42", "item-43"]


def _with(**changes: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(PURCHASE))
    for key, value in changes.items():
        if value is ...:
            data.pop(key)
        else:
            data[key] = value
    return data


def _line(**changes: Any) -> dict[str, Any]:
    line = dict(PURCHASE["lines"][0])
    line.update(changes)
    return _with(lines=[line])


FLOAT_NET = json.dumps(_with()).replace('"net": "100.00"', '"net": 100.5')

ERRORS = [
    # (document JSON text, field named, fragment of the reason)
    (FLOAT_NET, "lines[0].net", 'write money as a string: "100.5"'),
    (json.dumps(_line(vat="abc")), "lines[0].vat", "is not an amount"),
    (json.dumps(_line(category="seventy")), "lines[0].category", "whole number"),
    (json.dumps(_line(colour="red")), "lines[0].colour", "unknown field"),
    (json.dumps(_with(issue_date="02/11/2026")), "issue_date", "ISO date"),
    (json.dumps(_with(issue_date=...)), "issue_date", "is required"),
    (json.dumps(_with(external_id=...)), "external_id", "is required"),
    (json.dumps(_with(external_id=42)), "external_id", "must be a string"),
    (json.dumps(_with(supplier=...)), "supplier", "is required"),
    (json.dumps(_with(customer="Bloggs")), "customer", "a document has a"),
    (json.dumps(_with(kind="refund")), "kind", '"purchase" or "sales"'),
    (json.dumps(_with(kind="sales")), "customer", 'required for kind "sales"'),
    (json.dumps(_with(lines="none")), "lines", "must be a list"),
    (json.dumps(_with(attachment={"path": "missing.pdf"})), "attachment.path", "no such file"),
    (json.dumps(_with(payment={"amount": True})), "payment.amount", "as a string"),
    (json.dumps(_with(payment={"paid_on": 20261103})), "payment.paid_on", "ISO date"),
    (json.dumps(_with(totl="1")), "totl", "unknown field"),
    (json.dumps(["x"]), "[0]", "must be a JSON object"),
]


@pytest.mark.parametrize(("text", "field", "fragment"), ERRORS)
def test_errors_name_the_file_and_the_field(
    folder: Path, text: str, field: str, fragment: str
) -> None:
    """Each mistake raises DocumentFileError naming the file, the field and what is wrong."""
    path = write(folder, text)
    with pytest.raises(DocumentFileError) as caught:
        load_documents(path)
    assert caught.value.field == field
    assert fragment in caught.value.reason
    assert str(path) in str(caught.value)


def test_error_in_a_list_names_the_document_position(folder: Path) -> None:
    """In a list, the field path starts with the document's index."""
    bad = _line(net=1.25)
    with pytest.raises(DocumentFileError) as caught:
        load_documents(write(folder, [PURCHASE, bad]))
    assert caught.value.field == "[1].lines[0].net"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("{not json", r"not valid JSON \(line 1"), ("[]", "holds no documents")],
)
def test_unreadable_files_are_reported(folder: Path, text: str, fragment: str) -> None:
    """A file that is not JSON, or an empty list, is refused with the reason."""
    with pytest.raises(DocumentFileError, match=fragment):
        load_documents(write(folder, text))


def test_missing_file_is_reported(tmp_path: Path) -> None:
    """A file that does not exist is a DocumentFileError, not a bare OSError."""
    with pytest.raises(DocumentFileError, match="no such file"):
        load_documents(tmp_path / "nope.json")


def test_integer_money_is_exact(folder: Path) -> None:
    """A whole number is accepted for money: it is exact."""
    [doc] = load_documents(write(folder, _line(net=100, vat=20)))
    assert doc.lines[0].net == Decimal(100)


def test_schema_is_shipped_and_names_every_loader_field() -> None:
    """The packaged JSON Schema describes exactly the fields the loader accepts."""
    from kashflow_sync import _cli_documents as mod

    schema = document_schema()
    defs = schema["$defs"]
    assert set(defs["document"]["properties"]) == set(mod._DOCUMENT_KEYS)
    assert set(defs["line"]["properties"]) == set(mod._LINE_KEYS)
    assert set(defs["payment"]["properties"]) == set(mod._PAYMENT_KEYS)
    assert set(defs["attachment"]["oneOf"][1]["properties"]) == set(mod._ATTACHMENT_KEYS)
