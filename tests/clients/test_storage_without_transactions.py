"""A host storage written before ``transaction()`` keeps publishing exactly once, and says so.

The SDK groups each publish step's journal calls into one transaction where the storage offers
``transaction()``; a storage without it gets the same calls one by one (each its own
transaction, as before), and the log says so once per storage class.
"""

from __future__ import annotations

import logging

import pytest

import kashflow_sync as kfs
from _support import make_client, purchase
from kashflow_sync.testing import FakeKashFlow


class OldHostStorage(kfs.MemoryStorage):
    """A storage with today's protocol only: no ``transaction()``."""

    transaction = None


def test_a_storage_without_transactions_publishes_once_and_says_so_once(
    fake: FakeKashFlow, caplog: pytest.LogCaptureFixture
) -> None:
    storage = type("OneOff", (OldHostStorage,), {})()  # a class not yet reported
    with (
        caplog.at_level(logging.INFO, logger="kashflow_sync"),
        make_client(fake, storage=storage) as client,
    ):
        client.connect()
        results = [client.publish(purchase(i)) for i in range(2)]
        batch = client.publish_many([purchase(i, prefix="many") for i in range(3)])
    assert [r.status for r in results] == ["published", "published"]
    assert not batch.failed
    assert (len(fake.receipts), len(fake.attachments), len(fake.payments)) == (5, 5, 5)
    said = [r for r in caplog.records if "has no transaction()" in r.getMessage()]
    assert len(said) == 1 and "OneOff" in said[0].getMessage()
    for i in range(2):
        entry = storage.get_journal(client.connection_id, f"doc-{i}")
        assert entry is not None and entry.state == "published" and entry.owner is None
        steps = [(a.step, a.outcome) for a in entry.attempts]
        assert steps == [
            ("create", "created"),
            ("attachment", "attached"),
            ("payment", "recorded"),
            ("publish", "published"),
        ]
