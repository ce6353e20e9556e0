"""The CI script's docs step can fail: an unresolved cross-reference turns it red.

``mkdocs build --strict --quiet`` exits 0 with warnings, because ``--quiet`` hides the warnings
``--strict`` counts. The step is run here as ``.ci/run`` writes it, on a one-page site.
"""

from __future__ import annotations

import os
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
