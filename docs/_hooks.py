"""MkDocs hooks: tables generated from the code, so the docs cannot drift from it.

A page includes a generated block with an HTML comment on a line of its own:

``<!-- generated: problem-codes -->``
    every validation problem code with its meaning (``kashflow_sync._validate.PROBLEM_CODES``).
``<!-- generated: error-classes -->``
    every error class with its default code, whether it is retryable, meaning and remedy.
``<!-- generated: exit-codes -->``
    the ``kashflow-sync`` exit codes.
``<!-- generated: document-schema -->``
    the JSON Schema of the document file format, as shipped in the package.

``tests/test_docs.py`` renders pages through :func:`render` too, to check what they say.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from typing import Any

_MARKER = re.compile(r"^<!-- generated: ([a-z-]+) -->$", re.M)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def problem_codes_table() -> str:
    """A Markdown table of every problem code: where it comes from and what it means."""
    from kashflow_sync._problem_codes import (
        DOCUMENT_FILE_CODES,
        NOTICE_CODES,
        PROBLEM_CODES,
        PUBLISH_TIME_CODES,
    )

    def kind(code: str) -> str:
        if code in NOTICE_CODES:
            return "notice"
        if code in DOCUMENT_FILE_CODES:
            return "document file"
        return "publish" if code in PUBLISH_TIME_CODES else "validation"

    rows = ["| code | from | meaning |", "|---|---|---|"]
    rows += [
        f"| `{code}` | {kind(code)} | {_cell(meaning)} |" for code, meaning in PROBLEM_CODES.items()
    ]
    return "\n".join(rows)


def error_classes() -> list[type[Exception]]:
    """The error classes of ``kashflow_sync.errors`` in definition order, root first."""
    from kashflow_sync import errors

    classes = [
        obj
        for obj in vars(errors).values()
        if inspect.isclass(obj) and issubclass(obj, errors.KashFlowError)
    ]
    return classes


def error_classes_table() -> str:
    """A Markdown table: each error class, its code, retryable, meaning and remedy."""
    rows = [
        "| error | default code | retryable | meaning | remedy |",
        "|---|---|---|---|---|",
    ]
    for cls in error_classes():
        meaning = (inspect.getdoc(cls) or "").split("\n\n")[0]
        rows.append(
            f"| `{cls.__name__}` | `{cls.default_code}` | "  # type: ignore[attr-defined]
            f"{'yes' if cls.default_retryable else 'no'} | "  # type: ignore[attr-defined]
            f"{_cell(meaning)} | {_cell(cls.default_remedy)} |"  # type: ignore[attr-defined]
        )
    return "\n".join(rows)


def exit_codes_table() -> str:
    """A Markdown table of the ``kashflow-sync`` exit codes and what each means."""
    from kashflow_sync._cli_errors import EXIT_CODES

    rows = ["| exit code | meaning |", "|---|---|"]
    rows += [f"| `{code}` | {_cell(meaning)} |" for code, meaning in EXIT_CODES.items()]
    return "\n".join(rows)


def document_schema_block() -> str:
    """The packaged JSON Schema of the document format, as a fenced JSON block."""
    from kashflow_sync._docschema import document_schema

    return "```json\n" + json.dumps(document_schema(), indent=2) + "\n```"


GENERATORS: dict[str, Callable[[], str]] = {
    "problem-codes": problem_codes_table,
    "error-classes": error_classes_table,
    "exit-codes": exit_codes_table,
    "document-schema": document_schema_block,
}


def render(markdown: str) -> str:
    """Replace every ``<!-- generated: NAME -->`` line with its generated block."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            raise ValueError(f"unknown generated block {name!r}; known: {sorted(GENERATORS)}")
        return GENERATORS[name]()

    return _MARKER.sub(replace, markdown)


def on_page_markdown(markdown: str, **_kwargs: Any) -> str:
    """MkDocs hook: fill the generated blocks of every page."""
    return render(markdown)
