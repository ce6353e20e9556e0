"""Read documents to publish from JSON files (the ``kashflow-sync publish`` format).

A file holds one document object or a list of them. Money is written as a string (``"12.34"``)
or an integer; a JSON number with a fraction is refused, because it would pass through a binary
float. Dates are ISO ``YYYY-MM-DD``. An attachment names a file relative to the JSON file. The
format is described by ``schemas/document.schema.json`` (shipped with the package) and in the
docs; every error names the file and the field.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from ._documents import Attachment, Document, Line, Payment, PurchaseInvoice, SalesInvoice

__all__ = ["DocumentFileError", "document_schema", "load_documents", "parse_document"]

_DOCUMENT_KEYS = frozenset(
    {
        "$schema",
        "kind",
        "external_id",
        "supplier",
        "customer",
        "reference",
        "issue_date",
        "due_date",
        "currency",
        "location",
        "lines",
        "attachment",
        "payment",
    }
)
_LINE_KEYS = frozenset({"description", "net", "vat", "vat_rate", "category", "project", "quantity"})
_ATTACHMENT_KEYS = frozenset({"path", "filename", "content_type"})
_PAYMENT_KEYS = frozenset({"method", "bank_account", "paid_on", "amount"})


class DocumentFileError(ValueError):
    """A document file could not be read; the message names the file and the field.

    Attributes:
        path: the JSON file.
        field: where in the file, e.g. ``[1].lines[0].net`` (empty for the whole file).
        reason: what is wrong with it.

    """

    def __init__(self, path: Path | str, field: str, reason: str) -> None:
        """Build the error from the file, the field path and the reason."""
        self.path = Path(path)
        self.field = field
        self.reason = reason
        where = f"{self.path}: {field}: " if field else f"{self.path}: "
        super().__init__(where + reason)


class _JsonFloat:
    """A JSON number with a fraction or exponent, kept as its text so errors can quote it."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


def document_schema() -> dict[str, Any]:
    """The JSON Schema of the document file format, as shipped with the package."""
    text = resources.files("kashflow_sync").joinpath("schemas/document.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def load_documents(path: str | Path) -> list[Document]:
    """Read one JSON file holding a document or a list of documents.

    Args:
        path: the file; attachment paths inside it are relative to its folder.

    Returns:
        The documents, in file order.

    Raises:
        DocumentFileError: the file is missing, is not JSON, or a document in it is invalid
            (the message names the file and the field).

    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DocumentFileError(path, "", "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentFileError(path, "", f"cannot be read: {exc}") from None
    try:
        data = json.loads(text, parse_float=_JsonFloat)
    except json.JSONDecodeError as exc:
        raise DocumentFileError(
            path, "", f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if isinstance(data, list):
        if not data:
            raise DocumentFileError(path, "", "the list holds no documents")
        return [parse_document(item, path, f"[{i}]") for i, item in enumerate(data)]
    return [parse_document(data, path, "")]


def parse_document(data: Any, path: str | Path, where: str = "") -> Document:
    """Build one document from its decoded JSON object.

    Args:
        data: the decoded JSON object.
        path: the file it came from (named in errors; attachments are relative to its folder).
        where: the object's position in the file, e.g. ``[2]``, prefixed to field names.

    Raises:
        DocumentFileError: a field is missing, unknown, or of the wrong type.

    """
    reader = _Reader(Path(path), where)
    obj = reader.object(data, "", _DOCUMENT_KEYS)
    kind = reader.kind(obj)
    lines_data = reader.require(obj, "lines")
    if not isinstance(lines_data, list):
        reader.fail("lines", "must be a list of line objects")
    lines = [reader.line(item, f"lines[{i}]") for i, item in enumerate(lines_data)]
    common: dict[str, Any] = {
        "external_id": reader.text(reader.require(obj, "external_id"), "external_id"),
        "reference": reader.text(obj.get("reference", ""), "reference", allow_empty=True),
        "issue_date": reader.date(reader.require(obj, "issue_date"), "issue_date"),
        "lines": lines,
        "due_date": reader.optional(obj, "due_date", reader.date),
        "currency": reader.optional(obj, "currency", reader.text),
        "location": reader.optional(obj, "location", reader.text),
        "attachment": reader.optional(obj, "attachment", reader.attachment),
        "payment": reader.optional(obj, "payment", reader.payment),
    }
    if kind == "purchase":
        supplier = reader.text(reader.require(obj, "supplier"), "supplier")
        return PurchaseInvoice(supplier=supplier, **common)
    customer = reader.text(reader.require(obj, "customer"), "customer")
    return SalesInvoice(customer=customer, **common)


class _Reader:
    """Reads fields of one document, turning every mistake into a :class:`DocumentFileError`."""

    def __init__(self, path: Path, where: str) -> None:
        self.path = path
        self.where = where

    def fail(self, field: str, reason: str) -> NoReturn:
        prefix = self.where
        full = f"{prefix}.{field}" if prefix and field else (prefix or field)
        raise DocumentFileError(self.path, full, reason)

    def object(self, data: Any, field: str, keys: frozenset[str]) -> Mapping[str, Any]:
        if not isinstance(data, dict):
            self.fail(field, f"must be a JSON object, not {_json_type(data)}")
        unknown = sorted(set(data) - keys)
        if unknown:
            name = unknown[0]
            known = ", ".join(sorted(keys - {"$schema"}))
            self.fail(_join(field, name), f"unknown field (known fields: {known})")
        return data

    def require(self, obj: Mapping[str, Any], field: str, parent: str = "") -> Any:
        value = obj.get(field)
        if value is None:
            self.fail(_join(parent, field), "is required")
        return value

    def optional(
        self, obj: Mapping[str, Any], field: str, read: Callable[[Any, str], Any], parent: str = ""
    ) -> Any:
        value = obj.get(field)
        return None if value is None else read(value, _join(parent, field))

    def kind(self, obj: Mapping[str, Any]) -> str:
        declared = obj.get("kind")
        if declared is not None and declared not in ("purchase", "sales"):
            self.fail("kind", f'must be "purchase" or "sales", not {_describe(declared)}')
        has_supplier = obj.get("supplier") is not None
        has_customer = obj.get("customer") is not None
        if has_supplier and has_customer:
            self.fail("customer", 'a document has a "supplier" (purchase) or a "customer" (sales)')
        inferred = "purchase" if has_supplier else "sales" if has_customer else None
        if declared is None and inferred is None:
            self.fail("supplier", 'is required (or "customer" for a sales invoice)')
        if declared is not None and inferred is not None and declared != inferred:
            other = "supplier" if declared == "purchase" else "customer"
            self.fail(other, f'is required for kind "{declared}"')
        return str(declared or inferred)

    def text(self, value: Any, field: str, *, allow_empty: bool = False) -> str:
        if not isinstance(value, str):
            self.fail(field, f"must be a string, not {_json_type(value)}")
        if not allow_empty and not value.strip():
            self.fail(field, "must not be empty")
        return value

    def money(self, value: Any, field: str) -> Decimal:
        if isinstance(value, _JsonFloat):
            self.fail(
                field,
                f'{value} is a JSON number with a fraction; write money as a string: "{value}" '
                "(binary floats cannot hold pennies exactly)",
            )
        if isinstance(value, bool):
            self.fail(field, f'must be an amount as a string, e.g. "12.34", not {value}')
        if isinstance(value, int):
            return Decimal(value)
        if not isinstance(value, str):
            self.fail(
                field, f'must be an amount as a string, e.g. "12.34", not {_json_type(value)}'
            )
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            self.fail(field, f'{json.dumps(value)} is not an amount; write e.g. "12.34"')
        if not amount.is_finite():
            self.fail(field, f"{json.dumps(value)} is not a finite amount")
        return amount

    def integer(self, value: Any, field: str) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        self.fail(field, f"must be a whole number, not {_describe(value)}")

    def text_or_int(self, value: Any, field: str) -> str | int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip():
            return value
        self.fail(field, f"must be a name (string) or a number, not {_describe(value)}")

    def date(self, value: Any, field: str) -> date:
        if not isinstance(value, str):
            self.fail(
                field, f'must be an ISO date string such as "2026-11-02", not {_describe(value)}'
            )
        try:
            if len(value) != 10:
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            self.fail(field, f'{json.dumps(value)} is not an ISO date such as "2026-11-02"')

    def line(self, data: Any, field: str) -> Line:
        obj = self.object(data, field, _LINE_KEYS)
        quantity = self.optional(obj, "quantity", self.money, field)
        return Line(
            description=self.optional(obj, "description", self._any_text, field),
            net=self.money(self.require(obj, "net", field), _join(field, "net")),
            vat=self.optional(obj, "vat", self.money, field),
            vat_rate=self.optional(obj, "vat_rate", self.money, field),
            category=self.optional(obj, "category", self.integer, field),
            project=self.optional(obj, "project", self.integer, field),
            quantity=Decimal(1) if quantity is None else quantity,
        )

    def _any_text(self, value: Any, field: str) -> str:
        return self.text(value, field, allow_empty=True)

    def attachment(self, data: Any, field: str) -> Attachment:
        if isinstance(data, str):
            data = {"path": data}
        obj = self.object(data, field, _ATTACHMENT_KEYS)
        rel = self.text(self.require(obj, "path", field), _join(field, "path"))
        file = (self.path.parent / rel).resolve()
        try:
            content = file.read_bytes()
        except FileNotFoundError:
            self.fail(_join(field, "path"), f"no such file: {file}")
        except OSError as exc:
            self.fail(_join(field, "path"), f"cannot read {file}: {exc}")
        filename = self.optional(obj, "filename", self.text, field) or Path(rel).name
        content_type = self.optional(obj, "content_type", self.text, field)
        if content_type is None:
            guessed, _ = mimetypes.guess_type(filename)
            content_type = guessed or "application/octet-stream"
        return Attachment(filename=filename, content=content, content_type=content_type)

    def payment(self, data: Any, field: str) -> Payment:
        obj = self.object(data, field, _PAYMENT_KEYS)
        return Payment(
            method=self.optional(obj, "method", self.text_or_int, field),
            bank_account=self.optional(obj, "bank_account", self.text_or_int, field),
            paid_on=self.optional(obj, "paid_on", self.date, field),
            amount=self.optional(obj, "amount", self.money, field),
        )


def _join(parent: str, field: str) -> str:
    return f"{parent}.{field}" if parent else field


def _json_type(value: Any) -> str:
    if isinstance(value, _JsonFloat):
        return f"the number {value}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"the number {value}"
    if value is None:
        return "null"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    return _json_type(value)
