"""Suppliers and customers: lookups, seeding helpers, and what InsertSupplier/InsertCustomer do."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from typing import Any, TypeVar, cast

import attrs

from .ledger import Ledger
from .messages import Rejected, detail
from .records import CustomerRecord, SupplierRecord
from .render import snake_case
from .schema import load_model

__all__ = ["Contacts"]

_R = TypeVar("_R")
_CODE_CHARS = re.compile(r"[^A-Z0-9]")


class Contacts(Ledger):
    """The ledger plus suppliers and customers, looked up by code (case-insensitive) or name."""

    def find_supplier(self, code_or_name: str) -> SupplierRecord | None:
        """The supplier with that code (case-insensitive) or exact name, or None."""
        return self._locked(
            lambda: self._find_contact(self._suppliers, self._supplier_by_code, code_or_name)
        )

    def find_customer(self, code_or_name: str) -> CustomerRecord | None:
        """The customer with that code (case-insensitive) or exact name, or None."""
        return self._locked(
            lambda: self._find_contact(self._customers, self._customer_by_code, code_or_name)
        )

    @staticmethod
    def _find_contact(records: Mapping[int, _R], by_code: Mapping[str, int], key: str) -> _R | None:
        found = by_code.get(key.upper())
        if found is not None:
            return records[found]
        return next((r for r in records.values() if getattr(r, "name", None) == key), None)

    # -- contacts -----------------------------------------------------------------------------

    def add_supplier(self, name: str, code: str | None = None, **fields: Any) -> SupplierRecord:
        """Add a supplier; the code is generated from the name when omitted.

        Args:
            name: the supplier's name (must not be empty).
            code: its code; must be unique (case-insensitive).
            **fields: record attributes (``email=``, ``vat_number=``...) or WSDL element
                names (``Address1=``, ``Contact=``...) for the text KashFlow keeps.

        Raises:
            ValueError: empty name or duplicate code.

        """
        return cast(SupplierRecord, self._add_contact("supplier", name, code, fields))

    def add_customer(self, name: str, code: str | None = None, **fields: Any) -> CustomerRecord:
        """Add a customer; arguments as for :meth:`add_supplier`."""
        return cast(CustomerRecord, self._add_contact("customer", name, code, fields))

    def remove_supplier(self, code_or_name: str) -> SupplierRecord:
        """Delete a supplier by code or name (its receipts stay). KeyError if unknown."""
        return cast(SupplierRecord, self._remove_contact("supplier", code_or_name))

    def remove_customer(self, code_or_name: str) -> CustomerRecord:
        """Delete a customer by code or name (its invoices stay). KeyError if unknown."""
        return cast(CustomerRecord, self._remove_contact("customer", code_or_name))

    def update_supplier(self, code: str, /, **fields: Any) -> SupplierRecord:
        """Change a supplier's fields (as for :meth:`add_supplier`) and bump ``updated``."""
        return cast(SupplierRecord, self._update_contact("supplier", code, fields))

    def update_customer(self, code: str, /, **fields: Any) -> CustomerRecord:
        """Change a customer's fields (as for :meth:`add_customer`) and bump ``updated``."""
        return cast(CustomerRecord, self._update_contact("customer", code, fields))

    def seed_bulk(
        self, suppliers: int = 20000, customers: int = 20000, nominal_codes: int = 1000
    ) -> None:
        """Add many generated suppliers, customers and expense codes, quickly.

        Names are ``Bulk Supplier 00001``..., codes ``BS00001``/``BC00001``; nominal codes
        take the next free visible codes from 10000.
        """
        with self._lock:
            now = self._stamp()
            for kind, count in (("supplier", suppliers), ("customer", customers)):
                records, by_code, cls = self._contact_tables(kind)
                label = kind.capitalize()
                for i in range(1, count + 1):
                    record = cls(
                        kashflow_id=self._take(kind),
                        code=f"B{label[0]}{i:05d}",
                        name=f"Bulk {label} {i:05d}",
                        created=now,
                        updated=now,
                    )
                    records[record.kashflow_id] = record
                    by_code[record.code] = record.kashflow_id
            free = (c for c in itertools.count(10000) if c not in self._nominal_by_code)
            for nominal in itertools.islice(free, nominal_codes):
                self.add_nominal_code(nominal, f"Bulk expense {nominal}", 3)
            self._touch("suppliers", "customers")

    # -- contact internals (also used by InsertSupplier / InsertCustomer) -------------------

    def _contact_tables(
        self, kind: str
    ) -> tuple[dict[int, Any], dict[str, int], type[SupplierRecord] | type[CustomerRecord]]:
        if kind == "supplier":
            return self._suppliers, self._supplier_by_code, SupplierRecord
        return self._customers, self._customer_by_code, CustomerRecord

    def _add_contact(
        self, kind: str, name: str, code: str | None, fields: Mapping[str, Any]
    ) -> Any:
        """What ``add_supplier``/``add_customer`` do: an insert whose refusal is a ValueError."""
        try:
            return self._insert_contact(kind, {"Name": name, "Code": code, **fields})
        except Rejected as exc:
            raise ValueError(exc.detail) from None

    def _insert_contact(self, kind: str, wire: Mapping[str, Any]) -> Any:
        """Validate and store a supplier or customer from WSDL-named values; all or nothing."""
        with self._lock:
            records, by_code, cls = self._contact_tables(kind)
            name = (wire.get("Name") or "").strip()
            if not name:
                raise Rejected(detail(f"{kind}_name_required"))
            code = (wire.get("Code") or "").strip()
            if code and code.upper() in by_code:
                raise Rejected(detail(f"{kind}_code_taken", name=name))
            values = _split_fields(
                cls, {k: v for k, v in wire.items() if k not in ("Name", "Code")}
            )
            now = self._stamp()
            values.update(
                {
                    "kashflow_id": self._take(kind),
                    "code": code or self._new_code(name, by_code),
                    "name": name,
                    "created": now,
                    "updated": now,
                }
            )
            record = cls(**values)
            records[record.kashflow_id] = record
            by_code[record.code.upper()] = record.kashflow_id
            self._touch(f"{kind}s")
            return record

    def _new_code(self, name: str, taken: Mapping[str, int]) -> str:
        prefix = _CODE_CHARS.sub("", name.upper())[:6] or "CODE"
        counter = self._code_counters.setdefault(prefix, itertools.count(1))
        while True:
            code = f"{prefix}{next(counter):02d}"
            if code not in taken:
                return code

    def _remove_contact(self, kind: str, code_or_name: str) -> Any:
        with self._lock:
            records, by_code, _ = self._contact_tables(kind)
            record = self._find_contact(records, by_code, code_or_name)
            if record is None:
                raise KeyError(f"no {kind} {code_or_name!r}")
            del records[record.kashflow_id]
            del by_code[record.code.upper()]
            self._touch(f"{kind}s")
            return record

    def _update_contact(self, kind: str, code: str, fields: Mapping[str, Any]) -> Any:
        with self._lock:
            records, by_code, cls = self._contact_tables(kind)
            record = self._find_contact(records, by_code, code)
            if record is None:
                raise KeyError(f"no {kind} {code!r}")
            changes = _split_fields(cls, fields)
            extra = {**record.extra, **changes.pop("extra", {})}
            updated = max(self._stamp(), record.updated)
            old_code = record.code.upper()
            record = attrs.evolve(record, **changes, extra=extra, updated=updated)
            if record.code.upper() != old_code:
                if record.code.upper() in by_code:
                    raise ValueError(detail(f"{kind}_code_taken", name=record.name))
                by_code[record.code.upper()] = by_code.pop(old_code)
            records[record.kashflow_id] = record
            self._touch(f"{kind}s")
            return record


def _split_fields(
    cls: type[SupplierRecord] | type[CustomerRecord], fields: Mapping[str, Any]
) -> dict[str, Any]:
    """Sort WSDL-named or attribute-named values into record attributes and ``extra``.

    Raises:
        TypeError: a name that is neither an attribute nor an element of the wire type.

    """
    attributes = {a.name for a in attrs.fields(cls)} - {"extra"}
    wire_type = load_model().types[cls.WIRE_TYPE]
    values: dict[str, Any] = {}
    extra: dict[str, object] = {}
    for key, value in fields.items():
        attr = key if key in attributes else cls.WIRE_ALIASES.get(key) or snake_case(key)
        if attr in attributes:
            if value is not None:
                values[attr] = value
        elif key in wire_type.by_name:
            if value is not None:
                extra[key] = value
        else:
            wire_name = next((f.name for f in wire_type.fields if snake_case(f.name) == key), None)
            if wire_name is None:
                raise TypeError(f"{cls.__name__} has no field {key!r}")
            if value is not None:
                extra[wire_name] = value
    values["extra"] = extra
    return values
