"""Every failure of the layers below, translated into :mod:`kashflow_sync.errors` here, once.

Three sources: httpx exceptions (network), HTTP answers that are not a normal SOAP reply
(status codes, SOAP faults, unparseable bodies), and KashFlow's in-band ``Status=NO`` with its
``StatusDetail``. Each mapping is a table, so adding a phrase KashFlow uses is one line.
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import NamedTuple

import httpx

from .. import errors
from .._error_codes import ErrorCode

__all__ = [
    "answer_too_large",
    "deadline_exceeded",
    "from_fault",
    "from_http_status",
    "from_status_detail",
    "from_transport_error",
    "implausible_answer",
    "not_a_list",
    "request_was_sent",
    "transport_remedies",
    "unreadable_answer",
    "unreadable_result",
]


class Refusal(NamedTuple):
    """One kind of ``Status=NO`` refusal: how to recognise it and the error it becomes.

    ``code`` and ``remedy`` left None take the error class's own.
    """

    pattern: re.Pattern[str]
    error: type[errors.KashFlowError]
    message: str
    code: ErrorCode | None = None
    remedy: str | None = None


#: The username or password refused (as a ``StatusDetail``, or in a SOAP fault).
_BAD_LOGIN = Refusal(
    re.compile(r"incorrect username or password|invalid (user ?name|password)", re.I),
    errors.AuthenticationError,
    "KashFlow refused the username or password",
)

#: KashFlow's ``StatusDetail`` wordings, first match wins; anything else is a plain refusal.
STATUS_DETAIL_TABLE: Sequence[Refusal] = (
    _BAD_LOGIN,
    Refusal(
        re.compile(r"the ip address of .*? is not in the access list", re.I),
        errors.IPNotAllowedError,
        "this machine's IP address is not in the KashFlow API access list",
    ),
    # A refusal about AutoAuth, not any text that mentions it (an echoed AutoAuthKey=...).
    Refusal(
        re.compile(
            r"(invalid|incorrect|wrong|bad)\s+auto ?auth"
            r"|auto ?auth(\s+key)?\s+(is\s+)?(not|invalid|incorrect|disabled|refused|expired)",
            re.I,
        ),
        errors.IPNotAllowedError,
        "KashFlow refused the AutoAuth key, so this machine's IP address could not be allowed",
        ErrorCode.AUTOAUTH_REJECTED,
        "In KashFlow open Apps > API Settings, make sure Automatic Authorisation is ticked, "
        "copy the AutoAuth key again, pass it as Credentials(autoauth_key=...) and call "
        "client.reconnect(credentials).",
    ),
    Refusal(
        re.compile(
            r"api (access )?(is )?(not enabled|disabled)|not (allowed|permitted) to use", re.I
        ),
        errors.PermissionDeniedError,
        "KashFlow does not allow API access for this account or user",
    ),
    Refusal(
        re.compile(r"^there is no \w+", re.I),
        errors.RejectedError,
        "KashFlow has no such record",
        ErrorCode.NOT_FOUND,
        "Refresh the lists and check the number or code used.",
    ),
    # KashFlow's words for a duplicate code (WHMCS's docs quote the customer one).
    Refusal(
        re.compile(r"code is not unique", re.I),
        errors.RejectedError,
        "KashFlow refused the new contact: its code is already in use",
        ErrorCode.CONTACT_CODE_TAKEN,
        "The SDK looks the code up and tries the name's second code by itself; if this "
        "persists, refresh the lists (the contact may exist under another name) and publish "
        "again.",
    ),
    # Unconfirmed wording: any refusal naming Dropbox is about where files are kept.
    Refusal(
        re.compile(r"dropbox", re.I),
        errors.RejectedError,
        "KashFlow refused the attachment: the account has no file storage (Dropbox) connected",
        ErrorCode.ATTACHMENT_STORAGE_NOT_CONNECTED,
        "Connect Dropbox in KashFlow's settings (KashFlow keeps attachments there), then "
        "publish the same document again: it is already in KashFlow, so only the file is "
        "sent.",
    ),
)


def _refused(refusal: Refusal, operation: str, detail: str) -> errors.KashFlowError:
    return refusal.error(
        refusal.message,
        code=refusal.code,
        remedy=refusal.remedy,
        operation=operation,
        detail=detail,
    )


def from_status_detail(operation: str, detail: str | None) -> errors.KashFlowError:
    """Map KashFlow's ``Status=NO`` answer to an error, by its ``StatusDetail``."""
    text = (detail or "").strip()
    for refusal in STATUS_DETAIL_TABLE:
        if refusal.pattern.search(text):
            return _refused(refusal, operation, text)
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


#: ``(httpx exception, code, what happened, remedy)``; first match wins. Remedies are in the
#: caller's terms; the command line rewords the ones that name a Python call.
_TRANSPORT_TABLE: Sequence[tuple[type[httpx.HTTPError], ErrorCode, str, str]] = (
    (
        httpx.ConnectTimeout,
        ErrorCode.CONNECT_TIMEOUT,
        "timed out connecting to KashFlow",
        "Check this machine's network connection and the endpoint URL; if both are right, "
        "KashFlow is slow to answer: try again in a few minutes.",
    ),
    (
        httpx.PoolTimeout,
        ErrorCode.POOL_TIMEOUT,
        "no free connection to KashFlow in time",
        "Too many calls at once for the HTTP client's connection pool: lower the concurrency "
        "of publish_many, or give the client an httpx.Client with larger pool limits.",
    ),
    (
        httpx.TimeoutException,
        ErrorCode.TIMEOUT,
        "KashFlow did not answer in time",
        "Try again in a few minutes; publishing again is safe (the SDK looks the document up in "
        "KashFlow before sending it a second time).",
    ),
    (
        httpx.ConnectError,
        ErrorCode.CONNECTION_FAILED,
        "could not connect to KashFlow",
        "Check this machine's network connection and the endpoint URL, then try again.",
    ),
    (
        httpx.RemoteProtocolError,
        ErrorCode.CONNECTION_LOST,
        "the connection to KashFlow dropped",
        "Try again; publishing again is safe (the SDK looks the document up first).",
    ),
    (
        httpx.ReadError,
        ErrorCode.CONNECTION_LOST,
        "the connection to KashFlow dropped",
        "Try again; publishing again is safe (the SDK looks the document up first).",
    ),
    (
        httpx.WriteError,
        ErrorCode.CONNECTION_LOST,
        "the connection to KashFlow dropped",
        "Try again; publishing again is safe (the SDK looks the document up first).",
    ),
    (
        httpx.ProxyError,
        ErrorCode.PROXY_ERROR,
        "the proxy refused the connection to KashFlow",
        "Check the proxy settings (HTTPS_PROXY, ALL_PROXY) and that the proxy allows KashFlow.",
    ),
    (
        httpx.NetworkError,
        ErrorCode.NETWORK_ERROR,
        "network error talking to KashFlow",
        "Check this machine's network connection and try again.",
    ),
)

#: The codes of a connection that could not be made, whose cause the message names.
_CONNECT_CODES = frozenset(
    {
        ErrorCode.CONNECTION_FAILED,
        ErrorCode.CONNECT_TIMEOUT,
        ErrorCode.PROXY_ERROR,
        ErrorCode.NETWORK_ERROR,
    }
)

#: Why a connection could not be made, by the exception found under httpx's: ``(words, remedy)``.
_CONNECT_CAUSES: Sequence[tuple[type[BaseException], str, str]] = (
    (
        ssl.SSLCertVerificationError,
        "its TLS certificate could not be verified",
        "Check the endpoint URL's host name; behind a proxy that inspects TLS, install its CA "
        "certificate (SSL_CERT_FILE) or pass an httpx.Client configured with it.",
    ),
    (
        ssl.SSLError,
        "the TLS handshake failed",
        "Check the endpoint URL: https:// must point at a server that speaks TLS (is it http://?).",
    ),
    (
        socket.gaierror,
        "the host name could not be resolved (DNS)",
        "Check the host name in the endpoint URL and this machine's DNS and network connection.",
    ),
    (
        ConnectionRefusedError,
        "the connection was refused: nothing is listening at that address",
        "Check the endpoint URL's host and port; if it is right, the server is down: try later.",
    ),
    (
        TimeoutError,
        "no answer to the connection attempt",
        "Check the endpoint URL and this machine's network connection; try again later.",
    ),
)


def _endpoint_of(exc: httpx.HTTPError) -> str | None:
    """The URL the failed request went to, when httpx knows it."""
    try:
        return str(exc.request.url)
    except RuntimeError:  # an exception raised outside a request carries none
        return None


def _root_cause(exc: BaseException) -> BaseException | None:
    """The innermost exception under httpx's (the OS or TLS error), if any."""
    found = None
    seen: set[int] = set()
    current = exc.__cause__ or exc.__context__
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = current
        current = current.__cause__ or current.__context__
    return found


def _connect_cause(exc: BaseException) -> tuple[str, str] | None:
    """``(cause in words, remedy)`` for a failed connection, from the exception chain."""
    root = _root_cause(exc)
    if root is None:
        return None
    for cause_type, words, remedy in _CONNECT_CAUSES:
        if isinstance(root, cause_type):
            detail = getattr(root, "verify_message", None)
            return (f"{words} ({detail})" if detail else words), remedy
    text = str(root).strip()
    return (text, "") if text else None


def transport_remedies() -> Mapping[str, str]:
    """The remedy of each code a transport failure maps to (``{"connect_timeout": ...}``).

    The journal's view pairs a recorded failure's code with these, so an operator reads the
    same advice the error carried when it was raised.
    """
    return MappingProxyType({code: remedy for _exc, code, _what, remedy in _TRANSPORT_TABLE})


def from_transport_error(operation: str, exc: httpx.HTTPError) -> errors.KashFlowError:
    """Map an httpx exception to a retryable :class:`~errors.TransientError`.

    The message names the endpoint and, for a connection that could not be made, why (refused,
    DNS, TLS, timeout), never httpx's class names; the remedy fits the code and the cause.
    """
    code, message, remedy = next(
        ((c, m, r) for exc_type, c, m, r in _TRANSPORT_TABLE if isinstance(exc, exc_type)),
        (
            ErrorCode.HTTP_ERROR,
            "HTTP error talking to KashFlow",
            "Check the endpoint URL and this machine's network connection, then try again.",
        ),
    )
    endpoint = _endpoint_of(exc)
    if endpoint:
        message += f" at {endpoint}"
    if code in _CONNECT_CODES:
        cause = _connect_cause(exc)
        if cause is not None:
            message += f": {cause[0]}"
            remedy = cause[1] or remedy
    return errors.TransientError(
        message,
        code=code,
        remedy=remedy,
        operation=operation,
        request_sent=request_was_sent(exc),
    )


_AUTH_FAULT = re.compile(r"invalid.*(username|password)|not authori[sz]ed", re.I)


def from_fault(operation: str, faultcode: str, faultstring: str) -> errors.KashFlowError:
    """Map a SOAP fault: ``Client`` faults blame the request, ``Server`` ones KashFlow."""
    if _AUTH_FAULT.search(faultstring):
        return _refused(_BAD_LOGIN, operation, faultstring)
    if faultcode.rpartition(":")[2].lower().startswith("client"):
        return errors.ProtocolError(
            "KashFlow could not read the request (SOAP client fault)",
            code=ErrorCode.REQUEST_NOT_UNDERSTOOD,
            remedy="This is a bug in kashflow_sync or a changed KashFlow API; please report it.",
            retryable=False,
            operation=operation,
            detail=faultstring,
        )
    return errors.TransientError(
        "KashFlow failed while handling the request (SOAP server fault)",
        code=ErrorCode.SERVER_FAULT,
        operation=operation,
        detail=faultstring,
    )


def from_http_status(
    operation: str, status: int, retry_after: float | None = None
) -> errors.KashFlowError:
    """Map an HTTP status that carried no SOAP reply."""
    if status == 429 or status >= 500:
        code = ErrorCode.RATE_LIMITED if status == 429 else ErrorCode.http_status(status)
        # 429 and 503 mean the server turned the request away before handling it.
        return errors.TransientError(
            f"KashFlow answered HTTP {status}",
            code=code,
            remedy=(
                "KashFlow is busy: try again in a few minutes, with a lower concurrency."
                if status == 429
                else "KashFlow is having trouble; try again in a few minutes."
            ),
            operation=operation,
            request_sent=status not in (429, 503),
            retry_after=retry_after,
        )
    if status in (401, 403):
        return errors.PermissionDeniedError(f"KashFlow answered HTTP {status}", operation=operation)
    return errors.ProtocolError(
        f"unexpected HTTP {status} from the KashFlow endpoint",
        code=ErrorCode.http_status(status),
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
        code=ErrorCode.TIMEOUT,
        operation=operation,
        request_sent=True,
    )


def answer_too_large(operation: str, limit: int, *, expanded: bool) -> errors.KashFlowError:
    """KashFlow's answer passed the size limit; never retried (it would be as large again)."""
    how = " once expanded" if expanded else ""
    return errors.ProtocolError(
        f"KashFlow's answer to {operation} is larger than {limit:,} bytes{how}; it was not read",
        code=ErrorCode.ANSWER_TOO_LARGE,
        remedy=(
            "If the account really holds that much (tens of thousands of customers), raise "
            "max_answer_bytes on the client; otherwise the answer is broken: report it."
        ),
        retryable=False,
        operation=operation,
    )


def unreadable_answer(
    operation: str, reason: str, quoted: str | None = None
) -> errors.KashFlowError:
    """KashFlow's answer is compressed in a way the SDK cannot (or could not) expand.

    *quoted* (the header to blame) goes in ``detail``, which the caller masks and cuts.
    """
    return errors.ProtocolError(
        f"KashFlow's answer to {operation} could not be read: {reason}",
        code=ErrorCode.ANSWER_ENCODING,
        operation=operation,
        detail=quoted,
    )


def implausible_answer(operation: str, reason: str) -> errors.KashFlowError:
    """KashFlow's answer passed one of the parser's guards; never retried (it would again)."""
    return errors.ProtocolError(
        f"KashFlow's answer to {operation} was not read: {reason}, which no KashFlow answer does",
        code=ErrorCode.IMPLAUSIBLE_ANSWER,
        remedy=(
            "Check the endpoint URL: something other than KashFlow (a proxy, a captive portal) "
            "may be answering. If it is KashFlow's, report it with the message."
        ),
        retryable=False,
        operation=operation,
    )


def not_a_list(operation: str, strays: Sequence[str]) -> errors.KashFlowError:
    """A list answer with ``Status=OK`` whose result holds something other than its items.

    Read as it is, it would be a shorter list (often an empty one): every item missing from
    it would be archived and publishing blocked until the next good refresh.
    """
    what = ", ".join("text" if s == "text" else f"<{s}>" for s in dict.fromkeys(strays))
    return errors.ProtocolError(
        f"KashFlow's answer to {operation} is not a list: its result holds {what}; nothing "
        "was changed",
        code=ErrorCode.NOT_A_LIST,
        remedy="Try again later; if it persists, report it with the message.",
        operation=operation,
    )


def unreadable_result(operation: str, reason: str) -> errors.KashFlowError:
    """KashFlow's answer is SOAP, but its result is not of the type the operation answers."""
    return errors.ProtocolError(
        f"KashFlow's answer to {operation} has a result the SDK cannot read ({reason})",
        code=ErrorCode.UNREADABLE_RESULT,
        remedy=(
            "Try again later; a publish looks the document up in KashFlow before sending "
            "anything again. If it persists, report it with the message."
        ),
        operation=operation,
    )
