"""FakeKashFlow: list operations, contact lookups and inserts, rendering speed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from _probing import soap_probe
from lxml import etree

from kashflow_sync.testing import STATUS_DETAILS, FakeKashFlow
from kashflow_sync.testing._fake.schema import load_model
from kashflow_sync.testing._probe import SoapProbe

SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"
KF = "{KashFlow}"

#: operation -> (result item element, what the demo account has)
LIST_OPERATIONS = {
    "GetCurrencies": ("Currencies", 3),
    "GetNominalCodesExtended": ("NominalCodeExtended", 10),
    "GetSuppliers": ("Supplier", 3),
    "GetCustomers": ("Customer", 2),
    "GetInvPayMethods": ("PaymentMethod", 4),
    "GetRecPayMethods": ("PaymentMethod", 4),
    "GetBankAccounts": ("BankAccount", 2),
    "GetVATRates": ("BasicDataset", 4),
}


class Clock:
    """A settable clock for Created/Updated stamps."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 9, 0, 0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake_options(clock: Clock) -> dict[str, Any]:
    return {"clock": clock}


@pytest.fixture
def empty() -> FakeKashFlow:
    return FakeKashFlow(seed=None)


@pytest.fixture
def empty_probe(empty: FakeKashFlow) -> Iterator[SoapProbe]:
    empty.allow_ip("127.0.0.1")
    with soap_probe(empty) as probe:
        yield probe


def result_element(response: httpx.Response, operation: str) -> etree._Element:
    """The <operationResult> element, after checking the response against the schema."""
    envelope = etree.fromstring(response.content)
    (answer,) = envelope.find(f"{SOAP}Body")
    assert load_model().validate(answer) is None
    found = answer.find(f"{KF}{operation}Result")
    assert found is not None
    return found


@pytest.mark.parametrize(("operation", "expected"), LIST_OPERATIONS.items())
def test_list_operations_answer_every_item(
    probe: SoapProbe, operation: str, expected: tuple[str, int]
) -> None:
    """Each list operation returns the demo account's items, schema-valid, Status OK."""
    item, count = expected
    response = probe.send(operation)
    items = result_element(response, operation)
    assert [local.tag for local in items] == [f"{KF}{item}"] * count
    assert probe.read(operation, response).Status == "OK"


@pytest.mark.parametrize("operation", ["GetSuppliers", "GetCustomers", "GetBankAccounts"])
def test_empty_lists_render_an_empty_result_element(empty_probe: SoapProbe, operation: str) -> None:
    """An empty list is a present, empty <XResult /> with Status OK."""
    response = empty_probe.send(operation)
    assert f"<{operation}Result /><Status>OK</Status><StatusDetail />" in response.text


def test_one_supplier_renders_in_wsdl_order(empty: FakeKashFlow, empty_probe: SoapProbe) -> None:
    """A single supplier carries every required element, in the WSDL's order."""
    empty.add_supplier("Solo Ltd", "SOLO01", Address1="1 Road")
    supplier = result_element(empty_probe.send("GetSuppliers"), "GetSuppliers")[0]
    names = [etree.QName(child).localname for child in supplier]
    assert names == [
        "SupplierID",
        "Code",
        "Name",
        "Address1",
        "Created",
        "Updated",
        "EC",
        "CurrencyID",
        "PaymentTerms",
        "TradeBorderType",
    ]


def test_vat_rates_are_basic_datasets(probe: SoapProbe) -> None:
    """VAT rates come as BasicDataset: Name and Description "20%", Value 20."""
    rates = probe.call("GetVATRates").GetVATRatesResult.BasicDataset
    assert [(r.Name, r.Description, r.Value) for r in rates] == [
        ("20%", "20%", Decimal(20)),
        ("5%", "5%", Decimal(5)),
        ("0%", "0%", Decimal(0)),
        ("N/A", "N/A", Decimal(-1)),
    ]


def test_empty_account_still_has_vat_rates_and_gbp(empty_probe: SoapProbe) -> None:
    """seed=None keeps what every KashFlow account has: VAT rates and GBP."""
    assert len(empty_probe.call("GetVATRates").GetVATRatesResult.BasicDataset) == 4
    (gbp,) = empty_probe.call("GetCurrencies").GetCurrenciesResult.Currencies
    assert (gbp.CurrencyCode, gbp.isDefault) == ("GBP", 1)


def test_nominal_ids_differ_from_codes_and_archived_is_flagged(probe: SoapProbe) -> None:
    """Internal ids are not the visible codes; the archived code says so."""
    codes = probe.call("GetNominalCodesExtended").GetNominalCodesExtendedResult
    rows = {c.Code: c for c in codes.NominalCodeExtended}
    assert all(c.id != code for code, c in rows.items())
    assert (rows[7500].Name, rows[7500].ClassificationID) == ("Printing postage and stationery", 3)
    assert rows[7500].ClassificationName == "Expense"
    assert [code for code, c in rows.items() if c.Archived] == [8200]


def test_renamed_and_archived_codes_show_on_the_next_call(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """Ledger changes invalidate the cached list answer."""
    probe.call("GetNominalCodesExtended")
    fake.rename_nominal_code(7400, "Travel and subsistence")
    fake.archive_nominal_code(7502)
    codes = probe.call("GetNominalCodesExtended").GetNominalCodesExtendedResult
    rows = {c.Code: c for c in codes.NominalCodeExtended}
    assert rows[7400].Name == "Travel and subsistence"
    assert rows[7502].Archived is True


@pytest.mark.parametrize(("status", "numbers"), [(-1, [1, 2, 3]), (0, [2]), (1, [1]), (2, [3])])
def test_projects_full_filters_by_status(probe: SoapProbe, status: int, numbers: list[int]) -> None:
    """ProjStatus -1 is all, 0 completed, 1 active, 2 archived."""
    projects = probe.call("GetProjects_Full", ProjStatus=status).GetProjects_FullResult
    assert [p.Number for p in projects.Project] == numbers


@pytest.mark.parametrize(
    ("operation", "param", "value", "name"),
    [
        ("GetSupplier", "SupplierCode", "ACME01", "Acme Paper Ltd"),
        ("GetSupplier", "SupplierCode", "acme01", "Acme Paper Ltd"),
        ("GetCustomer", "CustomerCode", "BLOGGS01", "Bloggs & Co"),
    ],
)
def test_lookup_by_code(
    probe: SoapProbe, operation: str, param: str, value: str, name: str
) -> None:
    """GetSupplier/GetCustomer find a contact by its code."""
    result = probe.call(operation, **{param: value})
    assert (result.Status, getattr(result, f"{operation}Result").Name) == ("OK", name)


@pytest.mark.parametrize(
    ("operation", "param", "detail"),
    [
        ("GetSupplier", "SupplierCode", "There is no supplier with that code"),
        ("GetCustomer", "CustomerCode", "There is no customer with that code"),
    ],
)
def test_lookup_of_an_unknown_code_is_status_no(
    probe: SoapProbe, operation: str, param: str, detail: str
) -> None:
    """Not found is Status=NO with no result element."""
    result = probe.call(operation, **{param: "NOPE99"})
    assert (result.Status, result.StatusDetail) == ("NO", detail)
    assert getattr(result, f"{operation}Result") is None


def test_customers_modified_since(fake: FakeKashFlow, probe: SoapProbe, clock: Clock) -> None:
    """GetCustomersModifiedSince returns customers whose Updated is at or after the time."""
    clock.now += timedelta(days=1)
    since = clock.now
    fake.update_customer("SMITH01", email="new@smith.example")
    changed = probe.call("GetCustomersModifiedSince", ModifiedSince=since)
    assert [c.Code for c in changed.GetCustomersModifiedSinceResult.Customer] == ["SMITH01"]
    assert changed.GetCustomersModifiedSinceResult.Customer[0].Email == "new@smith.example"


def test_insert_supplier_generates_a_unique_code(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """InsertSupplier returns the new SupplierID and makes a code from the name."""
    supplier_type = probe.client.get_type("ns0:Supplier")
    ids = []
    for _ in range(2):
        supl = supplier_type(
            SupplierID=0,
            Name="New Vendor Ltd",
            Created=datetime(2026, 1, 1),
            Updated=datetime(2026, 1, 1),
            EC=0,
            CurrencyID=0,
            PaymentTerms=14,
            TradeBorderType=0,
            Email="ap@vendor.example",
        )
        result = probe.call("InsertSupplier", supl=supl)
        assert result.Status == "OK"
        ids.append(result.InsertSupplierResult)
    records = [s for s in fake.suppliers if s.supplier_id in ids]
    assert [r.code for r in records] == ["NEWVEN01", "NEWVEN02"]
    assert (records[0].email, records[0].payment_terms) == ("ap@vendor.example", 14)
    fetched = probe.call("GetSupplier", SupplierCode="NEWVEN01").GetSupplierResult
    assert (fetched.SupplierID, fetched.Email) == (ids[0], "ap@vendor.example")


@pytest.mark.parametrize(
    ("name", "code", "detail"),
    [
        ("", None, STATUS_DETAILS["customer_name_required"]),
        ("Twin Ltd", "BLOGGS01", "Error Inserting Customer Twin Ltd: Customer Code is not unique"),
    ],
)
def test_insert_customer_refusals(
    fake: FakeKashFlow, probe: SoapProbe, name: str, code: str | None, detail: str
) -> None:
    """An empty name or a taken code is Status=NO, result 0, nothing stored."""
    custr = probe.client.get_type("ns0:Customer")(
        CustomerID=0,
        Code=code,
        Name=name,
        EC=0,
        OutsideEC=0,
        Source=0,
        Discount=0,
        ShowDiscount=False,
        PaymentTerms=0,
        Created=datetime(2026, 1, 1),
        Updated=datetime(2026, 1, 1),
        CurrencyID=0,
        **{f"CheckBox{i}": 0 for i in range(1, 21)},
    )
    result = probe.call("InsertCustomer", custr=custr)
    assert (result.InsertCustomerResult, result.Status, result.StatusDetail) == (0, "NO", detail)
    assert len(fake.customers) == 2


def test_removed_supplier_disappears_from_the_list(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """remove_supplier deletes by name or code."""
    fake.remove_supplier("City Rail Ltd")
    suppliers = probe.call("GetSuppliers").GetSuppliersResult.Supplier
    assert [s.Code for s in suppliers] == ["ACME01", "OFFICE01"]


def test_seeding_helpers_reject_duplicates(fake: FakeKashFlow) -> None:
    """Helpers raise ValueError where KashFlow would refuse."""
    with pytest.raises(ValueError, match="Supplier Code is not unique"):
        fake.add_supplier("Acme again", "acme01")
    with pytest.raises(ValueError, match="exists already"):
        fake.add_nominal_code(7500, "Dup")


def test_twenty_thousand_suppliers_render_correctly() -> None:
    """seed_bulk is quick and 20,000 suppliers come back complete (timings are printed)."""
    fake = FakeKashFlow(seed=None)
    started = time.perf_counter()
    fake.seed_bulk(suppliers=20000, customers=20000, nominal_codes=1000)
    seeded = time.perf_counter() - started
    fake.allow_ip("127.0.0.1")
    http = httpx.Client(transport=fake.transport())
    probe = SoapProbe(fake.url, http, username=fake.username, password=fake.password)
    timings = {}
    for operation in ("GetSuppliers", "GetCustomers"):
        started = time.perf_counter()
        first = probe.send(operation)
        timings[operation] = time.perf_counter() - started
        started = time.perf_counter()
        again = probe.send(operation)
        timings[operation + " (cached)"] = time.perf_counter() - started
        assert again.content == first.content
        items = etree.fromstring(first.content).find(f"{SOAP}Body")[0][0]
        assert len(items) == 20000
    http.close()
    print(f"\nseed_bulk {seeded:.3f}s; " + "; ".join(f"{k} {v:.3f}s" for k, v in timings.items()))
    assert len(fake.nominal_codes) == 1000


def test_update_customer_can_change_the_code(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """A new code is found by GetCustomer; the old one is gone; a taken one is refused."""
    fake.update_customer("SMITH01", code="SMITH99")
    assert probe.call("GetCustomer", CustomerCode="SMITH99").Status == "OK"
    assert probe.call("GetCustomer", CustomerCode="SMITH01").Status == "NO"
    with pytest.raises(ValueError, match="Customer Code is not unique"):
        fake.update_customer("SMITH99", code="BLOGGS01")


def test_seed_bulk_names_and_codes_contacts_by_kind() -> None:
    """seed_bulk makes BS00001 "Bulk Supplier 00001"... and BC00001 "Bulk Customer 00001"..."""
    fake = FakeKashFlow(seed=None)
    fake.seed_bulk(suppliers=2, customers=3, nominal_codes=0)
    assert [(s.code, s.name) for s in fake.suppliers] == [
        ("BS00001", "Bulk Supplier 00001"),
        ("BS00002", "Bulk Supplier 00002"),
    ]
    assert [(c.code, c.name) for c in fake.customers] == [
        ("BC00001", "Bulk Customer 00001"),
        ("BC00002", "Bulk Customer 00002"),
        ("BC00003", "Bulk Customer 00003"),
    ]
    assert fake.find_customer("bc00003") == fake.customers[-1]
