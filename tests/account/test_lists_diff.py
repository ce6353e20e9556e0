"""The list diff: added, changed, archived, unchanged, and nothing ever deleted."""

from __future__ import annotations

from kashflow_sync import NominalCode, Supplier
from kashflow_sync._engine.listsync import diff_lists


def _sup(i: int, name: str | None = None, **kw: object) -> Supplier:
    return Supplier(kashflow_id=i, code=f"S{i}", name=name or f"Supplier {i}", **kw)  # type: ignore[arg-type]


def test_first_sync_adds_everything() -> None:
    """Against an empty store, every item is added."""
    merged, changes = diff_lists([], [_sup(1), _sup(2)])
    assert [s.kashflow_id for s in merged] == [1, 2]
    assert (changes.added, changes.changed, changes.archived, changes.unchanged) == (2, 0, 0, 0)


def test_vanished_item_is_kept_as_archived_tombstone() -> None:
    """An item gone from KashFlow stays, archived and marked removed."""
    merged, changes = diff_lists([_sup(1), _sup(2)], [_sup(1)])
    gone = next(s for s in merged if s.kashflow_id == 2)
    assert gone.archived and gone.removed
    assert changes.archived == 1 and changes.unchanged == 1


def test_tombstone_is_not_counted_again() -> None:
    """A tombstone from an earlier sync is kept without counting it as newly archived."""
    old = [_sup(1), _sup(2, archived=True, removed=True)]
    merged, changes = diff_lists(old, [_sup(1)])
    assert len(merged) == 2 and changes.archived == 0


def test_returning_item_is_restored() -> None:
    """An item that comes back is live again (counted as changed)."""
    old = [_sup(2, archived=True, removed=True)]
    merged, changes = diff_lists(old, [_sup(2)])
    assert merged[0].archived is False and merged[0].removed is False
    assert changes.changed == 1


def test_rename_is_a_change() -> None:
    """A renamed nominal code counts as changed, keeping its id."""
    old = [NominalCode(kashflow_id=10, code=7500, name="Printing")]
    new = [NominalCode(kashflow_id=10, code=7500, name="Printing and stationery")]
    merged, changes = diff_lists(old, new)
    assert changes.changed == 1 and merged[0].name == "Printing and stationery"


def test_kashflow_archiving_counts_as_archived() -> None:
    """KashFlow's own archived flag turning on counts as archived, not changed."""
    old = [NominalCode(kashflow_id=10, code=7500, name="P")]
    new = [NominalCode(kashflow_id=10, code=7500, name="P", archived=True)]
    _, changes = diff_lists(old, new)
    assert changes.archived == 1 and changes.changed == 0


def test_partial_merge_keeps_unmentioned_items() -> None:
    """An incremental fetch updates what it names and keeps the rest as they were."""
    old = [_sup(1), _sup(2), _sup(3)]
    merged, changes = diff_lists(old, [_sup(2, "Renamed"), _sup(4)], partial=True)
    assert [s.kashflow_id for s in merged] == [1, 2, 3, 4]
    assert merged[1].name == "Renamed"
    assert not any(s.archived for s in merged)
    assert (changes.added, changes.changed, changes.unchanged) == (1, 1, 2)
