"""A list answer that is not a list, or that would archive most of a list, changes nothing.

A ``Status=OK`` list answer whose result holds text was read as an empty list: every supplier
archived, publishing blocked until a good refresh. It is a ``ProtocolError`` now, and a refresh
that would archive more than half of a list of ``MASS_ARCHIVE_MIN_ITEMS`` or more refuses
unless ``force=True``, saying how many of how many.
"""

from __future__ import annotations

import pytest

from _clients import KINDS, any_client
from _support import purchase
from kashflow_sync import errors
from kashflow_sync._account.items import ListChanges, Supplier
from kashflow_sync._engine.listsync import MASS_ARCHIVE_MIN_ITEMS, mass_archive
from kashflow_sync.testing import FakeKashFlow


def _fake(suppliers: int) -> FakeKashFlow:
    """A fake whose supplier list holds *suppliers* (the three demo ones first)."""
    fake = FakeKashFlow()
    fake.seed_bulk(suppliers=suppliers - 3, customers=0, nominal_codes=0)
    assert len(fake.suppliers) == suppliers
    return fake


def _active(client: object) -> int:
    return len(client.lists.suppliers.active)  # type: ignore[attr-defined]


@pytest.mark.parametrize("shape", ["text_result", "element_result"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_list_answer_that_is_not_a_list_archives_nothing(kind: str, shape: str) -> None:
    """Status=OK with text (or another element) for the list: ProtocolError, lists untouched."""
    fake = FakeKashFlow()
    with any_client(kind, fake) as client:
        client.connect()
        before = list(client.lists.suppliers)
        fake.faults.hostile_answer(shape, op="GetSuppliers", times=None)
        with pytest.raises(errors.ProtocolError) as info:
            client.refresh_lists(["suppliers"])
        assert list(client.lists.suppliers) == before
        fake.faults.clear()
        assert client.publish(purchase(1)).status == "published"
    assert info.value.code == "not_a_list"
    assert ("text" in info.value.message) is (shape == "text_result")


@pytest.mark.parametrize("kind", KINDS)
def test_an_empty_answer_for_a_long_list_is_refused_saying_how_many(kind: str) -> None:
    """KashFlow's null for 20 suppliers would archive all 20: refused, with the counts."""
    fake = _fake(20)
    with any_client(kind, fake) as client:
        client.connect()
        fake.faults.hostile_answer("no_result", op="GetSuppliers", times=None)
        with pytest.raises(errors.ProtocolError) as info:
            client.refresh_lists()
        assert _active(client) == 20
        fake.faults.clear()
        assert client.publish(purchase(1)).status == "published"
    error = info.value
    assert error.code == "mass_archive_refused"
    assert "20 of the 20 active suppliers" in error.message
    assert "listed 0 suppliers" in error.message
    assert "force=True" in error.remedy


@pytest.mark.parametrize("kind", KINDS)
def test_force_archives_what_really_went(kind: str) -> None:
    """With force=True the same refresh stores the list: the 15 gone are archived."""
    fake = _fake(20)
    with any_client(kind, fake) as client:
        client.connect()
        for code in [s.code for s in fake.suppliers][5:]:
            fake.remove_supplier(code)
        with pytest.raises(errors.ProtocolError, match="15 of the 20"):
            client.refresh_lists(["suppliers"])
        report = client.refresh_lists(["suppliers"], force=True)
        assert report["suppliers"].archived == 15
        assert _active(client) == 5


@pytest.mark.parametrize("kind", KINDS)
def test_reconnect_refuses_too_unless_forced(kind: str) -> None:
    """reconnect() syncs every list again: the same refusal, the same force."""
    fake = _fake(20)
    with any_client(kind, fake) as client:
        client.connect()
        fake.faults.hostile_answer("no_result", op="GetSuppliers", times=None)
        with pytest.raises(errors.ProtocolError, match="20 of the 20"):
            client.reconnect()
        assert _active(client) == 20
        client.reconnect(force=True)
        assert _active(client) == 0


@pytest.mark.parametrize(
    ("active", "archived", "refused"),
    [
        (MASS_ARCHIVE_MIN_ITEMS - 1, MASS_ARCHIVE_MIN_ITEMS - 1, False),  # trivial: all may go
        (MASS_ARCHIVE_MIN_ITEMS, MASS_ARCHIVE_MIN_ITEMS // 2, False),  # half is not more
        (MASS_ARCHIVE_MIN_ITEMS, MASS_ARCHIVE_MIN_ITEMS // 2 + 1, True),
        (1000, 500, False),
        (1000, 501, True),
        (1000, 1000, True),
        (20, 0, False),
    ],
)
def test_more_than_half_of_a_non_trivial_list_is_refused(
    active: int, archived: int, refused: bool
) -> None:
    """The rule as a table: refused iff >= MASS_ARCHIVE_MIN_ITEMS active and > half archived."""
    old = [Supplier(kashflow_id=i, code=f"S{i}", name=f"S {i}") for i in range(active)]
    old += [Supplier(kashflow_id=-1, code="OLD", name="Old", archived=True, removed=True)]
    changes = ListChanges(archived=archived, unchanged=active - archived, total=active + 1)
    problem = mass_archive("suppliers", old, active - archived, changes)
    assert (problem is not None) is refused
    if problem is not None:
        assert f"{archived} of the {active} active suppliers" in problem.message


@pytest.mark.parametrize("kind", KINDS)
def test_a_short_list_may_lose_most_of_its_items(kind: str) -> None:
    """Three suppliers losing two is an honest clean-up: stored without force."""
    fake = FakeKashFlow()
    with any_client(kind, fake) as client:
        client.connect()
        fake.remove_supplier("RAIL01")
        fake.remove_supplier("OFFICE01")
        assert client.refresh_lists(["suppliers"])["suppliers"].archived == 2
