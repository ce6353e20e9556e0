"""Publishing again after a deletion in KashFlow: ``forget`` checks KashFlow, then lets go.

Dext's advice for an item published wrongly is "delete the original entries in KashFlow and
republish". ``forget`` asks KashFlow first, under both readings of "not found" (Status NO, or
an empty object); only a document that is gone is forgotten, and the next publish creates it
anew, exactly once.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from _credit_docs import sale, sales_credit, supplier_credit

import kashflow_sync as kfs
from _clients import KINDS, any_client
from _support import ledger_check, make_client, purchase, spawn_worker, worker_result
from kashflow_sync import errors
from kashflow_sync.testing import FakeKashFlow, Readings

NOT_FOUND = ["status_no", "empty_object"]
PG_URL = os.environ.get("KASHFLOW_SYNC_TEST_PG")
WORKER = Path(__file__).with_name("_forget_worker.py")


def _delete(fake: FakeKashFlow, number: int) -> None:
    """Delete receipt *number* as a person would in KashFlow: payments and files first."""
    for payment in [p for p in fake.payments if p.document_number == number]:
        fake._delete_payment("receipt", payment.kashflow_id)
    fake._delete_document("receipt", number)


@pytest.mark.parametrize("not_found", NOT_FOUND)
@pytest.mark.parametrize("client_kind", KINDS)
def test_still_in_kashflow_is_refused(client_kind: str, not_found: str) -> None:
    """A document KashFlow still holds is not forgotten: the error names it."""
    fake = FakeKashFlow(readings=Readings(not_found=not_found))  # type: ignore[arg-type]
    with any_client(client_kind, fake) as client:
        client.connect()
        result = client.publish(purchase(1))
        with pytest.raises(errors.RejectedError) as still:
            client.forget("doc-1")
        assert client.publish(purchase(1)).status == "already_published"
    assert still.value.code == "still_in_kashflow"
    assert f"receipt {result.number}" in str(still.value)
    assert "Delete receipt" in still.value.remedy


@pytest.mark.parametrize("not_found", NOT_FOUND)
@pytest.mark.parametrize("client_kind", KINDS)
def test_gone_is_forgotten_and_published_anew_once(client_kind: str, not_found: str) -> None:
    """Deleted in KashFlow: forgotten, history kept, published anew with its file and payment."""
    fake = FakeKashFlow(readings=Readings(not_found=not_found))  # type: ignore[arg-type]
    with any_client(client_kind, fake) as client:
        client.connect()
        first = client.publish(purchase(1))
        _delete(fake, first.number)
        summary = client.forget("doc-1")
        listed = client.journal("forgotten")
        assert client.forget("doc-1").state == "forgotten"  # again: nothing more to do
        second = client.publish(purchase(1))
        third = client.publish(purchase(1))
        history = client.publish_history("doc-1")
    assert summary.state == "forgotten" and summary.number == first.number
    assert "deleted in KashFlow" in (summary.message or "")
    assert [s.external_id for s in listed] == ["doc-1"]
    assert second.status == "published" and second.number != first.number
    assert third.status == "already_published" and third.number == second.number
    assert ledger_check(fake, [purchase(1)]) == (0, 0)
    assert len(fake.receipts) == 1 and len(fake.payments) == 1
    steps = [(a.step, a.outcome) for a in history]
    assert steps.count(("create", "created")) == 2
    assert ("forget", "forgotten") in steps and ("publish", "anew") in steps


def test_a_number_kashflow_gave_to_another_document_is_gone() -> None:
    """The number was handed out again after the deletion: not ours, so it is forgotten."""
    fake = FakeKashFlow()
    with make_client(fake) as client:
        client.connect()
        first = client.publish(purchase(1, attach=False, pay=False))
        _delete(fake, first.number)
        fake._next["receipt_number"] = first.number  # KashFlow: highest number plus one
        other = fake.add_receipt("Office Supplies Co", net=Decimal("5.00"), reference="OTHER")
        assert other.number == first.number
        assert client.forget("doc-1").state == "forgotten"


def test_a_credit_note_published_anew_is_applied_anew() -> None:
    """A customer credit note deleted and forgotten is applied again when published anew."""
    fake = FakeKashFlow()
    with make_client(fake) as client:
        client.connect()
        client.publish(sale(1))
        note = client.publish(sales_credit(1))
        for payment in [p for p in fake.payments]:
            fake._delete_payment("invoice", payment.kashflow_id)  # unapply, as KashFlow would
        fake._delete_document("invoice", note.number)
        client.forget(note.external_id)
        again = client.publish(sales_credit(1))
    assert again.status == "published" and again.applied is True
    assert len([p for p in fake.payments if p.amount < 0]) == 1


def test_a_twin_refused_while_it_was_there_goes_once_it_is_forgotten() -> None:
    """The same invoice under another id: refused while the first copy stands, published once
    the first was deleted and forgotten; the first id is then the duplicate."""
    fake = FakeKashFlow()
    first, twin = purchase(1, attach=False, pay=False), purchase(1, attach=False, pay=False)
    twin = attrs.evolve(twin, external_id="doc-1-again")
    with make_client(fake) as client:
        client.connect()
        published = client.publish(first)
        with pytest.raises(errors.ValidationError) as refused:
            client.publish(twin)
        assert "kashflow-sync forget doc-1" in refused.value.problems[0].remedy
        _delete(fake, published.number)
        client.forget("doc-1")
        assert client.publish(twin).status == "published"
        with pytest.raises(errors.ValidationError) as now_first:
            client.publish(first)
    assert [p.code for p in now_first.value.problems] == ["duplicate_in_ledger"]
    assert "'doc-1-again'" in now_first.value.problems[0].message
    assert ledger_check(fake, [first]) == (0, 0)


@pytest.mark.parametrize("client_kind", KINDS)
def test_an_sdk_journal_key_is_not_a_document_to_forget(client_kind: str) -> None:
    """forget refuses the SDK's own entries (a content claim here) with a typed error, and
    leaves them as they were: they move only as the journal's table allows."""
    fake = FakeKashFlow()
    with any_client(client_kind, fake) as client:
        client.connect()
        published = client.publish(purchase(1, attach=False, pay=False))
        _delete(fake, published.number)
        own = [
            e
            for e in client.storage.list_journal(client.connection_id)
            if e.external_id.startswith("kashflow_sync:")
        ]
        assert own, "publishing a receipt leaves a content claim in the journal"
        with pytest.raises(errors.ConfigurationError) as refused:
            client.forget(own[0].external_id)
        after = client.storage.get_journal(client.connection_id, own[0].external_id)
    assert "not a document" in str(refused.value)
    assert "kashflow-sync journal" in refused.value.remedy
    assert after == own[0]


def test_a_publish_waits_for_a_forget_in_progress() -> None:
    """While forget asks KashFlow, a publish of the id waits for the verdict, then creates it."""
    with FakeKashFlow.serve() as fake:
        storage = kfs.MemoryStorage()
        with make_client(fake, storage=storage, http=None) as client:
            client.connect()
            first = client.publish(purchase(1, attach=False, pay=False))
            _delete(fake, first.number)
            fake.faults.delay(0.5, op="GetReceipt", times=1)  # forget's look takes a while
            outcome: list[object] = []
            forgetting = threading.Thread(target=lambda: outcome.append(client.forget("doc-1")))
            forgetting.start()
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                entry = storage.get_journal(client.connection_id, "doc-1")
                if entry is not None and entry.owner:
                    break
                time.sleep(0.005)
            second = client.publish(purchase(1, attach=False, pay=False))
            forgetting.join(timeout=10)
    assert second.status == "published" and second.number != first.number
    assert ledger_check(fake, [purchase(1, attach=False, pay=False)]) == (0, 0)


@pytest.mark.parametrize(
    ("prepare", "code"),
    [("never", "not_in_journal"), ("sending", "publish_unsettled")],
)
def test_what_cannot_be_forgotten_says_why(prepare: str, code: str) -> None:
    """Nothing published, or a create still uncertain: a typed error with a remedy."""
    fake = FakeKashFlow()
    with make_client(
        fake, settle_time=timedelta(seconds=60), check_ledger_duplicates=False
    ) as client:
        client.connect()
        if prepare == "sending":
            fake.faults.drop_response(op="InsertReceipt")
            fake.faults.http_error(500, op="GetReceiptsForSupplier", times=None)
            with pytest.raises(errors.PublishUncertainError):
                client.publish(purchase(1))
        with pytest.raises(errors.KashFlowError) as refused:
            client.forget("doc-1")
    assert refused.value.code == code and refused.value.remedy


def test_nothing_sent_is_nothing_to_forget() -> None:
    """A document refused before it was sent (journal ``claimed``) is left as it is."""
    fake = FakeKashFlow(readings=Readings(credit_lines="refused"))
    note = supplier_credit(1, refund=False)
    with make_client(fake) as client:
        client.connect()
        with pytest.raises(errors.RejectedError):
            client.publish(note)
        assert client.forget(note.external_id).state == "claimed"


@pytest.mark.skipif(not PG_URL, reason="set KASHFLOW_SYNC_TEST_PG to a PostgreSQL SQLAlchemy URL")
def test_forget_racing_a_publish_in_another_process_on_postgresql() -> None:
    """One process forgets 20 deleted documents while another publishes them: each ends in
    KashFlow exactly once, and the journal names a number KashFlow holds."""
    assert PG_URL is not None
    connection = f"forget-{uuid.uuid4().hex[:8]}"
    count = 20
    docs = [purchase(i, prefix="race", attach=False, pay=False) for i in range(count)]
    storage = kfs.SQLStorage(PG_URL)
    try:
        with FakeKashFlow.serve() as fake:
            with make_client(fake, storage=storage, connection_id=connection, http=None) as client:
                client.connect()
                for result in client.publish_many(docs):
                    assert result.result is not None
                    _delete(fake, result.result.number)
            fake.faults.delay(0.02, times=None)  # interleave the two processes' calls
            args = (PG_URL, connection, str(count))
            workers = [spawn_worker(WORKER, fake, *args, mode) for mode in ("forget", "publish")]
            outcomes = [worker_result(w, timeout=120) for w in workers]
            fake.faults.clear()
            with make_client(fake, storage=storage, connection_id=connection, http=None) as client:
                final = client.publish_many(docs)  # whatever the race left, finish it
                numbers = {r.external_id: r.number for r in (i.result for i in final) if r}
            held = {r.number for r in fake.receipts}
        assert all(o["errors"] == [] for o in outcomes), outcomes
        assert not final.failed, [i.error for i in final.failed]
        assert ledger_check(fake, docs) == (0, 0)
        assert len(fake.receipts) == count
        assert set(numbers.values()) == held
    finally:
        storage.purge(connection)
        storage.close()


def test_async_forget_is_awaited() -> None:
    """AsyncKashFlowClient.forget is a coroutine with the same answer."""
    import asyncio

    fake = FakeKashFlow()

    async def run() -> str:
        async with kfs.AsyncKashFlowClient(
            fake.credentials, endpoint=fake.url, http_client=fake.async_http_client()
        ) as client:
            await client.connect()
            doc = purchase(3, attach=False, pay=False)
            result = await client.publish(doc)
            fake._delete_document("receipt", result.number)
            return (await client.forget(doc.external_id)).state

    assert asyncio.run(run()) == "forgotten"


def test_forget_checks_its_argument() -> None:
    """An empty or non-string external id is a TypeError, before anything is read."""
    fake = FakeKashFlow()
    with make_client(fake) as client:
        client.connect()
        with pytest.raises(TypeError):
            client.forget("")


_ = date  # the documents above carry dates
