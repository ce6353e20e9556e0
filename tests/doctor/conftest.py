"""Fixtures the doctor tests share."""

from __future__ import annotations

import pytest

from kashflow_sync.testing import FakeKashFlow


@pytest.fixture
def fake(kashflow_fake: FakeKashFlow) -> FakeKashFlow:
    """The plugin's loopback fake with this machine already in its API access list."""
    kashflow_fake.allow_ip("127.0.0.1")
    return kashflow_fake
