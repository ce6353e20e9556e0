"""The content claim is fenced like the document's own entry, right up to the send.

Two publish flows for the same invoice under two external ids, stepped by hand on one clock
and one storage, with the drivers' pre-write fence: worker A stalls past its lease just before
its create, worker B takes the content over and sends, and A, resumed, is stopped before it
sends. Nothing A did not send is ever recorded as "uncertain".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import attrs
import pytest
from _script import Clock, Ids, ledger, operation

from _lists_fixtures import clean_purchase, make_lists
from kashflow_sync import errors
from kashflow_sync._clients.drivers import _lease_still_held, request_for
from kashflow_sync._convert import fingerprint
from kashflow_sync._documents.model import Document
from kashflow_sync._engine.effects import (
    Batch,
    Effect,
    Flow,
    HolderGone,
    InsertDocument,
    KashFlowEffect,
    LeaseWait,
    Sleep,
    StorageEffect,
    UpdateJournal,
)
from kashflow_sync._engine.publish import PublishSettings, publish
from kashflow_sync.storage.memory import MemoryStorage

LISTS = make_lists()
LEASE = timedelta(minutes=5)
A = clean_purchase(attachment=None, payment=None)
B = attrs.evolve(A, external_id="item-42-again")


class Stepper:
    """Drives one flow effect by effect, as the sync driver does (fence included)."""

    def __init__(
        self, flow: Flow[Any], storage: MemoryStorage, clock: Clock, answers: dict[str, list[Any]]
    ) -> None:
        self.flow, self.storage, self.clock, self.answers = flow, storage, clock, answers
        self.sent: list[str] = []
        self.next: Effect[Any] | None = next(flow)
        self.outcome: Any = None

    def run_until(self, stop: Callable[[Effect[Any]], bool] | None = None) -> None:
        """Perform effects until the next one matches *stop* (not performed), or the end."""
        while self.next is not None and not (stop is not None and stop(self.next)):
            try:
                value = self._perform(self.next)
            except BaseException as exc:
                self._advance(self.flow.throw, exc)
            else:
                self._advance(self.flow.send, value)

    def _advance(self, step: Callable[[Any], Effect[Any]], value: Any) -> None:
        try:
            self.next = step(value)
        except StopIteration as stop:
            self.next, self.outcome = None, stop.value
        except BaseException as exc:
            self.next, self.outcome = None, exc

    def _perform(self, effect: Effect[Any]) -> Any:
        if isinstance(effect, StorageEffect):
            return effect.perform(self.storage)
        if isinstance(effect, Sleep):
            self.clock.advance(effect.seconds)
            return None
        if isinstance(effect, LeaseWait):
            return None
        if isinstance(effect, HolderGone):
            return False
        assert isinstance(effect, KashFlowEffect)
        if not request_for(effect).idempotent and effect.renew is not None:
            _lease_still_held(self.storage, effect.renew)  # the drivers' pre-write fence
        self.sent.append(operation(effect))
        answer = self.answers[operation(effect)].pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def _flow(document: Document, clock: Clock, owner: str) -> Flow[Any]:
    settings = PublishSettings(
        "test-conn", clock=clock, new_id=Ids(), lease=LEASE, settle_time=timedelta(0)
    )
    return publish(document, fingerprint(document), LISTS, settings, owner=owner)


def _sending_save(effect: Effect[Any]) -> bool:
    """A's journal save of ``sending`` (the write right before the insert), alone or in the
    batch that claims the content with it."""
    if isinstance(effect, Batch):
        return any(_sending_save(part) for part in effect.effects)
    return (
        isinstance(effect, UpdateJournal)
        and effect.entry.external_id == A.external_id
        and effect.entry.state == "sending"
    )


def _insert(effect: Effect[Any]) -> bool:
    return isinstance(effect, InsertDocument)


def _answers(number: int) -> dict[str, list[Any]]:
    return {
        "documents_for_contact": [[]],
        "insert_document": [number],
        "get_document": [ledger(number)],
    }


@pytest.mark.parametrize(
    ("stall", "b_outcome"),
    [(_sending_save, "published"), (_insert, "duplicate_pending")],
    ids=["stalled before saving sending", "stalled after saving sending"],
)
def test_a_stalled_twin_is_fenced_out(stall: Callable[[Effect[Any]], bool], b_outcome: str) -> None:
    """A stalls past its lease; B goes (or waits, if A's journal already said sending). A,
    resumed, is stopped by the fence: it never sends beside B's copy, and when B did not take
    the content, it holds its leases again and sends alone. Never an uncertain send."""
    storage, clock = MemoryStorage(), Clock()
    a = Stepper(_flow(A, clock, "worker-a"), storage, clock, _answers(42))
    a.run_until(stall)  # A holds the content claim and stalls here
    clock.advance((LEASE * 2).total_seconds())
    b = Stepper(_flow(B, clock, "worker-b"), storage, clock, _answers(43))
    b.run_until()
    a.run_until()
    if b_outcome == "published":
        assert b.outcome.status == "published" and b.sent.count("insert_document") == 1
        assert isinstance(a.outcome, errors.ValidationError)
        assert [p.code for p in a.outcome.problems] == ["duplicate_in_ledger"]
        assert "insert_document" not in a.sent
    else:
        assert isinstance(b.outcome, errors.PublishUncertainError)
        assert b.outcome.code == b_outcome and "insert_document" not in b.sent
        assert a.outcome.status == "published" and a.sent.count("insert_document") == 1
    history = storage.get_journal("test-conn", A.external_id)
    assert history is not None
    assert ("create", "uncertain") not in [(x.step, x.outcome) for x in history.attempts]
    assert history.state == ("claimed" if b_outcome == "published" else "published")


def test_the_fence_covers_the_content_claim() -> None:
    """A's own lease holds (renewed fresh), but another worker holds the content claim now:
    the fence of A's create still refuses, because it checks the content claim too."""
    storage, clock = MemoryStorage(), Clock()
    a = Stepper(_flow(A, clock, "worker-a"), storage, clock, _answers(42))
    a.run_until(_insert)  # A's content claim and "sending" landed together
    insert = a.next
    assert isinstance(insert, InsertDocument) and insert.renew is not None
    (content,) = insert.renew.also
    clock.advance((LEASE * 2).total_seconds())
    taken = storage.claim_journal(content, "worker-b", clock(), clock() + LEASE)
    assert taken.acquired
    own = attrs.evolve(insert.renew.entry, lease_until=clock() + LEASE)
    assert storage.update_journal(own, "worker-a")
    only_document = attrs.evolve(insert.renew, also=())
    _lease_still_held(storage, only_document)  # the document's own lease holds: no stop
    with pytest.raises(errors.PublishUncertainError):
        _lease_still_held(storage, insert.renew)  # the content claim's does not
