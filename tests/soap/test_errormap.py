"""The one error map: KashFlow's words, SOAP faults, HTTP statuses and httpx errors."""

from __future__ import annotations

import socket
import ssl

import httpx
import pytest

from kashflow_sync import errors
from kashflow_sync.soap import errormap as _errormap

STATUS_DETAIL_CASES = [
    ("Incorrect username or password", errors.AuthenticationError, "authentication_failed"),
    (
        "The IP address of 81.2.69.160 is not in the access list",
        errors.IPNotAllowedError,
        "ip_not_allowed",
    ),
    ("Invalid AutoAuth key", errors.IPNotAllowedError, "autoauth_rejected"),
    ("AutoAuth is not enabled for this account", errors.IPNotAllowedError, "autoauth_rejected"),
    (
        "The AutoAuth key is not valid for this account",
        errors.IPNotAllowedError,
        "autoauth_rejected",
    ),
    # Mentioning AutoAuth is not refusing it (a refusal echoing the request's parameters).
    ("Nominal code 7500 not found (AutoAuthKey=********)", errors.RejectedError, "rejected"),
    ("API access is disabled for this account", errors.PermissionDeniedError, "permission_denied"),
    ("There is no supplier with that code", errors.RejectedError, "not_found"),
    ("Nominal code does not exist", errors.RejectedError, "rejected"),
    ("", errors.RejectedError, "rejected"),
    (
        "Error Inserting Customer Acme: Customer Code is not unique",
        errors.RejectedError,
        "contact_code_taken",
    ),
    (
        "Unable to upload the file: no Dropbox account is connected to this KashFlow account",
        errors.RejectedError,
        "attachment_storage_not_connected",
    ),
]


@pytest.mark.parametrize(("detail", "cls", "code"), STATUS_DETAIL_CASES)
def test_status_detail_maps_to_error(detail: str, cls: type, code: str) -> None:
    """Each StatusDetail KashFlow uses becomes the error class and code the caller acts on."""
    err = _errormap.from_status_detail("InsertReceipt", detail)
    assert type(err) is cls
    assert err.code == code
    assert err.operation == "InsertReceipt"
    assert err.remedy
    if detail:
        assert err.detail == detail


def test_authentication_is_never_retryable() -> None:
    """Bad credentials are not retried: KashFlow locks accounts after repeated bad logins."""
    err = _errormap.from_status_detail("GetSuppliers", "Incorrect username or password")
    assert err.retryable is False


TRANSPORT_CASES = [
    (httpx.ConnectError("refused"), "connection_failed", False),
    (httpx.ConnectTimeout("slow"), "connect_timeout", False),
    (httpx.PoolTimeout("busy"), "pool_timeout", False),
    (httpx.ReadTimeout("slow"), "timeout", True),
    (httpx.WriteTimeout("slow"), "timeout", True),
    (httpx.RemoteProtocolError("gone"), "connection_lost", True),
    (httpx.ReadError("reset"), "connection_lost", True),
]


@pytest.mark.parametrize(("exc", "code", "sent"), TRANSPORT_CASES)
def test_transport_error_maps_to_transient(exc: httpx.HTTPError, code: str, sent: bool) -> None:
    """httpx failures become retryable TransientErrors that say whether the request left."""
    err = _errormap.from_transport_error("GetSuppliers", exc)
    assert isinstance(err, errors.TransientError)
    assert err.code == code
    assert err.retryable
    assert err.request_sent is sent


def _raised(exc: httpx.HTTPError, under: BaseException, url: str) -> httpx.HTTPError:
    """*exc* as httpx raises it: on a request, with the OS or TLS error underneath."""
    exc.request = httpx.Request("POST", url)
    exc.__cause__ = under
    return exc


CONNECT_CAUSES = [
    (ConnectionRefusedError(111, "Connection refused"), "refused", "port"),
    (socket.gaierror(-2, "Name or service not known"), "DNS", "host name"),
    (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), "TLS", "http://"),
    (ssl.SSLCertVerificationError(1, "certificate verify failed"), "certificate", "CA"),
]


@pytest.mark.parametrize(("under", "cause", "remedy"), CONNECT_CAUSES)
def test_connection_failure_names_endpoint_and_cause(
    under: BaseException, cause: str, remedy: str
) -> None:
    """A failed connection says where it went and why, with a remedy for that cause."""
    url = "https://kashflow.example/api/service.asmx"
    exc = _raised(httpx.ConnectError("boom"), under, url)
    err = _errormap.from_transport_error("GetCurrencies", exc)
    assert err.code == "connection_failed"
    assert url in err.message and cause in err.message
    assert remedy in err.remedy


@pytest.mark.parametrize(("exc", "code", "sent"), TRANSPORT_CASES)
def test_transport_messages_name_no_httpx_class(
    exc: httpx.HTTPError, code: str, sent: bool
) -> None:
    """Messages speak of KashFlow and the network, never of httpx's exception classes."""
    err = _errormap.from_transport_error("GetSuppliers", exc)
    assert type(exc).__name__ not in str(err)


def test_transport_remedies_differ_by_code() -> None:
    """pool_timeout, timeout and connection_failed each have their own remedy."""
    remedies = {
        _errormap.from_transport_error("Op", exc).remedy
        for exc in (httpx.PoolTimeout("x"), httpx.ReadTimeout("x"), httpx.ConnectError("x"))
    }
    assert len(remedies) == 3
    assert any("concurrency" in r for r in remedies)


HTTP_CASES = [
    (500, errors.TransientError, "http_500", True),
    (502, errors.TransientError, "http_502", True),
    (503, errors.TransientError, "http_503", False),
    (429, errors.TransientError, "rate_limited", False),
    (403, errors.PermissionDeniedError, "permission_denied", True),
    (404, errors.ProtocolError, "http_404", True),
]


@pytest.mark.parametrize(("status", "cls", "code", "sent"), HTTP_CASES)
def test_http_status_maps(status: int, cls: type, code: str, sent: bool) -> None:
    """HTTP statuses without a SOAP reply map by what the caller can do about them."""
    err = _errormap.from_http_status("InsertReceipt", status, retry_after=2.0)
    assert type(err) is cls
    assert err.code == code
    assert err.request_sent is sent


FAULT_CASES = [
    ("soap:Client", "Server was unable to read request.", errors.ProtocolError, False),
    ("soap:Server", "Server was unable to process request.", errors.TransientError, True),
    ("soap:Server", "Invalid username or password", errors.AuthenticationError, False),
]


@pytest.mark.parametrize(("code", "text", "cls", "retryable"), FAULT_CASES)
def test_soap_fault_maps(code: str, text: str, cls: type, retryable: bool) -> None:
    """SOAP faults blame the request (Client) or KashFlow (Server)."""
    err = _errormap.from_fault("GetSuppliers", code, text)
    assert type(err) is cls
    assert err.retryable is retryable
    assert err.detail == text


def test_error_str_names_operation_and_kashflow_words() -> None:
    """str() of an error carries the operation and KashFlow's own words."""
    err = _errormap.from_status_detail("InsertReceipt", "Nominal code does not exist")
    text = str(err)
    assert "InsertReceipt" in text
    assert "Nominal code does not exist" in text
