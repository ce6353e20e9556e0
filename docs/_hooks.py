"""MkDocs hooks: tables generated from the code, so the docs cannot drift from it.

A page includes a generated block with an HTML comment on a line of its own:

``<!-- generated: problem-codes -->``
    every validation problem code with its meaning
    (``kashflow_sync._documents.validate.PROBLEM_CODES``).
``<!-- generated: error-classes -->``
    every error class with its default code, whether it is retryable, meaning and remedy.
``<!-- generated: error-codes -->``
    every more specific error code with its class, meaning and remedy
    (``kashflow_sync.errors.ErrorCode`` and its catalogue).
``<!-- generated: exit-codes -->``
    the ``kashflow-sync`` exit codes.
``<!-- generated: document-schema -->``
    the JSON Schema of the document file format, as shipped in the package.
``<!-- generated: journal-transitions -->``
    every move a journal entry may make, per kind of entry, with what makes it
    (``kashflow_sync._journal.states.TRANSITIONS``).
``<!-- generated: journal-diagram -->``
    the same table's moves of a document's entry, as a Mermaid state diagram.
``<!-- generated: api-index -->``
    every public name of ``kashflow_sync`` with a link to its entry in the API reference and
    the first line of its docstring (a name no page renders breaks the strict build).
``<!-- generated: doctor-read-only -->``, ``doctor-probe``, ``doctor-failed-delete``,
``doctor-facts``
    ``kashflow-sync doctor`` run for real against the fake KashFlow (read-only; with
    ``--probe-writes``; with a delete that fails; the facts under ``--json``), so the sample
    output on the "Check your account" page is never typed by hand.

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
    from kashflow_sync._documents.problems import (
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


def error_codes_table() -> str:
    """A Markdown table of the error codes other than the classes' own, from the catalogue."""
    from kashflow_sync._error_codes import CATALOGUE, HTTP_STATUS_FAMILIES

    own = {cls.default_code for cls in error_classes()}  # type: ignore[attr-defined]
    after = {code: (codes, entry) for codes, entry, code in HTTP_STATUS_FAMILIES}
    rows = ["| code | class | meaning | remedy |", "|---|---|---|---|"]
    for code, entry in CATALOGUE.items():
        listed = [] if code in own else [(f"`{code}`", entry)]
        if code in after:
            listed.append(after[code])
        rows += [
            f"| {codes} | {_cell(e.error)} | {_cell(e.meaning)} | {_cell(e.remedy or '')} |"
            for codes, e in listed
        ]
    return "\n".join(rows)


def exit_codes_table() -> str:
    """A Markdown table of the ``kashflow-sync`` exit codes and what each means."""
    from kashflow_sync.cli._errors import EXIT_CODES

    rows = ["| exit code | meaning |", "|---|---|"]
    rows += [f"| `{code}` | {_cell(meaning)} |" for code, meaning in EXIT_CODES.items()]
    return "\n".join(rows)


#: How the transition table's roles read on the page.
_ROLE_WORDS = {
    "document": "document",
    "contact": "new contact",
    "content": "invoice content",
    "watch": "watch",
    "list_lock": "list lock",
}


def journal_transitions_table() -> str:
    """A Markdown table of the journal's legal moves: entry, from, to, and what makes the move.

    A state with no move out is listed with "(stays)", so every state of every kind of entry
    appears.
    """
    from kashflow_sync._journal.states import ROLES, TRANSITIONS

    rows = ["| entry | from | to | when |", "|---|---|---|---|"]
    for role in ROLES:
        for source, targets in TRANSITIONS[role].items():
            moves = targets.items() or [(None, "it never moves on")]
            for target, why in moves:
                to = "(stays)" if target is None else f"`{target}`"
                rows.append(f"| {_ROLE_WORDS[role]} | `{source}` | {to} | {_cell(why)} |")
    return "\n".join(rows)


def journal_diagram() -> str:
    """A Mermaid state diagram of a document's journal entry, drawn from the same table.

    The first state (``claimed``) is entered from the start; moves to the same state are left
    out (they are listed in the table).
    """
    from kashflow_sync._journal.states import CLAIMED, TRANSITIONS

    lines = ["```mermaid", "stateDiagram-v2", f"    [*] --> {CLAIMED}"]
    for source, targets in TRANSITIONS["document"].items():
        for target, why in targets.items():
            if target != source:
                label = " ".join(why.split()).replace(":", " -").replace(";", ",")
                lines.append(f"    {source} --> {target}: {label}")
    lines.append("```")
    return "\n".join(lines)


def document_schema_block() -> str:
    """The packaged JSON Schema of the document format, as a fenced JSON block."""
    from kashflow_sync._documents.schema import document_schema

    return "```json\n" + json.dumps(document_schema(), indent=2) + "\n```"


def _doctor_run(*options: str, fault: str | None = None) -> tuple[str, str]:
    """Run ``kashflow-sync doctor OPTIONS`` against a served fake: (command line, stdout)."""
    import contextlib
    import io
    import os
    import tempfile

    from kashflow_sync import cli
    from kashflow_sync.testing import FakeKashFlow

    here = os.getcwd()
    with FakeKashFlow.serve() as fake, tempfile.TemporaryDirectory() as folder:
        fake.allow_ip("127.0.0.1")
        if fault:
            fake.faults.http_error(status=500, op=fault, times=None)
        env = {
            cli.ENV_USERNAME: fake.username,
            cli.ENV_PASSWORD: fake.password,
            cli.ENV_AUTOAUTH_KEY: fake.autoauth_key or "",
        }
        saved = {name: os.environ.get(name) for name in env}
        os.environ.update(env)
        out = io.StringIO()
        argv = ["doctor", *options, "--endpoint", fake.url, "--db", "sqlite:///kf.db"]
        try:
            os.chdir(folder)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
                cli.main(argv)
        finally:
            os.chdir(here)
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
    return "kashflow-sync " + " ".join(argv), out.getvalue()


def _console(command: str, output: str) -> str:
    return f"```console\n$ {command}\n{output.rstrip()}\n```"


def _from(output: str, heading: str) -> str:
    """*output* from the line *heading* on, with a marker for what was cut."""
    lines = output.splitlines()
    start = lines.index(heading)
    return "\n".join(["…", *lines[start:]])


def doctor_read_only() -> str:
    """A read-only ``doctor`` run against the demo fake, in full."""
    return _console(*_doctor_run())


def doctor_probe() -> str:
    """A ``doctor --probe-writes`` run: its write probe, what it learned and what it sent."""
    command, output = _doctor_run("--probe-writes", "--yes")
    return _console(command, _from(output, "Write probe"))


def doctor_failed_delete() -> str:
    """A ``doctor --probe-writes`` run whose DeleteReceipt fails: what is left, how to remove."""
    command, output = _doctor_run("--probe-writes", "--yes", fault="DeleteReceipt")
    cut = _from(output, "Write probe").split("\nLearned")[0]
    return _console(command, cut.rstrip() + "\n…")


def doctor_facts() -> str:
    """The ``facts`` object of ``doctor --probe-writes --json``."""
    _command, output = _doctor_run("--probe-writes", "--yes", "--json")
    return "```json\n" + json.dumps(json.loads(output)["facts"], indent=2) + "\n```"


def _roles() -> Any:
    """docs/_griffe_roles.py, loaded from beside this file (MkDocs loads hooks by path)."""
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).with_name("_griffe_roles.py")
    spec = importlib.util.spec_from_file_location("kashflow_sync_docs_roles", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: The end of a sentence: a full stop before a space or the end, not one of "e.g." or "i.e.".
_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)\.(?:\s|$)")


def _first_sentence(obj: object) -> str:
    paragraph = " ".join((inspect.getdoc(obj) or "").split("\n\n")[0].split())
    return _SENTENCE_END.split(paragraph, maxsplit=1)[0]


def api_index_table() -> str:
    """A Markdown table of ``kashflow_sync.__all__``: each name linked to its reference entry.

    Links are autorefs identifiers, resolved to whichever reference page renders the name;
    the first sentence of a class's, function's or module's docstring says what it is.
    """
    import types
    import typing

    import kashflow_sync
    from kashflow_sync import errors

    rewrite = _roles().rewrite
    rows = ["| name | what it is |", "|---|---|"]
    for name in sorted(kashflow_sync.__all__, key=str.lower):
        if name == "__version__":
            continue
        obj = getattr(kashflow_sync, name)
        if isinstance(obj, types.ModuleType):
            target = shown = f"kashflow_sync.{name}"
        else:  # ErrorCode is documented with the errors; the rest under kashflow_sync
            home = "kashflow_sync.errors" if name in errors.__all__ else "kashflow_sync"
            target, shown = f"{home}.{name}", name
        if typing.get_origin(obj) is typing.Literal:
            what = f"one of {len(typing.get_args(obj))} strings (a `typing.Literal`)"
        elif isinstance(obj, types.UnionType):
            what = "any of " + ", ".join(f"`{t.__name__}`" for t in obj.__args__)
        elif inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj):
            what = _first_sentence(obj)
        else:
            what = f"constant: `{obj!r}`"
        rows.append(f"| [`{shown}`][{target}] | {_cell(rewrite(what))} |")
    return "\n".join(rows)


GENERATORS: dict[str, Callable[[], str]] = {
    "api-index": api_index_table,
    "problem-codes": problem_codes_table,
    "error-classes": error_classes_table,
    "error-codes": error_codes_table,
    "exit-codes": exit_codes_table,
    "document-schema": document_schema_block,
    "journal-transitions": journal_transitions_table,
    "journal-diagram": journal_diagram,
    "doctor-read-only": doctor_read_only,
    "doctor-probe": doctor_probe,
    "doctor-failed-delete": doctor_failed_delete,
    "doctor-facts": doctor_facts,
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
