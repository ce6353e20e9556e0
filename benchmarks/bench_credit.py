"""Credit notes, forget and verify: what each costs in KashFlow requests, storage calls, time.

1. Per document, in one run and against invoices as the baseline: KashFlow requests (counted
   by the fake), storage calls (counted by a wrapper around the storage) and wall time with
   20 ms added to every KashFlow call over loopback, for
   - purchase invoices with an attachment and a payment (the baseline),
   - supplier credit notes with an attachment and a refund,
   - sales invoices, and customer credit notes applied to them (``credits``),
   each through ``publish_many`` and through one ``publish`` per document.
2. What an unlearned reading costs: supplier credit notes on an account that refuses a
   negative rate (``credit_lines="negative_quantity"``), before and after doctor learned it.
3. ``forget`` of a deleted document, and ``verify`` with N documents watched (sent twice).

Run: ``python benchmarks/bench_credit.py [--docs 40] [--latency 0.02]``
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import attrs

import kashflow_sync as kfs
from kashflow_sync._account.facts import AccountFacts, save_account_facts
from kashflow_sync.testing import FakeKashFlow, Readings

NO_WAIT = kfs.RetryPolicy.no_wait()
PDF = b"%PDF-1.4 bench"
#: Calls of connect(), left out of every count.
CONNECT = {
    "AutoAuthIP",
    "GetCurrencies",
    "GetNominalCodesExtended",
    "GetSuppliers",
    "GetCustomers",
    "GetCustomersModifiedSince",
    "GetProjects_Full",
    "GetInvPayMethods",
    "GetRecPayMethods",
    "GetBankAccounts",
    "GetVATRates",
}


class CountingStorage(kfs.MemoryStorage):
    """A MemoryStorage that counts every call (the round trips a database would serve)."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()

    def __getattribute__(self, name: str) -> Any:
        value = super().__getattribute__(name)
        if callable(value) and not name.startswith("_") and name != "counts":
            counts = super().__getattribute__("counts")

            def counted(*args: Any, **kw: Any) -> Any:
                counts[name] += 1
                return value(*args, **kw)

            return counted
        return value


def purchase(i: int, tag: str) -> kfs.PurchaseInvoice:
    return kfs.PurchaseInvoice(
        external_id=f"{tag}-p-{i}",
        supplier="Acme Paper Ltd",
        reference=f"{tag.upper()}-INV-{i}",
        issue_date=date(2026, 11, 2),
        lines=[
            kfs.Line(
                description="Paper", net=Decimal("100.00") + i, vat_rate=Decimal(20), category=7500
            )
        ],
        attachment=kfs.Attachment(f"{i}.pdf", PDF),
        payment=kfs.Payment(method="Credit card", bank_account=1200),
    )


def supplier_credit(i: int, tag: str) -> kfs.PurchaseCreditNote:
    fields = attrs.asdict(purchase(i, tag), recurse=False)
    del fields["kind"]
    fields.update(external_id=f"{tag}-pcn-{i}", reference=f"{tag.upper()}-CN-{i}")
    return kfs.PurchaseCreditNote(**fields)


def sale(i: int, tag: str) -> kfs.SalesInvoice:
    return kfs.SalesInvoice(
        external_id=f"{tag}-s-{i}",
        customer="Bloggs & Co",
        reference=f"{tag.upper()}-PO-{i}",
        issue_date=date(2026, 11, 2),
        lines=[
            kfs.Line(
                description="Work", net=Decimal("200.00") + i, vat_rate=Decimal(20), category=4000
            )
        ],
    )


def sales_credit(i: int, tag: str) -> kfs.SalesCreditNote:
    return kfs.SalesCreditNote(
        external_id=f"{tag}-scn-{i}",
        customer="Bloggs & Co",
        reference=f"{tag.upper()}-CR-{i}",
        issue_date=date(2026, 11, 20),
        lines=[
            kfs.Line(description="Back", net=Decimal("50.00"), vat_rate=Decimal(20), category=4000)
        ],
        credits=f"{tag}-s-{i}",
    )


def _client(fake: FakeKashFlow, storage: kfs.MemoryStorage) -> kfs.KashFlowClient:
    return kfs.KashFlowClient(fake.credentials, endpoint=fake.url, storage=storage, retry=NO_WAIT)


def _measure(
    fake: FakeKashFlow,
    client: kfs.KashFlowClient,
    storage: CountingStorage,
    docs: Sequence[kfs.Document],
    batch: bool,
) -> tuple[float, float, float]:
    """(KashFlow requests, storage calls, milliseconds) per document."""
    calls_before = len([c for c in fake.calls if c.operation not in CONNECT])
    storage.counts.clear()
    started = time.perf_counter()
    if batch:
        result = client.publish_many(docs, concurrency=4)
        assert not result.failed, [i.error for i in result.failed]
    else:
        for doc in docs:
            client.publish(doc)
    seconds = time.perf_counter() - started
    calls = len([c for c in fake.calls if c.operation not in CONNECT]) - calls_before
    n = len(docs)
    return calls / n, sum(storage.counts.values()) / n, seconds * 1000 / n


def per_document(count: int, latency: float) -> None:
    print(f"1. Per document ({count} each, {latency * 1000:.0f} ms added to every call)")
    print(f"   {'documents':<46} {'path':<13} {'requests':>8} {'storage':>8} {'ms':>7} {'x ms':>6}")
    for batch in (True, False):
        path = "publish_many" if batch else "publish"
        with FakeKashFlow.serve() as fake:
            storage = CountingStorage()
            with _client(fake, storage) as client:
                client.connect()
                fake.faults.delay(latency, times=None)
                tag = "b" if batch else "o"
                rows = [
                    (
                        "purchase invoices, file + payment (baseline)",
                        [purchase(i, tag) for i in range(count)],
                    ),
                    (
                        "supplier credit notes, file + refund",
                        [supplier_credit(i, tag) for i in range(count)],
                    ),
                    ("sales invoices", [sale(i, tag) for i in range(count)]),
                    (
                        "customer credit notes, applied",
                        [sales_credit(i, tag) for i in range(count)],
                    ),
                ]
                baseline = 0.0
                for label, docs in rows:
                    requests, stored, ms = _measure(fake, client, storage, docs, batch)
                    baseline = baseline or ms
                    print(
                        f"   {label:<46} {path:<13} {requests:>8.2f} {stored:>8.1f} "
                        f"{ms:>7.1f} {ms / baseline:>6.2f}"
                    )


def unlearned(count: int) -> None:
    print("\n2. An account that refuses a negative rate (credit_lines=negative_quantity)")
    for learned in (False, True):
        fake = FakeKashFlow(readings=Readings(credit_lines="negative_quantity"))
        storage = CountingStorage()
        with kfs.KashFlowClient(
            fake.credentials,
            endpoint=fake.url,
            http_client=fake.http_client(),
            storage=storage,
            retry=NO_WAIT,
        ) as client:
            client.connect()
            if learned:
                facts = AccountFacts(
                    learned_at=datetime.now(timezone.utc),
                    sdk_version="bench",
                    credit_lines="quantity",
                )
                save_account_facts(storage, client.connection_id, facts)
            docs = [
                attrs.evolve(supplier_credit(i, "u"), attachment=None, payment=None)
                for i in range(count)
            ]
            requests, stored, _ms = _measure(fake, client, storage, docs, batch=True)
        label = "learned by doctor" if learned else "not learned     "
        print(f"   {label}: {requests:.2f} requests, {stored:.1f} storage calls per credit note")


def forget_and_verify(watched: int) -> None:
    print("\n3. forget, and verify")
    fake = FakeKashFlow()
    storage = CountingStorage()
    with kfs.KashFlowClient(
        fake.credentials,
        endpoint=fake.url,
        http_client=fake.http_client(timeout=0.2),
        storage=storage,
        retry=NO_WAIT,
        settle_time=timedelta_s(0.05),
    ) as client:
        client.connect()
        doc = attrs.evolve(purchase(0, "f"), attachment=None, payment=None)
        number = client.publish(doc).number
        fake._delete_document("receipt", number)
        _counted(
            fake, storage, "forget (a deleted receipt)", lambda: client.forget(doc.external_id)
        )
        _counted(fake, storage, "verify, nothing watched", client.verify)
        for i in range(watched):  # each sent twice: its first send is applied far too late
            fake.faults.late_apply(60, op="InsertReceipt", times=1)
            client.publish(attrs.evolve(purchase(i + 1, "w"), attachment=None, payment=None))
        _counted(fake, storage, f"verify, {watched} documents watched", client.verify)
        fake.close(late_writes="cancel")


def timedelta_s(seconds: float) -> Any:
    from datetime import timedelta

    return timedelta(seconds=seconds)


def _counted(
    fake: FakeKashFlow, storage: CountingStorage, label: str, call: Callable[[], Any]
) -> None:
    before = len(fake.calls)
    storage.counts.clear()
    started = time.perf_counter()
    call()
    ms = (time.perf_counter() - started) * 1000
    ops = Counter(c.operation for c in fake.calls[before:])
    print(
        f"   {label:<36} {len(fake.calls) - before:>3} requests {dict(ops)}, "
        f"{sum(storage.counts.values())} storage calls, {ms:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--watched", type=int, default=10)
    args = parser.parse_args()
    per_document(args.docs, args.latency)
    unlearned(args.docs)
    forget_and_verify(args.watched)


if __name__ == "__main__":
    main()
