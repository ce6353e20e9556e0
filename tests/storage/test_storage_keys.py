"""Keys no storage can hold are refused alike in memory, SQLite and PostgreSQL, before any SQL."""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from kashflow_sync import errors
from kashflow_sync._documents.model import PublishAttempt, Rule
from kashflow_sync._journal.entry import JournalEntry
from kashflow_sync._limits import (
    MAX_CONNECTION_ID_LENGTH,
    MAX_EXTERNAL_ID_LENGTH,
    MAX_RULE_CONTACT_LENGTH,
)
from kashflow_sync.storage import InvalidKeyError, MemoryStorage, SQLStorage
from kashflow_sync.typing import Storage

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)
#: UTF-8 writes this in 4 bytes; casefolding writes "\u1ff7" in 6: the widest keys there are.
WIDE = "\U0001d11e"
WIDEST_CASEFOLDED = "\u1ff7"


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[Storage]:
    if request.param == "memory":
        yield MemoryStorage()
    elif request.param == "sqlite":
        with SQLStorage(sqlite_url) as opened:
            yield opened
    else:
        yield request.getfixturevalue("pg_storage")


def _entry(connection_id: str, external_id: str) -> JournalEntry:
    return JournalEntry(
        connection_id=connection_id, external_id=external_id, kind="purchase", fingerprint="f"
    )


#: One call per Storage method, taking ``(connection_id, other key)``.
CALLS: dict[str, Callable[[Storage, str, str], Any]] = {
    "load_list": lambda s, c, _k: s.load_list(c, "suppliers"),
    "replace_list": lambda s, c, _k: s.replace_list(c, "suppliers", []),
    "get_state": lambda s, c, k: s.get_state(c, f"state:{k}"),
    "set_state": lambda s, c, k: s.set_state(c, f"state:{k}", "v"),
    "get_rule": lambda s, c, k: s.get_rule(c, "supplier", k),
    "set_rule": lambda s, c, k: s.set_rule(c, "supplier", k, Rule(category=7500)),
    "delete_rule": lambda s, c, k: s.delete_rule(c, "supplier", k),
    "list_rules": lambda s, c, _k: s.list_rules(c, "supplier"),
    "claim_journal": lambda s, c, k: s.claim_journal(_entry(c, k), "me", T0, T0),
    "get_journal": lambda s, c, k: s.get_journal(c, k),
    "update_journal": lambda s, c, k: s.update_journal(_entry(c, k), "me"),
    "add_attempt": lambda s, c, k: s.add_attempt(c, k, PublishAttempt(T0, "create", "sent")),
    "purge": lambda s, c, _k: s.purge(c),
}
#: Methods whose second key is length-limited (a rule's contact, an external_id).
LIMITED = ["add_attempt", "claim_journal", "delete_rule", "get_journal", "get_rule"]
LIMITED += ["set_rule", "update_journal"]

BAD = {
    "too long": "k" * (max(MAX_CONNECTION_ID_LENGTH, MAX_EXTERNAL_ID_LENGTH) + 1),
    "NUL": "key\x00",
    "lone surrogate": "key\ud800",
}


@pytest.mark.parametrize("bad", sorted(BAD))
@pytest.mark.parametrize("method", sorted(CALLS))
def test_unstorable_connection_id_is_refused(storage: Storage, method: str, bad: str) -> None:
    """Every method refuses a connection_id no storage can hold: InvalidKeyError, a ValueError."""
    with pytest.raises(InvalidKeyError) as caught:
        CALLS[method](storage, BAD[bad], "item-1")
    exc = caught.value
    assert isinstance(exc, errors.StorageError) and isinstance(exc, ValueError)
    assert exc.code == "invalid_storage_key" and not exc.retryable
    assert "connection_id" in exc.message


@pytest.mark.parametrize(
    ("method", "bad"),
    [(m, bad) for m in LIMITED for bad in sorted(BAD)]
    # State keys are the SDK's own: their characters are checked, not their length.
    + [(m, bad) for m in ("get_state", "set_state") for bad in ("NUL", "lone surrogate")],
)
def test_unstorable_second_key_is_refused(storage: Storage, method: str, bad: str) -> None:
    """external_ids, rule contacts and state keys no storage can hold are refused alike."""
    with pytest.raises(InvalidKeyError):
        CALLS[method](storage, f"holes-{uuid.uuid4().hex}", BAD[bad])


def test_refused_rule_stores_nothing(storage: Storage) -> None:
    """A rule for a contact over the limit is refused and leaves no rule behind."""
    connection_id = f"holes-{uuid.uuid4().hex}"
    with pytest.raises(InvalidKeyError):
        storage.set_rule(connection_id, "supplier", "n" * (MAX_RULE_CONTACT_LENGTH + 1), Rule())
    assert storage.list_rules(connection_id, "supplier") == {}


def test_longest_journal_keys_are_stored(storage: Storage) -> None:
    """connection_id and external_id at their limits, 4 bytes a character, round-trip."""
    connection_id = uuid.uuid4().hex + WIDE * (MAX_CONNECTION_ID_LENGTH - 32)
    external_id = WIDE * MAX_EXTERNAL_ID_LENGTH
    claimed = storage.claim_journal(
        _entry(connection_id, external_id), "me", T0, T0 + timedelta(minutes=1)
    )
    storage.add_attempt(connection_id, external_id, PublishAttempt(T0, "create", "sent"))
    found = storage.get_journal(connection_id, external_id)
    assert claimed.acquired and found is not None
    assert (found.external_id, len(found.attempts)) == (external_id, 1)


def test_longest_rule_contact_is_stored(storage: Storage) -> None:
    """A rule contact at the limit whose casefolded key is 6 bytes a character is kept."""
    connection_id = uuid.uuid4().hex + WIDE * (MAX_CONNECTION_ID_LENGTH - 32)
    contact = WIDEST_CASEFOLDED * MAX_RULE_CONTACT_LENGTH
    storage.set_rule(connection_id, "supplier", contact, Rule(category=7500))
    assert storage.get_rule(connection_id, "supplier", contact) == Rule(category=7500)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("".join(random.Random(12).choices(string.ascii_letters, k=3000)), "v"),
        ("k", "holds \x00 NUL"),
    ],
    ids=["state key beyond the index", "NUL in a state value"],
)
def test_value_postgresql_refuses_is_not_retryable(
    pg_storage: SQLStorage, key: str, value: str
) -> None:
    """A value PostgreSQL refuses is value_not_storable, not a retryable database_unavailable."""
    with pytest.raises(errors.StorageError) as caught:
        pg_storage.set_state(f"holes-{uuid.uuid4().hex}", key, value)
    assert caught.value.code == "value_not_storable" and not caught.value.retryable
