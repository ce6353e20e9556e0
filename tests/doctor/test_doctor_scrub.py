"""Doctor's scrubber over hostile bodies: nothing secret or personal survives, whatever the shape.

Every body is scrubbed whole and cut short (a truncated answer is not well-formed XML), and the
result is searched for every secret and personal value, escaped or not.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from kashflow_sync._doctor.record import REDACTED, Scrubber
from kashflow_sync.soap import codec, operations
from kashflow_sync.testing import FakeKashFlow

SECRET = "s3cret-Pa55"
KEY = "AA11-KEY-77"
USER = "Northwind Books Ltd"
IP, IP6 = "203.0.113.9", "2001:db8::7"
PERSONAL = ("Jane Doe Plumbing", "JANE01", "jane@doe.example", "1 Mill Lane", "07700 900123")
PRIVATE = (SECRET, KEY, USER, IP, IP6, *PERSONAL)

SUPPLIER = (
    "<Supplier><SupplierID>7</SupplierID><Code>JANE01</Code><Name>Jane Doe Plumbing</Name>"
    "<Email>jane@doe.example</Email><Address1>1 Mill Lane</Address1>"
    "<Mobile>07700 900123</Mobile><PaymentTerms>30</PaymentTerms></Supplier>"
)


def answer(supplier: str = SUPPLIER, detail: str = "") -> str:
    """A GetSuppliers answer holding *supplier*, with *detail* as its StatusDetail."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        f'<GetSuppliersResponse xmlns="KashFlow"><GetSuppliersResult>{supplier}'
        f"</GetSuppliersResult><Status>OK</Status><StatusDetail>{detail}</StatusDetail>"
        "</GetSuppliersResponse></soap:Body></soap:Envelope>"
    )


def _in(supplier: str, old: str, new: str) -> str:
    assert old in supplier
    return supplier.replace(old, new)


#: Bodies KashFlow, a proxy or IIS could send, each hiding private values somewhere new.
HOSTILE = {
    "tail after an inline element": answer(
        detail=f"Login <b>refused</b> for {SECRET} from {IP} ({IP6}) as {USER}"
    ),
    "markup inside a personal element": answer(
        _in(SUPPLIER, "<Name>Jane Doe Plumbing</Name>", "<Name><b>Jane Doe Plumbing</b></Name>")
    ),
    "text beside a contact's fields": answer(
        _in(SUPPLIER, "<SupplierID>", "Jane Doe Plumbing, 07700 900123<SupplierID>")
    ),
    "comments": answer(
        _in(SUPPLIER, "<Code>", f"<!-- Jane Doe Plumbing {SECRET} --><Code>"),
        f"<!-- {KEY} from {IP} as {USER} -->",
    ),
    "CDATA sections": answer(
        _in(
            SUPPLIER, "<Name>Jane Doe Plumbing</Name>", "<Name><![CDATA[Jane Doe Plumbing]]></Name>"
        ),
        f"<![CDATA[<b>refused</b> {SECRET} from {IP}]]>",
    ),
    "attributes": answer(
        _in(SUPPLIER, "<Supplier>", f'<Supplier note="{SECRET} from {IP}" by="{USER}">')
    ),
    # A quote left open (closed by one in a name, then one in a later tag) must not turn the
    # elements between into one attribute's value.
    "an attribute's quote left open": answer()
    .replace("<GetSuppliersResult>", '<GetSuppliersResult note="left open>')
    .replace("Plumbing</Name>", 'Plumbing "the best</Name>')
    .replace("<Status>", f'<Status by="{USER}">'),
    "escaped text": answer(
        _in(SUPPLIER, "Jane Doe Plumbing", "Jane&#32;Doe Plumbing"),
        f"{SECRET.replace('-', '&#45;')} &amp; {KEY.replace('-', '&#x2D;')} from {IP}",
    ),
    "an HTML error page": (
        "<!DOCTYPE html><html><head><title>500 - Internal server error</title></head><body>"
        f"<h1>Server Error</h1><p>Login <b>refused</b> for {SECRET} from {IP}<br/>"
        f"user <i>{USER}</i> key {KEY}</p></body></html>"
    ),
}


def truncated(body: str) -> str:
    """*body* cut off inside its last end tag, as a dropped connection leaves it."""
    return body[: body.rindex("</") + 3]


SHAPES: dict[str, Callable[[str], str]] = {"whole": lambda body: body, "truncated": truncated}


def leaks(scrubbed: str, private: tuple[str, ...] = PRIVATE) -> list[str]:
    """The private values still in *scrubbed*, as written or once its escapes are read."""
    readable = html.unescape(scrubbed)
    return [value for value in private if value in scrubbed or value in readable]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("case", HOSTILE)
def test_no_secret_or_personal_value_survives_a_hostile_body(case: str, shape: str) -> None:
    """Tails, nested markup, comments, CDATA, attributes, escapes, HTML: nothing private left."""
    body = SHAPES[shape](HOSTILE[case])
    assert leaks(body) != []  # the case does hold private values to find
    scrubbed = str(Scrubber((SECRET, KEY), USER).body(body))
    assert leaks(scrubbed) == []


@pytest.mark.parametrize("shape", SHAPES)
def test_ids_dates_and_terms_stay_in_a_scrubbed_answer(shape: str) -> None:
    """Scrubbing is not blanking: a contact's id and terms and the answer's status stay."""
    scrubbed = str(Scrubber((SECRET,), USER).body(SHAPES[shape](HOSTILE["comments"])))
    for kept in ("<SupplierID>7</SupplierID>", "<PaymentTerms>30</PaymentTerms>", ">OK<"):
        assert kept in scrubbed


def test_a_body_cut_inside_a_personal_value_keeps_no_part_of_it() -> None:
    """Truncated in the middle of a supplier's name: the half that came is masked too."""
    body = answer()
    scrubbed = str(Scrubber(()).body(body[: body.index("Plumbing") + 3]))
    assert "Jane" not in scrubbed and scrubbed.endswith(f"<Name>{REDACTED}")


def test_a_truncated_answer_keeps_its_truncation() -> None:
    """The cassette shows the answer was cut short: nothing is closed or added."""
    body = truncated(answer())
    scrubbed = str(Scrubber(()).body(body))
    assert scrubbed.endswith(body[-40:]) and "</soap:Envelope>" not in scrubbed


def test_bytes_in_bytes_out() -> None:
    """A body read as bytes is written back as bytes, truncated or not."""
    for shape in SHAPES.values():
        scrubbed = Scrubber((SECRET, KEY), USER).body(shape(HOSTILE["comments"]).encode())
        assert isinstance(scrubbed, bytes) and leaks(scrubbed.decode()) == []


# ------------------------------------------------------- bodies of every call carrying contacts

CONTACT = ("Jane Doe Plumbing", "JANE01", "jane@doe.example", "1 Mill Lane", "07700 900123")
CUSTOMER = ("Joe Bloggs Kitchens", "BLOGGS9", "joe@bloggs.example", "2 High Street", "GB999")
#: Contacts the SDK creates (the account does not hold them yet, so KashFlow takes them).
NEW_SUPPLIER, NEW_CUSTOMER = ("Janet Doe Builders", "JANET01"), ("Jo Bloggs Bakes", "JOBAKE1")
BANK = "Jane Doe Personal Saver"
PROJECT = ("Doe kitchen refit", "DOE-REF-7", "Mrs Doe's kitchen")


@pytest.fixture(scope="module")
def account() -> FakeKashFlow:
    """A demo account holding a supplier, a customer, a bank account and a project of people."""
    fake = FakeKashFlow()
    fake.allow_ip(fake.client_ip)
    name, code, email, street, mobile = CONTACT
    fake.add_supplier(name, code, email=email, Address1=street, Mobile=mobile)
    name, code, email, street, vat = CUSTOMER
    fake.add_customer(name, code, email=email, Address1=street, vat_number=vat)
    fake.add_bank_account(BANK, 1200)
    fake.add_project(77, PROJECT[0], reference=PROJECT[1], description=PROJECT[2])
    return fake


#: Every call whose request or answer carries a contact's, bank account's or project's data.
CALLS: dict[str, Callable[[], codec.Request[Any]]] = {
    "InsertSupplier": lambda: operations.insert_contact("purchase", *NEW_SUPPLIER),
    "InsertCustomer": lambda: operations.insert_contact("sales", *NEW_CUSTOMER),
    "GetSupplier": lambda: operations.find_contact("purchase", CONTACT[1]),
    "GetCustomer": lambda: operations.find_contact("sales", CUSTOMER[1]),
    "GetSuppliers": lambda: operations.fetch_list("suppliers"),
    "GetCustomers": lambda: operations.fetch_list("customers"),
    "GetCustomersModifiedSince": lambda: operations.customers_modified_since(datetime(2000, 1, 1)),
    "GetBankAccounts": lambda: operations.fetch_list("bank_accounts"),
    "GetProjects_Full": lambda: operations.fetch_list("projects"),
}


@pytest.mark.parametrize("operation", CALLS)
def test_every_call_carrying_people_is_scrubbed_both_ways(
    operation: str, account: FakeKashFlow
) -> None:
    """The request and the answer of each such call, as the SDK and the fake write them."""
    request = CALLS[operation]()
    assert request.operation == operation
    envelope = codec.encode(request, account.credentials)
    with account.http_client() as http:
        reply = http.post(account.url, content=envelope.content, headers=envelope.headers)
    assert b"<Status>OK</Status>" in reply.content, reply.text
    private = (*CONTACT, *CUSTOMER, *NEW_SUPPLIER, *NEW_CUSTOMER, BANK, *PROJECT)
    sent, received = envelope.content.decode(), reply.text
    assert leaks(sent + received, private) != []  # the call does carry some of them
    scrubber = Scrubber(account.credentials.secrets, account.username)
    assert leaks(str(scrubber.body(sent)), private) == []
    assert leaks(str(scrubber.body(received)), private) == []
