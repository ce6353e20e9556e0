"""Developer sessions: ``nox`` runs them all, ``nox -s tests`` one of them.

Sessions reuse their virtualenvs between runs when ``-r`` is given (``nox -rs tests``).
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "mypy", "tests", "docs", "examples"]
nox.options.default_venv_backend = "venv"

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
SOURCES = [
    "src",
    "tests",
    "examples",
    "benchmarks",
    "noxfile.py",
    "docs/_hooks.py",
    "docs/_griffe_roles.py",
]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite on each supported Python (PostgreSQL tests need KASHFLOW_SYNC_TEST_PG)."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", "-n", "2", *session.posargs)


@nox.session
def mypy(session: nox.Session) -> None:
    """mypy --strict over the package."""
    session.install("-e", ".[dev]")
    session.run("mypy", "src")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", *SOURCES)
    session.run("ruff", "format", "--check", *SOURCES)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the docs strictly (any warning fails); ``nox -s docs -- serve`` to preview them."""
    session.install("-e", ".[dev]")
    session.env["NO_MKDOCS_2_WARNING"] = "1"
    if session.posargs and session.posargs[0] == "serve":
        session.run("mkdocs", "serve")
    else:
        session.run("mkdocs", "build", "--strict", "--site-dir", f"{session.create_tmp()}/site")


@nox.session
def examples(session: nox.Session) -> None:
    """Run every example against the fake KashFlow, as a new user would."""
    session.install(".[examples]")
    for script in (
        "publish_one_receipt.py",
        "bulk_publish_folder.py",
        "custom_storage_and_rules.py",
        "fastapi_app.py",
    ):
        session.run("python", f"examples/{script}")
    session.run("python", "-m", "pytest", "examples/test_with_plugin.py", "-q")
