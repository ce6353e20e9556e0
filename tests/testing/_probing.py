"""Plain helpers the fake's own tests share: a SOAP probe on a fake, and KashFlow values."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from kashflow_sync.testing import FakeKashFlow
from kashflow_sync.testing._probe import SoapProbe

#: How ``fake`` is served, for the modules that run each test both ways (``fake_mode`` params).
MODES = ["in-process", "loopback"]
ISSUED = datetime(2026, 11, 2)


@contextlib.contextmanager
def soap_probe(fake: FakeKashFlow) -> Iterator[SoapProbe]:
    """A SoapProbe with *fake*'s credentials: in-process, or over loopback while it serves."""
    transport = None if fake.serving else fake.transport()
    with httpx.Client(transport=transport, trust_env=False, timeout=5) as http:
        yield SoapProbe(fake.url, http, username=fake.username, password=fake.password)


def nominal_id(fake: FakeKashFlow, code: int) -> int:
    """KashFlow's id of nominal code *code* (the id differs from the code)."""
    return next(n.kashflow_id for n in fake.nominal_codes if n.code == code)


def invoice(contact_id: int, lines: list[Any], **header: Any) -> dict[str, Any]:
    """An Invoice value for InsertReceipt/InsertInvoice, zeros where KashFlow wants them."""
    return {
        "InvoiceDBID": 0,
        "InvoiceNumber": 0,
        "InvoiceDate": ISSUED,
        "DueDate": ISSUED,
        "CustomerID": contact_id,
        "Paid": 0,
        "SuppressTotal": 0,
        "ProjectID": 0,
        "ExchangeRate": Decimal(1),
        "Lines": {"anyType": lines},
        "NetAmount": 0,
        "VATAmount": 0,
        "AmountPaid": 0,
        "UseCustomDeliveryAddress": False,
        "CISRCNetAmount": None,
        "CISRCVatAmount": None,
        "IsCISReverseCharge": None,
        **header,
    }


def supplier(probe: SoapProbe, name: str) -> dict[str, Any]:
    """InsertSupplier's arguments for a new supplier called *name*."""
    stamp = datetime(2026, 1, 1)
    return {
        "supl": probe.client.get_type("ns0:Supplier")(
            SupplierID=0,
            Name=name,
            Created=stamp,
            Updated=stamp,
            EC=0,
            CurrencyID=0,
            PaymentTerms=0,
            TradeBorderType=0,
        )
    }


def stored(fake: FakeKashFlow, name: str) -> bool:
    """Whether *fake* holds a supplier called *name*."""
    return fake.find_supplier(name) is not None
