"""FakeKashFlow: credentials, the API switch, the IP access list and AutoAuthIP."""

from __future__ import annotations

from typing import Any

import pytest

from kashflow_sync.testing import STATUS_DETAILS, FakeKashFlow
from kashflow_sync.testing._probe import SoapProbe

KEY = "1234ABCD-1234"


@pytest.fixture
def fake_options() -> dict[str, Any]:
    return {"password": "s3cret-pw", "autoauth_key": KEY}


@pytest.fixture
def fake_access() -> tuple[str, ...]:
    """A fresh account: nothing in the access list."""
    return ()


def test_caller_ip_is_not_allowed_at_first(probe: SoapProbe) -> None:
    """A fresh account's access list is empty, so 127.0.0.1 is refused in-band."""
    response = probe.send("GetCurrencies")
    result = probe.read("GetCurrencies", response)
    assert response.status_code == 200
    assert (result.Status, result.StatusDetail) == (
        "NO",
        "The IP address of 127.0.0.1 is not in the access list",
    )
    assert result.GetCurrenciesResult is None


@pytest.mark.parametrize(
    ("username", "password"),
    [("demo", "wrong"), ("someone", "s3cret-pw"), ("", "")],
)
def test_wrong_credentials_are_refused_before_the_ip_check(
    probe: SoapProbe, username: str, password: str
) -> None:
    """Bad credentials answer exactly "Incorrect username or password"."""
    result = probe.call("GetCurrencies", UserName=username, Password=password)
    assert (result.Status, result.StatusDetail) == ("NO", "Incorrect username or password")


def test_username_is_case_insensitive(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """KashFlow user names are not case-sensitive; passwords are."""
    fake.allow_ip("127.0.0.1")
    assert probe.call("GetCurrencies", UserName="DEMO").Status == "OK"
    assert probe.call("GetCurrencies", Password="S3CRET-PW").Status == "NO"


def test_autoauthip_adds_the_caller_ip_with_the_app_name(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """AutoAuthIP with the right key allow-lists the caller, commented with appName."""
    result = probe.call("AutoAuthIP", appName="Acme Books", AutoAuthKey=KEY)
    assert (result.AutoAuthIPResult, result.Status) == (1, "OK")
    assert fake.allowed_ips == {"127.0.0.1": "Acme Books"}
    assert probe.call("GetCurrencies").Status == "OK"


@pytest.mark.parametrize(
    ("enabled", "key", "detail"),
    [
        (True, "0000AAAA-0000", STATUS_DETAILS["autoauth_bad_key"]),
        (True, "", STATUS_DETAILS["autoauth_bad_key"]),
        (False, KEY, STATUS_DETAILS["autoauth_disabled"]),
    ],
)
def test_autoauthip_refusals(
    fake: FakeKashFlow, probe: SoapProbe, enabled: bool, key: str, detail: str
) -> None:
    """A wrong key, or AutoAuth switched off, answers Status=NO and allows nothing."""
    fake.autoauth_enabled = enabled
    result = probe.call("AutoAuthIP", appName="Acme Books", AutoAuthKey=key)
    assert (result.AutoAuthIPResult, result.Status, result.StatusDetail) == (0, "NO", detail)
    assert fake.allowed_ips == {}


def test_autoauthip_still_checks_credentials(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """The key alone is not enough: the password must be right too."""
    result = probe.call("AutoAuthIP", Password="nope", appName="x", AutoAuthKey=KEY)
    assert result.StatusDetail == "Incorrect username or password"
    assert fake.allowed_ips == {}


def test_a_changed_egress_ip_is_refused_until_autoauth_again(
    fake: FakeKashFlow, probe: SoapProbe
) -> None:
    """Setting client_ip simulates a new egress address that the access list lacks."""
    probe.call("AutoAuthIP", appName="app", AutoAuthKey=KEY)
    fake.client_ip = "203.0.113.7"
    result = probe.call("GetSuppliers")
    assert result.StatusDetail == "The IP address of 203.0.113.7 is not in the access list"
    probe.call("AutoAuthIP", appName="app", AutoAuthKey=KEY)
    assert probe.call("GetSuppliers").Status == "OK"
    assert set(fake.allowed_ips) == {"127.0.0.1", "203.0.113.7"}


def test_api_switched_off_refuses_every_call(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """api_enabled=False answers Status=NO for everything, AutoAuthIP included."""
    fake.api_enabled = False
    fake.allow_ip("127.0.0.1")
    for operation, params in [("GetSuppliers", {}), ("AutoAuthIP", {"AutoAuthKey": KEY})]:
        result = probe.call(operation, **params)
        assert (result.Status, result.StatusDetail) == ("NO", STATUS_DETAILS["api_disabled"])


def test_ip_restriction_off_admits_any_caller(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """With KashFlow's "restrict to IP addresses" switched off, the list is not consulted."""
    fake.ip_restriction = False
    assert probe.call("GetSuppliers").Status == "OK"


def test_revoke_ip_takes_the_address_off_the_list(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """revoke_ip undoes allow_ip."""
    fake.allow_ip("127.0.0.1", "manual")
    fake.revoke_ip("127.0.0.1")
    assert probe.call("GetSuppliers").Status == "NO"


def test_recorded_params_never_hold_secrets(fake: FakeKashFlow, probe: SoapProbe) -> None:
    """Calls are recorded without UserName, Password or AutoAuthKey."""
    probe.call("AutoAuthIP", appName="Acme Books", AutoAuthKey=KEY)
    (call,) = fake.calls_to("AutoAuthIP")
    assert call.params == {"appName": "Acme Books"}
    assert (call.client_ip, call.http_status, call.status, call.fault) == (
        "127.0.0.1",
        200,
        "OK",
        None,
    )
    assert "s3cret-pw" not in repr(fake.calls) and KEY not in repr(fake.calls)


def test_credentials_and_repr(fake: FakeKashFlow) -> None:
    """fake.credentials logs in to the fake; repr never shows the password."""
    creds = fake.credentials
    assert (creds.username, creds.password, creds.autoauth_key) == ("demo", "s3cret-pw", KEY)
    assert "s3cret-pw" not in repr(fake) and KEY not in repr(fake)


def test_default_password_is_random() -> None:
    """Two fakes made without a password do not share one."""
    assert FakeKashFlow(seed=None).password != FakeKashFlow(seed=None).password
