"""Answer size: too-large answers are a typed error after one fetch; KashFlow's words are cut.

Peak memory under a 1 GB gzip bomb is measured in a subprocess (``ru_maxrss`` sees what lxml
and zlib allocate outside Python's heap), and a list of 100,000 customers still syncs under a
limit set for it.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import kashflow_sync as kfs
from _clients import KINDS, any_client
from _support import purchase
from kashflow_sync import errors
from kashflow_sync._config import DEFAULT_MAX_ANSWER_BYTES, MAX_DETAIL_CHARS
from kashflow_sync.testing import FakeKashFlow

LIMIT = 1_000_000


@pytest.mark.parametrize("fault", ["oversized", "gzip_bomb"])
@pytest.mark.parametrize("kind", KINDS)
def test_answer_over_the_limit_is_answer_too_large_after_one_fetch(
    kind: str, fault: str, fake: FakeKashFlow
) -> None:
    """A padded or gzip-bombed list answer past the limit: ProtocolError, never retried."""
    with any_client(kind, fake, max_answer_bytes=LIMIT) as client:
        client.connect()
        getattr(fake.faults, fault)(LIMIT * 5, op="GetVATRates", times=None)
        with pytest.raises(errors.ProtocolError) as info:
            client.refresh_lists(["vat_rates"])
    error = info.value
    assert (error.code, error.retryable, error.operation) == (
        "answer_too_large",
        False,
        "GetVATRates",
    )
    assert "max_answer_bytes" in error.remedy
    assert ("once expanded" in error.message) is (fault == "gzip_bomb")
    assert len(fake.calls_to("GetVATRates")) == 2  # connect's sync, then exactly one fetch


@pytest.mark.parametrize("kind", KINDS)
def test_answer_just_under_the_limit_is_read(kind: str, fake: FakeKashFlow) -> None:
    """The limit is a limit, not a guess: a padded answer below it reads normally."""
    with any_client(kind, fake, max_answer_bytes=LIMIT) as client:
        client.connect()
        fake.faults.gzip_bomb(LIMIT - 1000, op="GetVATRates")
        report = client.refresh_lists(["vat_rates"])
    assert report["vat_rates"].unchanged > 0


@pytest.mark.parametrize("limit", [0, -1, 1.5, True])
@pytest.mark.parametrize("client_class", [kfs.KashFlowClient, kfs.AsyncKashFlowClient])
def test_max_answer_bytes_must_be_a_positive_int(
    client_class: type[kfs.KashFlowClient], limit: object, fake: FakeKashFlow
) -> None:
    """A limit that is not a positive whole number of bytes is refused when a client is built."""
    with pytest.raises(ValueError, match="max_answer_bytes"):
        client_class(fake.credentials, endpoint=fake.url, max_answer_bytes=limit)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", KINDS)
def test_huge_status_detail_is_cut_in_the_error(kind: str, fake: FakeKashFlow) -> None:
    """A 2 MB StatusDetail refusing a create ends up as at most 500 characters, marked cut."""
    with any_client(kind, fake) as client:
        client.connect()
        fake.faults.huge_status_detail(2_000_000, op="InsertReceipt")
        with pytest.raises(errors.RejectedError) as info:
            client.publish(purchase(1, attach=False, pay=False))
    error = info.value
    assert error.detail is not None and error.detail.endswith("…")
    assert len(error.detail) <= MAX_DETAIL_CHARS + 1
    assert len(str(error)) < 2 * MAX_DETAIL_CHARS + 200
    assert len(fake.receipts) == 0


@pytest.mark.parametrize("part", ["faultstring", "detail"])
@pytest.mark.parametrize("kind", KINDS)
def test_huge_soap_fault_is_cut_in_the_error(kind: str, part: str, fake: FakeKashFlow) -> None:
    """A 2 MB fault string is cut; a 2 MB fault <detail> never reaches the error at all."""
    with any_client(kind, fake) as client:
        client.connect()
        fake.faults.huge_fault(2_000_000, op="GetVATRates", part=part, times=None)  # type: ignore[arg-type]
        with pytest.raises(errors.TransientError) as info:
            client.refresh_lists(["vat_rates"])
    error = info.value
    assert error.code == "server_fault"
    assert len(error.detail or "") <= MAX_DETAIL_CHARS + 1
    assert len(str(error)) + len(repr(error)) < 4 * MAX_DETAIL_CHARS


def _answer_size(caplog: pytest.LogCaptureFixture, operation: str) -> int:
    # The exchange logs each answer at DEBUG: (operation, status, bytes, ms).
    (size,) = [r.args[2] for r in caplog.records if r.args and r.args[0] == operation]
    return int(size)  # type: ignore[call-overload]


def test_20k_customers_with_addresses_sync_under_the_default_limit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """connect() syncs 20,000 customers with address, delivery address, contact and notes."""
    fake = FakeKashFlow()
    for i in range(20_000):
        fake.add_customer(f"Riverside Garden Centre {i:05d} Ltd", f"RG{i:05d}", **_FULL_CUSTOMER)
    with caplog.at_level(logging.DEBUG, "kashflow_sync"), any_client("sync", fake) as client:
        report = client.connect()
    assert report["customers"].added == len(fake.customers) > 20_000
    size = _answer_size(caplog, "GetCustomers")
    assert 30_000_000 < size < DEFAULT_MAX_ANSWER_BYTES  # measured: 41.6 MB


def test_100k_customers_sync_under_a_raised_limit(caplog: pytest.LogCaptureFixture) -> None:
    """An account bigger than the default allows syncs once max_answer_bytes is raised."""
    fake = FakeKashFlow()
    fake.seed_bulk(suppliers=0, customers=100_000, nominal_codes=0)
    raised = 2 * DEFAULT_MAX_ANSWER_BYTES
    with (
        caplog.at_level(logging.DEBUG, "kashflow_sync"),
        any_client("sync", fake, max_answer_bytes=raised) as client,
    ):
        report = client.connect()
    assert report["customers"].added == len(fake.customers) >= 100_000
    assert DEFAULT_MAX_ANSWER_BYTES < _answer_size(caplog, "GetCustomers") < raised  # 84.5 MB


_FULL_CUSTOMER = {
    "email": "accounts@riverside-garden.example.co.uk",
    "vat_number": "GB123456789",
    "Contact": "Margaret Featherstonehaugh",
    "Telephone": "+44 113 496 0000",
    "Mobile": "+44 7700 900000",
    "Fax": "+44 113 496 0001",
    "Address1": "Unit 7, Riverside Business Park",
    "Address2": "Kirkstall Road",
    "Address3": "Leeds",
    "Address4": "West Yorkshire",
    "CountryName": "United Kingdom",
    "CountryCode": "GB",
    "Postcode": "LS3 1AB",
    "Website": "https://www.riverside-garden.example.co.uk",
    "Notes": "Payment by BACS within 30 days of invoice; quote the PO number on every invoice.",
    "ContactTitle": "Mrs",
    "ContactFirstName": "Margaret",
    "ContactLastName": "Featherstonehaugh",
    "CustHasDeliveryAddress": 1,
    "DeliveryAddress1": "Unit 7, Riverside Business Park",
    "DeliveryAddress2": "Kirkstall Road",
    "DeliveryAddress3": "Leeds",
    "DeliveryAddress4": "West Yorkshire",
    "DeliveryCountryName": "United Kingdom",
    "DeliveryCountryCode": "GB",
    "DeliveryPostcode": "LS3 1AB",
}


_BOMB_PROBE = textwrap.dedent(
    """
    import json, resource, sys, time
    sys.path.insert(0, {tests!r})
    from _support import make_client
    from kashflow_sync import errors
    from kashflow_sync.testing import FakeKashFlow

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    fake = FakeKashFlow()
    out = {{}}
    # "warm-up": the fake compresses its bomb once per process (a 1 MiB limit costs nothing);
    # then a small limit and the default one.
    runs = (("warm-up", 1024 * 1024), ("small", 32 * 1024 * 1024), ("default", None))
    for name, limit in runs:
        kw = {{}} if limit is None else {{"max_answer_bytes": limit}}
        with make_client(fake, **kw) as client:
            client.connect()
            fake.reset_calls()
            fake.faults.gzip_bomb(10**9, op="GetVATRates", times=None)
            before = peak_mb()
            started = time.monotonic()
            try:
                client.refresh_lists(["vat_rates"])
                code = None
            except errors.ProtocolError as exc:
                code = exc.code
            out[name] = {{
                "code": code,
                "seconds": time.monotonic() - started,
                "growth_mb": peak_mb() - before,
                "fetches": len(fake.calls_to("GetVATRates")),
            }}
            fake.faults.clear()
    print(json.dumps(out))
    """
)


def test_gzip_bomb_of_1gb_fails_fast_with_memory_bounded_whatever_the_limit() -> None:
    """A 1 MB gzip expanding to 1 GB of comment: refused after one fetch, in a few MB.

    The parser gives up once 4 MiB pass without the tree growing, long before either limit:
    the memory it costs no longer grows with ``max_answer_bytes``.
    """
    tests = str(Path(__file__).parents[1])
    proc = subprocess.run(
        [sys.executable, "-c", _BOMB_PROBE.format(tests=tests)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    runs = json.loads(proc.stdout.strip().splitlines()[-1])
    for name in ("small", "default"):
        run = runs[name]
        assert (run["code"], run["fetches"]) == ("implausible_answer", 1), run
        assert run["growth_mb"] < 32, run
        assert run["seconds"] < 15, run
