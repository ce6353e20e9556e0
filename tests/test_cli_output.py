"""Terminal output: colour only on a terminal, progress bars, ASCII-only streams."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kashflow_sync._cli_output import Console, wants_colour


class FakeTTY(io.StringIO):
    """A StringIO that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("tty", "env", "colour"),
    [
        (True, {}, True),
        (False, {}, False),
        (True, {"NO_COLOR": "1"}, False),
        (True, {"TERM": "dumb"}, False),
        (False, {"NO_COLOR": "1"}, False),
    ],
)
def test_wants_colour(
    monkeypatch: pytest.MonkeyPatch, tty: bool, env: dict[str, str], colour: bool
) -> None:
    """Colour is used on a terminal only, and never with NO_COLOR or TERM=dumb."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    stream = FakeTTY() if tty else io.StringIO()
    assert wants_colour(stream) is colour


def test_style_is_plain_without_colour() -> None:
    """With colour off, styling returns the text unchanged."""
    assert Console(io.StringIO(), colour=False).style("ok", "green", "bold") == "ok"


def test_style_uses_ansi_with_colour() -> None:
    """With colour on, styling wraps the text in ANSI codes and resets after."""
    assert Console(io.StringIO(), colour=True).style("ok", "green") == "\x1b[32mok\x1b[0m"


def test_progress_redraws_one_line_on_a_terminal() -> None:
    """On a terminal a bar redraws with carriage returns and ends with one newline."""
    stream = FakeTTY()
    bar = Console(stream, colour=False).progress("syncing", 3)
    for step in range(1, 4):
        bar.update(step, f"list {step}")
    bar.finish()
    text = stream.getvalue()
    assert text.count("\r") == 4
    assert text.count("\n") == 1
    assert "3/3" in text


def test_progress_is_one_line_off_a_terminal() -> None:
    """Off a terminal a short run prints only its closing line."""
    stream = io.StringIO()
    bar = Console(stream).progress("syncing", 9)
    for step in range(1, 10):
        bar.update(step)
    bar.finish()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert "\r" not in stream.getvalue()
    assert lines[0].startswith("  syncing: 9/9 done")


def test_long_progress_off_a_terminal_prints_tenths() -> None:
    """Off a terminal a long run prints about one line per tenth, plus the closing line."""
    stream = io.StringIO()
    bar = Console(stream).progress("publishing", 1000)
    for step in range(1, 1001):
        bar.update(step)
    bar.finish()
    assert len(stream.getvalue().splitlines()) == 11


def test_table_aligns_columns() -> None:
    """Tables pad columns to their widest cell, right-aligned where asked."""
    stream = io.StringIO()
    Console(stream).table(("list", "n"), [("suppliers", 3), ("vat_rates", 12)], align="lr")
    lines = stream.getvalue().splitlines()
    assert lines[2] == "  suppliers   3"
    assert lines[3] == "  vat_rates  12"


def test_ascii_stream_gets_ascii_glyphs() -> None:
    """On a stream that cannot encode them, ticks, rules and pounds are spelled in ASCII."""
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    console = Console(stream)  # type: ignore[arg-type]
    console.ok("paid £12.00")
    console.heading("Done")
    stream.flush()
    assert raw.getvalue().decode("ascii") == "+ paid GBP 12.00\n\nDone\n----\n"


def test_demo_runs_on_an_ascii_only_stdout(tmp_path: Path) -> None:
    """``kashflow-sync demo`` works when stdout can only carry ASCII."""
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    proc = subprocess.run(
        [sys.executable, "-m", "kashflow_sync.cli", "demo"],
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    proc.stdout.decode("ascii")
