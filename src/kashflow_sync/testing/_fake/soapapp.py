"""The SOAP endpoint: one request in, one :class:`Reply` out, transport-independent.

Order of checks, as ASMX and KashFlow apply them: injected transport faults; envelope, SOAPAction
and schema (SOAP faults, HTTP 500); then in-band ``Status=NO`` for credentials, API access and
the IP access list; then the operation itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
from lxml import etree

from .faultreplies import after_apply, before_apply
from .faults import BEFORE_APPLY
from .late import Outcome
from .messages import NotFound, Rejected, detail
from .operations import CACHEABLE, Handler, handlers
from .records import CallRecord
from .render import Renderer, fault_envelope
from .reply import HTML, Reply, html_page
from .schema import KF_NS, SOAP_ENV_NS, SchemaModel, load_model, local_name

if TYPE_CHECKING:
    from .account import Account

__all__ = ["ENDPOINT_PATH", "Reply", "SoapApp"]

#: Where KashFlow serves the SOAP API.
ENDPOINT_PATH = "/api/service.asmx"
_SECRET_PARAMS = frozenset({"UserName", "Password", "AutoAuthKey"})
_READ_FAILED = "Server was unable to read request. ---> There is an error in XML document "
_CACHE_LIMIT = 64
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
_log = logging.getLogger("kashflow_sync.testing")


@attrs.frozen
class _Request:
    """A POSTed SOAP request, read as far as it can be (kept for a late write)."""

    content_type: str | None
    soap_action: str | None
    envelope: etree._Element | None
    element: etree._Element | None
    xml_error: str | None
    client_ip: str
    operation: str | None
    secrets: tuple[tuple[str, str], ...] = attrs.field(repr=False)


class _SoapFault(Exception):
    def __init__(self, message: str, code: str = "soap:Client") -> None:
        super().__init__(message)
        self.message, self.code = message, code


class SoapApp:
    """Serves KashFlow's SOAP 1.1 API over a fake :class:`~.account.Account` (a FakeKashFlow)."""

    def __init__(self, fake: Account) -> None:
        """Bind the endpoint to *fake* (ledger, settings, faults and call log)."""
        self._fake = fake
        self._model: SchemaModel = load_model()
        self._renderer = Renderer(self._model)
        self._cache: dict[tuple[str, str, str | None], tuple[tuple[int, ...], bytes]] = {}
        self._cache_lock = threading.Lock()
        self._handlers: dict[str, Handler] = handlers(fake)
        missing = set(self._model.operations) - set(self._handlers)
        if missing:
            raise RuntimeError(f"no handler for {sorted(missing)}")
        self.control: Callable[[str, str, str, bytes], Reply] | None = None

    def clear_cache(self) -> None:
        """Forget rendered list answers (after the ledger was reset)."""
        with self._cache_lock:
            self._cache.clear()

    # -- entry point ----------------------------------------------------------------------

    def handle(
        self,
        *,
        method: str,
        path: str,
        query: str,
        host: str,
        content_type: str | None,
        soap_action: str | None,
        body: bytes,
        client_ip: str,
        read_timeout: float | None = None,
    ) -> Reply:
        """Answer one HTTP request.

        Args:
            method: the HTTP method.
            path: the URL path (``/api/service.asmx``, or ``/_fake/...`` for the control API).
            query: the URL query string (``WSDL`` on a GET serves the service description).
            host: the Host header, used to point the served WSDL at this fake.
            content_type: the Content-Type header.
            soap_action: the SOAPAction header, quotes and all.
            body: the request body.
            client_ip: the caller's address as KashFlow would see it.
            read_timeout: the client's read timeout, known only in-process; a delay fault
                longer than this becomes a ``timeout`` reply.

        """
        if self.control is not None and (path == "/_fake" or path.startswith("/_fake/")):
            return self.control(method, path, query, body)
        if path.rstrip("/").lower() != ENDPOINT_PATH:
            page = html_page(404, "Not Found", "The resource cannot be found.")
            return Reply(404, page, (("Content-Type", HTML),))
        if method == "GET":
            return self._get(query, host)
        if method != "POST":
            page = html_page(405, "Method Not Allowed", "Use POST.")
            return Reply(405, page, (("Content-Type", HTML), ("Allow", "GET, POST")))
        timestamp = self._fake._stamp()
        request = self._request(content_type, soap_action, body, client_ip)
        rule = self._fake.faults.pick(request.operation)
        outcome: Outcome = (None, None)
        if rule is not None and rule.kind == "late_apply":
            release = self._fake._late.hold(
                request.operation, lambda: self._process(request)[1], rule.apply_after
            )
            reply = Reply(0, action="late", hold=rule.hold, on_abandon=release)
        elif rule is not None and rule.kind in BEFORE_APPLY:
            reply = before_apply(
                rule,
                refusal=lambda text: self._refusal(request.operation, text),
                echo=lambda text: self._echo(text, request.secrets),
            )
        else:
            reply, outcome = self._process(request)
            if rule is not None:
                reply = after_apply(
                    rule,
                    reply,
                    read_timeout,
                    echo=lambda text: self._echo(text, request.secrets),
                )
        self._fake._record(
            CallRecord(
                operation=request.operation,
                params=self._params(request.element),
                client_ip=client_ip,
                http_status=reply.status if reply.action == "respond" else None,
                fault=rule.kind if rule else None,
                timestamp=timestamp,
                status=outcome[0],
                status_detail=outcome[1],
            )
        )
        return reply

    # -- request reading ------------------------------------------------------------------

    def _request(
        self, content_type: str | None, soap_action: str | None, body: bytes, client_ip: str
    ) -> _Request:
        envelope, xml_error = self._parse_xml(body)
        element = self._body_element(envelope)
        return _Request(
            content_type=content_type,
            soap_action=soap_action,
            envelope=envelope,
            element=element,
            xml_error=xml_error,
            client_ip=client_ip,
            operation=self._operation(soap_action, element),
            secrets=_secrets(element),
        )

    def _get(self, query: str, host: str) -> Reply:
        if query.lower().split("&")[0] in ("wsdl", "wsdl="):
            url = f"http://{host}{ENDPOINT_PATH}"
            text = self._model.wsdl_text.replace(
                'location="https://securedwebapp.com/api/service.asmx"', f'location="{url}"'
            )
            return Reply(200, text.encode())
        page = "<html><body><h1>KashFlowAPI</h1><p>FakeKashFlow SOAP endpoint.</p></body></html>"
        return Reply(200, page.encode(), (("Content-Type", HTML),))

    @staticmethod
    def _parse_xml(body: bytes) -> tuple[etree._Element | None, str | None]:
        try:
            return etree.fromstring(body, _PARSER), None
        except etree.XMLSyntaxError as exc:
            line, column = exc.position
            return None, f"({line}, {column}). ---> {exc.msg}"

    @staticmethod
    def _body_element(envelope: etree._Element | None) -> etree._Element | None:
        if envelope is None or envelope.tag != f"{{{SOAP_ENV_NS}}}Envelope":
            return None
        body = envelope.find(f"{{{SOAP_ENV_NS}}}Body")
        children = [] if body is None else [c for c in body if isinstance(c.tag, str)]
        return children[0] if len(children) == 1 else None

    def _operation(self, soap_action: str | None, element: etree._Element | None) -> str | None:
        """The operation a call is for: the SOAPAction's, else the body element's name."""
        action = _action_name(soap_action)
        if action in self._model.operations:
            return action
        if element is not None and element.tag.startswith(f"{{{KF_NS}}}"):
            return local_name(element.tag)
        return action

    def _params(self, element: etree._Element | None) -> dict[str, object]:
        if element is None or local_name(element.tag) not in self._model.elements:
            return {}
        try:
            parsed = self._model.parse(element)
        except (ValueError, KeyError):
            return {}
        return {k: v for k, v in parsed.items() if k not in _SECRET_PARAMS}

    # -- processing -----------------------------------------------------------------------

    def _process(self, request: _Request) -> tuple[Reply, Outcome]:
        """Check and run one request; the reply and KashFlow's (Status, StatusDetail)."""
        try:
            return self._checked(request)
        except Exception as exc:  # a bug in the fake must not look like a hang
            _log.exception("FakeKashFlow failed on %s", request.operation)
            self._fake.errors.append(exc)
            message = self._echo(
                f"Server was unable to process request. ---> {exc}", request.secrets
            )
            return Reply(500, fault_envelope("soap:Server", message)), (None, None)

    def _checked(self, request: _Request) -> tuple[Reply, Outcome]:
        try:
            operation, params = self._read(request)
        except _SoapFault as fault:
            message = self._echo(fault.message, request.secrets)
            return Reply(500, fault_envelope(fault.code, message)), (None, None)
        refusal = self._admit(operation, params, request.client_ip)
        if refusal is not None:
            return self._refused(operation, refusal, request.secrets), ("NO", refusal)
        try:
            return self._run(operation, params, request.client_ip), ("OK", self._note())
        except NotFound as exc:
            if self._fake.readings.not_found == "empty_object" and _is_lookup(operation):
                empty = self._model.empty_result(operation)
                return self._answer(operation, empty, "OK", self._note()), ("OK", self._note())
            return self._refused(operation, exc.detail, request.secrets), ("NO", exc.detail)
        except Rejected as exc:
            return self._refused(operation, exc.detail, request.secrets), ("NO", exc.detail)

    def _read(self, request: _Request) -> tuple[str, dict[str, Any]]:
        """Check envelope, SOAPAction and schema; return the operation and its values."""
        content_type, soap_action = request.content_type, request.soap_action
        envelope, element, xml_error = request.envelope, request.element, request.xml_error
        if not (content_type or "").lower().startswith("text/xml"):
            raise _SoapFault(
                f"Server was unable to process request. ---> Content-Type {content_type!r} is "
                "not text/xml; this endpoint speaks SOAP 1.1"
            )
        if xml_error is not None:
            raise _SoapFault(_READ_FAILED + xml_error)
        if envelope is None or envelope.tag != f"{{{SOAP_ENV_NS}}}Envelope":
            tag = "" if envelope is None else envelope.tag
            raise _SoapFault(f"{_READ_FAILED}(1, 1). ---> {tag} is not a SOAP 1.1 Envelope.")
        if soap_action is None:
            raise _SoapFault(
                "Unable to handle request without a valid action parameter. "
                "Please supply a valid soap action."
            )
        action = _action_name(soap_action)
        if action not in self._model.operations:
            raise _SoapFault(
                f"Server did not recognize the value of HTTP Header SOAPAction: "
                f"{soap_action.strip(chr(34))}."
            )
        if element is None or element.tag != f"{{{KF_NS}}}{action}":
            found = "nothing" if element is None else element.tag
            raise _SoapFault(
                f"{_READ_FAILED}(1, 1). ---> {found} was not expected "
                f"(SOAPAction is KashFlow/{action})."
            )
        error = self._model.validate(element)
        if error is not None:
            raise _SoapFault(_READ_FAILED + error)
        try:
            return action, self._model.parse(element)
        except ValueError as exc:
            raise _SoapFault(f"{_READ_FAILED}(1, 1). ---> {exc}") from None

    def _admit(self, operation: str, params: Mapping[str, Any], client_ip: str) -> str | None:
        """KashFlow's gatekeeping: credentials, API switch, IP access list (None: admitted)."""
        fake = self._fake
        username = (params.get("UserName") or "").strip()
        if username.lower() != fake.username.lower() or params.get("Password") != fake.password:
            return detail("incorrect_credentials")
        if not fake.api_enabled:
            return detail("api_disabled")
        if operation == "AutoAuthIP":
            return None
        if fake.ip_restriction and client_ip not in fake._allowed_ips:
            return detail("ip_not_allowed", ip=client_ip)
        return None

    def _run(self, operation: str, params: dict[str, Any], client_ip: str) -> Reply:
        handler = self._handlers[operation]
        collections = CACHEABLE.get(operation)
        if collections is None:
            return self._answer(operation, handler(params, client_ip), "OK", self._note())
        public = sorted((k, v) for k, v in params.items() if k not in _SECRET_PARAMS)
        key = (operation, repr(public), self._note())
        # Versions are read before the data, so a racing write can only make the entry stale
        # (re-rendered next time), never label new data with an old version.
        versions = tuple(self._fake._version(c) for c in collections)
        with self._cache_lock:
            cached = self._cache.get(key)
        if cached is not None and cached[0] == versions:
            return Reply(200, cached[1])
        reply = self._answer(operation, handler(params, client_ip), "OK", self._note())
        with self._cache_lock:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = (versions, reply.body)
        return reply

    def _answer(self, operation: str, result: object, status: str, text: str | None) -> Reply:
        return Reply(200, self._renderer.response(operation, result, status, text))

    def _refused(self, operation: str, text: str, secrets: tuple[tuple[str, str], ...]) -> Reply:
        return self._answer(operation, None, "NO", self._echo(text, secrets))

    def _refusal(self, operation: str | None, text: str) -> bytes:
        """``Status=NO`` with *text* for *operation*, or a SOAP fault when it is unknown."""
        if operation in self._model.operations:
            assert operation is not None
            return self._renderer.response(operation, None, "NO", text)
        return fault_envelope("soap:Server", text)

    def _note(self) -> str | None:
        return self._fake.readings.note

    def _echo(self, text: str, secrets: tuple[tuple[str, str], ...]) -> str:
        """*text*, plus the caller's secrets when ``fake.echo_secrets`` asks for a hostile fake."""
        if not self._fake.echo_secrets:
            return text
        sent = dict(secrets)
        sent.setdefault("AutoAuthKey", self._fake.autoauth_key or "")
        # The secrets first (a client that quotes a few characters quotes them), then again
        # in capitals, as a server that upper-cases what it echoes would show them.
        order = ("Password", "AutoAuthKey", "UserName")
        shown = ", ".join(f"{name}={sent[name]}" for name in order if sent.get(name))
        return f"{text} [request: {shown}] [{shown.upper()}]".strip()


def _is_lookup(operation: str) -> bool:
    """Lookups and deletes answer "not found" as ``Readings.not_found`` says; writes refuse."""
    return operation.startswith(("Get", "Delete"))


def _secrets(element: etree._Element | None) -> tuple[tuple[str, str], ...]:
    """UserName, Password and AutoAuthKey as sent (for ``echo_secrets`` only)."""
    if element is None:
        return ()
    found = []
    for child in element:
        if isinstance(child.tag, str) and local_name(child.tag) in _SECRET_PARAMS:
            found.append((local_name(child.tag), child.text or ""))
    return tuple(found)


def _action_name(soap_action: str | None) -> str | None:
    """``"KashFlow/GetSuppliers"`` (quoted or not) -> ``GetSuppliers``; None if not KashFlow's."""
    if soap_action is None:
        return None
    action = soap_action.strip().strip('"')
    prefix, _, name = action.rpartition("/")
    return name if prefix == KF_NS else None
