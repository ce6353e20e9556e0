"""The SOAP endpoint: one request in, one :class:`Reply` out, transport-independent.

Order of checks, as ASMX and KashFlow apply them: injected transport faults; envelope, SOAPAction
and schema (SOAP faults, HTTP 500); then in-band ``Status=NO`` for credentials, API access and
the IP access list; then the operation itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import attrs
from lxml import etree

from ._faults import BEFORE_APPLY, FaultRule
from ._messages import Rejected, detail
from ._records import CallRecord
from ._render import Renderer, fault_envelope
from ._schema import KF_NS, SOAP_ENV_NS, SchemaModel, load_model, local_name

if TYPE_CHECKING:
    from ._fake import FakeKashFlow

__all__ = ["ENDPOINT_PATH", "Reply", "SoapApp"]

#: Where KashFlow serves the SOAP API.
ENDPOINT_PATH = "/api/service.asmx"
_XML = "text/xml; charset=utf-8"
_HTML = "text/html; charset=utf-8"
_SECRET_PARAMS = frozenset({"UserName", "Password", "AutoAuthKey"})
_READ_FAILED = "Server was unable to read request. ---> There is an error in XML document "
_CACHE_LIMIT = 64
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
_log = logging.getLogger("kashflow_sync.testing")

Handler = Callable[[dict[str, Any], str], object]


@attrs.frozen
class Reply:
    """What to send back: an HTTP answer, or a hang-up (``reset``/``drop``) or a timeout.

    ``delay`` asks the loopback server to hold the answer that many seconds.
    """

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = (("Content-Type", _XML),)
    action: Literal["respond", "reset", "drop", "timeout"] = "respond"
    delay: float = 0.0


class _SoapFault(Exception):
    def __init__(self, message: str, code: str = "soap:Client") -> None:
        super().__init__(message)
        self.message, self.code = message, code


def _html(status: int, title: str, text: str) -> bytes:
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>HTTP Error {status}. {text}</p></body></html>"
    ).encode()


class SoapApp:
    """Serves KashFlow's SOAP 1.1 API over a :class:`~._fake.FakeKashFlow` ledger."""

    def __init__(self, fake: FakeKashFlow) -> None:
        """Bind the endpoint to *fake* (ledger, settings, faults and call log)."""
        self._fake = fake
        self._model: SchemaModel = load_model()
        self._renderer = Renderer(self._model)
        self._cache: dict[tuple[str, str], tuple[tuple[int, ...], bytes]] = {}
        self._cache_lock = threading.Lock()
        f = fake
        self._handlers: dict[str, Handler] = {
            "AutoAuthIP": self._auto_auth_ip,
            "GetCurrencies": lambda p, ip: f.currencies,
            "GetNominalCodesExtended": lambda p, ip: f.nominal_codes,
            "GetSuppliers": lambda p, ip: f.suppliers,
            "GetSupplier": lambda p, ip: self._contact("supplier", p.get("SupplierCode")),
            "GetCustomers": lambda p, ip: f.customers,
            "GetCustomer": lambda p, ip: self._contact("customer", p.get("CustomerCode")),
            "GetCustomersModifiedSince": lambda p, ip: [
                c for c in f.customers if c.updated >= p["ModifiedSince"]
            ],
            "GetProjects_Full": lambda p, ip: [
                x for x in f.projects if p["ProjStatus"] in (-1, x.status)
            ],
            "GetInvPayMethods": lambda p, ip: f.sales_payment_methods,
            "GetRecPayMethods": lambda p, ip: f.purchase_payment_methods,
            "GetBankAccounts": lambda p, ip: f.bank_accounts,
            "GetVATRates": lambda p, ip: f.vat_rates,
            "InsertSupplier": lambda p, ip: (
                f._insert_contact("supplier", p.get("supl") or {}).supplier_id
            ),
            "InsertCustomer": lambda p, ip: (
                f._insert_contact("customer", p.get("custr") or {}).customer_id
            ),
            "InsertReceipt": lambda p, ip: f._post_document("receipt", p.get("Inv")).invoice_number,
            "InsertInvoice": lambda p, ip: f._post_document("invoice", p.get("Inv")).invoice_number,
            "GetReceipt": lambda p, ip: f._document("receipt", p["ReceiptNumber"]),
            "GetInvoice": lambda p, ip: f._document("invoice", p["InvoiceNumber"]),
            "GetReceiptsForSupplier": lambda p, ip: f._documents_for("receipt", p["SupplierID"]),
            "GetInvoicesForCustomer": lambda p, ip: f._documents_for("invoice", p["CustID"]),
            "AttachFileToReceipt": lambda p, ip: (
                f._attach("receipt", p["ReceiptNo"], p).attachment_id
            ),
            "AttachFileToInvoice": lambda p, ip: (
                f._attach("invoice", p["InvoiceNo"], p).attachment_id
            ),
            "GetReceiptAttachments": lambda p, ip: f._receipt_attachments(p["ReceiptID"]),
            "InsertReceiptPayment": lambda p, ip: (
                f._post_payment("receipt", p.get("ReceiptPayment")).pay_id
            ),
            "InsertInvoicePayment": lambda p, ip: (
                f._post_payment("invoice", p.get("InvoicePayment")).pay_id
            ),
            "GetReceiptPayment": lambda p, ip: f._payments_for("receipt", p["ReceiptNumber"]),
            "GetInvoicePayment": lambda p, ip: f._payments_for("invoice", p["InvoiceNumber"]),
        }
        #: List answers worth caching, by the ledger collections they depend on. (Not
        #: GetCustomersModifiedSince: every timestamp would make a new, possibly huge, entry.)
        self._cacheable: Mapping[str, tuple[str, ...]] = {
            "GetCurrencies": ("currencies",),
            "GetNominalCodesExtended": ("nominal",),
            "GetSuppliers": ("suppliers",),
            "GetCustomers": ("customers",),
            "GetProjects_Full": ("projects",),
            "GetInvPayMethods": ("methods_invoice",),
            "GetRecPayMethods": ("methods_receipt",),
            "GetBankAccounts": ("banks",),
            "GetVATRates": ("vat",),
        }
        missing = set(self._model.operations) - set(self._handlers)
        if missing:
            raise RuntimeError(f"no handler for {sorted(missing)}")

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
            path: the URL path (must be ``/api/service.asmx``).
            query: the URL query string (``WSDL`` on a GET serves the service description).
            host: the Host header, used to point the served WSDL at this fake.
            content_type: the Content-Type header.
            soap_action: the SOAPAction header, quotes and all.
            body: the request body.
            client_ip: the caller's address as KashFlow would see it.
            read_timeout: the client's read timeout, known only in-process; a delay fault
                longer than this becomes a ``timeout`` reply.

        """
        if path.rstrip("/").lower() != ENDPOINT_PATH:
            return Reply(
                404,
                _html(404, "Not Found", "The resource cannot be found."),
                (("Content-Type", _HTML),),
            )
        if method == "GET":
            return self._get(query, host)
        if method != "POST":
            return Reply(
                405,
                _html(405, "Method Not Allowed", "Use POST."),
                (("Content-Type", _HTML), ("Allow", "GET, POST")),
            )
        timestamp = self._fake._stamp()
        envelope, xml_error = self._parse_xml(body)
        element = self._body_element(envelope)
        operation = self._operation(soap_action, element)
        params = self._params(element)
        rule = self._fake.faults.pick(operation)
        outcome: tuple[str | None, str | None] = (None, None)
        if rule is not None and rule.kind in BEFORE_APPLY:
            reply = self._fault_reply(rule)
        else:
            try:
                reply, outcome = self._process(
                    content_type, soap_action, envelope, element, xml_error, client_ip
                )
            except Exception as exc:  # a bug in the fake must not look like a hang
                _log.exception("FakeKashFlow failed on %s", operation)
                self._fake.errors.append(exc)
                message = f"Server was unable to process request. ---> {exc}"
                reply = Reply(500, fault_envelope("soap:Server", message))
            if rule is not None:
                reply = self._after_apply(rule, reply, read_timeout)
        self._fake._record(
            CallRecord(
                operation=operation,
                params=params,
                client_ip=client_ip,
                http_status=reply.status if reply.action == "respond" else None,
                fault=rule.kind if rule else None,
                timestamp=timestamp,
                status=None if rule and rule.kind in BEFORE_APPLY else outcome[0],
                status_detail=None if rule and rule.kind in BEFORE_APPLY else outcome[1],
            )
        )
        return reply

    # -- request reading ------------------------------------------------------------------

    def _get(self, query: str, host: str) -> Reply:
        if query.lower().split("&")[0] in ("wsdl", "wsdl="):
            url = f"http://{host}{ENDPOINT_PATH}"
            text = self._model.wsdl_text.replace(
                'location="https://securedwebapp.com/api/service.asmx"', f'location="{url}"'
            )
            return Reply(200, text.encode())
        page = "<html><body><h1>KashFlowAPI</h1><p>FakeKashFlow SOAP endpoint.</p></body></html>"
        return Reply(200, page.encode(), (("Content-Type", _HTML),))

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

    def _process(
        self,
        content_type: str | None,
        soap_action: str | None,
        envelope: etree._Element | None,
        element: etree._Element | None,
        xml_error: str | None,
        client_ip: str,
    ) -> tuple[Reply, tuple[str | None, str | None]]:
        try:
            operation, params = self._read(content_type, soap_action, envelope, element, xml_error)
        except _SoapFault as fault:
            return Reply(500, fault_envelope(fault.code, fault.message)), (None, None)
        refusal = self._admit(operation, params, client_ip)
        if refusal is not None:
            return self._answer(operation, None, "NO", refusal), ("NO", refusal)
        try:
            return self._run(operation, params, client_ip), ("OK", None)
        except Rejected as exc:
            return self._answer(operation, None, "NO", exc.detail), ("NO", exc.detail)

    def _read(
        self,
        content_type: str | None,
        soap_action: str | None,
        envelope: etree._Element | None,
        element: etree._Element | None,
        xml_error: str | None,
    ) -> tuple[str, dict[str, Any]]:
        """Check envelope, SOAPAction and schema; return the operation and its values."""
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

    def _auto_auth_ip(self, params: Mapping[str, Any], client_ip: str) -> int:
        fake = self._fake
        if not fake.autoauth_enabled or not fake.autoauth_key:
            raise Rejected(detail("autoauth_disabled"))
        key = (params.get("AutoAuthKey") or "").strip()
        if key.upper() != fake.autoauth_key.upper():
            raise Rejected(detail("autoauth_bad_key"))
        fake.allow_ip(client_ip, params.get("appName") or "")
        return 1

    def _run(self, operation: str, params: dict[str, Any], client_ip: str) -> Reply:
        handler = self._handlers[operation]
        collections = self._cacheable.get(operation)
        if collections is None:
            return self._answer(operation, handler(params, client_ip), "OK", None)
        public = sorted((k, v) for k, v in params.items() if k not in _SECRET_PARAMS)
        key = (operation, repr(public))
        # Versions are read before the data, so a racing write can only make the entry stale
        # (re-rendered next time), never label new data with an old version.
        versions = tuple(self._fake._version(c) for c in collections)
        with self._cache_lock:
            cached = self._cache.get(key)
        if cached is not None and cached[0] == versions:
            return Reply(200, cached[1])
        reply = self._answer(operation, handler(params, client_ip), "OK", None)
        with self._cache_lock:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = (versions, reply.body)
        return reply

    def _answer(self, operation: str, result: object, status: str, text: str | None) -> Reply:
        return Reply(200, self._renderer.response(operation, result, status, text))

    def _contact(self, kind: str, code: str | None) -> object:
        found = (
            self._fake.find_supplier(code or "")
            if kind == "supplier"
            else self._fake.find_customer(code or "")
        )
        if found is None or found.code.upper() != (code or "").strip().upper():
            raise Rejected(detail(f"{kind}_not_found"))
        return found

    # -- faults ---------------------------------------------------------------------------

    @staticmethod
    def _fault_reply(rule: FaultRule) -> Reply:
        if rule.kind == "reset_before":
            return Reply(0, action="reset")
        if rule.kind == "soap_fault":
            return Reply(500, fault_envelope("soap:Server", rule.message))
        titles = {
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
            429: "Too Many Requests",
        }
        title = titles.get(rule.status, "Error")
        headers: tuple[tuple[str, str], ...] = (("Content-Type", _HTML),)
        if rule.retry_after is not None:
            headers += (("Retry-After", f"{rule.retry_after:g}"),)
        return Reply(rule.status, _html(rule.status, title, "The service is unavailable."), headers)

    @staticmethod
    def _after_apply(rule: FaultRule, reply: Reply, read_timeout: float | None) -> Reply:
        if rule.kind == "drop_response":
            return attrs.evolve(reply, action="drop")
        if rule.kind == "malformed_response":
            return attrs.evolve(reply, status=200, body=reply.body[: len(reply.body) // 2])
        if rule.kind == "delay":
            if read_timeout is not None and rule.seconds > read_timeout:
                return attrs.evolve(reply, action="timeout")
            return attrs.evolve(reply, delay=rule.seconds)
        return reply


def _action_name(soap_action: str | None) -> str | None:
    """``"KashFlow/GetSuppliers"`` (quoted or not) -> ``GetSuppliers``; None if not KashFlow's."""
    if soap_action is None:
        return None
    action = soap_action.strip().strip('"')
    prefix, _, name = action.rpartition("/")
    return name if prefix == KF_NS else None
