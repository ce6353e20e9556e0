"""Shared fixtures: a fake KashFlow in-process or on loopback, and clients connected to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import kashflow_sync as kfs
from _support import make_client
from kashflow_sync.testing import FakeKashFlow


@pytest.fixture
def fake() -> FakeKashFlow:
    """A seeded demo account served in-process."""
    return FakeKashFlow()


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
