"""The fake's own tests: ``fake`` with this machine allowed, a SOAP probe on it, and
`kashflow-sync fake serve` as a subprocess for the tests that drive it over HTTP.

The served fixtures import nothing of kashflow_sync: they use the fake the way a project in
another language would, through its command line and plain HTTP.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _probing import soap_probe
from _served import ServedFake

from kashflow_sync.testing import FakeKashFlow
from kashflow_sync.testing._probe import SoapProbe


@pytest.fixture
def fake_access() -> tuple[str, ...]:
    """The fake's own tests start with this machine in its access list (a module may empty it)."""
    return ("127.0.0.1",)


@pytest.fixture
def probe(fake: FakeKashFlow) -> Iterator[SoapProbe]:
    """A SOAP probe on ``fake``: hand-shaped requests, raw and parsed answers."""
    with soap_probe(fake) as probe:
        yield probe


@pytest.fixture(scope="session")
def fake_server() -> Iterator[ServedFake]:
    """One `fake serve` subprocess for the session (tests reset it through /_fake/reset)."""
    served = ServedFake("--password", "served-secret")
    yield served
    if served.process.poll() is None:
        served.stop()


@pytest.fixture
def served(fake_server: ServedFake) -> ServedFake:
    """The session's `fake serve`, reset to a fresh demo account."""
    response = fake_server.http.post(fake_server.control + "reset", json={})
    assert response.status_code == 200, response.text
    return fake_server


@pytest.fixture(scope="session")
def soap_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """node_modules holding the npm `soap` package, installed once per session."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run a Node SOAP client against the fake")
    folder = tmp_path_factory.mktemp("npm-soap")
    started = time.monotonic()
    install = subprocess.run(
        [npm, "install", "soap", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, f"npm install soap failed: {install.stderr}"
    print(f"npm install soap: {time.monotonic() - started:.1f}s")
    return folder / "node_modules"
