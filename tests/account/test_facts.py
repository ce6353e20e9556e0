"""``AccountFacts``: what doctor learned, stored per connection, merged, read back safely."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

import pytest

import kashflow_sync as kfs
from kashflow_sync._account.facts import (
    AccountFacts,
    load_account_facts,
    save_account_facts,
)
from kashflow_sync._storage_keys import ACCOUNT_FACTS

LEARNED = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)


def test_facts_round_trip_through_json() -> None:
    """Facts stored as JSON read back equal, datetimes and words included."""
    facts = AccountFacts(
        learned_at=LEARNED,
        sdk_version="0.1.0",
        not_found="status_no",
        not_found_words={"receipt": "There is no receipt with that number"},
        writes_probed_at=LEARNED,
        writes_probed_by="0.1.0",
        rate_decimals=2,
        rounding="half_even",
    )
    assert AccountFacts.from_json(json.loads(json.dumps(facts.to_json()))) == facts


def test_facts_from_a_newer_version_ignore_unknown_keys() -> None:
    """A key this version does not know (written by a newer one) is ignored."""
    data = {**AccountFacts(learned_at=LEARNED, sdk_version="9").to_json(), "future_fact": 1}
    assert AccountFacts.from_json(data).sdk_version == "9"


def test_nothing_learned_reads_as_none() -> None:
    """A connection doctor never ran for has no facts."""
    assert load_account_facts(kfs.MemoryStorage(), "default") is None


def test_unreadable_facts_count_as_not_learned(caplog: pytest.LogCaptureFixture) -> None:
    """Corrupt stored facts read as None, with a warning, so the safe defaults apply."""
    storage = kfs.MemoryStorage()
    storage.set_state("default", ACCOUNT_FACTS, '{"learned_at": "yesterday"}')
    with caplog.at_level(logging.WARNING, logger="kashflow_sync"):
        assert load_account_facts(storage, "default") is None
    assert "account facts" in caplog.text


def test_saving_read_only_facts_keeps_earlier_probed_ones() -> None:
    """Facts without a write probe keep the probed facts (and their date) already stored."""
    storage = kfs.MemoryStorage()
    probed = AccountFacts(
        learned_at=LEARNED,
        sdk_version="0.1.0",
        writes_probed_at=LEARNED,
        writes_probed_by="0.1.0",
        rate_decimals=2,
    )
    save_account_facts(storage, "default", probed)
    later = AccountFacts(learned_at=LEARNED + timedelta(days=1), sdk_version="0.2.0")
    merged = save_account_facts(storage, "default", later)
    assert merged.rate_decimals == 2
    assert merged.writes_probed_at == LEARNED
    assert merged.learned_at == LEARNED + timedelta(days=1)
    assert load_account_facts(storage, "default") == merged


def test_saving_probed_facts_replaces_earlier_ones() -> None:
    """A new write probe's facts replace the old ones, unknowns included."""
    storage = kfs.MemoryStorage()
    old = AccountFacts(
        learned_at=LEARNED, sdk_version="0", writes_probed_at=LEARNED, rounding="half_up"
    )
    new = AccountFacts(learned_at=LEARNED, sdk_version="1", writes_probed_at=LEARNED, rounding=None)
    save_account_facts(storage, "default", old)
    assert save_account_facts(storage, "default", new).rounding is None


def test_client_reads_the_facts_of_its_own_connection() -> None:
    """``client.account_facts`` reads its connection's facts, on both clients."""
    storage = kfs.MemoryStorage()
    facts = AccountFacts(learned_at=LEARNED, sdk_version="0.1.0", rate_decimals=4)
    save_account_facts(storage, "shop-a", facts)
    creds = kfs.Credentials("jane", "pw")
    assert kfs.KashFlowClient(creds, storage=storage, connection_id="shop-a").account_facts == facts
    assert (
        kfs.AsyncKashFlowClient(creds, storage=storage, connection_id="shop-a").account_facts
        == facts
    )
    assert kfs.KashFlowClient(creds, storage=storage, connection_id="shop-b").account_facts is None


def test_naive_datetimes_are_taken_as_utc() -> None:
    """A naive learned_at is read as UTC, so stored facts always carry their zone."""
    facts = AccountFacts(learned_at=datetime(2026, 11, 2, 10, 0), sdk_version="0")
    assert facts.learned_at == LEARNED
