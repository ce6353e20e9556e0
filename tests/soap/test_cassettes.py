"""Recorded SOAP traffic (vcrpy through pytest-recording) with every credential scrubbed.

The committed cassette ``cassettes/test_cassettes/connect.yaml`` holds a full ``connect()``
(AutoAuthIP and every list call) against the fake KashFlow. It replays with record mode
``none`` and no fake running; requests match on method, path and (scrubbed) body, so the
host and port it was recorded on do not matter. To record it again::

    pytest tests/test_cassettes.py --record-mode=rewrite

KashFlow sends the username and password as ordinary body elements of every request (and the
AutoAuth key in ``AutoAuthIP``), so scrubbing headers is not enough: ``scrub_request`` rewrites
the text of every ``UserName``, ``Password`` and ``AutoAuthKey`` element to ``REDACTED``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import vcr as vcrpy
import yaml
from lxml import etree

import kashflow_sync as kfs
from kashflow_sync._account.items import LIST_NAMES
from kashflow_sync.testing import FakeKashFlow

CASSETTES = Path(__file__).parent / "cassettes"
CONNECT_CASSETTE = CASSETTES / "test_cassettes" / "connect.yaml"

#: What the recording fake is given, so the committed files can be checked for them.
RECORDING_PASSWORD = "cassette-Pa55word-never-recorded"
RECORDING_KEY = "5EC2E7AB-4242"
REDACTED = "REDACTED"
SECRET_ELEMENTS = frozenset({"UserName", "Password", "AutoAuthKey"})
SECRET_HEADERS = ["authorization", "cookie", "set-cookie", "x-api-key"]


def scrub_body(body: bytes | str | None) -> bytes | str | None:
    """*body* with the text of every UserName, Password and AutoAuthKey element replaced."""
    if not body:
        return body
    raw = body.encode() if isinstance(body, str) else body
    try:
        root = etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        # Not XML (an error page): scrub anything that looks like one of the elements anyway.
        text = raw.decode("utf-8", "replace")
        for name in SECRET_ELEMENTS:
            text = re.sub(
                rf"(<(?:[\w.-]+:)?{name}\b[^>]*>)(.*?)(</(?:[\w.-]+:)?{name}>)",
                rf"\g<1>{REDACTED}\g<3>",
                text,
                flags=re.S,
            )
        scrubbed = text.encode()
    else:
        secret = [
            e
            for e in root.iter()
            if isinstance(e.tag, str) and etree.QName(e).localname in SECRET_ELEMENTS
        ]
        if not secret:
            return body
        for element in secret:
            element.text = REDACTED
        scrubbed = etree.tostring(root, encoding="utf-8", xml_declaration=True)
    return scrubbed.decode() if isinstance(body, str) else scrubbed


def scrub_request(request: Any) -> Any:
    """vcrpy ``before_record_request``: scrub the body (headers go through filter_headers)."""
    request.body = scrub_body(request.body)
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """vcrpy ``before_record_response``: no secret headers, and scrubbed XML bodies."""
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in SECRET_HEADERS:
            del headers[name]
    body = response.get("body", {})
    if isinstance(body, dict) and body.get("string"):
        body["string"] = scrub_body(body["string"])
    return response


VCR_CONFIG: dict[str, Any] = {
    "filter_headers": SECRET_HEADERS,
    "before_record_request": scrub_request,
    "before_record_response": scrub_response,
    "match_on": ["method", "path", "body"],
    "decode_compressed_response": True,
}


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    """pytest-recording's configuration for this module: scrub, match on path and body.

    The record mode is left to pytest-recording: ``none`` unless ``--record-mode`` is given.
    """
    return dict(VCR_CONFIG)


def recorded_url(cassette: Path) -> str:
    """The endpoint the cassette was recorded against (its first request's URI)."""
    data = yaml.safe_load(cassette.read_text())
    uri: str = data["interactions"][0]["request"]["uri"]
    return uri


def _connect(endpoint: str, credentials: kfs.Credentials) -> kfs.SyncReport:
    with kfs.KashFlowClient(
        credentials, app_name="cassette", endpoint=endpoint, retry=kfs.RetryPolicy.no_wait()
    ) as client:
        return client.connect()


@pytest.fixture
def connect_target(record_mode: str) -> Iterator[tuple[str, kfs.Credentials]]:
    """Where to connect: a live fake when recording, else the cassette's URL and dummy secrets."""
    if record_mode != "none":
        with FakeKashFlow.serve(password=RECORDING_PASSWORD, autoauth_key=RECORDING_KEY) as fake:
            yield fake.url, fake.credentials
        return
    # Replaying: no fake runs; the scrubbed bodies match whatever secrets are sent.
    yield (
        recorded_url(CONNECT_CASSETTE),
        kfs.Credentials("demo", "any-password", autoauth_key="0000AAAA-0000"),
    )


@pytest.mark.default_cassette("connect")
@pytest.mark.vcr
def test_connect_replays_without_the_fake(connect_target: tuple[str, kfs.Credentials]) -> None:
    """A full connect() replays from the committed cassette with no fake KashFlow running."""
    endpoint, credentials = connect_target
    report = _connect(endpoint, credentials)
    assert report["suppliers"].added == 3
    assert report["nominal_codes"].added == 10
    assert set(report.lists) == set(LIST_NAMES)


def test_recording_a_live_fake_scrubs_credentials(tmp_path: Path) -> None:
    """Recording a connect against a live fake writes no password, key or username value."""
    cassette = tmp_path / "live.yaml"
    recorder = vcrpy.VCR(**{**VCR_CONFIG, "record_mode": "all"})
    with FakeKashFlow.serve(password=RECORDING_PASSWORD, autoauth_key=RECORDING_KEY) as fake:
        with recorder.use_cassette(str(cassette)):
            _connect(fake.url, fake.credentials)
        password, key = fake.password, fake.autoauth_key
    text = cassette.read_text()
    assert "AutoAuthIP" in text
    assert password not in text
    assert key is not None and key not in text
    assert "<ns0:UserName>demo<" not in text


def _cassette_files() -> list[Path]:
    return sorted(p for p in CASSETTES.rglob("*") if p.suffix in {".yaml", ".yml", ".json"})


def test_there_is_a_committed_cassette() -> None:
    """The connect cassette is committed, so the replay test never needs the network."""
    assert CONNECT_CASSETTE in _cassette_files()


@pytest.mark.parametrize("path", _cassette_files(), ids=lambda p: p.name)
def test_committed_cassettes_hold_no_credentials(path: Path) -> None:
    """No committed cassette holds the recording fake's password or key, in any header or body."""
    text = path.read_text()
    assert RECORDING_PASSWORD not in text
    assert RECORDING_KEY not in text
    for interaction in yaml.safe_load(text)["interactions"]:
        request = interaction["request"]
        for name in request.get("headers", {}):
            assert name.lower() not in SECRET_HEADERS
        body = request.get("body") or ""
        for name in SECRET_ELEMENTS:
            for value in re.findall(rf"<(?:[\w.-]+:)?{name}>(.*?)</", str(body), flags=re.S):
                assert value == REDACTED, f"{name} not scrubbed in {path.name}"


SOAP_WITH_SECRETS = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">'
    '<soap-env:Body><ns0:AutoAuthIP xmlns:ns0="KashFlow">'
    "<ns0:UserName>jane</ns0:UserName><ns0:Password>hunter2-secret</ns0:Password>"
    "<ns0:appName>Acme Books</ns0:appName><ns0:AutoAuthKey>1234ABCD-1234</ns0:AutoAuthKey>"
    "</ns0:AutoAuthIP></soap-env:Body></soap-env:Envelope>"
)


@pytest.mark.parametrize("body", [SOAP_WITH_SECRETS, SOAP_WITH_SECRETS.encode()])
def test_scrub_body_removes_every_credential(body: str | bytes) -> None:
    """Scrubbing a request body replaces username, password and key, keeping the rest."""
    scrubbed = scrub_body(body)
    assert type(scrubbed) is type(body)
    text = scrubbed.decode() if isinstance(scrubbed, bytes) else str(scrubbed)
    for secret in ("jane", "hunter2-secret", "1234ABCD-1234"):
        assert secret not in text
    assert text.count(REDACTED) == 3
    assert "Acme Books" in text


def test_scrub_body_handles_non_xml() -> None:
    """A body that is not well-formed XML is still scrubbed."""
    broken = "<Password>hunter2-secret</Password><oops"
    assert "hunter2-secret" not in str(scrub_body(broken))


def test_scrub_request_filters_headers_through_vcr_config() -> None:
    """Authorization-style headers are dropped by the vcr configuration."""
    assert {"authorization", "cookie"} <= set(VCR_CONFIG["filter_headers"])
