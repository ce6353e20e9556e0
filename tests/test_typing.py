"""Typing tests: mypy --strict catches float money, a wrong kind and a misspelled problem code.

``tests/typing/caught.py`` marks each line mypy must reject with ``# mistake``;
``tests/typing/accepted.py`` must pass cleanly. One mypy run checks both files.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).resolve().parent.parent
SNIPPETS = Path(__file__).resolve().parent / "typing"
_ERROR = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error:", re.M)


@pytest.fixture(scope="module")
def mypy_errors() -> dict[str, set[int]]:
    """Lines mypy --strict reports an error on, per snippet file name."""
    files = [str(SNIPPETS / "caught.py"), str(SNIPPETS / "accepted.py")]
    out, err, _status = api.run(["--strict", "--no-error-summary", "--hide-error-context", *files])
    assert "error: Cannot find implementation" not in out, out + err
    found: dict[str, set[int]] = {"caught.py": set(), "accepted.py": set()}
    for match in _ERROR.finditer(out):
        found[Path(match["file"]).name].add(int(match["line"]))
    return found


def _marked(name: str) -> set[int]:
    lines = (SNIPPETS / name).read_text().splitlines()
    return {number for number, text in enumerate(lines, 1) if "# mistake" in text}


def test_every_marked_mistake_is_a_type_error(mypy_errors: dict[str, set[int]]) -> None:
    """Float money, a wrong kind, a misspelled code and a bad severity all fail mypy."""
    marked = _marked("caught.py")
    assert len(marked) >= 7
    assert marked - mypy_errors["caught.py"] == set()


def test_nothing_else_in_the_mistakes_file_is_an_error(mypy_errors: dict[str, set[int]]) -> None:
    """Only the marked lines fail, so each mistake is caught for its own reason."""
    assert mypy_errors["caught.py"] - _marked("caught.py") == set()


def test_exact_money_and_typed_errors_pass(mypy_errors: dict[str, set[int]]) -> None:
    """Decimal, int and string money, catalogue codes and KashFlowError batch errors type-check."""
    assert mypy_errors["accepted.py"] == set()
