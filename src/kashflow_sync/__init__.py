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
    from ._account.facts import AccountFacts
    from ._account.items import (
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
    from ._account.lists import Lists, ListsSnapshot
    from ._clients.async_client import AsyncKashFlowClient
    from ._clients.batch import BatchProgress
    from ._clients.journal_view import JournalSummary
    from ._clients.sync_client import KashFlowClient
    from ._config import KASHFLOW_SOAP_URL, Credentials
    from ._documents.jsonformat import document_from_json, document_to_json
    from ._documents.model import (
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
    from ._documents.problems import ProblemCode
    from ._documents.rules import RuleBook, StoredRuleResolver
    from ._engine.listsync import SyncProgress
    from ._error_codes import ErrorCode
    from ._journal.entry import ClaimResult, JournalEntry
    from ._retry import RetryPolicy
    from .storage import MemoryStorage, SQLStorage
    from .typing import RuleResolver, Storage

# Names load on first use (PEP 562): `import kashflow_sync` stays cheap, so the pytest plugin
# and the CLI's --help do not pay for zeep, lxml and SQLAlchemy until they need them.
_LAZY: dict[str, str] = {
    "AccountFacts": "._account.facts",
    "AsyncKashFlowClient": "._clients.async_client",
    "Attachment": "._documents.model",
    "BankAccount": "._account.items",
    "BatchItem": "._documents.model",
    "BatchProgress": "._clients.batch",
    "BatchResult": "._documents.model",
    "ClaimResult": "._journal.entry",
    "ConnectionStatus": "._account.items",
    "Credentials": "._config",
    "Currency": "._account.items",
    "Customer": "._account.items",
    "Document": "._documents.model",
    "ErrorCode": "._error_codes",
    "ItemList": "._account.items",
    "JournalEntry": "._journal.entry",
    "JournalSummary": "._clients.journal_view",
    "KASHFLOW_SOAP_URL": "._config",
    "KashFlowClient": "._clients.sync_client",
    "Line": "._documents.model",
    "ListChanges": "._account.items",
    "Lists": "._account.lists",
    "ListsSnapshot": "._account.lists",
    "MemoryStorage": ".storage",
    "NominalCode": "._account.items",
    "Payment": "._documents.model",
    "PaymentMethod": "._account.items",
    "Problem": "._documents.model",
    "ProblemCode": "._documents.problems",
    "Project": "._account.items",
    "PublishAttempt": "._documents.model",
    "PublishResult": "._documents.model",
    "PurchaseCreditNote": "._documents.model",
    "PurchaseInvoice": "._documents.model",
    "ResolvedDocument": "._documents.model",
    "RetryPolicy": "._retry",
    "Rule": "._documents.model",
    "RuleBook": "._documents.rules",
    "RuleResolver": ".typing",
    "SQLStorage": ".storage",
    "SalesCreditNote": "._documents.model",
    "SalesInvoice": "._documents.model",
    "Storage": ".typing",
    "StoredRuleResolver": "._documents.rules",
    "Supplier": "._account.items",
    "SyncProgress": "._engine.listsync",
    "SyncReport": "._account.items",
    "VatRate": "._account.items",
    "document_from_json": "._documents.jsonformat",
    "document_to_json": "._documents.jsonformat",
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
    "ErrorCode",
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
