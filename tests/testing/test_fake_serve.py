"""`kashflow-sync fake serve`, driven as another language would: plain HTTP, hand-built SOAP.

Nothing here imports kashflow_sync.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx
import pytest
from _served import ServedFake
from lxml import etree

SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"
KF = "{KashFlow}"


def envelope(operation: str, fields: str) -> bytes:
    """A SOAP 1.1 request written by hand, as a PHP or shell script would."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f'<soap:Body><{operation} xmlns="KashFlow">{fields}</{operation}></soap:Body>'
        "</soap:Envelope>"
    ).encode()


def soap(served: ServedFake, operation: str, fields: str = "", **credentials: str) -> Any:
    """Call *operation* with the served fake's credentials; the <OpResponse> element."""
    user = credentials.get("username", served.details["username"])
    password = credentials.get("password", served.details["password"])
    auth = f"<UserName>{escape(user)}</UserName><Password>{escape(password)}</Password>"
    response = served.http.post(
        served.url,
        content=envelope(operation, auth + fields),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f"KashFlow/{operation}"},
    )
    return etree.fromstring(response.content).find(f"{SOAP}Body")[0]


def status(answer: Any) -> tuple[str | None, str | None]:
    return answer.findtext(f"{KF}Status"), answer.findtext(f"{KF}StatusDetail")


def control(served: ServedFake, method: str, route: str, body: Any = None) -> Any:
    response = served.http.request(method, served.control + route, json=body)
    assert response.headers["content-type"].startswith("application/json")
    return response.status_code, response.json()


def auto_auth(served: ServedFake) -> None:
    key = served.details["autoauth_key"]
    fields = f"<appName>tests</appName><AutoAuthKey>{key}</AutoAuthKey>"
    assert status(soap(served, "AutoAuthIP", fields)) == ("OK", "")


RECEIPT = (
    "<Inv><InvoiceDBID>0</InvoiceDBID><InvoiceNumber>0</InvoiceNumber>"
    "<InvoiceDate>2026-11-02T00:00:00</InvoiceDate><DueDate>2026-11-02T00:00:00</DueDate>"
    "<CustomerID>{supplier}</CustomerID><Paid>0</Paid>"
    "<CustomerReference>SH-1</CustomerReference><SuppressTotal>0</SuppressTotal>"
    "<ProjectID>0</ProjectID><ExchangeRate>1</ExchangeRate>"
    '<Lines><anyType xsi:type="InvoiceLine"><Quantity>2</Quantity><Description>Ink</Description>'
    "<Rate>12.50</Rate><ChargeType>0</ChargeType><VatRate>20</VatRate>"
    "<VatAmount>5.00</VatAmount><ProductID>0</ProductID><Sort>1</Sort><ProjID>0</ProjID>"
    "<LineID>0</LineID></anyType></Lines>"
    "<NetAmount>0</NetAmount><VATAmount>0</VATAmount><AmountPaid>0</AmountPaid>"
    "<UseCustomDeliveryAddress>false</UseCustomDeliveryAddress>"
    '<CISRCNetAmount xsi:nil="true"/><CISRCVatAmount xsi:nil="true"/>'
    '<IsCISReverseCharge xsi:nil="true"/></Inv>'
)


def acme_id(served: ServedFake) -> int:
    _, suppliers = control(served, "GET", "suppliers")
    return int(next(s["kashflow_id"] for s in suppliers if s["code"] == "ACME01"))


# -- SOAP ----------------------------------------------------------------------------------


def test_wsdl_points_at_the_served_address(served: ServedFake) -> None:
    """GET ?WSDL answers the project's WSDL with the endpoint rewritten to the fake."""
    wsdl = served.http.get(served.details["wsdl"]).text
    assert f'location="{served.url}"' in wsdl and "securedwebapp.com" not in wsdl


def test_hand_built_soap_auto_auths_and_lists_suppliers(served: ServedFake) -> None:
    """A fresh account refuses the caller's IP until AutoAuthIP; then lists answer."""
    assert status(soap(served, "GetSuppliers"))[1] == (
        "The IP address of 127.0.0.1 is not in the access list"
    )
    auto_auth(served)
    answer = soap(served, "GetSuppliers")
    names = [s.findtext(f"{KF}Name") for s in answer.iter(f"{KF}Supplier")]
    assert "Acme Paper Ltd" in names


def test_hand_built_receipt_is_recorded_and_read_back_as_json(served: ServedFake) -> None:
    """InsertReceipt with an xsi:type line lands; /_fake/receipts shows it in SDK words."""
    auto_auth(served)
    answer = soap(served, "InsertReceipt", RECEIPT.format(supplier=acme_id(served)))
    assert status(answer) == ("OK", "") and answer.findtext(f"{KF}InsertReceiptResult") == "1"
    _, receipts = control(served, "GET", "receipts")
    (receipt,) = receipts
    assert (receipt["number"], receipt["reference"], receipt["net"], receipt["gross"]) == (
        1,
        "SH-1",
        "25.00",
        "30.00",
    )
    assert receipt["lines"][0]["description"] == "Ink"


def test_wrong_password_is_refused_in_kashflows_words(served: ServedFake) -> None:
    """Credentials are checked on every call, as KashFlow does."""
    answer = soap(served, "GetSuppliers", password="wrong")
    assert status(answer) == ("NO", "Incorrect username or password")


# -- the control API -------------------------------------------------------------------------


def test_index_lists_fault_kinds_with_their_options(served: ServedFake) -> None:
    """GET /_fake/ says where the fake is, its fault kinds and options, and its readings."""
    code, index = control(served, "GET", "")
    assert code == 200 and index["endpoint"] == served.url
    assert "apply_after" in index["fault_kinds"]["late_apply"]
    assert index["readings"]["not_found"] == "status_no"


def test_seed_adds_lists_seen_over_soap(served: ServedFake) -> None:
    """POST /_fake/seed adds suppliers (and other lists) to the running account."""
    code, added = control(
        served,
        "POST",
        "seed",
        {"suppliers": [{"name": "Northwind Traders", "code": "NORTH01"}], "vat_rates": ["17.5"]},
    )
    assert (code, added) == (200, {"added": {"suppliers": 1, "vat_rates": 1}})
    auto_auth(served)
    answer = soap(served, "GetSupplier", "<SupplierCode>NORTH01</SupplierCode>")
    assert answer.findtext(f"{KF}GetSupplierResult/{KF}Name") == "Northwind Traders"


def test_faults_are_injected_listed_and_cleared(served: ServedFake) -> None:
    """POST /_fake/faults queues a fault with the Python API's options; DELETE clears."""
    auto_auth(served)
    code, rules = control(
        served, "POST", "faults", {"kind": "http_error", "status": 503, "op": "GetSuppliers"}
    )
    assert code == 200 and rules[0]["kind"] == "http_error"
    response = served.http.post(
        served.url,
        content=envelope("GetSuppliers", ""),
        headers={"Content-Type": "text/xml", "SOAPAction": "KashFlow/GetSuppliers"},
    )
    assert response.status_code == 503
    _, faults = control(served, "GET", "faults")
    assert [f["kind"] for f in faults["fired"]] == ["http_error"]
    control(served, "POST", "faults", {"kind": "delay", "seconds": 0.01, "times": None})
    assert control(served, "DELETE", "faults")[0] == 200
    assert control(served, "GET", "faults")[1]["pending"] == []


def test_random_faults_take_a_rate(served: ServedFake) -> None:
    """A fault object with "rate" fires at random, seeded, with its kind's own options."""
    code, (rule,) = control(
        served,
        "POST",
        "faults",
        {"kind": "late_apply", "rate": 0.25, "seed": 3, "op": ["InsertReceipt"], "apply_after": 1},
    )
    assert code == 200
    assert (rule["probability"], rule["remaining"], rule["apply_after"]) == (0.25, None, 1.0)
    assert rule["operation"] == ["InsertReceipt"]


def test_late_write_lands_after_settle(served: ServedFake) -> None:
    """late_apply over HTTP: the client times out, /_fake/settle waits, the receipt is there."""
    auto_auth(served)
    control(
        served, "POST", "faults", {"kind": "late_apply", "apply_after": 0.2, "op": "InsertReceipt"}
    )
    with pytest.raises(httpx.ReadTimeout):
        served.http.post(
            served.url,
            content=envelope(
                "InsertReceipt",
                f"<UserName>demo</UserName><Password>{served.details['password']}</Password>"
                + RECEIPT.format(supplier=acme_id(served)),
            ),
            headers={"Content-Type": "text/xml", "SOAPAction": "KashFlow/InsertReceipt"},
            timeout=0.3,
        )
    assert control(served, "GET", "receipts")[1] == []
    code, late = control(served, "POST", "settle", {"timeout": 10})
    assert code == 200 and late[0]["state"] == "applied"
    assert len(control(served, "GET", "receipts")[1]) == 1


def test_readings_are_set_over_http(served: ServedFake) -> None:
    """POST /_fake/readings changes some readings; lookups then answer that way."""
    auto_auth(served)
    code, readings = control(served, "POST", "readings", {"not_found": "empty_object"})
    assert code == 200 and readings["not_found"] == "empty_object"
    answer = soap(served, "GetReceipt", "<ReceiptNumber>999</ReceiptNumber>")
    assert status(answer) == ("OK", "")
    assert answer.findtext(f"{KF}GetReceiptResult/{KF}InvoiceNumber") == "0"


def test_ips_are_allowed_and_dropped(served: ServedFake) -> None:
    """POST /_fake/ips allows an address; DELETE /_fake/ips/{ip} drops it."""
    code, ips = control(served, "POST", "ips", {"ip": "127.0.0.1", "comment": "ci"})
    assert (code, ips) == (200, {"127.0.0.1": "ci"})
    assert status(soap(served, "GetVATRates"))[0] == "OK"
    assert control(served, "DELETE", "ips/127.0.0.1") == (200, {})
    assert status(soap(served, "GetVATRates"))[0] == "NO"


def test_settings_switch_echo_secrets(served: ServedFake) -> None:
    """POST /_fake/settings turns on a KashFlow that echoes the password in refusals."""
    auto_auth(served)
    control(served, "POST", "settings", {"echo_secrets": True})
    detail = status(soap(served, "GetReceipt", "<ReceiptNumber>999</ReceiptNumber>"))[1]
    assert served.details["password"] in (detail or "")


def test_request_log_payments_and_attachments_read_back(served: ServedFake) -> None:
    """/_fake/calls, /payments and /attachments hold what was sent, without the password."""
    auto_auth(served)
    soap(served, "InsertReceipt", RECEIPT.format(supplier=acme_id(served)))
    soap(
        served,
        "AttachFileToReceipt",
        "<ReceiptNo>1</ReceiptNo><Base64String>aGk=</Base64String><Filename>a.txt</Filename>",
    )
    _, attachments = control(served, "GET", "attachments")
    assert [(a["filename"], a["content"]) for a in attachments] == [("a.txt", "aGk=")]
    assert control(served, "GET", "payments")[1] == []
    _, calls = control(served, "GET", "calls")
    assert [c["operation"] for c in calls] == ["AutoAuthIP", "InsertReceipt", "AttachFileToReceipt"]
    assert served.details["password"] not in json.dumps(calls)


@pytest.mark.parametrize(
    ("method", "route", "body", "code"),
    [
        ("GET", "nothing-here", None, 404),
        ("POST", "faults", {"kind": "meteor"}, 400),
        ("POST", "faults", {"kind": "http_error", "colour": "red"}, 400),
        ("POST", "readings", {"rate_decimals": 9}, 400),
        ("POST", "settings", {"api_enabled": "maybe"}, 400),
        ("POST", "seed", {"planets": []}, 400),
        ("DELETE", "receipts", None, 405),
    ],
)
def test_control_errors_are_json_with_a_status(
    served: ServedFake, method: str, route: str, body: Any, code: int
) -> None:
    """Unknown routes, kinds, options and values answer JSON {"error": ...} with 4xx."""
    got, data = control(served, method, route, body)
    assert got == code and data["error"]


# -- the process ------------------------------------------------------------------------------


def test_serve_with_a_seed_file_then_sigterm_stops_cleanly(tmp_path: Path) -> None:
    """--seed FILE.json seeds the account; SIGTERM exits 0, says so, and frees the port."""
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "suppliers": [{"name": "Seeded Supplies", "code": "SEED01"}],
                "nominal_codes": [{"code": 7100, "name": "Rent and rates"}],
                "receipts": [{"supplier": "SEED01", "net": "10.00", "nominal_code": 7100}],
            }
        )
    )
    served = ServedFake("--seed", str(seed), "--username", "ci", "--password", "pw")
    port = int(served.url.split(":")[2].split("/")[0])
    assert served.details["username"] == "ci"
    _, suppliers = control(served, "GET", "suppliers")
    assert [s["name"] for s in suppliers] == ["Seeded Supplies"]
    assert control(served, "GET", "receipts")[1][0]["net"] == "10.00"
    code, err = served.stop()
    assert code == 0 and "stopped" in err and "Traceback" not in err
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_unreadable_seed_file_is_a_usage_error(tmp_path: Path) -> None:
    """A seed file that does not exist: exit 2 with a one-line reason."""
    import subprocess

    from _served import serve_command

    done = subprocess.run(
        serve_command("--seed", str(tmp_path / "missing.json")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "cannot read seed file" in done.stderr
    assert "Traceback" not in done.stderr
