"""Publishing over loopback HTTP: rules, validation, documents landing once, batches."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import httpx
import pytest

import kashflow_sync as kfs
from _support import make_client, purchase
from kashflow_sync import errors
from kashflow_sync.testing import FakeKashFlow


@pytest.fixture
def http_client(served_fake: FakeKashFlow) -> Iterator[kfs.KashFlowClient]:
    """A client connected to the fake over real loopback HTTP."""
    with httpx.Client() as http, make_client(served_fake, http) as client:
        client.connect()
        yield client


def test_rules_fill_blanks_and_explain_says_who(http_client: kfs.KashFlowClient) -> None:
    """A supplier rule fills category, VAT rate and due date; the document's own values win."""
    http_client.rules.set_supplier_rule(
        "Acme Paper Ltd", kfs.Rule(category=7500, vat_rate=Decimal("20"), due_days=30)
    )
    doc = kfs.PurchaseInvoice(
        external_id="r-1",
        supplier="Acme Paper Ltd",
        reference="R-1",
        issue_date=date(2026, 11, 2),
        lines=[
            kfs.Line(description="Paper", net=Decimal("10.00")),
            kfs.Line(description="Trip", net=Decimal("5.00"), category=7400),
        ],
    )
    resolved = http_client.resolve(doc)
    lines = resolved.document.lines
    assert lines[0].category == 7500 and lines[1].category == 7400
    assert lines[0].vat == Decimal("2.00")
    assert resolved.document.due_date == date(2026, 12, 2)
    assert resolved.explain["lines[0].category"] == "supplier rule: Acme Paper Ltd"
    assert resolved.explain["lines[1].category"] == "document"
    assert resolved.explain["due_date"] == "supplier rule: Acme Paper Ltd"


def test_validation_returns_every_problem_and_sends_nothing(
    http_client: kfs.KashFlowClient, served_fake: FakeKashFlow
) -> None:
    """A bad document: all problems at once, ValidationError from publish, no request sent."""
    doc = kfs.PurchaseInvoice(
        external_id="bad-1",
        supplier="Acme Paper Ltd",
        reference="B-1",
        issue_date=None,
        lines=[
            kfs.Line(net=Decimal("10"), vat=Decimal("50"), vat_rate=Decimal("17.5"), category=4000),
            kfs.Line(net=Decimal("10"), vat_rate=Decimal("20"), category=9999, project=404),
        ],
        currency="XYZ",
        location="Leeds",
        payment=kfs.Payment(method="Barter", bank_account=9999),
    )
    problems = http_client.validate(doc)
    codes = {p.code for p in problems}
    assert {
        "missing_issue_date",
        "unknown_vat_rate",
        "vat_exceeds_net",
        "wrong_category_kind",
        "unknown_category",
        "unknown_project",
        "unknown_currency",
        "unsupported_location",
        "unknown_payment_method",
        "unknown_bank_account",
    } <= codes
    assert all(p.remedy and p.message and p.field for p in problems)
    served_fake.reset_calls()
    with pytest.raises(errors.ValidationError) as info:
        http_client.publish(doc)
    assert {p.code for p in info.value.problems} == codes
    assert served_fake.calls == []


def test_purchase_with_two_lines_attachment_and_payment_lands_correctly(
    http_client: kfs.KashFlowClient, served_fake: FakeKashFlow
) -> None:
    """Receipt, lines (nominal ids, VAT), attachment and payment all land as sent."""
    doc = purchase(1)
    result = http_client.publish(doc)
    assert result.status == "published" and result.kind == "purchase"
    receipt = served_fake.receipt(result.number)
    assert receipt is not None and receipt.invoice_dbid == result.kashflow_id
    supplier = served_fake.find_supplier("Acme Paper Ltd")
    assert supplier is not None and receipt.customer_id == supplier.supplier_id
    nominal_ids = {n.code: n.id for n in served_fake.nominal_codes}
    assert [line.charge_type for line in receipt.lines] == [nominal_ids[7500], nominal_ids[7400]]
    assert [line.vat_amount for line in receipt.lines] == [Decimal("20.20"), Decimal("0.00")]
    assert receipt.net_amount == doc.net == Decimal("113.50")
    assert receipt.vat_amount == Decimal("20.20")  # computed from the rate
    (attachment,) = [a for a in served_fake.attachments if a.document_number == result.number]
    assert attachment.content == doc.attachment.content  # type: ignore[union-attr]
    (payment,) = [p for p in served_fake.payments if p.pay_invoice == result.number]
    assert payment.pay_amount == Decimal("133.70")  # the full gross
    methods = {m.method_name: m.method_id for m in served_fake.purchase_payment_methods}
    banks = {b.account_code: b.account_id for b in served_fake.bank_accounts}
    assert payment.pay_method == methods["Credit card"] and payment.pay_account == banks[1200]


def test_sales_invoice_lands(http_client: kfs.KashFlowClient, served_fake: FakeKashFlow) -> None:
    """A sales invoice goes to the customer with its sales nominal and a sales payment."""
    sale = kfs.SalesInvoice(
        external_id="s-7",
        customer="Bloggs & Co",
        reference="PO-77",
        issue_date=date(2026, 11, 4),
        lines=[
            kfs.Line(
                description="Consulting", net=Decimal("500"), vat_rate=Decimal("20"), category=4000
            )
        ],
        payment=kfs.Payment(
            method=served_fake.sales_payment_methods[0].method_name, bank_account=1200
        ),
    )
    result = http_client.publish(sale)
    invoice = served_fake.invoice(result.number)
    assert invoice is not None and invoice.customer_reference == "PO-77"
    assert invoice.net_amount == Decimal("500") and invoice.vat_amount == Decimal("100.00")
    assert [p.pay_amount for p in served_fake.payments if p.kind == "invoice"] == [
        Decimal("600.00")
    ]


def test_new_supplier_is_created_once_then_used(
    http_client: kfs.KashFlowClient, served_fake: FakeKashFlow
) -> None:
    """A supplier not in the lists is created in KashFlow, once, and used by later documents."""
    docs = [
        kfs.PurchaseInvoice(
            external_id=f"new-{i}",
            supplier="Brand New Supplies",
            reference=f"BN-{i}",
            issue_date=date(2026, 11, 2),
            lines=[kfs.Line(net=Decimal("10"), vat_rate=Decimal("20"), category=7500)],
        )
        for i in range(4)
    ]
    batch = http_client.publish_many(docs, concurrency=4)
    assert len(batch.published) == 4
    created = [s for s in served_fake.suppliers if s.name == "Brand New Supplies"]
    assert len(created) == 1
    assert {served_fake.receipt(i.result.number).customer_id for i in batch} == {  # type: ignore[union-attr]
        created[0].supplier_id
    }


def test_missing_supplier_is_a_problem_when_creation_is_off(served_fake: FakeKashFlow) -> None:
    """With create_missing_contacts=False an unknown supplier is the problem unknown_supplier."""
    with httpx.Client() as http, make_client(served_fake, http, create_missing_contacts=False) as c:
        c.connect()
        doc = kfs.PurchaseInvoice(
            external_id="x",
            supplier="Nobody Ltd",
            reference="X",
            issue_date=date(2026, 11, 2),
            lines=[kfs.Line(net=Decimal("1"), vat_rate=Decimal("0"), category=7500)],
        )
        assert [p.code for p in c.validate(doc)] == ["unknown_supplier"]


def test_publishing_twice_gives_one_document(
    http_client: kfs.KashFlowClient, served_fake: FakeKashFlow
) -> None:
    """The same external_id published again -> already_published, still one receipt."""
    first = http_client.publish(purchase(3))
    served_fake.reset_calls()
    second = http_client.publish(purchase(3))
    assert second.status == "already_published"
    assert (second.number, second.kashflow_id) == (first.number, first.kashflow_id)
    assert served_fake.calls == []
    assert len(served_fake.receipts) == 1


def test_same_invoice_under_new_external_id_is_a_duplicate(http_client: kfs.KashFlowClient) -> None:
    """Same supplier, reference and total under another external_id -> duplicate_in_ledger."""
    http_client.publish(purchase(4))
    copy = purchase(4)
    copy = type(copy)(**{**_fields(copy), "external_id": "another-id"})
    problems = http_client.validate(copy)
    assert [p.code for p in problems] == ["duplicate_in_ledger"]
    assert "doc-4" in problems[0].message


def _fields(doc: kfs.PurchaseInvoice) -> dict[str, object]:
    import attrs

    return {f.name: getattr(doc, f.name) for f in attrs.fields(type(doc)) if f.init}


def test_publish_many_keeps_input_order_and_survives_a_bad_document(
    http_client: kfs.KashFlowClient,
) -> None:
    """One bad document fails alone; results come back in input order; progress is reported."""
    docs = [purchase(10), purchase(11), purchase(12)]
    bad = kfs.PurchaseInvoice(
        external_id="bad", supplier="Acme Paper Ltd", reference="Z", issue_date=None, lines=[]
    )
    seen: list[kfs.BatchProgress] = []
    batch = http_client.publish_many(
        [docs[0], bad, docs[1], docs[2]], concurrency=3, progress=seen.append
    )
    assert [i.external_id for i in batch] == ["doc-10", "bad", "doc-11", "doc-12"]
    assert len(batch) == 4 and len(batch.published) == 3 and len(batch.failed) == 1
    assert isinstance(batch[1].error, errors.ValidationError) and batch[1].result is None
    assert sorted(p.done for p in seen) == [1, 2, 3, 4]


def test_publish_history_shows_each_step(http_client: kfs.KashFlowClient) -> None:
    """publish_history lists create, attachment, payment and the final publish."""
    http_client.publish(purchase(20))
    steps = [(a.step, a.outcome) for a in http_client.publish_history("doc-20")]
    assert steps == [
        ("create", "created"),
        ("attachment", "attached"),
        ("payment", "recorded"),
        ("publish", "published"),
    ]


def test_float_money_is_refused() -> None:
    """Money given as a float is a TypeError naming Decimal."""
    with pytest.raises(TypeError, match="Decimal"):
        kfs.Line(net=10.5)  # type: ignore[arg-type]


def test_rejected_publish_leaves_nothing_and_can_be_retried(
    http_client: kfs.KashFlowClient, served_fake: FakeKashFlow
) -> None:
    """KashFlow refusing the receipt raises RejectedError; nothing lands; a retry publishes."""
    served_fake.faults.soap_fault(op="InsertReceipt", times=None)
    with pytest.raises(errors.KashFlowError):
        http_client.publish(purchase(30, attach=False, pay=False))
    served_fake.faults.clear()
    result = http_client.publish(purchase(30, attach=False, pay=False))
    assert result.status == "published"
    assert len(served_fake.receipts) == 1


def test_lists_changed_after_validation_is_stale_lists(http_client: kfs.KashFlowClient) -> None:
    """A nominal code gone from the lists between validation and sending -> stale_lists."""
    from kashflow_sync.soap.wire import document_lines

    doc = purchase(40)
    lists = http_client.lists
    http_client.storage.replace_list(
        http_client.connection_id,
        "nominal_codes",
        [n for n in lists.nominal_codes if n.code != 7500],
    )
    lists.invalidate()
    with pytest.raises(errors.ValidationError) as info:
        document_lines(http_client.resolve(doc).document, lists)
    assert [p.code for p in info.value.problems] == ["stale_lists"]
