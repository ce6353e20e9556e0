"""Publish one receipt (a supplier's invoice) with its PDF attached and a card payment.

Runs against the fake KashFlow served on this machine, so it needs no account, and nothing
beyond kashflow-sync itself (``pip install .`` from a checkout):

    python examples/publish_one_receipt.py

For a real account, replace the fake's credentials and URL with
``kfs.Credentials(username, password, autoauth_key)`` and the default endpoint, and use a
``kfs.SQLStorage`` so the publish journal outlives the process.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import kashflow_sync as kfs
from kashflow_sync.testing import FakeKashFlow

# A minimal one-page PDF standing in for the scanned invoice.
SCAN = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def main() -> int:
    with FakeKashFlow.serve() as fake:
        client = kfs.KashFlowClient(fake.credentials, app_name="Receipt example", endpoint=fake.url)
        with client:
            client.connect()

            receipt = kfs.PurchaseInvoice(
                external_id="receipt-2026-0001",  # your own id: publishing is exactly-once per id
                supplier="City Rail Ltd",
                reference="TKT-88213",
                issue_date=date(2026, 11, 9),
                lines=[
                    kfs.Line(
                        description="Return ticket Leeds - London",
                        net=Decimal("142.50"),
                        vat_rate=Decimal("0"),  # rail fares are zero-rated
                        category=7400,  # Travel
                    )
                ],
                attachment=kfs.Attachment("TKT-88213.pdf", SCAN, "application/pdf"),
                payment=kfs.Payment(method="Credit card", bank_account=1200),
            )

            problems = client.validate(receipt)
            if problems:
                for problem in problems:
                    print(f"{problem.field}: {problem.message} -> {problem.remedy}")
                return 1

            result = client.publish(receipt)
            print(f"Published {result.external_id} as receipt {result.number}")
            print(f"  KashFlow id {result.kashflow_id}")

            [stored] = fake.receipts
            [attachment] = fake.attachments
            [payment] = fake.payments
            print(f"  supplier   {stored.customer_name}, reference {stored.customer_reference}")
            print(f"  net / VAT  {stored.net_amount} / {stored.vat_amount}")
            print(f"  attached   {attachment.filename} ({attachment.file_size} bytes)")
            print(f"  paid       {payment.pay_amount} on {payment.pay_date:%Y-%m-%d}")

            again = client.publish(receipt)
            print(
                f"Publishing it again: {again.status}; receipts in KashFlow: {len(fake.receipts)}"
            )
            assert again.status == "already_published" and len(fake.receipts) == 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
