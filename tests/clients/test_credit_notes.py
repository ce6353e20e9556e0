"""Credit notes, purchase and sales: written as KashFlow takes them, under every reading.

KashFlow's SOAP API has no credit-note insert. A supplier credit note is a receipt with negative
lines; a customer credit note an invoice with negative lines, applied to the invoice it credits
with ``applyCreditNoteToInvoice``. What is not documented (which field carries the minus, the
VAT's sign, what ``false`` from the apply means, how a refund is recorded) the fake plays in
every reading (``Readings.credit_alternatives()``), and each test here runs under all of them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import attrs
import pytest
from _credit_docs import CUSTOMER, SUPPLIER, sale, sales_credit, supplier_credit

import kashflow_sync as kfs
from _clients import KINDS, any_client
from _support import make_client
from kashflow_sync import errors
from kashflow_sync._account.facts import AccountFacts, save_account_facts
from kashflow_sync.testing import FakeKashFlow, Readings

D = Decimal
READINGS = Readings.credit_alternatives()


def _held(fake: FakeKashFlow, reference: str) -> list[object]:
    return [d for d in [*fake.receipts, *fake.invoices] if d.customer_reference == reference]


@pytest.mark.parametrize("reading", READINGS.values(), ids=list(READINGS))
@pytest.mark.parametrize("client_kind", KINDS)
def test_credit_notes_land_once_to_the_penny(reading: Readings, client_kind: str) -> None:
    """Each credit note lands once, negative to the penny, applied or refunded once."""
    fake = FakeKashFlow(readings=reading)
    invoices = [sale(i) for i in range(3)]
    credits = [sales_credit(i) for i in range(3)]
    suppliers = [supplier_credit(i) for i in range(3)]
    with any_client(client_kind, fake) as client:
        client.connect()
        for invoice in invoices:
            client.publish(invoice)
        if reading.credit_lines == "refused":
            for document in [*credits, *suppliers]:
                with pytest.raises(errors.RejectedError) as refused:
                    client.publish(document)
                assert refused.value.code == "credit_note_refused"
                assert "enter this credit note in KashFlow directly" in refused.value.remedy
            assert [d.net for d in fake.invoices] == [D("100.00")] * 3
            assert fake.receipts == []
            return
        results = [client.publish(d) for d in [*credits, *suppliers]]
        again = [client.publish(d) for d in [*credits, *suppliers]]
    for document in [*credits, *suppliers]:
        [held] = _held(fake, document.reference)
        vat = sum(
            kfs.Line(net=x.net, vat_rate=x.vat_rate).net * x.vat_rate / 100 for x in document.lines
        )  # type: ignore[operator]
        assert (held.net, held.vat) == (-document.net, -vat.quantize(D("0.01")))  # type: ignore[attr-defined]
    for result, repeat in zip(results, again, strict=True):
        assert result.status == "published" and repeat.status == "already_published"
        assert (repeat.number, repeat.applied, repeat.notices) == (
            result.number,
            result.applied,
            result.notices,
        )
    # Customer credit notes: applied to their invoices, once each.
    assert [r.applied for r in results[:3]] == [True] * 3
    assert [r.kind for r in results[:3]] == ["sales_credit_note"] * 3
    for invoice in fake.invoices:
        if invoice.net > 0:
            assert invoice.amount_paid == D("48.00")
        else:
            assert invoice.amount_paid == D("-48.00")
    assert len([p for p in fake.payments if p.kind == "invoice"]) == 6
    # Supplier credit notes: not allocatable through the API, said plainly; refunded once.
    supplier_results = results[3:]
    assert all(r.applied is None for r in supplier_results)  # they name no invoice
    refunds = [p for p in fake.payments if p.kind == "receipt"]
    if reading.credit_refund == "refused":
        assert refunds == []
        for result in supplier_results:
            [notice] = result.notices
            assert notice.code == "refund_not_recorded" and notice.severity == "notice"
    else:
        assert sorted(abs(p.amount) for p in refunds) == [D("132.49")] * 3
        assert all(r.notices == () for r in supplier_results)
    assert len(fake.attachments) == 3


#: The readings under which a credit note lands at all.
LANDING = {name: r for name, r in READINGS.items() if r.credit_lines != "refused"}


@pytest.mark.parametrize("reading", LANDING.values(), ids=list(LANDING))
def test_a_credit_that_cannot_be_applied_is_a_notice(reading: Readings) -> None:
    """An invoice already paid in full: the credit note lands, applied=False says why."""
    fake = FakeKashFlow(readings=reading)
    with make_client(fake) as client:
        client.connect()
        paid = attrs.evolve(sale(1), payment=kfs.Payment(method="BACS", bank_account=1200))
        client.publish(paid)
        result = client.publish(sales_credit(1))
    assert result.status == "published" and result.applied is False
    [notice] = result.notices
    assert notice.code == "credit_not_applied"
    assert f"invoice {fake.invoices[0].number} ('s-inv-1')" in notice.message
    assert "apply it to invoice" in notice.remedy
    assert len(fake.payments) == 1  # the invoice's own payment, nothing applied


def test_a_false_answer_is_read_back_before_it_is_believed() -> None:
    """KashFlow answering false while applying it: the credit counts as applied."""
    fake = FakeKashFlow(readings=Readings(apply_answer="always_false"))
    with make_client(fake) as client:
        client.connect()
        client.publish(sale(1))
        result = client.publish(sales_credit(1))
    assert result.applied is True and result.notices == ()
    operations = [c.operation for c in fake.calls]
    assert operations.count("applyCreditNoteToInvoice") == 1
    assert operations.count("GetInvoicePayment") == 1


def test_learned_false_is_believed_without_a_read_back() -> None:
    """Once doctor learned what false means, it is taken at its word: no read-back."""
    fake = FakeKashFlow()
    with make_client(fake) as client:
        client.connect()
        _learn(client, apply_false="not_applied")
        client.publish(attrs.evolve(sale(1), payment=kfs.Payment(method="BACS", bank_account=1200)))
        result = client.publish(sales_credit(1))
    assert result.applied is False
    assert [c.operation for c in fake.calls].count("GetInvoicePayment") == 0


def _learn(client: kfs.KashFlowClient, **facts: object) -> None:
    from datetime import datetime, timezone

    learned = AccountFacts(learned_at=datetime.now(timezone.utc), sdk_version="test", **facts)  # type: ignore[arg-type]
    save_account_facts(client.storage, client.connection_id, learned)


def test_the_learned_line_form_is_sent_first() -> None:
    """An account known to take negative quantities gets them at once: no refused try."""
    fake = FakeKashFlow(readings=Readings(credit_lines="negative_quantity"))
    with make_client(fake) as client:
        client.connect()
        _learn(client, credit_lines="quantity")
        client.publish(supplier_credit(1, refund=False))
    assert [c.operation for c in fake.calls].count("InsertReceipt") == 1
    assert all(line.quantity < 0 < line.rate for line in fake.receipts[0].lines)


def test_without_facts_a_refused_form_is_tried_the_other_way_once() -> None:
    """A negative rate refused, then a negative quantity taken: one refusal, one receipt."""
    fake = FakeKashFlow(readings=Readings(credit_lines="negative_quantity"))
    with make_client(fake) as client:
        client.connect()
        result = client.publish(supplier_credit(1, refund=False))
        history = client.publish_history(result.external_id)
    assert [c.operation for c in fake.calls].count("InsertReceipt") == 2
    assert len(fake.receipts) == 1
    assert [(a.step, a.outcome) for a in history][:2] == [
        ("create", "refused"),
        ("create", "created"),
    ]


@pytest.mark.parametrize(
    ("facts", "document", "code"),
    [
        ({"credit_lines": "refused"}, supplier_credit(1), "credit_notes_refused"),
        ({"credit_refund": "refused"}, supplier_credit(1), "credit_refunds_refused"),
    ],
)
def test_what_doctor_learned_refuses_before_sending(
    facts: dict[str, object], document: kfs.Document, code: str
) -> None:
    """An account known to refuse it: a clear problem, and nothing sent."""
    fake = FakeKashFlow()
    with make_client(fake) as client:
        client.connect()
        _learn(client, **facts)
        with pytest.raises(errors.ValidationError) as refused:
            client.publish(document)
    assert [p.code for p in refused.value.problems] == [code]
    assert not [c for c in fake.calls if c.operation.startswith("Insert")]


def test_a_credit_note_and_an_invoice_alike_are_not_twins() -> None:
    """Same supplier, reference and total: an invoice and a credit note both land."""
    fake = FakeKashFlow()
    note = supplier_credit(1, refund=False)
    invoice = kfs.PurchaseInvoice(
        external_id="p-inv-same",
        supplier=SUPPLIER,
        reference=note.reference,
        issue_date=note.issue_date,
        lines=list(note.lines),
    )
    with make_client(fake) as client:
        client.connect()
        assert client.publish(invoice).status == "published"
        assert client.publish(note).status == "published"
    assert sorted(r.net for r in fake.receipts) == [-note.net, note.net]


def test_a_credit_note_keyed_in_by_hand_is_found_before_sending() -> None:
    """The pre-send lookup sees credit notes: the same one in KashFlow is a duplicate."""
    fake = FakeKashFlow()
    fake.add_receipt(SUPPLIER, net=D("-40.00"), vat=D("-8.00"), reference="CN-HAND")
    note = attrs.evolve(
        supplier_credit(1, refund=False),
        reference="CN-HAND",
        lines=[kfs.Line(description="Back", net=D("40.00"), vat_rate=D(20), category=7500)],
        attachment=None,
    )
    with make_client(fake) as client:
        client.connect()
        with pytest.raises(errors.ValidationError) as twice:
            client.publish(note)
    assert [p.code for p in twice.value.problems] == ["duplicate_in_ledger"]
    assert len(fake.receipts) == 1


def test_the_same_credit_note_under_another_id_is_a_duplicate() -> None:
    """Two uploads of one credit note: the second is refused, naming the first."""
    fake = FakeKashFlow()
    note = supplier_credit(1, refund=False)
    with make_client(fake) as client:
        client.connect()
        client.publish(note)
        with pytest.raises(errors.ValidationError) as twice:
            client.publish(attrs.evolve(note, external_id="p-pcn-1-again"))
    assert [p.code for p in twice.value.problems] == ["duplicate_in_ledger"]
    assert "p-pcn-1" in twice.value.problems[0].message
    assert len(fake.receipts) == 1


@pytest.mark.parametrize(
    ("credits", "code"),
    [("never-published", "unknown_credited_invoice"), ("p-inv-1", "unknown_credited_invoice")],
    ids=["unpublished", "a purchase invoice"],
)
def test_credits_must_name_a_published_invoice_of_its_kind(credits: str, code: str) -> None:
    """credits naming nothing published, or the other side's invoice: refused, nothing sent."""
    fake = FakeKashFlow()
    with make_client(fake) as client:
        client.connect()
        client.publish(
            kfs.PurchaseInvoice(
                external_id="p-inv-1",
                supplier=SUPPLIER,
                reference="X-1",
                issue_date=date(2026, 11, 2),
                lines=[kfs.Line(net=D("10.00"), vat_rate=D(20), category=7500)],
            )
        )
        problems = client.validate(sales_credit(1, credits=credits))
        with pytest.raises(errors.ValidationError) as refused:
            client.publish(sales_credit(1, credits=credits))
    assert [p.code for p in problems] == [code]
    assert [p.code for p in refused.value.problems] == [code]
    assert fake.invoices == []


def test_credits_by_number_of_another_customers_invoice_is_refused() -> None:
    """A KashFlow number of another customer's invoice: checked, refused, nothing sent."""
    fake = FakeKashFlow()
    other = fake.add_invoice("Smith Widgets Ltd", net=D("100.00"), reference="OTHER")
    with make_client(fake) as client:
        client.connect()
        with pytest.raises(errors.ValidationError) as refused:
            client.publish(sales_credit(1, credits=other.number))
    assert [p.code for p in refused.value.problems] == ["credits_other_contact"]
    assert len(fake.invoices) == 1


def test_credits_by_a_number_kashflow_does_not_hold() -> None:
    """A number KashFlow has no invoice for: credited_invoice_missing, nothing created."""
    fake = FakeKashFlow()
    with make_client(fake) as client:
        client.connect()
        with pytest.raises(errors.RejectedError) as refused:
            client.publish(sales_credit(1, credits=9999))
    assert refused.value.code == "credited_invoice_missing"
    assert fake.invoices == []


def test_credits_by_number_is_applied() -> None:
    """credits as a KashFlow number (an invoice keyed in by hand) is applied to it."""
    fake = FakeKashFlow()
    invoice = fake.add_invoice(CUSTOMER, net=D("100.00"), vat=D("20.00"), reference="HAND")
    with make_client(fake) as client:
        client.connect()
        result = client.publish(sales_credit(1, credits=invoice.number))
    assert result.applied is True
    assert fake.invoice(invoice.number).amount_paid == D("48.00")  # type: ignore[union-attr]


def test_a_supplier_credit_note_naming_its_receipt_says_what_to_click() -> None:
    """KashFlow's API cannot allocate it: applied=False, and the notice names the receipt."""
    fake = FakeKashFlow()
    with make_client(fake) as client:
        client.connect()
        note = attrs.evolve(supplier_credit(1, refund=False), credits=42)
        result = client.publish(note)
        again = client.publish(note)
    assert result.applied is False and again.applied is False
    [notice] = result.notices
    assert notice.code == "supplier_credit_not_allocated"
    assert "receipt 42" in notice.remedy and "Apply Credit" in notice.remedy
    assert again.notices == result.notices


def test_applied_and_refunded_together_is_refused() -> None:
    """A customer credit note is applied or refunded, not both: refused before sending."""
    fake = FakeKashFlow()
    note = attrs.evolve(sales_credit(1), payment=kfs.Payment(method="BACS", bank_account=1200))
    with make_client(fake) as client:
        client.connect()
        client.publish(sale(1))
        with pytest.raises(errors.ValidationError) as refused:
            client.publish(note)
    assert [p.code for p in refused.value.problems] == ["applied_and_refunded"]


def test_credit_notes_survive_json() -> None:
    """The document file format carries both kinds and credits, and reads them back exactly."""
    for document in (sales_credit(1), sales_credit(2, credits=1001), supplier_credit(3)):
        data = kfs.document_to_json(document)
        assert data["kind"] == document.kind
        assert kfs.document_from_json(data) == document


def test_json_credits_on_an_invoice_is_refused() -> None:
    """credits without a credit-note kind is a format error naming the field."""
    data = kfs.document_to_json(sale(1))
    data["credits"] = "s-inv-0"
    with pytest.raises(errors.ValidationError) as refused:
        kfs.document_from_json(data)
    assert "kind" in str(refused.value)


def test_a_credit_note_with_minus_signs_is_refused_with_the_remedy() -> None:
    """Amounts as printed are positive: a negative credit-note line is a clear problem."""
    note = attrs.evolve(
        supplier_credit(1, refund=False),
        lines=[kfs.Line(net=D("-40.00"), vat_rate=D(20), category=7500)],
    )
    fake = FakeKashFlow()
    with make_client(fake) as client:
        client.connect()
        [problem] = client.validate(note)
    assert problem.code == "negative_amount"
    assert "without their minus signs" in problem.remedy


def test_a_negative_invoice_points_to_credit_notes() -> None:
    """An invoice with a negative total is a credit note: the remedy names the class."""
    invoice = attrs.evolve(
        sale(1), lines=[kfs.Line(net=D("-40.00"), vat_rate=D(20), category=4000)]
    )
    fake = FakeKashFlow()
    with make_client(fake) as client:
        client.connect()
        [problem] = client.validate(invoice)
    assert problem.code == "negative_amount"
    assert "kfs.SalesCreditNote" in problem.remedy and '"sales_credit_note"' in problem.remedy
