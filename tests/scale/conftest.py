"""Fixtures for the Celery tests: the PostgreSQL journal, a served fake, worker configs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from _services import broker_config, cleanup, service_url
from _workers import ConfigFactory

from kashflow_sync.testing import FakeKashFlow


@pytest.fixture(scope="session")
def pg_url() -> str:
    return service_url("pg")


@pytest.fixture
def scale_config(pg_url: str, served_fake: FakeKashFlow) -> Iterator[ConfigFactory]:
    """Build worker configs for a broker; its queue (and Redis keys) are removed afterwards."""
    made: list[dict[str, Any]] = []

    def make(kind: str, **extra: Any) -> dict[str, Any]:
        run_id = uuid.uuid4().hex[:10]
        creds = served_fake.credentials
        config = {
            **broker_config(kind, run_id),
            "kind": kind,
            "queue": f"kfs-test-{run_id}",
            "db": pg_url,
            "fake": {
                "url": served_fake.url,
                "username": creds.username,
                "password": creds.password,
                "autoauth_key": creds.autoauth_key,
            },
            **extra,
        }
        made.append(config)
        return config

    yield make
    for config in made:
        cleanup(config)
