"""The fast list reader's hand-written names and readers match KashFlow's reference WSDL.

``soap/_listparse.py`` reads list answers straight from lxml by element name, bypassing zeep,
so nothing else checks those names: a typo (``VatNumber`` for ``VATNumber``) would read as an
absent value forever, and the fake, written from the same names, would agree. Here every name
is looked up in KashFlow's own schema (parsed with lxml), and each reader is checked against
the element's XSD type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from lxml import etree

from _reference import require_reference
from kashflow_sync.soap import _listparse as lp

REFERENCE_WSDL = require_reference()

XS = "{http://www.w3.org/2001/XMLSchema}"
WSDL = "{http://schemas.xmlsoap.org/wsdl/}"

#: The XSD types each reader may read. A new reader must be added here, or the test fails.
READERS: Mapping[Callable[[str | None], Any], frozenset[str]] = {
    lp._int: frozenset({"int", "integer", "long", "short"}),
    lp._text: frozenset({"string"}),
    lp._dec: frozenset({"decimal", "double", "float"}),
    lp._opt_dec: frozenset({"decimal", "double", "float"}),
    # KashFlow also flags with xsd:int 0/1 (Currencies.isDefault); _bool reads "1" as true.
    lp._bool: frozenset({"boolean", "int"}),
    lp._datetime: frozenset({"dateTime"}),
    lp._date: frozenset({"dateTime", "date"}),
}


class Schema:
    """The reference WSDL's ``KashFlow`` schema: top-level elements and named types."""

    def __init__(self) -> None:
        root = etree.parse(str(REFERENCE_WSDL)).getroot()
        self.elements: dict[str, etree._Element] = {}
        self.types: dict[str, etree._Element] = {}
        for schema in root.iterfind(f"{WSDL}types/{XS}schema"):
            if schema.get("targetNamespace") != "KashFlow":
                continue
            for node in schema:
                if node.tag == f"{XS}element":
                    self.elements[node.get("name", "")] = node
                elif node.tag == f"{XS}complexType":
                    self.types[node.get("name", "")] = node

    def fields(self, node: etree._Element) -> dict[str, str]:
        """Child element name -> XSD type local name, following complexContent extensions."""
        out: dict[str, str] = {}
        for extension in node.iterfind(f"{XS}complexContent/{XS}extension"):
            out.update(self.fields(self.types[_local(extension.get("base"))]))
        for element in node.iterfind(f".//{XS}sequence/{XS}element"):
            out[element.get("name", "")] = _local(element.get("type"))
        return out

    def response_fields(self, operation: str) -> dict[str, str]:
        element = self.elements[f"{operation}Response"]
        return self.fields(element.find(f"{XS}complexType"))

    def request_fields(self, operation: str) -> dict[str, str]:
        return self.fields(self.elements[operation].find(f"{XS}complexType"))

    def array_item(self, operation: str) -> tuple[str, str]:
        """``(item element, item type)`` of the ``ArrayOf...`` in ``<operation>Result``."""
        array = self.types[self.response_fields(operation)[f"{operation}Result"]]
        ((item, item_type),) = self.fields(array).items()
        return item, item_type


def _local(qname: str | None) -> str:
    return (qname or "").rpartition(":")[2]


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema()


def check_fields(
    schema: Schema,
    item_type: str,
    fields: Mapping[str, tuple[str, Callable[[str | None], Any]]],
) -> list[str]:
    """Every field name missing from *item_type*, or read by a reader its type does not fit."""
    declared = schema.fields(schema.types[item_type])
    problems = []
    for name, (_attr, reader) in fields.items():
        if name not in declared:
            problems.append(f"{item_type} has no element {name!r} (it has {sorted(declared)})")
        elif reader not in READERS:
            problems.append(f"{name}: reader {reader.__name__} is not in READERS")
        elif declared[name] not in READERS[reader]:
            problems.append(f"{name} is xsd:{declared[name]}, read by {reader.__name__}")
    return problems


@pytest.mark.parametrize("name", sorted(lp.LIST_SPECS))
def test_list_spec_names_and_readers_match_the_reference(name: str, schema: Schema) -> None:
    """Each list's item element, field names, readers and parameters are KashFlow's own."""
    spec = lp.LIST_SPECS[name]
    item, item_type = schema.array_item(spec.operation)
    assert spec.item == item, f"{spec.operation} items are <{item}>, the spec reads <{spec.item}>"
    assert check_fields(schema, item_type, spec.fields) == []
    unknown = set(spec.params) - set(schema.request_fields(spec.operation))
    assert not unknown, f"{spec.operation} takes no {sorted(unknown)}"


def test_customers_modified_since_has_the_same_items_as_get_customers(schema: Schema) -> None:
    """The incremental customer call is read with the customers spec: same item and type."""
    assert schema.array_item("GetCustomersModifiedSince") == schema.array_item("GetCustomers")


@pytest.mark.parametrize("operation", ["GetReceiptsForSupplier", "GetInvoicesForCustomer"])
def test_document_header_fields_match_the_reference(operation: str, schema: Schema) -> None:
    """Document lookups read <Invoice> items, with header fields KashFlow's Invoice declares."""
    item, item_type = schema.array_item(operation)
    assert item == "Invoice"
    assert check_fields(schema, item_type, lp._DOCUMENT_FIELDS) == []


def test_a_misspelt_field_is_reported(schema: Schema) -> None:
    """The check itself: a name KashFlow does not use is caught (the VATNumber typo)."""
    fields = {"VatNumber": ("vat_number", lp._text), "Code": ("code", lp._int)}
    problems = check_fields(schema, "Customer", fields)
    assert len(problems) == 2
    assert "no element 'VatNumber'" in problems[0] and "xsd:string" in problems[1]
