"""Shared fixtures: a fake KashFlow in-process or on loopback, and clients connected to it.

``fake`` is one fixture for every room; a module or a room's conftest shapes it by overriding
the small fixtures it reads: ``fake_options`` (FakeKashFlow arguments: a clock, a password),
``fake_access`` (what is in the API access list before the test) and ``fake_mode`` (served
in-process or on loopback; give it ``params`` to run each test both ways).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import kashflow_sync as kfs
from _support import make_client
from kashflow_sync.testing import FakeKashFlow


@pytest.fixture
def fake_options() -> dict[str, Any]:
    """FakeKashFlow arguments for ``fake``: none, a seeded demo account."""
    return {}


@pytest.fixture
def fake_access() -> tuple[str, ...]:
    """``fake.allow_ip(...)`` arguments applied before the test; () leaves the list empty."""
    return ()


@pytest.fixture
def fake_mode() -> str:
    """How ``fake`` is served: "in-process" (through its transport) or "loopback"."""
    return "in-process"


@pytest.fixture
def fake(
    fake_options: dict[str, Any], fake_access: tuple[str, ...], fake_mode: str
) -> Iterator[FakeKashFlow]:
    """A seeded demo account served in-process, shaped by the three fixtures above."""
    fake = FakeKashFlow(**fake_options)
    if fake_access:
        fake.allow_ip(*fake_access)
    if fake_mode == "loopback":
        with fake.running():
            yield fake
    else:
        yield fake
    fake.close(late_writes="cancel")


@pytest.fixture
def served_fake() -> Iterator[FakeKashFlow]:
    """A seeded demo account served over real loopback HTTP."""
    with FakeKashFlow.serve() as fake:
        yield fake


@pytest.fixture
def client(fake: FakeKashFlow) -> Iterator[kfs.KashFlowClient]:
    """A client connected (AutoAuth + full sync) to the in-process fake."""
    with make_client(fake) as c:
        c.connect()
        yield c
