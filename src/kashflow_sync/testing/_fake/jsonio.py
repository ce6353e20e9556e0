"""JSON in and out of the fake, for the control API and seed files.

Out: records become plain JSON with cattrs (money as decimal strings, never floats; dates in
ISO 8601; file contents base64). In: JSON values are coerced to the types a fake method's
annotations ask for (``Decimal``, ``datetime``, ``float``), so a JSON object maps onto the
Python API's keyword arguments with no per-method code. JSON is read with
``parse_float=Decimal``: a number never passes through a float on its way to the ledger.
"""

from __future__ import annotations

import base64
import functools
import inspect
import json
import types
import typing
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from cattrs.preconf.json import JsonConverter, make_converter

from .schema import parse_datetime

__all__ = ["call_with_json", "coerce", "converted_kwargs", "dumps", "loads", "to_json"]


@functools.lru_cache(maxsize=1)
def _converter() -> JsonConverter:
    converter = make_converter()
    converter.register_unstructure_hook(Decimal, str)
    converter.register_unstructure_hook(bytes, lambda b: base64.b64encode(b).decode("ascii"))
    converter.register_unstructure_hook(frozenset, sorted)
    # Mapping[str, object] values (request params, extra fields): go by the runtime type.
    converter.register_unstructure_hook_func(
        lambda t: t is object, lambda v: converter.unstructure(v, unstructure_as=type(v))
    )
    return converter


def to_json(value: object, *, extra: tuple[str, ...] = ()) -> Any:
    """*value* (a record, a list of them, a mapping...) as JSON-ready data.

    Args:
        value: what to convert.
        extra: properties of an attrs record to add beside its fields (``gross``...).

    """
    data = _converter().unstructure(value)
    if extra and isinstance(data, dict):
        for name in extra:
            data[name] = _converter().unstructure(getattr(value, name))
    return data


def dumps(data: object) -> bytes:
    """JSON text for *data* (already JSON-ready), UTF-8."""
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


def loads(body: bytes) -> Any:
    """Parse a JSON request body; numbers with a fraction become Decimal, never float.

    Raises:
        ValueError: the body is not JSON.

    """
    if not body.strip():
        return {}
    return json.loads(body, parse_float=Decimal)


def call_with_json(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call *fn* with JSON values converted to the types its annotations name.

    Raises:
        TypeError: arguments *fn* does not take (the message names them).
        ValueError: a value that does not convert (e.g. ``"abc"`` for a Decimal).

    """
    signature = inspect.signature(fn)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"{exc}; {_name(fn)} takes {_parameters(signature)}") from None
    hints = _hints(fn)
    for name, value in bound.arguments.items():
        parameter = signature.parameters[name]
        if name in hints and parameter.kind is not inspect.Parameter.VAR_KEYWORD:
            bound.arguments[name] = coerce(value, hints[name])
    return fn(*bound.args, **bound.kwargs)


def converted_kwargs(fn: Callable[..., Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """*kwargs* converted by *fn*'s annotations, without calling it.

    Raises:
        TypeError: a name *fn* does not take.
        ValueError: a value that does not convert.

    """
    signature = inspect.signature(fn)
    unknown = sorted(set(kwargs) - set(signature.parameters))
    if unknown:
        raise TypeError(f"unknown option(s) {unknown}; {_name(fn)} takes {_parameters(signature)}")
    hints = _hints(fn)
    return {k: coerce(v, hints[k]) if k in hints else v for k, v in kwargs.items()}


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except (NameError, TypeError):
        return {}


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", "it")


def _parameters(signature: inspect.Signature) -> str:
    names = [
        name
        for name, p in signature.parameters.items()
        if p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    ]
    return ", ".join(names) or "no arguments"


def coerce(value: Any, hint: Any) -> Any:
    """*value* as *hint* asks, where JSON cannot say it: Decimal, datetime, float.

    Raises:
        ValueError: a string that is not a decimal or an ISO 8601 date-time.

    """
    if value is None or isinstance(value, bool):
        return value
    options = typing.get_args(hint) if _is_union(hint) else (hint,)
    if Decimal in options and isinstance(value, (int, str, Decimal)):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal number") from None
    if datetime in options and isinstance(value, str):
        return parse_datetime(value)
    if float in options and isinstance(value, Decimal):
        return float(value)
    return value


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)
