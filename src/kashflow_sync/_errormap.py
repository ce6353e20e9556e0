"""Every failure of the layers below, translated into :mod:`kashflow_sync.errors` here, once.

Three sources: httpx exceptions (network), HTTP answers that are not a normal SOAP reply
(status codes, SOAP faults, unparseable bodies), and KashFlow's in-band ``Status=NO`` with its
``StatusDetail``. Each mapping is a table, so adding a phrase KashFlow uses is one line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import httpx

from . import errors

__all__ = [
    "answer_too_large",
    "deadline_exceeded",
    "from_fault",
    "from_http_status",
    "from_status_detail",
    "from_transport_error",
    "request_was_sent",
    "unreadable_answer",
]

# (pattern on StatusDetail, error factory). First match wins; no match -> RejectedError.
_Factory = Callable[[str, str], errors.KashFlowError]


def _auth(op: str, detail: str) -> errors.KashFlowError:
    return errors.AuthenticationError(
        "KashFlow refused the username or password", operation=op, detail=detail
    )


def _ip(op: str, detail: str) -> errors.KashFlowError:
    return errors.IPNotAllowedError(
        "this machine's IP address is not in the KashFlow API access list",
        operation=op,
        detail=detail,
    )


def _autoauth_key(op: str, detail: str) -> errors.KashFlowError:
    return errors.IPNotAllowedError(
        "KashFlow refused the AutoAuth key, so this machine's IP address could not be allowed",
        code="autoauth_rejected",
        remedy=(
            "In KashFlow open Apps > API Settings, make sure Automatic Authorisation is ticked, "
            "copy the AutoAuth key again into the connection and reconnect."
        ),
        operation=op,
        detail=detail,
    )


def _permission(op: str, detail: str) -> errors.KashFlowError:
    return errors.PermissionDeniedError(
        "KashFlow does not allow API access for this account or user", operation=op, detail=detail
    )


def _not_found(op: str, detail: str) -> errors.KashFlowError:
    return errors.RejectedError(
        "KashFlow has no such record",
        code="not_found",
        remedy="Refresh the lists and check the number or code used.",
        operation=op,
        detail=detail,
    )


STATUS_DETAIL_TABLE: Sequence[tuple[re.Pattern[str], _Factory]] = (
    (re.compile(r"incorrect username or password|invalid (user ?name|password)", re.I), _auth),
    (re.compile(r"the ip address of .*? is not in the access list", re.I), _ip),
    (re.compile(r"auto ?auth", re.I), _autoauth_key),
    (
        re.compile(
            r"api (access )?(is )?(not enabled|disabled)|not (allowed|permitted) to use", re.I
        ),
        _permission,
    ),
    (re.compile(r"^there is no \w+", re.I), _not_found),
)


def from_status_detail(operation: str, detail: str | None) -> errors.KashFlowError:
    """Map KashFlow's ``Status=NO`` answer to an error, by its ``StatusDetail``."""
    text = (detail or "").strip()
    for pattern, factory in STATUS_DETAIL_TABLE:
        if pattern.search(text):
            return factory(operation, text)
    return errors.RejectedError(
        f"KashFlow refused {operation}: {text or '(no reason given)'}",
        operation=operation,
        detail=text or None,
    )


# Exceptions raised before any byte of the request can have reached KashFlow.
_NOT_SENT: tuple[type[httpx.HTTPError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.ProxyError,
)


def request_was_sent(exc: BaseException) -> bool:
    """Whether KashFlow may have received (and applied) the request that failed with *exc*."""
    if isinstance(exc, errors.KashFlowError):
        return exc.request_sent
    return not isinstance(exc, _NOT_SENT)


_TRANSPORT_TABLE: Sequence[tuple[type[httpx.HTTPError], str, str]] = (
    (httpx.ConnectTimeout, "connect_timeout", "timed out connecting to KashFlow"),
    (httpx.PoolTimeout, "pool_timeout", "no free connection to KashFlow in time"),
    (httpx.TimeoutException, "timeout", "KashFlow did not answer in time"),
    (httpx.ConnectError, "connection_failed", "could not connect to KashFlow"),
    (httpx.RemoteProtocolError, "connection_lost", "the connection to KashFlow dropped"),
    (httpx.ReadError, "connection_lost", "the connection to KashFlow dropped"),
    (httpx.WriteError, "connection_lost", "the connection to KashFlow dropped"),
    (httpx.NetworkError, "network_error", "network error talking to KashFlow"),
    (httpx.ProxyError, "proxy_error", "the proxy refused the connection to KashFlow"),
)


def from_transport_error(operation: str, exc: httpx.HTTPError) -> errors.KashFlowError:
    """Map an httpx exception to a retryable :class:`~errors.TransientError`."""
    code, message = next(
        ((c, m) for exc_type, c, m in _TRANSPORT_TABLE if isinstance(exc, exc_type)),
        ("http_error", "HTTP error talking to KashFlow"),
    )
    return errors.TransientError(
        f"{message} ({type(exc).__name__})",
        code=code,
        operation=operation,
        request_sent=request_was_sent(exc),
    )


_AUTH_FAULT = re.compile(r"invalid.*(username|password)|not authori[sz]ed", re.I)


def from_fault(operation: str, faultcode: str, faultstring: str) -> errors.KashFlowError:
    """Map a SOAP fault: ``Client`` faults blame the request, ``Server`` ones KashFlow."""
    if _AUTH_FAULT.search(faultstring):
        return _auth(operation, faultstring)
    if faultcode.rpartition(":")[2].lower().startswith("client"):
        return errors.ProtocolError(
            "KashFlow could not read the request (SOAP client fault)",
            code="request_not_understood",
            remedy="This is a bug in kashflow_sync or a changed KashFlow API; please report it.",
            retryable=False,
            operation=operation,
            detail=faultstring,
        )
    return errors.TransientError(
        "KashFlow failed while handling the request (SOAP server fault)",
        code="server_fault",
        operation=operation,
        detail=faultstring,
    )


def from_http_status(
    operation: str, status: int, retry_after: float | None = None
) -> errors.KashFlowError:
    """Map an HTTP status that carried no SOAP reply."""
    if status == 429 or status >= 500:
        code = "rate_limited" if status == 429 else f"http_{status}"
        # 429 and 503 mean the server turned the request away before handling it.
        return errors.TransientError(
            f"KashFlow answered HTTP {status}",
            code=code,
            operation=operation,
            request_sent=status not in (429, 503),
            retry_after=retry_after,
        )
    if status in (401, 403):
        return errors.PermissionDeniedError(f"KashFlow answered HTTP {status}", operation=operation)
    return errors.ProtocolError(
        f"unexpected HTTP {status} from the KashFlow endpoint",
        code=f"http_{status}",
        remedy="Check the endpoint URL (it should end in /api/service.asmx).",
        retryable=False,
        operation=operation,
    )


def deadline_exceeded(operation: str, seconds: float) -> errors.KashFlowError:
    """The whole exchange outlasted the client's ``timeout`` (a slow or trickled answer).

    The request may have reached KashFlow, so a write is reconciled before it is sent again.
    """
    return errors.TransientError(
        f"KashFlow did not answer in time (no whole answer within {seconds:g} s)",
        code="timeout",
        operation=operation,
        request_sent=True,
    )


def answer_too_large(operation: str, limit: int, *, expanded: bool) -> errors.KashFlowError:
    """KashFlow's answer passed the size limit; never retried (it would be as large again)."""
    how = " once expanded" if expanded else ""
    return errors.ProtocolError(
        f"KashFlow's answer to {operation} is larger than {limit:,} bytes{how}; it was not read",
        code="answer_too_large",
        remedy=(
            "If the account really holds that much (hundreds of thousands of customers), raise "
            "max_answer_bytes on the client; otherwise the answer is broken: report it."
        ),
        retryable=False,
        operation=operation,
    )


def unreadable_answer(operation: str, reason: str) -> errors.KashFlowError:
    """KashFlow's answer is compressed in a way the SDK cannot (or could not) expand."""
    return errors.ProtocolError(
        f"KashFlow's answer to {operation} could not be read: {reason}",
        code="answer_encoding",
        operation=operation,
    )
