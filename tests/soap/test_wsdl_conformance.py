"""The project's WSDL says what KashFlow's own WSDL says, for every operation the SDK uses.

KashFlow's WSDL is read from ``../shared/reference/kashflow-soap.wsdl`` beside the repository and
is never copied into it; without it the module skips, and under ``CI=true`` fails (see
``_reference``). Three views are compared: the binding (SOAPAction, document/literal), the
schema XML (every element and complexType an operation reaches, prefixes resolved to namespace
URIs), and what zeep does with each WSDL (request envelopes, parsed replies).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import zeep
from lxml import etree
from zeep import helpers, xsd
from zeep.transports import Transport

from _reference import REPO_ROOT, require_reference

REFERENCE_WSDL = require_reference()
PROJECT_WSDL = REPO_ROOT / "src" / "kashflow_sync" / "soap" / "kashflow.wsdl"
SOAP_ENCODING_STAND_IN = Path(__file__).parent / "data" / "soap-encoding-stand-in.xsd"

NS_WSDL = "http://schemas.xmlsoap.org/wsdl/"
NS_SOAP11 = "http://schemas.xmlsoap.org/wsdl/soap/"
NS_XSD = "http://www.w3.org/2001/XMLSchema"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS_SOAP_ENCODING = "http://schemas.xmlsoap.org/soap/encoding/"
TNS = "KashFlow"
SERVICE_NAME, PORT_NAME = "KashFlowAPI", "KashFlowAPISoap"
INVOICE_LINE = f"{{{TNS}}}InvoiceLine"

# Adding or dropping an operation from the project's WSDL must be a deliberate edit here too.
EXPECTED_OPERATIONS = (
    "AttachFileToInvoice",
    "AttachFileToReceipt",
    "AutoAuthIP",
    "DeleteCustomer",
    "DeleteInvoice",
    "DeleteInvoicePayment",
    "DeleteReceipt",
    "DeleteReceiptAttachment",
    "DeleteReceiptPayment",
    "DeleteSupplier",
    "GetBankAccounts",
    "GetCurrencies",
    "GetCustomer",
    "GetCustomers",
    "GetCustomersModifiedSince",
    "GetInvPayMethods",
    "GetInvoice",
    "GetInvoicePayment",
    "GetInvoicesForCustomer",
    "GetInvoices_Recent",
    "GetNominalCodesExtended",
    "GetProjects_Full",
    "GetRecPayMethods",
    "GetReceipt",
    "GetReceiptAttachments",
    "GetReceipts_Recent",
    "GetReceiptPayment",
    "GetReceiptsForSupplier",
    "GetSupplier",
    "GetSuppliers",
    "GetVATRates",
    "InsertCustomer",
    "InsertInvoice",
    "InsertInvoicePayment",
    "InsertReceipt",
    "InsertReceiptPayment",
    "InsertSupplier",
    "applyCreditNoteToInvoice",
)

# --- the WSDL documents as XML -------------------------------------------------------------------


def _q(namespace: str, local: str) -> str:
    return f"{{{namespace}}}{local}"


@dataclass(frozen=True)
class _Wsdl:
    """One WSDL parsed with lxml, with the KashFlow schema's named components indexed."""

    root: etree._Element
    elements: Mapping[str, etree._Element]
    types: Mapping[str, etree._Element]

    @classmethod
    def parse(cls, path: Path) -> _Wsdl:
        root = etree.parse(str(path)).getroot()
        elements: dict[str, etree._Element] = {}
        types: dict[str, etree._Element] = {}
        for schema in root.iterfind(f"{{{NS_WSDL}}}types/{{{NS_XSD}}}schema"):
            if schema.get("targetNamespace") != TNS:
                continue
            for node in schema:
                if node.tag == _q(NS_XSD, "element"):
                    elements[node.get("name", "")] = node
                elif node.tag in (_q(NS_XSD, "complexType"), _q(NS_XSD, "simpleType")):
                    types[node.get("name", "")] = node
        return cls(root, elements, types)

    def find(self, kind: str, name: str) -> etree._Element | None:
        """The top-level WSDL component ``kind`` (binding, portType, message...) called ``name``."""
        return self.root.find(f"{{{NS_WSDL}}}{kind}[@name='{name}']")

    def soap11_binding(self) -> etree._Element:
        """The binding behind the SOAP 1.1 port, checked to really be SOAP 1.1."""
        port = self.root.find(
            f"{{{NS_WSDL}}}service[@name='{SERVICE_NAME}']/{{{NS_WSDL}}}port[@name='{PORT_NAME}']"
        )
        assert port is not None, f"no port {SERVICE_NAME}/{PORT_NAME}"
        binding = self.find("binding", etree.QName(_resolve(port, port.get("binding"))).localname)
        assert binding is not None, f"port {PORT_NAME} names a binding that does not exist"
        assert binding.find(f"{{{NS_SOAP11}}}binding") is not None, f"{PORT_NAME} is not SOAP 1.1"
        return binding

    def operation_names(self) -> list[str]:
        """Names of the operations in the SOAP 1.1 binding, in document order."""
        return [
            op.get("name", "") for op in self.soap11_binding().iterfind(f"{{{NS_WSDL}}}operation")
        ]


def _resolve(node: etree._Element, value: str | None) -> str | None:
    """A QName-valued attribute as Clark notation, so differing prefixes compare equal."""
    if value is None:
        return None
    prefix, _, local = value.rpartition(":")
    namespace = node.nsmap.get(prefix or None)
    if prefix and namespace is None:
        raise AssertionError(f"prefix {prefix!r} in {value!r} is not declared")
    return _q(namespace, local) if namespace else local


def _binding_facts(wsdl: _Wsdl, operation: str) -> dict[str, str | None]:
    """What the SOAP 1.1 binding and its portType say about one operation on the wire."""
    binding = wsdl.soap11_binding()
    op = binding.find(f"{{{NS_WSDL}}}operation[@name='{operation}']")
    if op is None:
        return {"operation": None}
    soap_op = op.find(f"{{{NS_SOAP11}}}operation")
    default_style = binding.find(f"{{{NS_SOAP11}}}binding")
    facts: dict[str, str | None] = {
        "operation": operation,
        "soapAction": None if soap_op is None else soap_op.get("soapAction"),
        # WSDL 1.1 §3.4: style defaults to the binding's, and that to "document".
        "style": (None if soap_op is None else soap_op.get("style"))
        or (None if default_style is None else default_style.get("style"))
        or "document",
    }
    port_type = wsdl.find("portType", etree.QName(_resolve(binding, binding.get("type"))).localname)
    assert port_type is not None
    abstract_op = port_type.find(f"{{{NS_WSDL}}}operation[@name='{operation}']")
    for direction in ("input", "output"):
        body = op.find(f"{{{NS_WSDL}}}{direction}/{{{NS_SOAP11}}}body")
        facts[f"{direction} use"] = None if body is None else body.get("use")
        io = None if abstract_op is None else abstract_op.find(f"{{{NS_WSDL}}}{direction}")
        message_ref = None if io is None else _resolve(io, io.get("message"))
        message = (
            None
            if message_ref is None
            else wsdl.find("message", etree.QName(message_ref).localname)
        )
        parts = [] if message is None else message.findall(f"{{{NS_WSDL}}}part")
        facts[f"{direction} parts"] = ", ".join(
            f"{part.get('name')}={_resolve(part, part.get('element'))}" for part in parts
        )
    return facts


# --- schema shapes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    """One element particle (or a top-level element) with XSD defaults made explicit."""

    name: str
    type: str | None
    min_occurs: str
    max_occurs: str
    nillable: str
    inline: _Shape | None


@dataclass(frozen=True)
class _Shape:
    """What a complexType or simpleType declares, independent of prefixes and layout."""

    attributes: tuple[tuple[str, str], ...] = ()
    derivation: str | None = None
    fields: tuple[_Field, ...] = ()
    facets: tuple[str, ...] = ()
    other: tuple[str, ...] = ()


_FIELD_ATTRIBUTES = ("type", "min_occurs", "max_occurs", "nillable")
_QNAME_ATTRIBUTES = ("type", "base", "ref", "itemType")


def _field(node: etree._Element) -> _Field:
    inline = node.find(f"{{{NS_XSD}}}complexType")
    ref = _resolve(node, node.get("ref"))
    return _Field(
        name=node.get("name") or f"ref {ref}",
        type=_resolve(node, node.get("type")),
        min_occurs=node.get("minOccurs", "1"),
        max_occurs=node.get("maxOccurs", "1"),
        nillable=node.get("nillable", "false"),
        inline=None if inline is None else _shape(inline),
    )


def _describe(node: etree._Element) -> str:
    """A construct the shapes do not model, spelt out so that any difference in it still shows."""
    attrs = sorted(
        (str(k), _resolve(node, str(v)) if k in _QNAME_ATTRIBUTES else str(v))
        for k, v in node.attrib.items()
    )
    inner = " ".join(_describe(child) for child in node if isinstance(child.tag, str))
    return f"<{etree.QName(node).localname} {attrs}>{inner}"


def _shape(node: etree._Element) -> _Shape:
    attributes = tuple(sorted((str(k), str(v)) for k, v in node.attrib.items() if k != "name"))
    derivation: str | None = None
    fields: list[_Field] = []
    facets: list[str] = []
    other: list[str] = []

    def particles(group: etree._Element) -> None:
        for child in group:
            if not isinstance(child.tag, str) or child.tag == _q(NS_XSD, "annotation"):
                continue
            if child.tag == _q(NS_XSD, "element"):
                fields.append(_field(child))
            else:
                other.append(_describe(child))

    for child in node:
        if not isinstance(child.tag, str) or child.tag == _q(NS_XSD, "annotation"):
            continue
        local = etree.QName(child).localname
        if local == "sequence":
            particles(child)
        elif local in ("complexContent", "simpleContent"):
            for derived in child:
                if not isinstance(derived.tag, str):
                    continue
                base = _resolve(derived, derived.get("base"))
                derivation = f"{local} {etree.QName(derived).localname} of {base}"
                for group in derived:
                    if isinstance(group.tag, str) and etree.QName(group).localname == "sequence":
                        particles(group)
                    elif isinstance(group.tag, str):
                        other.append(_describe(group))
        elif local == "restriction" and node.tag == _q(NS_XSD, "simpleType"):
            derivation = f"restriction of {_resolve(child, child.get('base'))}"
            facets.extend(
                f"{etree.QName(f).localname}={f.get('value')}"
                for f in child
                if isinstance(f.tag, str)
            )
        else:
            other.append(_describe(child))
    return _Shape(attributes, derivation, tuple(fields), tuple(facets), tuple(other))


def _diff_fields(label: str, project: _Field, reference: _Field) -> Iterator[str]:
    for attribute in _FIELD_ATTRIBUTES:
        mine, theirs = getattr(project, attribute), getattr(reference, attribute)
        if mine != theirs:
            yield f"{label}: {attribute} is {mine!r} in the project, {theirs!r} in the reference"
    if project.inline is not None or reference.inline is not None:
        yield from _diff_shapes(label, project.inline or _Shape(), reference.inline or _Shape())


def _diff_shapes(label: str, project: _Shape, reference: _Shape) -> Iterator[str]:
    for aspect in ("attributes", "derivation", "facets", "other"):
        mine, theirs = getattr(project, aspect), getattr(reference, aspect)
        if mine != theirs:
            yield f"{label}: {aspect} are {mine!r} in the project, {theirs!r} in the reference"
    mine_names = [f.name for f in project.fields]
    their_names = [f.name for f in reference.fields]
    missing = [n for n in their_names if n not in mine_names]
    extra = [n for n in mine_names if n not in their_names]
    if missing:
        yield f"{label}: fields missing from the project: {missing}"
    if extra:
        yield f"{label}: fields the reference does not have: {extra}"
    if not missing and not extra and mine_names != their_names:
        yield f"{label}: field order is {mine_names} in the project, {their_names} in the reference"
    theirs_by_name = {f.name: f for f in reference.fields}
    for mine_field in project.fields:
        if mine_field.name in theirs_by_name:
            yield from _diff_fields(
                f"{label}, field {mine_field.name}", mine_field, theirs_by_name[mine_field.name]
            )


def _referenced_types(shape: _Shape) -> Iterator[str]:
    if shape.derivation is not None:
        yield shape.derivation.rsplit(" of ", 1)[1]
    for f in shape.fields:
        if f.type is not None:
            yield f.type
        if f.inline is not None:
            yield from _referenced_types(f.inline)


def _xsi_type_only(project: _Wsdl) -> list[str]:
    """Project types that no element names: they exist to be sent as xsi:type in anyType slots."""
    named: set[str] = set()
    for element in project.elements.values():
        named.update(_referenced_types(_Shape(fields=(_field(element),))))
    for type_node in project.types.values():
        named.update(_referenced_types(_shape(type_node)))
    return sorted(n for n in project.types if _q(TNS, n) not in named)


def _schema_diffs(project: _Wsdl, reference: _Wsdl, roots: list[str]) -> list[str]:
    """Every difference between the two schemas in what the given components reach."""
    diffs: list[str] = []
    pending: list[str] = []
    for root in roots:
        kind, _, name = root.partition(" ")
        if kind == "element":
            mine, theirs = project.elements.get(name), reference.elements.get(name)
            if mine is None or theirs is None:
                where = "project" if mine is None else "reference"
                diffs.append(f"element {name} is not defined in the {where} schema")
                continue
            mine_field, their_field = _field(mine), _field(theirs)
            diffs.extend(_diff_fields(f"element {name}", mine_field, their_field))
            pending.extend(_referenced_types(_Shape(fields=(mine_field,))))
        else:
            pending.append(_q(TNS, name))
    seen: set[str] = set()
    anytype_stand_ins = [_q(TNS, n) for n in _xsi_type_only(project)]
    while pending:
        qname = pending.pop(0)
        if qname in seen:
            continue
        seen.add(qname)
        namespace, local = etree.QName(qname).namespace, etree.QName(qname).localname
        if namespace == NS_XSD:
            continue
        if namespace != TNS:
            diffs.append(f"type {qname} is in an unexpected namespace")
            continue
        mine_type, their_type = project.types.get(local), reference.types.get(local)
        if mine_type is None or their_type is None:
            where = "project" if mine_type is None else "reference"
            diffs.append(f"type {local} is used but not defined in the {where} schema")
            continue
        mine_shape, their_shape = _shape(mine_type), _shape(their_type)
        diffs.extend(_diff_shapes(f"type {local}", mine_shape, their_shape))
        pending.extend(_referenced_types(mine_shape))
        pending.extend(_referenced_types(their_shape))
        if local == "ArrayOfAnyType":
            pending.extend(anytype_stand_ins)
    return diffs


# --- zeep clients --------------------------------------------------------------------------------


class _OfflineTransport(Transport):
    """Loads WSDLs from disk, serves the soap-encoding stand-in, and refuses the network."""

    def __init__(self) -> None:
        super().__init__()
        self.remote_urls: list[str] = []

    def load(self, url: str) -> bytes:
        if url.startswith(("http://", "https://")):
            self.remote_urls.append(url)
            if url.rstrip("/") == NS_SOAP_ENCODING.rstrip("/"):
                return SOAP_ENCODING_STAND_IN.read_bytes()
            raise AssertionError(f"zeep tried to fetch {url}; these tests run offline")
        content: bytes = super().load(url)
        return content


class _Clients(NamedTuple):
    project: zeep.Client
    reference: zeep.Client
    project_transport: _OfflineTransport
    reference_transport: _OfflineTransport


@pytest.fixture(scope="module")
def wsdls() -> tuple[_Wsdl, _Wsdl]:
    return _Wsdl.parse(PROJECT_WSDL), _Wsdl.parse(REFERENCE_WSDL)


@pytest.fixture(scope="module")
def clients() -> _Clients:
    project_transport, reference_transport = _OfflineTransport(), _OfflineTransport()
    return _Clients(
        zeep.Client(str(PROJECT_WSDL), transport=project_transport),
        zeep.Client(str(REFERENCE_WSDL), transport=reference_transport),
        project_transport,
        reference_transport,
    )


def _binding(client: zeep.Client) -> Any:
    return client.bind(SERVICE_NAME, PORT_NAME)._binding


# --- sample values from the project's zeep types -------------------------------------------------


@dataclass(frozen=True)
class _AnyItem:
    """A value for an anyType slot; becomes an AnyObject of ``type_name`` in each client."""

    type_name: str
    value: Mapping[str, Any]


@dataclass
class _Samples:
    """Distinct, deterministic values for every element a zeep type declares."""

    project: zeep.Client
    counter: int = 0
    _builtins: Mapping[str, Callable[[int], Any]] = field(
        default_factory=lambda: {
            "int": lambda n: n,
            "integer": lambda n: n,
            "string": lambda n: f"text {n} & <more> £",
            "decimal": lambda n: Decimal(f"{n}.25"),
            "dateTime": lambda n: dt.datetime(2026, 1, 1, 9, 30) + dt.timedelta(days=n),
            "boolean": lambda n: n % 2 == 0,
        }
    )

    def for_type(self, xsd_type: Any, where: str) -> Any:
        if isinstance(xsd_type, xsd.ComplexType):
            return {
                name: self.for_element(element, f"{where}.{name}")
                for name, element in xsd_type.elements
            }
        qname = xsd_type.qname
        if type(xsd_type) is xsd.AnyType:
            # KashFlow's only anyType slot is Lines, whose items must carry xsi:type InvoiceLine.
            line_type = self.project.get_type(INVOICE_LINE)
            return _AnyItem(INVOICE_LINE, self.for_type(line_type, f"{where}<InvoiceLine>"))
        if qname is None or qname.namespace != NS_XSD or qname.localname not in self._builtins:
            raise AssertionError(f"no sample value for type {qname} at {where}")
        self.counter += 1
        return self._builtins[qname.localname](self.counter)

    def for_element(self, element: Any, where: str) -> Any:
        if element.accepts_multiple:
            return [self.for_type(element.type, f"{where}[{i}]") for i in range(2)]
        return self.for_type(element.type, where)

    def for_message(self, operation: str, direction: str) -> dict[str, Any]:
        message = getattr(_binding(self.project).get(operation), direction)
        value: dict[str, Any] = self.for_type(message.body.type, operation)
        return value


def _bind(client: zeep.Client, value: Any) -> Any:
    """Turn anyType placeholders into AnyObjects typed by ``client``'s own schema."""
    if isinstance(value, _AnyItem):
        item_type = client.get_type(value.type_name)
        return xsd.AnyObject(item_type, item_type(**_bind(client, value.value)))
    if isinstance(value, Mapping):
        return {k: _bind(client, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_bind(client, v) for v in value]
    return value


def _plain(value: Any) -> Any:
    """The sample as zeep hands a parsed reply back through ``serialize_object``."""
    if isinstance(value, _AnyItem):
        return _plain(value.value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _c14n(envelope: etree._Element) -> str:
    # C14N 1.0 rejects the relative namespace URI "KashFlow"; C14N 2.0 accepts it.
    return etree.tostring(envelope, method="c14n2").decode()


def _request(client: zeep.Client, operation: str, args: Mapping[str, Any]) -> etree._Element:
    envelope: etree._Element = client.create_message(
        client.bind(SERVICE_NAME, PORT_NAME), operation, **_bind(client, args)
    )
    return envelope


@dataclass(frozen=True)
class _HttpReply:
    """The parts of a requests.Response that zeep's reply processing reads."""

    content: bytes
    status_code: int = 200
    encoding: str = "utf-8"
    headers: Mapping[str, str] = field(
        default_factory=lambda: {"Content-Type": "text/xml; charset=utf-8"}
    )


def _reply_envelope(client: zeep.Client, operation: str, values: Mapping[str, Any]) -> bytes:
    output = _binding(client).get(operation).output
    envelope: bytes = etree.tostring(output.serialize(**_bind(client, values)).content)
    return envelope


def _parse_reply(client: zeep.Client, operation: str, content: bytes) -> Any:
    binding = _binding(client)
    result = binding.process_reply(client, binding.get(operation), _HttpReply(content))
    return helpers.serialize_object(result, dict)


# --- tests ---------------------------------------------------------------------------------------

PROJECT_OPERATIONS = _Wsdl.parse(PROJECT_WSDL).operation_names()
PROJECT_TYPES = sorted(_Wsdl.parse(PROJECT_WSDL).types)
REPLY_SAMPLES = ("AutoAuthIP", "GetSuppliers", "GetReceipt", "GetNominalCodesExtended")


def test_project_operations_are_the_expected_38() -> None:
    """The project's SOAP 1.1 binding holds exactly the 38 operations the SDK and fake use."""
    assert sorted(PROJECT_OPERATIONS) == sorted(EXPECTED_OPERATIONS)
    assert len(EXPECTED_OPERATIONS) == 38


def test_project_port_type_matches_its_binding(wsdls: tuple[_Wsdl, _Wsdl]) -> None:
    """Every bound operation is declared in the project's portType, and nothing else is."""
    project, _ = wsdls
    port_type = project.find("portType", PORT_NAME)
    assert port_type is not None
    declared = [op.get("name", "") for op in port_type.iterfind(f"{{{NS_WSDL}}}operation")]
    assert sorted(declared) == sorted(PROJECT_OPERATIONS)


@pytest.mark.parametrize("operation", PROJECT_OPERATIONS)
def test_binding_matches_reference_soap11(operation: str, wsdls: tuple[_Wsdl, _Wsdl]) -> None:
    """SOAPAction, document style, literal use and message parts equal the reference's SOAP 1.1."""
    project, reference = wsdls
    mine = _binding_facts(project, operation)
    assert mine["soapAction"] == f"{TNS}/{operation}"
    assert (mine["style"], mine["input use"], mine["output use"]) == (
        "document",
        "literal",
        "literal",
    )
    assert mine == _binding_facts(reference, operation)


@pytest.mark.parametrize("direction", ["request", "response"])
@pytest.mark.parametrize("operation", PROJECT_OPERATIONS)
def test_message_element_matches_reference(
    operation: str, direction: str, wsdls: tuple[_Wsdl, _Wsdl]
) -> None:
    """The wrapper element and every type it reaches declare the same fields as the reference."""
    project, reference = wsdls
    element = operation if direction == "request" else f"{operation}Response"
    diffs = _schema_diffs(project, reference, [f"element {element}"])
    assert not diffs, "\n".join(diffs)


@pytest.mark.parametrize("type_name", PROJECT_TYPES)
def test_project_type_matches_reference(type_name: str, wsdls: tuple[_Wsdl, _Wsdl]) -> None:
    """Each named type in the project, xsi:type-only ones such as InvoiceLine included, matches."""
    project, reference = wsdls
    diffs = _schema_diffs(project, reference, [f"type {type_name}"])
    assert not diffs, "\n".join(diffs)


def test_invoice_line_is_checked_as_an_anytype_stand_in(wsdls: tuple[_Wsdl, _Wsdl]) -> None:
    """InvoiceLine is the project's one xsi:type-only type, so ArrayOfAnyType's walk reaches it."""
    project, _ = wsdls
    assert _xsi_type_only(project) == ["InvoiceLine"]


def test_reference_loads_offline_through_the_stand_in(clients: _Clients) -> None:
    """zeep asks for nothing remote except the soap-encoding schema, and only for the reference."""
    assert clients.reference_transport.remote_urls == [NS_SOAP_ENCODING]
    assert clients.project_transport.remote_urls == []


@pytest.mark.parametrize("operation", PROJECT_OPERATIONS)
def test_request_envelope_matches_reference(operation: str, clients: _Clients) -> None:
    """Given a value for every element, both WSDLs make zeep build the same envelope."""
    args = _Samples(clients.project).for_message(operation, "input")
    mine = _c14n(_request(clients.project, operation, args))
    assert mine == _c14n(_request(clients.reference, operation, args))


@pytest.mark.parametrize("operation", ["InsertInvoice", "InsertReceipt"])
def test_lines_as_anytype_invoice_lines_match_reference(operation: str, clients: _Clients) -> None:
    """Lines sent as ArrayOfAnyType carry xsi:type InvoiceLine and serialise identically."""
    samples = _Samples(clients.project)
    args = samples.for_message(operation, "input")
    line_values = [samples.for_type(clients.project.get_type(INVOICE_LINE), "line") for _ in "ab"]

    def envelope(client: zeep.Client) -> etree._Element:
        line_type = client.get_type(INVOICE_LINE)
        lines = [xsd.AnyObject(line_type, line_type(**values)) for values in line_values]
        inv = {**_bind(client, args["Inv"]), "Lines": {"anyType": lines}}
        service = client.bind(SERVICE_NAME, PORT_NAME)
        message: etree._Element = client.create_message(service, operation, **{**args, "Inv": inv})
        return message

    mine = envelope(clients.project)
    assert _c14n(mine) == _c14n(envelope(clients.reference))
    items = mine.findall(f".//{{{TNS}}}Lines/{{{TNS}}}anyType")
    assert [_resolve(item, item.get(_q(NS_XSI, "type"))) for item in items] == [INVOICE_LINE] * 2


@pytest.mark.parametrize("operation", REPLY_SAMPLES)
def test_reply_parses_the_same_with_both_wsdls(operation: str, clients: _Clients) -> None:
    """A reply rendered with sample values deserialises to the same values under both WSDLs."""
    values = _Samples(clients.project).for_message(operation, "output")
    content = _reply_envelope(clients.project, operation, values)
    assert content == _reply_envelope(clients.reference, operation, values)
    mine = _parse_reply(clients.project, operation, content)
    assert mine == _parse_reply(clients.reference, operation, content)
    assert mine == _plain(values)


ASMX_AUTOAUTHIP_REPLY = b"""<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <soap:Body>
    <AutoAuthIPResponse xmlns="KashFlow">
      <AutoAuthIPResult>1</AutoAuthIPResult>
      <Status>OK</Status>
      <StatusDetail />
    </AutoAuthIPResponse>
  </soap:Body>
</soap:Envelope>"""


def test_asmx_shaped_reply_parses_the_same_with_both_wsdls(clients: _Clients) -> None:
    """A reply laid out the way ASMX writes it (default namespace, soap prefix) parses alike."""
    mine = _parse_reply(clients.project, "AutoAuthIP", ASMX_AUTOAUTHIP_REPLY)
    assert mine == _parse_reply(clients.reference, "AutoAuthIP", ASMX_AUTOAUTHIP_REPLY)
    assert (mine["AutoAuthIPResult"], mine["Status"]) == (1, "OK")
