"""KashFlow's SOAP wire format with no I/O: a request's envelope out, KashFlow's answer in.

A :class:`Request` says what one call sends and how its answer is read. :func:`encode` writes
the envelope (merging in the credentials, as KashFlow wants on every call) and :func:`decode`
turns the HTTP answer into the request's result, or raises the error
:mod:`kashflow_sync._errormap` maps it to. The sync and async callers (:mod:`.service`,
:mod:`.aservice`) are thin loops around these two functions.

Secrets never sit in a :class:`Request`: its parameters hold :data:`AUTOAUTH_KEY` where the key
goes. :func:`encode` has zeep build the envelope with stand-ins for the password and the key,
puts the real values in only while it writes the bytes, and hands those back sealed in an
:class:`Envelope` whose repr hides them: no local variable in this layer holds a secret in a form
a traceback rendered with its locals would print. Whatever KashFlow says back is masked and cut
(:func:`~kashflow_sync._config.kashflow_words`) before it reaches an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import attrs
from lxml import etree

from .. import _errormap, errors
from .._config import Credentials, Secrets, kashflow_words
from .answer import ACCEPT_ENCODING, AnswerBody
from .transport import shared_zeep_client

__all__ = [
    "AUTOAUTH_KEY",
    "NS",
    "Envelope",
    "Request",
    "decode",
    "encode",
    "parser",
    "zeep_reply",
]

T = TypeVar("T")

#: The KashFlow namespace, in lxml's ``{ns}tag`` form.
NS = "{KashFlow}"
_SOAP_ENV = "{http://schemas.xmlsoap.org/soap/envelope/}"


class _Placeholder:
    """Stands for a secret in a request's parameters until the envelope is written."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


#: Where the AutoAuth key goes in a request's parameters.
AUTOAUTH_KEY = _Placeholder("autoauth key")

# What zeep writes where the secrets go; swapped for the real values only by _write_out.
_STAND_INS = {
    "Password": "kashflow-sync:password-goes-here",
    "AutoAuthKey": "kashflow-sync:autoauth-key-goes-here",
}


class Envelope:
    """A request's envelope bytes, sealed: they hold the password, so no repr shows them.

    Attributes:
        operation: the SOAP operation the envelope calls.
        headers: the HTTP headers to send it with.

    """

    __slots__ = ("_content", "headers", "operation")

    def __init__(self, operation: str, content: bytes, headers: Mapping[str, str]) -> None:
        """Seal *content*."""
        self.operation = operation
        self._content = content
        self.headers = dict(headers)

    @property
    def content(self) -> bytes:
        """The bytes to send (only the HTTP exchange reads them)."""
        return self._content

    def __len__(self) -> int:
        return len(self._content)

    def __repr__(self) -> str:
        return f"<Envelope {self.operation}: {len(self._content)} bytes, credentials hidden>"


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
    """A new lxml parser for one answer: no entities, no network, no size limit of its own.

    One per answer, not per thread: answers are fed to it piece by piece, and async calls on
    one thread interleave. :mod:`.answer` caps the size instead.
    """
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


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


def encode(request: Request[Any], credentials: Credentials) -> Envelope:
    """The sealed envelope (bytes and HTTP headers) for *request*, sent as *credentials*' user.

    Raises:
        ProtocolError: zeep could not build the envelope (``request_not_encodable``): a bug.

    """
    params = {
        name: _STAND_INS["AutoAuthKey"] if value is AUTOAUTH_KEY else value
        for name, value in request.params.items()
    }
    zeep_client = shared_zeep_client()
    failure: str | None = None
    try:
        tree = zeep_client.create_message(
            zeep_client.service,
            request.operation,
            UserName=credentials.username,
            Password=_STAND_INS["Password"],
            **params,
        )
    except Exception as exc:  # zeep's own errors; kept out of the chain (see the module)
        failure = f"{type(exc).__name__}: {exc}"
    if failure is not None:
        raise errors.ProtocolError(
            f"kashflow_sync could not build the {request.operation} request ({failure})",
            code="request_not_encodable",
            remedy="This is a bug in kashflow_sync; please report it with the message.",
            retryable=False,
            operation=request.operation,
            request_sent=False,
        )
    headers = {
        "Content-Type": "text/xml; charset=utf-8",
        "SOAPAction": _soap_action(request.operation),
        "Accept-Encoding": ACCEPT_ENCODING,
    }
    return Envelope(request.operation, _write_out(tree, credentials), headers)


def _write_out(tree: etree._Element, credentials: Credentials) -> bytes:
    """The envelope's bytes with the real secrets in place of zeep's stand-ins.

    The secrets are in the tree only while it is written, and never in a local variable here.
    """
    body = tree.find(_SOAP_ENV + "Body")
    slots = [] if body is None or len(body) == 0 else list(body[0])
    swapped = [s for s in slots if etree.QName(s).localname in _STAND_INS]
    for slot in swapped:
        slot.text = (
            credentials.password
            if etree.QName(slot).localname == "Password"
            else (credentials.autoauth_key or "")
        )
    try:
        return etree.tostring(tree, encoding="utf-8", xml_declaration=True)
    finally:
        for slot in swapped:
            slot.text = _STAND_INS[etree.QName(slot).localname]


def decode(
    request: Request[T],
    status_code: int,
    content: bytes | AnswerBody,
    *,
    secrets: Secrets,
    retry_after: float | None = None,
) -> T:
    """The result of *request* from KashFlow's HTTP answer, or the mapped error.

    Args:
        request: what was sent.
        status_code: the HTTP status of the answer.
        content: the answer's body (consumed).
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


def _parse(content: bytes | AnswerBody) -> etree._Element | None:
    """The answer's root element, or None when it is not well-formed XML."""
    xml = parser()
    try:
        if isinstance(content, bytes):
            xml.feed(content)
        else:
            for piece in content.drain():
                xml.feed(piece)
        root: etree._Element = xml.close()
    except etree.XMLSyntaxError:
        return None
    return root


def _answer(
    operation: str,
    status_code: int,
    content: bytes | AnswerBody,
    secrets: Secrets,
    retry_after: float | None,
) -> etree._Element:
    """The ``<OperationResponse>`` element of a normal answer; raise for anything else.

    Errors are raised outside ``except`` blocks, so none carries a parser error as context.
    """
    root = _parse(content)
    if root is None:
        if status_code != 200:
            raise _errormap.from_http_status(operation, status_code, retry_after)
        raise errors.ProtocolError(
            f"KashFlow's answer to {operation} is not XML", operation=operation
        )
    body = root.find(_SOAP_ENV + "Body")
    if body is None or len(body) == 0:
        if status_code != 200:
            raise _errormap.from_http_status(operation, status_code, retry_after)
        raise errors.ProtocolError(
            f"KashFlow's answer to {operation} has no SOAP body", operation=operation
        )
    answer = body[0]
    if answer.tag == _SOAP_ENV + "Fault":
        code = kashflow_words(answer.findtext("faultcode") or "", secrets)
        text = kashflow_words(answer.findtext("faultstring") or "", secrets)
        raise _errormap.from_fault(operation, code, text)
    if status_code != 200:
        raise _errormap.from_http_status(operation, status_code, retry_after)
    if answer.tag != f"{NS}{operation}Response":
        raise errors.ProtocolError(
            f"expected {operation}Response, KashFlow sent "
            f"{kashflow_words(etree.QName(answer).localname, secrets, 80)}",
            operation=operation,
        )
    # Status is the only failure signal: StatusDetail may carry a note on success.
    if (answer.findtext(NS + "Status") or "").strip().upper() == "NO":
        detail = kashflow_words(answer.findtext(NS + "StatusDetail") or "", secrets)
        raise _errormap.from_status_detail(operation, detail)
    return answer


def zeep_reply(operation: str, answer: etree._Element) -> Any:
    """Zeep's reading of a (small) ``<OperationResponse>``, as plain dicts and lists."""
    from zeep import helpers

    envelope = answer.getparent().getparent()  # type: ignore[union-attr]
    result = _binding().get(operation).process_reply(envelope)
    return helpers.serialize_object(result, dict)  # type: ignore[no-untyped-call]
