"""``doctor --probe-writes`` learns how the account takes credit notes; the SDK then uses it.

Each credit-note reading the fake plays (``Readings.credit_alternatives()``) is learned by a real
``kashflow-sync doctor`` run, the ledger is left as it was, and a client on the same database
then publishes a supplier credit note with a refund and a customer credit note crediting an
invoice without sending any form KashFlow would refuse.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from _doctor_helpers import ledger

import kashflow_sync as kfs
from _clients import KINDS, any_client
from kashflow_sync import cli, errors
from kashflow_sync._doctor import session as _doctor_session
from kashflow_sync._doctor.probe import ProbeFindings
from kashflow_sync._doctor.record import Scrubber
from kashflow_sync._doctor.verdicts import _credit_verdicts
from kashflow_sync._retry import skip_waits
from kashflow_sync.testing import FakeKashFlow, Readings

D = Decimal
READINGS = Readings.credit_alternatives()
CUSTOMER = "Bloggs & Co"
SUPPLIER = "Acme Paper Ltd"


@pytest.fixture
def db(tmp_path: Path) -> str:
    """The database doctor stores its facts in, and the clients publish with."""
    return f"sqlite:///{tmp_path / 'kf.db'}"


@pytest.fixture
def doctor(
    monkeypatch: pytest.MonkeyPatch,
    kashflow_fake: FakeKashFlow,
    db: str,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Callable[..., tuple[int, str]]]:
    """Run ``kashflow-sync doctor --probe-writes --yes`` (``--json`` unless ``text=True``)."""
    creds = kashflow_fake.credentials
    monkeypatch.setenv(cli.ENV_USERNAME, creds.username)
    monkeypatch.setenv(cli.ENV_PASSWORD, creds.password)
    monkeypatch.setenv(cli.ENV_AUTOAUTH_KEY, creds.autoauth_key or "")
    monkeypatch.delenv(cli.ENV_DB, raising=False)

    def _run(*, text: bool = False) -> tuple[int, str]:
        capsys.readouterr()
        argv = ["doctor", "--probe-writes", "--yes", *([] if text else ["--json"])]
        code = cli.main([*argv, "--endpoint", kashflow_fake.url, "--db", db])
        return code, capsys.readouterr().out

    with skip_waits():  # the command builds its own clients: their retries must not sleep
        yield _run


def probed(doctor: Callable[..., tuple[int, str]]) -> dict[str, Any]:
    code, out = doctor()
    data: dict[str, Any] = json.loads(out)
    assert code == cli.EXIT_OK, out
    return data


def on_request(monkeypatch: pytest.MonkeyPatch, operation: str, nth: int, act: Any) -> None:
    """Call *act()* right before the *nth* request of *operation* doctor sends."""
    original = _doctor_session.DoctorSession.exchange
    seen: list[int] = []

    def exchange(self: Any, request: Any) -> Any:
        if request.operation == operation:
            seen.append(1)
            if len(seen) == nth:
                act()
        return original(self, request)

    monkeypatch.setattr(_doctor_session.DoctorSession, "exchange", exchange)


# ---------------------------------------------------------------------------- the documents


def sale() -> kfs.SalesInvoice:
    """A sales invoice of 100.00 + 20.00 VAT."""
    return kfs.SalesInvoice(
        external_id="s-inv-1",
        customer=CUSTOMER,
        reference="S-PO-1",
        issue_date=date(2026, 11, 2),
        lines=[kfs.Line(description="Work", net=D("100.00"), vat_rate=D(20), category=4000)],
    )


def sales_credit() -> kfs.SalesCreditNote:
    """A customer credit note of 40.00 + 8.00 VAT crediting s-inv-1."""
    return kfs.SalesCreditNote(
        external_id="s-cn-1",
        customer=CUSTOMER,
        reference="S-CR-1",
        issue_date=date(2026, 11, 20),
        lines=[kfs.Line(description="Refund", net=D("40.00"), vat_rate=D(20), category=4000)],
        credits="s-inv-1",
    )


def supplier_credit() -> kfs.PurchaseCreditNote:
    """A supplier credit note of 25.00 + 5.00 VAT, refunded by card."""
    return kfs.PurchaseCreditNote(
        external_id="p-cn-1",
        supplier=SUPPLIER,
        reference="P-CN-1",
        issue_date=date(2026, 11, 21),
        lines=[kfs.Line(description="Returned", net=D("25.00"), vat_rate=D(20), category=7500)],
        payment=kfs.Payment(method="Credit card", bank_account=1200),
    )


def operations_since(fake: FakeKashFlow, start: int) -> list[str]:
    return [c.operation or "" for c in fake.calls[start:]]


# ---------------------------------------------------------------------------- end to end


@pytest.mark.parametrize("client_kind", KINDS)
@pytest.mark.parametrize("name", list(READINGS))
def test_what_doctor_learned_publishes_credit_notes_without_a_refused_try(
    doctor: Any, fake: FakeKashFlow, db: str, name: str, client_kind: str
) -> None:
    """After doctor, each credit note goes once, in the form and sign the account takes."""
    reading = READINGS[name]
    fake.readings = reading
    before = ledger(fake)
    probed(doctor)
    assert ledger(fake) == before
    storage = kfs.SQLStorage(db)
    try:
        with any_client(client_kind, fake, storage=storage) as client:
            assert client.account_facts is not None
            client.connect()
            client.publish(sale())
            start = len(fake.calls)
            if reading.credit_lines == "refused":
                for document in (sales_credit(), supplier_credit()):
                    with pytest.raises(errors.ValidationError) as refused:
                        client.publish(document)
                    assert [p.code for p in refused.value.problems] == ["credit_notes_refused"]
                assert not [op for op in operations_since(fake, start) if op.startswith("Insert")]
                return
            applied = client.publish(sales_credit())
            sales_ops = operations_since(fake, start)
            start = len(fake.calls)
            if reading.credit_refund == "refused":
                with pytest.raises(errors.ValidationError) as refused:
                    client.publish(supplier_credit())
                assert [p.code for p in refused.value.problems] == ["credit_refunds_refused"]
                assert operations_since(fake, start).count("InsertReceipt") == 0
                refunded = None
            else:
                refunded = client.publish(supplier_credit())
            purchase_ops = operations_since(fake, start)
    finally:
        storage.close()
    # The customer credit note: one insert, applied once, to the penny.
    assert sales_ops.count("InsertInvoice") == 1
    assert sales_ops.count("applyCreditNoteToInvoice") == 1
    assert applied.status == "published" and applied.applied is True
    credit = fake.invoice(applied.number)
    assert credit is not None and (credit.net, credit.vat) == (D("-40.00"), D("-8.00"))
    assert [p.amount for p in fake.payments if p.document_number == credit.number] == [D("-48.00")]
    if refunded is None:
        return
    # The supplier credit note: one insert, one refund in the sign the account takes.
    assert purchase_ops.count("InsertReceipt") == 1
    assert purchase_ops.count("InsertReceiptPayment") == 1
    assert refunded.status == "published" and refunded.notices == ()
    [receipt] = [r for r in fake.receipts if r.customer_reference == "P-CN-1"]
    assert (receipt.net, receipt.vat) == (D("-25.00"), D("-5.00"))
    sign = D(1) if reading.credit_refund == "positive" else D(-1)
    [refund] = [p for p in fake.payments if p.kind == "receipt"]
    assert refund.amount == sign * D("30.00")


def test_the_text_report_says_what_the_account_takes(doctor: Any, fake: FakeKashFlow) -> None:
    """The Learned table names the credit-note reading in words."""
    fake.readings = Readings(credit_lines="negative_quantity", apply_answer="always_false")
    code, out = doctor(text=True)
    assert code == cli.EXIT_OK
    text = " ".join(out.split())
    assert "credit-note lines a minus on the Quantity only" in text
    assert "credit-note VAT kept as sent" in text
    assert "refund on a credit note a negative payment" in text
    assert "apply answering false may be applied all the same (read back)" in text


def test_the_json_report_has_evidence_for_each_credit_reading(
    doctor: Any, fake: FakeKashFlow
) -> None:
    """Each credit-note assumption is confirmed with what was seen, in KashFlow's words."""
    fake.readings = Readings(credit_lines="negative_rate", credit_refund="positive")
    assumptions = {a["key"]: a for a in probed(doctor)["assumptions"]}
    verdicts = {key: assumptions[key]["verdict"] for key in ("credit_lines", "credit_refund")}
    assert verdicts == {"credit_lines": "confirmed", "credit_refund": "confirmed"}
    lines = assumptions["credit_lines"]["evidence"]
    assert "receipts: a negative Rate taken, a negative Quantity refused ('Line 1:" in lines
    assert "invoices: a negative Rate taken" in lines
    refund = assumptions["credit_refund"]["evidence"]
    assert "a refund of -12.00 refused" in refund and "a refund of 12.00 was taken" in refund


# ---------------------------------------------------------------------------- not learned


#: An account with codes and payment methods but no bank account.
NO_BANK = {
    "base": "empty",
    "nominal_codes": [
        {"code": 7500, "name": "Stationery", "classification": 3},
        {"code": 4000, "name": "Sales", "classification": 1},
    ],
    "purchase_payment_methods": ["Card"],
    "sales_payment_methods": ["BACS"],
}


@pytest.mark.kashflow(seed=NO_BANK)
def test_without_a_bank_account_the_apply_is_not_learned(doctor: Any, fake: FakeKashFlow) -> None:
    """No bank account: nothing can be applied or refunded, and doctor says so, not a guess."""
    before = ledger(fake)
    data = probed(doctor)
    assert (data["facts"]["apply_false"], data["facts"]["credit_refund"]) == (None, None)
    assert data["facts"]["credit_lines"] == "either"
    assumptions = {a["key"]: a for a in data["assumptions"]}
    assert assumptions["apply_false"]["verdict"] == "open"
    assert "the account has no bank account" in assumptions["apply_false"]["evidence"]
    assert "no purchase payment method or bank" in assumptions["credit_refund"]["evidence"]
    assert (
        "the apply could not be probed: the account has no bank account" in (data["probe"]["notes"])
    )
    assert ledger(fake) == before


def test_sides_that_disagree_teach_no_line_form(
    doctor: Any, fake: FakeKashFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Receipts taking only a negative rate and invoices only a negative quantity: not learned."""
    fake.readings = Readings(credit_lines="negative_rate")
    # Invoices are probed after every receipt: switch the reading for them.
    on_request(
        monkeypatch,
        "InsertCustomer",
        1,
        lambda: setattr(fake, "readings", Readings(credit_lines="negative_quantity")),
    )
    data = probed(doctor)
    assert data["facts"]["credit_lines"] is None
    [lines] = [a for a in data["assumptions"] if a["key"] == "credit_lines"]
    assert lines["verdict"] == "confirmed"
    assert "no form both take" in lines["evidence"]


# ---------------------------------------------------------------------------- lost, Ctrl-C


def test_a_credit_note_whose_answer_was_lost_is_found_and_deleted(
    doctor: Any, fake: FakeKashFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The customer credit note lands but its answer is lost: the sweep deletes it anyway."""
    before = ledger(fake)
    # The first InsertInvoice is the invoice to compare with; the second, a credit note.
    on_request(monkeypatch, "InsertInvoice", 2, lambda: fake.faults.drop_response("InsertInvoice"))
    data = probed(doctor)
    assert ledger(fake) == before
    assert data["facts"]["credit_lines"] is None  # one answer missing: not learned
    landed = [
        c for c in fake.calls_to("InsertInvoice") if c.status == "OK" or c.fault == "drop_response"
    ]
    deleted = [i for i in data["probe"]["items"] if i["kind"] == "invoice"]
    assert len(deleted) == len(landed) and {i["state"] for i in deleted} == {"deleted"}


def test_a_customer_whose_answer_was_lost_is_reported_as_maybe_there(
    doctor: Any, fake: FakeKashFlow
) -> None:
    """InsertCustomer unanswered: the customer may exist, and the report says how to find it."""
    fake.faults.drop_response("InsertCustomer")
    code, out = doctor()
    assert code == cli.EXIT_FAILED
    [left] = json.loads(out)["probe"]["left"]
    assert (left["kind"], left["state"]) == ("customer", "unknown")
    assert "InsertCustomer got no answer" in left["reason"]
    assert "open Customers and look for 'kashflow-sync doctor probe" in left["how_to_remove"]
    [made] = [c for c in fake.customers if c.name.startswith("kashflow-sync doctor probe")]
    assert made.name in left["label"]


def test_ctrl_c_while_applying_still_deletes_everything(
    doctor: Any, fake: FakeKashFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C at the apply: the cleanup removes the credit notes, payments and customer."""
    before = ledger(fake)

    def ctrl_c() -> None:
        raise KeyboardInterrupt

    on_request(monkeypatch, "applyCreditNoteToInvoice", 1, ctrl_c)
    code, out = doctor()
    assert code == cli.EXIT_INTERRUPTED
    assert json.loads(out)["probe"]["left"] == []
    assert ledger(fake) == before


# ---------------------------------------------------------------------------- verdicts


#: What the findings say -> the verdict on each credit-note assumption.
VERDICTS: list[tuple[dict[str, Any], dict[str, str | None]]] = [
    ({}, {"credit_lines": None, "credit_vat": None, "credit_refund": None, "apply_false": None}),
    (
        {
            "credit_lines": "either",
            "credit_net_kept": True,
            "credit_vat_as_sent": True,
            "credit_refund": "negative",
            "apply_false": "not_applied",
            "apply_true_applied": True,
        },
        {
            "credit_lines": "confirmed",
            "credit_vat": "confirmed",
            "credit_refund": "confirmed",
            "apply_false": "confirmed",
        },
    ),
    # The sides disagree: no one form, but the SDK's fallback takes either.
    (
        {"credit_forms": {"purchase": ("rate",), "sales": ("quantity",)}},
        {"credit_lines": "confirmed"},
    ),
    # A minus KashFlow dropped, a VAT it changed, a true with nothing applied: contradicted.
    ({"credit_lines": "rate", "credit_net_kept": False}, {"credit_lines": "contradicted"}),
    ({"credit_vat_as_sent": False}, {"credit_vat": "contradicted"}),
    ({"apply_true_applied": False}, {"apply_false": "contradicted"}),
    # True when applied, Status NO otherwise: confirmed, though false was never seen.
    ({"apply_true_applied": True}, {"apply_false": "confirmed"}),
]


@pytest.mark.parametrize(("found", "expected"), VERDICTS)
def test_credit_verdicts(found: dict[str, Any], expected: dict[str, str | None]) -> None:
    """Each reading the SDK handles is confirmed; a lost sign or a false true contradicts."""
    verdicts = _credit_verdicts(ProbeFindings(**found))
    assert {key: verdicts[key] for key in expected} == expected


# ---------------------------------------------------------------------------- the scrubber


def test_a_short_password_cannot_garble_the_credit_facts_in_json() -> None:
    """The credit-note facts are identifiers: the JSON scrubber leaves them as they are."""
    facts = {"credit_lines": "either", "credit_refund": "negative", "apply_false": "applied"}
    assert Scrubber(("e",)).json(facts) == facts


def test_learned_facts_are_stored_with_the_connection(
    doctor: Any, fake: FakeKashFlow, db: str
) -> None:
    """What doctor learned of credit notes is what the client reads back."""
    fake.readings = Readings(credit_lines="negative_quantity", credit_refund="positive")
    probed(doctor)
    storage = kfs.SQLStorage(db)
    try:
        facts = kfs.KashFlowClient(fake.credentials, storage=storage).account_facts
    finally:
        storage.close()
    assert facts is not None and facts.writes_probed_at is not None
    assert facts.writes_probed_at <= datetime.now(timezone.utc)
    assert (facts.credit_lines, facts.credit_vat_kept, facts.credit_refund, facts.apply_false) == (
        "quantity",
        True,
        "positive",
        "not_applied",
    )
