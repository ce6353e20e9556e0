"""Fixtures the CLI tests share: the CLI run in-process (``run``) or as the installed console
script in a subprocess (``sh``), each with the loopback fake's credentials and a fresh database,
and each also already connected (``connected``, ``connected_sh``)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _cli_helpers import console_script

from _cli_run import Run
from kashflow_sync import cli
from kashflow_sync._retry import skip_waits
from kashflow_sync.testing import FakeKashFlow

#: The commands that never call KashFlow, so offer no --endpoint.
DATABASE_ONLY = frozenset({"journal", "lists", "rules"})


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, kashflow_fake: FakeKashFlow, tmp_path: Path
) -> Iterator[Path]:
    """Credentials of the fake in the environment, no colour, and a fresh database file."""
    creds = kashflow_fake.credentials
    monkeypatch.setenv(cli.ENV_USERNAME, creds.username)
    monkeypatch.setenv(cli.ENV_PASSWORD, creds.password)
    monkeypatch.setenv(cli.ENV_AUTOAUTH_KEY, creds.autoauth_key or "")
    monkeypatch.delenv(cli.ENV_DB, raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    # Retries in these tests must not sleep; the CLI otherwise uses the SDK's defaults.
    with skip_waits():
        yield tmp_path


@pytest.fixture
def run(
    env: Path, kashflow_fake: FakeKashFlow, capsys: pytest.CaptureFixture[str]
) -> Iterator[Any]:
    """Run the CLI with the fake's endpoint and a temporary database; capture its output."""
    endpoint = ["--endpoint", kashflow_fake.url]
    database = ["--db", f"sqlite:///{env / 'kf.db'}"]

    def _run(*argv: str, account_options: bool = True) -> Run:
        capsys.readouterr()
        # Commands that only read the database take no --endpoint.
        account = database if argv and argv[0] in DATABASE_ONLY else [*endpoint, *database]
        code = cli.main([*argv, *account] if account_options else list(argv))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    yield _run


@pytest.fixture
def connected(run: Any) -> Any:
    """The CLI after a successful ``connect``."""
    assert run("connect").code == 0
    return run


@pytest.fixture
def sh(tmp_path: Path, kashflow_fake: FakeKashFlow) -> Any:
    """Run the console script with the fake's credentials and a fresh database, no colour."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KASHFLOW", "FORCE_COLOR"))}
    creds = kashflow_fake.credentials
    env.update(
        KASHFLOW_USERNAME=creds.username,
        KASHFLOW_PASSWORD=creds.password,
        KASHFLOW_AUTOAUTH_KEY=creds.autoauth_key or "",
        KASHFLOW_SYNC_DB=f"sqlite:///{tmp_path / 'kf.db'}",
        NO_COLOR="1",
    )

    def run(*argv: str, unset: tuple[str, ...] = (), **more: str) -> Run:
        proc = subprocess.run(
            [*console_script(), *argv],
            capture_output=True,
            text=True,
            timeout=60,
            env={k: v for k, v in {**env, **more}.items() if k not in unset},
            cwd=tmp_path,
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def connected_sh(sh: Any, kashflow_fake: FakeKashFlow) -> Any:
    """The console script after ``connect --endpoint`` to the fake (remembered from then on)."""
    done = sh("connect", "--endpoint", kashflow_fake.url)
    assert done.code == 0, done.err
    return sh
