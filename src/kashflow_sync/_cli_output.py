"""Terminal output for ``kashflow-sync``: headings, tables, progress bars, optional colour.

Colour is used only when the stream is a terminal and neither ``NO_COLOR`` is set nor ``TERM``
is ``dumb``. Progress bars redraw one line with a carriage return on a terminal; elsewhere (a
pipe, a CI log) each list or batch step prints one plain line instead, so logs stay readable.
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
import time
from collections.abc import Sequence
from typing import TextIO

__all__ = ["Console", "ProgressBar", "wants_colour"]

_STYLES = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
}

_BAR_WIDTH = 24
_MAX_WIDTH = 100
#: Off a terminal, runs of up to this many steps print only their closing line.
_QUIET_STEPS = 20


#: Characters the output uses beyond ASCII, and what stands in for them on a stream whose
#: encoding cannot carry them (a Windows pipe in cp1252, PYTHONIOENCODING=ascii...).
_FALLBACKS = {
    "═": "=",
    "─": "-",
    "✓": "+",
    "✗": "x",
    "█": "#",
    "░": ".",
    "→": "->",
    "…": "...",
    "·": "-",
    "£": "GBP ",
}
_ASCII = str.maketrans(_FALLBACKS)


def _can_encode(stream: TextIO, characters: dict[str, str]) -> bool:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        "".join(characters).encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def wants_colour(stream: TextIO) -> bool:
    """Whether to colour output written to *stream*."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Console:
    """Writes styled, aligned output to one stream (stdout by default)."""

    def __init__(self, stream: TextIO | None = None, *, colour: bool | None = None) -> None:
        """Write to *stream*; colour defaults to :func:`wants_colour`."""
        self.stream = stream if stream is not None else sys.stdout
        self.colour = wants_colour(self.stream) if colour is None else colour
        self.tty = _is_tty(self.stream)
        self.ascii = not _can_encode(self.stream, _FALLBACKS)

    def style(self, text: str, *styles: str) -> str:
        """*text* wrapped in ANSI styles when colour is on; unchanged otherwise."""
        if not self.colour or not styles:
            return text
        codes = ";".join(_STYLES[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"

    def write(self, text: str) -> None:
        """Write *text* as is, with box and tick characters spelled in ASCII if need be."""
        if self.ascii:
            text = text.translate(_ASCII)
        self.stream.write(text)
        self.stream.flush()

    def print(self, text: str = "") -> None:
        """Write one line."""
        self.write(text + "\n")

    @property
    def width(self) -> int:
        """Columns to wrap text at: the terminal's width, at most 100 (100 off a terminal)."""
        if not self.tty:
            return _MAX_WIDTH
        return max(40, min(_MAX_WIDTH, shutil.get_terminal_size((_MAX_WIDTH, 24)).columns))

    def wrapped(self, text: str, *, indent: int, prefix: str = "", prefix_width: int = 0) -> None:
        """Print *text* wrapped to :attr:`width`, indented, with *prefix* on the first line.

        Args:
            text: the words to wrap.
            indent: spaces before every line.
            prefix: printed before the first line's text (may hold styling codes).
            prefix_width: the visible width of *prefix*; later lines are indented past it.

        """
        pad = " " * indent
        lines = textwrap.wrap(text, width=max(20, self.width - indent - prefix_width)) or [""]
        self.print(pad + prefix + lines[0])
        for line in lines[1:]:
            self.print(pad + " " * prefix_width + line)

    def heading(self, text: str) -> None:
        """A section heading with a rule under it, preceded by a blank line."""
        self.print()
        self.print(self.style(text, "bold", "cyan"))
        self.print(self.style("─" * len(text), "cyan"))

    def step(self, text: str) -> None:
        """A line saying what is happening now."""
        self.print(f"{self.style('>', 'cyan')} {text}")

    def ok(self, text: str) -> None:
        """A line saying something worked."""
        self.print(f"{self.style('✓', 'green', 'bold')} {text}")

    def warn(self, text: str) -> None:
        """A line flagging something the user should look at."""
        self.print(f"{self.style('!', 'yellow', 'bold')} {text}")

    def fail(self, text: str) -> None:
        """A line saying something failed."""
        self.print(f"{self.style('✗', 'red', 'bold')} {text}")

    def detail(self, label: str, value: str, *, width: int = 14) -> None:
        """An indented ``label  value`` line."""
        self.print(f"    {self.style(label.ljust(width), 'dim')} {value}")

    def table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[object]],
        *,
        align: str = "",
        indent: int = 2,
    ) -> None:
        """Print *rows* under *headers* in aligned columns.

        Args:
            headers: the column titles.
            rows: the cells; each is turned into text with ``str``.
            align: one letter per column, ``l`` or ``r``; missing letters mean ``l``.
            indent: spaces before each line.

        """
        cells = [[str(c) for c in row] for row in rows]
        widths = [len(h) for h in headers]
        for row in cells:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], len(cell))
        pad = " " * indent

        def fmt(row: Sequence[str]) -> str:
            parts = []
            for i, cell in enumerate(row):
                right = i < len(align) and align[i] == "r"
                parts.append(cell.rjust(widths[i]) if right else cell.ljust(widths[i]))
            return (pad + "  ".join(parts)).rstrip()

        self.print(self.style(fmt(list(headers)), "bold"))
        self.print(pad + "  ".join("─" * w for w in widths))
        for row in cells:
            self.print(fmt(row))

    def progress(self, label: str, total: int) -> ProgressBar:
        """A progress bar over *total* steps, drawn on this console's stream."""
        return ProgressBar(self, label, total)


class ProgressBar:
    """One progress bar; redrawn in place on a terminal, one line per step elsewhere."""

    def __init__(self, console: Console, label: str, total: int) -> None:
        """Start a bar for *total* steps."""
        self.console = console
        self.label = label
        self.total = max(total, 0)
        self.done = 0
        self.started = time.perf_counter()
        self._last_width = 0
        self._last_tenth = 0

    def update(self, done: int, note: str = "") -> None:
        """Move the bar to *done* steps, with a short note (the list or document)."""
        self.done = min(max(done, 0), self.total) if self.total else done
        if self.console.tty:
            self._redraw(note)
            return
        # Off a terminal, short runs print only their closing line and long ones a line per
        # tenth, so a CI log of a 10,000-document batch stays a dozen lines.
        if self.total <= _QUIET_STEPS:
            return
        tenth = self.done * 10 // self.total
        if tenth != self._last_tenth:
            self._last_tenth = tenth
            self.console.print(f"  {self.label} [{self.done}/{self.total}] {note}".rstrip())

    def _redraw(self, note: str) -> None:
        fraction = self.done / self.total if self.total else 1.0
        filled = round(fraction * _BAR_WIDTH)
        bar = "█" * filled + "░" * (_BAR_WIDTH - filled)
        styled = self.console.style(bar, "green")
        text = f"  {self.label} {styled} {self.done}/{self.total} {note}"
        visible = len(self.label) + len(bar) + len(f"{self.done}/{self.total} {note}") + 4
        padding = " " * max(self._last_width - visible, 0)
        self._last_width = visible
        self.console.write("\r" + text + padding)

    def finish(self, note: str = "") -> None:
        """Draw the bar full and end its line (a terminal), or print a closing line."""
        elapsed = time.perf_counter() - self.started
        summary = f"{note} ({elapsed:.2f}s)" if note else f"({elapsed:.2f}s)"
        if self.console.tty:
            self.done = self.total
            self._redraw(summary)
            self.console.write("\n")
        else:
            self.console.print(f"  {self.label}: {self.done}/{self.total} done {summary}")
