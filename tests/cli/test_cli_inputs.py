"""Hostile document files through the real ``kashflow-sync publish``: refused, nothing sent.

Like ``test_cli_failures``: the console script runs in a subprocess against the fake KashFlow
served on loopback; each refusal is a typed problem with a remedy, the documented exit code,
no traceback, and the fake's ledger is untouched.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from _cli_run import Run
from kashflow_sync.testing import FakeKashFlow


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def _doc(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "external_id": "item-1",
        "supplier": "Acme Paper Ltd",
        "reference": "INV-1",
        "issue_date": "2026-11-02",
        "lines": [{"net": "100.00", "vat_rate": "20", "category": 7500}],
    }
    data.update(changes)
    return data


def _file(folder: Path, text: str) -> str:
    path = folder / "doc.json"
    path.write_text(text)
    return str(path)


def _untouched(fake: FakeKashFlow, suppliers: int) -> bool:
    return not fake.receipts and not fake.attachments and len(fake.suppliers) == suppliers


def _file_problems(done: Run) -> list[tuple[str, str]]:
    """``(code, field)`` of each document-file problem of a ``--json`` run refused at exit 2."""
    assert done.code == 2, done.err + done.out
    assert done.err == "" and "Traceback" not in done.out
    data = done.json()
    assert data["ok"] is False and data["error"]["code"] == "invalid_document_file"
    problems = [p for found in data["error"]["files"].values() for p in found]
    assert all(p["remedy"] for p in problems)
    return [(p["code"], p["field"]) for p in problems]


def _document_problems(done: Run) -> list[tuple[str, str]]:
    """``(code, field)`` of each validation problem of a ``--json`` publish that failed (exit 1)."""
    assert done.code == 1, done.err + done.out
    [document] = done.json()["documents"]
    assert document["status"] == "failed"
    problems = document["error"]["problems"]
    assert all(p["remedy"] for p in problems)
    return [(p["code"], p["field"]) for p in problems]


def test_attachment_outside_the_files_folder_is_refused(
    connected_sh: Any, inbox: Path, kashflow_fake: FakeKashFlow
) -> None:
    """``"attachment": "../secret.txt"`` (or /etc/hostname) is never read, let alone sent."""
    (inbox.parent / "secret.txt").write_text("ssh-rsa AAAA... do not upload")
    suppliers = len(kashflow_fake.suppliers)
    for path in ("../secret.txt", str(inbox.parent / "secret.txt")):
        done = connected_sh("publish", _file(inbox, json.dumps(_doc(attachment=path))), "--json")
        assert _file_problems(done) == [("attachment_path_refused", "attachment.path")]
    text = connected_sh("publish", _file(inbox, json.dumps(_doc(attachment="../secret.txt"))))
    assert text.code == 2 and "--allow-outside-attachments" in text.err
    assert _untouched(kashflow_fake, suppliers)


def test_attachment_outside_is_sent_with_the_flag(
    connected_sh: Any, inbox: Path, kashflow_fake: FakeKashFlow
) -> None:
    """``--allow-outside-attachments``: the user chose to send a file from elsewhere."""
    (inbox.parent / "scan.txt").write_text("the scan")
    path = _file(inbox, json.dumps(_doc(attachment="../scan.txt")))
    done = connected_sh("publish", path, "--allow-outside-attachments", "--json")
    assert done.code == 0, done.err + done.out
    assert [a.content for a in kashflow_fake.attachments] == [b"the scan"]


def test_a_key_twice_is_refused(
    connected_sh: Any, inbox: Path, kashflow_fake: FakeKashFlow
) -> None:
    """Two "supplier" keys: refused naming the key, not published to the last one."""
    suppliers = len(kashflow_fake.suppliers)
    text = json.dumps(_doc())[:-1] + ', "supplier": "Someone Else Ltd"}'
    assert _file_problems(connected_sh("publish", _file(inbox, text), "--json")) == [
        ("duplicate_key", "supplier")
    ]
    assert _untouched(kashflow_fake, suppliers)


def test_json_nested_100000_deep_is_invalid_json(connected_sh: Any, inbox: Path) -> None:
    """100,000 nested lists: exit 2 with invalid_json, not internal_error (exit 70)."""
    text = json.dumps(_doc(lines="LINES")).replace('"LINES"', "[" * 100_000 + "]" * 100_000)
    assert _file_problems(connected_sh("publish", _file(inbox, text), "--json")) == [
        ("invalid_json", "")
    ]
    plain = connected_sh("publish", "--dry-run", _file(inbox, text))
    assert plain.code == 2 and "Traceback" not in plain.err and "levels deep" in plain.err


def test_a_lookalike_supplier_name_is_refused(
    connected_sh: Any, inbox: Path, kashflow_fake: FakeKashFlow
) -> None:
    """ "Acme Paper Ltd" + U+202E: refused, no second supplier that looks the same."""
    suppliers = len(kashflow_fake.suppliers)
    path = _file(inbox, json.dumps(_doc(supplier="Acme Paper Ltd\u202e")))
    assert _document_problems(connected_sh("publish", path, "--json")) == [
        ("hidden_characters", "supplier")
    ]
    assert _untouched(kashflow_fake, suppliers)


def test_an_empty_currency_is_refused(
    connected_sh: Any, inbox: Path, kashflow_fake: FakeKashFlow
) -> None:
    """``"currency": ""``: refused, where it used to publish in the home currency."""
    suppliers = len(kashflow_fake.suppliers)
    path = _file(inbox, json.dumps(_doc(currency="")))
    assert _document_problems(connected_sh("publish", path, "--json")) == [
        ("empty_currency", "currency")
    ]
    assert _untouched(kashflow_fake, suppliers)
