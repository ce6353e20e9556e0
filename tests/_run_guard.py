"""Run a test command with a time limit; past it, print every test process's stacks and stop.

Usage: ``python tests/_run_guard.py SECONDS COMMAND...`` (``.ci/run`` runs the suite so).

pytest-timeout fails a test that hangs (``timeout`` in pyproject.toml), but a run can also hang
between tests, in a hook or in xdist itself, and CI would then only say it ran out of time. Here
the command gets ``KASHFLOW_SYNC_TEST_STACKS``, a folder where each test process (the pytest
controller and every xdist worker: ``tests/conftest.py``) has faulthandler write its stacks on
SIGUSR1. Past the limit this script sends SIGUSR1 to each of them, prints what they wrote, kills
the command and everything it started, and exits 124, as coreutils' ``timeout`` does.
Otherwise it exits with the command's own code.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXIT_TIMED_OUT = 124


def descendants(root: int) -> list[int]:
    """The processes under *root* (children, theirs, ...), read from /proc (Linux)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # it ended while we looked
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        parents[int(stat.parent.name)] = int(text[text.rindex(")") + 2 :].split()[1])
    found: list[int] = []
    todo = [root]
    while todo:
        parent = todo.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found.extend(children)
        todo.extend(children)
    return found


def dump_stacks(folder: Path, tree: set[int]) -> None:
    """Ask each registered process of *tree* for its stacks, and print them."""
    registered = {int(f.stem): f for f in folder.glob("*.txt") if int(f.stem) in tree}
    for pid in registered:
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
            os.kill(pid, signal.SIGUSR1)
    time.sleep(3)  # faulthandler writes from a signal handler: at once, but not in this process
    for pid, path in sorted(registered.items()):
        print(f"---- stacks of test process {pid}", flush=True)
        print(path.read_text(errors="replace"), flush=True)


def main(argv: list[str]) -> int:
    limit, command = float(argv[0]), argv[1:]
    with tempfile.TemporaryDirectory(prefix="kfs-stacks-") as folder:
        env = {**os.environ, "KASHFLOW_SYNC_TEST_STACKS": folder}
        proc = subprocess.Popen(command, env=env)
        try:
            return proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            pass
        tree = descendants(proc.pid)
        print(
            f"\n==== {' '.join(command)} ran over {limit:.0f} s: "
            "the stacks of its test processes, then it is stopped",
            flush=True,
        )
        dump_stacks(Path(folder), {proc.pid, *tree})
        # Listed again: a process started while the stacks were written is stopped too.
        for pid in [*descendants(proc.pid), *tree, proc.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait()
        return EXIT_TIMED_OUT


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
