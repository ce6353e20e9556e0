"""Document files and folders: every problem of every file in one run, BOM, folders."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

import pytest

import kashflow_sync as kfs
from kashflow_sync import errors
from kashflow_sync._documents.files import read_document_files
from kashflow_sync.cli import load_documents


def doc(external_id: str = "item-1", **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "external_id": external_id,
        "supplier": "Acme Paper Ltd",
        "reference": "INV-1",
        "issue_date": "2026-11-02",
        "lines": [{"net": "100.00", "vat_rate": "20", "category": 7500}],
    }
    data.update(changes)
    return data


def write(folder: Path, name: str, data: Any) -> Path:
    path = folder / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _error(*paths: Path) -> errors.DocumentFileError:
    with pytest.raises(errors.DocumentFileError) as caught:
        read_document_files(list(paths))
    return caught.value


def test_five_broken_files_report_every_problem_in_one_run(tmp_path: Path) -> None:
    """A folder of five broken files: every problem of every file, in one DocumentFileError."""
    write(tmp_path, "1-float.json", json.dumps(doc("a")).replace('"100.00"', "100.5"))
    write(tmp_path, "2-two-mistakes.json", doc("b", issue_date="2026-02-30", totl=1))
    write(tmp_path, "3-not-json.json", "{not json")
    write(tmp_path, "4-list.json", [doc("c"), doc("d", lines=[{"net": "1e3"}]), "x"])
    write(tmp_path, "5-missing.json", {"supplier": "Acme"})
    write(tmp_path, "6-good.json", doc("e"))
    exc = _error(tmp_path)
    found = {
        (Path(name).name, p.field, p.code) for name, problems in exc.files.items() for p in problems
    }
    assert found == {
        ("1-float.json", "lines[0].net", "invalid_value"),
        ("2-two-mistakes.json", "issue_date", "invalid_value"),
        ("2-two-mistakes.json", "totl", "unknown_field"),
        ("3-not-json.json", "", "invalid_json"),
        ("4-list.json", "[1].lines[0].net", "invalid_value"),
        ("4-list.json", "[2]", "invalid_value"),
        ("5-missing.json", "external_id", "missing_field"),
        ("5-missing.json", "issue_date", "missing_field"),
        ("5-missing.json", "lines", "missing_field"),
    }
    assert exc.message == "9 problems in 5 document files"
    assert isinstance(exc, errors.ValidationError) and len(exc.problems) == 9


def test_folder_reads_its_json_files_in_name_order(tmp_path: Path) -> None:
    """A folder stands for its *.json files, in name order; other files are ignored."""
    write(tmp_path, "b.json", doc("second"))
    write(tmp_path, "a.json", [doc("first")])
    write(tmp_path, "notes.txt", "not a document")
    assert [d.external_id for d in load_documents(tmp_path)] == ["first", "second"]


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    """A file saved with a UTF-8 BOM (Windows editors) reads like any other."""
    path = tmp_path / "bom.json"
    path.write_bytes(codecs.BOM_UTF8 + json.dumps(doc()).encode())
    [document] = load_documents(path)
    assert document.external_id == "item-1"


def test_attachment_is_read_relative_to_the_json_file(tmp_path: Path) -> None:
    """An attachment path is relative to the JSON file's folder, not the current directory."""
    (tmp_path / "scans").mkdir()
    (tmp_path / "scans" / "inv.pdf").write_bytes(b"%PDF")
    [document] = load_documents(write(tmp_path, "d.json", doc(attachment="scans/inv.pdf")))
    assert document.attachment == kfs.Attachment("inv.pdf", b"%PDF", "application/pdf")


@pytest.mark.parametrize(
    ("content", "code", "fragment"),
    [
        (b"{not json", "invalid_json", "line 1, column 2"),
        (b"[]", "no_documents", "holds no documents"),
        (b'{"net": NaN}', "invalid_json", "NaN"),
        (b"\xff\xfe{}", "invalid_json", "not UTF-8"),
        (b"42", "invalid_value", "JSON object (one document) or a list"),
    ],
)
def test_unreadable_files_are_problems(
    tmp_path: Path, content: bytes, code: str, fragment: str
) -> None:
    """Not JSON, not UTF-8, an empty list or a bare number: a problem for the file."""
    path = tmp_path / "f.json"
    path.write_bytes(content)
    [problem] = _error(path).files[str(path)]
    assert problem.code == code and fragment in problem.message


def test_missing_file_and_empty_folder_are_problems(tmp_path: Path) -> None:
    """A path that does not exist and a folder without *.json are reported, together."""
    empty = tmp_path / "empty"
    empty.mkdir()
    exc = _error(tmp_path / "nope.json", empty)
    assert [p.code for p in exc.files[str(tmp_path / "nope.json")]] == ["unreadable_file"]
    assert [p.code for p in exc.files[str(empty)]] == ["no_documents"]


def test_duplicate_external_ids_across_files(tmp_path: Path) -> None:
    """The same external_id in two files is a problem of the second, naming the first."""
    first = write(tmp_path, "a.json", doc("same"))
    second = write(tmp_path, "b.json", [doc("other"), doc("same")])
    [problem] = _error(first, second).files[str(second)]
    assert problem.code == "duplicate_external_id" and problem.field == "[1].external_id"
    assert str(first) in problem.message


def test_str_of_the_error_names_each_file() -> None:
    """str(DocumentFileError) lists every problem with its file, message and remedy."""
    problem = kfs.Problem("invalid_json", "", "is not valid JSON", "Correct the JSON syntax.")
    text = str(errors.DocumentFileError({"in/a.json": [problem]}))
    assert "in/a.json: is not valid JSON -> Correct the JSON syntax." in text
