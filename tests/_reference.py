"""Where KashFlow's reference WSDL is, and what a test module does when it is missing.

The file sits beside the repository (``../shared/reference/kashflow-soap.wsdl``) and is never
copied into it. A checkout kept deeper (a git worktree in a folder of worktrees) finds it in the
nearest folder above that has ``shared/reference``; ``KASHFLOW_SYNC_REFERENCE_WSDL`` names the
file outright. Without it the conformance modules skip, except under ``CI=true``: there a
missing reference must fail the run, or a broken checkout would pass with the checks unrun.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_ENV = "KASHFLOW_SYNC_REFERENCE_WSDL"
_BESIDE = Path("shared") / "reference" / "kashflow-soap.wsdl"


def _reference_wsdl() -> Path:
    named = os.environ.get(REFERENCE_ENV)
    if named:
        return Path(named)
    for folder in REPO_ROOT.parents:
        if (folder / _BESIDE).is_file():
            return folder / _BESIDE
    return REPO_ROOT.parent / _BESIDE  # where it belongs: named in the skip message


REFERENCE_WSDL = _reference_wsdl()


def in_ci() -> bool:
    """Whether the run is a CI run (``CI=true``, as GitHub Actions and most CI services set)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require_reference() -> Path:
    """The reference WSDL; else skip the calling module, or fail it under ``CI=true``.

    Call at module level, before anything that needs the file.
    """
    if REFERENCE_WSDL.is_file():
        return REFERENCE_WSDL
    reason = (
        f"KashFlow reference WSDL not found at {REFERENCE_WSDL}; "
        "the conformance tests need ../shared/reference beside the repository"
    )
    if in_ci():
        pytest.fail(f"{reason} (CI=true: they must run, not skip)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)
