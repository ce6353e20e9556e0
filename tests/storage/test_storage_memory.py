"""MemoryStorage behaviour beyond the shared conformance suite."""

from __future__ import annotations

from datetime import datetime

import pytest

from kashflow_sync._account.items import Supplier
from kashflow_sync._journal.entry import JournalEntry
from kashflow_sync.storage import MemoryStorage


def test_load_list_returns_stored_tuple() -> None:
    """Loading a list hands back the stored tuple itself, without copying."""
    storage = MemoryStorage()
    storage.replace_list("c", "suppliers", [Supplier(1, "A", "Acme")])
    first = storage.load_list("c", "suppliers")
    assert isinstance(first, tuple)
    assert storage.load_list("c", "suppliers") is first


def test_replace_list_is_not_affected_by_caller_mutation() -> None:
    """Changing the caller's list after replace_list does not change what is stored."""
    storage = MemoryStorage()
    items = [Supplier(1, "A", "Acme")]
    storage.replace_list("c", "suppliers", items)
    items.append(Supplier(2, "B", "Beta"))
    assert len(storage.load_list("c", "suppliers")) == 1


def test_naive_claim_time_refused() -> None:
    """A naive datetime for a claim is refused: its instant is unknown."""
    with pytest.raises(ValueError, match="timezone-aware"):
        MemoryStorage().claim_journal(
            JournalEntry("c", "d", "purchase", "f"),
            "w",
            datetime(2030, 1, 1),
            datetime(2030, 1, 1, 0, 5),
        )


def test_unknown_list_name_refused() -> None:
    """A list name outside LIST_NAMES raises KeyError."""
    with pytest.raises(KeyError, match="unknown list"):
        MemoryStorage().replace_list("c", "locations", [])


def test_unknown_rule_kind_refused() -> None:
    """A rule kind other than supplier or customer raises ValueError."""
    with pytest.raises(ValueError, match="rule kind"):
        MemoryStorage().list_rules("c", "vendor")


def test_repr_counts_connections() -> None:
    """The repr says how many connections are stored."""
    storage = MemoryStorage()
    storage.set_state("a", "k", "v")
    storage.set_state("b", "k", "v")
    assert repr(storage) == "MemoryStorage(2 connection(s))"
