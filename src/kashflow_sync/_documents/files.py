"""Document files: JSON files (or folders of them) holding documents to publish.

A file holds one document or a list of them, in the format :mod:`.jsonformat` reads;
a folder stands for its ``*.json`` files. Every problem of every file is collected before
anything is reported, so one run shows them all. Attachment paths are relative to the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .. import errors
from .jsonformat import document_from_json
from .model import Document, Problem
from .problems import (
    DUPLICATE_EXTERNAL_ID,
    INVALID_JSON,
    INVALID_VALUE,
    NO_DOCUMENTS,
    UNREADABLE_FILE,
)
from .schema import JsonTooDeep, loads, too_deep, too_deep_problem

__all__ = ["load_documents", "read_document_files"]


def _expand(paths: Iterable[str | Path], problems: dict[str, list[Problem]]) -> list[Path]:
    """Files to read: each path itself, or a folder's ``*.json`` files in name order."""
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.glob("*.json") if p.is_file())
            if not found:
                problems[str(path)] = [
                    Problem(
                        NO_DOCUMENTS,
                        "",
                        "the folder holds no *.json file",
                        "Name the document files themselves, or put them in this folder.",
                    )
                ]
            files.extend(found)
        else:
            files.append(path)
    return files


def _decode(path: Path) -> tuple[Any, list[Problem]]:
    """The file's JSON (a UTF-8 BOM allowed), or the problem reading it."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = "no such file or folder" if isinstance(exc, FileNotFoundError) else exc.strerror
        return None, [Problem(UNREADABLE_FILE, "", f"cannot be read: {reason}", "Check the path.")]
    try:
        text = raw.decode("utf-8-sig")  # editors on Windows often save a byte-order mark
    except UnicodeDecodeError as exc:
        return None, [
            Problem(
                INVALID_JSON,
                "",
                f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
                "Save the file as UTF-8.",
            )
        ]
    try:
        # Numbers with a fraction stay exact (Decimal), so the format can refuse them for money
        # and take them for rates; NaN and Infinity are not JSON.
        data = loads(text)
    except JsonTooDeep:
        return None, [too_deep_problem()]
    except (json.JSONDecodeError, ValueError) as exc:
        where = (
            f" (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            if isinstance(exc, json.JSONDecodeError)
            else f": {exc}"
        )
        return None, [
            Problem(INVALID_JSON, "", f"is not valid JSON{where}", "Correct the JSON syntax.")
        ]
    # Refused here, before anything recursive (the schema check, the builder) walks it.
    deep = too_deep(data)
    return (data, []) if deep is None else (None, [deep])


def _documents_in(
    path: Path, data: Any, allow_outside: bool
) -> tuple[list[Document], list[Problem]]:
    if isinstance(data, list):
        if not data:
            return [], [Problem(NO_DOCUMENTS, "", "the list holds no documents", "Add documents.")]
        items = [(f"[{i}]", item) for i, item in enumerate(data)]
    else:
        items = [("", data)]
    documents: list[Document] = []
    problems: list[Problem] = []
    for where, item in items:
        if not isinstance(item, dict):
            problems.append(
                Problem(
                    INVALID_VALUE,
                    where,
                    "must be a JSON object (one document)"
                    + ("" if where else " or a list of them"),
                    "Write each document as an object with external_id, supplier, lines...",
                )
            )
            continue
        try:
            documents.append(
                document_from_json(
                    item,
                    base_dir=path.parent,
                    where=where,
                    allow_outside_attachments=allow_outside,
                )
            )
        except errors.ValidationError as exc:
            problems.extend(exc.problems)
    return documents, problems


def read_document_files(
    paths: Sequence[str | Path], *, allow_outside_attachments: bool = False
) -> list[tuple[Path, Document]]:
    """Read documents from JSON files and folders, reporting every problem of every file.

    Args:
        paths: files, each holding one document or a list of them, and folders (their
            ``*.json`` files, in name order).
        allow_outside_attachments: read attachment paths that lead out of their document
            file's folder too; by default they are refused (``attachment_path_refused``), so a
            document file cannot upload any file this process can read.

    Returns:
        ``(file, document)`` pairs in the order read.

    Raises:
        DocumentFileError: at least one file could not be read as documents, or two documents
            share an ``external_id``; ``.files`` holds every problem of every file.

    """
    problems: dict[str, list[Problem]] = {}
    loaded: list[tuple[Path, Document]] = []
    seen: dict[str, Path] = {}
    for path in _expand(paths, problems):
        data, found = _decode(path)
        documents: list[Document] = []
        if not found:
            documents, found = _documents_in(path, data, allow_outside_attachments)
        for index, document in enumerate(documents):
            earlier = seen.get(document.external_id)
            if earlier is not None:
                where = f"[{index}].external_id" if isinstance(data, list) else "external_id"
                found.append(
                    Problem(
                        DUPLICATE_EXTERNAL_ID,
                        where,
                        f"{document.external_id!r} appears twice (also in {earlier})",
                        "Give each document its own external_id.",
                    )
                )
                continue
            seen[document.external_id] = path
            loaded.append((path, document))
        if found:
            problems.setdefault(str(path), []).extend(found)
    if problems:
        raise errors.DocumentFileError(problems)
    return loaded


def load_documents(path: str | Path, *, allow_outside_attachments: bool = False) -> list[Document]:
    """The documents in one JSON file, or in a folder's ``*.json`` files.

    Args:
        path: the file or folder.
        allow_outside_attachments: read attachment paths outside the file's folder too (see
            :func:`read_document_files`).

    Raises:
        DocumentFileError: every problem found, by file (see :func:`read_document_files`).

    """
    read = read_document_files([path], allow_outside_attachments=allow_outside_attachments)
    return [document for _file, document in read]
