"""Run the shared Storage conformance suite against every shipped implementation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kashflow_sync.storage import MemoryStorage, SQLStorage
from kashflow_sync.testing.conformance import StorageConformance
from kashflow_sync.typing import Storage


class TestMemoryStorage(StorageConformance):
    @pytest.fixture
    def storage(self) -> Storage:
        return MemoryStorage()


class TestSQLiteFileStorage(StorageConformance):
    @pytest.fixture
    def storage(self, sqlite_url: str) -> Iterator[Storage]:
        with SQLStorage(sqlite_url) as storage:
            yield storage


class TestSQLiteMemoryStorage(StorageConformance):
    @pytest.fixture
    def storage(self) -> Iterator[Storage]:
        with SQLStorage("sqlite://") as storage:
            yield storage


class TestPostgreSQLStorage(StorageConformance):
    @pytest.fixture
    def storage(
        self, pg_storage: SQLStorage, connection_id: str, other_connection_id: str
    ) -> Iterator[Storage]:
        yield pg_storage
        # The database outlives the run: remove this test's rows, and nothing else.
        pg_storage.purge(connection_id)
        pg_storage.purge(other_connection_id)


def test_implementations_satisfy_protocol() -> None:
    """Both shipped storages are runtime instances of the Storage protocol."""
    assert isinstance(MemoryStorage(), Storage)
    with SQLStorage("sqlite://") as storage:
        assert isinstance(storage, Storage)
