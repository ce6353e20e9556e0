"""The ``otel`` fixture: providers whose exports are scanned for secrets when a test ends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _otel_sdk import Otel

from kashflow_sync.testing import FakeKashFlow


@pytest.fixture
def otel(fake: FakeKashFlow) -> Iterator[Otel]:
    """Providers to hand clients; everything they were sent is scanned when the test ends."""
    sdk = Otel()
    sdk.guard(fake)
    yield sdk
    sdk.metrics_read = None
    assert sdk.scan() > 0, (len(sdk.spans()), sdk.metrics())
