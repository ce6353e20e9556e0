"""kashflow_sync: connect a KashFlow account, keep its lists in sync, publish exactly once.

Everything a user needs is importable from here (``import kashflow_sync as kfs``); errors live
in :mod:`kashflow_sync.errors`, the fake KashFlow in :mod:`kashflow_sync.testing` and the
extension Protocols in :mod:`kashflow_sync.typing`.
"""

from __future__ import annotations

from . import errors
from ._client import KashFlowClient
from ._config import KASHFLOW_SOAP_URL, Credentials
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
    PurchaseInvoice,
    ResolvedDocument,
    Rule,
    SalesInvoice,
)
from ._journal import JournalEntry
from ._lists import SyncProgress
from ._listsview import Lists
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
from ._publish import BatchProgress
from ._retry import RetryPolicy
from ._rules import RuleBook, StoredRuleResolver
from .storage import MemoryStorage, SQLStorage
from .typing import RuleResolver, Storage

__version__ = "0.1.0"

__all__ = [
    "KASHFLOW_SOAP_URL",
    "Attachment",
    "BankAccount",
    "BatchItem",
    "BatchProgress",
    "BatchResult",
    "ConnectionStatus",
    "Credentials",
    "Currency",
    "Customer",
    "Document",
    "ItemList",
    "JournalEntry",
    "KashFlowClient",
    "Line",
    "ListChanges",
    "Lists",
    "MemoryStorage",
    "NominalCode",
    "Payment",
    "PaymentMethod",
    "Problem",
    "Project",
    "PublishAttempt",
    "PublishResult",
    "PurchaseInvoice",
    "ResolvedDocument",
    "RetryPolicy",
    "Rule",
    "RuleBook",
    "RuleResolver",
    "SQLStorage",
    "SalesInvoice",
    "Storage",
    "StoredRuleResolver",
    "Supplier",
    "SyncProgress",
    "SyncReport",
    "VatRate",
    "__version__",
    "errors",
]
