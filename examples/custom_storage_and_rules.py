"""A host application's own Storage and RuleResolver, plugged into KashFlowClient.

    python examples/custom_storage_and_rules.py

It needs nothing beyond kashflow-sync itself (``pip install .`` from a checkout).

``DictStorage`` keeps everything in plain dicts (a stand-in for your ORM, Redis...): it only
has to offer the methods of ``kashflow_sync.typing.Storage``; it subclasses nothing. The
repository's tests run kashflow-sync's storage conformance suite against it. ``KeywordRules``
fills each line's category and VAT rate from words in its description, the kind of rule a
capture app learns, and says what it filled in ``explain``.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

import attrs

import kashflow_sync as kfs
from kashflow_sync.testing import FakeKashFlow

ITEM_CLASSES: Mapping[str, type] = {
    "nominal_codes": kfs.NominalCode,
    "suppliers": kfs.Supplier,
    "customers": kfs.Customer,
    "projects": kfs.Project,
    "purchase_payment_methods": kfs.PaymentMethod,
    "sales_payment_methods": kfs.PaymentMethod,
    "bank_accounts": kfs.BankAccount,
    "vat_rates": kfs.VatRate,
    "currencies": kfs.Currency,
}


#: Before any real time: entries never updated sort first.
NEVER = datetime.min.replace(tzinfo=timezone.utc)


def utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("journal times must be timezone-aware")
    return moment.astimezone(timezone.utc)


class DictStorage:
    """Everything in dicts keyed by connection_id, behind one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lists: dict[tuple[str, str], tuple[object, ...]] = {}
        self._state: dict[tuple[str, str], str] = {}
        self._rules: dict[tuple[str, str, str], tuple[str, kfs.Rule]] = {}
        self._journal: dict[tuple[str, str], kfs.JournalEntry] = {}
        self._attempts: dict[tuple[str, str], list[kfs.PublishAttempt]] = {}

    # Lists: replaced whole, so a refresh is atomic per list.
    def load_list(self, connection_id: str, name: str) -> Sequence[object]:
        with self._lock:
            return self._lists.get((connection_id, name), ())

    def replace_list(self, connection_id: str, name: str, items: Sequence[object]) -> None:
        cls = ITEM_CLASSES[name]
        stored = tuple(items)
        if not all(isinstance(item, cls) for item in stored):
            raise TypeError(f"{name} holds {cls.__name__} items only")
        with self._lock:
            self._lists[(connection_id, name)] = stored

    # Small state values.
    def get_state(self, connection_id: str, key: str) -> str | None:
        with self._lock:
            return self._state.get((connection_id, key))

    def set_state(self, connection_id: str, key: str, value: str | None) -> None:
        with self._lock:
            if value is None:
                self._state.pop((connection_id, key), None)
            else:
                self._state[(connection_id, key)] = value

    # Rules, matched case-insensitively on the contact.
    def get_rule(self, connection_id: str, kind: str, contact: str) -> kfs.Rule | None:
        with self._lock:
            found = self._rules.get((connection_id, kind, contact.casefold()))
            return None if found is None else found[1]

    def set_rule(self, connection_id: str, kind: str, contact: str, rule: kfs.Rule) -> None:
        with self._lock:
            self._rules[(connection_id, kind, contact.casefold())] = (contact, rule)

    def delete_rule(self, connection_id: str, kind: str, contact: str) -> None:
        with self._lock:
            self._rules.pop((connection_id, kind, contact.casefold()), None)

    def list_rules(self, connection_id: str, kind: str) -> Mapping[str, kfs.Rule]:
        with self._lock:
            return {
                name: rule
                for (cid, k, _), (name, rule) in self._rules.items()
                if cid == connection_id and k == kind
            }

    # The publish journal: the claim is the one place that must be atomic.
    def claim_journal(
        self, entry: kfs.JournalEntry, owner: str, now: datetime, lease_until: datetime
    ) -> kfs.ClaimResult:
        key = (entry.connection_id, entry.external_id)
        now, lease_until = utc(now), utc(lease_until)
        with self._lock:
            stored = self._journal.get(key)
            if stored is None:
                stored = attrs.evolve(
                    entry,
                    owner=owner,
                    lease_until=lease_until,
                    created_at=utc(entry.created_at or now),
                    updated_at=now,
                    attempts=(),
                )
                acquired = True
            elif stored.state != "published" and (
                stored.owner in (owner, None)
                or stored.lease_until is None
                or stored.lease_until < now
            ):
                stored = attrs.evolve(stored, owner=owner, lease_until=lease_until, updated_at=now)
                acquired = True
            else:
                acquired = False
            self._journal[key] = stored
            return kfs.ClaimResult(entry=self._with_attempts(stored), acquired=acquired)

    def get_journal(self, connection_id: str, external_id: str) -> kfs.JournalEntry | None:
        with self._lock:
            stored = self._journal.get((connection_id, external_id))
            return None if stored is None else self._with_attempts(stored)

    def update_journal(self, entry: kfs.JournalEntry, owner: str) -> bool:
        key = (entry.connection_id, entry.external_id)
        with self._lock:
            stored = self._journal.get(key)
            if stored is None or stored.owner != owner:
                return False  # someone else holds it now: store nothing
            self._journal[key] = attrs.evolve(entry, created_at=stored.created_at, attempts=())
            return True

    def add_attempt(
        self, connection_id: str, external_id: str, attempt: kfs.PublishAttempt
    ) -> None:
        with self._lock:
            self._attempts.setdefault((connection_id, external_id), []).append(attempt)

    # What an operator reads (client.journal(), `kashflow-sync journal`): oldest first.
    def list_journal(
        self,
        connection_id: str,
        *,
        states: Collection[str] | None = None,
        updated_before: datetime | None = None,
        exclude_prefix: str | None = None,
        limit: int | None = None,
    ) -> Sequence[kfs.JournalEntry]:
        with self._lock:
            found = [
                entry
                for (cid, external_id), entry in self._journal.items()
                if cid == connection_id
                and (states is None or entry.state in states)
                and (updated_before is None or (entry.updated_at or NEVER) < updated_before)
                and not (exclude_prefix and external_id.startswith(exclude_prefix))
            ]
            found.sort(key=lambda e: (e.updated_at or NEVER, e.external_id))
            return [self._with_attempts(entry) for entry in found[:limit]]

    def purge(self, connection_id: str) -> None:
        with self._lock:
            for table in (self._lists, self._state, self._rules, self._journal, self._attempts):
                for key in [k for k in table if k[0] == connection_id]:
                    del table[key]

    def _with_attempts(self, entry: kfs.JournalEntry) -> kfs.JournalEntry:
        attempts = self._attempts.get((entry.connection_id, entry.external_id), [])
        return attrs.evolve(entry, attempts=tuple(attempts))


class KeywordRules:
    """Category and VAT rate from words in each line's description; the document still wins."""

    KEYWORDS: Mapping[str, tuple[int, Decimal]] = {
        "train": (7400, Decimal("0")),
        "taxi": (7400, Decimal("0")),
        "paper": (7500, Decimal("20")),
        "toner": (7500, Decimal("20")),
        "phone": (7502, Decimal("20")),
    }

    def resolve(self, connection_id: str, document: kfs.Document) -> kfs.ResolvedDocument:
        explain: dict[str, str] = {}
        lines = []
        for index, line in enumerate(document.lines):
            text = (line.description or "").casefold()
            match = next((v for word, v in self.KEYWORDS.items() if word in text), None)
            changes: dict[str, object] = {}
            if match is not None and line.category is None:
                changes["category"] = match[0]
                explain[f"lines[{index}].category"] = f"keyword rule ({text!r})"
            if match is not None and line.vat_rate is None:
                changes["vat_rate"] = match[1]
                explain[f"lines[{index}].vat_rate"] = f"keyword rule ({text!r})"
            rate = changes.get("vat_rate", line.vat_rate)
            if line.vat is None and isinstance(rate, Decimal) and rate >= 0:
                vat = (line.net * rate / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
                changes["vat"] = vat
                explain[f"lines[{index}].vat"] = "computed from vat_rate"
            lines.append(attrs.evolve(line, **changes))
        resolved = attrs.evolve(document, lines=lines)
        return kfs.ResolvedDocument(document=resolved, explain=explain)


def main() -> int:
    storage = DictStorage()
    assert isinstance(storage, kfs.Storage)  # the Protocols are runtime-checkable
    assert isinstance(KeywordRules(), kfs.RuleResolver)

    with (
        FakeKashFlow.serve() as fake,
        kfs.KashFlowClient(
            fake.credentials, endpoint=fake.url, storage=storage, rules=KeywordRules()
        ) as client,
    ):
        client.connect()
        doc = kfs.PurchaseInvoice(
            external_id="custom-1",
            supplier="City Rail Ltd",
            reference="TKT-1",
            issue_date=date(2026, 11, 9),
            lines=[
                kfs.Line(description="Train to Leeds", net=Decimal("64.00")),
                kfs.Line(description="Printer paper", net=Decimal("20.00")),
            ],
        )
        resolved = client.resolve(doc)
        for field, source in sorted(resolved.explain.items()):
            print(f"  {field:20} {source}")
        result = client.publish(doc)
        print(f"Published as receipt {result.number}; journal kept in {type(storage).__name__}")
        entry = storage.get_journal(client.connection_id, "custom-1")
        assert entry is not None and entry.state == "published"
        [receipt] = fake.receipts
        print(f"  net {receipt.net_amount}, VAT {receipt.vat_amount}")
        assert receipt.vat_amount == Decimal("4.00")
        assert client.publish(doc).status == "already_published"
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
