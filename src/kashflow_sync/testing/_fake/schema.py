"""The package WSDL, read once: compiled XML Schema, type model and request parsing.

Everything the fake knows about the wire (operations, SOAPActions, element order, types,
minOccurs, nillable) comes from ``kashflow_sync/soap/kashflow.wsdl``; nothing is written out per
type by hand.
"""

from __future__ import annotations

import copy
import functools
import re
import threading
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any

import attrs
from lxml import etree

__all__ = [
    "KF_NS",
    "SOAP_ENV_NS",
    "XSI_NS",
    "FieldSpec",
    "SchemaModel",
    "TypeSpec",
    "load_model",
    "local_name",
    "parse_datetime",
]

KF_NS = "KashFlow"
SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_XS_NS = "http://www.w3.org/2001/XMLSchema"
_WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
_WSDL_SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
_XSI_TYPE = f"{{{XSI_NS}}}type"
_XSI_NIL = f"{{{XSI_NS}}}nil"

#: XSD built-in types the fake converts to Python values; any other type is a complexType.
BUILTINS = frozenset({"int", "integer", "decimal", "boolean", "dateTime", "string", "anyType"})

#: .NET's default value of each built-in, as an empty KashFlow object carries it.
_EMPTY_SCALARS: Mapping[str, object] = {
    "int": 0,
    "integer": 0,
    "decimal": Decimal(0),
    "boolean": False,
    "dateTime": datetime(1, 1, 1),
    "string": "",
}

_DATETIME_RE = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?)?"
    r"(Z|[+-]\d{2}:\d{2})?\s*$"
)


@attrs.frozen
class FieldSpec:
    """One element of a complexType's sequence.

    Attributes:
        name: the element's local name, e.g. ``SupplierID``.
        type_name: an XSD built-in (``int``, ``decimal``...) or a complexType name.
        min_occurs: 0 (optional) or 1 (always rendered).
        max_occurs: 1, or None for unbounded.
        nillable: whether ``xsi:nil="true"`` stands for a missing value.

    """

    name: str
    type_name: str
    min_occurs: int
    max_occurs: int | None
    nillable: bool

    @property
    def builtin(self) -> bool:
        """True when the element's type is an XSD built-in."""
        return self.type_name in BUILTINS


@attrs.frozen
class TypeSpec:
    """A complexType (named, or the anonymous type of an operation's element)."""

    name: str
    fields: tuple[FieldSpec, ...]
    by_name: Mapping[str, FieldSpec] = attrs.field(eq=False, repr=False)

    @property
    def is_array(self) -> bool:
        """True for ``ArrayOfX`` types: a single unbounded element."""
        return len(self.fields) == 1 and self.fields[0].max_occurs is None


@attrs.frozen
class SchemaModel:
    """What the fake needs from the WSDL, built once per process by :func:`load_model`."""

    wsdl_text: str
    types: Mapping[str, TypeSpec]
    elements: Mapping[str, TypeSpec]
    operations: tuple[str, ...]
    xml_schema: etree.XMLSchema = attrs.field(eq=False, repr=False)
    # libxml2 keeps validation state on the schema object, so validations take turns.
    _validate_lock: threading.Lock = attrs.field(factory=threading.Lock, eq=False, repr=False)

    def validate(self, element: etree._Element) -> str | None:
        """Validate *element* against its declaration.

        Returns:
            None when valid, else ``"(line, column). ---> reason"`` for the first error.

        """
        with self._validate_lock:
            if self.xml_schema.validate(element):
                return None
            # lxml-stubs declares the error log opaque; it is a sequence of _LogEntry.
            errors: Any = self.xml_schema.error_log
            error = errors[0] if len(errors) else None
        if error is None:
            return "(1, 1). ---> the element is not valid"
        return f"({error.line}, {error.column}). ---> {error.message}"

    def empty_result(self, operation: str) -> object:
        """What ``<operation>Result`` holds when KashFlow answers "not found" with an empty value.

        An array type gives ``[]``; a complexType an empty object (see :meth:`empty_object`);
        an ``int`` result 0; an operation whose answer has no result (``DeleteInvoicePayment``)
        None, answered as ``Status=OK`` alone.
        """
        field = self.elements[f"{operation}Response"].by_name.get(f"{operation}Result")
        if field is None:
            return None
        if field.builtin:
            return _EMPTY_SCALARS.get(field.type_name)
        spec = self.types[field.type_name]
        return [] if spec.is_array else self.empty_object(field.type_name)

    def empty_object(self, type_name: str) -> dict[str, object]:
        """An object of *type_name* as .NET's default: ids and numbers 0, strings empty.

        Dates are ``0001-01-01T00:00:00``, booleans false, nillable values nil, arrays empty
        and nested objects absent.
        """
        values: dict[str, object] = {}
        for field in self.types[type_name].fields:
            if field.builtin:
                values[field.name] = None if field.nillable else _EMPTY_SCALARS.get(field.type_name)
            elif self.types[field.type_name].is_array:
                values[field.name] = []
        return values

    def parse(self, element: etree._Element) -> dict[str, object]:
        """Convert an operation element into a plain dict keyed by WSDL element names.

        Array types become lists, ``anyType`` items carrying ``xsi:type`` become dicts with an
        extra ``"xsi:type"`` key (the type's local name), nil elements become None.
        """
        spec = self.elements[local_name(element.tag)]
        return self._parse_complex(element, spec)

    def _parse_complex(self, element: etree._Element, spec: TypeSpec) -> dict[str, object]:
        out: dict[str, object] = {}
        for child in element:
            if not isinstance(child.tag, str):
                continue
            name = local_name(child.tag)
            field = spec.by_name.get(name)
            if field is None:
                continue
            value = self._parse_field(child, field)
            if field.max_occurs is None:
                items = out.setdefault(name, [])
                assert isinstance(items, list)
                items.append(value)
            else:
                out[name] = value
        return out

    def _parse_field(self, element: etree._Element, field: FieldSpec) -> object:
        if element.get(_XSI_NIL) in ("true", "1"):
            return None
        if field.type_name == "anyType":
            return self._parse_any(element)
        if field.builtin:
            return parse_scalar(field.type_name, element.text or "")
        spec = self.types[field.type_name]
        if spec.is_array:
            item = spec.fields[0]
            return [
                self._parse_field(child, item)
                for child in element
                if isinstance(child.tag, str) and local_name(child.tag) == item.name
            ]
        return self._parse_complex(element, spec)

    def _parse_any(self, element: etree._Element) -> object:
        xsi_type = element.get(_XSI_TYPE)
        if xsi_type is not None:
            prefix, _, name = xsi_type.rpartition(":")
            namespace = element.nsmap.get(prefix or None)
            if namespace == KF_NS and name in self.types:
                parsed = self._parse_complex(element, self.types[name])
                return {"xsi:type": name, **parsed}
            return {"xsi:type": xsi_type}
        children = [c for c in element if isinstance(c.tag, str)]
        if not children:
            return element.text or ""
        return {local_name(c.tag): c.text or "" for c in children}


def local_name(tag: str) -> str:
    """The local part of a Clark-notation tag (``{ns}Name`` -> ``Name``)."""
    return tag.rpartition("}")[2]


def parse_scalar(type_name: str, text: str) -> object:
    """Convert an XSD built-in's text to Python (int, Decimal, bool, datetime or str)."""
    if type_name in ("int", "integer"):
        return int(text.strip())
    if type_name == "decimal":
        try:
            return Decimal(text.strip())
        except InvalidOperation:
            raise ValueError(f"not a decimal: {text!r}") from None
    if type_name == "boolean":
        return text.strip() in ("true", "1")
    if type_name == "dateTime":
        return parse_datetime(text)
    return text


def parse_datetime(text: str) -> datetime:
    """Parse an xsd:dateTime into a naive datetime, keeping the wall-clock time as sent.

    KashFlow's dates carry no zone, so an offset, if any, is dropped rather than applied.
    """
    match = _DATETIME_RE.match(text)
    if match is None:
        raise ValueError(f"not an xsd:dateTime: {text!r}")
    year, month, day, hour, minute, second, fraction, _zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    return datetime(
        int(year),
        int(month),
        int(day),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        micro,
    )


def _field(element: etree._Element) -> FieldSpec:
    type_attr = element.get("type")
    type_name = type_attr.rpartition(":")[2] if type_attr else "anyType"
    max_occurs = element.get("maxOccurs", "1")
    return FieldSpec(
        name=element.get("name", ""),
        type_name=type_name,
        min_occurs=int(element.get("minOccurs", "1")),
        max_occurs=None if max_occurs == "unbounded" else int(max_occurs),
        nillable=element.get("nillable") == "true",
    )


def _type(name: str, complex_type: etree._Element) -> TypeSpec:
    fields = tuple(
        _field(el) for el in complex_type.iterfind(f"{{{_XS_NS}}}sequence/{{{_XS_NS}}}element")
    )
    return TypeSpec(name=name, fields=fields, by_name={f.name: f for f in fields})


@functools.lru_cache(maxsize=1)
def load_model() -> SchemaModel:
    """Read the package WSDL and build the :class:`SchemaModel` (cached for the process)."""
    wsdl_text = (
        resources.files("kashflow_sync.soap").joinpath("kashflow.wsdl").read_text(encoding="utf-8")
    )
    root = etree.fromstring(wsdl_text.encode("utf-8"))
    schema_el = root.find(f"{{{_WSDL_NS}}}types/{{{_XS_NS}}}schema")
    if schema_el is None:
        raise RuntimeError("kashflow.wsdl has no <s:schema>")
    # A standalone copy must carry the WSDL root's prefixes: type="tns:..." refers to them.
    nsmap: Any = schema_el.nsmap
    attrib = {str(k): str(v) for k, v in schema_el.attrib.items()}
    standalone = etree.Element(schema_el.tag, attrib=attrib, nsmap=nsmap)
    for child in schema_el:
        standalone.append(copy.deepcopy(child))
    types: dict[str, TypeSpec] = {}
    elements: dict[str, TypeSpec] = {}
    for child in schema_el:
        if child.tag == f"{{{_XS_NS}}}complexType":
            name = child.get("name", "")
            types[name] = _type(name, child)
        elif child.tag == f"{{{_XS_NS}}}element":
            name = child.get("name", "")
            inline = child.find(f"{{{_XS_NS}}}complexType")
            if inline is not None:
                elements[name] = _type(name, inline)
    operations = tuple(
        op.get("name", "")
        for op in root.iterfind(f"{{{_WSDL_NS}}}binding/{{{_WSDL_NS}}}operation")
        if op.find(f"{{{_WSDL_SOAP_NS}}}operation") is not None
    )
    return SchemaModel(
        wsdl_text=wsdl_text,
        types=types,
        elements=elements,
        operations=operations,
        xml_schema=etree.XMLSchema(standalone),
    )
