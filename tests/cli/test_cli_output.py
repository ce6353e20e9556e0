"""Terminal output through rich: colour only on a terminal, progress, ASCII-only streams."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kashflow_sync.cli._output import Console


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
    ],
)
def test_colour_only_on_a_terminal_without_no_color(
    monkeypatch: pytest.MonkeyPatch, tty: bool, env: dict[str, str], colour: bool
) -> None:
    """Colour codes appear on a terminal only, never with NO_COLOR or TERM=dumb."""
    for name in ("NO_COLOR", "TERM", "FORCE_COLOR", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    stream = FakeTTY() if tty else io.StringIO()
    Console(stream).ok("published")
    has_colour = "\x1b[32" in stream.getvalue() or "\x1b[1;32" in stream.getvalue()
    assert has_colour is colour


def test_text_is_never_read_as_markup() -> None:
    """Square brackets and emoji codes in names are printed as they are."""
    stream = io.StringIO()
    Console(stream).print("[bold]Acme[/bold] :smile: Ltd")
    assert stream.getvalue() == "[bold]Acme[/bold] :smile: Ltd\n"


def test_progress_is_one_line_off_a_terminal() -> None:
    """Off a terminal a short run prints only its closing line."""
    stream = io.StringIO()
    bar = Console(stream).progress("syncing", 9)
    for step in range(1, 10):
        bar.update(step)
    bar.finish()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("  syncing: 9/9 done")


def test_long_progress_off_a_terminal_prints_tenths() -> None:
    """Off a terminal a long run prints about one line per tenth, plus the closing line."""
    stream = io.StringIO()
    bar = Console(stream).progress("publishing", 1000)
    for step in range(1, 1001):
        bar.update(step)
    bar.finish()
    assert len(stream.getvalue().splitlines()) == 11


def test_progress_on_a_terminal_is_a_live_bar() -> None:
    """On a terminal rich draws the bar live and it ends at the total."""
    stream = FakeTTY()
    bar = Console(stream, colour=False).progress("syncing", 3)
    for step in range(1, 4):
        bar.update(step, f"list {step}")
    bar.finish()
    assert "3/3" in stream.getvalue()


def test_table_aligns_columns() -> None:
    """Tables pad columns to their widest cell, right-aligned where asked."""
    stream = io.StringIO()
    Console(stream).table(("list", "n"), [("suppliers", 3), ("vat_rates", 12)], align="lr")
    lines = [line.rstrip() for line in stream.getvalue().splitlines()]
    assert "  suppliers    3" in lines and "  vat_rates   12" in lines


def test_long_error_line_is_not_wrapped() -> None:
    """A failure printed as one line stays one line, however long."""
    stream = io.StringIO()
    Console(stream).fail("x" * 300, one_line=True)
    assert len(stream.getvalue().splitlines()) == 1


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
