"""FakeKashFlow: DeleteReceiptPayment, DeleteReceiptAttachment, DeleteReceipt, DeleteSupplier,
DeleteCustomer."""

from __future__ import annotations

import base64
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from kashflow_sync.testing import WRITE_OPERATIONS, FakeKashFlow
from kashflow_sync.testing._fake.schema import load_model
from kashflow_sync.testing._probe import SoapProbe

PAID_ON = datetime(2026, 11, 3)


def pay(probe: SoapProbe, fake: FakeKashFlow, number: int, amount: str) -> int:
    payment = {
        "PayID": 0,
        "PayInvoice": number,
        "PayDate": PAID_ON,
        "PayMethod": fake.purchase_payment_methods[0].kashflow_id,
        "PayAccount": fake.bank_accounts[0].kashflow_id,
        "PayAmount": Decimal(amount),
    }
    result = probe.call("InsertReceiptPayment", ReceiptPayment=payment)
    assert result.Status == "OK"
    return int(result.InsertReceiptPaymentResult)


def attach(probe: SoapProbe, number: int, name: str = "inv.pdf") -> int:
    result = probe.call(
        "AttachFileToReceipt",
        ReceiptNo=number,
        Base64String=base64.b64encode(b"%PDF").decode(),
        Filename=name,
    )
    assert result.Status == "OK"
    return int(result.AttachFileToReceiptResult)


def test_write_operations_are_every_insert_attach_and_delete() -> None:
    """WRITE_OPERATIONS names exactly the WSDL's operations that change the ledger."""
    changing = ("Insert", "Attach", "Delete", "apply")
    writes = {op for op in load_model().operations if op.startswith(changing)}
    assert set(WRITE_OPERATIONS) == writes


def test_delete_receipt_payment_unpays_the_receipt(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """The payment goes; AmountPaid drops and Paid turns 0; the other payment stays."""
    receipt = fake.add_receipt("ACME01", net=Decimal("10.00"), vat=Decimal("2.00"))
    first, second = (
        pay(probe, fake, receipt.number, "2.00"),
        pay(probe, fake, receipt.number, "10.00"),
    )
    assert fake.receipt(receipt.number).paid == 1  # type: ignore[union-attr]
    result = probe.call("DeleteReceiptPayment", ReceiptPaymentNumber=second)
    assert (result.Status, result.DeleteReceiptPaymentResult) == ("OK", 1)
    after = fake.receipt(receipt.number)
    assert after is not None and (after.amount_paid, after.paid) == (Decimal("2.00"), 0)
    assert [p.kashflow_id for p in fake.payments] == [first]


def test_delete_receipt_attachment_takes_the_receipt_id(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """ReceiptID is the internal id; an attachment of another receipt is not found."""
    one = fake.add_receipt("ACME01", net=Decimal("1.00"))
    two = fake.add_receipt("ACME01", net=Decimal("2.00"))
    kept, gone = attach(probe, one.number, "a.pdf"), attach(probe, one.number, "b.pdf")
    wrong = probe.call("DeleteReceiptAttachment", ReceiptID=two.kashflow_id, AttachmentID=gone)
    assert (wrong.Status, wrong.StatusDetail) == ("NO", "There is no attachment with that ID")
    result = probe.call("DeleteReceiptAttachment", ReceiptID=one.kashflow_id, AttachmentID=gone)
    assert (result.Status, result.DeleteReceiptAttachmentResult) == ("OK", 1)
    assert [a.kashflow_id for a in fake.attachments] == [kept]


def test_delete_receipt_takes_its_attachments_and_keeps_numbering(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """The receipt and its files go; the next receipt still gets a new number."""
    receipt = fake.add_receipt("ACME01", net=Decimal("5.00"))
    attach(probe, receipt.number)
    result = probe.call("DeleteReceipt", ReceiptNumber=receipt.number)
    assert (result.Status, result.DeleteReceiptResult) == ("OK", 1)
    assert fake.receipts == [] and fake.attachments == []
    assert probe.call("GetReceipt", ReceiptNumber=receipt.number).Status == "NO"
    assert fake.add_receipt("ACME01", net=Decimal("5.00")).number == receipt.number + 1


def test_delete_receipt_with_payments_is_refused(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """A paid receipt stays until its payments are deleted (the fake's assumption)."""
    receipt = fake.add_receipt("ACME01", net=Decimal("5.00"))
    pay(probe, fake, receipt.number, "5.00")
    result = probe.call("DeleteReceipt", ReceiptNumber=receipt.number)
    assert (result.Status, result.DeleteReceiptResult) == ("NO", 0)
    assert "payments" in result.StatusDetail and len(fake.receipts) == 1


def test_delete_supplier_refused_while_it_has_receipts(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """A supplier with receipts stays; without, it goes and GetSupplier no longer finds it."""
    office = fake.find_supplier("OFFICE01")
    assert office is not None
    receipt = fake.add_receipt("OFFICE01", net=Decimal("1.00"))
    refused = probe.call("DeleteSupplier", SupplierID=office.kashflow_id)
    assert refused.Status == "NO" and fake.find_supplier("OFFICE01") is not None
    probe.call("DeleteReceipt", ReceiptNumber=receipt.number)
    result = probe.call("DeleteSupplier", SupplierID=office.kashflow_id)
    assert (result.Status, result.DeleteSupplierResult) == ("OK", 1)
    assert probe.call("GetSupplier", SupplierCode="OFFICE01").Status == "NO"


def test_delete_customer_refused_while_it_has_invoices(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """A customer with invoices stays; without, it goes and GetCustomer no longer finds it."""
    smith = fake.find_customer("SMITH01")
    assert smith is not None
    invoice = fake.add_invoice("SMITH01", net=Decimal("1.00"))
    refused = probe.call("DeleteCustomer", CustomerID=smith.kashflow_id)
    assert refused.Status == "NO" and "invoices" in refused.StatusDetail
    assert fake.find_customer("SMITH01") is not None
    probe.call("DeleteInvoice", InvoiceNumber=invoice.number)
    result = probe.call("DeleteCustomer", CustomerID=smith.kashflow_id)
    assert (result.Status, result.DeleteCustomerResult) == ("OK", 1)
    assert probe.call("GetCustomer", CustomerCode="SMITH01").Status == "NO"


ABSENT: list[tuple[str, dict[str, Any], str]] = [
    ("DeleteReceiptPayment", {"ReceiptPaymentNumber": 4}, "There is no receipt payment"),
    ("DeleteReceiptAttachment", {"ReceiptID": 4, "AttachmentID": 4}, "There is no receipt"),
    ("DeleteReceipt", {"ReceiptNumber": 404}, "There is no receipt with that number"),
    ("DeleteSupplier", {"SupplierID": 4}, "There is no supplier with that ID"),
    ("DeleteCustomer", {"CustomerID": 404}, "There is no customer with that ID"),
]


@pytest.mark.parametrize(("operation", "params", "detail"), ABSENT)
def test_deleting_what_is_absent_under_each_reading(
    fake: FakeKashFlow, probe: SoapProbe, operation: str, params: dict[str, Any], detail: str
) -> None:
    """status_no: Status NO "There is no ..."; empty_object: Status OK with result 0."""
    refused = probe.call(operation, **params)
    assert refused.Status == "NO" and refused.StatusDetail.startswith(detail)
    fake.set_readings(not_found="empty_object")
    quiet = probe.call(operation, **params)
    assert (quiet.Status, getattr(quiet, f"{operation}Result")) == ("OK", 0)


def test_faults_hit_deletes_like_any_operation(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """http_error refuses before applying; drop_response applies and loses the answer."""
    receipt = fake.add_receipt("ACME01", net=Decimal("1.00"))
    fake.faults.http_error(503, op="DeleteReceipt")
    assert probe.send("DeleteReceipt", ReceiptNumber=receipt.number).status_code == 503
    assert len(fake.receipts) == 1
    fake.faults.drop_response(op="DeleteReceipt")
    with pytest.raises(httpx.RemoteProtocolError):
        probe.send("DeleteReceipt", ReceiptNumber=receipt.number)
    assert fake.receipts == []


def test_probe_writes_round_trip_leaves_the_ledger_as_it_was(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """Supplier, receipt, attachment and payment made and deleted: the ledger is unchanged."""
    before = (fake.suppliers, fake.receipts, fake.payments, fake.attachments)
    supplier = fake.add_supplier("Doctor Probe Ltd")
    receipt = fake.add_receipt(supplier.code, net=Decimal("100.00"), vat=Decimal("20.00"))
    attachment = attach(probe, receipt.number)
    payment = pay(probe, fake, receipt.number, "120.00")
    for operation, params in (
        ("DeleteReceiptPayment", {"ReceiptPaymentNumber": payment}),
        ("DeleteReceiptAttachment", {"ReceiptID": receipt.kashflow_id, "AttachmentID": attachment}),
        ("DeleteReceipt", {"ReceiptNumber": receipt.number}),
        ("DeleteSupplier", {"SupplierID": supplier.kashflow_id}),
    ):
        assert probe.call(operation, **params).Status == "OK", operation
    assert (fake.suppliers, fake.receipts, fake.payments, fake.attachments) == before
