"""The public surface of ``kashflow_sync``: pinned names, sorted ``__all__``, docstrings."""

from __future__ import annotations
import __future__

import inspect
import types

import pytest

import kashflow_sync
from kashflow_sync import errors, testing
from kashflow_sync import typing as kf_typing

EXPECTED = [
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


def _isort_key(name: str) -> tuple[int, str]:
    """The order ruff's RUF022 keeps ``__all__`` in: CONSTANTS, then Classes, then the rest."""
    if name.isupper():
        return (0, name)
    if name[0].isupper():
        return (1, name)
    return (2, name)


def test_all_is_pinned() -> None:
    """``kashflow_sync.__all__`` is exactly the documented public surface."""
    assert kashflow_sync.__all__ == EXPECTED


def test_all_is_sorted() -> None:
    """``__all__`` is sorted (constants, classes, then the rest), as ruff keeps it."""
    assert kashflow_sync.__all__ == sorted(kashflow_sync.__all__, key=_isort_key)


def test_every_exported_name_exists() -> None:
    """Every name in ``__all__`` can be imported from the package."""
    for name in kashflow_sync.__all__:
        assert hasattr(kashflow_sync, name), name


def test_nothing_public_is_left_out() -> None:
    """Every public, non-module attribute of the package is listed in ``__all__``."""
    public = {
        name
        for name, value in vars(kashflow_sync).items()
        if not name.startswith("_")
        and not isinstance(value, (types.ModuleType, __future__._Feature))
    }
    assert public <= set(kashflow_sync.__all__)


MODULES = [kashflow_sync, errors, kf_typing, testing]


def _public_objects() -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for module in MODULES:
        for name in getattr(module, "__all__", []):
            value = getattr(module, name)
            if inspect.isclass(value) or inspect.isfunction(value) or inspect.ismodule(value):
                found.append((f"{module.__name__}.{name}", value))
    return found


@pytest.mark.parametrize(
    ("name", "value"), [pytest.param(n, v, id=n) for n, v in _public_objects()]
)
def test_public_name_has_a_docstring(name: str, value: object) -> None:
    """Every exported class, function and module has its own docstring."""
    own = vars(value).get("__doc__") if inspect.isclass(value) else value.__doc__
    assert own and own.strip(), f"{name} has no docstring"


def _public_members() -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for qualified, cls in _public_objects():
        if not inspect.isclass(cls) or not cls.__module__.startswith("kashflow_sync"):
            continue
        for attr, member in vars(cls).items():
            if attr.startswith("_"):
                continue
            if isinstance(member, (property, staticmethod, classmethod)) or inspect.isfunction(
                member
            ):
                found.append((f"{qualified}.{attr}", member))
    return found


@pytest.mark.parametrize(
    ("name", "member"), [pytest.param(n, m, id=n) for n, m in _public_members()]
)
def test_public_method_has_a_docstring(name: str, member: object) -> None:
    """Every public method and property of an exported class has a docstring."""
    target = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
    doc = target.fget.__doc__ if isinstance(target, property) else target.__doc__  # type: ignore[union-attr, attr-defined]
    assert doc and doc.strip(), f"{name} has no docstring"
