"""The synced lists: a frozen :class:`ListsSnapshot` for the pure layers, and ``client.lists``.

Rules, validation, the wire mapping and the engine read a :class:`ListsSnapshot`: a value that
cannot change under them and cannot reach storage. ``client.lists`` is a :class:`Lists` view that
loads lists from storage on first use, keeps them while the storage's lists version stays the
same, and takes snapshots.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

from .._documents.model import side
from .._storage_keys import LISTS_VERSION
from .items import (
    LIST_NAMES,
    BankAccount,
    Currency,
    Customer,
    ItemList,
    NominalCode,
    PaymentMethod,
    Project,
    Supplier,
    VatRate,
)

if TYPE_CHECKING:
    from ..typing import Storage

__all__ = ["LISTS_FOR_KIND", "Lists", "ListsSnapshot"]

_PURCHASE_ONLY = ("suppliers", "purchase_payment_methods")
_SALES_ONLY = ("customers", "sales_payment_methods")

#: The lists a purchase or sales document is resolved, validated and published against.
LISTS_FOR_KIND: Mapping[str, tuple[str, ...]] = {
    "purchase": tuple(n for n in LIST_NAMES if n not in _SALES_ONLY),
    "sales": tuple(n for n in LIST_NAMES if n not in _PURCHASE_ONLY),
}


def _check_name(name: str) -> None:
    if name not in LIST_NAMES:
        raise KeyError(f"unknown list {name!r}; known: {', '.join(LIST_NAMES)}")


class _ListReader:
    """The list accessors both the snapshot and the view offer, over :meth:`get`."""

    def get(self, name: str) -> ItemList[Any]:
        """The list called *name* (one of ``LIST_NAMES``)."""
        raise NotImplementedError

    def payment_method(self, kind: str, key: str | int) -> PaymentMethod | None:
        """A purchase (``kind="purchase"``) or sales payment method, by name or KashFlow id.

        The one lookup validation and publishing share, so what validates is what is sent.
        """
        methods = (
            self.purchase_payment_methods
            if side(kind) == "purchase"
            else self.sales_payment_methods
        )
        if isinstance(key, int):
            return methods.by_id(key) or methods.find(key)
        found = methods.find(key)
        if found is None and key.strip().isdigit():
            found = methods.by_id(int(key.strip()))
        return found

    def bank_account(self, key: str | int) -> BankAccount | None:
        """A bank account by its nominal code (e.g. 1200) or name."""
        return self.bank_accounts.find(key)

    def contacts(self, kind: str) -> ItemList[Supplier] | ItemList[Customer]:
        """The suppliers (a purchase invoice's or credit note's kind) or the customers."""
        return self.suppliers if side(kind) == "purchase" else self.customers

    @property
    def nominal_codes(self) -> ItemList[NominalCode]:
        """The chart of accounts (Dext: categories)."""
        return cast("ItemList[NominalCode]", self.get("nominal_codes"))

    @property
    def suppliers(self) -> ItemList[Supplier]:
        """Suppliers."""
        return cast("ItemList[Supplier]", self.get("suppliers"))

    @property
    def customers(self) -> ItemList[Customer]:
        """Customers."""
        return cast("ItemList[Customer]", self.get("customers"))

    @property
    def projects(self) -> ItemList[Project]:
        """Projects (Dext: classes)."""
        return cast("ItemList[Project]", self.get("projects"))

    @property
    def purchase_payment_methods(self) -> ItemList[PaymentMethod]:
        """Payment methods for purchases (receipts)."""
        return cast("ItemList[PaymentMethod]", self.get("purchase_payment_methods"))

    @property
    def sales_payment_methods(self) -> ItemList[PaymentMethod]:
        """Payment methods for sales invoices."""
        return cast("ItemList[PaymentMethod]", self.get("sales_payment_methods"))

    @property
    def bank_accounts(self) -> ItemList[BankAccount]:
        """Bank accounts, each with its nominal code."""
        return cast("ItemList[BankAccount]", self.get("bank_accounts"))

    @property
    def vat_rates(self) -> ItemList[VatRate]:
        """VAT rates the account offers."""
        return cast("ItemList[VatRate]", self.get("vat_rates"))

    @property
    def currencies(self) -> ItemList[Currency]:
        """Currencies enabled on the account."""
        return cast("ItemList[Currency]", self.get("currencies"))


class ListsSnapshot(_ListReader):
    """Some or all of the synced lists, frozen: what the pure layers read.

    A snapshot holds only the lists it was taken with (see :data:`LISTS_FOR_KIND`); reading
    another raises ``KeyError`` rather than answering from an empty list, which would make a
    known supplier look new.
    """

    __slots__ = ("_lists",)

    def __init__(self, lists: Mapping[str, ItemList[Any]]) -> None:
        """Freeze *lists* (name -> items)."""
        for name in lists:
            _check_name(name)
        self._lists: Mapping[str, ItemList[Any]] = MappingProxyType(dict(lists))

    @classmethod
    def of(cls, **lists: Iterable[Any]) -> ListsSnapshot:
        """A snapshot from plain iterables, e.g. ``ListsSnapshot.of(suppliers=[...])``."""
        return cls({name: ItemList(tuple(items)) for name, items in lists.items()})

    def get(self, name: str) -> ItemList[Any]:
        """The list called *name*; ``KeyError`` if the snapshot was taken without it."""
        _check_name(name)
        try:
            return self._lists[name]
        except KeyError:
            raise KeyError(f"list {name!r} is not in this snapshot") from None

    def for_kind(self, kind: str) -> ListsSnapshot:
        """Return the snapshot itself: it already is one (the view's method takes one)."""
        return self

    @property
    def names(self) -> tuple[str, ...]:
        """The lists this snapshot holds."""
        return tuple(self._lists)

    def __repr__(self) -> str:
        held = ", ".join(f"{n}={len(items)}" for n, items in self._lists.items())
        return f"ListsSnapshot({held})"


class Lists(_ListReader):
    """``client.lists``: the account's synced lists, read from storage without any network call.

    Each list is loaded on first use and kept until the lists change in storage: every read
    first checks the storage's lists version (one small read), so a client that lives long (a
    worker's) sees a sync or refresh that another client or process made, instead of judging
    documents against lists that are out of date.
    """

    def __init__(self, storage: Storage, connection_id: str) -> None:
        """Read the lists of *connection_id* from *storage*."""
        self._storage = storage
        self._connection_id = connection_id
        # dict.setdefault, clear and pop are atomic: threads sharing the view need no lock.
        self._cache: dict[str, ItemList[Any]] = {}
        # The lists held before the version changed: a list that only grew since (a contact
        # the SDK created) is rebuilt from its predecessor, keeping its indexes.
        self._previous: dict[str, ItemList[Any]] = {}
        self._version: str | None = None

    def __repr__(self) -> str:
        return f"Lists(connection_id={self._connection_id!r})"

    def _check_version(self) -> None:
        """Forget the cached lists if a sync stored lists since they were loaded."""
        version = self._storage.get_state(self._connection_id, LISTS_VERSION)
        if version != self._version:
            # Cleared before the version is noted: a list loaded from here on is at least as
            # new as this version (a sync stores a list, then bumps the version).
            self._previous = {**self._previous, **self._cache}
            self._cache.clear()
            self._version = version

    def _load(self, name: str) -> ItemList[Any]:
        cached = self._cache.get(name)
        if cached is None:
            items = self._storage.load_list(self._connection_id, name)
            before = self._previous.pop(name, None)
            loaded = before.extended(items) if before is not None else None
            if loaded is None:
                loaded = ItemList(items)
            cached = self._cache.setdefault(name, loaded)
        return cached

    def get(self, name: str) -> ItemList[Any]:
        """The list called *name* (one of ``LIST_NAMES``)."""
        _check_name(name)
        self._check_version()
        return self._load(name)

    def snapshot(self, names: Iterable[str] = LIST_NAMES) -> ListsSnapshot:
        """A frozen snapshot of the named lists (all by default)."""
        wanted = list(names)
        for name in wanted:
            _check_name(name)
        self._check_version()
        return ListsSnapshot({name: self._load(name) for name in wanted})

    def for_kind(self, kind: str) -> ListsSnapshot:
        """The snapshot a document of *kind* is checked and published against."""
        return self.snapshot(LISTS_FOR_KIND[side(kind)])

    def invalidate(self, name: str | None = None) -> None:
        """Forget cached lists (all, or one) so the next read comes from storage."""
        if name is None:
            self._cache.clear()
            self._previous.clear()
            self._version = None
        else:
            self._cache.pop(name, None)
            self._previous.pop(name, None)
