"""Typed KashFlow SOAP calls. The only code above the transport that sees zeep or XML.

Each public method sends one operation (with the credentials merged in, as KashFlow wants on
every call), maps every failure through :mod:`kashflow_sync._errormap`, and returns plain
Python values or attrs records. Reads are retried per the retry policy; writes only when the
request certainly never reached KashFlow. A call refused because this machine's IP address is
not in the account's access list triggers one ``AutoAuthIP`` and one retry, since egress IPs change.
"""

from __future__ import annotations

import base64
import logging
import mimetypes
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import httpx
from lxml import etree
from zeep import helpers as zeep_helpers
from zeep import xsd

from .. import _errormap, errors
from .._config import Credentials, redact
from .._models import ListItem
from .._retry import RetryPolicy
from ._listparse import LIST_SPECS, read_document_headers, read_items
from .records import LedgerAttachment, LedgerDocument, LedgerLine, LedgerPayment
from .transport import HttpxTransport, shared_zeep_client

__all__ = ["KashFlowService"]

log = logging.getLogger("kashflow_sync")

NS = "{KashFlow}"
_SOAP_ENV = "{http://schemas.xmlsoap.org/soap/envelope/}"
_PARSERS = threading.local()


def _parser() -> etree.XMLParser:
    # lxml parsers must not be shared between threads; publish_many runs several.
    parser: etree.XMLParser | None = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
        _PARSERS.parser = parser
    return parser


T = TypeVar("T")

#: The operation and its key parameter for each step, by document kind. KashFlow mixes ids
#: and numbers across these calls; the parameter names say which one each takes.
_OPS: Mapping[str, Mapping[str, tuple[str, str]]] = {
    "purchase": {
        "contact": ("GetSupplier", "SupplierCode"),
        "insert": ("InsertReceipt", "Inv"),
        "get": ("GetReceipt", "ReceiptNumber"),
        "for_contact": ("GetReceiptsForSupplier", "SupplierID"),
        "attach": ("AttachFileToReceipt", "ReceiptNo"),
        "pay": ("InsertReceiptPayment", "ReceiptPayment"),
        "payments": ("GetReceiptPayment", "ReceiptNumber"),
    },
    "sales": {
        "contact": ("GetCustomer", "CustomerCode"),
        "insert": ("InsertInvoice", "Inv"),
        "get": ("GetInvoice", "InvoiceNumber"),
        "for_contact": ("GetInvoicesForCustomer", "CustID"),
        "attach": ("AttachFileToInvoice", "InvoiceNo"),
        "pay": ("InsertInvoicePayment", "InvoicePayment"),
        "payments": ("GetInvoicePayment", "InvoiceNumber"),
    },
}

# KashFlow writes "no date" as the minimum .NET DateTime.
_NO_DATE = datetime(1, 1, 1)


def _wire_datetime(value: date | datetime | None) -> datetime:
    if value is None:
        return _NO_DATE
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime(value.year, value.month, value.day)


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return None if value.year <= 1 else value.date()
    if isinstance(value, date):
        return value
    return None


def _dec(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


class KashFlowService:
    """One KashFlow account's SOAP API, spoken through an ``httpx.Client``.

    Args:
        http: the client to send through (its timeouts and pool apply).
        endpoint: the service URL.
        credentials: username, password and optional AutoAuth key.
        app_name: the name KashFlow shows beside an IP address AutoAuth added.
        retry: the retry policy for calls that are safe to repeat.
        on_auth_failure: called when KashFlow refuses the credentials.

    """

    def __init__(
        self,
        http: httpx.Client,
        endpoint: str,
        credentials: Credentials,
        *,
        app_name: str,
        retry: RetryPolicy,
        on_auth_failure: Callable[[errors.AuthenticationError], None] | None = None,
    ) -> None:
        """Prepare the service; nothing is sent until a method is called."""
        self._transport = HttpxTransport(http)
        self._zeep = shared_zeep_client()
        self._binding = self._zeep.service._binding
        self.endpoint = endpoint
        self.credentials = credentials
        self.app_name = app_name
        self.retry = retry
        self._on_auth_failure = on_auth_failure

    # ------------------------------------------------------------------ plumbing

    def _exchange(self, operation: str, params: Mapping[str, Any]) -> etree._Element:
        """Send one request; return the ``<Op>Response`` element or raise a mapped error."""
        creds = self.credentials
        envelope = self._zeep.create_message(
            self._zeep.service,
            operation,
            UserName=creds.username,
            Password=creds.password,
            **params,
        )
        headers = {"SOAPAction": f'"{self._binding.get(operation).soapaction}"'}
        started = time.perf_counter()
        try:
            response = self._transport.post_xml(self.endpoint, envelope, headers)
        except httpx.HTTPError as exc:
            log.info("kashflow %s failed: %s", operation, type(exc).__name__)
            raise _errormap.from_transport_error(operation, exc) from None
        log.debug(
            "kashflow %s -> HTTP %s in %.0f ms",
            operation,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return self._read_response(operation, response)

    def _read_response(self, operation: str, response: httpx.Response) -> etree._Element:
        try:
            root = etree.fromstring(response.content, _parser())
        except etree.XMLSyntaxError:
            if response.status_code != 200:
                raise _errormap.from_http_status(
                    operation, response.status_code, _retry_after(response)
                ) from None
            raise errors.ProtocolError(
                f"KashFlow's answer to {operation} is not XML", operation=operation
            ) from None
        body = root.find(_SOAP_ENV + "Body")
        if body is None or len(body) == 0:
            if response.status_code != 200:
                raise _errormap.from_http_status(
                    operation, response.status_code, _retry_after(response)
                )
            raise errors.ProtocolError(
                f"KashFlow's answer to {operation} has no SOAP body", operation=operation
            )
        answer = body[0]
        if answer.tag == _SOAP_ENV + "Fault":
            code = answer.findtext("faultcode") or ""
            text = redact(answer.findtext("faultstring") or "", self.credentials.secrets)
            raise _errormap.from_fault(operation, code, text)
        if response.status_code != 200:
            raise _errormap.from_http_status(
                operation, response.status_code, _retry_after(response)
            )
        if answer.tag != f"{NS}{operation}Response":
            raise errors.ProtocolError(
                f"expected {operation}Response, KashFlow sent {etree.QName(answer).localname}",
                operation=operation,
            )
        if (answer.findtext(NS + "Status") or "").strip().upper() == "NO":
            detail = redact(answer.findtext(NS + "StatusDetail") or "", self.credentials.secrets)
            raise _errormap.from_status_detail(operation, detail)
        return answer

    def _call(
        self,
        operation: str,
        params: Mapping[str, Any],
        read: Callable[[etree._Element], T],
        *,
        idempotent: bool,
        not_found: Callable[[], T] | None = None,
    ) -> T:
        """Send *operation* with retries and the one AutoAuth retry; *read* its answer.

        Args:
            operation: the SOAP operation.
            params: its arguments other than the credentials.
            read: turns the ``<Op>Response`` element into the result.
            idempotent: whether the call may be repeated after it may have reached KashFlow.
            not_found: for lookups, what KashFlow's "There is no ..." answer means instead of
                an error (None, an empty list).

        """
        if not_found is not None:
            try:
                return self._call(operation, params, read, idempotent=idempotent)
            except errors.RejectedError as exc:
                if exc.code == "not_found":
                    return not_found()
                raise

        def attempt() -> T:
            return read(self._exchange(operation, params))

        try:
            try:
                return self.retry.call(attempt, idempotent=idempotent)
            except errors.IPNotAllowedError as exc:
                if exc.code != "ip_not_allowed" or not self.credentials.autoauth_key:
                    raise
                log.info("kashflow %s: IP not allowed; calling AutoAuthIP once", operation)
                self.auto_auth_ip()
                # KashFlow refused the first request outright, so sending it again is safe.
                return self.retry.call(attempt, idempotent=idempotent)
        except errors.AuthenticationError as exc:
            if self._on_auth_failure is not None:
                self._on_auth_failure(exc)
            raise

    def _deserialize(self, operation: str, answer: etree._Element) -> Any:
        """Zeep's reading of a (small) response, as plain dicts and lists."""
        envelope = answer.getparent().getparent()  # type: ignore[union-attr]
        result = self._binding.get(operation).process_reply(envelope)
        return zeep_helpers.serialize_object(result, dict)  # type: ignore[no-untyped-call]

    def _result(self, operation: str, answer: etree._Element) -> Any:
        return self._deserialize(operation, answer).get(f"{operation}Result")

    def _int_result(self, operation: str) -> Callable[[etree._Element], int]:
        def read(answer: etree._Element) -> int:
            text = answer.findtext(f"{NS}{operation}Result") or "0"
            value = int(text)
            if value <= 0:
                # KashFlow answers 0 where it means "refused" even with Status OK.
                raise errors.RejectedError(
                    f"KashFlow returned no id from {operation}", code="no_id", operation=operation
                )
            return value

        return read

    def _defaults(self, type_name: str) -> dict[str, Any]:
        """A value for every required element of a KashFlow type (0, False, no date)."""
        values: dict[str, Any] = {}
        for name, element in self._zeep.get_type(f"ns0:{type_name}").elements:
            if element.min_occurs < 1:
                continue
            kind = getattr(element.type, "name", "")
            if kind == "boolean":
                values[name] = False
            elif kind == "dateTime":
                values[name] = _NO_DATE
            elif kind == "decimal":
                values[name] = Decimal(0)
            else:
                values[name] = 0
        return values

    # ------------------------------------------------------------------ connection

    def auto_auth_ip(self) -> int:
        """Add this machine's IP address to the account's API access list (``AutoAuthIP``)."""
        key = self.credentials.autoauth_key
        if not key:
            raise errors.IPNotAllowedError("no AutoAuth key was given", operation="AutoAuthIP")
        params = {"appName": self.app_name, "AutoAuthKey": key}

        def read(answer: etree._Element) -> int:
            # The meaning of AutoAuthIP's integer is undocumented; Status is the verdict.
            text = answer.findtext(f"{NS}AutoAuthIPResult") or "0"
            return int(text) if text.lstrip("-").isdigit() else 0

        return self._call("AutoAuthIP", params, read, idempotent=True)

    # ------------------------------------------------------------------ lists

    def fetch_list(self, name: str) -> list[ListItem]:
        """Every item of the named list (see ``LIST_NAMES``), read by the fast list reader."""
        spec = LIST_SPECS[name]

        def read(answer: etree._Element) -> list[ListItem]:
            result = answer.find(f"{NS}{spec.operation}Result")
            return [] if result is None else list(read_items(result, spec))

        return self._call(spec.operation, dict(spec.params), read, idempotent=True)

    def customers_modified_since(self, since: datetime) -> list[ListItem]:
        """Customers created or changed at or after *since* (``GetCustomersModifiedSince``)."""
        spec = LIST_SPECS["customers"]

        def read(answer: etree._Element) -> list[ListItem]:
            result = answer.find(f"{NS}GetCustomersModifiedSinceResult")
            return [] if result is None else list(read_items(result, spec))

        params = {"ModifiedSince": _wire_datetime(since)}
        return self._call("GetCustomersModifiedSince", params, read, idempotent=True)

    # ------------------------------------------------------------------ contacts

    def insert_supplier(self, name: str, code: str = "") -> int:
        """Create a supplier; returns its new SupplierID."""
        record = self._defaults("Supplier")
        now = datetime.now().replace(microsecond=0)
        record.update(Name=name, Created=now, Updated=now)
        if code:
            record["Code"] = code
        return self._call(
            "InsertSupplier", {"supl": record}, self._int_result("InsertSupplier"), idempotent=False
        )

    def insert_customer(self, name: str, code: str = "") -> int:
        """Create a customer; returns its new CustomerID."""
        record = self._defaults("Customer")
        now = datetime.now().replace(microsecond=0)
        record.update(Name=name, Created=now, Updated=now)
        if code:
            record["Code"] = code
        return self._call(
            "InsertCustomer",
            {"custr": record},
            self._int_result("InsertCustomer"),
            idempotent=False,
        )

    def find_contact(self, kind: str, code: str) -> tuple[int, str] | None:
        """``(id, name)`` of the supplier (``kind="purchase"``) or customer with this code."""
        op, param = _OPS[kind]["contact"]
        id_field = "SupplierID" if kind == "purchase" else "CustomerID"

        def read(answer: etree._Element) -> tuple[int, str] | None:
            result = answer.find(f"{NS}{op}Result")
            if result is None:
                return None
            value = result.findtext(NS + id_field)
            if not value or int(value) <= 0:
                return None
            return int(value), result.findtext(NS + "Name") or ""

        return self._call(op, {param: code}, read, idempotent=True, not_found=lambda: None)

    # ------------------------------------------------------------------ documents

    def insert_document(
        self, kind: str, header: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]
    ) -> int:
        """Create a receipt (``kind="purchase"``) or sales invoice with its lines in one call.

        Returns KashFlow's new document *number*. Lines go as ``ArrayOfAnyType`` items typed
        ``xsi:type="InvoiceLine"``, which KashFlow requires.
        """
        op, param = _OPS[kind]["insert"]
        line_type = self._zeep.get_type("ns0:InvoiceLine")
        typed = []
        for sort, line in enumerate(lines, start=1):
            values = self._defaults("InvoiceLine")
            values["Sort"] = sort
            values.update(line)
            typed.append(xsd.AnyObject(line_type, line_type(**values)))  # type: ignore[no-untyped-call]
        invoice = self._defaults("Invoice")
        invoice.update(header)
        invoice["Lines"] = {"anyType": typed}
        return self._call(op, {param: invoice}, self._int_result(op), idempotent=False)

    def get_document(self, kind: str, number: int) -> LedgerDocument | None:
        """The receipt or invoice with this number, or None when KashFlow has none."""
        op, param = _OPS[kind]["get"]

        def read(answer: etree._Element) -> LedgerDocument | None:
            data = self._result(op, answer)
            return _document(data) if data and data.get("InvoiceNumber") else None

        return self._call(op, {param: number}, read, idempotent=True, not_found=lambda: None)

    def documents_for_contact(self, kind: str, contact_id: int) -> list[LedgerDocument]:
        """Every receipt of a supplier, or every invoice of a customer (headers, no lines)."""
        op, param = _OPS[kind]["for_contact"]

        def read(answer: etree._Element) -> list[LedgerDocument]:
            result = answer.find(f"{NS}{op}Result")
            return [] if result is None else list(read_document_headers(result))

        return self._call(op, {param: contact_id}, read, idempotent=True, not_found=list)

    def attach_file(
        self, kind: str, number: int, filename: str, content: bytes, content_type: str
    ) -> int:
        """Attach a file to a receipt or invoice (by document number); returns its id."""
        op, number_param = _OPS[kind]["attach"]
        extension = filename.rpartition(".")[2].lower() if "." in filename else ""
        if not extension:
            guessed = mimetypes.guess_extension(content_type) or ""
            extension = guessed.lstrip(".")
        params = {
            number_param: number,
            "Base64String": base64.b64encode(content).decode("ascii"),
            "ContentType": content_type,
            "Filename": filename,
            "FileExtension": extension,
            "FileSize": str(len(content)),
        }
        return self._call(op, params, self._int_result(op), idempotent=False)

    def receipt_attachments(self, receipt_id: int) -> list[LedgerAttachment]:
        """Files attached to a receipt (by internal id); KashFlow has no such call for invoices."""

        def read(answer: etree._Element) -> list[LedgerAttachment]:
            data = self._result("GetReceiptAttachments", answer) or {}
            return [
                LedgerAttachment(
                    kashflow_id=int(a.get("AttachmentID") or 0),
                    filename=a.get("ActualFilename") or "",
                    content_type=a.get("ContentType") or "",
                    size=str(a.get("FileSize") or ""),
                )
                for a in _items(data, "ReceiptAttachment")
            ]

        return self._call(
            "GetReceiptAttachments",
            {"ReceiptID": receipt_id},
            read,
            idempotent=True,
            not_found=list,
        )

    def insert_payment(
        self,
        kind: str,
        number: int,
        *,
        paid_on: date,
        method_id: int,
        account_id: int,
        amount: Decimal,
        note: str = "",
    ) -> int:
        """Record a payment against a receipt or invoice (by number); returns the payment id."""
        op, param = _OPS[kind]["pay"]
        payment = self._defaults("Payment")
        payment.update(
            PayInvoice=number,
            PayDate=_wire_datetime(paid_on),
            PayMethod=method_id,
            PayAccount=account_id,
            PayAmount=amount,
        )
        if note:
            payment["PayNote"] = note
        return self._call(op, {param: payment}, self._int_result(op), idempotent=False)

    def payments(self, kind: str, number: int) -> list[LedgerPayment]:
        """Payments recorded against a receipt or invoice (by number)."""
        op, param = _OPS[kind]["payments"]

        def read(answer: etree._Element) -> list[LedgerPayment]:
            data = self._result(op, answer) or {}
            return [
                LedgerPayment(
                    kashflow_id=int(p.get("PayID") or 0),
                    document_number=int(p.get("PayInvoice") or 0),
                    paid_on=_as_date(p.get("PayDate")),
                    method_id=int(p.get("PayMethod") or 0),
                    account_id=int(p.get("PayAccount") or 0),
                    amount=_dec(p.get("PayAmount")),
                    note=p.get("PayNote") or "",
                )
                for p in _items(data, "Payment")
            ]

        return self._call(op, {param: number}, read, idempotent=True, not_found=list)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _items(data: Any, key: str) -> Iterator[Mapping[str, Any]]:
    """The items of an ``ArrayOf…`` value: None, one item or a list of them."""
    if not data:
        return
    value = data.get(key) if isinstance(data, Mapping) else data
    if value is None:
        return
    if isinstance(value, Mapping):
        yield value
        return
    yield from (v for v in value if v is not None)


def _line(value: Any) -> LedgerLine:
    if isinstance(value, etree._Element):
        value = {etree.QName(c).localname: c.text for c in value}
    elif not isinstance(value, Mapping):
        value = zeep_helpers.serialize_object(value, dict)  # type: ignore[no-untyped-call]
    return LedgerLine(
        description=value.get("Description") or "",
        quantity=_dec(value.get("Quantity")),
        rate=_dec(value.get("Rate")),
        charge_type=int(value.get("ChargeType") or 0),
        vat_rate=_dec(value.get("VatRate")),
        vat_amount=_dec(value.get("VatAmount")),
        project_id=int(value.get("ProjID") or 0),
    )


def _document(data: Mapping[str, Any]) -> LedgerDocument:
    raw_lines = data.get("Lines") or {}
    lines = raw_lines.get("anyType") if isinstance(raw_lines, Mapping) else raw_lines
    if lines is None:
        lines = []
    elif not isinstance(lines, list):
        lines = [lines]
    return LedgerDocument(
        kashflow_id=int(data.get("InvoiceDBID") or 0),
        number=int(data.get("InvoiceNumber") or 0),
        issue_date=_as_date(data.get("InvoiceDate")),
        due_date=_as_date(data.get("DueDate")),
        contact_id=int(data.get("CustomerID") or 0),
        reference=data.get("CustomerReference") or "",
        net=_dec(data.get("NetAmount")),
        vat=_dec(data.get("VATAmount")),
        amount_paid=_dec(data.get("AmountPaid")),
        project_id=int(data.get("ProjectID") or 0),
        currency=data.get("CurrencyCode") or "",
        lines=tuple(_line(v) for v in lines if v is not None),
    )
