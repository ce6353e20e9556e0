"""Publishing speed: publish_many throughput by concurrency, and the SDK's per-publish overhead.

1. Throughput: the fake KashFlow on loopback with 20 ms of injected latency on every call;
   ``publish_many`` of purchase invoices (two lines, attachment, payment: four KashFlow calls
   each) at concurrency 1, 4 and 8, documents per second.
2. Overhead: in-process fake, no latency. One SDK ``publish`` of a two-line receipt (resolve,
   validate, journal, InsertReceipt, GetReceipt for the internal id) against one plain zeep
   ``InsertReceipt`` call with the same lines, interleaved over many rounds (medians).

Run: ``python benchmarks/bench_publish.py [--docs 60] [--latency 0.02] [--rounds 200]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date, datetime
from decimal import Decimal

import httpx
import zeep
from zeep import xsd

import kashflow_sync as kfs
from kashflow_sync._retry import RetryPolicy
from kashflow_sync.soap.transport import WSDL_LOCATION, HttpxTransport
from kashflow_sync.testing import FakeKashFlow

NO_WAIT = RetryPolicy(initial=0.0, cap=0.0, sleep=lambda _s: None)


def doc(i: int, prefix: str, *, extras: bool = True) -> kfs.PurchaseInvoice:
    return kfs.PurchaseInvoice(
        external_id=f"{prefix}-{i}",
        supplier="Acme Paper Ltd",
        reference=f"{prefix}-{i}",
        issue_date=date(2026, 11, 2),
        lines=[
            kfs.Line(
                description="Paper", net=Decimal("100.00"), vat_rate=Decimal("20"), category=7500
            ),
            kfs.Line(
                description="Train", net=Decimal("12.50"), vat_rate=Decimal("0"), category=7400
            ),
        ],
        attachment=kfs.Attachment("inv.pdf", b"%PDF-1.4 x" * 100, "application/pdf")
        if extras
        else None,
        payment=kfs.Payment(method="Credit card", bank_account=1200) if extras else None,
    )


def throughput(n_docs: int, latency: float) -> None:
    print(
        f"publish_many throughput, loopback, {latency * 1000:.0f} ms per call, {n_docs} documents"
    )
    rates = {}
    for concurrency in (1, 4, 8):
        # A fresh account per level, so every level starts from the same empty ledger.
        with (
            FakeKashFlow.serve() as fake,
            httpx.Client(timeout=30, limits=httpx.Limits(max_connections=16)) as http,
        ):
            client = kfs.KashFlowClient(
                fake.credentials, endpoint=fake.url, http_client=http, retry=NO_WAIT
            )
            client.connect()
            fake.faults.delay(latency, times=None)
            docs = [doc(i, f"c{concurrency}") for i in range(n_docs)]
            calls_before = len(fake.calls)
            start = time.perf_counter()
            batch = client.publish_many(docs, concurrency=concurrency)
            seconds = time.perf_counter() - start
            assert not batch.failed, batch.failed[0].error
            calls = len(fake.calls) - calls_before
        rates[concurrency] = n_docs / seconds
        print(
            f"  concurrency {concurrency}: {rates[concurrency]:6.1f} docs/s "
            f"({seconds:.2f} s, {calls / n_docs:.1f} calls per document)"
        )
    print(f"  speed-up 4 vs 1: {rates[4] / rates[1]:.2f}x, 8 vs 1: {rates[8] / rates[1]:.2f}x")


def overhead(rounds: int) -> None:
    print(f"per-publish overhead, in-process fake, no latency, {rounds} rounds (medians)")
    fake = FakeKashFlow()
    http = fake.http_client()
    # The pre-send ledger lookup is measured on its own (lookup_cost); here the SDK makes the
    # same two calls as plain zeep: InsertReceipt, then GetReceipt for the internal id.
    client = kfs.KashFlowClient(
        fake.credentials,
        endpoint=fake.url,
        http_client=http,
        retry=NO_WAIT,
        check_ledger_duplicates=False,
    )
    client.connect()
    plain = zeep.Client(WSDL_LOCATION, transport=HttpxTransport(http))
    line_type = plain.get_type("ns0:InvoiceLine")
    supplier = client.lists.suppliers.find("Acme Paper Ltd")
    ids = {n.code: n.kashflow_id for n in client.lists.nominal_codes}
    assert supplier is not None

    def zeep_insert(i: int) -> int:
        # The same two lines doc() has, as InvoiceLine values (net, VAT rate, VAT, nominal).
        specs = [("Paper", "100.00", 20, "20.00", 7500), ("Train", "12.50", 0, "0.00", 7400)]
        lines = [
            line_type(
                Quantity=Decimal(1),
                Description=text,
                Rate=Decimal(rate),
                ChargeType=ids[nominal],
                VatRate=Decimal(vat_rate),
                VatAmount=Decimal(vat),
                ProductID=0,
                Sort=sort,
                ProjID=0,
                LineID=0,
            )
            for sort, (text, rate, vat_rate, vat, nominal) in enumerate(specs, start=1)
        ]
        result = plain.service.InsertReceipt(
            UserName=fake.credentials.username,
            Password=fake.credentials.password,
            Inv={
                "InvoiceDBID": 0,
                "InvoiceNumber": 0,
                "InvoiceDate": datetime(2026, 11, 2),
                "DueDate": datetime(2026, 11, 2),
                "CustomerID": supplier.kashflow_id,
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
        )
        assert result.Status == "OK", result.StatusDetail
        return int(result.InsertReceiptResult)

    def zeep_insert_and_get(i: int) -> None:
        number = zeep_insert(i)
        got = plain.service.GetReceipt(
            UserName=fake.credentials.username,
            Password=fake.credentials.password,
            ReceiptNumber=number,
        )
        assert got.Status == "OK"

    sdk_times, zeep_times, zeep2_times = [], [], []
    for i in range(rounds):
        start = time.perf_counter()
        client.publish(doc(i, "o", extras=False))
        sdk_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        zeep_insert(i)
        zeep_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        zeep_insert_and_get(i + rounds)
        zeep2_times.append(time.perf_counter() - start)
    sdk = statistics.median(sdk_times) * 1000
    one = statistics.median(zeep_times) * 1000
    two = statistics.median(zeep2_times) * 1000
    print(f"  SDK publish (validate, journal, InsertReceipt, GetReceipt): {sdk:.2f} ms")
    print(f"  plain zeep InsertReceipt:                                  {one:.2f} ms")
    print(f"  plain zeep InsertReceipt + GetReceipt (the same calls):    {two:.2f} ms")
    print(
        f"  ratio SDK / zeep same calls: {sdk / two:.2f}; SDK / zeep insert only: {sdk / one:.2f}"
    )
    lookup_cost(plain, fake, client)


def lookup_cost(plain: zeep.Client, fake: FakeKashFlow, client: kfs.KashFlowClient) -> None:
    """The pre-send duplicate lookup (a supplier's receipts): SDK header reader vs zeep."""
    print("pre-send ledger lookup (GetReceiptsForSupplier), SDK reader vs plain zeep, medians")
    for existing in (10, 100, 1000):
        supplier = fake.add_supplier(f"Lookup {existing}")
        for i in range(existing):
            fake.add_receipt(
                supplier.name,
                net=Decimal("10"),
                vat=Decimal("2"),
                vat_rate=20,
                nominal_code=7500,
                reference=f"L{i}",
                issue_date=date(2026, 11, 2),
                description="x",
            )
        sdk_t, zeep_t = [], []
        for _ in range(15):
            start = time.perf_counter()
            found = client._service.documents_for_contact("purchase", supplier.supplier_id)
            sdk_t.append(time.perf_counter() - start)
            start = time.perf_counter()
            plain.service.GetReceiptsForSupplier(
                UserName=fake.credentials.username,
                Password=fake.credentials.password,
                SupplierID=supplier.supplier_id,
            )
            zeep_t.append(time.perf_counter() - start)
        assert len(found) == existing
        a, b = statistics.median(sdk_t) * 1000, statistics.median(zeep_t) * 1000
        print(f"  {existing:5d} receipts: SDK {a:7.2f} ms, zeep {b:7.2f} ms ({b / a:.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=60)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    throughput(args.docs, args.latency)
    overhead(args.rounds)


if __name__ == "__main__":
    main()
