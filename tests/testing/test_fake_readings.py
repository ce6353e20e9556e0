"""FakeKashFlow plays every reading of KashFlow's unconfirmed behaviour (notes section 8)."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import attrs
import httpx
import pytest
from _probing import ISSUED, invoice
from lxml import etree

from kashflow_sync.testing import DEFAULT_SUCCESS_NOTE, FakeKashFlow, Readings
from kashflow_sync.testing._fake.schema import load_model
from kashflow_sync.testing._probe import SoapProbe

KF = "{KashFlow}"
SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"


def supplier_id(fake: FakeKashFlow, code: str = "ACME01") -> int:
    found = fake.find_supplier(code)
    assert found is not None
    return found.kashflow_id


def receipt_with(probe: SoapProbe, fake: FakeKashFlow, *lines: Any, **header: Any) -> int:
    result = probe.call("InsertReceipt", Inv=invoice(supplier_id(fake), list(lines), **header))
    assert result.Status == "OK", result.StatusDetail
    return int(result.InsertReceiptResult)


def answer(response: httpx.Response) -> etree._Element:
    """The <OpResponse> element, checked against the WSDL's schema."""
    element = etree.fromstring(response.content).find(f"{SOAP}Body")[0]
    assert load_model().validate(element) is None
    return element


# -- readings as values ---------------------------------------------------------------------


def test_default_readings_are_the_fakes_long_standing_behaviour() -> None:
    """Readings() is Status NO for not-found, 4-dp rates, no conversion, no note, Dropbox on,
    either sign on credit-note lines, applies answered truly, refunds negative."""
    assert attrs.asdict(Readings()) == {
        "not_found": "status_no",
        "rate_decimals": 4,
        "rounding": "half_up",
        "recompute_vat": False,
        "values_in_currency": False,
        "success_note": False,
        "dropbox_connected": True,
        "credit_lines": "either",
        "credit_vat": "as_sent",
        "apply_answer": "truthful",
        "apply_needs_bank": True,
        "credit_refund": "negative",
    }


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"not_found": "maybe"}, ValueError),
        ({"rate_decimals": 9}, ValueError),
        ({"rounding": "down"}, ValueError),
        ({"recompute_vat": "yes"}, TypeError),
        ({"success_note": 1}, TypeError),
        ({"no_such_reading": True}, TypeError),
    ],
)
def test_set_readings_refuses_unknown_names_and_values(
    fake: FakeKashFlow, changes: dict[str, Any], error: type[Exception]
) -> None:
    """set_readings checks names and values and leaves the readings as they were."""
    with pytest.raises(error):
        fake.set_readings(**changes)
    assert fake.readings == Readings()


def test_readings_are_given_at_construction_and_changed_later() -> None:
    """readings= at construction; fake.readings = ... and set_readings(...) later."""
    fake = FakeKashFlow(readings=Readings(rate_decimals=2))
    assert fake.readings.rate_decimals == 2
    fake.readings = attrs.evolve(fake.readings, not_found="empty_object")
    assert fake.set_readings(dropbox_connected=False) == Readings(
        rate_decimals=2, not_found="empty_object", dropbox_connected=False
    )


def test_alternatives_change_one_reading_each_from_the_defaults() -> None:
    """Readings.alternatives() holds the defaults and each reported reading, uniquely."""
    alternatives = Readings.alternatives()
    assert alternatives["default"] == Readings()
    assert len(set(alternatives.values())) == len(alternatives)


@pytest.mark.kashflow(readings={"not_found": "empty_object", "rate_decimals": 2})
def test_plugin_marker_sets_the_readings(kashflow_fake: FakeKashFlow) -> None:
    """@pytest.mark.kashflow(readings={...}) shapes the kashflow_fake fixture."""
    assert kashflow_fake.readings == Readings(not_found="empty_object", rate_decimals=2)


# -- not found ------------------------------------------------------------------------------

LOOKUPS = [
    ("GetReceipt", {"ReceiptNumber": 77}, "object"),
    ("GetInvoice", {"InvoiceNumber": 77}, "object"),
    ("GetSupplier", {"SupplierCode": "NOPE01"}, "object"),
    ("GetCustomer", {"CustomerCode": "NOPE01"}, "object"),
    ("GetReceiptPayment", {"ReceiptNumber": 77}, "array"),
    ("GetInvoicePayment", {"InvoiceNumber": 77}, "array"),
    ("GetReceiptsForSupplier", {"SupplierID": 5}, "array"),
    ("GetInvoicesForCustomer", {"CustID": 5}, "array"),
    ("GetReceiptAttachments", {"ReceiptID": 5}, "array"),
]


ID_NAMES = ("SupplierID", "CustomerID", "InvoiceDBID", "InvoiceNumber")


@pytest.mark.parametrize(("operation", "params", "shape"), LOOKUPS)
def test_not_found_as_status_no(
    probe: SoapProbe, operation: str, params: dict[str, Any], shape: str
) -> None:
    """not_found="status_no": Status NO, "There is no ...", no result."""
    element = answer(probe.send(operation, **params))
    assert element.findtext(f"{KF}Status") == "NO"
    assert element.findtext(f"{KF}StatusDetail", "").startswith("There is no ")
    result = element.find(f"{KF}{operation}Result")
    assert result is None or len(result) == 0


@pytest.mark.parametrize(("operation", "params", "shape"), LOOKUPS)
def test_not_found_as_empty_object(
    fake: FakeKashFlow, probe: SoapProbe, operation: str, params: dict[str, Any], shape: str
) -> None:
    """not_found="empty_object": Status OK with ids 0 and empty strings, or an empty array."""
    fake.set_readings(not_found="empty_object")
    element = answer(probe.send(operation, **params))
    assert (element.findtext(f"{KF}Status"), element.findtext(f"{KF}StatusDetail")) == ("OK", "")
    result = element.find(f"{KF}{operation}Result")
    assert result is not None
    if shape == "array":
        assert len(result) == 0
        return
    ids = [c for c in result if etree.QName(c).localname in ID_NAMES]
    assert ids and all(c.text == "0" for c in ids)
    texts = [c for c in result if etree.QName(c).localname in ("Code", "Name", "CustomerReference")]
    assert all(c.text is None for c in texts)


def test_empty_invoice_object_parses_as_zero_number_and_no_date(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """The empty receipt carries number 0, DBID 0 and the minimum .NET date, as zeep reads it."""
    fake.set_readings(not_found="empty_object")
    receipt = probe.call("GetReceipt", ReceiptNumber=77).GetReceiptResult
    assert (receipt.InvoiceNumber, receipt.InvoiceDBID, receipt.InvoiceDate.year) == (0, 0, 1)
    assert (receipt.NetAmount, receipt.Lines) == (Decimal(0), None)


def test_writes_naming_a_missing_document_still_refuse(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """Under empty_object a payment for receipt 77 is still Status NO: only lookups change."""
    fake.set_readings(not_found="empty_object")
    payment = {
        "PayID": 0,
        "PayInvoice": 77,
        "PayDate": ISSUED,
        "PayMethod": 1,
        "PayAccount": fake.bank_accounts[0].kashflow_id,
        "PayAmount": Decimal("1.00"),
    }
    result = probe.call("InsertReceiptPayment", ReceiptPayment=payment)
    assert (result.Status, result.StatusDetail) == ("NO", "There is no receipt with that number")


# -- rate precision and VAT -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("readings", "rate", "quantity", "stored_rate", "net"),
    [
        (Readings(), "33.3333", "3", "33.3333", "100.00"),
        (Readings(rate_decimals=2), "33.3333", "3", "33.33", "99.99"),
        (Readings(rate_decimals=2), "0.125", "1", "0.13", "0.13"),
        (Readings(rate_decimals=2, rounding="half_even"), "0.125", "1", "0.12", "0.12"),
        (Readings(rate_decimals=2, rounding="half_even"), "0.135", "1", "0.14", "0.14"),
        (Readings(rate_decimals=None), "1.234567", "2", "1.234567", "2.47"),
        (Readings(), "1.234567", "2", "1.2346", "2.47"),
    ],
)
def test_rate_is_kept_to_the_readings_decimals_and_net_follows(
    fake: FakeKashFlow,
    probe: SoapProbe,
    readings: Readings,
    rate: str,
    quantity: str,
    stored_rate: str,
    net: str,
) -> None:
    """The stored Rate is cut to rate_decimals as rounding says; the line net follows it."""
    fake.readings = readings
    line = probe.line(Quantity=Decimal(quantity), Rate=Decimal(rate), VatRate=Decimal(0))
    number = receipt_with(probe, fake, line)
    receipt = probe.call("GetReceipt", ReceiptNumber=number).GetReceiptResult
    assert (receipt.Lines.anyType[0].Rate, receipt.NetAmount) == (
        Decimal(stored_rate),
        Decimal(net),
    )


@pytest.mark.parametrize(("rate_decimals", "net"), [(4, Decimal("110.99")), (2, Decimal("111.00"))])
def test_three_awkward_lines_total_by_the_rate_reading(
    fake: FakeKashFlow, probe: SoapProbe, rate_decimals: int, net: Decimal
) -> None:
    """100.00 x3, 10.00 x7 and 0.99 x4 sent at 4-dp rates land as 110.99, or 111.00 at 2 dp."""
    fake.set_readings(rate_decimals=rate_decimals)
    lines = [
        probe.line(Quantity=Decimal(q), Rate=Decimal(r), VatRate=Decimal(0))
        for q, r in (("3", "33.3333"), ("7", "1.4286"), ("4", "0.2475"))
    ]
    number = receipt_with(probe, fake, *lines)
    receipt = fake.receipt(number)
    assert receipt is not None and receipt.net == net


@pytest.mark.parametrize(
    ("recompute_vat", "vat_rate", "sent_vat", "stored_vat"),
    [
        (False, "20", "19.99", "19.99"),
        (True, "20", "19.99", "20.00"),
        (True, "5", "9.99", "5.00"),
        (True, "-1", "3.00", "0.00"),
    ],
)
def test_vat_is_kept_or_recomputed_from_the_stored_line(
    fake: FakeKashFlow,
    probe: SoapProbe,
    recompute_vat: bool,
    vat_rate: str,
    sent_vat: str,
    stored_vat: str,
) -> None:
    """recompute_vat derives VAT as net x rate / 100 to the penny (0 when exempt)."""
    fake.set_readings(recompute_vat=recompute_vat, rate_decimals=2)
    line = probe.line(
        Quantity=Decimal(3),
        Rate=Decimal("33.3333"),
        VatRate=Decimal(vat_rate),
        VatAmount=Decimal(sent_vat),
    )
    number = receipt_with(probe, fake, line)
    receipt = probe.call("GetReceipt", ReceiptNumber=number).GetReceiptResult
    assert (receipt.Lines.anyType[0].VatAmount, receipt.VATAmount) == (
        Decimal(stored_vat),
        Decimal(stored_vat),
    )


# -- foreign currency -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reading", "currency", "flag", "rate", "vat"),
    [
        (False, "EUR", None, "100.00", "20.00"),
        (True, "EUR", 1, "100.00", "20.00"),
        (True, "EUR", None, "117.00", "23.40"),
        (True, "EUR", 0, "117.00", "23.40"),
        (True, "GBP", None, "100.00", "20.00"),
    ],
)
def test_values_in_currency_reading(
    fake: FakeKashFlow,
    probe: SoapProbe,
    reading: bool,
    currency: str,
    flag: int | None,
    rate: str,
    vat: str,
) -> None:
    """Honoured: a foreign line without ValuesInCurrency=1 is converted by the exchange rate."""
    fake.set_readings(values_in_currency=reading)
    line = probe.line(Rate=Decimal("100.00"), VatAmount=Decimal("20.00"), ValuesInCurrency=flag)
    exchange = Decimal("1.17") if currency == "EUR" else Decimal(1)
    number = receipt_with(probe, fake, line, CurrencyCode=currency, ExchangeRate=exchange)
    receipt = fake.receipt(number)
    assert receipt is not None
    assert (receipt.lines[0].rate, receipt.net, receipt.vat, receipt.currency) == (
        Decimal(rate),
        Decimal(rate),
        Decimal(vat),
        currency,
    )


def test_conversion_uses_the_currency_rate_when_the_document_gives_none(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """ExchangeRate 0 on the document: the account's rate for the currency (USD 1.27) applies."""
    fake.set_readings(values_in_currency=True)
    line = probe.line(Rate=Decimal("10.00"), VatAmount=Decimal("2.00"))
    number = receipt_with(probe, fake, line, CurrencyCode="USD", ExchangeRate=Decimal(0))
    receipt = fake.receipt(number)
    assert receipt is not None and (receipt.net, receipt.vat) == (
        Decimal("12.70"),
        Decimal("2.54"),
    )


# -- notes on success -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("success_note", "expected"),
    [(False, ""), (True, DEFAULT_SUCCESS_NOTE), ("There is no problem", "There is no problem")],
)
def test_success_note_on_every_ok_answer(
    fake: FakeKashFlow, probe: SoapProbe, success_note: bool | str, expected: str
) -> None:
    """OK answers carry the note (lists, lookups and writes alike); Status stays OK."""
    probe.call("GetSuppliers")  # a cached list answer must not outlive the reading
    fake.set_readings(success_note=success_note)
    for operation, params in (
        ("GetSuppliers", {}),
        ("GetReceiptsForSupplier", {"SupplierID": supplier_id(fake)}),
        ("AutoAuthIP", {"appName": "tests", "AutoAuthKey": fake.autoauth_key}),
    ):
        result = probe.call(operation, **params)
        assert (result.Status, result.StatusDetail or "") == ("OK", expected), operation


def test_refusals_keep_their_own_words_under_a_success_note(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """A Status NO answer says why it refused, not the note."""
    fake.set_readings(success_note=True)
    result = probe.call("GetReceipt", ReceiptNumber=77)
    assert (result.Status, result.StatusDetail) == ("NO", "There is no receipt with that number")


# -- contact codes --------------------------------------------------------------------------


def new_supplier(probe: SoapProbe, name: str, code: str | None) -> Any:
    return probe.call(
        "InsertSupplier",
        supl=probe.client.get_type("ns0:Supplier")(
            SupplierID=0,
            Code=code,
            Name=name,
            Created=ISSUED,
            Updated=ISSUED,
            EC=0,
            CurrencyID=0,
            PaymentTerms=0,
            TradeBorderType=0,
        ),
    )


def test_duplicate_supplier_code_is_refused_in_kashflows_words(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """A taken code (any case): Status NO "Error Inserting Supplier ...: ... not unique"."""
    result = new_supplier(probe, "Acme Twin Ltd", "acme01")
    assert (result.InsertSupplierResult, result.Status, result.StatusDetail) == (
        0,
        "NO",
        "Error Inserting Supplier Acme Twin Ltd: Supplier Code is not unique",
    )
    assert len(fake.suppliers) == 3


def test_supplier_without_a_code_gets_one_made_up(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """No Code: the fake makes one from the name, unique among the codes in use."""
    first = new_supplier(probe, "Acme Paper Ltd Branch", None)
    second = new_supplier(probe, "Acme Paper Ltd Branch", None)
    codes = [
        s.code
        for s in fake.suppliers
        if s.kashflow_id in (first.InsertSupplierResult, second.InsertSupplierResult)
    ]
    assert codes == ["ACMEPA01", "ACMEPA02"]


# -- Dropbox --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "number_param"),
    [("AttachFileToReceipt", "ReceiptNo"), ("AttachFileToInvoice", "InvoiceNo")],
)
def test_attachment_refused_without_dropbox_and_document_unchanged(
    fake: FakeKashFlow, probe: SoapProbe, operation: str, number_param: str
) -> None:
    """dropbox_connected=False: Status NO, nothing attached, the document as it was."""
    if operation == "AttachFileToReceipt":
        number = fake.add_receipt("ACME01", net=Decimal("10.00")).number
        before = fake.receipt(number)
    else:
        number = fake.add_invoice("BLOGGS01", net=Decimal("10.00")).number
        before = fake.invoice(number)
    fake.set_readings(dropbox_connected=False)
    result = probe.call(
        operation,
        **{number_param: number},
        Base64String=base64.b64encode(b"%PDF").decode(),
        Filename="inv.pdf",
    )
    assert (result.Status, result.StatusDetail) == (
        "NO",
        "Unable to upload the file: no Dropbox account is connected to this KashFlow account",
    )
    after = fake.receipt(number) if operation == "AttachFileToReceipt" else fake.invoice(number)
    assert fake.attachments == [] and after == before
