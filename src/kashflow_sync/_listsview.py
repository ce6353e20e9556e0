"""``client.lists``: the synced lists, read from storage without any network call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from ._models import (
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
    from .typing import Storage

__all__ = ["Lists"]


class Lists:
    """The account's synced lists; each attribute is an :class:`ItemList`.

    Lists are loaded from storage on first use and cached until the next sync or refresh.
    """

    def __init__(self, storage: Storage, connection_id: str) -> None:
        """Read the lists of *connection_id* from *storage*."""
        self._storage = storage
        self._connection_id = connection_id
        self._cache: dict[str, ItemList[Any]] = {}

    def get(self, name: str) -> ItemList[Any]:
        """The list called *name* (one of ``LIST_NAMES``)."""
        if name not in LIST_NAMES:
            raise KeyError(f"unknown list {name!r}; known: {', '.join(LIST_NAMES)}")
        cached = self._cache.get(name)
        if cached is None:
            cached = ItemList(self._storage.load_list(self._connection_id, name))
            self._cache[name] = cached
        return cached

    def invalidate(self, name: str | None = None) -> None:
        """Forget cached lists (all, or one) so the next read comes from storage."""
        if name is None:
            self._cache.clear()
        else:
            self._cache.pop(name, None)

    def payment_method(self, kind: str, key: str | int) -> PaymentMethod | None:
        """A purchase (``kind="purchase"``) or sales payment method, by name or KashFlow id.

        The one lookup validation and publishing share, so what validates is what is sent.
        """
        methods = (
            self.purchase_payment_methods if kind == "purchase" else self.sales_payment_methods
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
