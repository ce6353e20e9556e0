"""The command line with credit notes, ``forget`` and ``verify``, against the fake on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from _cli_helpers import purchase, write_doc

from kashflow_sync.testing import FakeKashFlow


def sale(external_id: str, **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "external_id": external_id,
        "customer": "Bloggs & Co",
        "reference": f"PO-{external_id}",
        "issue_date": "2026-11-02",
        "lines": [{"description": "Work", "net": "100.00", "vat_rate": "20", "category": 4000}],
    }
    doc.update(changes)
    return doc


def test_a_credit_note_file_is_published_and_applied(connected: Any, env: Path) -> None:
    """kind sales_credit_note with credits: published, applied, said so; JSON says it too."""
    write_doc(env, [sale("s-7")], "invoice.json")
    note = sale("s-8", kind="sales_credit_note", reference="CR-8", credits="s-7")
    note["lines"][0]["net"] = "40.00"
    write_doc(env, note, "credit.json")
    assert connected("publish", str(env / "invoice.json")).code == 0
    shown = connected("publish", str(env / "credit.json"))
    assert shown.code == 0, shown.out + shown.err
    assert "credit note" in shown.out and "applied" in shown.out
    again = connected("publish", str(env / "credit.json"), "--json").json()
    [item] = again["documents"]
    assert (item["status"], item["kind"], item["applied"]) == (
        "already_published",
        "sales_credit_note",
        True,
    )


def test_a_supplier_credit_note_says_what_to_click(connected: Any, env: Path) -> None:
    """The notice that KashFlow's API cannot allocate it is printed with its remedy."""
    (env / "inv.pdf").write_bytes(b"%PDF-1.4 credit")
    note = purchase("p-9", kind="purchase_credit_note", credits=12, payment=None)
    write_doc(env, note)
    shown = connected("publish", str(env / "doc.json"))
    assert shown.code == 0, shown.out + shown.err
    assert "cannot allocate" in shown.out and "Apply Credit" in shown.out


def test_forget_after_a_deletion_then_publish_again(
    connected: Any, env: Path, kashflow_fake: FakeKashFlow
) -> None:
    """forget refuses while the receipt is there; after its deletion the rerun creates it."""
    (env / "inv.pdf").write_bytes(b"%PDF-1.4 x")
    write_doc(env, purchase("item-1", payment=None))
    assert connected("publish", str(env / "doc.json")).code == 0
    refused = connected("forget", "item-1")
    assert refused.code == 1 and "still_in_kashflow" in refused.out + refused.err
    [receipt] = kashflow_fake.receipts
    kashflow_fake._delete_document("receipt", receipt.number)
    forgotten = connected("forget", "item-1")
    assert forgotten.code == 0 and "forgotten" in forgotten.out
    listed = connected("journal", "--state", "forgotten", "--json").json()
    assert [e["external_id"] for e in listed["entries"]] == ["item-1"]
    again = connected("publish", str(env / "doc.json"), "--json").json()
    assert again["documents"][0]["status"] == "published"
    assert len(kashflow_fake.receipts) == 1


def test_verify_with_nothing_to_look_at(connected: Any) -> None:
    """Nothing was sent twice: verify says so and exits 0."""
    shown = connected("verify")
    assert shown.code == 0 and "No late second copy" in shown.out
    assert connected("verify", "--json").json() == {"ok": True, "entries": []}
