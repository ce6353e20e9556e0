"""Fixtures for the storage tests: database URLs, PostgreSQL only when configured."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kashflow_sync.storage import SQLStorage

PG_ENV = "KASHFLOW_SYNC_TEST_PG"


@pytest.fixture(scope="session")
def pg_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(
            f"PostgreSQL storage tests need {PG_ENV} set to a SQLAlchemy URL, e.g. "
            f"{PG_ENV}=postgresql+psycopg://postgres@127.0.0.1:5432/test"
        )
    return url


@pytest.fixture(scope="session")
def pg_storage(pg_url: str) -> Iterator[SQLStorage]:
    # One engine for the session; tests keep apart by unique connection ids, never by dropping.
    storage = SQLStorage(pg_url)
    yield storage
    storage.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'kashflow.db'}"
