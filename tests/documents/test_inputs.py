"""Inputs that would write something other than what a person sees are refused before any write.

Invisible characters in names and references, a currency given empty, amounts no Decimal context
can hold, JSON with a key twice or nested past any document's shape, and attachment paths that
lead out of the document file's folder: each is a typed problem or error with a remedy, found
before anything reaches KashFlow or the journal, for every document kind.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import kashflow_sync as kfs
from _lists_fixtures import make_lists
from _support import make_client
from kashflow_sync import errors
from kashflow_sync._documents.names import (
    BIDI_CONTROLS,
    C1_CONTROLS,
    describe_characters,
    name_key,
)
from kashflow_sync._documents.schema import MAX_JSON_DEPTH, loads
from kashflow_sync._documents.validate import validate_document
from kashflow_sync.cli import load_documents
from kashflow_sync.testing import FakeKashFlow

D = Decimal
LISTS = make_lists()


def _document(kind: str, **changes: Any) -> kfs.Document:
    """A document of *kind* that publishes cleanly on the seeded fake, with *changes*."""
    purchase = kind in ("purchase", "purchase_credit_note")
    fields: dict[str, Any] = {
        "external_id": f"{kind}-1",
        "reference": "INV-1001",
        "issue_date": date(2026, 11, 2),
        "lines": [kfs.Line(net=D("100.00"), vat_rate=D("20"), category=7500 if purchase else 4000)],
        ("supplier" if purchase else "customer"): "Acme Paper Ltd" if purchase else "Bloggs & Co",
    }
    fields.update(changes)
    return {
        "purchase": kfs.PurchaseInvoice,
        "sales": kfs.SalesInvoice,
        "purchase_credit_note": kfs.PurchaseCreditNote,
        "sales_credit_note": kfs.SalesCreditNote,
    }[kind](**fields)


KINDS = ["purchase", "sales", "purchase_credit_note", "sales_credit_note"]


@pytest.fixture
def connected(fake: FakeKashFlow) -> Any:
    client = make_client(fake)
    client.connect()
    yield client
    client.close()


def _nothing_written(fake: FakeKashFlow, suppliers: int, customers: int) -> bool:
    return (
        not fake.receipts
        and not fake.invoices
        and not fake.attachments
        and (len(fake.suppliers), len(fake.customers)) == (suppliers, customers)
    )


def _refused(client: kfs.KashFlowClient, fake: FakeKashFlow, doc: kfs.Document) -> set[str]:
    """The codes publishing *doc* is refused with, checking that nothing was written."""
    suppliers, customers = len(fake.suppliers), len(fake.customers)
    with pytest.raises(errors.ValidationError) as caught:
        client.publish(doc)
    assert _nothing_written(fake, suppliers, customers)
    assert client.storage.get_journal(client.connection_id, doc.external_id) is None
    assert all(p.remedy for p in caught.value.problems)
    return {p.code for p in caught.value.problems}


# ---------------------------------------------------------------------------- invisible characters


INVISIBLE = pytest.mark.parametrize(
    ("where", "text"),
    [
        ("contact", "{}\u202e"),  # RIGHT-TO-LEFT OVERRIDE after the name
        ("contact", "\u2066{}\u2069"),  # LEFT-TO-RIGHT ISOLATE ... POP DIRECTIONAL ISOLATE
        ("contact", "{}\u200f"),  # RIGHT-TO-LEFT MARK
        ("contact", "{}\u0085"),  # a C1 control (NEXT LINE)
        ("reference", "INV-1001\u202d"),  # LEFT-TO-RIGHT OVERRIDE
        ("reference", "INV-\u200b1001"),  # ZERO WIDTH SPACE
        ("reference", "INV\u00961001"),  # a C1 control: cp1252's en dash read as Latin-1
    ],
    ids=["RLO name", "isolates name", "RLM name", "C1 name", "LRO ref", "ZWSP ref", "C1 ref"],
)


def _hiding(kind: str, where: str, text: str) -> kfs.Document:
    """A document of *kind* whose contact (or reference) is *text*."""
    contact = "Acme Paper Ltd" if kind.startswith("purchase") else "Bloggs & Co"
    field = "supplier" if kind.startswith("purchase") else "customer"
    return _document(
        kind, **({field: text.format(contact)} if where == "contact" else {"reference": text})
    )


@pytest.mark.parametrize("kind", KINDS)
@INVISIBLE
def test_invisible_characters_are_a_problem_for_every_kind(
    kind: str, where: str, text: str
) -> None:
    """Validation (which every publish runs first) refuses them in invoices and credit notes."""
    problems = validate_document(_hiding(kind, where, text), LISTS)
    field = (
        where
        if where == "reference"
        else ("supplier" if kind.startswith("purchase") else "customer")
    )
    assert [(p.code, p.field) for p in problems] == [("hidden_characters", field)]


@pytest.mark.parametrize("kind", ["purchase", "sales"])
@INVISIBLE
def test_invisible_characters_are_refused_before_any_write(
    connected: kfs.KashFlowClient, fake: FakeKashFlow, kind: str, where: str, text: str
) -> None:
    """Publishing such a document sends nothing and journals nothing."""
    assert _refused(connected, fake, _hiding(kind, where, text)) == {"hidden_characters"}


def test_the_lookalike_supplier_is_not_created(
    connected: kfs.KashFlowClient, fake: FakeKashFlow
) -> None:
    """The issue's case: "Acme Paper Ltd" + U+202E made a second supplier that looked the same."""
    doc = _document("purchase", supplier="Acme Paper Ltd\u202e")
    problems = connected.validate(doc, include_notices=True)
    assert [(p.code, p.field) for p in problems] == [("hidden_characters", "supplier")]
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in problems[0].message
    assert "'Acme Paper Ltd'" in problems[0].message  # what the person sees
    assert [s.name for s in fake.suppliers].count("Acme Paper Ltd") == 1


def test_descriptions_keep_right_to_left_text_but_not_c1_controls(
    connected: kfs.KashFlowClient,
) -> None:
    """Bidi marks belong to right-to-left descriptions; a C1 control belongs nowhere."""

    def described(text: str) -> kfs.Document:
        line = kfs.Line(description=text, net=D(10), vat_rate=D(20), category=7500)
        return _document("purchase", lines=[line])

    assert connected.validate(described("\u05e0\u05d9\u05d9\u05e8 A4\u200f")) == []
    assert [(p.code, p.field) for p in connected.validate(described("Paper\x92s"))] == [
        ("hidden_characters", "lines[0].description")
    ]


@pytest.mark.parametrize("control", sorted(BIDI_CONTROLS))
def test_names_differing_by_a_bidi_control_are_the_same_name(control: str) -> None:
    """Matching ignores every bidirectional control, as it ignores zero-width characters."""
    assert name_key(f"Acme {control}Paper Ltd{control}") == name_key("Acme Paper Ltd")


@pytest.mark.parametrize("control", sorted(BIDI_CONTROLS | {"\x85", "\x9f", "\u200b"}))
def test_messages_name_invisible_characters_without_showing_them(control: str) -> None:
    """A control is named by code point, never written raw (it would reorder the message)."""
    said = describe_characters([control])
    assert control not in said and f"U+{ord(control):04X}" in said
    if control not in C1_CONTROLS:
        assert unicodedata.name(control) in said


# ---------------------------------------------------------------------------- empty currency


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("currency", ["", "   "])
def test_an_empty_currency_is_a_problem_for_every_kind(kind: str, currency: str) -> None:
    """``currency=""`` is a problem: it used to be read as the home currency without a word."""
    problems = validate_document(_document(kind, currency=currency), LISTS)
    assert [(p.code, p.field) for p in problems] == [("empty_currency", "currency")]


@pytest.mark.parametrize("kind", ["purchase", "sales"])
def test_an_empty_currency_is_refused_before_any_write(
    connected: kfs.KashFlowClient, fake: FakeKashFlow, kind: str
) -> None:
    """Publishing with an empty currency sends nothing (it used to publish in GBP)."""
    assert _refused(connected, fake, _document(kind, currency="")) == {"empty_currency"}


def test_no_currency_still_means_the_home_currency(connected: kfs.KashFlowClient) -> None:
    """Leaving the currency out (None) is how a document asks for the home currency."""
    assert connected.validate(_document("purchase", currency=None)) == []


def test_an_empty_currency_in_a_document_file_is_refused(tmp_path: Path) -> None:
    """``"currency": ""`` in JSON reaches validation as the same problem."""
    data = kfs.document_to_json(_document("sales"))
    doc = kfs.document_from_json({**data, "currency": ""})
    lists = FakeKashFlow()
    with make_client(lists) as client:
        client.connect()
        assert [p.code for p in client.validate(doc)] == ["empty_currency"]


# ---------------------------------------------------------------------------- amounts


@pytest.mark.parametrize(
    "value", ["1E+999999999", "-1E+999999999", "1E-999999999", "0E-999999999", "1E+1000000"]
)
@pytest.mark.parametrize(
    "build",
    [
        lambda v: kfs.Line(net=v),
        lambda v: kfs.Line(vat=v),
        lambda v: kfs.Line(vat_rate=v),
        lambda v: kfs.Line(quantity=v),
        lambda v: kfs.Payment(amount=v),
        lambda v: kfs.Rule(vat_rate=v),
    ],
    ids=["net", "vat", "vat_rate", "quantity", "payment amount", "rule vat_rate"],
)
def test_decimals_beyond_any_amount_are_a_value_error(value: str, build: Any) -> None:
    """No Decimal that overflows the context (or needs a billion digits) gets built."""
    with pytest.raises(ValueError, match=r"too large|decimal places"):
        build(Decimal(value))


def test_amounts_with_many_exact_places_are_still_taken() -> None:
    """Bounding the places leaves room for any real amount or computed quantity."""
    third = Decimal(1) / Decimal(3)
    assert kfs.Line(net=D("12.34"), quantity=third).quantity == third
    assert kfs.Line(net=D("0." + "0" * 39 + "1")).net == D("1E-40")


def test_such_an_amount_in_a_document_file_is_a_problem() -> None:
    """A JSON number 1E-999999999 for a VAT rate is an invalid_value problem, not a crash."""
    data = kfs.document_to_json(_document("purchase"))
    text = json.dumps(data).replace('"vat_rate": "20"', '"vat_rate": 1E-999999999')
    with pytest.raises(errors.ValidationError) as caught:
        kfs.document_from_json(loads(text))
    assert [p.code for p in caught.value.problems] == ["invalid_value"]
    assert "decimal places" in caught.value.problems[0].message


# ---------------------------------------------------------------------------- JSON shape


def _write(folder: Path, text: str, name: str = "doc.json") -> Path:
    path = folder / name
    path.write_text(text)
    return path


DOC = (
    '{"external_id": "d-1", "supplier": "Acme Paper Ltd", "reference": "INV-1", '
    '"issue_date": "2026-11-02", "lines": [{"net": "100.00", "category": 7500}]'
)


@pytest.mark.parametrize(
    ("text", "field", "key"),
    [
        (DOC + ', "supplier": "Evil Ltd"}', "supplier", "supplier"),
        (
            DOC.replace('"net": "100.00"', '"net": "100.00", "net": "1.00"') + "}",
            "lines[0].net",
            "net",
        ),
        (
            "[" + DOC + "}, " + DOC.replace("d-1", "d-2") + ', "reference": "X"}]',
            "[1].reference",
            "reference",
        ),
    ],
    ids=["top level", "in a line", "second document of a list"],
)
def test_a_key_twice_in_a_document_file_is_refused(
    tmp_path: Path, text: str, field: str, key: str
) -> None:
    """JSON readers keep the last of two keys silently: the file is refused, naming both."""
    with pytest.raises(errors.DocumentFileError) as caught:
        load_documents(_write(tmp_path, text))
    [(_file, problems)] = caught.value.files.items()
    assert [(p.code, p.field) for p in problems] == [("duplicate_key", field)]
    assert f'"{key}"' in problems[0].message and problems[0].remedy


def test_a_key_twice_is_refused_by_document_from_json_on_loads_data() -> None:
    """The same through the Python API, for data decoded by the format's own loads."""
    with pytest.raises(errors.ValidationError) as caught:
        kfs.document_from_json(loads(DOC + ', "supplier": "Evil Ltd"}'))
    assert [(p.code, p.field) for p in caught.value.problems] == [("duplicate_key", "supplier")]


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 900, 100_000])
def test_json_nested_far_beyond_a_document_is_invalid_json(tmp_path: Path, depth: int) -> None:
    """100,000 nested lists used to raise RecursionError (internal_error): now a problem."""
    text = DOC.replace('[{"net": "100.00", "category": 7500}]', "[" * depth + "]" * depth) + "}"
    with pytest.raises(errors.DocumentFileError) as caught:
        load_documents(_write(tmp_path, text))
    [(_file, problems)] = caught.value.files.items()
    assert [p.code for p in problems] == ["invalid_json"]
    assert f"more than {MAX_JSON_DEPTH} levels deep" in problems[0].message


def test_deeply_nested_python_data_is_a_problem_not_a_recursion_error() -> None:
    """document_from_json on a host's mapping nested 5,000 deep: one invalid_json problem."""
    nested: dict[str, Any] = {}
    inner = nested
    for _ in range(5000):
        inner["x"] = {}
        inner = inner["x"]
    data = {**json.loads(DOC + "}"), "lines": [nested]}
    with pytest.raises(errors.ValidationError) as caught:
        kfs.document_from_json(data)
    assert [p.code for p in caught.value.problems] == ["invalid_json"]


# ---------------------------------------------------------------------------- attachment paths


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A document file's folder with a scan inside it, beside a secret outside it."""
    inbox = tmp_path / "inbox"
    (inbox / "scans").mkdir(parents=True)
    (inbox / "scans" / "inv.pdf").write_bytes(b"%PDF-1.4 scan")
    (tmp_path / "secret.txt").write_text("not for KashFlow")
    (inbox / "link.txt").symlink_to(tmp_path / "secret.txt")
    return inbox


def _with_attachment(folder: Path, path: str) -> Path:
    data = {**json.loads(DOC + "}"), "attachment": path}
    return _write(folder, json.dumps(data))


@pytest.mark.parametrize(
    "path",
    [
        "{outside}/secret.txt",
        "../secret.txt",
        "scans/../../secret.txt",
        "link.txt",
        "/etc/hostname",
    ],
    ids=["absolute", "dot-dot", "dot-dot inside", "symbolic link out", "system file"],
)
def test_an_attachment_outside_the_files_folder_is_refused(folder: Path, path: str) -> None:
    """A document file cannot upload any file this process can read by naming it."""
    doc = _with_attachment(folder, path.format(outside=folder.parent))
    with pytest.raises(errors.DocumentFileError) as caught:
        load_documents(doc)
    [(_file, problems)] = caught.value.files.items()
    assert [(p.code, p.field) for p in problems] == [("attachment_path_refused", "attachment.path")]
    assert "--allow-outside-attachments" in problems[0].remedy


def test_an_attachment_outside_is_read_when_allowed(folder: Path) -> None:
    """allow_outside_attachments=True reads it, as --allow-outside-attachments does."""
    doc = _with_attachment(folder, "../secret.txt")
    [loaded] = load_documents(doc, allow_outside_attachments=True)
    assert loaded.attachment is not None and loaded.attachment.content == b"not for KashFlow"


def test_an_attachment_in_a_subfolder_is_read(folder: Path) -> None:
    """Paths inside the file's folder, subfolders too, need no flag."""
    [loaded] = load_documents(_with_attachment(folder, "scans/inv.pdf"))
    assert loaded.attachment is not None and loaded.attachment.content == b"%PDF-1.4 scan"


def test_document_from_json_keeps_attachments_inside_base_dir(folder: Path) -> None:
    """The Python API's base_dir is the folder files may be read from, not a starting point."""
    data = {**json.loads(DOC + "}"), "attachment": "../secret.txt"}
    with pytest.raises(errors.ValidationError) as caught:
        kfs.document_from_json(data, base_dir=folder)
    assert [p.code for p in caught.value.problems] == ["attachment_path_refused"]
    allowed = kfs.document_from_json(data, base_dir=folder, allow_outside_attachments=True)
    assert allowed.attachment is not None


def test_a_nul_in_an_attachment_path_is_a_problem(folder: Path) -> None:
    """A NUL in the path (no file name holds one) is attachment_not_found, not a ValueError."""
    data = {**json.loads(DOC + "}"), "attachment": "scans/inv\u0000.pdf"}
    with pytest.raises(errors.ValidationError) as caught:
        kfs.document_from_json(data, base_dir=folder)
    assert [(p.code, p.field) for p in caught.value.problems] == [
        ("attachment_not_found", "attachment.path")
    ]
