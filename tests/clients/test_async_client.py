"""AsyncKashFlowClient: the same promises from one event loop, cancellation included."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any

import httpx
import pytest

import kashflow_sync as kfs
from _support import FAST_RETRY, NO_SETTLE, ledger_check, make_client, purchase
from kashflow_sync import errors
from kashflow_sync.soap.codec import Request
from kashflow_sync.testing import FakeKashFlow

#: The writes of a purchase's publish: the receipt, its attachment, its payment.
WRITES = ("InsertReceipt", "AttachFileToReceipt", "InsertReceiptPayment")


def async_client(
    fake: FakeKashFlow, http: httpx.AsyncClient, **kw: object
) -> kfs.AsyncKashFlowClient:
    """An async client for *fake* that never sleeps between retries."""
    kw.setdefault("retry", FAST_RETRY)
    kw.setdefault("settle_time", NO_SETTLE)
    return kfs.AsyncKashFlowClient(
        fake.credentials,
        endpoint=fake.url,
        http_client=http,
        app_name="tests",
        **kw,  # type: ignore[arg-type]
    )


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_connect_and_publish_with_attachment_and_payment(fake: FakeKashFlow) -> None:
    """connect, then publish: one receipt, one attachment, one payment; then already_published."""

    async def main() -> tuple[kfs.PublishResult, kfs.PublishResult]:
        async with fake.async_http_client() as http, async_client(fake, http) as client:
            await client.connect()
            assert client.status is kfs.ConnectionStatus.CONNECTED
            assert client.validate(purchase(1)) == []
            return await client.publish(purchase(1)), await client.publish(purchase(1))

    first, second = run(main())  # type: ignore[misc]
    assert (first.status, second.status) == ("published", "already_published")
    assert (len(fake.receipts), len(fake.attachments), len(fake.payments)) == (1, 1, 1)


def test_both_clients_share_one_journal(fake: FakeKashFlow) -> None:
    """A document the sync client published is already_published for the async one."""
    storage = kfs.MemoryStorage()
    with make_client(fake, storage=storage) as sync_client:
        sync_client.connect()
        sync_client.publish(purchase(1))

    async def main() -> kfs.PublishResult:
        async with fake.async_http_client() as http, async_client(fake, http, storage=storage) as c:
            return await c.publish(purchase(1))

    assert run(main()).status == "already_published"  # type: ignore[attr-defined]
    assert len(fake.receipts) == 1


def test_200_documents_at_concurrency_16_under_faults_land_exactly_once() -> None:
    """One event loop, one client, 16 at a time, faults on every call: 0 duplicates, 0 lost."""
    fake = FakeKashFlow()
    docs = [purchase(i, prefix="aio", attach=i % 2 == 0, pay=i % 3 != 0) for i in range(200)]

    async def main() -> tuple[int, list[kfs.PublishResult]]:
        async with fake.async_http_client(timeout=5.0) as http, async_client(fake, http) as client:
            await client.connect()
            fake.faults.random("drop_response", 0.06, seed="aio-drop")
            fake.faults.random("reset_before", 0.04, seed="aio-reset")
            fake.faults.random("http_error", 0.04, seed="aio-500", status=500)
            pending = docs
            for _round in range(12):
                batch = await client.publish_many(pending, concurrency=16)
                pending = [d for d, item in zip(pending, batch, strict=True) if not item.ok]
                if not pending:
                    break
            fired = len(fake.faults.fired)
            fake.faults.clear()
            final = await client.publish_many(pending, concurrency=16)
            assert not final.failed, [i.error for i in final.failed]
            return fired, [await client.publish(d) for d in docs]

    fired, results = run(main())  # type: ignore[misc]
    assert fired >= 20
    assert all(r.status == "already_published" for r in results)
    assert ledger_check(fake, docs) == (0, 0)
    assert len(fake.receipts) == 200


def test_tasks_cancelled_at_random_points_then_republished_land_exactly_once(
    served_fake: FakeKashFlow,
) -> None:
    """Cancel publishing tasks mid-flight, publish everything again: 0 duplicates, 0 lost."""
    fake = served_fake
    docs = [purchase(i, prefix="cancel") for i in range(120)]
    rng = random.Random(8)

    async def main() -> list[kfs.BatchItem]:
        async with (
            httpx.AsyncClient(timeout=5.0) as http,
            async_client(fake, http, publish_lease=timedelta(minutes=5)) as client,
        ):
            await client.connect()
            fake.faults.delay(0.01, times=None)  # every call takes a little while
            original = client._service.call

            async def cancel_some_mid_write(request: Request[Any]) -> Any:
                # Whatever the machine's load, some tasks are cancelled with a write out.
                if request.operation in WRITES and rng.random() < 0.15:
                    task = asyncio.current_task()
                    assert task is not None
                    asyncio.get_running_loop().call_later(0.005, task.cancel)
                return await original(request)

            client._service.call = cancel_some_mid_write  # type: ignore[method-assign]
            tasks = [asyncio.create_task(client.publish(d)) for d in docs]
            loop = asyncio.get_running_loop()
            for task in tasks:
                if rng.random() < 0.4:
                    loop.call_later(rng.uniform(0, 2.0), task.cancel)
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            assert any(isinstance(o, asyncio.CancelledError) for o in outcomes)
            # Nothing is left held: every cancelled publish gave its document back, and the
            # content it claimed (see _engine/content.py), so no twin waits out a lease.
            entries = client.storage.list_journal(client.connection_id)
            assert any(e.external_id.startswith("kashflow_sync:content:") for e in entries)
            assert [e.external_id for e in entries if e.owner is not None] == []
            states = [
                e.state
                for d in docs
                if (e := client.storage.get_journal(client.connection_id, d.external_id))
            ]
            # The interesting case happened: some were cancelled with the insert in flight.
            assert states.count("sending") + states.count("created") >= 3, sorted(states)
            fake.faults.clear()
            client._service.call = original  # type: ignore[method-assign]
            batch = await client.publish_many(docs, concurrency=8)
            return list(batch)

    items = run(main())  # type: ignore[misc]
    assert all(item.ok for item in items), [i.error for i in items if not i.ok]
    assert ledger_check(fake, docs) == (0, 0)
    assert len(fake.receipts) == len(docs)


def test_cancelled_during_the_insert_leaves_sending_and_the_next_publish_finds_it(
    served_fake: FakeKashFlow,
) -> None:
    """Cancel while InsertReceipt is out: journal says sending, released; the retry adopts it."""
    fake = served_fake
    doc = purchase(1, attach=False, pay=False)

    async def main() -> kfs.PublishResult:
        async with httpx.AsyncClient(timeout=5.0) as http, async_client(fake, http) as client:
            await client.connect()
            fake.faults.delay(0.3, op="InsertReceipt", times=1)
            sent = asyncio.Event()
            original = client._service.call

            async def watch(request: Request[Any]) -> Any:
                if request.operation == "InsertReceipt":
                    sent.set()
                return await original(request)

            client._service.call = watch  # type: ignore[method-assign]
            task = asyncio.create_task(client.publish(doc))
            await sent.wait()
            await asyncio.sleep(0.05)  # the request is on its way
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            entry = client.storage.get_journal(client.connection_id, doc.external_id)
            assert entry is not None and (entry.state, entry.owner) == ("sending", None)
            await asyncio.sleep(0.4)  # the server finishes the write it was given
            return await client.publish(doc)

    result = run(main())
    assert result.status == "published"  # type: ignore[attr-defined]
    assert len(fake.receipts) == 1


def test_publish_many_keeps_input_order_and_reports_progress(fake: FakeKashFlow) -> None:
    """Results in input order; progress counts up by one per document."""
    docs = [purchase(i, prefix="ord", attach=False, pay=False) for i in range(12)]
    seen: list[kfs.BatchProgress] = []

    async def main() -> kfs.BatchResult:
        async with fake.async_http_client() as http, async_client(fake, http) as client:
            await client.connect()
            return await client.publish_many(docs, concurrency=5, progress=seen.append)

    batch = run(main())
    assert [i.external_id for i in batch] == [d.external_id for d in docs]  # type: ignore[attr-defined]
    assert [p.done for p in seen] == list(range(1, 13))


@pytest.mark.parametrize("concurrency", [0, -1, 1.5, True])
def test_bad_concurrency_is_refused(fake: FakeKashFlow, concurrency: object) -> None:
    """concurrency must be a whole number of at least 1."""

    async def main() -> None:
        async with fake.async_http_client() as http, async_client(fake, http) as client:
            await client.connect()
            await client.publish_many([purchase(1)], concurrency=concurrency)  # type: ignore[arg-type]

    with pytest.raises(ValueError, match="concurrency"):
        run(main())


def test_calls_after_aclose_say_the_client_is_closed(fake: FakeKashFlow) -> None:
    """After aclose(), a network call is a KashFlowError with code client_closed."""

    async def main() -> None:
        client = async_client(fake, fake.async_http_client())
        await client.connect()
        await client.aclose()
        await client.publish(purchase(1))

    with pytest.raises(errors.KashFlowError) as info:
        run(main())
    assert info.value.code == "client_closed"


def test_wrong_http_client_type_is_refused(fake: FakeKashFlow) -> None:
    """An httpx.Client given to the async client is a TypeError naming the right type."""
    with httpx.Client() as http, pytest.raises(TypeError, match="AsyncClient"):
        kfs.AsyncKashFlowClient(fake.credentials, http_client=http)  # type: ignore[arg-type]


def test_ip_change_triggers_one_autoauth_and_one_retry(fake: FakeKashFlow) -> None:
    """A changed egress IP: one AutoAuthIP, the call sent again, and it works."""

    async def main() -> None:
        async with fake.async_http_client() as http, async_client(fake, http) as client:
            await client.connect()
            fake.client_ip = "203.0.113.9"
            fake.reset_calls()
            await client.refresh_lists(only="currencies")

    run(main())
    assert [c.operation for c in fake.calls] == ["GetCurrencies", "AutoAuthIP", "GetCurrencies"]


def test_refused_credentials_mark_the_connection_for_reconnect(fake: FakeKashFlow) -> None:
    """An authentication failure marks NEEDS_RECONNECT in storage, as the sync client does."""

    async def main() -> kfs.AsyncKashFlowClient:
        async with fake.async_http_client() as http, async_client(fake, http) as client:
            await client.connect()
            fake.password = "rotated"
            with pytest.raises(errors.AuthenticationError):
                await client.refresh_lists(only="suppliers")
            return client

    client = run(main())
    assert client.status is kfs.ConnectionStatus.NEEDS_RECONNECT  # type: ignore[attr-defined]


def test_a_cancelled_publish_many_leaves_no_entry_held(served_fake: FakeKashFlow) -> None:
    """``publish_many`` cancelled two documents in (as ``asyncio.run`` does on Ctrl-C): the
    cancellation reaches the caller, no journal entry is left held (the documents created so
    far included, whose internal ids the batch had not learned yet), and the batch run again
    finishes every document, each once."""
    fake = served_fake
    docs = [purchase(i, prefix="stopmany") for i in range(20)]

    async def main() -> tuple[list[str], kfs.BatchResult]:
        async with (
            httpx.AsyncClient(timeout=5.0) as http,
            async_client(fake, http, publish_lease=timedelta(minutes=5)) as client,
        ):
            await client.connect()
            fake.faults.delay(0.2, op="InsertReceipt", times=None)
            batch = asyncio.current_task()
            assert batch is not None

            def cancel_after_two(progress: kfs.BatchProgress) -> None:
                if progress.done == 2:
                    batch.cancel()

            with pytest.raises(asyncio.CancelledError):
                await client.publish_many(docs, concurrency=2, progress=cancel_after_two)
            batch.uncancel()
            entries = client.storage.list_journal(client.connection_id)
            held = [e.external_id for e in entries if e.owner is not None]
            fake.faults.clear()
            return held, await client.publish_many(docs, concurrency=2)

    held, again = asyncio.run(main())
    assert held == []
    assert not again.failed, [item.error for item in again.failed]
    assert sorted(r.customer_reference for r in fake.receipts) == sorted(d.reference for d in docs)
    assert ledger_check(fake, docs) == (0, 0)
