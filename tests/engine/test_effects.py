"""The typed effects: each names one KashFlow or storage call, and mypy checks what it answers."""

from __future__ import annotations

import re
import textwrap
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from kashflow_sync._clients.drivers import request_for
from kashflow_sync._engine import effects as fx
from kashflow_sync._journal.entry import JournalEntry
from kashflow_sync.typing import Storage

ENTRY = JournalEntry("c", "x", "purchase", "f")
WHEN = datetime(2026, 11, 2, 9, 0)

#: Every KashFlow effect, the SOAP operation it becomes, and whether that call writes.
KASHFLOW = [
    (fx.AutoAuthIp("app"), "AutoAuthIP", False),
    (fx.FetchList("currencies"), "GetCurrencies", False),
    (fx.CustomersModifiedSince(WHEN), "GetCustomersModifiedSince", False),
    (fx.InsertContact("purchase", "Acme", "ACME01"), "InsertSupplier", True),
    (fx.FindContact("sales", "ACME01"), "GetCustomer", False),
    (fx.InsertDocument("purchase", {}, []), "InsertReceipt", True),
    (fx.GetDocument("sales", 7), "GetInvoice", False),
    (fx.DocumentsForContact("purchase", 3), "GetReceiptsForSupplier", False),
    (fx.RecentDocuments("sales", 5), "GetInvoices_Recent", False),
    (
        fx.AttachFile("purchase", 7, "a.pdf", b"%PDF", "application/pdf"),
        "AttachFileToReceipt",
        True,
    ),
    (fx.ReceiptAttachments(9), "GetReceiptAttachments", False),
    (
        fx.InsertPayment("sales", 7, date(2026, 11, 2), 1, 2, Decimal("12.00")),
        "InsertInvoicePayment",
        True,
    ),
    (fx.Payments("purchase", 7), "GetReceiptPayment", False),
    (fx.ApplyCreditNote(5001, 9002), "applyCreditNoteToInvoice", True),
]

#: One of every storage effect.
STORAGE = [
    fx.LoadList("c", "suppliers"),
    fx.ReplaceList("c", "suppliers", []),
    fx.GetState("c", "k"),
    fx.SetState("c", "k", "v"),
    fx.ClaimJournal(ENTRY, "me", WHEN, WHEN),
    fx.GetJournal("c", "x"),
    fx.UpdateJournal(ENTRY, "me"),
    fx.AddAttempt("c", "x", None),  # type: ignore[arg-type]
]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _subclasses(base: type) -> set[type]:
    found = set(base.__subclasses__())
    for cls in list(found):
        found |= _subclasses(cls)
    return found


def test_every_effect_type_is_in_the_tables() -> None:
    """The tables below cover every KashFlow and storage effect the engine can yield."""
    assert {type(e) for e, _op, _w in KASHFLOW} == _subclasses(fx.KashFlowEffect)
    # A Batch is several of these, in one transaction where the storage can.
    assert {type(e) for e in STORAGE} | {fx.Batch} == _subclasses(fx.StorageEffect)


@pytest.mark.parametrize(
    ("effect", "operation", "writes"), KASHFLOW, ids=[type(e).__name__ for e, _, _ in KASHFLOW]
)
def test_kashflow_effect_becomes_its_operation(
    effect: fx.KashFlowEffect[Any], operation: str, writes: bool
) -> None:
    """Each KashFlow effect is built into its SOAP call; only the ledger's writes are unsafe to
    repeat (which is what the drivers fence with the lease)."""
    request = request_for(effect)
    assert (request.operation, not request.idempotent) == (operation, writes)


def test_kashflow_effect_arguments_reach_the_request() -> None:
    """The effect's fields are the call's parameters (number here, code there)."""
    assert request_for(fx.GetDocument("purchase", 7)).params == {"ReceiptNumber": 7}
    assert request_for(fx.FindContact("purchase", "ACME01")).params == {"SupplierCode": "ACME01"}
    assert request_for(fx.ApplyCreditNote(1, 2)).params == {"InvoiceID": 1, "CreditNoteID": 2}


class _Recorder:
    """A storage that records the call it gets."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, method: str) -> Any:
        return lambda *args: self.calls.append((method, args))


@pytest.mark.parametrize("effect", STORAGE, ids=[type(e).__name__ for e in STORAGE])
def test_storage_effect_calls_its_method_with_its_fields(effect: fx.StorageEffect[Any]) -> None:
    """``LoadList(c, n)`` performs ``storage.load_list(c, n)``, and so on for each."""
    storage = _Recorder()
    effect.perform(storage)  # type: ignore[arg-type]
    assert storage.calls == [(_snake(type(effect).__name__), attrs.astuple(effect, recurse=False))]
    assert hasattr(Storage, _snake(type(effect).__name__))


def test_ask_returns_the_drivers_answer() -> None:
    """``ask`` yields the effect once and returns what the driver sends back."""
    flow = fx.ask(fx.GetState("c", "k"))
    assert next(flow) == fx.GetState("c", "k")
    with pytest.raises(StopIteration) as stop:
        flow.send("v")
    assert stop.value.value == "v"


def test_an_attachments_bytes_stay_out_of_its_repr() -> None:
    """A logged or failing effect does not print a whole file."""
    assert "PDF" not in repr(fx.AttachFile("purchase", 7, "a.pdf", b"%PDF-secret", "x"))


SNIPPET = """
from kashflow_sync._engine.effects import Flow, GetDocument, GetJournal, InsertDocument, ask
from kashflow_sync._journal.entry import JournalEntry
from kashflow_sync.soap.records import LedgerDocument


def flow() -> Flow[int]:
    held = yield from ask(GetDocument("purchase", 7))
    entry = yield from ask(GetJournal("c", "x"))
    number: int = yield from ask(InsertDocument("purchase", {}, []))
    found: LedgerDocument | None = held
    maybe: JournalEntry | None = entry
    bad: str = yield from ask(InsertDocument("purchase", {}, []))  # mistake: answers an int
    held.number  # mistake: may be None
    yield from ask(GetDocument("purchase", "7"))  # mistake: a number is an int
    return number
"""


def test_mypy_checks_what_each_effect_answers(tmp_path: Path) -> None:
    """``yield from ask(effect)`` is typed by the effect: mypy flags exactly the marked lines."""
    api = pytest.importorskip("mypy.api")
    snippet = tmp_path / "flow_snippet.py"
    snippet.write_text(textwrap.dedent(SNIPPET))
    out, err, _status = api.run(
        ["--strict", "--no-error-summary", "--hide-error-context", str(snippet)]
    )
    flagged = {int(m) for m in re.findall(r"flow_snippet\.py:(\d+): error", out)}
    marked = {
        n for n, text in enumerate(snippet.read_text().splitlines(), 1) if "# mistake" in text
    }
    assert len(marked) == 3
    assert flagged == marked, out + err
