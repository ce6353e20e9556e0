"""FakeKashFlow: the SOAP 1.1 envelope, SOAPAction and schema checks ASMX applies."""

from __future__ import annotations

import httpx
import pytest
from lxml import etree

from kashflow_sync.testing import ENDPOINT_PATH, FakeKashFlow
from kashflow_sync.testing._fake.schema import load_model
from kashflow_sync.testing._probe import SoapProbe

SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"


def fault_of(response: httpx.Response) -> tuple[str, str]:
    """(faultcode, faultstring) of a SOAP 1.1 fault response."""
    fault = etree.fromstring(response.content).find(f"{SOAP}Body/{SOAP}Fault")
    assert fault is not None
    return fault.findtext("faultcode") or "", fault.findtext("faultstring") or ""


def test_every_wsdl_operation_is_served(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """All 38 WSDL operations are handled (none answers a server fault)."""
    operations = load_model().operations
    assert len(operations) == 38
    values = {"int": 1, "string": "X", "dateTime": "2026-01-01T00:00:00", "decimal": "1"}
    for operation in operations:
        spec = load_model().elements[operation]
        params = {
            f.name: values[f.type_name]
            for f in spec.fields
            if f.min_occurs and f.type_name in values
        }
        response = probe.send(operation, **params)
        assert response.status_code == 200, operation
        answer = etree.fromstring(response.content).find(f"{SOAP}Body")[0]
        assert etree.QName(answer).localname == f"{operation}Response"
        assert load_model().validate(answer) is None, operation
    assert fake.errors == []


def test_response_envelope_is_asmx_shaped(probe: SoapProbe) -> None:
    """Declaration, soap/xsi/xsd prefixes, default namespace KashFlow, text/xml."""
    response = probe.send("GetBankAccounts")
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.text.startswith(
        '<?xml version="1.0" encoding="utf-8"?><soap:Envelope '
        'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body>'
        '<GetBankAccountsResponse xmlns="KashFlow"><GetBankAccountsResult><BankAccount>'
    )


@pytest.mark.parametrize(
    ("body", "action", "content_type", "fault"),
    [
        (b"<not xml", '"KashFlow/GetSuppliers"', None, "There is an error in XML document"),
        (b"<a/>", '"KashFlow/GetSuppliers"', None, "is not a SOAP 1.1 Envelope"),
        (None, '"KashFlow/Nope"', None, "Server did not recognize the value of HTTP Header"),
        (None, '"KashFlow/GetCustomers"', None, "was not expected"),
        (None, None, None, "Please supply a valid soap action"),
        (None, "KashFlow/GetSuppliers", "application/soap+xml", "is not text/xml"),
    ],
)
def test_unreadable_requests_get_a_client_fault(
    fake: FakeKashFlow,
    probe: SoapProbe,
    body: bytes | None,
    action: str | None,
    content_type: str | None,
    fault: str,
) -> None:
    """Bad XML, envelope, SOAPAction or Content-Type: HTTP 500 soap:Client, nothing done."""
    payload = body if body is not None else probe.envelope("GetSuppliers")
    response = probe.post(payload, action, content_type or "text/xml; charset=utf-8")
    assert response.status_code == 500
    code, text = fault_of(response)
    assert code == "soap:Client" and fault in text


def test_unquoted_soapaction_is_accepted(probe: SoapProbe) -> None:
    """SOAPAction quotes are optional."""
    response = probe.post(probe.envelope("GetSuppliers"), "KashFlow/GetSuppliers")
    assert probe.read("GetSuppliers", response).Status == "OK"


def test_schema_invalid_request_is_a_fault_and_not_applied(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """A request breaking the schema (text in an int) is refused before it is applied."""
    body = probe.envelope("GetReceipt", ReceiptNumber=1).replace(
        b">1</ns0:ReceiptNumber>", b">one</ns0:ReceiptNumber>"
    )
    response = probe.post(body, '"KashFlow/GetReceipt"')
    assert response.status_code == 500
    code, text = fault_of(response)
    assert code == "soap:Client"
    assert text.startswith("Server was unable to read request. ---> ")
    assert "ReceiptNumber" in text
    (call,) = fake.calls
    assert (call.operation, call.http_status, call.status) == ("GetReceipt", 500, None)


def test_missing_required_element_is_a_fault(probe: SoapProbe) -> None:
    """Dropping a minOccurs=1 element fails schema validation."""
    body = probe.envelope("GetProjects_Full", ProjStatus=1).replace(
        b"<ns0:ProjStatus>1</ns0:ProjStatus>", b""
    )
    response = probe.post(body, '"KashFlow/GetProjects_Full"')
    assert response.status_code == 500
    assert "ProjStatus" in fault_of(response)[1]


def test_hand_written_envelope_with_default_namespace(fake: FakeKashFlow) -> None:
    """A KashFlow-docs style envelope (xmlns="KashFlow", xsi:type="InvoiceLine") works."""
    supplier = fake.find_supplier("ACME01")
    assert supplier is not None
    body = f"""<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soap:Body><InsertReceipt xmlns="KashFlow"><UserName>demo</UserName>
<Password>{fake.password}</Password><Inv><InvoiceDBID>0</InvoiceDBID>
<InvoiceNumber>0</InvoiceNumber><InvoiceDate>2026-11-02T00:00:00</InvoiceDate>
<DueDate>2026-12-02T00:00:00</DueDate><CustomerID>{supplier.supplier_id}</CustomerID>
<Paid>0</Paid><SuppressTotal>0</SuppressTotal><ProjectID>0</ProjectID>
<ExchangeRate>1</ExchangeRate><Lines><anyType xsi:type="InvoiceLine"><Quantity>1</Quantity>
<Rate>10.00</Rate><ChargeType>0</ChargeType><VatRate>20</VatRate><VatAmount>2.00</VatAmount>
<ProductID>0</ProductID><Sort>1</Sort><ProjID>0</ProjID><LineID>0</LineID></anyType></Lines>
<NetAmount>0</NetAmount><VATAmount>0</VATAmount><AmountPaid>0</AmountPaid>
<UseCustomDeliveryAddress>false</UseCustomDeliveryAddress>
<CISRCNetAmount xsi:nil="true"/><CISRCVatAmount xsi:nil="true"/>
<IsCISReverseCharge xsi:nil="true"/></Inv></InsertReceipt></soap:Body></soap:Envelope>"""
    with httpx.Client(transport=fake.transport()) as http:
        response = http.post(
            fake.url,
            content=body.encode(),
            headers={
                "Content-Type": "text/xml; charset=utf-8",
                "SOAPAction": "KashFlow/InsertReceipt",
            },
        )
    assert "<InsertReceiptResult>1</InsertReceiptResult><Status>OK</Status>" in response.text
    assert fake.receipts[0].net_amount == 10


def test_wsdl_is_served_pointing_at_the_fake(fake: FakeKashFlow) -> None:
    """GET ?WSDL returns the service description with the fake's own address."""
    with httpx.Client(transport=fake.transport()) as http:
        response = http.get(fake.wsdl_url)
    assert response.status_code == 200
    assert f'location="{fake.url}"' in response.text


def test_other_paths_are_not_found(fake: FakeKashFlow) -> None:
    """Only /api/service.asmx exists."""
    with httpx.Client(transport=fake.transport()) as http:
        response = http.post(fake.url.replace(ENDPOINT_PATH, "/api/other.asmx"), content=b"")
    assert response.status_code == 404
    assert fake.calls == []


def test_async_transport(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """The async transport serves the same answers."""
    import asyncio

    async def run() -> httpx.Response:
        async with httpx.AsyncClient(transport=fake.async_transport()) as client:
            return await client.post(
                fake.url,
                content=probe.envelope("GetVATRates"),
                headers={
                    "Content-Type": "text/xml; charset=utf-8",
                    "SOAPAction": "KashFlow/GetVATRates",
                },
            )

    response = asyncio.run(run())
    assert probe.read("GetVATRates", response).Status == "OK"


def test_date_only_in_a_datetime_field_is_a_fault(probe: SoapProbe) -> None:
    """The fake holds clients to the WSDL: a bare date where it says xsd:dateTime is refused.

    Whether real KashFlow (.NET) would take it is not documented, so the SDK sends full
    datetimes and the fake makes sure it keeps doing so.
    """
    body = probe.envelope("GetCustomersModifiedSince", ModifiedSince="2020-01-01T00:00:00")
    body = body.replace(b">2020-01-01T00:00:00<", b">2020-01-01<")
    assert probe.post(body, "KashFlow/GetCustomersModifiedSince").status_code == 500


def test_a_date_that_is_not_a_date_is_a_fault(probe: SoapProbe) -> None:
    """An impossible date (2026-13-45) is refused."""
    body = probe.envelope("GetCustomersModifiedSince", ModifiedSince="2020-01-01T00:00:00")
    body = body.replace(b">2020-01-01T00:00:00<", b">2026-13-45<")
    assert probe.post(body, "KashFlow/GetCustomersModifiedSince").status_code == 500
