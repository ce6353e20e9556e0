"""FakeKashFlow: receipts, sales invoices, payments and attachments."""

from __future__ import annotations

import base64
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from _probing import invoice as document
from _probing import nominal_id
from lxml import etree

from kashflow_sync.testing import FakeKashFlow
from kashflow_sync.testing._fake.schema import load_model
from kashflow_sync.testing._probe import SoapProbe


@pytest.fixture
def fake_options() -> dict[str, Any]:
    return {"clock": lambda: datetime(2026, 11, 5, 10, 30)}


def acme(fake: FakeKashFlow) -> int:
    supplier = fake.find_supplier("ACME01")
    assert supplier is not None
    return supplier.supplier_id


def two_line_receipt(fake: FakeKashFlow, probe: SoapProbe) -> Any:
    lines = [
        probe.line(
            Quantity=Decimal(2),
            Rate=Decimal("50.00"),
            ChargeType=nominal_id(fake, 7500),
            VatRate=Decimal(20),
            VatAmount=Decimal("20.00"),
            Description="Paper",
        ),
        probe.line(
            Quantity=Decimal(1),
            Rate=Decimal("12.50"),
            ChargeType=nominal_id(fake, 7502),
            VatRate=Decimal(5),
            VatAmount=Decimal("0.63"),
            Description="Calls",
        ),
    ]
    return probe.call("InsertReceipt", Inv=document(acme(fake), lines, CustomerReference="INV-1"))


def test_receipt_with_two_typed_lines_is_stored_with_totals(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """InsertReceipt returns the receipt number; the fake totals the lines."""
    result = two_line_receipt(fake, probe)
    assert (result.Status, result.InsertReceiptResult) == ("OK", 1)
    (receipt,) = fake.receipts
    assert (receipt.number, receipt.customer_reference, receipt.customer) == (1, "INV-1", "ACME01")
    assert (receipt.net_amount, receipt.vat_amount) == (Decimal("112.50"), Decimal("20.63"))
    assert receipt.dbid != receipt.number
    assert [line.sort for line in receipt.lines] == [1, 2]


def test_get_receipt_renders_typed_lines(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """GetReceipt answers the Invoice type with <anyType xsi:type="InvoiceLine"> lines."""
    two_line_receipt(fake, probe)
    response = probe.send("GetReceipt", ReceiptNumber=1)
    assert response.text.count('<anyType xsi:type="InvoiceLine">') == 2
    answer = etree.fromstring(response.content)[0][0]
    assert load_model().validate(answer) is None
    receipt = probe.read("GetReceipt", response).GetReceiptResult
    assert (receipt.InvoiceNumber, receipt.NetAmount, receipt.VATAmount, receipt.Paid) == (
        1,
        Decimal("112.50"),
        Decimal("20.63"),
        0,
    )
    assert (receipt.CustomerID, receipt.CustomerName) == (acme(fake), "Acme Paper Ltd")


def test_receipts_and_invoices_are_numbered_separately(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """Receipts count from 1, invoices from 1001; DBIDs come from one other series."""
    two_line_receipt(fake, probe)
    customer = fake.find_customer("BLOGGS01")
    assert customer is not None
    line = probe.line(
        Rate=Decimal("100.00"), ChargeType=nominal_id(fake, 4000), VatAmount=Decimal("20.00")
    )
    result = probe.call("InsertInvoice", Inv=document(customer.customer_id, [line]))
    assert result.InsertInvoiceResult == 1001
    (invoice,) = fake.invoices
    assert invoice.dbid not in (1, 1001) and invoice.dbid != fake.receipts[0].dbid


def test_untyped_line_is_refused_and_nothing_stored(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """A line without xsi:type="InvoiceLine" gets Status=NO."""
    body = probe.envelope("InsertReceipt", Inv=document(acme(fake), []))
    # zeep cannot emit an untyped anyType with children, so write one in by hand.
    untyped = (
        b"<ns0:Lines><ns0:anyType><ns0:Quantity>1</ns0:Quantity><ns0:Rate>5</ns0:Rate>"
        b"</ns0:anyType></ns0:Lines>"
    )
    body = body.replace(b"<ns0:Lines/>", untyped)
    assert untyped in body
    result = probe.read("InsertReceipt", probe.post(body, '"KashFlow/InsertReceipt"'))
    assert (result.InsertReceiptResult, result.Status) == (0, "NO")
    assert "InvoiceLine" in result.StatusDetail
    assert fake.receipts == []


@pytest.mark.parametrize(
    ("header", "line", "detail"),
    [
        ({"CustomerID": 999}, {}, "There is no supplier with that ID"),
        ({"ProjectID": 999}, {}, "There is no project with ID 999"),
        ({"CurrencyCode": "JPY"}, {}, "There is no currency with the code JPY"),
        ({}, {"ChargeType": 7500}, "Line 1: there is no nominal code with ID 7500"),
        ({}, {"VatRate": Decimal("17.5")}, "Line 1: 17.5 is not a valid VAT rate"),
        ({}, {"ProjID": 999}, "Line 1: there is no project with ID 999"),
    ],
)
def test_unknown_ids_are_refused_and_nothing_stored(
    fake: FakeKashFlow,
    probe: SoapProbe,
    header: dict[str, Any],
    line: dict[str, Any],
    detail: str,
) -> None:
    """Any unknown reference refuses the whole receipt; no number is used up."""
    lines = [probe.line(Rate=Decimal(10)), probe.line(Rate=Decimal(10), **line)]
    lines.reverse()
    result = probe.call("InsertReceipt", Inv=document(acme(fake), lines, **header))
    assert (result.InsertReceiptResult, result.Status, result.StatusDetail) == (0, "NO", detail)
    assert fake.receipts == []
    assert two_line_receipt(fake, probe).InsertReceiptResult == 1


def test_other_charge_type_and_exempt_rate_are_accepted(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """ChargeType 0 means "Other"; VatRate -1 is exempt."""
    line = probe.line(Rate=Decimal("9.99"), ChargeType=0, VatRate=Decimal(-1))
    assert probe.call("InsertReceipt", Inv=document(acme(fake), [line])).Status == "OK"


def test_receipts_for_supplier(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """GetReceiptsForSupplier lists the supplier's receipts; an unknown id is Status=NO."""
    two_line_receipt(fake, probe)
    two_line_receipt(fake, probe)
    found = probe.call("GetReceiptsForSupplier", SupplierID=acme(fake))
    assert [r.InvoiceNumber for r in found.GetReceiptsForSupplierResult.Invoice] == [1, 2]
    office = fake.find_supplier("OFFICE01")
    assert office is not None
    none = probe.send("GetReceiptsForSupplier", SupplierID=office.supplier_id)
    assert "<GetReceiptsForSupplierResult />" in none.text
    assert probe.call("GetReceiptsForSupplier", SupplierID=5).Status == "NO"


def test_missing_document_is_status_no(probe: SoapProbe) -> None:
    """GetReceipt/GetInvoice of an unknown number is Status=NO without a result."""
    for operation, param in (("GetReceipt", "ReceiptNumber"), ("GetInvoice", "InvoiceNumber")):
        result = probe.call(operation, **{param: 77})
        assert result.Status == "NO" and getattr(result, f"{operation}Result") is None


def test_attachment_is_stored_and_listed_by_dbid(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """AttachFileToReceipt takes the number; GetReceiptAttachments takes the DBID."""
    two_line_receipt(fake, probe)
    content = b"%PDF-1.4 fake"
    result = probe.call(
        "AttachFileToReceipt",
        ReceiptNo=1,
        Base64String=base64.b64encode(content).decode(),
        ContentType="application/pdf",
        Filename="inv.pdf",
        FileExtension="pdf",
        FileSize=str(len(content)),
    )
    assert result.Status == "OK" and result.AttachFileToReceiptResult > 0
    (attachment,) = fake.attachments
    assert (attachment.content, attachment.document_number) == (content, 1)
    listed = probe.call("GetReceiptAttachments", ReceiptID=fake.receipts[0].dbid)
    (row,) = listed.GetReceiptAttachmentsResult.ReceiptAttachment
    assert (row.AttachmentID, row.ActualFilename, row.ReceiptID) == (
        attachment.attachment_id,
        "inv.pdf",
        fake.receipts[0].dbid,
    )
    assert probe.call("GetReceiptAttachments", ReceiptID=1).Status == "NO"


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"ReceiptNo": 9}, "There is no receipt with that number"),
        ({"ReceiptNo": 1, "Base64String": "***"}, "The file content is not valid Base64"),
        ({"ReceiptNo": 1, "Filename": ""}, "A file name is required"),
    ],
)
def test_attachment_refusals(
    fake: FakeKashFlow, probe: SoapProbe, params: dict[str, Any], detail: str
) -> None:
    """Unknown receipt, bad Base64 or no file name: Status=NO, nothing stored."""
    two_line_receipt(fake, probe)
    values = {"Base64String": "aGk=", "Filename": "a.txt", **params}
    result = probe.call("AttachFileToReceipt", **values)
    assert (result.AttachFileToReceiptResult, result.StatusDetail) == (0, detail)
    assert fake.attachments == []


def test_invoice_attachment(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """AttachFileToInvoice stores the file against the invoice."""
    fake.add_invoice("BLOGGS01", net=Decimal("10.00"), vat=Decimal("2.00"))
    result = probe.call(
        "AttachFileToInvoice", InvoiceNo=1001, Base64String="aGk=", Filename="po.txt"
    )
    assert result.Status == "OK"
    assert [(a.kind, a.content) for a in fake.attachments] == [("invoice", b"hi")]


def payment(number: int, method: int, account: int, amount: str) -> dict[str, Any]:
    return {
        "PayID": 0,
        "PayInvoice": number,
        "PayDate": datetime(2026, 11, 3),
        "PayMethod": method,
        "PayAccount": account,
        "PayAmount": Decimal(amount),
    }


def test_payments_fill_amount_paid_and_paid_flag(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """Part then full payment: AmountPaid adds up and Paid turns 1 when settled."""
    two_line_receipt(fake, probe)
    card = next(
        m.method_id for m in fake.purchase_payment_methods if m.method_name == "Credit card"
    )
    bank = fake.bank_accounts[0].account_id
    first = probe.call("InsertReceiptPayment", ReceiptPayment=payment(1, card, bank, "100.00"))
    assert first.Status == "OK" and first.InsertReceiptPaymentResult > 0
    assert fake.receipts[0].paid == 0
    probe.call("InsertReceiptPayment", ReceiptPayment=payment(1, card, bank, "33.13"))
    receipt = probe.call("GetReceipt", ReceiptNumber=1).GetReceiptResult
    assert (receipt.AmountPaid, receipt.Paid) == (Decimal("133.13"), 1)
    listed = probe.call("GetReceiptPayment", ReceiptNumber=1).GetReceiptPaymentResult.Payment
    assert [p.PayAmount for p in listed] == [Decimal("100.00"), Decimal("33.13")]
    assert {(p.kind, p.document_number) for p in fake.payments} == {("receipt", 1)}


@pytest.mark.parametrize(
    ("number", "method", "account", "amount", "detail"),
    [
        (5, 1, 61, "1.00", "There is no receipt with that number"),
        (1, 11, 61, "1.00", "There is no payment method with ID 11"),
        (1, 1, 1200, "1.00", "There is no bank account with ID 1200"),
        (1, 1, 61, "0", "The payment amount must be greater than zero"),
    ],
)
def test_payment_refusals(
    fake: FakeKashFlow,
    probe: SoapProbe,
    number: int,
    method: int,
    account: int,
    amount: str,
    detail: str,
) -> None:
    """Unknown receipt, a sales method on a receipt, a nominal code as account, zero amount."""
    two_line_receipt(fake, probe)
    result = probe.call(
        "InsertReceiptPayment", ReceiptPayment=payment(number, method, account, amount)
    )
    assert (result.InsertReceiptPaymentResult, result.StatusDetail) == (0, detail)
    assert fake.payments == []


def test_invoice_payment_uses_sales_methods(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """InsertInvoicePayment takes a GetInvPayMethods id; GetInvoicePayment lists it."""
    fake.add_invoice("BLOGGS01", net=Decimal("10.00"), vat=Decimal("2.00"))
    bacs = next(m.method_id for m in fake.sales_payment_methods if m.method_name == "BACS")
    bank = fake.bank_accounts[0].account_id
    result = probe.call("InsertInvoicePayment", InvoicePayment=payment(1001, bacs, bank, "12.00"))
    assert result.Status == "OK"
    assert fake.invoices[0].paid == 1
    listed = probe.call("GetInvoicePayment", InvoiceNumber=1001).GetInvoicePaymentResult
    assert [p.PayID for p in listed.Payment] == [result.InsertInvoicePaymentResult]


def test_invoices_for_customer(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """GetInvoicesForCustomer takes the CustomerID."""
    record = fake.add_invoice("Bloggs & Co", net=Decimal("5.00"), nominal_code=4000)
    customer = fake.find_customer("BLOGGS01")
    assert customer is not None
    found = probe.call("GetInvoicesForCustomer", CustID=customer.customer_id)
    (invoice,) = found.GetInvoicesForCustomerResult.Invoice
    assert (invoice.InvoiceNumber, invoice.Lines.anyType[0].ChargeType) == (
        record.number,
        nominal_id(fake, 4000),
    )
