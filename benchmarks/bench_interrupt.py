"""Ctrl-C in the middle of ``publish_many``: what it costs the caller, and what comes after it.

A batch of N documents, each with an attachment and a payment, 4 at a time, against a loopback
FakeKashFlow whose every answer takes ``--latency`` seconds (a real KashFlow's round trip). A
SIGINT reaches the calling thread once ``--after`` documents are done, as Ctrl-C would. Then a
``forget`` is tried and the same batch is run again, as a user would. The client has a
30-second publish lease and a 10-second request deadline (the default lease is five minutes:
what a held entry costs whoever needs it next is that lease, whatever its length).

Printed, per case:

- ``to caller``: seconds from the SIGINT to the ``KeyboardInterrupt`` in the caller;
- ``writes after``: KashFlow writes (creates, attachments, payments) the stopped batch
  requested after the SIGINT;
- ``held``: journal entries still held by the stopped batch when the caller gets control back;
- ``forget s``: seconds a ``forget`` of a document the batch published takes then (KashFlow
  still holds it, so it is refused: the time is what it waited for the entry first);
- ``run again``: seconds for the second run to finish the batch (it waits out any held entry);
- ``requests``: HTTP requests to KashFlow of both runs together, and the receipts KashFlow
  holds at the end (N: every document exactly once).

The same script runs on an older checkout (``PYTHONPATH=<old>/src``) for the comparison: it
uses only the public API.

Run: ``python benchmarks/bench_interrupt.py [--documents 40] [--after 8] [--latency 0.05]``.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx

import kashflow_sync as kfs
from kashflow_sync.testing import FakeKashFlow

WRITES = ("InsertReceipt", "AttachFileToReceipt", "InsertReceiptPayment")


def _docs(count: int) -> list[kfs.PurchaseInvoice]:
    return [
        kfs.PurchaseInvoice(
            external_id=f"interrupt-{n}",
            supplier="Acme Paper Ltd",
            reference=f"INT-{n}",
            issue_date=date(2026, 11, 2),
            lines=[kfs.Line(net=Decimal("10.00"), vat_rate=Decimal("20"), category=7500)],
            attachment=kfs.Attachment(filename=f"int-{n}.pdf", content=b"%PDF-1.4 bench"),
            payment=kfs.Payment(method="Credit card", bank_account=1200),
        )
        for n in range(count)
    ]


def run(documents: int, after: int, latency: float) -> dict[str, Any]:
    """One interrupted batch, then the same batch again; what each cost."""
    requests = 0
    interrupted_at: list[float] = []
    back_at: list[float] = []
    writes_after = 0

    def count(request: httpx.Request) -> None:
        nonlocal requests, writes_after
        requests += 1
        action = request.headers.get("SOAPAction", "")
        stopping = interrupted_at and not back_at
        if stopping and any(action.endswith(f'/{op}"') for op in WRITES):
            writes_after += 1

    docs = _docs(documents)
    with (
        FakeKashFlow.serve() as fake,
        httpx.Client(event_hooks={"request": [count]}, timeout=30) as http,
        kfs.KashFlowClient(
            fake.credentials,
            endpoint=fake.url,
            http_client=http,
            publish_lease=timedelta(seconds=30),
            timeout=10,
        ) as client,
    ):
        client.connect()
        fake.faults.delay(latency, times=None)

        def progress(event: kfs.BatchProgress) -> None:
            if event.done == after and not interrupted_at:
                interrupted_at.append(time.perf_counter())
                signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

        try:
            client.publish_many(docs, concurrency=4, progress=progress)
            raise SystemExit("the batch ended without the interrupt: raise --documents")
        except KeyboardInterrupt:
            back_at.append(time.perf_counter())
        entries = list(client.storage.list_journal(client.connection_id))
        held = sum(1 for e in entries if e.owner)
        published = next(
            e.external_id
            for e in entries
            if e.state == "published" and e.external_id.startswith("interrupt-")
        )
        started = time.perf_counter()
        with contextlib.suppress(kfs.errors.RejectedError):  # still in KashFlow: refused
            client.forget(published)
        forget = time.perf_counter() - started
        started = time.perf_counter()
        again = client.publish_many(docs, concurrency=4)
        ended = time.perf_counter()
        receipts = len(fake.receipts)
    assert not again.failed, [item.error for item in again.failed]
    return {
        "to caller": back_at[0] - interrupted_at[0],
        "writes after": writes_after,
        "held": held,
        "forget": forget,
        "run again": ended - started,
        "requests": requests,
        "receipts": receipts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=40)
    parser.add_argument("--after", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{args.documents} documents (attachment and payment each), 4 at a time, "
        f"{args.latency * 1000:.0f} ms per KashFlow answer; SIGINT after {args.after} done"
    )
    print(
        f"{'try':>3} {'to caller s':>11} {'writes after':>12} {'held':>5} {'forget s':>8} "
        f"{'run again s':>11} {'requests':>8} {'receipts':>8}"
    )
    for attempt in range(1, args.repeat + 1):
        row = run(args.documents, args.after, args.latency)
        print(
            f"{attempt:>3} {row['to caller']:11.2f} {row['writes after']:12d} {row['held']:5d} "
            f"{row['forget']:8.2f} {row['run again']:11.2f} {row['requests']:8d} "
            f"{row['receipts']:8d}"
        )


if __name__ == "__main__":
    main()
