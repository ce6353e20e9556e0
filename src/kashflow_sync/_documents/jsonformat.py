"""Documents as JSON: the document file format, read and written in one place.

The format is described once, by the JSON Schema shipped in ``schemas/document.schema.json``.
:func:`document_from_json` checks data against it with ``jsonschema`` (every error at once,
each worded for a person) and then builds the document through this module's own cattrs
converter; :func:`document_to_json` is its exact inverse, so a document survives a trip through
JSON unchanged (the Celery task payload relies on it). Money is written as decimal strings,
dates as ``YYYY-MM-DD``, and an attachment as its bytes, base64-encoded.
"""

from __future__ import annotations

import base64
import mimetypes
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import cattrs
from cattrs.strategies import configure_union_passthrough

from .. import errors
from .model import DOCUMENT_CLASSES, Attachment, Document, Problem
from .problems import ATTACHMENT_NOT_FOUND, ATTACHMENT_PATH_REFUSED, INVALID_VALUE
from .schema import repeated_keys, schema_problems, too_deep

__all__ = ["document_from_json", "document_to_json"]

#: Reading order of a document's keys when written out.
_KEY_ORDER = (
    "kind",
    "external_id",
    "supplier",
    "customer",
    "reference",
    "issue_date",
    "due_date",
    "currency",
    "location",
    "credits",
    "create_contact",
    "lines",
    "attachment",
    "payment",
)


def _join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def _structure_decimal(value: Any, _: Any) -> Decimal:
    if isinstance(value, float):  # from Python data: the schema let only whole floats through
        return Decimal(int(value)) if value.is_integer() else Decimal(repr(value))
    return value if isinstance(value, Decimal) else Decimal(str(value).strip())


def _unstructure_decimal(value: Decimal) -> str:
    # Fixed-point: "1E+3" would not match the format's money pattern.
    return format(value, "f")


def _make_converter() -> cattrs.Converter:
    """The document format's converter; the global cattrs converter is never touched."""
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_unstructure_hook(Decimal, _unstructure_decimal)
    conv.register_structure_hook(date, lambda value, _: date.fromisoformat(value))
    conv.register_unstructure_hook(date, date.isoformat)
    conv.register_unstructure_hook(
        Attachment,
        lambda a: {
            "filename": a.filename,
            "content_type": a.content_type,
            "content_base64": base64.b64encode(a.content).decode("ascii"),
        },
    )
    # Payment.method and bank_account are ``str | int``: JSON keeps the scalar's own type.
    configure_union_passthrough(str | int | None, conv)
    return conv


_converter = _make_converter()


def _attachment(
    data: Any, field: str, base_dir: Path | None, allow_outside: bool
) -> tuple[Attachment | None, list[Problem]]:
    if data is None:
        return None, []
    if isinstance(data, str):
        data = {"path": data}
    if "content_base64" in data:
        content = base64.b64decode(data["content_base64"])
        filename = data["filename"]
    elif base_dir is None:
        # Reading a file named by the data would let whoever wrote the data (a web request, a
        # queued task) upload any file this process can read into the ledger.
        return None, [
            Problem(
                ATTACHMENT_PATH_REFUSED,
                _join(field, "path"),
                f"the attachment names a file ({data['path']!r}) and no folder to read it from "
                "was given",
                "Send the file's bytes as content_base64 (document_to_json does), or pass "
                "base_dir= to document_from_json when the data comes from a trusted file.",
            )
        ]
    elif "\x00" in data["path"]:
        # No file system takes it; the path functions would raise ValueError, not OSError.
        return None, [
            Problem(
                ATTACHMENT_NOT_FOUND,
                _join(field, "path"),
                f"{data['path']!r} holds a NUL character, which no file name can",
                "Correct the path: it is relative to the JSON file's folder.",
            )
        ]
    else:
        file = base_dir / data["path"]
        outside = _outside(file, base_dir)
        if outside is not None and not allow_outside:
            # A document file may come from elsewhere (an export, an e-mail): it must not be
            # able to upload /etc/passwd or ~/.ssh/id_rsa into the ledger by naming it.
            return None, [
                Problem(
                    ATTACHMENT_PATH_REFUSED,
                    _join(field, "path"),
                    f"the attachment {data['path']!r} is outside the document file's folder "
                    f"{base_dir.resolve()}"
                    + ("" if str(outside) == data["path"] else f" (it leads to {outside})"),
                    "Put the file in the document file's folder (or a folder inside it) and name "
                    "it relative to that folder. To read files from elsewhere on purpose, allow "
                    "it: kashflow-sync publish --allow-outside-attachments (in Python, "
                    "allow_outside_attachments=True).",
                )
            ]
        try:
            content = file.read_bytes()
        except OSError as exc:
            reason = "no such file" if isinstance(exc, FileNotFoundError) else exc.strerror
            return None, [
                Problem(
                    ATTACHMENT_NOT_FOUND,
                    _join(field, "path"),
                    f"cannot read {file}: {reason}",
                    "Check the path: it is relative to the JSON file's folder.",
                )
            ]
        filename = data.get("filename", Path(data["path"]).name)
    content_type = data.get("content_type")
    if content_type is None:
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return Attachment(filename=filename, content=content, content_type=content_type), []


def _outside(file: Path, folder: Path) -> Path | None:
    """Where *file* really is when that is not inside *folder*; None when it is inside.

    Both are resolved first, so neither ``..`` nor a symbolic link in the folder that points
    out of it gets past.
    """
    target = file.resolve()
    return None if target.is_relative_to(folder.resolve()) else target


def _format_exception(exc: BaseException, type_: type | None) -> str:
    """A refused value in words: the models' own checks already say what is wrong."""
    if isinstance(exc, ValueError) and str(exc):
        return str(exc)
    return cattrs.v.format_exception(exc, type_)


def _build(
    data: Mapping[str, Any], where: str, base_dir: Path | None, allow_outside: bool
) -> Document | list[Problem]:
    """The document from schema-valid *data*, or the problems found building it."""
    attachment, problems = _attachment(
        data.get("attachment"), _join(where, "attachment"), base_dir, allow_outside
    )
    if problems:
        return problems
    fields = {k: v for k, v in data.items() if k not in ("$schema", "kind", "attachment")}
    fields.setdefault("reference", "")
    for line in fields.get("lines", []):
        if line.get("quantity") is None:
            line.pop("quantity", None)
    kind = data.get("kind") or ("purchase" if "supplier" in data else "sales")
    cls: type[Document] = DOCUMENT_CLASSES[kind]
    try:
        document: Document = _converter.structure(fields, cls)
    except Exception as exc:  # a model converter refused a value the schema let through
        messages = (
            cattrs.transform_error(exc, format_exception=_format_exception)
            if isinstance(exc, cattrs.BaseValidationError)
            else [str(exc)]
        )
        return [Problem(INVALID_VALUE, where, m, "Correct the value.") for m in messages]
    return attrs.evolve(document, attachment=attachment)


def document_from_json(
    data: Mapping[str, Any],
    *,
    base_dir: str | Path | None = None,
    where: str = "",
    allow_outside_attachments: bool = False,
) -> Document:
    """Build a document from its JSON form (the ``kashflow-sync publish`` file format).

    Args:
        data: one decoded document. Money as decimal strings or whole numbers; JSON numbers
            with a fraction are refused, except for ``vat_rate`` and ``quantity``.
        base_dir: the folder an attachment ``path`` is relative to, and the one it must be
            in: a path leading out of it (``/etc/hostname``, ``../x.pdf``, a symbolic link
            out) is refused (``attachment_path_refused``). Without *base_dir* every ``path``
            attachment is refused: data from a web request or a task queue must not name files
            on this machine. Attachments given as ``content_base64`` need none.
        where: prefixed to the field paths of problems (e.g. ``[2]``).
        allow_outside_attachments: read an attachment ``path`` outside *base_dir* too, for
            document files you wrote yourself.

    Returns:
        A :class:`~kashflow_sync.PurchaseInvoice` (the data names a ``supplier``) or a
        :class:`~kashflow_sync.SalesInvoice` (a ``customer``); with ``"kind":
        "purchase_credit_note"`` or ``"sales_credit_note"``, a
        :class:`~kashflow_sync.PurchaseCreditNote` or :class:`~kashflow_sync.SalesCreditNote`.

    Raises:
        ValidationError: every way the data breaks the format, each a problem with its field
            path, message and remedy.

    """
    # Walked without recursion first: the copy and the schema check recurse.
    deep = too_deep(data, where)
    if deep is not None:
        problems = [deep]
    else:
        copied = _copy(data) if isinstance(data, Mapping) else data
        problems = repeated_keys(data, where) + schema_problems(copied, where)
    if not problems:
        folder = Path(base_dir) if base_dir is not None else None
        built = _build(copied, where, folder, allow_outside_attachments)
        if isinstance(built, list):
            problems = built
        else:
            return built
    external_id = data.get("external_id") if isinstance(data, Mapping) else None
    raise errors.ValidationError(
        problems, external_id=external_id if isinstance(external_id, str) else None
    )


def _copy(data: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of the data, so building never changes the caller's.

    A Decimal from Python (exact, unlike a JSON fraction) becomes its decimal string, which is
    how the format writes money.
    """

    def copy(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: copy(v) for k, v in value.items()}
        if isinstance(value, list):
            return [copy(v) for v in value]
        if type(value) is Decimal:
            return format(value, "f")
        return value

    return dict(copy(data))


def document_to_json(document: Document) -> dict[str, Any]:
    """The JSON form of *document*, which :func:`document_from_json` turns back into it exactly.

    Money is written as fixed-point decimal strings, dates as ``YYYY-MM-DD``, the attachment
    inline as ``content_base64``; fields that are None are left out (``issue_date`` is
    written as null: the format requires the key). The result is plain JSON
    data, ready for ``json.dumps`` (or a task queue).

    Raises:
        TypeError: *document* is not a document (an invoice or a credit note).

    """
    if type(document) not in DOCUMENT_CLASSES.values():
        raise TypeError(
            "expected a kashflow_sync.PurchaseInvoice, SalesInvoice, PurchaseCreditNote or "
            f"SalesCreditNote, not {type(document).__name__}"
        )
    raw: dict[str, Any] = _converter.unstructure(document, type(document))
    raw["kind"] = document.kind  # init=False, so cattrs leaves it out
    raw["lines"] = [_without_none(line) for line in raw["lines"]]
    if raw.get("payment") is not None:
        raw["payment"] = _without_none(raw["payment"])
    if not raw.get("create_contact"):
        raw.pop("create_contact", None)  # the default: left out, as None fields are
    raw = {**_without_none(raw), "issue_date": raw["issue_date"]}  # required, even when null
    return {key: raw[key] for key in _KEY_ORDER if key in raw}


def _without_none(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}
