"""Terminal output for ``kashflow-sync``, drawn by rich: lines, tables, progress, one-line errors.

rich decides colour: only on a terminal, never with ``NO_COLOR`` set or ``TERM=dumb``. Progress
bars are live on a terminal; elsewhere (a pipe, a CI log) a batch prints one closing line (a
line per tenth for long ones), so logs stay short. A stream whose encoding cannot carry ticks,
arrows and pound signs (``PYTHONIOENCODING=ascii``, a Windows pipe) gets them spelled in ASCII,
and rich draws its tables with ASCII there too. Text is never read as rich markup or emoji
codes: supplier names and KashFlow's words are printed as they are.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from rich import box
from rich.console import Console as RichConsole
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

__all__ = [
    "Console",
    "ProgressBar",
    "emit_json",
    "show_problems",
    "show_sync_report",
    "sync_progress",
]

#: Widest the output is drawn, so prose stays readable on wide terminals and in logs.
_MAX_WIDTH = 100
#: Off a terminal, runs of up to this many steps print only their closing line.
_QUIET_STEPS = 20

#: Characters the output uses beyond ASCII, and what stands in for them where they cannot go.
_FALLBACKS = {
    "═": "=",
    "─": "-",
    "✓": "+",
    "✗": "x",
    "→": "->",
    "…": "...",
    "·": "-",
    "£": "GBP ",
}
_ASCII = str.maketrans(_FALLBACKS)


def _can_encode(stream: TextIO) -> bool:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        "".join(_FALLBACKS).encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _AsciiFile:
    """A stream wrapper spelling the output's own glyphs in ASCII (rich handles its boxes)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(text.translate(_ASCII))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


Styled = str | Text


class Console:
    """Writes styled output to one stream (stdout by default) through rich."""

    def __init__(self, stream: TextIO | None = None, *, colour: bool | None = None) -> None:
        """Write to *stream*; colour defaults to rich's choice (a terminal, no ``NO_COLOR``)."""
        self.stream = stream if stream is not None else sys.stdout
        self.tty = _is_tty(self.stream)
        self.ascii = not _can_encode(self.stream)
        file: Any = _AsciiFile(self.stream) if self.ascii else self.stream
        width = _MAX_WIDTH
        if self.tty:
            width = max(40, min(_MAX_WIDTH, shutil.get_terminal_size((_MAX_WIDTH, 24)).columns))
        self.rich = RichConsole(
            file=file,
            width=width,
            force_terminal=colour if colour else None,
            no_color=True if colour is False else None,
            color_system=None if colour is False else "auto",
            highlight=False,
            markup=False,
            emoji=False,
        )

    def print(self, *parts: Styled, soft_wrap: bool = False) -> None:
        """Write one line made of *parts*; ``soft_wrap`` keeps it on one line, however long."""
        text = Text.assemble(*parts)
        if soft_wrap:
            self.rich.print(text, soft_wrap=True)
            return
        for line in text.wrap(self.rich, self.rich.width) or [Text()]:
            line.rstrip()  # rich keeps the space it broke the line at
            self.rich.print(line, soft_wrap=True)

    @staticmethod
    def styled(text: str, style: str) -> Text:
        """*text* in a rich style (``"bold"``, ``"green"``...), drawn only where colour is on."""
        return Text(text, style=style)

    def wrapped(self, text: str, *, indent: int, prefix: Styled = "") -> None:
        """*text* wrapped to the width, indented, with *prefix* before its first line.

        Later lines are indented past the prefix, so wrapped text stays in one column.
        """
        lead = Text.assemble(prefix)
        width = max(20, self.rich.width - indent - len(lead.plain))
        for number, line in enumerate(Text(text).wrap(self.rich, width)):
            line.rstrip()
            start = lead if number == 0 else Text(" " * len(lead.plain))
            self.rich.print(Text(" " * indent) + start + line)

    def heading(self, text: str) -> None:
        """A section heading with a rule under it, preceded by a blank line."""
        self.print()
        self.print(self.styled(text, "bold cyan"))
        self.print(self.styled("─" * len(text), "cyan"))

    def step(self, text: Styled) -> None:
        """A line saying what is happening now."""
        self.print(self.styled(">", "cyan"), " ", text)

    def ok(self, text: Styled) -> None:
        """A line saying something worked."""
        self.print(self.styled("✓", "bold green"), " ", text)

    def warn(self, text: Styled) -> None:
        """A line flagging something the user should look at."""
        self.print(self.styled("!", "bold yellow"), " ", text)

    def fail(self, text: Styled, *, one_line: bool = False) -> None:
        """A line saying something failed; ``one_line`` never wraps it (errors stay grep-able)."""
        self.print(self.styled("✗", "bold red"), " ", text, soft_wrap=one_line)

    def detail(self, label: str, value: Styled, *, width: int = 14) -> None:
        """An indented ``label  value`` line."""
        self.print("    ", self.styled(label.ljust(width), "dim"), " ", value)

    def table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[object]],
        *,
        align: str = "",
        indent: int = 2,
    ) -> None:
        """Print *rows* under *headers* in aligned columns (``align``: ``l``/``r`` per column)."""
        table = Table(
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
            header_style="bold",
            padding=(0, 1),
        )
        for i, header in enumerate(headers):
            right = i < len(align) and align[i] == "r"
            table.add_column(header, justify="right" if right else "left", overflow="fold")
        for row in rows:
            table.add_row(*(str(cell) for cell in row))
        renderable = table if not indent else _Indented(table, indent)
        # Rendered line by line so trailing padding (empty last cells) does not reach logs.
        for segments in self.rich.render_lines(renderable, self.rich.options, pad=False):
            line = Text.assemble(*((s.text, s.style or "") for s in segments if not s.control))
            line.rstrip()
            self.rich.print(line, soft_wrap=True)

    def progress(self, label: str, total: int) -> ProgressBar:
        """A progress bar over *total* steps on this console's stream."""
        return ProgressBar(self, label, total)


class _Indented:
    """A renderable shifted right by *indent* spaces."""

    def __init__(self, renderable: Any, indent: int) -> None:
        from rich.padding import Padding

        self._padding = Padding(renderable, (0, 0, 0, indent), expand=False)

    def __rich__(self) -> Any:
        return self._padding


class ProgressBar:
    """One progress bar: rich's live bar on a terminal, a closing line elsewhere."""

    def __init__(self, console: Console, label: str, total: int) -> None:
        """Start a bar for *total* steps."""
        self.console = console
        self.label = label
        self.total = max(total, 0)
        self.done = 0
        self.started = time.perf_counter()
        self._last_tenth = 0
        self._live: Progress | None = None
        if console.tty:
            self._live = Progress(
                TextColumn("  {task.description}"),
                BarColumn(bar_width=24),
                MofNCompleteColumn(),
                TextColumn("{task.fields[note]}"),
                TimeElapsedColumn(),
                console=console.rich,
                transient=False,
            )
            self._task = self._live.add_task(label, total=self.total or None, note="")
            self._live.start()

    def update(self, done: int, note: str = "") -> None:
        """Move the bar to *done* steps, with a short note (the list or document)."""
        self.done = min(max(done, 0), self.total) if self.total else done
        if self._live is not None:
            self._live.update(self._task, completed=self.done, note=note)
            return
        # Off a terminal, short runs print only their closing line and long ones a line per
        # tenth, so a CI log of a 10,000-document batch stays a dozen lines.
        if self.total <= _QUIET_STEPS:
            return
        tenth = self.done * 10 // self.total
        if tenth != self._last_tenth:
            self._last_tenth = tenth
            self.console.print(f"  {self.label} [{self.done}/{self.total}] {note}".rstrip())

    def finish(self, note: str = "") -> None:
        """Stop the bar; off a terminal, print its closing line."""
        elapsed = time.perf_counter() - self.started
        summary = f"{note} ({elapsed:.2f}s)" if note else f"({elapsed:.2f}s)"
        if self._live is not None:
            self._live.update(self._task, completed=self.total, note=note)
            self._live.stop()
            self._live = None
        else:
            self.console.print(f"  {self.label}: {self.done}/{self.total} done {summary}")


# ---------------------------------------------------------------------------- SDK objects


def emit_json(data: Any) -> None:
    """Print *data* as one JSON object on stdout (Decimals and dates as strings)."""
    import json

    print(json.dumps(data, indent=2, default=str))


def show_problems(console: Console, problems: Sequence[Any]) -> None:
    """Each problem: its field and code, the message, and the remedy under it."""
    for problem in problems:
        console.print(
            "    ",
            console.styled(problem.field or "(document)", "bold"),
            "  ",
            console.styled(problem.code, "yellow"),
        )
        console.wrapped(problem.message, indent=6)
        console.wrapped(problem.remedy, indent=6, prefix=console.styled("→ ", "cyan"))


def sync_progress(console: Console, label: str) -> tuple[Any, Any]:
    """A progress callback drawing one bar over the lists being synced, and its finisher."""
    state: dict[str, ProgressBar] = {}

    def callback(event: Any) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = console.progress(label, event.total)
        if event.phase == "fetching":
            bar.update(event.index - 1, f"fetching {event.list_name}…")
        else:
            bar.update(event.index, f"{event.list_name} ({event.items:,})")

    def finish(note: str = "") -> None:
        bar = state.get("bar")
        if bar is not None:
            bar.finish(note)

    return callback, finish


def show_sync_report(console: Console, report: Any) -> None:
    """The per-list table of a sync: added, changed, archived, unchanged, total."""
    rows = [
        (name, c.added, c.changed, c.archived, c.unchanged, c.total)
        for name, c in report.lists.items()
    ]
    console.table(
        ("list", "added", "changed", "archived", "unchanged", "total"), rows, align="lrrrrr"
    )
