"""The package's one cattrs converter: attrs models to JSON-ready data and back.

Decimals travel as strings (exact, never float), datetimes and dates as ISO 8601 strings, attrs
classes as dicts by field name. The module-level :data:`converter` is preconfigured; the global
``cattrs`` converter is never touched. Storage and any other serializer go through the helpers
here so that every stored form of a model is the same.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Union

import attrs
import cattrs
from cattrs.strategies import configure_union_passthrough

from ._account.items import LIST_NAMES, LIST_TYPES, ListItem
from ._documents.model import Document, PublishAttempt, Rule
from ._journal.entry import JournalEntry

__all__ = [
    "as_utc",
    "converter",
    "fingerprint",
    "list_item_class",
    "make_converter",
    "structure_attempt",
    "structure_entry",
    "structure_items",
    "structure_rule",
    "unstructure_attempt",
    "unstructure_entry",
    "unstructure_items",
    "unstructure_rule",
]


def _structure_decimal(value: Any, _: Any) -> Decimal:
    # A float here means the data went through something lossy; refuse rather than guess.
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value
    raise TypeError(f"expected a decimal string, not {type(value).__name__} ({value!r})")


def _structure_datetime(value: Any, _: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    raise TypeError(f"expected an ISO 8601 datetime string, not {type(value).__name__}")


def _structure_date(value: Any, _: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise TypeError(f"expected an ISO 8601 date string, not {type(value).__name__}")


def make_converter() -> cattrs.Converter:
    """Build a converter preconfigured for kashflow_sync's models.

    Returns:
        A new :class:`cattrs.Converter`: Decimal <-> str, datetime/date <-> ISO 8601 strings,
        attrs classes <-> dicts, unions of JSON scalars (``str | int | None``) passed through.

    """
    conv = cattrs.Converter()
    conv.register_unstructure_hook(Decimal, str)
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_unstructure_hook(datetime, datetime.isoformat)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(date, date.isoformat)
    conv.register_structure_hook(date, _structure_date)
    # Rule.payment_method is ``str | int | None``: JSON keeps the scalar's own type, so the
    # value only needs checking, not disambiguating.
    configure_union_passthrough(Union[str, int, bool, None], conv)  # noqa: UP007
    return conv


#: The package's converter; use it (or :func:`make_converter`) rather than cattrs' global one.
converter = make_converter()


def list_item_class(name: str) -> type:
    """The item class of the list called *name*.

    Raises:
        KeyError: *name* is not one of ``LIST_NAMES``.

    """
    try:
        return LIST_TYPES[name]
    except KeyError:
        raise KeyError(f"unknown list {name!r}; known: {', '.join(LIST_NAMES)}") from None


def unstructure_items(name: str, items: Iterable[Any]) -> list[dict[str, Any]]:
    """The items of the list *name* as JSON-ready dicts, in order.

    Raises:
        KeyError: *name* is not a known list.
        TypeError: an item is not of the list's item class.

    """
    cls = list_item_class(name)
    hook = converter.get_unstructure_hook(cls)
    out: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if not isinstance(item, cls):
            raise TypeError(f"{name}[{index}] must be a {cls.__name__}, not {type(item).__name__}")
        out.append(hook(item))
    return out


def structure_items(name: str, data: Sequence[Mapping[str, Any]]) -> tuple[ListItem, ...]:
    """Rebuild the items of the list *name* from :func:`unstructure_items` output.

    Raises:
        KeyError: *name* is not a known list.

    """
    cls = list_item_class(name)
    hook = converter.get_structure_hook(cls)
    return tuple(hook(row, cls) for row in data)


def unstructure_rule(rule: Rule) -> dict[str, Any]:
    """A rule as a JSON-ready dict."""
    result: dict[str, Any] = converter.unstructure(rule, Rule)
    return result


def structure_rule(data: Mapping[str, Any]) -> Rule:
    """Rebuild a rule from :func:`unstructure_rule` output."""
    return converter.structure(data, Rule)


def unstructure_attempt(attempt: PublishAttempt) -> dict[str, Any]:
    """A publish attempt as a JSON-ready dict."""
    result: dict[str, Any] = converter.unstructure(attempt, PublishAttempt)
    return result


def structure_attempt(data: Mapping[str, Any]) -> PublishAttempt:
    """Rebuild a publish attempt from :func:`unstructure_attempt` output."""
    return converter.structure(data, PublishAttempt)


def unstructure_entry(entry: JournalEntry) -> dict[str, Any]:
    """A journal entry (attempts included) as a JSON-ready dict."""
    result: dict[str, Any] = converter.unstructure(entry, JournalEntry)
    return result


def structure_entry(data: Mapping[str, Any]) -> JournalEntry:
    """Rebuild a journal entry from :func:`unstructure_entry` output."""
    return converter.structure(data, JournalEntry)


def as_utc(value: datetime) -> datetime:
    """*value* as an aware UTC datetime, for journal timestamps.

    Raises:
        ValueError: *value* is naive: its instant is unknown, so it cannot be stored or compared.

    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"journal timestamps must be timezone-aware, not naive ({value.isoformat()}); "
            "use datetime.now(timezone.utc)"
        )
    if value.tzinfo is timezone.utc:
        return value  # already UTC: no copy (journal writes are frequent)
    return value.astimezone(timezone.utc)


def fingerprint(document: Document) -> str:
    """A stable digest of what would be published (the attachment by its content's digest).

    Stored in every journal entry: it must never change for the same document, or documents
    published by an earlier version would read as changed. A test pins known digests.
    """
    data: dict[str, Any] = attrs.asdict(document, recurse=True)
    # Fields added after digests were first stored are left out at their defaults, so an
    # invoice keeps the digest it always had; create_contact says how to match the contact,
    # not what is published.
    data.pop("create_contact", None)
    if data.get("credits", 0) is None:
        del data["credits"]
    if document.attachment is not None:
        data["attachment"]["content"] = hashlib.sha256(document.attachment.content).hexdigest()
    text = json.dumps(data, default=str, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]
