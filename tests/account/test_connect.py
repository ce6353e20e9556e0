"""Connecting: AutoAuth over real loopback HTTP, and each error class from the fake's answers."""

from __future__ import annotations

import logging

import httpx
import pytest

import kashflow_sync as kfs
from _support import make_client
from kashflow_sync import errors
from kashflow_sync.soap import operations
from kashflow_sync.testing import FakeKashFlow


def test_connect_over_loopback_adds_ip_with_app_name(served_fake: FakeKashFlow) -> None:
    """connect() calls AutoAuthIP, KashFlow lists our IP with the app name, lists sync."""
    with httpx.Client() as http, make_client(served_fake, http, app_name="Acme Books") as client:
        report = client.connect()
    assert served_fake.allowed_ips == {"127.0.0.1": "Acme Books"}
    assert client.status is kfs.ConnectionStatus.CONNECTED
    assert report["suppliers"].added == len(served_fake.suppliers)
    assert served_fake.calls[0].operation == "AutoAuthIP"


def test_wrong_password_raises_authentication_error_and_needs_reconnect(
    fake: FakeKashFlow,
) -> None:
    """Bad credentials -> AuthenticationError, status NEEDS_RECONNECT, tried only once."""
    creds = kfs.Credentials(fake.username, "wrong-password", fake.autoauth_key)
    with kfs.KashFlowClient(creds, endpoint=fake.url, http_client=fake.http_client()) as client:
        with pytest.raises(errors.AuthenticationError) as info:
            client.connect()
        assert client.status is kfs.ConnectionStatus.NEEDS_RECONNECT
    assert info.value.detail == "Incorrect username or password"
    assert info.value.code == "authentication_failed"
    assert len(fake.calls) == 1  # never retried: KashFlow locks accounts


def test_no_key_and_ip_blocked_raises_ip_not_allowed(fake: FakeKashFlow) -> None:
    """Without an AutoAuth key a blocked IP gives IPNotAllowedError explaining AutoAuth."""
    creds = kfs.Credentials(fake.username, fake.password)
    with kfs.KashFlowClient(creds, endpoint=fake.url, http_client=fake.http_client()) as client:
        with pytest.raises(errors.IPNotAllowedError) as info:
            client.connect()
    assert "Automatic Authorisation" in info.value.remedy
    assert "Apps > API Settings" in info.value.remedy
    assert "is not in the access list" in (info.value.detail or "")


def test_wrong_autoauth_key_raises_ip_not_allowed(fake: FakeKashFlow) -> None:
    """A key KashFlow refuses gives IPNotAllowedError with code autoauth_rejected."""
    creds = kfs.Credentials(fake.username, fake.password, "FFFF0000-9999")
    with kfs.KashFlowClient(creds, endpoint=fake.url, http_client=fake.http_client()) as client:
        with pytest.raises(errors.IPNotAllowedError) as info:
            client.connect()
    assert info.value.code == "autoauth_rejected"


def test_api_disabled_raises_permission_denied(fake: FakeKashFlow) -> None:
    """API access switched off in KashFlow -> PermissionDeniedError."""
    fake.api_enabled = False
    with make_client(fake) as client, pytest.raises(errors.PermissionDeniedError):
        client.connect()


def test_changed_egress_ip_triggers_one_autoauth_and_retry(
    client: kfs.KashFlowClient, fake: FakeKashFlow
) -> None:
    """When a later call meets the IP error, AutoAuthIP runs once and the call is retried."""
    fake.client_ip = "203.0.113.7"
    fake.reset_calls()
    client.refresh_lists(only=["suppliers"])
    ops = [c.operation for c in fake.calls]
    assert ops == ["GetSuppliers", "AutoAuthIP", "GetSuppliers"]
    assert "203.0.113.7" in fake.allowed_ips


def test_persistent_503_surfaces_as_transient_after_retries(
    client: kfs.KashFlowClient, fake: FakeKashFlow
) -> None:
    """A 503 on every try is retried, then raised as TransientError."""
    fake.faults.http_error(503, op="GetSuppliers", times=None)
    fake.reset_calls()
    with pytest.raises(errors.TransientError) as info:
        client.refresh_lists(only=["suppliers"])
    assert info.value.code == "http_503"
    assert len(fake.calls_to("GetSuppliers")) == 3  # 1 + FAST_RETRY.max_retries


def test_one_503_is_retried_transparently(client: kfs.KashFlowClient, fake: FakeKashFlow) -> None:
    """A single 503 on a read is retried and the caller never sees it."""
    fake.faults.http_error(503, op="GetSuppliers", times=1)
    report = client.refresh_lists(only=["suppliers"])
    assert report["suppliers"].unchanged == len(fake.suppliers)


def test_malformed_answer_raises_protocol_error(
    client: kfs.KashFlowClient, fake: FakeKashFlow
) -> None:
    """An answer that is not XML, every time -> ProtocolError."""
    fake.faults.malformed_response(op="GetVATRates", times=None)
    with pytest.raises(errors.ProtocolError):
        client.refresh_lists(only=["vat_rates"])


def test_soap_fault_maps_to_transient(client: kfs.KashFlowClient, fake: FakeKashFlow) -> None:
    """A soap:Server fault on every try -> TransientError with KashFlow's words."""
    fake.faults.soap_fault(op="GetVATRates", times=None)
    with pytest.raises(errors.TransientError) as info:
        client.refresh_lists(only=["vat_rates"])
    assert "Server was unable to process request" in (info.value.detail or "")


def test_timeout_over_loopback_maps_to_transient(served_fake: FakeKashFlow) -> None:
    """A KashFlow slower than the client timeout -> TransientError code timeout."""
    storage = kfs.MemoryStorage()
    # connect() makes a dozen ordinary calls: under a generous timeout, so only the delayed
    # call below can time out, however loaded the machine is.
    with httpx.Client(timeout=30) as http, make_client(served_fake, http, storage=storage) as c:
        c.connect()
    served_fake.faults.delay(1.5, op="GetCurrencies", times=None)
    with (
        httpx.Client(timeout=0.3) as http,
        make_client(served_fake, http, storage=storage) as client,
        pytest.raises(errors.TransientError) as info,
    ):
        client.refresh_lists(only=["currencies"])
    assert info.value.code == "timeout"


def test_rejected_write_raises_rejected_error(
    client: kfs.KashFlowClient, fake: FakeKashFlow
) -> None:
    """KashFlow refusing a write (unknown nominal id) -> RejectedError with its words."""
    service = client._service
    with pytest.raises(errors.RejectedError) as info:
        service.call(
            operations.insert_document(
                "purchase",
                {"CustomerID": fake.suppliers[0].supplier_id, "CustomerReference": "X"},
                [{"ChargeType": 999999, "Quantity": 1, "Rate": 1}],
            )
        )
    assert info.value.detail
    assert fake.receipts == []


def test_refresh_before_connect_raises_not_connected(fake: FakeKashFlow) -> None:
    """Lists cannot refresh before connect() succeeded."""
    with make_client(fake) as client, pytest.raises(errors.NotConnectedError):
        client.refresh_lists()


def test_reconnect_with_new_credentials_keeps_rules(fake: FakeKashFlow) -> None:
    """After a password change: NEEDS_RECONNECT, then reconnect() with new ones keeps rules."""
    with make_client(fake) as client:
        client.connect()
        client.rules.set_supplier_rule("Acme Paper Ltd", kfs.Rule(category=7500))
        fake.password = "changed-password"
        with pytest.raises(errors.AuthenticationError):
            client.refresh_lists(only=["suppliers"])
        assert client.status is kfs.ConnectionStatus.NEEDS_RECONNECT
        client.reconnect(kfs.Credentials(fake.username, "changed-password", fake.autoauth_key))
        assert client.status is kfs.ConnectionStatus.CONNECTED
        assert client.rules.supplier_rule("Acme Paper Ltd") == kfs.Rule(category=7500)


def test_secrets_never_reach_logs_reprs_or_errors(
    fake: FakeKashFlow, caplog: pytest.LogCaptureFixture
) -> None:
    """Password and key appear in no log record, repr or error message."""
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    with make_client(fake) as client:
        client.connect()
        seen.append(repr(client))
        fake.password = "rotated"
        try:
            client.refresh_lists(only=["suppliers"])
        except errors.KashFlowError as exc:
            seen += [str(exc), repr(exc), exc.remedy, exc.detail or ""]
    seen += [r.getMessage() for r in caplog.records]
    text = "\n".join(seen)
    assert fake.credentials.autoauth_key not in text
    assert client.credentials.password not in text


def test_client_closes_only_what_it_created(fake: FakeKashFlow) -> None:
    """close() leaves a caller's httpx.Client open."""
    http = fake.http_client()
    with make_client(fake, http):
        pass
    assert not http.is_closed
    http.close()


def test_status_is_shared_through_storage(fake: FakeKashFlow) -> None:
    """A second client on the same storage sees the first one's connect and its auth failure."""
    storage = kfs.MemoryStorage()
    with make_client(fake, storage=storage) as first, make_client(fake, storage=storage) as second:
        assert second.status is kfs.ConnectionStatus.NOT_CONNECTED
        first.connect()
        assert second.status is kfs.ConnectionStatus.CONNECTED
        fake.password = "rotated"
        with pytest.raises(errors.AuthenticationError):
            first.refresh_lists(only="suppliers")
        assert second.status is kfs.ConnectionStatus.NEEDS_RECONNECT


def test_validate_before_connect_is_not_connected(fake: FakeKashFlow) -> None:
    """Validating with no synced lists raises NotConnectedError instead of false problems."""
    from _support import purchase

    with make_client(fake) as client, pytest.raises(errors.NotConnectedError):
        client.validate(purchase(1))


@pytest.mark.parametrize("endpoint", ["not a url", "ftp://example.com/x", ""])
def test_bad_endpoint_is_refused_at_construction(fake: FakeKashFlow, endpoint: str) -> None:
    """An endpoint that is not an http(s) URL is a ValueError, not a retried network error."""
    with pytest.raises(ValueError, match="endpoint"):
        kfs.KashFlowClient(fake.credentials, endpoint=endpoint)
