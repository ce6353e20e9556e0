"""The fake's in-memory ledger: state, lists and account settings, behind one lock.

Suppliers and customers are handled by :mod:`.contacts`, documents, payments and attachments
by :mod:`.postings`; each builds on the class before. Every mutation bumps a per-collection
version so rendered list responses can be cached.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from .readings import Readings
from .records import (
    AttachmentRecord,
    BankAccountRecord,
    CurrencyRecord,
    CustomerRecord,
    DocumentKind,
    DocumentRecord,
    NominalCodeRecord,
    PaymentMethodRecord,
    PaymentRecord,
    ProjectRecord,
    SupplierRecord,
    VatRateRecord,
)

__all__ = ["Ledger"]

_R = TypeVar("_R")
#: Default nominal type per classification: turnover is a sales type, costs are outgoing.
_TYPE_FOR_CLASSIFICATION = {1: 1, 2: 2, 3: 2}
#: First value of each id series. Ranges differ so that an id passed where another kind of id
#: (or a visible code or number) belongs is caught instead of matching by accident.
_FIRST_ID = {
    "nominal": 101,
    "supplier": 2001,
    "customer": 3001,
    "project": 401,
    "vat": 1,
    "currency": 1,
    "bank": 61,
    "purchase_method": 1,
    "sales_method": 11,
    "receipt_number": 1,
    "invoice_number": 1001,
    "dbid": 50001,
    "line": 80001,
    "payment": 70001,
    "attachment": 90001,
}


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


class Ledger:
    """State shared by every request; all access goes through ``self._lock``."""

    def __init__(self, *, clock: Callable[[], datetime] | None = None) -> None:
        """Start an empty ledger (no lists, no contacts, empty IP access list).

        Args:
            clock: returns "now" for Created/Updated stamps and call timestamps; defaults to
                local wall-clock time to the second.

        """
        self._lock = threading.RLock()
        self._clock = clock or _now
        self._readings = Readings()
        self._versions: dict[str, int] = {}
        self._clear_ledger()

    def _clear_ledger(self) -> None:
        """Empty every collection (versions only ever grow, so cached answers go stale)."""
        for name in list(self._versions):
            self._touch(name)
        self._next: dict[str, int] = dict(_FIRST_ID)
        self._nominal: dict[int, NominalCodeRecord] = {}
        self._nominal_by_code: dict[int, int] = {}
        self._suppliers: dict[int, SupplierRecord] = {}
        self._supplier_by_code: dict[str, int] = {}
        self._customers: dict[int, CustomerRecord] = {}
        self._customer_by_code: dict[str, int] = {}
        self._code_counters: dict[str, itertools.count[int]] = {}
        self._projects: dict[int, ProjectRecord] = {}
        self._vat: dict[int, VatRateRecord] = {}
        self._currencies: dict[int, CurrencyRecord] = {}
        self._banks: dict[int, BankAccountRecord] = {}
        self._methods: dict[DocumentKind, dict[int, PaymentMethodRecord]] = {
            "receipt": {},
            "invoice": {},
        }
        self._documents: dict[tuple[DocumentKind, int], DocumentRecord] = {}
        self._document_by_dbid: dict[int, tuple[DocumentKind, int]] = {}
        self._payments: dict[int, PaymentRecord] = {}
        self._attachments: dict[int, AttachmentRecord] = {}
        self._allowed_ips: dict[str, str] = {}

    # -- bookkeeping helpers ----------------------------------------------------------------

    def _take(self, series: str) -> int:
        value = self._next[series]
        self._next[series] = value + 1
        return value

    def _touch(self, *collections: str) -> None:
        for name in collections:
            self._versions[name] = self._versions.get(name, 0) + 1

    def _version(self, collection: str) -> int:
        return self._versions.get(collection, 0)

    def _stamp(self) -> datetime:
        return self._clock().replace(microsecond=0)

    def _locked(self, fn: Callable[[], _R]) -> _R:
        with self._lock:
            return fn()

    # -- read access --------------------------------------------------------------------------

    @property
    def nominal_codes(self) -> list[NominalCodeRecord]:
        """Every nominal code, archived ones included, by visible code."""
        return self._locked(lambda: sorted(self._nominal.values(), key=lambda n: n.code))

    @property
    def suppliers(self) -> list[SupplierRecord]:
        """Every supplier, in creation order."""
        return self._locked(lambda: list(self._suppliers.values()))

    @property
    def customers(self) -> list[CustomerRecord]:
        """Every customer, in creation order."""
        return self._locked(lambda: list(self._customers.values()))

    @property
    def projects(self) -> list[ProjectRecord]:
        """Every project, by number."""
        return self._locked(lambda: sorted(self._projects.values(), key=lambda p: p.number))

    @property
    def vat_rates(self) -> list[VatRateRecord]:
        """The VAT rates the account offers."""
        return self._locked(lambda: list(self._vat.values()))

    @property
    def currencies(self) -> list[CurrencyRecord]:
        """The currencies enabled on the account; one ``is_default``."""
        return self._locked(lambda: list(self._currencies.values()))

    @property
    def bank_accounts(self) -> list[BankAccountRecord]:
        """The bank accounts (``kashflow_id`` is what payments' ``PayAccount`` wants)."""
        return self._locked(lambda: list(self._banks.values()))

    @property
    def purchase_payment_methods(self) -> list[PaymentMethodRecord]:
        """Payment methods for receipts (``GetRecPayMethods``)."""
        return self._locked(lambda: list(self._methods["receipt"].values()))

    @property
    def sales_payment_methods(self) -> list[PaymentMethodRecord]:
        """Payment methods for sales invoices (``GetInvPayMethods``)."""
        return self._locked(lambda: list(self._methods["invoice"].values()))

    @property
    def receipts(self) -> list[DocumentRecord]:
        """Receipts (purchase invoices) posted, by number."""
        return self._documents_of("receipt")

    @property
    def invoices(self) -> list[DocumentRecord]:
        """Sales invoices posted, by number."""
        return self._documents_of("invoice")

    @property
    def payments(self) -> list[PaymentRecord]:
        """Receipt and invoice payments, in the order they were made (see ``kind``)."""
        return self._locked(lambda: list(self._payments.values()))

    @property
    def attachments(self) -> list[AttachmentRecord]:
        """Files attached to receipts and invoices, with their decoded bytes."""
        return self._locked(lambda: list(self._attachments.values()))

    @property
    def allowed_ips(self) -> dict[str, str]:
        """The API access list: IP address -> comment (AutoAuthIP's ``appName``)."""
        return self._locked(lambda: dict(self._allowed_ips))

    def _documents_of(self, kind: DocumentKind) -> list[DocumentRecord]:
        with self._lock:
            docs = [d for (k, _), d in self._documents.items() if k == kind]
        return sorted(docs, key=lambda d: d.number)

    def receipt(self, number: int) -> DocumentRecord | None:
        """The receipt with that visible number, or None."""
        return self._locked(lambda: self._documents.get(("receipt", number)))

    def invoice(self, number: int) -> DocumentRecord | None:
        """The sales invoice with that visible number, or None."""
        return self._locked(lambda: self._documents.get(("invoice", number)))

    # -- account settings ---------------------------------------------------------------------

    @property
    def readings(self) -> Readings:
        """Which reading of KashFlow's unconfirmed behaviour the fake plays (see Readings)."""
        return self._readings

    @readings.setter
    def readings(self, value: Readings) -> None:
        if not isinstance(value, Readings):
            raise TypeError(f"readings must be a Readings, not {type(value).__name__}")
        with self._lock:
            self._readings = value

    def set_readings(self, **changes: Any) -> Readings:
        """Change some readings, keep the others; returns the readings now in force.

        Example: ``fake.set_readings(not_found="empty_object", rate_decimals=2)``.

        Raises:
            TypeError: an unknown reading name.
            ValueError: a value the reading does not take.

        """
        with self._lock:
            self._readings = attrs.evolve(self._readings, **changes)
            return self._readings

    def allow_ip(self, ip: str, comment: str = "") -> None:
        """Add *ip* to the API access list (what AutoAuthIP or the KashFlow UI would do)."""
        with self._lock:
            self._allowed_ips[ip] = comment

    def revoke_ip(self, ip: str) -> None:
        """Remove *ip* from the API access list (no error if it is not there)."""
        with self._lock:
            self._allowed_ips.pop(ip, None)

    # -- list seeding -------------------------------------------------------------------------

    def add_nominal_code(
        self,
        code: int,
        name: str,
        classification: int = 3,
        archived: bool = False,
        *,
        type_id: int | None = None,
        vat_rate: Decimal = Decimal(0),
    ) -> NominalCodeRecord:
        """Add a nominal code with a fresh internal id (which differs from *code*).

        Args:
            code: the visible code, e.g. 7500; must be new.
            name: e.g. ``"Printing postage and stationery"``.
            classification: 1 Turnover, 2 Cost of Sale, 3 Expense, 4 Fixed Asset,
                5 Current Asset/Liability, 6 Capital and Reserves.
            archived: KashFlow's archived flag.
            type_id: nominal type (1 sales, 2 outgoing, 3 bank); derived from the
                classification when omitted.
            vat_rate: the code's default VAT rate.

        Raises:
            ValueError: the code exists already.

        """
        with self._lock:
            if code in self._nominal_by_code:
                raise ValueError(f"nominal code {code} exists already")
            record = NominalCodeRecord(
                kashflow_id=self._take("nominal"),
                code=code,
                name=name,
                classification_id=classification,
                archived=archived,
                type_id=_TYPE_FOR_CLASSIFICATION.get(classification, 0)
                if type_id is None
                else type_id,
                vat_rate=vat_rate,
            )
            self._nominal[record.kashflow_id] = record
            self._nominal_by_code[code] = record.kashflow_id
            self._touch("nominal")
            return record

    def rename_nominal_code(self, code: int, new_name: str) -> NominalCodeRecord:
        """Rename the nominal code with visible code *code* (KeyError if there is none)."""
        return self._evolve_nominal(code, name=new_name)

    def archive_nominal_code(self, code: int) -> NominalCodeRecord:
        """Set KashFlow's archived flag on the nominal code *code*."""
        return self._evolve_nominal(code, archived=True)

    def _evolve_nominal(self, code: int, **changes: Any) -> NominalCodeRecord:
        with self._lock:
            record = attrs.evolve(self._nominal[self._nominal_by_code[code]], **changes)
            self._nominal[record.kashflow_id] = record
            self._touch("nominal")
            return record

    def add_project(self, number: int, name: str, status: int = 1, **fields: Any) -> ProjectRecord:
        """Add a project (status 0 completed, 1 active, 2 archived); extra attrs via *fields*."""
        with self._lock:
            if any(p.number == number for p in self._projects.values()):
                raise ValueError(f"project number {number} exists already")
            record = ProjectRecord(
                kashflow_id=self._take("project"),
                number=number,
                name=name,
                status=status,
                **fields,
            )
            self._projects[record.kashflow_id] = record
            self._touch("projects")
            return record

    def add_vat_rate(self, rate: Decimal | int | str) -> VatRateRecord:
        """Offer another VAT rate (a percentage; -1 is exempt)."""
        with self._lock:
            record = VatRateRecord(kashflow_id=self._take("vat"), rate=Decimal(rate))
            self._vat[record.kashflow_id] = record
            self._touch("vat")
            return record

    def add_currency(
        self, code: str, exchange_rate: Decimal = Decimal(1), *, default: bool = False
    ) -> CurrencyRecord:
        """Enable a currency; ``default=True`` makes it the home currency."""
        with self._lock:
            if default:
                for cid, cur in self._currencies.items():
                    self._currencies[cid] = attrs.evolve(cur, is_default=False)
            record = CurrencyRecord(
                kashflow_id=self._take("currency"),
                code=code,
                exchange_rate=exchange_rate,
                is_default=default,
            )
            self._currencies[record.kashflow_id] = record
            self._touch("currencies")
            return record

    def add_bank_account(self, name: str, nominal_code: int) -> BankAccountRecord:
        """Add a bank account on nominal *nominal_code* (added as classification 5 if new)."""
        with self._lock:
            if nominal_code not in self._nominal_by_code:
                self.add_nominal_code(nominal_code, name, 5, type_id=3)
            record = BankAccountRecord(kashflow_id=self._take("bank"), name=name, code=nominal_code)
            self._banks[record.kashflow_id] = record
            self._touch("banks")
            return record

    def add_payment_method(self, kind: DocumentKind, name: str) -> PaymentMethodRecord:
        """Add a payment method for ``"receipt"`` (purchases) or ``"invoice"`` (sales)."""
        with self._lock:
            series = "purchase_method" if kind == "receipt" else "sales_method"
            record = PaymentMethodRecord(kashflow_id=self._take(series), name=name)
            self._methods[kind][record.kashflow_id] = record
            self._touch(f"methods_{kind}")
            return record

    def add_purchase_payment_method(self, name: str) -> PaymentMethodRecord:
        """Add a payment method for receipts (``GetRecPayMethods``)."""
        return self.add_payment_method("receipt", name)

    def add_sales_payment_method(self, name: str) -> PaymentMethodRecord:
        """Add a payment method for sales invoices (``GetInvPayMethods``)."""
        return self.add_payment_method("invoice", name)
