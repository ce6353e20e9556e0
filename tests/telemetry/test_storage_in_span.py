"""``forget``, ``verify`` and ``publish_many`` read storage inside their span (as call time).

A storage that notes the current span at each of its calls shows where every read happened.
It says it blocks, so the async client reads it in a worker thread (as it would a database).
"""

from __future__ import annotations

from typing import Any

import pytest
from _otel_sdk import Otel
from opentelemetry import trace

from _clients import KINDS, any_client
from _support import purchase
from kashflow_sync import errors
from kashflow_sync.storage.memory import MemoryStorage
from kashflow_sync.testing import FakeKashFlow


class WatchedStorage(MemoryStorage):
    """A memory storage that notes ``(method, current span's name)`` at each call."""

    blocking = True

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str | None]] = []

    def __getattribute__(self, name: str) -> Any:
        value = super().__getattribute__(name)
        if name.startswith("_") or not callable(value):
            return value
        seen = super().__getattribute__("seen")

        def noted(*args: Any, **kwargs: Any) -> Any:
            seen.append((name, getattr(trace.get_current_span(), "name", None)))
            return value(*args, **kwargs)

        return noted


@pytest.mark.parametrize("kind", KINDS)
def test_verify_reads_storage_inside_its_span(kind: str, fake: FakeKashFlow, otel: Otel) -> None:
    """Every storage call verify makes (the status, the watches) is under kashflow_sync.verify."""
    otel.guard(fake)
    storage = WatchedStorage()
    with any_client(kind, fake, storage=storage, **otel.providers) as client:
        client.connect()
        storage.seen.clear()
        client.verify()
    methods = {method for method, _span in storage.seen}
    assert {"get_state", "list_journal"} <= methods, storage.seen
    assert {span for _method, span in storage.seen} == {"kashflow_sync.verify"}, storage.seen


@pytest.mark.parametrize("kind", KINDS)
def test_forget_reads_storage_inside_its_span(kind: str, fake: FakeKashFlow, otel: Otel) -> None:
    """Every storage call forget makes (the status, the journal) is under kashflow_sync.forget."""
    otel.guard(fake)
    storage = WatchedStorage()
    with any_client(kind, fake, storage=storage, **otel.providers) as client:
        client.connect()
        storage.seen.clear()
        with pytest.raises(errors.KashFlowError):
            client.forget("never-published")
    assert "get_state" in {method for method, _span in storage.seen}, storage.seen
    assert {span for _method, span in storage.seen} == {"kashflow_sync.forget"}, storage.seen


@pytest.mark.parametrize("kind", KINDS)
def test_publish_many_reads_storage_inside_its_span(
    kind: str, fake: FakeKashFlow, otel: Otel
) -> None:
    """The batch's status check is under kashflow_sync.publish_many, each document's reads under
    its publish span."""
    docs = [purchase(i, prefix="watched", attach=False, pay=False) for i in range(2)]
    otel.guard(fake, *docs)
    storage = WatchedStorage()
    with any_client(kind, fake, storage=storage, **otel.providers) as client:
        client.connect()
        storage.seen.clear()
        client.publish_many(docs, concurrency=2)
    assert ("get_state", "kashflow_sync.publish_many") in storage.seen, storage.seen
    spans = {span for _method, span in storage.seen}
    assert spans <= {"kashflow_sync.publish_many", "kashflow_sync.publish"}, storage.seen
