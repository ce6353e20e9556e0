"""List items synced from KashFlow, and the reports a sync returns.

Every item keeps KashFlow's internal id (``kashflow_id``) apart from its human key (the visible
nominal ``code``, the project ``number``...), because KashFlow's write calls want the id.
Values KashFlow may extend (project status, trade border type...) are kept raw, so a value this
SDK has never seen does not break a sync.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Generic, TypeVar, overload

import attrs

from .._documents.names import name_key, skeleton
from .._documents.similar import NameIndex

__all__ = [
    "LIST_NAMES",
    "LIST_TYPES",
    "BankAccount",
    "ConnectionStatus",
    "Currency",
    "Customer",
    "ItemList",
    "ListChanges",
    "ListItem",
    "NominalCode",
    "PaymentMethod",
    "Project",
    "Supplier",
    "SyncReport",
    "VatRate",
]


class ConnectionStatus(str, enum.Enum):
    """Where a connection stands."""

    NOT_CONNECTED = "not_connected"
    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"


#: KashFlow nominal classifications (``ClassificationID``), as InsertNominalCode documents them.
NOMINAL_CLASSIFICATIONS: Mapping[int, str] = {
    1: "Turnover",
    2: "Cost of Sale",
    3: "Expense",
    4: "Fixed Asset",
    5: "Current Asset/Liability",
    6: "Capital and Reserves",
}


@attrs.frozen
class NominalCode:
    """A nominal code (Dext: category) from the chart of accounts.

    ``kashflow_id`` is the internal id that invoice lines need (``ChargeType``); ``code`` is the
    visible code such as 7500.
    """

    kashflow_id: int
    code: int
    name: str
    archived: bool = False
    classification_id: int = 0
    classification_name: str = ""
    type_id: int = 0
    type_name: str = ""
    vat_rate: Decimal | None = None
    removed: bool = False

    @property
    def key(self) -> str:
        """The human key: the visible code as text."""
        return str(self.code)

    @property
    def is_sales(self) -> bool:
        """True for turnover codes, which belong on sales documents only."""
        return self.classification_id == 1

    @property
    def is_purchase(self) -> bool:
        """True for cost-of-sale and expense codes, which belong on purchases only."""
        return self.classification_id in (2, 3)


@attrs.frozen
class Supplier:
    """A KashFlow supplier; ``code`` is its visible supplier code."""

    kashflow_id: int
    code: str
    name: str
    archived: bool = False
    email: str = ""
    vat_number: str = ""
    currency_id: int = 0
    payment_terms: int = 0
    updated: datetime | None = None
    removed: bool = False

    @property
    def key(self) -> str:
        """The human key: the supplier code."""
        return self.code


@attrs.frozen
class Customer:
    """A KashFlow customer; ``code`` is its visible customer code."""

    kashflow_id: int
    code: str
    name: str
    archived: bool = False
    email: str = ""
    vat_number: str = ""
    currency_id: int = 0
    payment_terms: int = 0
    updated: datetime | None = None
    removed: bool = False

    @property
    def key(self) -> str:
        """The human key: the customer code."""
        return self.code


#: KashFlow project statuses. Other values are kept raw in ``Project.status``.
PROJECT_STATUSES: Mapping[int, str] = {0: "completed", 1: "active", 2: "archived"}


@attrs.frozen
class Project:
    """A KashFlow project (Dext: class); ``number`` is the visible project number."""

    kashflow_id: int
    number: int
    name: str
    archived: bool = False
    reference: str = ""
    status: int = 1
    customer_id: int = 0
    removed: bool = False

    @property
    def key(self) -> str:
        """The human key: the project number as text."""
        return str(self.number)

    @property
    def status_name(self) -> str:
        """``completed``, ``active``, ``archived``, or ``unknown(N)`` for a new value."""
        return PROJECT_STATUSES.get(self.status, f"unknown({self.status})")


@attrs.frozen
class PaymentMethod:
    """A purchase or sales payment method (``GetRecPayMethods`` / ``GetInvPayMethods``)."""

    kashflow_id: int
    name: str
    archived: bool = False
    removed: bool = False

    @property
    def key(self) -> str:
        """The human key: the method's name."""
        return self.name


@attrs.frozen
class BankAccount:
    """A bank account; ``code`` is its nominal code (e.g. 1200)."""

    kashflow_id: int
    name: str
    code: int
    archived: bool = False
    removed: bool = False

    @property
    def key(self) -> str:
        """The human key: the bank's nominal code as text."""
        return str(self.code)


@attrs.frozen
class VatRate:
    """A VAT rate KashFlow offers; ``rate`` is a percentage (20 means 20%, -1 exempt/n-a)."""

    kashflow_id: int
    name: str
    rate: Decimal
    archived: bool = False
    removed: bool = False

    @property
    def key(self) -> str:
        """The human key: the rate as text, normalised (``"20"``, ``"17.5"``)."""
        return _decimal_key(self.rate)


@attrs.frozen
class Currency:
    """A currency enabled on the account; ``code`` is its ISO 4217 code."""

    kashflow_id: int
    code: str
    name: str = ""
    exchange_rate: Decimal = Decimal(1)
    is_default: bool = False
    archived: bool = False
    removed: bool = False

    @property
    def key(self) -> str:
        """The human key: the currency code."""
        return self.code


ListItem = (
    NominalCode | Supplier | Customer | Project | PaymentMethod | BankAccount | VatRate | Currency
)

#: The class of each list's items, by list name.
LIST_TYPES: Mapping[str, type] = {
    "nominal_codes": NominalCode,
    "suppliers": Supplier,
    "customers": Customer,
    "projects": Project,
    "purchase_payment_methods": PaymentMethod,
    "sales_payment_methods": PaymentMethod,
    "bank_accounts": BankAccount,
    "vat_rates": VatRate,
    "currencies": Currency,
}

#: The names of the lists the SDK keeps, in sync order.
LIST_NAMES: tuple[str, ...] = tuple(LIST_TYPES)


def _decimal_key(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


T = TypeVar("T", bound=ListItem)


def _skeletons(table: dict[str, T], items: Iterable[T]) -> dict[str, T]:
    """*table* with each item under the skeletons of its name and key (first one wins)."""
    for item in items:
        table.setdefault(skeleton(item.name), item)
        table.setdefault(skeleton(item.key), item)
    return table


class ItemList(Sequence[T], Generic[T]):
    """A synced list: a read-only sequence with lookups by id and by human key or name."""

    __slots__ = ("_by_id", "_by_key", "_by_name", "_by_skeleton", "_items", "_similar")

    def __init__(self, items: Sequence[T]) -> None:
        """Wrap *items* (kept in KashFlow's order)."""
        self._items = tuple(items)
        self._by_id = {i.kashflow_id: i for i in self._items}
        self._by_key: dict[str, T] = {}
        self._by_name: dict[str, T] = {}
        self._by_skeleton: dict[str, T] | None = None  # built on first use: only for new names
        self._similar: NameIndex[T] | None = None  # likewise
        self._index(self._items)

    def _index(self, items: Iterable[T]) -> None:
        for item in items:
            self._by_key.setdefault(name_key(item.key), item)
            self._by_name.setdefault(name_key(item.name), item)

    def extended(self, items: Sequence[T]) -> ItemList[T] | None:
        """*items* as a list, reusing this one's indexes if *items* only adds to it; else None.

        A contact the SDK creates is appended to the stored list: reloading it then costs the
        new items, not a new name index over every item.
        """
        known = len(self._items)
        if len(items) < known or tuple(items[:known]) != self._items:
            return None
        added = tuple(items[known:])
        grown: ItemList[T] = ItemList(())
        grown._items = self._items + added
        grown._by_id = {**self._by_id, **{i.kashflow_id: i for i in added}}
        grown._by_key = dict(self._by_key)
        grown._by_name = dict(self._by_name)
        grown._index(added)
        if self._by_skeleton is not None:
            grown._by_skeleton = _skeletons(dict(self._by_skeleton), added)
        if self._similar is not None:
            grown._similar = self._similar.extended((i.name, i) for i in added if not i.archived)
        return grown

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...
    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        """Item by position, like a tuple."""
        return self._items[index]

    def __len__(self) -> int:
        """Number of items, archived ones included."""
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        """Iterate in KashFlow's order."""
        return iter(self._items)

    def __repr__(self) -> str:
        return f"ItemList({len(self._items)} items)"

    @property
    def active(self) -> tuple[T, ...]:
        """Items that are not archived (and not removed from KashFlow)."""
        return tuple(i for i in self._items if not i.archived)

    def by_id(self, kashflow_id: int) -> T | None:
        """The item with this KashFlow internal id, or None."""
        return self._by_id.get(kashflow_id)

    def find(self, key: str | int) -> T | None:
        """The item whose human key (code, number, rate) or name matches.

        Names are compared as a person reads them: case, runs of spaces, non-breaking spaces,
        zero-width characters and Unicode compatibility forms are ignored (OCR'd and pasted
        names carry all of them). Letters of other scripts are not: see :meth:`lookalike`.
        """
        text = _decimal_key(key) if isinstance(key, Decimal) else str(key)
        folded = name_key(text)
        return self._by_key.get(folded) or self._by_name.get(folded)

    def lookalike(self, key: str) -> T | None:
        """The item *key* imitates with look-alike letters (a Cyrillic A in "Acme"), or None.

        Only for a *key* that :meth:`find` does not match: it answers which item the text
        would be mistaken for.
        """
        if self._by_skeleton is None:
            self._by_skeleton = _skeletons({}, self._items)
        return self._by_skeleton.get(skeleton(key))

    def similar(self, key: str, *, limit: int = 3) -> list[T]:
        """Active items whose names are near-misses of *key*, closest first.

        Only for a *key* that :meth:`find` and :meth:`lookalike` do not match: a typo, a
        dropped word, "Ltd" for "Limited"; never a name differing in a number.
        """
        return self._name_index().similar(key, limit=limit)

    def _name_index(self) -> NameIndex[T]:
        if self._similar is None:
            self._similar = NameIndex((i.name, i) for i in self.active)
        return self._similar

    def closest_names(self, key: str, *, limit: int = 3) -> list[str]:
        """Names of active items that read most like *key*, best first (for "did you mean")."""
        return self._name_index().closest(key, limit=limit)


@attrs.frozen
class ListChanges:
    """What one list's sync changed compared with what storage held."""

    added: int = 0
    changed: int = 0
    archived: int = 0
    unchanged: int = 0
    total: int = 0


@attrs.frozen
class SyncReport:
    """What a connect, reconnect or refresh did, per list; ``report["suppliers"]`` works too."""

    lists: Mapping[str, ListChanges]
    duration: float = 0.0

    def __getitem__(self, name: str) -> ListChanges:
        """The changes of the named list."""
        return self.lists[name]

    def summary(self) -> str:
        """One line per list: ``suppliers: +2 ~1 -0 =120``."""
        return "\n".join(
            f"{name}: +{c.added} ~{c.changed} archived {c.archived} ={c.unchanged}"
            for name, c in self.lists.items()
        )
