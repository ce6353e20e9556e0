"""``doctor --record DIR``: a vcrpy cassette of the session, safe to attach to a bug report.

KashFlow sends the username and password as body elements of every request (the AutoAuth key
too, in ``AutoAuthIP``), and its list answers carry contacts' names, e-mails, addresses and
phone numbers. :class:`Scrubber` removes all of it before anything is written: credentials
wherever they appear, the text of every personal element of a supplier, customer, project or
bank account (an allow-list keeps only ids, dates, flags and terms), and IP addresses.
The JSON report goes through the same scrubber.

Recording needs vcrpy (``pip install 'kashflow-sync[record]'``).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from lxml import etree

from . import errors

__all__ = ["REDACTED", "Scrubber", "check_recording_available", "recording"]

REDACTED = "REDACTED"

#: Elements holding credentials, scrubbed wherever they are.
CREDENTIAL_ELEMENTS = frozenset({"UserName", "Password", "AutoAuthKey"})
#: Elements whose children describe a supplier or customer (lists, lookups, inserts).
CONTACT_PARENTS = frozenset(
    {
        "Supplier",
        "Customer",
        "Supplier2",
        "Customer2",
        "supl",
        "custr",
        "GetSupplierResult",
        "GetCustomerResult",
    }
)
#: The only children of a contact kept as they are: ids, dates, flags and terms.
CONTACT_KEEP = frozenset(
    {
        "SupplierID",
        "CustomerID",
        "Created",
        "Updated",
        "EC",
        "OutsideEC",
        "CurrencyID",
        "PaymentTerms",
        "TradeBorderType",
        "Discount",
        "ShowDiscount",
        "Source",
        "CustHasDeliveryAddress",
        "CountryCode",
        "DeliveryCountryCode",
    }
)
_CHECKBOX = re.compile(r"^CheckBox\d+$")
#: Personal children of other parents: a project's names, a bank account's name.
OTHER_PERSONAL = {
    "Project": frozenset({"Name", "Reference", "Description"}),
    "BankAccount": frozenset({"AccountName"}),
}
#: Elements scrubbed under any parent (a document's contact and links).
ANYWHERE_PERSONAL = frozenset(
    {"CustomerName", "SupplierName", "Customer", "DeliveryAddress", "PermaLink"}
)
#: Keys of the JSON report whose values are identifiers, never KashFlow's or anyone's words.
JSON_IDENTIFIERS = frozenset(
    {
        "key",
        "outcome",
        "verdict",
        "form",
        "operation",
        "writes_sent",
        "state",
        "kind",
        "lookup",
        "type",
        "code",
        "name",
        "not_found",
        "rounding",
        "started_at",
        "learned_at",
        "writes_probed_at",
        "sdk_version",
        "writes_probed_by",
    }
)
SECRET_HEADERS = ("authorization", "cookie", "set-cookie", "x-api-key")

_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
# Eight groups, or a "::" (so times such as 10:15:00 are left alone).
_IPV6 = re.compile(
    r"(?<![\w:])(?:(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}"
    r"|(?:[0-9a-f]{1,4}:)*[0-9a-f]{0,4}::(?:[0-9a-f]{1,4}:)*[0-9a-f]{0,4})(?![\w:])",
    re.I,
)


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


class Scrubber:
    """Masks credentials, the username, IP addresses and contacts' data in text and XML.

    Args:
        secrets: values masked wherever they appear (the password and the AutoAuth key).
        username: masked where it stands as a word of its own (it is often a company name).

    """

    def __init__(self, secrets: Iterable[str], username: str = "") -> None:
        """Prepare the patterns."""
        self.secrets = tuple(s for s in secrets if s)
        self._username = (
            re.compile(rf"(?<![\w.@-]){re.escape(username)}(?![\w.@-])", re.I) if username else None
        )

    def identity(self, value: str) -> str:
        """*value* with the secrets and the username masked."""
        for secret in self.secrets:
            value = value.replace(secret, REDACTED)
        if self._username is not None:
            value = self._username.sub(REDACTED, value)
        return value

    def text(self, value: str) -> str:
        """*value* with secrets, the username and IP addresses masked."""
        return _IPV6.sub("<ip>", _IPV4.sub("<ip>", self.identity(value)))

    def json(self, data: Any, key: str = "") -> Any:
        """JSON-ready *data* with every free-text string passed through :meth:`text`.

        Identifiers (:data:`JSON_IDENTIFIERS`: codes, verdicts, operation names...) are left
        as they are, so a (very) short password can never garble what scripts match on; the
        endpoint keeps its host.
        """
        if isinstance(data, str):
            if key in JSON_IDENTIFIERS:
                return data
            return self.identity(data) if key == "endpoint" else self.text(data)
        if isinstance(data, dict):
            return {k: self.json(value, k) for k, value in data.items()}
        if isinstance(data, (list, tuple)):
            return [self.json(value, key) for value in data]
        return data

    def body(self, body: bytes | str | None) -> bytes | str | None:
        """A SOAP body with credentials and personal elements replaced (same type back)."""
        if not body:
            return body
        raw = body.encode() if isinstance(body, str) else body
        try:
            root = etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError:
            text = self.text(raw.decode("utf-8", "replace"))
            for name in CREDENTIAL_ELEMENTS:
                text = re.sub(
                    rf"(<(?:[\w.-]+:)?{name}\b[^>]*>)(.*?)(</(?:[\w.-]+:)?{name}>)",
                    rf"\g<1>{REDACTED}\g<3>",
                    text,
                    flags=re.S,
                )
            scrubbed = text.encode()
        else:
            for element in root.iter():
                if not isinstance(element.tag, str):
                    continue
                if self._personal(element):
                    element.text = REDACTED
                elif element.text:
                    element.text = self.text(element.text)
            scrubbed = etree.tostring(root, encoding="utf-8", xml_declaration=True)
        return scrubbed.decode() if isinstance(body, str) else scrubbed

    @staticmethod
    def _personal(element: etree._Element) -> bool:
        if len(element):  # a container (a <Customer> in a list): its children are judged
            return False
        name = _local(element.tag)
        if name in CREDENTIAL_ELEMENTS or name in ANYWHERE_PERSONAL:
            return True
        parent = element.getparent()
        parent_name = _local(parent.tag) if parent is not None else ""
        if parent_name in CONTACT_PARENTS:
            return name not in CONTACT_KEEP and not _CHECKBOX.match(name)
        return name in OTHER_PERSONAL.get(parent_name, ())

    # -- vcrpy hooks ------------------------------------------------------------------------

    def request(self, request: Any) -> Any:
        """Vcrpy ``before_record_request``: scrub the body and the URI."""
        request.body = self.body(request.body)
        request.uri = self.identity(request.uri)
        return request

    def response(self, response: dict[str, Any]) -> dict[str, Any]:
        """Vcrpy ``before_record_response``: no secret headers, scrubbed body."""
        headers = response.get("headers", {})
        for name in list(headers):
            if name.lower() in SECRET_HEADERS:
                del headers[name]
        body = response.get("body", {})
        if isinstance(body, dict) and body.get("string"):
            body["string"] = self.body(body["string"])
        return response


def _vcr() -> Any:
    try:
        import vcr
    except ImportError:
        raise errors.ConfigurationError(
            "--record needs vcrpy, which is not installed",
            code="record_unavailable",
            remedy="Install it with: pip install 'kashflow-sync[record]' (or pip install vcrpy).",
        ) from None
    return vcr


def check_recording_available() -> None:
    """Raise ``ConfigurationError`` (``record_unavailable``) now if vcrpy is missing."""
    _vcr()


@contextlib.contextmanager
def recording(path: Path, scrubber: Scrubber) -> Iterator[Path]:
    """Record every HTTP exchange inside the block into the cassette at *path*, scrubbed."""
    vcr = _vcr()
    recorder = vcr.VCR(
        record_mode="all",
        filter_headers=list(SECRET_HEADERS),
        before_record_request=scrubber.request,
        before_record_response=scrubber.response,
        match_on=["method", "path", "body"],
        decode_compressed_response=True,
    )
    with recorder.use_cassette(str(path)):
        yield path
