"""Without KashFlow's reference WSDL the conformance modules skip, but fail under CI=true.

Each module is copied into a temporary checkout that has no ``../shared/reference`` beside it
and run there with pytest (beside one passing test), once as a developer would and once as CI
does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
TESTS_ROOT = Path(__file__).parents[1]
MODULES = ["test_wsdl_conformance.py", "test_listparse_wsdl.py", "test_wsdl_names.py"]


def run_without_reference(
    tmp_path: Path, module: str, *, ci: str | None
) -> subprocess.CompletedProcess[str]:
    checkout = tmp_path / "repo"
    (checkout / "tests").mkdir(parents=True)
    shutil.copy(TESTS / module, checkout / "tests" / module)
    shutil.copy(TESTS_ROOT / "_reference.py", checkout / "tests" / "_reference.py")
    # The rest of the suite, standing in: the run passes or fails on the module alone.
    (checkout / "tests" / "test_other.py").write_text("def test_other():\n    pass\n")
    unset = ("CI", "PYTEST_ADDOPTS", "KASHFLOW_SYNC_REFERENCE_WSDL")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "tests",
        ],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("module", MODULES)
def test_missing_reference_skips_outside_ci(tmp_path: Path, module: str) -> None:
    """A developer without shared/reference sees the module skipped, and the run passes."""
    proc = run_without_reference(tmp_path, module, ci=None)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed, 1 skipped" in proc.stdout


@pytest.mark.parametrize("module", MODULES)
def test_missing_reference_fails_under_ci(tmp_path: Path, module: str) -> None:
    """Under CI=true the same checkout fails the run, naming the missing file."""
    proc = run_without_reference(tmp_path, module, ci="true")
    assert proc.returncode != 0
    assert "CI=true" in proc.stdout and "kashflow-soap.wsdl" in proc.stdout
