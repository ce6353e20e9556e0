"""KashFlow's SOAP wire format with no I/O: a request's envelope out, KashFlow's answer in.

A :class:`Request` says what one call sends and how its answer is read. :func:`encode` writes
the envelope (merging in the credentials, as KashFlow wants on every call) and :func:`decode`
turns the HTTP answer into the request's result, or raises the error
:mod:`kashflow_sync.soap.errormap` maps it to. The sync and async callers (:mod:`.caller`) are
thin loops around these two functions.

Secrets never sit in a :class:`Request`: its parameters hold :data:`AUTOAUTH_KEY` where the key
goes. :func:`encode` has zeep build the envelope with stand-ins for the password and the key,
puts the real values in only while it writes the bytes, and hands those back sealed in an
:class:`Envelope` whose repr hides them: no local variable in this layer holds a secret in a form
a traceback rendered with its locals would print. Whatever KashFlow says back is masked and cut
(:func:`~kashflow_sync._config.kashflow_words`) before it reaches an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar, cast

import attrs
from lxml import etree
from zeep import exceptions as zeep_exceptions

from .. import errors
from .._config import Credentials, Secrets, kashflow_words, redact
from .._error_codes import ErrorCode
from . import errormap
from ._answerparse import AnswerParser, ItemStream
from .answer import ACCEPT_ENCODING
from .transport import shared_zeep_client

__all__ = [
    "AUTOAUTH_KEY",
    "NS",
    "Envelope",
    "ItemStream",
    "Request",
    "decode",
    "encode",
    "masked",
    "parser",
    "reading",
    "zeep_reply",
]

T = TypeVar("T")
E = TypeVar("E", bound=errors.KashFlowError)

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
        read: turns the ``<OperationResponse>`` element into the result; None for a list
            read as it arrives (``items``), whose result is the list of the items' values.
        idempotent: whether the call may be repeated after it may have reached KashFlow.
        not_found: for lookups, what KashFlow's "There is no ..." answer means (None, []).
        items: for a list answer, how each item is read as it arrives (then dropped).

    A reader that raises a :class:`~kashflow_sync.errors.KashFlowError` puts KashFlow's own
    words in its ``detail``, never its message: :func:`decode` masks and cuts them there.

    """

    operation: str
    params: Mapping[str, Any]
    read: Callable[[etree._Element], T] | None = attrs.field(repr=False)
    idempotent: bool
    not_found: Callable[[], T] | None = attrs.field(default=None, repr=False)
    items: ItemStream | None = attrs.field(default=None, repr=False)


def parser() -> etree.XMLParser:
    """A new lxml parser for one whole answer: no entities, no network, no size limit of its own.

    Comments and processing instructions are dropped, as :func:`reading`'s parser drops them
    (KashFlow's answers never hold one; a hostile or odd server may put one anywhere).
    """
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=True,
        remove_comments=True,
        remove_pis=True,
    )


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
            code=ErrorCode.REQUEST_NOT_ENCODABLE,
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


def reading(request: Request[Any]) -> AnswerParser:
    """A parser for the answer to *request*, to feed with the body as it arrives."""
    return AnswerParser(request.operation, request.items)


def decode(
    request: Request[T],
    status_code: int,
    content: bytes | AnswerParser,
    *,
    secrets: Secrets,
    retry_after: float | None = None,
) -> T:
    """The result of *request* from KashFlow's HTTP answer, or the mapped error.

    Args:
        request: what was sent.
        status_code: the HTTP status of the answer.
        content: the answer's body, or the parser :func:`reading` made and the body was fed to.
        secrets: values to mask wherever KashFlow's own words end up in an error.
        retry_after: the answer's ``Retry-After`` in seconds, if any.

    Raises:
        KashFlowError: the subclass :mod:`kashflow_sync.soap.errormap` gives the answer. An answer
            that cannot be read is a :class:`~kashflow_sync.errors.ProtocolError`, never an
            exception of lxml, zeep or Python's own.

    """
    if isinstance(content, bytes):
        parsed = reading(request)
        parsed.feed(content)
    else:
        parsed = content
    parsed.close()
    operation = request.operation
    problem: errors.KashFlowError | None = None
    try:
        answer = _answer(operation, status_code, parsed, secrets, retry_after)
    except errors.RejectedError as exc:
        if request.not_found is not None and exc.code == ErrorCode.NOT_FOUND:
            return request.not_found()
        raise
    if request.read is None:
        return cast(T, parsed.values)
    broken: str | None = None
    try:
        return request.read(answer)
    except errors.KashFlowError as exc:
        # Without the reader's frames: their locals hold KashFlow's words unmasked.
        problem = exc.with_traceback(None)
    except _UNREADABLE as exc:  # the result is not what the operation answers
        broken = type(exc).__name__
    if problem is None:
        problem = errormap.unreadable_result(operation, broken or "?")
    # Raised here, not in an except block: no exception that quoted KashFlow's words rides
    # along as context.
    raise masked(problem, secrets)


#: What reading a result can raise when the result is not of its operation's type.
_UNREADABLE: tuple[type[BaseException], ...] = (
    ValueError,
    TypeError,
    LookupError,
    AttributeError,
    ArithmeticError,
    RecursionError,
    etree.LxmlError,
    zeep_exceptions.Error,
)


def masked(error: E, secrets: Secrets) -> E:
    """*error* with the secrets masked in its message and its ``detail`` masked and cut.

    Whatever quotes KashFlow (a result field, a header) puts the quote in ``detail``; the
    message is masked too, in case it repeats it.
    """
    message = redact(error.message, secrets)
    if message != error.message:
        error.message = message
        error.args = (message, *error.args[1:])
    if error.detail:
        error.detail = kashflow_words(error.detail, secrets)
    return error


def _answer(
    operation: str,
    status_code: int,
    parsed: AnswerParser,
    secrets: Secrets,
    retry_after: float | None,
) -> etree._Element:
    """The ``<OperationResponse>`` element of a normal answer; raise for anything else.

    Errors are raised outside ``except`` blocks, so none carries a parser error as context.
    """
    root = parsed.root
    if root is None:
        if status_code != 200:
            raise errormap.from_http_status(operation, status_code, retry_after)
        if parsed.failure is not None and parsed.limit_hit:
            raise errormap.implausible_answer(operation, parsed.failure)
        raise errors.ProtocolError(
            f"KashFlow's answer to {operation} is not a SOAP answer: "
            f"{parsed.failure or 'it is not XML'}",
            operation=operation,
        )
    body = root.find(_SOAP_ENV + "Body")
    # Comments and processing instructions never reach the tree; whatever else is not an
    # element (an entity reference, with a DTD already refused) is passed over.
    answer = None if body is None else next((e for e in body if isinstance(e.tag, str)), None)
    if answer is None:
        if status_code != 200:
            raise errormap.from_http_status(operation, status_code, retry_after)
        raise errors.ProtocolError(
            f"KashFlow's answer to {operation} has no SOAP body", operation=operation
        )
    if answer.tag == _SOAP_ENV + "Fault":
        code = kashflow_words(answer.findtext("faultcode") or "", secrets)
        text = kashflow_words(answer.findtext("faultstring") or "", secrets)
        raise errormap.from_fault(operation, code, text)
    if status_code != 200:
        raise errormap.from_http_status(operation, status_code, retry_after)
    if answer.tag != f"{NS}{operation}Response":
        raise errors.ProtocolError(
            f"expected {operation}Response, KashFlow sent "
            f"{kashflow_words(etree.QName(answer).localname, secrets, 80)}",
            operation=operation,
        )
    # Status is the only failure signal: StatusDetail may carry a note on success.
    if (answer.findtext(NS + "Status") or "").strip().upper() == "NO":
        detail = kashflow_words(answer.findtext(NS + "StatusDetail") or "", secrets)
        raise errormap.from_status_detail(operation, detail)
    if parsed.strays:
        raise errormap.not_a_list(operation, parsed.strays)
    if parsed.items is not None and len(answer.findall(NS + parsed.items.result)) > 1:
        raise errormap.not_a_list(operation, [parsed.items.result])
    return answer


def zeep_reply(operation: str, answer: etree._Element) -> Any:
    """Zeep's reading of a (small) ``<OperationResponse>``, as plain dicts and lists."""
    from zeep import helpers

    envelope = answer.getparent().getparent()  # type: ignore[union-attr]
    result = _binding().get(operation).process_reply(envelope)
    return helpers.serialize_object(result, dict)  # type: ignore[no-untyped-call]
