"""A test suite every :class:`kashflow_sync.typing.Storage` implementation can run.

Subclass :class:`StorageConformance` in a pytest module and provide a ``storage`` fixture; each
test gets fresh, unique connection ids (``connection_id`` and ``other_connection_id``), so a
database shared between test runs needs no cleaning::

    import pytest
    from kashflow_sync.testing.conformance import StorageConformance

    from myapp.storage import RedisStorage


    class TestRedisStorage(StorageConformance):
        @pytest.fixture
        def storage(self):
            store = RedisStorage("redis://localhost/0")
            yield store
            store.close()

The suite pins the behaviour the SDK relies on: lists round-trip exactly and in order, writes are
atomic, rules match contacts case-insensitively, journal claims are exclusive (also under
concurrency), updates are compare-and-set on the owner, the journal lists by state and age
(``list_journal``, for operators), connections never see each other's data, a storage's
``transaction()`` (where it offers one) commits its calls together, and the SDK's batched journal
calls get the answers it relies on, in one transaction or one by one. This module
imports pytest; only test suites should import it.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, cast

import attrs
import pytest

from .._account.items import (
    LIST_NAMES,
    BankAccount,
    Currency,
    Customer,
    ListItem,
    NominalCode,
    PaymentMethod,
    Project,
    Supplier,
    VatRate,
)
from .._documents.model import PublishAttempt, Rule
from .._journal.entry import ClaimResult
from ..typing import Storage
from ._conformance_listing import LEASE, T0, JournalListingConformance
from ._conformance_listing import claim as _claim
from ._conformance_listing import journal_entry as _entry
from ._conformance_transactions import TransactionConformance

__all__ = ["StorageConformance", "sample_items"]


def sample_items(name: str) -> list[ListItem]:
    """Three items of the list *name*, using every field, in an order that is not by id.

    Raises:
        KeyError: *name* is not one of ``LIST_NAMES``.

    """
    stamp = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=timezone.utc)
    samples: dict[str, list[ListItem]] = {
        "nominal_codes": [
            NominalCode(30, 7500, "Office costs", False, 3, "Expense", 1, "P&L", Decimal("20")),
            NominalCode(10, 4000, "Sales", True, 1, "Turnover", 1, "P&L", None, removed=True),
            NominalCode(20, 1200, "Bank current account", classification_id=5),
        ],
        "suppliers": [
            Supplier(30, "ACME01", "Acme Paper Ltd", False, "a@acme.test", "GB123", 1, 30, stamp),
            Supplier(10, "ZED", "Zed & Co", True, updated=None, removed=True),
            Supplier(20, "élan", "Élan Café", payment_terms=14),
        ],
        "customers": [
            Customer(30, "BLOG", "Bloggs & Co", False, "b@bloggs.test", "GB9", 2, 7, stamp),
            Customer(10, "OLD", "Old Customer", True, removed=True),
            Customer(20, "NEW", "New Customer"),
        ],
        "projects": [
            Project(30, 12, "Website", False, "WEB", 1, 30),
            Project(10, 3, "Done", True, "", 0, 0, removed=True),
            Project(20, 7, "Odd status", status=9),
        ],
        "purchase_payment_methods": [
            PaymentMethod(30, "Credit card"),
            PaymentMethod(10, "Cheque", archived=True, removed=True),
            PaymentMethod(20, "BACS"),
        ],
        "sales_payment_methods": [
            PaymentMethod(31, "Card (sales)"),
            PaymentMethod(11, "Cash", archived=True),
            PaymentMethod(21, "Direct debit", removed=True),
        ],
        "bank_accounts": [
            BankAccount(30, "Current", 1200),
            BankAccount(10, "Savings", 1210, archived=True, removed=True),
            BankAccount(20, "Card", 1230),
        ],
        "vat_rates": [
            VatRate(30, "Standard", Decimal("20")),
            VatRate(10, "Old standard", Decimal("17.5"), archived=True, removed=True),
            VatRate(20, "Exempt", Decimal("-1")),
        ],
        "currencies": [
            Currency(30, "GBP", "Pound sterling", Decimal("1"), True),
            Currency(10, "EUR", "Euro", Decimal("1.1534"), archived=True, removed=True),
            Currency(20, "USD", "US dollar", Decimal("1.27000")),
        ],
    }
    if name not in LIST_NAMES:
        raise KeyError(f"unknown list {name!r}")
    return samples[name]


class StorageConformance(JournalListingConformance, TransactionConformance):
    """Tests any Storage must pass; subclass it and provide a ``storage`` fixture."""

    @pytest.fixture
    def connection_id(self) -> str:
        """A connection id no other test uses."""
        return f"conformance-{uuid.uuid4().hex}"

    @pytest.fixture
    def other_connection_id(self) -> str:
        """A second connection id, to check that connections are kept apart."""
        return f"conformance-other-{uuid.uuid4().hex}"

    # Lists

    def test_list_never_synced_is_empty(self, storage: Storage, connection_id: str) -> None:
        """A list that was never replaced loads as empty."""
        assert list(storage.load_list(connection_id, "suppliers")) == []

    @pytest.mark.parametrize("name", sorted(LIST_NAMES))
    def test_list_round_trip(self, storage: Storage, connection_id: str, name: str) -> None:
        """Every list type comes back equal, field by field, in stored order."""
        items = sample_items(name)
        storage.replace_list(connection_id, name, items)
        assert list(storage.load_list(connection_id, name)) == items

    def test_list_keeps_field_types(self, storage: Storage, connection_id: str) -> None:
        """Decimals come back as Decimal and datetimes as aware datetimes."""
        storage.replace_list(connection_id, "suppliers", sample_items("suppliers"))
        storage.replace_list(connection_id, "vat_rates", sample_items("vat_rates"))
        supplier = cast("Supplier", storage.load_list(connection_id, "suppliers")[0])
        rate = cast("VatRate", storage.load_list(connection_id, "vat_rates")[1])
        assert isinstance(rate.rate, Decimal)
        assert str(rate.rate) == "17.5"
        assert isinstance(supplier.updated, datetime)
        assert supplier.updated.utcoffset() == timedelta(0)

    def test_list_order_is_kept(self, storage: Storage, connection_id: str) -> None:
        """Items load in the order they were stored, not sorted by id or name."""
        items = [PaymentMethod(kashflow_id=i, name=f"method {i:04d}") for i in (5, 3, 9, 1, 7, 2)]
        storage.replace_list(connection_id, "purchase_payment_methods", items)
        loaded = storage.load_list(connection_id, "purchase_payment_methods")
        assert [i.kashflow_id for i in loaded] == [5, 3, 9, 1, 7, 2]

    def test_replace_list_replaces(self, storage: Storage, connection_id: str) -> None:
        """A second replace leaves only the new items."""
        storage.replace_list(connection_id, "projects", sample_items("projects"))
        newer = [Project(kashflow_id=99, number=99, name="Only one")]
        storage.replace_list(connection_id, "projects", newer)
        assert list(storage.load_list(connection_id, "projects")) == newer

    def test_replace_with_empty_list(self, storage: Storage, connection_id: str) -> None:
        """Replacing with no items empties the list."""
        storage.replace_list(connection_id, "customers", sample_items("customers"))
        storage.replace_list(connection_id, "customers", [])
        assert list(storage.load_list(connection_id, "customers")) == []

    def test_failed_replace_keeps_old_list(self, storage: Storage, connection_id: str) -> None:
        """A replace that fails on one item leaves the previous list intact."""
        old = sample_items("suppliers")
        storage.replace_list(connection_id, "suppliers", old)
        bad: Sequence[Any] = [Supplier(1, "NEW", "New"), object()]
        with pytest.raises((TypeError, ValueError)):
            storage.replace_list(connection_id, "suppliers", bad)
        assert list(storage.load_list(connection_id, "suppliers")) == old

    def test_lists_kept_apart_by_name(self, storage: Storage, connection_id: str) -> None:
        """Purchase and sales payment methods are two lists, not one."""
        purchase = sample_items("purchase_payment_methods")
        sales = sample_items("sales_payment_methods")
        storage.replace_list(connection_id, "purchase_payment_methods", purchase)
        storage.replace_list(connection_id, "sales_payment_methods", sales)
        assert list(storage.load_list(connection_id, "purchase_payment_methods")) == purchase
        assert list(storage.load_list(connection_id, "sales_payment_methods")) == sales

    # Sync state

    def test_state_missing_is_none(self, storage: Storage, connection_id: str) -> None:
        """An unknown state key reads as None."""
        assert storage.get_state(connection_id, "last_sync") is None

    def test_state_round_trip(self, storage: Storage, connection_id: str) -> None:
        """A stored state value reads back unchanged."""
        storage.set_state(connection_id, "last_sync", "2030-01-01T12:00:00+00:00")
        assert storage.get_state(connection_id, "last_sync") == "2030-01-01T12:00:00+00:00"

    def test_state_overwrite(self, storage: Storage, connection_id: str) -> None:
        """Setting a key again replaces its value."""
        storage.set_state(connection_id, "k", "one")
        storage.set_state(connection_id, "k", "two")
        assert storage.get_state(connection_id, "k") == "two"

    def test_state_none_deletes(self, storage: Storage, connection_id: str) -> None:
        """Setting None deletes the key."""
        storage.set_state(connection_id, "k", "one")
        storage.set_state(connection_id, "k", None)
        assert storage.get_state(connection_id, "k") is None

    def test_state_delete_missing_is_quiet(self, storage: Storage, connection_id: str) -> None:
        """Deleting a key that was never set is not an error."""
        storage.set_state(connection_id, "never-set", None)
        assert storage.get_state(connection_id, "never-set") is None

    # Rules

    def test_rule_missing_is_none(self, storage: Storage, connection_id: str) -> None:
        """A contact without a rule has None."""
        assert storage.get_rule(connection_id, "supplier", "Nobody Ltd") is None

    def test_rule_round_trip(self, storage: Storage, connection_id: str) -> None:
        """Every rule field, Decimal and int-or-str ones included, reads back equal."""
        rule = Rule(
            category=7500,
            vat_rate=Decimal("17.5"),
            project=12,
            payment_method="Credit card",
            bank_account=1200,
            description="Paper",
            due_days=30,
            check_duplicates=False,
        )
        storage.set_rule(connection_id, "supplier", "Acme Paper Ltd", rule)
        assert storage.get_rule(connection_id, "supplier", "Acme Paper Ltd") == rule

    def test_rule_int_and_str_choices_kept(self, storage: Storage, connection_id: str) -> None:
        """A payment method given by id and a bank account given by name keep their types."""
        rule = Rule(payment_method=3, bank_account="Current account")
        storage.set_rule(connection_id, "customer", "Bloggs & Co", rule)
        assert storage.get_rule(connection_id, "customer", "Bloggs & Co") == rule

    def test_rule_lookup_ignores_case(self, storage: Storage, connection_id: str) -> None:
        """A rule is found whatever the case of the contact name."""
        storage.set_rule(connection_id, "supplier", "Acme Paper Ltd", Rule(category=7500))
        assert storage.get_rule(connection_id, "supplier", "ACME PAPER LTD") == Rule(category=7500)

    def test_rule_set_again_replaces(self, storage: Storage, connection_id: str) -> None:
        """Setting a rule for the same contact (any case) replaces the old one."""
        storage.set_rule(connection_id, "supplier", "Acme", Rule(category=7500))
        storage.set_rule(connection_id, "supplier", "ACME", Rule(category=7501))
        assert storage.list_rules(connection_id, "supplier") == {"ACME": Rule(category=7501)}

    def test_rule_delete(self, storage: Storage, connection_id: str) -> None:
        """A deleted rule is gone, whatever case the delete used."""
        storage.set_rule(connection_id, "supplier", "Acme", Rule(category=7500))
        storage.delete_rule(connection_id, "supplier", "acme")
        assert storage.get_rule(connection_id, "supplier", "Acme") is None

    def test_rule_delete_missing_is_quiet(self, storage: Storage, connection_id: str) -> None:
        """Deleting a rule that does not exist is not an error."""
        storage.delete_rule(connection_id, "customer", "Nobody")
        assert storage.list_rules(connection_id, "customer") == {}

    def test_list_rules_by_name_as_set(self, storage: Storage, connection_id: str) -> None:
        """list_rules maps each contact name, as it was set, to its rule."""
        storage.set_rule(connection_id, "supplier", "Acme Paper Ltd", Rule(category=7500))
        storage.set_rule(connection_id, "supplier", "Zed & Co", Rule(project=3))
        assert dict(storage.list_rules(connection_id, "supplier")) == {
            "Acme Paper Ltd": Rule(category=7500),
            "Zed & Co": Rule(project=3),
        }

    def test_rule_kinds_kept_apart(self, storage: Storage, connection_id: str) -> None:
        """A supplier rule and a customer rule for the same name are separate."""
        storage.set_rule(connection_id, "supplier", "Both Ltd", Rule(category=5000))
        storage.set_rule(connection_id, "customer", "Both Ltd", Rule(category=4000))
        assert storage.get_rule(connection_id, "supplier", "Both Ltd") == Rule(category=5000)
        assert storage.list_rules(connection_id, "customer") == {"Both Ltd": Rule(category=4000)}

    # Publish journal

    def test_journal_missing_is_none(self, storage: Storage, connection_id: str) -> None:
        """An external id never claimed has no journal entry."""
        assert storage.get_journal(connection_id, "doc-1") is None

    def test_claim_new_entry_acquires(self, storage: Storage, connection_id: str) -> None:
        """Claiming an unknown document creates its entry, held by the claimer."""
        result = _claim(storage, _entry(connection_id), "worker-a")
        assert result.acquired
        assert (result.entry.owner, result.entry.lease_until) == ("worker-a", T0 + LEASE)
        assert (result.entry.state, result.entry.fingerprint) == ("claimed", "f1")

    def test_claim_new_entry_is_stored(self, storage: Storage, connection_id: str) -> None:
        """The claimed entry can be read back with get_journal."""
        _claim(storage, _entry(connection_id), "worker-a")
        stored = storage.get_journal(connection_id, "doc-1")
        assert stored is not None
        assert (stored.owner, stored.kind, stored.external_id) == ("worker-a", "purchase", "doc-1")

    def test_claim_held_by_other_not_acquired(self, storage: Storage, connection_id: str) -> None:
        """A second owner cannot claim while the first owner's lease is live."""
        _claim(storage, _entry(connection_id), "worker-a")
        result = _claim(storage, _entry(connection_id), "worker-b", T0 + LEASE / 2)
        assert not result.acquired
        assert result.entry.owner == "worker-a"

    def test_claim_after_lease_expiry(self, storage: Storage, connection_id: str) -> None:
        """Once the lease has ended another owner takes the entry over."""
        _claim(storage, _entry(connection_id), "worker-a")
        later = T0 + LEASE + timedelta(seconds=1)
        result = _claim(storage, _entry(connection_id), "worker-b", later)
        assert result.acquired
        assert (result.entry.owner, result.entry.lease_until) == ("worker-b", later + LEASE)

    def test_claim_same_owner_reclaims(self, storage: Storage, connection_id: str) -> None:
        """The owner may claim again during its own lease, extending it."""
        _claim(storage, _entry(connection_id), "worker-a")
        result = _claim(storage, _entry(connection_id), "worker-a", T0 + timedelta(minutes=1))
        assert result.acquired
        assert result.entry.lease_until == T0 + timedelta(minutes=1) + LEASE

    def test_takeover_keeps_progress(self, storage: Storage, connection_id: str) -> None:
        """Taking over a stale entry keeps what the first owner recorded."""
        entry = _claim(storage, _entry(connection_id), "worker-a").entry
        storage.update_journal(attrs.evolve(entry, state="created", number=1001), "worker-a")
        later = T0 + 2 * LEASE
        result = _claim(storage, _entry(connection_id), "worker-b", later)
        assert (result.entry.state, result.entry.number) == ("created", 1001)

    def test_published_never_reacquired(self, storage: Storage, connection_id: str) -> None:
        """A published entry is not acquired again, by anyone, even after its lease."""
        entry = _claim(storage, _entry(connection_id), "worker-a").entry
        storage.update_journal(attrs.evolve(entry, state="published", number=7), "worker-a")
        much_later = T0 + 100 * LEASE
        for owner in ("worker-a", "worker-b"):
            result = _claim(storage, _entry(connection_id), owner, much_later)
            assert not result.acquired
            assert (result.entry.state, result.entry.number) == ("published", 7)

    def test_update_journal_by_owner(self, storage: Storage, connection_id: str) -> None:
        """The owner's update stores every journal field."""
        entry = _claim(storage, _entry(connection_id), "worker-a").entry
        updated = attrs.evolve(
            entry,
            state="created",
            contact_id=77,
            number=1001,
            kashflow_id=555,
            attachment_done=True,
            payment_done=True,
            fingerprint="f2",
            updated_at=T0 + timedelta(seconds=5),
        )
        assert storage.update_journal(updated, "worker-a")
        assert storage.get_journal(connection_id, "doc-1") == updated

    def test_update_journal_refuses_non_owner(self, storage: Storage, connection_id: str) -> None:
        """An update by someone who does not hold the entry stores nothing."""
        entry = _claim(storage, _entry(connection_id), "worker-a").entry
        assert not storage.update_journal(attrs.evolve(entry, state="published"), "worker-b")
        stored = storage.get_journal(connection_id, "doc-1")
        assert stored is not None
        assert (stored.state, stored.owner) == ("claimed", "worker-a")

    def test_update_journal_missing_entry(self, storage: Storage, connection_id: str) -> None:
        """Updating an entry that was never claimed returns False and creates nothing."""
        assert not storage.update_journal(_entry(connection_id), "worker-a")
        assert storage.get_journal(connection_id, "doc-1") is None

    def test_update_journal_unheld_entry(self, storage: Storage, connection_id: str) -> None:
        """owner=None updates an entry nobody holds, and refuses one somebody holds."""
        entry = _claim(storage, _entry(connection_id), "worker-a").entry
        published = attrs.evolve(entry, state="published", number=7, owner=None, lease_until=None)
        assert not storage.update_journal(published, None)  # worker-a holds it
        assert storage.update_journal(published, "worker-a")
        forgotten = attrs.evolve(published, state="forgotten")
        assert storage.update_journal(forgotten, None)
        stored = storage.get_journal(connection_id, "doc-1")
        assert stored is not None
        assert (stored.state, stored.owner) == ("forgotten", None)

    def test_update_journal_can_release(self, storage: Storage, connection_id: str) -> None:
        """An owner that stores the entry without owner or lease lets anyone claim it."""
        entry = _claim(storage, _entry(connection_id), "worker-a").entry
        storage.update_journal(attrs.evolve(entry, owner=None, lease_until=None), "worker-a")
        assert _claim(storage, _entry(connection_id), "worker-b").acquired

    def test_attempts_in_order(self, storage: Storage, connection_id: str) -> None:
        """Attempts come back with the entry, in the order they were added."""
        _claim(storage, _entry(connection_id), "worker-a")
        attempts = [
            PublishAttempt(T0 + timedelta(seconds=s), step, outcome, detail)
            for s, step, outcome, detail in [
                (3, "create", "uncertain", "timeout"),
                (1, "lookup", "not_found", ""),
                (2, "create", "ok", "number 1001"),
            ]
        ]
        for attempt in attempts:
            storage.add_attempt(connection_id, "doc-1", attempt)
        stored = storage.get_journal(connection_id, "doc-1")
        assert stored is not None
        assert list(stored.attempts) == attempts

    def test_attempts_survive_update(self, storage: Storage, connection_id: str) -> None:
        """update_journal does not drop the attempts recorded so far."""
        entry = _claim(storage, _entry(connection_id), "worker-a").entry
        attempt = PublishAttempt(T0, "create", "ok")
        storage.add_attempt(connection_id, "doc-1", attempt)
        storage.update_journal(attrs.evolve(entry, state="created"), "worker-a")
        stored = storage.get_journal(connection_id, "doc-1")
        assert stored is not None
        assert stored.attempts == (attempt,)

    def test_concurrent_claims_one_winner(self, storage: Storage, connection_id: str) -> None:
        """Of 8 threads claiming the same document at once, exactly one acquires it."""
        start = threading.Barrier(8)
        results: list[ClaimResult] = []
        errors: list[BaseException] = []

        def claim(owner: str) -> None:
            try:
                start.wait(timeout=10)
                results.append(_claim(storage, _entry(connection_id), owner))
            except BaseException as exc:  # reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=claim, args=(f"worker-{i}",)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        winners = [r.entry.owner for r in results if r.acquired]
        assert len(results) == 8
        assert len(winners) == 1
        assert {r.entry.owner for r in results} == set(winners)

    # Connections kept apart

    def test_connections_apart_lists(
        self, storage: Storage, connection_id: str, other_connection_id: str
    ) -> None:
        """One connection's lists are not visible through another."""
        storage.replace_list(connection_id, "suppliers", sample_items("suppliers"))
        assert list(storage.load_list(other_connection_id, "suppliers")) == []

    def test_connections_apart_state(
        self, storage: Storage, connection_id: str, other_connection_id: str
    ) -> None:
        """One connection's state is not visible through another."""
        storage.set_state(connection_id, "k", "v")
        assert storage.get_state(other_connection_id, "k") is None

    def test_connections_apart_rules(
        self, storage: Storage, connection_id: str, other_connection_id: str
    ) -> None:
        """One connection's rules are not visible through another."""
        storage.set_rule(connection_id, "supplier", "Acme", Rule(category=7500))
        assert storage.get_rule(other_connection_id, "supplier", "Acme") is None
        assert storage.list_rules(other_connection_id, "supplier") == {}

    def test_connections_apart_journal(
        self, storage: Storage, connection_id: str, other_connection_id: str
    ) -> None:
        """The same external id is claimed independently in two connections."""
        assert _claim(storage, _entry(connection_id), "worker-a").acquired
        assert storage.get_journal(other_connection_id, "doc-1") is None
        assert _claim(storage, _entry(other_connection_id), "worker-b").acquired

    def test_connections_apart_attempts(
        self, storage: Storage, connection_id: str, other_connection_id: str
    ) -> None:
        """Attempts recorded in one connection do not show in another's entry."""
        _claim(storage, _entry(connection_id), "worker-a")
        _claim(storage, _entry(other_connection_id), "worker-a")
        storage.add_attempt(connection_id, "doc-1", PublishAttempt(T0, "create", "ok"))
        other = storage.get_journal(other_connection_id, "doc-1")
        assert other is not None
        assert other.attempts == ()

    # Purge

    def test_purge_drops_everything(self, storage: Storage, connection_id: str) -> None:
        """Purge removes the connection's lists, state, rules, journal and attempts."""
        self._fill(storage, connection_id)
        storage.purge(connection_id)
        assert list(storage.load_list(connection_id, "suppliers")) == []
        assert storage.get_state(connection_id, "k") is None
        assert storage.list_rules(connection_id, "supplier") == {}
        assert storage.get_journal(connection_id, "doc-1") is None

    def test_purge_forgets_attempts(self, storage: Storage, connection_id: str) -> None:
        """A document claimed again after a purge starts with no attempts."""
        self._fill(storage, connection_id)
        storage.purge(connection_id)
        result = _claim(storage, _entry(connection_id), "worker-a")
        assert result.acquired
        assert result.entry.attempts == ()

    def test_purge_keeps_other_connections(
        self, storage: Storage, connection_id: str, other_connection_id: str
    ) -> None:
        """Purge leaves every other connection's data alone."""
        self._fill(storage, other_connection_id)
        self._fill(storage, connection_id)
        storage.purge(connection_id)
        assert list(storage.load_list(other_connection_id, "suppliers")) == sample_items(
            "suppliers"
        )
        assert storage.get_state(other_connection_id, "k") == "v"
        assert storage.get_rule(other_connection_id, "supplier", "Acme") == Rule(category=1)
        entry = storage.get_journal(other_connection_id, "doc-1")
        assert entry is not None
        assert len(entry.attempts) == 1

    @staticmethod
    def _fill(storage: Storage, connection_id: str) -> None:
        storage.replace_list(connection_id, "suppliers", sample_items("suppliers"))
        storage.set_state(connection_id, "k", "v")
        storage.set_rule(connection_id, "supplier", "Acme", Rule(category=1))
        _claim(storage, _entry(connection_id), "worker-a")
        storage.add_attempt(connection_id, "doc-1", PublishAttempt(T0, "create", "ok"))
