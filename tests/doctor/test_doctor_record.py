"""``doctor --record DIR`` and ``--json``: evidence for a bug report with nothing private in it."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml

from kashflow_sync import cli
from kashflow_sync._doctor.record import REDACTED, Scrubber
from kashflow_sync._retry import skip_waits
from kashflow_sync.testing import FakeKashFlow, Readings

PASSWORD = "Doctor-Pa55word-never-recorded"
KEY = "5EC2E7AB-4242"
#: The account's user name: KashFlow user names are often the company's name.
COMPANY = "Northwind Books Ltd"
#: Contact data the demo account holds (names, codes, e-mails, addresses, phones, VAT number).
CONTACT_DATA = (
    "Acme Paper Ltd",
    "ACME01",
    "accounts@acmepaper.example",
    "1 Mill Lane",
    "LS1 1AA",
    "GB123456789",
    "Bloggs &amp; Co",
    "Bloggs & Co",
    "BLOGGS01",
    "joe@bloggs.example",
    "2 High Street",
    "M1 2BB",
    "Smith Widgets Ltd",
    "Office Supplies Co",
    "Website redesign",
)


#: A bank account named after its holder, as small businesses' often are.
BANK_ACCOUNT = "J Doe personal saver"


@pytest.fixture
def hostile() -> FakeKashFlow:
    """A fake that repeats the caller's secrets in every refusal, with a company user name."""
    with FakeKashFlow.serve(
        username=COMPANY, password=PASSWORD, autoauth_key=KEY, echo_secrets=True
    ) as fake:
        fake.allow_ip("127.0.0.1")
        fake.add_supplier(
            "Jane Doe Plumbing", "JANE01", email="jane@doe.example", Mobile="07700 900123"
        )
        fake.add_bank_account(BANK_ACCOUNT, 1200)
        yield fake


def run_recorded(
    fake: FakeKashFlow,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str, str]:
    """Run doctor --probe-writes --json --record; return (exit code, stdout, cassette text)."""
    monkeypatch.setenv(cli.ENV_USERNAME, fake.username)
    monkeypatch.setenv(cli.ENV_PASSWORD, fake.password)
    monkeypatch.setenv(cli.ENV_AUTOAUTH_KEY, fake.autoauth_key or "")
    folder = tmp_path / "evidence"
    argv = ["doctor", "--probe-writes", "--yes", "--json", "--record", str(folder)]
    argv += ["--endpoint", fake.url, "--db", f"sqlite:///{tmp_path / 'kf.db'}"]
    with skip_waits():  # the command builds its own clients: their retries must not sleep
        code = cli.main(argv)
    out = capsys.readouterr().out
    [cassette] = list(folder.glob("*.yaml"))
    return code, out, cassette.read_text()


def recorded_text(cassette: str) -> str:
    """Every string the cassette holds, read back from its YAML: a raw search of the file
    misses a value YAML folded across two lines ("J\\n        Doe personal saver")."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(key)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, bytes):
            found.append(node.decode("utf-8", "replace"))
        elif node is not None:
            found.append(str(node))

    walk(yaml.safe_load(cassette))
    text = "\n".join(found)
    return f"{text}\n{html.unescape(text)}"


PRIVATE = (
    PASSWORD,
    KEY,
    COMPANY,
    *CONTACT_DATA,
    "Jane Doe",
    "jane@doe.example",
    "07700 900123",
    BANK_ACCOUNT,
)


def test_cassette_and_json_hold_no_secret_company_or_contact_data(
    hostile: FakeKashFlow,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Neither the cassette nor the JSON report holds a password, key, company or contact data."""
    # A refusal in KashFlow's words (which the hostile fake follows with the credentials),
    # and an error page, both on their way into the report and the cassette.
    hostile.readings = Readings(dropbox_connected=False)
    hostile.faults.http_error(status=500, op="DeleteSupplier")
    code, out, cassette = run_recorded(hostile, tmp_path, monkeypatch, capsys)
    assert code == cli.EXIT_FAILED  # the supplier is left: its delete failed
    assert "Dropbox" in json.loads(out)["facts"]["attachment_refusal"]
    recorded = recorded_text(cassette)
    assert "<AccountName>REDACTED</AccountName>" in recorded  # the bank accounts were fetched
    for private in PRIVATE:
        # In any case: the hostile fake echoes the secrets upper-cased too.
        assert private.casefold() not in out.casefold(), f"{private!r} in the JSON report"
        assert private.casefold() not in recorded.casefold(), f"{private!r} in the cassette"


def rewrite_answers(
    fake: FakeKashFlow, monkeypatch: pytest.MonkeyPatch, operation: str, rewrite: Any
) -> None:
    """Pass the fake's answers to *operation* through *rewrite* (their body as text)."""
    app = fake._app
    handle = app.handle

    def hostile_handle(**request: Any) -> Any:
        reply = handle(**request)
        action = (request.get("soap_action") or "").strip('"').rpartition("/")[2]
        if action != operation or not reply.body:
            return reply
        return attrs.evolve(reply, body=rewrite(reply.body.decode()).encode())

    monkeypatch.setattr(app, "handle", hostile_handle)


IP = "203.0.113.9"
SHOUT = f"{PASSWORD} {KEY} from {IP} as {COMPANY}"


def _cut(body: str) -> str:
    return body[: body.index("</soap:Body>")]


#: GetSuppliers answers as a hostile or broken server could send them.
HOSTILE_ANSWERS = {
    "cut before </soap:Body>": _cut,
    "text after an inline element": lambda body: body.replace(
        "</GetSuppliersResult>", f"</GetSuppliersResult><Note>Login <b>refused</b> {SHOUT}</Note>"
    ),
    "comments": lambda body: body.replace(
        "<Supplier>", f"<Supplier><!-- {SHOUT}, Jane Doe Plumbing -->"
    ),
    "CDATA, cut short": lambda body: _cut(
        re.sub(r"<Name>(.*?)</Name>", r"<Name><![CDATA[\1]]></Name>", body)
    ),
    "attributes": lambda body: body.replace("<Supplier>", f'<Supplier note="{SHOUT}">'),
    "an HTML error page": lambda _body: (
        "<html><head><title>Runtime Error</title></head><body><h1>Server Error</h1>"
        f"<p>Login <b>refused</b> {SHOUT}<br/>key <i>{KEY}</i> password {PASSWORD}</p>"
        "</body></html>"
    ),
}


@pytest.mark.parametrize("hostile_answer", HOSTILE_ANSWERS)
def test_hostile_answers_leave_nothing_private_in_the_cassette_or_the_report(
    hostile: FakeKashFlow,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    hostile_answer: str,
) -> None:
    """The supplier list comes back truncated, commented, as an error page...: nothing leaks."""
    rewrite_answers(hostile, monkeypatch, "GetSuppliers", HOSTILE_ANSWERS[hostile_answer])
    _code, out, cassette = run_recorded(hostile, tmp_path, monkeypatch, capsys)
    recorded = recorded_text(cassette)
    assert "GetSuppliers" in recorded
    json.loads(out)
    for private in (*PRIVATE, IP):
        assert private not in out, f"{private!r} in the JSON report"
        assert private not in recorded, f"{private!r} in the cassette"


def test_cassette_records_the_whole_session(
    hostile: FakeKashFlow,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every request the fake received is in the cassette, with credentials as REDACTED."""
    _code, out, cassette = run_recorded(hostile, tmp_path, monkeypatch, capsys)
    interactions = yaml.safe_load(cassette)["interactions"]
    assert len(interactions) == len(hostile.calls)
    assert json.loads(out)["cassette"].endswith(".yaml")
    for interaction in interactions:
        body = str(interaction["request"]["body"])
        for name in ("UserName", "Password"):
            assert re.findall(rf"<(?:\w+:)?{name}>(.*?)</", body) == [REDACTED]


def test_record_into_an_unwritable_place_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--record naming a file, not a folder, exits 2 before anything is sent."""
    monkeypatch.setenv(cli.ENV_USERNAME, "demo")
    monkeypatch.setenv(cli.ENV_PASSWORD, "x")
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = cli.main(["doctor", "--record", str(blocker / "sub"), "--db", f"sqlite:///{tmp_path}/d"])
    assert code == cli.EXIT_USAGE
    [line] = capsys.readouterr().err.splitlines()
    assert "record_unavailable" in line


# ---------------------------------------------------------------------------- the scrubber

SUPPLIERS_ANSWER = (
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    '<GetSuppliersResponse xmlns="KashFlow"><GetSuppliersResult><Supplier>'
    "<SupplierID>7</SupplierID><Code>ACME01</Code><Name>Acme Paper Ltd</Name>"
    "<Email>a@acme.example</Email><Address1>1 Mill Lane</Address1>"
    "<Created>2026-11-02T10:15:00</Created><PaymentTerms>30</PaymentTerms>"
    "<CheckBox1>0</CheckBox1></Supplier></GetSuppliersResult><Status>OK</Status>"
    "<StatusDetail>The IP address of 203.0.113.9 is not in the access list</StatusDetail>"
    "</GetSuppliersResponse></soap:Body></soap:Envelope>"
)


def test_scrubber_masks_contact_fields_and_keeps_ids_dates_and_terms() -> None:
    """A supplier's code, name, e-mail and address go; its id, dates and terms stay."""
    text = str(Scrubber(()).body(SUPPLIERS_ANSWER))
    for private in ("ACME01", "Acme Paper Ltd", "a@acme.example", "1 Mill Lane", "203.0.113.9"):
        assert private not in text
    for kept in ("<SupplierID>7<", "2026-11-02T10:15:00", "<PaymentTerms>30<", "<CheckBox1>0<"):
        assert kept in text


def test_scrubber_masks_secrets_and_username_in_any_text() -> None:
    """Secrets anywhere, and the user name as a word of its own, are masked."""
    scrubber = Scrubber(("s3cret-pass",), "acme")
    assert scrubber.text("user acme sent s3cret-pass") == f"user {REDACTED} sent {REDACTED}"
    assert scrubber.text("acmepaper stays") == "acmepaper stays"
    assert scrubber.text("KashFlow said S3CRET-PASS") == f"KashFlow said {REDACTED}"


def test_scrubber_leaves_json_identifiers_alone() -> None:
    """A one-letter password cannot garble codes and verdicts in the JSON report."""
    scrubber = Scrubber(("o",))
    data = {"outcome": "problem", "verdict": "confirmed", "summary": "no"}
    assert scrubber.json(data) == {
        "outcome": "problem",
        "verdict": "confirmed",
        "summary": f"n{REDACTED}",
    }


def test_scrubber_scrubs_non_xml_bodies() -> None:
    """An error page that is not XML still loses its credentials."""
    scrubbed = str(Scrubber(("hunter2",)).body("<Password>hunter2</Password><oops"))
    assert "hunter2" not in scrubbed
