"""Every name the SOAP layer writes or reads by hand is one KashFlow's own WSDL declares there.

The list readers have their specs checked in ``test_listparse_wsdl``; this covers the rest:
every request builder ``soap.operations`` exports (a new one included, with no list to update),
called with sample arguments for every document kind. Each request's parameter names (and the
keys of the records it sends) must be children of the operation's input element in KashFlow's
reference WSDL. Each answer is read from an envelope made from the reference schema, every
element filled; every name the reader looks up, on the lxml tree or in zeep's reading, must be
declared where it is looked up, and the result must carry the sample data (a reader looking up
nothing would otherwise pass). The fake, written from the same names as the readers, cannot
catch a misspelling (``SupplierId``); KashFlow's WSDL can.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs
import pytest
from lxml import etree

from _reference import require_reference
from kashflow_sync._documents.model import DOCUMENT_KINDS
from kashflow_sync.soap import codec, operations
from kashflow_sync.soap._listparse import _DOCUMENT_FIELDS, LIST_SPECS
from kashflow_sync.soap.records import LedgerDocument

REFERENCE_WSDL = require_reference()

XS = "{http://www.w3.org/2001/XMLSchema}"
WSDL = "{http://schemas.xmlsoap.org/wsdl/}"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
KF = "KashFlow"

# --- KashFlow's schema, from its WSDL -----------------------------------------------------------


@attrs.frozen
class Child:
    """One element a complex type declares: its name, and its complex type or XSD type name."""

    name: str
    complex: etree._Element | None
    simple: str


class Schema:
    """The reference WSDL's ``KashFlow`` schema: elements and named types, children resolved."""

    def __init__(self) -> None:
        root = etree.parse(str(REFERENCE_WSDL)).getroot()
        self.elements: dict[str, etree._Element] = {}
        self.types: dict[str, etree._Element] = {}
        self.simple: dict[str, etree._Element] = {}
        for schema in root.iterfind(f"{WSDL}types/{XS}schema"):
            if schema.get("targetNamespace") != KF:
                continue
            for node in schema:
                name = node.get("name", "")
                if node.tag == f"{XS}element":
                    self.elements[name] = node
                elif node.tag == f"{XS}complexType":
                    self.types[name] = node
                elif node.tag == f"{XS}simpleType":
                    self.simple[name] = node

    def element_type(self, name: str) -> etree._Element:
        """The complex type of the top-level element *name* (an operation or its response)."""
        node = self.elements[name]
        inline = node.find(f"{XS}complexType")
        return inline if inline is not None else self.types[_local(node.get("type"))]

    def children(self, complex_type: etree._Element) -> dict[str, Child]:
        """The elements *complex_type* declares, its base type's first."""
        out: dict[str, Child] = {}
        for extension in complex_type.iterfind(f"{XS}complexContent/{XS}extension"):
            out.update(self.children(self.types[_local(extension.get("base"))]))
        for element in complex_type.iterfind(f".//{XS}sequence/{XS}element"):
            type_name = _local(element.get("type")) or "anyType"
            complex_ = self.types.get(type_name)
            out[element.get("name", "")] = Child(element.get("name", ""), complex_, type_name)
        return out


def _local(qname: str | None) -> str:
    return (qname or "").rpartition(":")[2]


# --- an answer as KashFlow's schema shapes it, every element filled ----------------------------

#: A value of each XSD type, none of them empty, zero or false: a reader that reads the wrong
#: element gets KashFlow's "absent" instead, which the result check sees.
SAMPLES = {
    "int": "7",
    "integer": "7",
    "long": "7",
    "short": "7",
    "decimal": "12.34",
    "double": "12.34",
    "string": "sample",
    "dateTime": "2026-11-02T10:15:00",
    "boolean": "true",
    "base64Binary": "JVBERi0xLjQ=",
}
#: KashFlow's untyped arrays (an invoice's ``Lines``) hold InvoiceLine items, ``xsi:type``-d.
ANY_TYPE = "InvoiceLine"


class Answer:
    """An envelope answering *operation*, made from the schema, with each element's type kept."""

    def __init__(self, schema: Schema, operation: str) -> None:
        self.schema = schema
        self._typed: list[tuple[etree._Element, etree._Element]] = []
        # Made by the recording parser, so every element notes what is looked up in it.
        make = _recording_parser().makeelement
        envelope = make(f"{{{SOAP}}}Envelope", nsmap={"soap": SOAP, "xsi": XSI})
        body = etree.SubElement(envelope, f"{{{SOAP}}}Body")
        self.response = etree.SubElement(body, f"{{{KF}}}{operation}Response", nsmap={None: KF})
        self._fill(self.response, schema.element_type(f"{operation}Response"), depth=0)
        self.response.find(f"{{{KF}}}Status").text = "OK"  # type: ignore[union-attr]
        self.response.find(f"{{{KF}}}StatusDetail").text = ""  # type: ignore[union-attr]
        tree = envelope.getroottree()
        #: Each element's complex type, by its path in the finished tree.
        self.types = {tree.getpath(element): type_ for element, type_ in self._typed}

    def _fill(self, element: etree._Element, complex_type: etree._Element, depth: int) -> None:
        self._typed.append((element, complex_type))
        assert depth < 12, "the schema nests deeper than any KashFlow answer"
        for child in self.schema.children(complex_type).values():
            node = etree.SubElement(element, f"{{{KF}}}{child.name}")
            if child.simple == "anyType":
                node.set(f"{{{XSI}}}type", ANY_TYPE)
                self._fill(node, self.schema.types[ANY_TYPE], depth + 1)
            elif child.complex is not None:
                self._fill(node, child.complex, depth + 1)
            elif child.simple in self.schema.simple:
                enumeration = self.schema.simple[child.simple].find(f".//{XS}enumeration")
                node.text = "" if enumeration is None else enumeration.get("value")
            else:
                node.text = SAMPLES[child.simple]


# --- recording what a reader looks up ------------------------------------------------------------


class _Recorder:
    """The lookups made while :attr:`on`: ``(zeep value's type or None, element path, name)``."""

    def __init__(self) -> None:
        self.on = False
        self.lookups: list[tuple[etree._Element | None, str, str]] = []


RECORDER = _Recorder()


class RecordingElement(etree.ElementBase):
    """An element that notes every ``find``/``findtext``/``findall``/``iterfind`` path."""

    def _note(self, path: object) -> None:
        if RECORDER.on:
            RECORDER.lookups.append((None, self.getroottree().getpath(self), str(path)))

    def find(self, path: Any, namespaces: Any = None) -> Any:
        self._note(path)
        return super().find(path, namespaces)

    def findtext(self, path: Any, default: Any = None, namespaces: Any = None) -> Any:
        self._note(path)
        return super().findtext(path, default, namespaces)

    def findall(self, path: Any, namespaces: Any = None) -> Any:
        self._note(path)
        return super().findall(path, namespaces)

    def iterfind(self, path: Any, namespaces: Any = None) -> Any:
        self._note(path)
        return super().iterfind(path, namespaces)


def _recording_parser() -> etree.XMLParser:
    parser = etree.XMLParser()
    parser.set_element_class_lookup(etree.ElementDefaultClassLookup(element=RecordingElement))
    return parser


class RecordingDict(dict):  # type: ignore[type-arg]
    """Zeep's reading of an answer, noting each key asked for against its reference type."""

    def __init__(self, data: Mapping[str, Any], complex_type: etree._Element) -> None:
        super().__init__(data)
        self.complex_type = complex_type

    def _looked_up(self, key: str, value: Any) -> Any:
        if RECORDER.on:
            RECORDER.lookups.append((self.complex_type, "", key))
        child = reference_schema().children(self.complex_type).get(key)
        if child is None or child.complex is None:
            return value
        return _recording(value, child.complex)

    def get(self, key: Any, default: Any = None) -> Any:
        return self._looked_up(key, super().get(key, default))

    def __getitem__(self, key: Any) -> Any:
        return self._looked_up(key, super().__getitem__(key))


def _recording(value: Any, complex_type: etree._Element) -> Any:
    if isinstance(value, Mapping):
        return RecordingDict(value, complex_type)
    if isinstance(value, list):
        return [_recording(item, complex_type) for item in value]
    return value


@functools.cache
def reference_schema() -> Schema:
    """The reference schema, read once."""
    return Schema()


def misplaced(answer: Answer) -> list[str]:
    """Every recorded lookup of a name the reference does not declare where it was asked."""
    schema = answer.schema
    problems = []
    for complex_type, path, name in RECORDER.lookups:
        if complex_type is not None:  # a key of zeep's reading
            if name not in schema.children(complex_type):
                where = complex_type.get("name") or "the response"
                problems.append(f"{name!r} looked up in {where}, which has no such element")
            continue
        parent = answer.types.get(path)
        for step in name.split("/"):
            if step in ("", "."):
                continue
            qname = etree.QName(step)
            if parent is None:
                problems.append(f"{step!r} looked up under {path}, which holds no elements")
                break
            children = schema.children(parent)
            if qname.namespace != KF or qname.localname not in children:
                where = parent.get("name") or etree.QName(path.rpartition("/")[2]).localname
                problems.append(f"{step!r} looked up in {where}, which has no such element")
                break
            parent = children[qname.localname].complex
    return problems


# --- every builder, with sample arguments -------------------------------------------------------

#: Sample arguments by annotation; a builder with a parameter of another type fails the test
#: until a sample is added here.
ARGUMENTS: dict[Any, Any] = {
    int: 7,
    str: "sample",
    bytes: b"%PDF-1.4",
    Decimal: Decimal("12.34"),
    date: date(2026, 11, 2),
    datetime: datetime(2026, 11, 2, 10, 15),
}
#: Parameters whose values come from a fixed set: every one is tried.
DOMAINS: dict[str, Sequence[Any]] = {"kind": DOCUMENT_KINDS}
#: fetch_list's ``name`` picks a list spec (their fields are test_listparse_wsdl's).
BUILDER_DOMAINS: dict[tuple[str, str], Sequence[Any]] = {("fetch_list", "name"): sorted(LIST_SPECS)}


def _values(builder: str, parameter: inspect.Parameter, annotation: Any) -> Sequence[Any]:
    if (builder, parameter.name) in BUILDER_DOMAINS:
        return BUILDER_DOMAINS[builder, parameter.name]
    if parameter.name in DOMAINS:
        return DOMAINS[parameter.name]
    origin = typing.get_origin(annotation)
    if origin is not None and issubclass(origin, Mapping):
        return [{}]
    if origin is not None and issubclass(origin, Sequence):
        return [[]]
    if annotation in ARGUMENTS:
        return [ARGUMENTS[annotation]]
    raise AssertionError(
        f"no sample for {builder}({parameter.name}: {annotation}): add one to ARGUMENTS"
    )


def builders() -> dict[str, Callable[..., codec.Request[Any]]]:
    """Every function ``soap.operations`` exports that builds a request, by name."""
    found = {}
    for name in operations.__all__:
        value = getattr(operations, name)
        if inspect.isfunction(value):
            returns = typing.get_type_hints(value).get("return")
            if typing.get_origin(returns) is codec.Request:
                found[name] = value
    return found


def calls() -> Iterator[tuple[str, Callable[[], codec.Request[Any]]]]:
    """``(id, make the request)`` for each builder and each combination of its domains."""
    for name, builder in builders().items():
        hints = typing.get_type_hints(builder)
        required = [
            p
            for p in inspect.signature(builder).parameters.values()
            if p.default is inspect.Parameter.empty
        ]
        combos: list[dict[str, Any]] = [{}]
        for parameter in required:
            values = _values(name, parameter, hints[parameter.name])
            combos = [{**c, parameter.name: v} for c in combos for v in values]
        for combo in combos:
            label = ",".join(str(v) for k, v in combo.items() if k in ("kind", "name"))
            yield f"{name}({label})", _bound(builder, combo)


def _bound(builder: Callable[..., Any], arguments: dict[str, Any]) -> Callable[[], Any]:
    return lambda: builder(**arguments)


CALLS = dict(calls())


@pytest.fixture(scope="module")
def schema() -> Schema:
    return reference_schema()


# --- the checks ----------------------------------------------------------------------------------


def request_problems(schema: Schema, request: codec.Request[Any]) -> list[str]:
    """Parameter names (and record keys) the reference does not declare for the operation."""
    if request.operation not in schema.elements:
        return [f"KashFlow has no operation {request.operation!r}"]
    problems: list[str] = []

    def walk(values: Mapping[str, Any], complex_type: etree._Element, where: str) -> None:
        children = schema.children(complex_type)
        for key, value in values.items():
            if key not in children:
                problems.append(f"{where} has no element {key!r} (it has {sorted(children)})")
            elif isinstance(value, Mapping) and children[key].complex is not None:
                walk(value, children[key].complex, f"{where}.{key}")  # type: ignore[arg-type]

    walk(request.params, schema.element_type(request.operation), request.operation)
    return problems


def read_from_the_reference(
    schema: Schema, request: codec.Request[Any], monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, list[str]]:
    """The reader's result from a reference-shaped answer, and its misplaced lookups."""
    answer = Answer(schema, request.operation)
    reply = operations.zeep_reply

    def recorded_reply(operation: str, element: etree._Element) -> Any:
        RECORDER.on = False  # zeep's own walk of the tree is not the SDK's names
        try:
            data = reply(operation, element)
        finally:
            RECORDER.on = True
        return RecordingDict(data, schema.element_type(f"{operation}Response"))

    monkeypatch.setattr(operations, "zeep_reply", recorded_reply)
    RECORDER.lookups.clear()
    RECORDER.on = True
    try:
        if request.read is not None:
            result = request.read(answer.response)
        else:
            # A list read as it arrives: each item of the result, as the stream hands them.
            assert request.items is not None
            stream = request.items
            result_element = next(
                e for e in answer.response if etree.QName(e).localname == stream.result
            )
            values = (
                stream.read(item)
                for item in result_element
                if etree.QName(item).localname == stream.item
            )
            result = [v for v in values if v is not None]
    finally:
        RECORDER.on = False
    return result, misplaced(answer)


def _list_reads() -> dict[type, frozenset[str]]:
    """The fields a list reader fills, by record type (their names: test_listparse_wsdl's)."""
    reads: dict[type, set[str]] = {
        LedgerDocument: {attribute for attribute, _ in _DOCUMENT_FIELDS.values()}
    }
    for spec in LIST_SPECS.values():
        build = spec.build
        made = build if isinstance(build, type) else typing.get_type_hints(build)["return"]
        reads.setdefault(made, set()).update(attribute for attribute, _ in spec.fields.values())
    return {made: frozenset(fields) for made, fields in reads.items()}


#: A list reader fills only the fields its spec names (a receipt lookup reads headers only).
LIST_READS = _list_reads()


def unread(value: Any, where: str = "result", listed: bool = False) -> list[str]:
    """The parts of a reader's result still empty, zero or None: data it did not find."""
    if isinstance(value, bool):
        return []  # a flag may be false whatever the answer said
    if value is None or value == "" or (isinstance(value, (int, Decimal)) and value == 0):
        return [where]
    if attrs.has(type(value)):
        names = [field.name for field in attrs.fields(type(value))]
        if listed and type(value) in LIST_READS:
            names = [name for name in names if name in LIST_READS[type(value)]]
        return [gap for name in names for gap in unread(getattr(value, name), f"{where}.{name}")]
    if isinstance(value, (list, tuple)):
        if not value:
            return [f"{where} (empty)"]
        return [
            gap
            for i, item in enumerate(value)
            for gap in unread(item, f"{where}[{i}]", listed=isinstance(value, list))
        ]
    return []


@pytest.mark.parametrize("call", CALLS)
def test_request_names_are_kashflows(call: str, schema: Schema) -> None:
    """Each parameter, and each key of a record sent, is declared by KashFlow's WSDL."""
    assert request_problems(schema, CALLS[call]()) == []


@pytest.mark.parametrize("call", CALLS)
def test_answer_names_are_kashflows_and_the_reader_finds_the_data(
    call: str, schema: Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every name the reader looks up exists there, and it reads every value it returns."""
    request = CALLS[call]()
    result, problems = read_from_the_reference(schema, request, monkeypatch)
    assert problems == []
    assert unread(result) == []


def test_every_builder_is_checked() -> None:
    """No request builder of ``soap.operations`` is left without a call here."""
    checked = {call.partition("(")[0] for call in CALLS}
    assert len(builders()) >= 20
    assert checked == set(builders())


def test_a_misspelt_name_is_caught(schema: Schema, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself: a reader asking for SupplierId (KashFlow says SupplierID) fails it."""
    right = operations.find_contact("purchase", "ACME01")

    def read(answer: etree._Element) -> Any:
        result = answer.find(f"{codec.NS}GetSupplierResult")
        assert result is not None
        return int(result.findtext(f"{codec.NS}SupplierId") or 0), result.findtext(
            f"{codec.NS}Name"
        )

    wrong = attrs.evolve(right, read=read)
    result, problems = read_from_the_reference(schema, wrong, monkeypatch)
    assert problems == ["'{KashFlow}SupplierId' looked up in Supplier, which has no such element"]
    assert unread(result) == ["result[0]"]
