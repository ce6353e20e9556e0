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
import html
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import attrs
from lxml import etree

from .. import errors
from .._error_codes import ErrorCode

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
#: Elements scrubbed under any parent (a document's contact and links, a lookup's code).
ANYWHERE_PERSONAL = frozenset(
    {
        "CustomerName",
        "SupplierName",
        "Customer",
        "DeliveryAddress",
        "PermaLink",
        "SupplierCode",
        "CustomerCode",
    }
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
        "credit_lines",
        "credit_refund",
        "apply_false",
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


def _personal(name: str, parent: str) -> bool:
    """Whether the text of element *name* under *parent* is credentials or personal data."""
    if name in CREDENTIAL_ELEMENTS or name in ANYWHERE_PERSONAL:
        return True
    if parent in CONTACT_PARENTS:
        return name not in CONTACT_KEEP and not _CHECKBOX.match(name)
    return name in OTHER_PERSONAL.get(parent, ())


@attrs.frozen
class _Context:
    """Where a piece of text stands: inside which element, and whether it is private there.

    Text directly inside a personal element is private, and so is everything nested in one
    (``<Name>Acme <b>Paper</b></Name>``), except in a contact, whose children are judged one
    by one. Text directly inside a contact is private too: only its children are data.
    """

    name: str = ""
    private: bool = False
    hides_children: bool = False

    def enter(self, name: str) -> _Context:
        """The context inside a child element called *name*."""
        personal = _personal(name, self.name)
        return _Context(
            name,
            self.hides_children or personal or name in CONTACT_PARENTS,
            self.hides_children or (personal and name not in CONTACT_PARENTS),
        )


# A body that is not well-formed XML, as tokens: comments, CDATA sections, tags (either of
# the three cut off at the end of a truncated body), declarations, and the text between them.
_TOKEN = re.compile(
    r"<!--(?P<comment>.*?)(?:(?P<comment_end>-->)|\Z)"
    r"|<!\[CDATA\[(?P<cdata>.*?)(?:(?P<cdata_end>\]\]>)|\Z)"
    r"|<(?P<close>/)?(?P<name>[A-Za-z_][\w.:-]*)"
    # An attribute value never holds "<" (XML forbids it), so a quote left open cannot turn
    # the markup after it into one attribute's value.
    r"(?P<attrs>(?:[^<>\"']|\"[^\"<]*\"|'[^'<]*')*)(?P<tag_end>>|\Z)"
    r"|<[!?][^>]*>?"
    r"|(?P<text>[^<]+)"
    r"|<",
    re.S,
)
_ATTRIBUTE = re.compile(r"(=\s*)([\"'])([^<]*?)\2")


class Scrubber:
    """Masks credentials, the username, IP addresses and contacts' data in text and XML.

    Args:
        secrets: values masked wherever they appear (the password and the AutoAuth key).
        username: masked where it stands as a word of its own (it is often a company name).

    """

    def __init__(self, secrets: Iterable[str], username: str = "") -> None:
        """Prepare the patterns."""
        self.secrets = tuple(s for s in secrets if s)
        # In any case: KashFlow may echo what it was sent upper- or lower-cased.
        self._secrets = (
            re.compile(
                "|".join(re.escape(s) for s in sorted(self.secrets, key=len, reverse=True)), re.I
            )
            if self.secrets
            else None
        )
        self._username = (
            re.compile(rf"(?<![\w.@-]){re.escape(username)}(?![\w.@-])", re.I) if username else None
        )

    def identity(self, value: str) -> str:
        """*value* with the secrets and the username masked."""
        if self._secrets is not None:
            value = self._secrets.sub(REDACTED, value)
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
        """A SOAP body with credentials and personal elements replaced (same type back).

        A well-formed body is scrubbed as a tree; anything else (a truncated answer, an HTML
        error page) token by token by the same rules, so what needs no scrubbing stays as it
        came, truncation and all.
        """
        if not body:
            return body
        raw = body.encode() if isinstance(body, str) else body
        try:
            root = etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError:
            scrubbed = self._markup(raw.decode("utf-8", "replace")).encode()
        else:
            self._tree(root)
            scrubbed = etree.tostring(root, encoding="utf-8", xml_declaration=True)
        return scrubbed.decode() if isinstance(body, str) else scrubbed

    def _masked(self, text: str, private: bool) -> str:
        """*text* as it may be written: REDACTED if *private*, else with secrets masked."""
        return REDACTED if private and text.strip() else self.text(text)

    def _tree(self, root: etree._Element) -> None:
        """Scrub a parsed body in place: every text, tail, comment and attribute value."""
        contexts: dict[etree._Element, _Context] = {}
        for node in root.iter():
            parent = node.getparent()
            outer = contexts[parent] if parent is not None else _Context()
            if isinstance(node.tag, str):
                inner = contexts[node] = outer.enter(_local(node.tag))
                for name, value in node.attrib.items():
                    node.set(name, self.text(str(value)))
                if node.text:
                    node.text = self._masked(node.text, inner.private)
                elif not len(node) and _personal(inner.name, outer.name):
                    node.text = REDACTED
            elif node.text and not isinstance(node, etree._Entity):
                # A comment or processing instruction is private where its element's text is.
                node.text = self._masked(node.text, outer.private)
            if node.tail:  # text after a child is its parent's text
                node.tail = self._masked(node.tail, outer.private)

    def _markup(self, text: str) -> str:
        """A body that is not well-formed XML, scrubbed token by token (see :meth:`body`)."""
        out: list[str] = []
        stack = [_Context()]
        for token in _TOKEN.finditer(text):
            private = stack[-1].private
            if token["text"] is not None:
                out.append(self._escaped(token["text"], private))
            elif token["comment"] is not None:
                end = token["comment_end"] or ""
                out.append(f"<!--{self._masked(token['comment'], private)}{end}")
            elif token["cdata"] is not None:
                end = token["cdata_end"] or ""
                out.append(f"<![CDATA[{self._masked(token['cdata'], private)}{end}")
            elif token["name"] is not None:
                out.append(self._tag(token, stack))
            else:  # a declaration, a processing instruction or a stray "<"
                out.append(self.text(token[0]))
        return "".join(out)

    def _tag(self, token: re.Match[str], stack: list[_Context]) -> str:
        """One start or end tag, its attribute values scrubbed; keeps *stack* in step."""
        name = token["name"].rpartition(":")[2]
        attributes, end = token["attrs"], token["tag_end"]
        if token["close"]:
            names = [context.name for context in stack]
            if name in names[1:]:  # an end tag with no start tag open is ignored
                del stack[len(names) - 1 - names[::-1].index(name) :]
        elif end and not attributes.rstrip().endswith("/"):
            stack.append(stack[-1].enter(name))
        if end:
            attributes = _ATTRIBUTE.sub(
                lambda m: m[1] + m[2] + self._escaped(m[3], False) + m[2], attributes
            )
        else:  # cut off inside the tag: scrub what is there as text
            attributes = self.text(attributes)
        return f"<{token['close'] or ''}{token['name']}{attributes}{end}"

    def _escaped(self, raw: str, private: bool) -> str:
        """Escaped text scrubbed by what it means (``&amp;`` and all); unchanged when clean."""
        plain = html.unescape(raw)
        masked = self._masked(plain, private)
        return raw if masked == plain else xml_escape(masked, {'"': "&quot;", "'": "&apos;"})

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
            code=ErrorCode.RECORD_UNAVAILABLE,
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
