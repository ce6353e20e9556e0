"""Publishing cost: requests per document, cost against a contact's history, CPU against zeep.

1. Requests: a batch of 40 receipts, each with an attachment and a payment, from 5 suppliers
   (8 each), through ``publish_many`` (sync and async) and through one ``publish`` per document;
   the KashFlow calls per receipt, counted by the fake, connect excluded, by operation.
2. History: the time to publish 20 receipts (attachment, payment) for a supplier that already
   has 3,000 receipts, over the same for a new supplier, over loopback with 100 ms and 20 ms
   added to each call, and with none (where the one history lookup weighs most); medians.
3. CPU: one ``publish`` of a receipt with attachment and payment on the default path (ledger
   lookup on), CPU seconds in the client's process only (the fake runs in another process),
   against plain zeep making the same requests the SDK made for the same receipt (lines and
   attachment bytes alike); alternated, medians.
4. Throughput: ``publish_many`` at concurrency 1, 4 and 8 with 20 ms added to every call, the
   fake in its own process, each level repeated, medians (async scaling: bench_engine.py).

Run: ``python benchmarks/bench_publish.py [--repeat 3] [--rounds 60] [--history 3000]``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import sys
import time
from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import httpx

import kashflow_sync as kfs
from kashflow_sync.testing import FakeKashFlow

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import _CONNECT_OPS, _credentials, _no_wait, _sync_batch, control, fake_process
from bench_engine import document as receipt

NO_WAIT = _no_wait()


# ---------------------------------------------------------------------- 1. requests


def _suppliers(fake: FakeKashFlow, count: int) -> list[str]:
    names = [f"Bench Supplier {n}" for n in range(count)]
    for name in names:
        fake.add_supplier(name)
    return names


def _publishing_calls(fake: FakeKashFlow) -> Counter[str]:
    return Counter(c.operation for c in fake.calls if c.operation not in _CONNECT_OPS)


def requests_per_receipt(docs_per_supplier: int = 8, suppliers: int = 5) -> None:
    total = docs_per_supplier * suppliers
    print(
        f"1. KashFlow requests per receipt with attachment and payment: {total} receipts from "
        f"{suppliers} suppliers (connect excluded)"
    )
    for mode in ("publish_many (sync)", "publish_many (async)", "publish, one by one"):
        fake = FakeKashFlow()
        names = _suppliers(fake, suppliers)
        docs = [receipt(i, "req", names[i % suppliers]) for i in range(total)]
        with kfs.KashFlowClient(
            fake.credentials, endpoint=fake.url, http_client=fake.http_client(), retry=NO_WAIT
        ) as client:
            client.connect()
            fake.reset_calls()
            if mode == "publish_many (sync)":
                batch = client.publish_many(docs, concurrency=4)
                assert not batch.failed, batch.failed[0].error
            elif mode == "publish, one by one":
                for d in docs:
                    client.publish(d)
            else:
                asyncio.run(_async_many(fake, docs))
        calls = _publishing_calls(fake)
        assert len(fake.receipts) == total and len(fake.payments) == total
        per = sum(calls.values()) / total
        detail = ", ".join(f"{op} {n / total:.3g}" for op, n in calls.most_common())
        print(f"  {mode:22s} {per:.2f} per receipt  ({detail})")


async def _async_many(fake: FakeKashFlow, docs: list[kfs.PurchaseInvoice]) -> None:
    async with kfs.AsyncKashFlowClient(
        fake.credentials, endpoint=fake.url, http_client=fake.async_http_client(), retry=NO_WAIT
    ) as client:
        await client.connect()
        fake.reset_calls()
        batch = await client.publish_many(docs, concurrency=4)
        assert not batch.failed, batch.failed[0].error


# ---------------------------------------------------------------------- 2. history


def _history_run(history: int, batch: int, latency: float) -> float:
    """Seconds to publish *batch* receipts for a supplier with *history* older receipts.

    The fake is served on loopback in this process (*latency* added to each call); its time to
    render the history counts, as KashFlow's own would.
    """
    with FakeKashFlow.serve() as fake:
        fake.add_supplier("Old Supplier Ltd")
        for i in range(history):
            fake.add_receipt(
                "Old Supplier Ltd",
                net=Decimal("10"),
                vat=Decimal("2"),
                vat_rate=20,
                nominal_code=7500,
                reference=f"OLD-{i}",
                issue_date=date(2025, 1, 1 + i % 28),
                description="x",
            )
        docs = [receipt(i, f"h{history}", "Old Supplier Ltd") for i in range(batch)]
        with (
            httpx.Client(timeout=30) as http,
            kfs.KashFlowClient(
                fake.credentials, endpoint=fake.url, http_client=http, retry=NO_WAIT
            ) as client,
        ):
            client.connect()
            if latency:
                fake.faults.delay(latency, times=None)
            start = time.perf_counter()
            result = client.publish_many(docs, concurrency=4)
            seconds = time.perf_counter() - start
    assert not result.failed, result.failed[0].error
    return seconds


def history_cost(history: int, batch: int, repeat: int, latency: float) -> None:
    print(
        f"2. {batch} receipts for a supplier with {history} older receipts vs a new supplier "
        f"(publish_many, concurrency 4, loopback; {repeat} runs each, medians)"
    )
    for added in (0.1, latency, 0.0):
        old, new = [], []
        for _ in range(repeat):
            old.append(_history_run(history, batch, added))
            new.append(_history_run(0, batch, added))
        a, b = statistics.median(old), statistics.median(new)
        print(
            f"  {added * 1000:.0f} ms per call: with {history} older {a:.3f} s, new supplier "
            f"{b:.3f} s, ratio {a / b:.2f}"
        )


# ---------------------------------------------------------------------- 3. CPU against zeep


def _plain_zeep(details: dict[str, str]) -> tuple[Any, Any]:
    """A zeep client of the same WSDL, as a user would build one, and its service proxy."""
    import zeep

    wsdl = resources.files("kashflow_sync.soap").joinpath("kashflow.wsdl")
    plain = zeep.Client(str(wsdl))
    return plain, plain.create_service("{KashFlow}KashFlowAPISoap", details["url"])


def _zeep_publish(
    service: Any, factory: Any, details: dict[str, str], i: int, ids: dict[str, int]
) -> None:
    """The requests the SDK's default path made for one receipt, by plain zeep.

    The same receipt as the SDK's: its lines, and its attachment's very bytes (1,000).
    """
    from zeep import xsd

    attachment = receipt(i, "z").attachment
    assert attachment is not None

    auth = {"UserName": details["username"], "Password": details["password"]}
    line_type = factory["line"]
    specs = [("Paper", "100.00", 20, "20.00", 7500), ("Train", "12.50", 0, "0.00", 7400)]
    lines = [
        line_type(
            Quantity=Decimal(1),
            Description=text,
            Rate=Decimal(rate),
            ChargeType=ids[str(nom)],
            VatRate=Decimal(vr),
            VatAmount=Decimal(vat),
            ProductID=0,
            Sort=n,
            ProjID=0,
            LineID=0,
        )
        for n, (text, rate, vr, vat, nom) in enumerate(specs, start=1)
    ]
    number = service.InsertReceipt(
        **auth,
        Inv={
            "InvoiceDBID": 0,
            "InvoiceNumber": 0,
            "InvoiceDate": datetime(2026, 11, 2),
            "DueDate": datetime(2026, 11, 2),
            "CustomerID": ids["supplier"],
            "Paid": 0,
            "CustomerReference": f"z-{i}",
            "SuppressTotal": 0,
            "ProjectID": 0,
            "ExchangeRate": Decimal(1),
            "NetAmount": Decimal(0),
            "VATAmount": Decimal(0),
            "AmountPaid": Decimal(0),
            "UseCustomDeliveryAddress": False,
            "CISRCNetAmount": Decimal(0),
            "CISRCVatAmount": Decimal(0),
            "IsCISReverseCharge": False,
            "Lines": {"anyType": [xsd.AnyObject(line_type, line) for line in lines]},
        },
    ).InsertReceiptResult
    service.GetReceipt(**auth, ReceiptNumber=number)
    service.AttachFileToReceipt(
        **auth,
        ReceiptNo=number,
        Base64String=base64.b64encode(attachment.content).decode("ascii"),
        ContentType=attachment.content_type,
        Filename=attachment.filename,
        FileExtension="pdf",
        FileSize=str(len(attachment.content)),
    )
    service.InsertReceiptPayment(
        **auth,
        ReceiptPayment={
            "PayID": 0,
            "PayInvoice": number,
            "PayDate": datetime(2026, 11, 2),
            "PayMethod": ids["method"],
            "PayAccount": ids["bank"],
            "PayAmount": Decimal("132.50"),
        },
    )


def cpu_against_zeep(rounds: int) -> None:
    print(
        f"3. CPU per publish in the client's process (the fake in another), receipt with "
        f"attachment and payment, default path; {rounds} alternated rounds, medians"
    )
    with fake_process() as details:
        creds = _credentials(details)
        with (
            httpx.Client(timeout=30) as http,
            kfs.KashFlowClient(
                creds, endpoint=details["url"], http_client=http, retry=NO_WAIT
            ) as client,
        ):
            client.connect()
            lists = client.lists
            supplier = lists.suppliers.find("Acme Paper Ltd")
            assert supplier is not None
            ids = {str(n.code): n.kashflow_id for n in lists.nominal_codes}
            ids.update(
                supplier=supplier.kashflow_id,
                method=lists.purchase_payment_methods.find("Credit card").kashflow_id,  # type: ignore[union-attr]
                bank=lists.bank_accounts.find(1200).kashflow_id,  # type: ignore[union-attr]
            )
            plain, service = _plain_zeep(details)
            factory = {"line": plain.get_type("ns0:InvoiceLine")}
            client.publish(receipt(0, "warm"))  # the lookup cache and zeep's parsers warm
            _zeep_publish(service, factory, details, 0, ids)
            before = len(control(details, "GET", "/calls"))
            sdk, plain = [], []
            for i in range(1, rounds + 1):
                c0 = time.process_time()
                client.publish(receipt(i, "cpu"))
                sdk.append(time.process_time() - c0)
                if i == 1:
                    made = [c["operation"] for c in control(details, "GET", "/calls")[before:]]
                c0 = time.process_time()
                _zeep_publish(service, factory, details, i, ids)
                plain.append(time.process_time() - c0)
            sizes = Counter(len(a["content"]) for a in control(details, "GET", "/attachments"))
    # Both sides attached the same file: one size (base64 of 1,000 bytes), every receipt.
    assert len(sizes) == 1 and sum(sizes.values()) == 2 * (rounds + 1), sizes
    a, b = statistics.median(sdk) * 1000, statistics.median(plain) * 1000
    print(f"  SDK requests per publish (steady state): {', '.join(made)}")
    print(f"  both attach the same {len(receipt(0, 'z').attachment.content)}-byte file")  # type: ignore[union-attr]
    print(f"  SDK publish: {a:.2f} ms CPU;  plain zeep, the same requests: {b:.2f} ms CPU")
    print(f"  ratio SDK / zeep: {a / b:.2f}")


# ---------------------------------------------------------------------- 4. throughput


def throughput(n_docs: int, latency: float, repeat: int) -> None:
    print(
        f"4. publish_many throughput, the fake in its own process, {latency * 1000:.0f} ms per "
        f"call, {n_docs} receipts with attachment and payment, {repeat} runs per level (medians)"
    )
    rates: dict[int, list[float]] = {1: [], 4: [], 8: []}
    with fake_process() as details:
        for run in range(repeat):
            for concurrency in rates:
                control(details, "POST", "/reset", {"seed": "demo"})
                control(
                    details, "POST", "/faults", {"kind": "delay", "seconds": latency, "times": None}
                )
                docs = [receipt(i, f"t{concurrency}r{run}") for i in range(n_docs)]
                rates[concurrency].append(n_docs / _sync_batch(details, docs, concurrency))
    base = statistics.median(rates[1])
    for concurrency, samples in rates.items():
        median = statistics.median(samples)
        print(f"  concurrency {concurrency}: {median:6.1f} receipts/s ({median / base:.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--history", type=int, default=3000)
    parser.add_argument("--docs", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--only", choices=["requests", "history", "cpu", "throughput"])
    args = parser.parse_args()
    if args.only in (None, "requests"):
        requests_per_receipt()
    if args.only in (None, "history"):
        history_cost(args.history, 20, args.repeat, args.latency)
    if args.only in (None, "cpu"):
        cpu_against_zeep(args.rounds)
    if args.only in (None, "throughput"):
        throughput(args.docs, args.latency, args.repeat)


if __name__ == "__main__":
    main()
