"""KashFlow's SOAP wire format with no I/O: a request's envelope out, KashFlow's answer in.

A :class:`Request` says what one call sends and how its answer is read. :func:`encode` writes
the envelope (merging in the credentials, as KashFlow wants on every call) and :func:`decode`
turns the HTTP answer into the request's result, or raises the error
:mod:`kashflow_sync._errormap` maps it to. The sync and async callers (:mod:`.service`,
:mod:`.aservice`) are thin loops around these two functions.

Secrets never sit in a :class:`Request`: its parameters hold :data:`AUTOAUTH_KEY` where the key
goes, and :func:`encode` puts the real values in only while it writes the envelope.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import attrs
from lxml import etree

from .. import _errormap, errors
from .._config import Credentials, redact
from .transport import shared_zeep_client

__all__ = ["AUTOAUTH_KEY", "NS", "Request", "decode", "encode", "parser", "zeep_reply"]

T = TypeVar("T")

#: The KashFlow namespace, in lxml's ``{ns}tag`` form.
NS = "{KashFlow}"
_SOAP_ENV = "{http://schemas.xmlsoap.org/soap/envelope/}"
_PARSERS = threading.local()


class _Placeholder:
    """Stands for a secret in a request's parameters until the envelope is written."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


#: Where the AutoAuth key goes in a request's parameters.
AUTOAUTH_KEY = _Placeholder("autoauth key")


@attrs.frozen
class Request(Generic[T]):
    """One KashFlow call, described: what to send and how to read the answer.

    Attributes:
        operation: the SOAP operation, e.g. ``"InsertReceipt"``.
        params: its arguments other than the credentials (never a secret: see the module).
        read: turns the ``<OperationResponse>`` element into the result.
        idempotent: whether the call may be repeated after it may have reached KashFlow.
        not_found: for lookups, what KashFlow's "There is no ..." answer means (None, []).

    """

    operation: str
    params: Mapping[str, Any]
    read: Callable[[etree._Element], T] = attrs.field(repr=False)
    idempotent: bool
    not_found: Callable[[], T] | None = attrs.field(default=None, repr=False)


def parser() -> etree.XMLParser:
    """The lxml parser of the calling thread: no entities, no network (one per thread)."""
    found: etree.XMLParser | None = getattr(_PARSERS, "parser", None)
    if found is None:
        found = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
        _PARSERS.parser = found
    return found


def _binding() -> Any:
    # The WSDL has one service with one SOAP 1.1 port; its binding knows each operation.
    wsdl = shared_zeep_client().wsdl
    service = next(iter(wsdl.services.values()))
    return next(iter(service.ports.values())).binding


_ACTIONS: dict[str, str] = {}


def _soap_action(operation: str) -> str:
    action = _ACTIONS.get(operation)
    if action is None:
        action = _ACTIONS[operation] = f'"{_binding().get(operation).soapaction}"'
    return action


def encode(request: Request[Any], credentials: Credentials) -> tuple[bytes, dict[str, str]]:
    """The envelope bytes and HTTP headers for *request*, sent as *credentials*' user."""
    params = {
        name: (credentials.autoauth_key or "") if value is AUTOAUTH_KEY else value
        for name, value in request.params.items()
    }
    zeep_client = shared_zeep_client()
    envelope = zeep_client.create_message(
        zeep_client.service,
        request.operation,
        UserName=credentials.username,
        Password=credentials.password,
        **params,
    )
    body = etree.tostring(envelope, encoding="utf-8", xml_declaration=True)
    headers = {
        "Content-Type": "text/xml; charset=utf-8",
        "SOAPAction": _soap_action(request.operation),
    }
    return body, headers


def decode(
    request: Request[T],
    status_code: int,
    content: bytes,
    *,
    secrets: tuple[str, ...],
    retry_after: float | None = None,
) -> T:
    """The result of *request* from KashFlow's HTTP answer, or the mapped error.

    Args:
        request: what was sent.
        status_code: the HTTP status of the answer.
        content: the answer's body.
        secrets: values to mask wherever KashFlow's own words end up in an error.
        retry_after: the answer's ``Retry-After`` in seconds, if any.

    Raises:
        KashFlowError: the subclass :mod:`kashflow_sync._errormap` gives the answer.

    """
    operation = request.operation
    try:
        answer = _answer(operation, status_code, content, secrets, retry_after)
    except errors.RejectedError as exc:
        if request.not_found is not None and exc.code == "not_found":
            return request.not_found()
        raise
    return request.read(answer)


def _answer(
    operation: str,
    status_code: int,
    content: bytes,
    secrets: tuple[str, ...],
    retry_after: float | None,
) -> etree._Element:
    """The ``<OperationResponse>`` element of a normal answer; raise for anything else."""
    try:
        root = etree.fromstring(content, parser())
    except etree.XMLSyntaxError:
        if status_code != 200:
            raise _errormap.from_http_status(operation, status_code, retry_after) from None
        raise errors.ProtocolError(
            f"KashFlow's answer to {operation} is not XML", operation=operation
        ) from None
    body = root.find(_SOAP_ENV + "Body")
    if body is None or len(body) == 0:
        if status_code != 200:
            raise _errormap.from_http_status(operation, status_code, retry_after)
        raise errors.ProtocolError(
            f"KashFlow's answer to {operation} has no SOAP body", operation=operation
        )
    answer = body[0]
    if answer.tag == _SOAP_ENV + "Fault":
        code = answer.findtext("faultcode") or ""
        text = redact(answer.findtext("faultstring") or "", secrets)
        raise _errormap.from_fault(operation, code, text)
    if status_code != 200:
        raise _errormap.from_http_status(operation, status_code, retry_after)
    if answer.tag != f"{NS}{operation}Response":
        raise errors.ProtocolError(
            f"expected {operation}Response, KashFlow sent {etree.QName(answer).localname}",
            operation=operation,
        )
    # Status is the only failure signal: StatusDetail may carry a note on success.
    if (answer.findtext(NS + "Status") or "").strip().upper() == "NO":
        detail = redact(answer.findtext(NS + "StatusDetail") or "", secrets)
        raise _errormap.from_status_detail(operation, detail)
    return answer


def zeep_reply(operation: str, answer: etree._Element) -> Any:
    """Zeep's reading of a (small) ``<OperationResponse>``, as plain dicts and lists."""
    from zeep import helpers

    envelope = answer.getparent().getparent()  # type: ignore[union-attr]
    result = _binding().get(operation).process_reply(envelope)
    return helpers.serialize_object(result, dict)  # type: ignore[no-untyped-call]
