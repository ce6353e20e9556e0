"""The conformance tests of ``transaction()`` and of the SDK's batched journal calls.

:class:`~kashflow_sync.testing.conformance.StorageConformance` inherits these. A storage that
offers :meth:`~kashflow_sync.typing.TransactionalStorage.transaction` must honour it (the
``test_transaction_*`` tests; skipped for one that does not). Every storage, with or without it,
must give the SDK's batches of calls (a publish step's claim and ``sending`` save, its save with
its attempts and keys) the answers the publish flow relies on: the ``test_batch_*`` tests run
them as the drivers do, in one transaction where the storage can, one by one where it cannot.
"""

from __future__ import annotations

from typing import Any, cast

import attrs
import pytest

from .._clients.drivers import perform_storage
from .._documents.model import PublishAttempt
from .._engine.effects import AddAttempt, Batch, ClaimJournal, GetState, SetState, UpdateJournal
from .._journal.entry import ClaimResult
from ..typing import Storage, TransactionalStorage
from ._conformance_listing import LEASE, T0
from ._conformance_listing import claim as _claim
from ._conformance_listing import journal_entry as _entry

__all__ = ["TransactionConformance"]


def _transactional(storage: Storage) -> TransactionalStorage:
    if not isinstance(storage, TransactionalStorage):
        pytest.skip("this storage has no transaction(): the SDK makes its calls one by one")
    return storage


class _OneByOne:
    """*storage* seen as a host storage without ``transaction()`` (every other call passes)."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def __getattr__(self, name: str) -> Any:
        if name == "transaction":
            raise AttributeError(name)
        return getattr(self._storage, name)


class TransactionConformance:
    """``transaction()`` (where offered), and the SDK's batches on every storage."""

    @pytest.fixture(params=["as it is", "one by one"])
    def batch_storage(self, request: pytest.FixtureRequest, storage: Storage) -> Storage:
        """The storage as the drivers see it, and as a storage without ``transaction()``."""
        if request.param == "as it is":
            return storage
        return cast("Storage", _OneByOne(storage))

    # transaction()

    def test_transaction_commits_its_calls(self, storage: Storage, connection_id: str) -> None:
        store = _transactional(storage)
        entry = _entry(connection_id)
        attempt = PublishAttempt(at=T0, step="create", outcome="created", detail="number 7")
        with store.transaction():
            assert _claim(store, entry, "me").acquired
            assert store.update_journal(
                attrs.evolve(entry, state="sending", owner="me", lease_until=T0 + LEASE), "me"
            )
            store.add_attempt(connection_id, entry.external_id, attempt)
            store.set_state(connection_id, "k", "v")
            # Calls inside the block see the block's own writes.
            inside = store.get_journal(connection_id, entry.external_id)
            assert inside is not None and inside.state == "sending"
        stored = store.get_journal(connection_id, entry.external_id)
        assert stored is not None and stored.state == "sending" and stored.owner == "me"
        assert stored.attempts == (attempt,)
        assert store.get_state(connection_id, "k") == "v"

    def test_transaction_keeps_compare_and_set(self, storage: Storage, connection_id: str) -> None:
        store = _transactional(storage)
        entry = _entry(connection_id)
        _claim(store, entry, "other")
        with store.transaction():
            assert not _claim(store, entry, "me").acquired
            assert not store.update_journal(attrs.evolve(entry, state="sending"), "me")
        stored = store.get_journal(connection_id, entry.external_id)
        assert stored is not None and stored.owner == "other" and stored.state == "claimed"

    def test_transaction_inside_another_joins_it(
        self, storage: Storage, connection_id: str
    ) -> None:
        store = _transactional(storage)
        with store.transaction(), store.transaction(write=True):
            store.set_state(connection_id, "k", "inner")
            with store.transaction(write=False):
                assert store.get_state(connection_id, "k") == "inner"
        assert store.get_state(connection_id, "k") == "inner"

    def test_transaction_read_only(self, storage: Storage, connection_id: str) -> None:
        store = _transactional(storage)
        store.set_state(connection_id, "k", "v")
        with store.transaction(write=False):
            assert store.get_state(connection_id, "k") == "v"
            assert store.get_journal(connection_id, "missing") is None

    def test_transaction_that_raises_leaves_a_usable_storage(
        self, storage: Storage, connection_id: str
    ) -> None:
        """Rolled back or kept (the storage's choice): never half a call, never a stuck lock."""
        store = _transactional(storage)
        with pytest.raises(RuntimeError), store.transaction():
            store.set_state(connection_id, "k", "v")
            raise RuntimeError("the caller failed")
        assert store.get_state(connection_id, "k") in (None, "v")
        with store.transaction():
            store.set_state(connection_id, "k", "after")
        assert store.get_state(connection_id, "k") == "after"

    # The SDK's batches, as the drivers make them

    def test_batch_claim_then_save(self, batch_storage: Storage, connection_id: str) -> None:
        """A publish's first send: the content claim and the document's ``sending`` save."""
        doc = _entry(connection_id, "doc-1")
        assert _claim(batch_storage, doc, "me").acquired
        content = attrs.evolve(_entry(connection_id, "content-1"), fingerprint="doc-1")
        sending = attrs.evolve(doc, state="sending", owner="me", lease_until=T0 + LEASE)
        answers = perform_storage(
            batch_storage,
            Batch((ClaimJournal(content, "me", T0, T0 + LEASE), UpdateJournal(sending, "me"))),
        )
        assert len(answers) == 2 and answers[1] is True
        claimed: ClaimResult = answers[0]
        assert claimed.acquired and claimed.entry.owner == "me"
        stored = batch_storage.get_journal(connection_id, "doc-1")
        assert stored is not None and stored.state == "sending"

    def test_batch_stops_at_a_claim_held_by_another(
        self, batch_storage: Storage, connection_id: str
    ) -> None:
        doc = _entry(connection_id, "doc-1")
        assert _claim(batch_storage, doc, "me").acquired
        content = attrs.evolve(_entry(connection_id, "content-1"), fingerprint="doc-1")
        assert _claim(batch_storage, attrs.evolve(content, fingerprint="doc-2"), "twin").acquired
        sending = attrs.evolve(doc, state="sending", owner="me", lease_until=T0 + LEASE)
        answers = perform_storage(
            batch_storage,
            Batch((ClaimJournal(content, "me", T0, T0 + LEASE), UpdateJournal(sending, "me"))),
        )
        assert len(answers) == 1 and not answers[0].acquired
        stored = batch_storage.get_journal(connection_id, "doc-1")
        assert stored is not None and stored.state == "claimed"  # the save was not made

    def test_batch_save_with_attempts_and_keys(
        self, batch_storage: Storage, connection_id: str
    ) -> None:
        """A step's attempts, its compare-and-set save, then the keys that point at it."""
        doc = _entry(connection_id, "doc-1")
        assert _claim(batch_storage, doc, "me").acquired
        attempt = PublishAttempt(at=T0, step="publish", outcome="published", detail="number 7")
        done = attrs.evolve(doc, state="sending", owner=None, lease_until=None, number=7)
        answers = perform_storage(
            batch_storage,
            Batch(
                (
                    AddAttempt(connection_id, "doc-1", attempt),
                    UpdateJournal(done, "me"),
                    SetState(connection_id, "number:7", "doc-1"),
                    GetState(connection_id, "number:7"),
                )
            ),
        )
        assert answers == (None, True, None, "doc-1")
        stored = batch_storage.get_journal(connection_id, "doc-1")
        assert stored is not None and stored.number == 7 and stored.owner is None
        assert stored.attempts == (attempt,)

    def test_batch_stops_at_a_lost_lease(self, batch_storage: Storage, connection_id: str) -> None:
        """A save refused (another owner): the keys after it are not written."""
        doc = _entry(connection_id, "doc-1")
        assert _claim(batch_storage, doc, "other").acquired
        answers = perform_storage(
            batch_storage,
            Batch(
                (
                    UpdateJournal(attrs.evolve(doc, number=7), "me"),
                    SetState(connection_id, "number:7", "doc-1"),
                )
            ),
        )
        assert answers == (False,)
        assert batch_storage.get_state(connection_id, "number:7") is None

    def test_batch_without_stop_makes_every_call(
        self, batch_storage: Storage, connection_id: str
    ) -> None:
        """How a batch's ids are stored: each entry's own compare-and-set, all of them."""
        one, two = _entry(connection_id, "doc-1"), _entry(connection_id, "doc-2")
        _claim(batch_storage, one, "other")
        _claim(batch_storage, two, "me")
        answers = perform_storage(
            batch_storage,
            Batch(
                (
                    UpdateJournal(attrs.evolve(one, kashflow_id=1, owner=None), "me"),
                    UpdateJournal(attrs.evolve(two, kashflow_id=2, owner=None), "me"),
                ),
                stop=False,
            ),
        )
        assert answers == (False, True)
        stored = batch_storage.get_journal(connection_id, "doc-2")
        assert stored is not None and stored.kashflow_id == 2
