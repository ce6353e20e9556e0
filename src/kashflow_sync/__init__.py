"""kashflow_sync: connect a KashFlow account, keep its lists in sync, publish exactly once.

Everything a user needs is importable from here (``import kashflow_sync as kfs``); errors live
in :mod:`kashflow_sync.errors`, the fake KashFlow in :mod:`kashflow_sync.testing` and the
extension Protocols in :mod:`kashflow_sync.typing`.
"""

from __future__ import annotations

import importlib as _importlib
import logging as _logging
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from ._logcontext import ContextFilter as _ContextFilter

if _TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from . import errors
    from ._async_client import AsyncKashFlowClient
    from ._batch import BatchProgress
    from ._client import KashFlowClient
    from ._config import KASHFLOW_SOAP_URL, Credentials
    from ._docjson import document_from_json, document_to_json
    from ._documents import (
        Attachment,
        BatchItem,
        BatchResult,
        Document,
        Line,
        Payment,
        Problem,
        PublishAttempt,
        PublishResult,
        PurchaseCreditNote,
        PurchaseInvoice,
        ResolvedDocument,
        Rule,
        SalesCreditNote,
        SalesInvoice,
    )
    from ._engine.listsync import SyncProgress
    from ._facts import AccountFacts
    from ._journal import ClaimResult, JournalEntry
    from ._journal_view import JournalSummary
    from ._lists import Lists, ListsSnapshot
    from ._models import (
        BankAccount,
        ConnectionStatus,
        Currency,
        Customer,
        ItemList,
        ListChanges,
        NominalCode,
        PaymentMethod,
        Project,
        Supplier,
        SyncReport,
        VatRate,
    )
    from ._problem_codes import ProblemCode
    from ._retry import RetryPolicy
    from ._rules import RuleBook, StoredRuleResolver
    from .storage import MemoryStorage, SQLStorage
    from .typing import RuleResolver, Storage

# Names load on first use (PEP 562): `import kashflow_sync` stays cheap, so the pytest plugin
# and the CLI's --help do not pay for zeep, lxml and SQLAlchemy until they need them.
_LAZY: dict[str, str] = {
    "AccountFacts": "._facts",
    "AsyncKashFlowClient": "._async_client",
    "Attachment": "._documents",
    "BankAccount": "._models",
    "BatchItem": "._documents",
    "BatchProgress": "._batch",
    "BatchResult": "._documents",
    "ClaimResult": "._journal",
    "ConnectionStatus": "._models",
    "Credentials": "._config",
    "Currency": "._models",
    "Customer": "._models",
    "Document": "._documents",
    "ItemList": "._models",
    "JournalEntry": "._journal",
    "JournalSummary": "._journal_view",
    "KASHFLOW_SOAP_URL": "._config",
    "KashFlowClient": "._client",
    "Line": "._documents",
    "ListChanges": "._models",
    "Lists": "._lists",
    "ListsSnapshot": "._lists",
    "MemoryStorage": ".storage",
    "NominalCode": "._models",
    "Payment": "._documents",
    "PaymentMethod": "._models",
    "Problem": "._documents",
    "ProblemCode": "._problem_codes",
    "Project": "._models",
    "PublishAttempt": "._documents",
    "PublishResult": "._documents",
    "PurchaseCreditNote": "._documents",
    "PurchaseInvoice": "._documents",
    "ResolvedDocument": "._documents",
    "RetryPolicy": "._retry",
    "Rule": "._documents",
    "RuleBook": "._rules",
    "RuleResolver": ".typing",
    "SQLStorage": ".storage",
    "SalesCreditNote": "._documents",
    "SalesInvoice": "._documents",
    "Storage": ".typing",
    "StoredRuleResolver": "._rules",
    "Supplier": "._models",
    "SyncProgress": "._engine.listsync",
    "SyncReport": "._models",
    "VatRate": "._models",
    "document_from_json": "._docjson",
    "document_to_json": "._docjson",
    "errors": ".",
}


def __getattr__(name: str) -> _Any:
    """Import a public name's module the first time the name is used."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kashflow_sync' has no attribute {name!r}")
    if name == "errors":
        value: _Any = _importlib.import_module(".errors", __name__)
    else:
        value = getattr(_importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """Public names, for completion."""
    return sorted(__all__)


# A library logs, applications decide where to: silence by default (stdlib practice). Every
# record carries connection_id and external_id (see the Logging page of the docs).
_logger = _logging.getLogger("kashflow_sync")
_logger.addHandler(_logging.NullHandler())
if not any(isinstance(f, _ContextFilter) for f in _logger.filters):
    _logger.addFilter(_ContextFilter())

__version__ = "0.1.0"

__all__ = [
    "KASHFLOW_SOAP_URL",
    "AccountFacts",
    "AsyncKashFlowClient",
    "Attachment",
    "BankAccount",
    "BatchItem",
    "BatchProgress",
    "BatchResult",
    "ClaimResult",
    "ConnectionStatus",
    "Credentials",
    "Currency",
    "Customer",
    "Document",
    "ItemList",
    "JournalEntry",
    "JournalSummary",
    "KashFlowClient",
    "Line",
    "ListChanges",
    "Lists",
    "ListsSnapshot",
    "MemoryStorage",
    "NominalCode",
    "Payment",
    "PaymentMethod",
    "Problem",
    "ProblemCode",
    "Project",
    "PublishAttempt",
    "PublishResult",
    "PurchaseCreditNote",
    "PurchaseInvoice",
    "ResolvedDocument",
    "RetryPolicy",
    "Rule",
    "RuleBook",
    "RuleResolver",
    "SQLStorage",
    "SalesCreditNote",
    "SalesInvoice",
    "Storage",
    "StoredRuleResolver",
    "Supplier",
    "SyncProgress",
    "SyncReport",
    "VatRate",
    "__version__",
    "document_from_json",
    "document_to_json",
    "errors",
]
