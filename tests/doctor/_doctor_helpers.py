"""Plain helpers the doctor tests share."""

from __future__ import annotations

from typing import Any

from kashflow_sync.testing import FakeKashFlow


def ledger(fake: FakeKashFlow) -> tuple[Any, ...]:
    """Everything the fake's account holds that a probe could touch."""
    return (
        fake.suppliers,
        fake.customers,
        fake.receipts,
        fake.invoices,
        fake.payments,
        fake.attachments,
    )
