"""The CI script's docs step can fail: an unresolved cross-reference turns it red.

``mkdocs build --strict --quiet`` exits 0 with warnings, because ``--quiet`` hides the warnings
``--strict`` counts. The step is run here as ``.ci/run`` writes it, on a one-page site.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

CI_RUN = Path(__file__).resolve().parents[1] / ".ci" / "run"


def docs_arguments() -> list[str]:
    """The arguments ``.ci/run`` gives ``mkdocs`` (without its ``--site-dir``)."""
    [line] = [
        line
        for line in CI_RUN.read_text().splitlines()
        if "mkdocs build" in line and not line.lstrip().startswith("#")
    ]
    words = shlex.split(line)
    after = words[next(i for i, w in enumerate(words) if w.endswith("mkdocs")) + 1 :]
    return after[: after.index("--site-dir")]


def build(site: Path, page: str) -> subprocess.CompletedProcess[str]:
    """Build a one-page site holding *page* with the CI step's arguments."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocs_autorefs")
    (site / "docs").mkdir(exist_ok=True)
    (site / "mkdocs.yml").write_text("site_name: check\nplugins: [autorefs]\n")
    (site / "docs" / "index.md").write_text(page)
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", *docs_arguments(), "--site-dir", str(site / "out")],
        cwd=site,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_docs_step_passes_a_site_whose_references_resolve(tmp_path: Path) -> None:
    """A page whose cross-reference has a target builds."""
    proc = build(tmp_path, "# Check\n\n## Target\n\nSee [the target][target].\n")
    assert proc.returncode == 0, proc.stderr


def test_the_docs_step_fails_on_an_unresolved_cross_reference(tmp_path: Path) -> None:
    """A reference to nothing fails the step, and the output names it."""
    proc = build(tmp_path, "# Check\n\nSee [a missing name][kashflow_sync.Nope].\n")
    assert proc.returncode != 0
    assert "kashflow_sync.Nope" in proc.stdout + proc.stderr


GUARD = Path(__file__).resolve().parent / "_run_guard.py"

HANGING = """
import subprocess, threading

def test_passes():
    pass

def test_stuck_somewhere_named():
    subprocess.Popen(["sleep", "600"])  # something it started, to be stopped with it
    threading.Event().wait()
"""


def test_the_guard_passes_the_commands_exit_code_through() -> None:
    """Within its limit the guarded command's own code comes back."""
    done = subprocess.run(
        [sys.executable, str(GUARD), "60", sys.executable, "-c", "raise SystemExit(3)"],
        timeout=60,
        check=False,
    )
    assert done.returncode == 3


def test_a_hung_run_prints_where_it_hangs_and_is_stopped(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run of the suite's conftest past the guard's limit: each test process's stacks are
    printed (the hung test's frame among them), the run and what it started are killed, 124."""
    pytester.makeconftest((Path(__file__).resolve().parent / "conftest.py").read_text())
    pytester.makepyfile(test_hanging=HANGING)
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parent))
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "timeout=0"]
    done = subprocess.run(
        [sys.executable, str(GUARD), "8", *command],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 124, done.stdout + done.stderr
    assert "ran over 8 s" in done.stdout
    assert "---- stacks of test process" in done.stdout
    assert re.search(r'test_hanging.py", line \d+ in test_stuck_somewhere_named', done.stdout)
    left = subprocess.run(["pgrep", "-f", "^sleep 600$"], capture_output=True, check=False)
    assert left.stdout == b"", "the sleep the hung test started is still running"
