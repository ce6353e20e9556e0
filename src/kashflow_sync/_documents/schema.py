"""The document format's one description, its JSON Schema, and its errors in words.

The schema shipped in ``schemas/document.schema.json`` is the format: :func:`schema_problems`
checks data against it with ``jsonschema`` (every error at once, impossible dates included) and
words each error for a person, with its field path and a remedy. :mod:`.jsonformat`
builds documents from data that passed.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from .model import RESERVED_PREFIX, Problem
from .problems import (
    DUPLICATE_KEY,
    INVALID_JSON,
    INVALID_VALUE,
    MISSING_FIELD,
    UNKNOWN_FIELD,
    ProblemCode,
)

__all__ = [
    "MAX_JSON_DEPTH",
    "SCHEMA_ID",
    "JsonNumber",
    "JsonTooDeep",
    "document_schema",
    "loads",
    "repeated_keys",
    "schema_problems",
    "too_deep",
    "too_deep_problem",
]

#: The ``$id`` of the shipped schema: the format's name and version, not a web address.
SCHEMA_ID = "urn:kashflow-sync:document:1"

_DATE_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

#: How deep lists and objects may nest in a document file. The format needs 4 (a list of
#: documents, a document, its lines, a line); anything far deeper is not a document file, and
#: past ~1,000 levels Python's JSON reader and every recursive check would give up with a
#: RecursionError instead of a problem.
MAX_JSON_DEPTH = 32


class JsonNumber(Decimal):
    """A JSON number with a fraction or exponent, read exactly (never through a float).

    The format refuses it for money (it was written as a float, e.g. ``100.5``) and accepts it
    for ``vat_rate`` and ``quantity``; a plain :class:`~decimal.Decimal` from Python is exact
    and taken as money.
    """


class JsonTooDeep(ValueError):
    """JSON text nesting lists and objects deeper than :data:`MAX_JSON_DEPTH`."""


class _RepeatedKeys(dict[str, Any]):
    """A JSON object that had some key more than once; ``repeated`` names them.

    It holds the last value of each, as :func:`json.loads` would, so that every other problem
    of the file can still be found; :func:`repeated_keys` reports them.
    """

    repeated: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) == len(pairs):
        return data
    seen: set[str] = set()
    repeated: dict[str, None] = {}
    for key, _value in pairs:
        if key in seen:
            repeated[key] = None
        seen.add(key)
    marked = _RepeatedKeys(data)
    marked.repeated = tuple(repeated)
    return marked


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def loads(text: str) -> Any:
    """Decode JSON text as the format reads it: fractions as :class:`JsonNumber`, no NaN.

    An object with a key twice keeps the last value, as JSON readers do, and remembers the key:
    :func:`repeated_keys` reports it.

    Raises:
        json.JSONDecodeError: the text is not JSON.
        JsonTooDeep: it nests too deep for the reader to follow (a ``ValueError``).
        ValueError: it holds NaN or Infinity.

    """
    try:
        return json.loads(
            text,
            parse_float=JsonNumber,
            parse_constant=_refuse_constant,
            object_pairs_hook=_object,
        )
    except RecursionError:
        raise JsonTooDeep(too_deep_problem().message) from None


def too_deep(data: object, where: str = "") -> Problem | None:
    """The problem of *data* nesting deeper than :data:`MAX_JSON_DEPTH`, or None.

    Walks without recursion, so no depth can exhaust the stack: the schema check and the
    document builder recurse, and run only on data this passed.

    Args:
        data: decoded JSON (as :func:`loads` returns it, or a host's own mapping).
        where: prefixed to the field path, e.g. ``[2]``.

    """
    stack: list[tuple[object, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if not isinstance(value, (Mapping, list)):
            continue
        if len(path) >= MAX_JSON_DEPTH:
            return too_deep_problem(_prefixed(where, _path(path)))
        items = value.items() if isinstance(value, Mapping) else enumerate(value)
        stack += [(item, (*path, key)) for key, item in items]
    return None


def too_deep_problem(field: str = "") -> Problem:
    """The problem of JSON nesting deeper than :data:`MAX_JSON_DEPTH`, found at *field*."""
    return Problem(
        INVALID_JSON,
        field,
        f"lists and objects nest more than {MAX_JSON_DEPTH} levels deep; a document file needs "
        "4 (a list of documents, a document, its lines, a line)",
        "Check what wrote the data: a document is an object whose lines are a list of objects.",
    )


def repeated_keys(data: object, where: str = "") -> list[Problem]:
    """A ``duplicate_key`` problem for each key an object of *data* had twice (see :func:`loads`).

    Args:
        data: decoded JSON no deeper than :data:`MAX_JSON_DEPTH` (see :func:`too_deep`).
        where: prefixed to the field paths, e.g. ``[2]``.

    """
    found: list[Problem] = []
    stack: list[tuple[object, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, _RepeatedKeys):
            found += [
                Problem(
                    DUPLICATE_KEY,
                    _prefixed(where, _path((*path, key))),
                    f'the key "{key}" appears more than once in one object; JSON readers keep '
                    "only the last value, silently",
                    f'Keep one "{key}" with the right value (a file merged or edited by hand '
                    "often repeats a key).",
                )
                for key in value.repeated
            ]
        if isinstance(value, Mapping):
            stack += [(item, (*path, key)) for key, item in value.items()]
        elif isinstance(value, list):
            stack += [(item, (*path, index)) for index, item in enumerate(value)]
    return sorted(found, key=lambda problem: problem.field)


def _prefixed(where: str, field: str) -> str:
    if not where:
        return field
    return f"{where}{'.' if field and not field.startswith('[') else ''}{field}"


@cache
def document_schema() -> dict[str, Any]:
    """The JSON Schema of the document format, as shipped in the package (do not modify it)."""
    text = resources.files("kashflow_sync").joinpath("schemas/document.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Any:
    """A jsonschema validator of one document, with real-date checking."""
    import jsonschema
    from referencing import Registry, Resource

    checker = jsonschema.FormatChecker(formats=())

    @checker.checks("date", raises=ValueError)
    def _is_date(value: object) -> bool:
        # The pattern reports a wrong shape; the format reports only an impossible day.
        if isinstance(value, str) and _DATE_SHAPE.fullmatch(value):
            date.fromisoformat(value)
        return True

    schema = document_schema()
    registry: Registry[Any] = Registry().with_resource(SCHEMA_ID, Resource.from_contents(schema))
    return jsonschema.Draft202012Validator(
        {"$ref": f"{SCHEMA_ID}#/$defs/document"}, registry=registry, format_checker=checker
    )


# ---------------------------------------------------------------------------- errors in words


def _path(parts: Sequence[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def _describe(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float, Decimal)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {json.dumps(value, ensure_ascii=False)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


_TYPE_WORDS = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "object": "a JSON object",
    "array": "a list",
    "null": "null",
}


def _impossible_date(text: str) -> str:
    year, month, day = (int(part) for part in text.split("-"))
    if not 1 <= month <= 12:
        return f"{text} is not a real date: there is no month {month}"
    days = calendar.monthrange(year, month)[1]
    if day == 0:
        return f"{text} is not a real date: there is no day 0"
    return f"{text} is not a real date: {calendar.month_name[month]} {year} has {days} days"


def _amount_words(error: Any) -> tuple[str, str]:
    value = error.instance
    if error.validator == "type" and isinstance(value, (float, JsonNumber)):
        return (
            f'{value} is a JSON number with a fraction; write money as a string: "{value}" '
            "(binary floats cannot hold pennies exactly)",
            f'Put the amount in quotes: "{value}".',
        )
    if error.validator in ("minimum", "maximum") or (
        isinstance(value, str) and re.fullmatch(r"\s*[+-]?[0-9]{13,}(\.[0-9]+)?\s*", value)
    ):
        return (
            f"{value} is too large: amounts must be below 1,000,000,000,000",
            "Check the amount: no invoice is that large.",
        )
    if error.validator == "pattern":
        return (
            f"{json.dumps(value)} is not an amount: write digits with an optional decimal "
            'point, e.g. "12.34"',
            'Write the amount as digits, e.g. "1000" or "12.34" (no exponent, no currency sign).',
        )
    return (
        f'must be an amount as a string, e.g. "12.34", not {_describe(value)}',
        'Write the amount as a string, e.g. "12.34".',
    )


def _words(error: Any) -> Iterator[tuple[ProblemCode, str, str, str]]:
    """``(code, field, message, remedy)`` for one jsonschema error (some errors give several)."""
    field = _path(list(error.absolute_path))
    schema = error.schema if isinstance(error.schema, dict) else {}
    title = schema.get("title")
    value = error.instance
    keyword = error.validator
    if keyword == "required":
        then = "then" in error.relative_schema_path
        for name in error.validator_value:
            if isinstance(value, dict) and name not in value:
                reason = f'is required for kind "{value.get("kind")}"' if then else "is required"
                yield (
                    MISSING_FIELD,
                    _join(field, name),
                    reason,
                    f'Add "{name}" (see the document format: `kashflow-sync schema`).',
                )
    elif keyword == "additionalProperties":
        known = ", ".join(k for k in schema.get("properties", {}) if k != "$schema")
        for name in value:
            if name not in schema.get("properties", {}):
                yield (
                    UNKNOWN_FIELD,
                    _join(field, name),
                    f"unknown field (known fields: {known})",
                    "Remove the field or correct its spelling.",
                )
    elif keyword == "oneOf" and title == "document":
        both = "supplier" in value and "customer" in value
        yield (
            MISSING_FIELD if not both else INVALID_VALUE,
            _join(field, "customer" if both else "supplier"),
            'a document has a "supplier" (purchase) or a "customer" (sales), not both'
            if both
            else 'is required (or "customer" for a sales invoice)',
            "Name the supplier of a purchase invoice, or the customer of a sales invoice.",
        )
    elif keyword == "oneOf" and isinstance(value, dict) and title != "document":
        both = "path" in value and "content_base64" in value
        yield (
            INVALID_VALUE if both else MISSING_FIELD,
            field,
            'has both "path" and "content_base64"; give one'
            if both
            else 'needs "path" (a file) or "content_base64" (the file\'s bytes)',
            "Give the attachment's file path, or its bytes base64-encoded with a filename.",
        )
    elif keyword == "dependentRequired":
        yield (
            MISSING_FIELD,
            _join(field, "filename"),
            'is required with "content_base64"',
            "Add the attachment's file name, with its extension (e.g. invoice.pdf).",
        )
    elif title in ("money", "number") and keyword in ("type", "pattern", "minimum", "maximum"):
        message, remedy = _amount_words(error)
        if title == "number" and keyword == "type":
            message = f"must be a number or a decimal string, not {_describe(value)}"
        yield INVALID_VALUE, field, message, remedy
    elif title == "date" and keyword == "format":
        yield INVALID_VALUE, field, _impossible_date(value), "Correct the date."
    elif title == "date":
        yield (
            INVALID_VALUE,
            field,
            f'{json.dumps(value)} is not a date such as "2026-11-02" (YYYY-MM-DD)'
            if isinstance(value, str)
            else f'must be a date string such as "2026-11-02", not {_describe(value)}',
            "Write the date as YYYY-MM-DD.",
        )
    elif title == "whole number":
        yield (
            INVALID_VALUE,
            field,
            f"must be a whole number, not {_describe(value)}",
            "Write the number without quotes or decimals, e.g. 7500.",
        )
    elif keyword == "type":
        wanted = error.validator_value
        wanted = [wanted] if isinstance(wanted, str) else list(wanted)
        expected = " or ".join(_TYPE_WORDS.get(t, t) for t in wanted)
        yield INVALID_VALUE, field, f"must be {expected}, not {_describe(value)}", "Correct it."
    elif keyword == "enum":
        allowed = " or ".join(json.dumps(v) for v in error.validator_value)
        yield INVALID_VALUE, field, f"must be {allowed}, not {_describe(value)}", "Correct it."
    elif keyword == "not":
        yield (
            INVALID_VALUE,
            field,
            f"may not start with {RESERVED_PREFIX!r}: kashflow_sync keeps those for itself",
            "Use your own id for the document.",
        )
    elif keyword == "pattern" and field.endswith("content_base64"):
        yield (
            INVALID_VALUE,
            field,
            "is not base64 (letters, digits, + and / with = padding, no line breaks)",
            "Encode the file's bytes with standard base64.",
        )
    elif keyword == "maxLength" and isinstance(value, str):
        yield (
            INVALID_VALUE,
            field,
            f"is {len(value)} characters long; the limit is {error.validator_value}",
            "Shorten it: use the host's own short id of the item.",
        )
    elif keyword in ("minLength", "pattern") and isinstance(value, str):
        yield INVALID_VALUE, field, "must not be empty", "Fill it in."
    else:  # pragma: no cover - a keyword the shipped schema does not use
        yield INVALID_VALUE, field, error.message, "Correct it as the document format says."


def schema_problems(data: object, where: str = "") -> list[Problem]:
    """Every way *data* (one document) breaks the format, each worded with a remedy.

    Args:
        data: one decoded document.
        where: prefixed to field paths, e.g. ``[2]`` for the third document of a file.

    """
    found: dict[tuple[str, str], Problem] = {}
    errors_ = sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.path)))
    for error in errors_:
        for code, field, message, remedy in _words(error):
            full = f"{where}{'.' if where and not field.startswith('[') else ''}{field}"
            # One problem per field and code: a value failing two rules is one mistake.
            found.setdefault((full, code), Problem(code, full, message, remedy))
    return list(found.values())
