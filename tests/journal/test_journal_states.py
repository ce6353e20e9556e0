"""The journal's transition table: it covers every state, and saves follow it exactly."""

from __future__ import annotations

import ast
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args

import attrs
import pytest

import kashflow_sync as kfs
from kashflow_sync import errors
from kashflow_sync._clients.drivers import SyncDriver
from kashflow_sync._engine.lease import Lease
from kashflow_sync._journal.entry import moved
from kashflow_sync._journal.states import (
    CLAIMED,
    JOURNAL_STATES,
    PUBLISHED,
    ROLES,
    SENDING,
    TRANSITIONS,
    EntryRole,
    JournalState,
    JournalTransitionError,
    check_transition,
    role_of,
)
from kashflow_sync._storage_keys import (
    contact_journal_key,
    content_journal_key,
    list_lock_key,
    verify_journal_key,
)
from kashflow_sync.storage.memory import MemoryStorage

SRC = Path(__file__).resolve().parents[2] / "src" / "kashflow_sync"
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)
CONNECTION = "c"
OWNER = "worker-a"

#: A key of each role, as the engine makes them.
KEYS: dict[EntryRole, str] = {
    "document": "dext-1",
    "contact": contact_journal_key("purchase", "Acme Paper"),
    "content": content_journal_key("purchase", 101, "INV-1", Decimal("120.00")),
    "watch": verify_journal_key("dext-1"),
    "list_lock": list_lock_key("suppliers"),
}

LEGAL = [
    (role, source, target)
    for role in ROLES
    for source, targets in TRANSITIONS[role].items()
    for target in targets
]
ILLEGAL = [
    (role, source, target)
    for role in ROLES
    for source in JOURNAL_STATES
    for target in JOURNAL_STATES
    if target not in TRANSITIONS[role].get(source, {})
]


def _ids(move: tuple[str, str, str]) -> str:
    return "{}:{}->{}".format(*move)


def _entry(role: EntryRole, state: JournalState) -> kfs.JournalEntry:
    return kfs.JournalEntry(
        connection_id=CONNECTION,
        external_id=KEYS[role],
        kind="purchase",
        fingerprint="f",
        state=state,
        number=1001,
    )


def _held(storage: MemoryStorage, role: EntryRole, state: JournalState) -> kfs.JournalEntry:
    """An entry of *role* stored in *state*, held by :data:`OWNER`."""
    claim = storage.claim_journal(_entry(role, state), OWNER, NOW, NOW + timedelta(minutes=5))
    assert claim.acquired
    return claim.entry


def _save(storage: MemoryStorage, entry: kfs.JournalEntry, **fields: Any) -> kfs.JournalEntry:
    """Run ``Lease.save`` for :data:`OWNER` against *storage*."""
    lease = Lease(CONNECTION, OWNER, clock=lambda: NOW)
    driver = SyncDriver(service=None, storage=storage, on_auth_failure=lambda: None)  # type: ignore[arg-type]
    saved: kfs.JournalEntry = driver.run(lease.save(entry, **fields))
    return saved


def test_every_role_is_told_by_its_key() -> None:
    """Each role's keys read as that role; any other key is a document."""
    assert {role: role_of(key) for role, key in KEYS.items()} == {role: role for role in KEYS}
    assert set(KEYS) == set(ROLES) == set(TRANSITIONS)


def test_the_table_covers_every_state() -> None:
    """Every state is a row of some role, every role starts at claimed, no move leads nowhere."""
    assert get_args(JournalState) == JOURNAL_STATES
    assert {s for rows in TRANSITIONS.values() for s in rows} == set(JOURNAL_STATES)
    for role, rows in TRANSITIONS.items():
        assert CLAIMED in rows, role
        for source, targets in rows.items():
            assert set(targets) <= set(rows), (role, source)
            assert all(why.strip() for why in targets.values()), (role, source)


def test_the_table_is_not_everything_allowed() -> None:
    """A document is never sent again once published, nor published without its number."""
    assert ("document", PUBLISHED, SENDING) in ILLEGAL
    assert ("document", SENDING, PUBLISHED) in ILLEGAL
    assert ("document", CLAIMED, PUBLISHED) in ILLEGAL
    assert len(LEGAL) < len(ILLEGAL)


@pytest.mark.parametrize(("role", "source", "target"), LEGAL, ids=[_ids(m) for m in LEGAL])
def test_every_legal_move_saves(role: EntryRole, source: JournalState, target: str) -> None:
    """``Lease.save`` stores a move the table lists."""
    storage = MemoryStorage()
    saved = _save(storage, _held(storage, role, source), state=target)
    stored = storage.get_journal(CONNECTION, KEYS[role])
    assert stored is not None
    assert (saved.state, stored.state, stored.owner) == (target, target, OWNER)


@pytest.mark.parametrize(("role", "source", "target"), ILLEGAL, ids=[_ids(m) for m in ILLEGAL])
def test_every_illegal_move_raises_and_stores_nothing(
    role: EntryRole, source: JournalState, target: JournalState
) -> None:
    """``Lease.save`` refuses a move the table does not list, before anything is stored."""
    storage = MemoryStorage()
    held = _held(storage, role, source)
    with pytest.raises(JournalTransitionError) as caught:
        _save(storage, held, state=target, number=7)
    error = caught.value
    assert (error.external_id, error.role, error.source, error.target) == (
        KEYS[role],
        role,
        source,
        target,
    )
    assert storage.get_journal(CONNECTION, KEYS[role]) == held


def test_the_error_names_the_entry_and_the_move_as_a_bug() -> None:
    """The message says which entry, from where to where, what is allowed, and that it is a bug."""
    with pytest.raises(JournalTransitionError) as caught:
        check_transition(_entry("document", PUBLISHED), SENDING)
    assert str(caught.value) == (
        "journal entry 'dext-1' (document) cannot move from 'published' to 'sending' (from "
        "'published' only to: duplicated, forgotten); nothing was stored. This is a bug in "
        "kashflow_sync: please report it."
    )
    assert not isinstance(caught.value, errors.KashFlowError)  # not the caller's to remedy


def test_moved_returns_the_entry_in_its_new_state() -> None:
    """A legal move changes the state and nothing else."""
    entry = _entry("document", SENDING)
    assert moved(entry, "created") == attrs.evolve(entry, state="created")


def test_a_save_that_keeps_the_state_is_no_move() -> None:
    """A save naming no state (a step done, a lease renewed) is not checked against the table."""
    storage = MemoryStorage()
    saved = _save(storage, _held(storage, "document", PUBLISHED), kashflow_id=9001)
    assert (saved.state, saved.kashflow_id) == (PUBLISHED, 9001)


def test_a_released_save_gives_the_entry_back() -> None:
    """``release=True`` stores the entry with no owner and no lease."""
    storage = MemoryStorage()
    _save(storage, _held(storage, "contact", SENDING), state=PUBLISHED, release=True)
    stored = storage.get_journal(CONNECTION, KEYS["contact"])
    assert stored is not None and (stored.owner, stored.lease_until) == (None, None)


def _state_set_outside_the_table(path: Path) -> list[int]:
    """Lines of *path* that evolve an entry with a ``state=`` of their own."""
    tree = ast.parse(path.read_text())
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "evolve"
        and any(k.arg == "state" for k in node.keywords)
    ]


def test_every_state_change_goes_through_the_table() -> None:
    """No module outside the table sets a state by hand (``attrs.evolve(entry, state=...)``).

    The storage conformance suite (``testing``) stores states directly on purpose: it tests
    storage, not the journal's moves. ``_journal/entry.py`` holds ``moved``, the one checked move.
    """
    found = {
        str(path.relative_to(SRC)): lines
        for path in SRC.rglob("*.py")
        if "testing" not in path.parts
        and path.relative_to(SRC).as_posix() not in ("_journal/states.py", "_journal/entry.py")
        if (lines := _state_set_outside_the_table(path))
    }
    assert found == {}
