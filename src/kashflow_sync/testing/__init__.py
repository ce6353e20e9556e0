"""Test helpers shipped with kashflow_sync: a fake KashFlow that speaks the real SOAP API.

:class:`FakeKashFlow` is an in-memory KashFlow account. It validates every request against the
package WSDL's schema, checks credentials and the IP access list like KashFlow, keeps a small
ledger (lists, contacts, receipts, invoices, payments, attachments) and answers with envelopes
shaped exactly like ASP.NET's. Run it in-process through an httpx transport, or on a loopback
port with ``FakeKashFlow.serve()``; inject timeouts, resets, lost responses and HTTP errors
through ``fake.faults``; choose which reading of KashFlow's unconfirmed behaviour it plays with
:class:`Readings`. ``kashflow-sync fake serve`` runs it as a server with a JSON control API, for
projects in any language.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._fake.faults import (
        FAULT_KINDS,
        WRITE_OPERATIONS,
        FaultKind,
        FaultRule,
        Faults,
        FiredFault,
    )
    from ._fake.hostile import HOSTILE_SHAPES
    from ._fake.kashflow import IN_PROCESS_URL, FakeKashFlow
    from ._fake.late import LateWrite
    from ._fake.messages import STATUS_DETAILS
    from ._fake.readings import DEFAULT_SUCCESS_NOTE, Readings
    from ._fake.records import (
        AttachmentRecord,
        BankAccountRecord,
        CallRecord,
        CurrencyRecord,
        CustomerRecord,
        DocumentKind,
        DocumentRecord,
        LineRecord,
        NominalCodeRecord,
        PaymentMethodRecord,
        PaymentRecord,
        ProjectRecord,
        SupplierRecord,
        VatRateRecord,
    )
    from ._fake.soapapp import ENDPOINT_PATH

__all__ = [
    "DEFAULT_SUCCESS_NOTE",
    "ENDPOINT_PATH",
    "FAULT_KINDS",
    "HOSTILE_SHAPES",
    "IN_PROCESS_URL",
    "STATUS_DETAILS",
    "WRITE_OPERATIONS",
    "AttachmentRecord",
    "BankAccountRecord",
    "CallRecord",
    "CurrencyRecord",
    "CustomerRecord",
    "DocumentKind",
    "DocumentRecord",
    "FakeKashFlow",
    "FaultKind",
    "FaultRule",
    "Faults",
    "FiredFault",
    "LateWrite",
    "LineRecord",
    "NominalCodeRecord",
    "PaymentMethodRecord",
    "PaymentRecord",
    "ProjectRecord",
    "Readings",
    "SupplierRecord",
    "VatRateRecord",
]

# Exports load on first use (PEP 562): the pytest plugin lives in this package, and merely
# having kashflow-sync installed must not make other projects' test runs import httpx or lxml.
_HOMES = {
    "ENDPOINT_PATH": "._fake.soapapp",
    "IN_PROCESS_URL": "._fake.kashflow",
    "STATUS_DETAILS": "._fake.messages",
    "FakeKashFlow": "._fake.kashflow",
    "FaultKind": "._fake.faults",
    "FaultRule": "._fake.faults",
    "Faults": "._fake.faults",
    "FiredFault": "._fake.faults",
    "FAULT_KINDS": "._fake.faults",
    "HOSTILE_SHAPES": "._fake.hostile",
    "WRITE_OPERATIONS": "._fake.faults",
    "LateWrite": "._fake.late",
    "Readings": "._fake.readings",
    "DEFAULT_SUCCESS_NOTE": "._fake.readings",
}


def __getattr__(name: str) -> Any:
    """Import an exported name from its private module the first time it is asked for."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES.get(name, "._fake.records"), __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """Module attributes, lazy exports included."""
    return sorted({*globals(), *__all__})
