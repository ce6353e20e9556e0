"""List sync and refresh against the fake: full match, diffs, tombstones, atomicity, tenants."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest

import kashflow_sync as kfs
from _support import make_client, purchase
from kashflow_sync import errors
from kashflow_sync._account.items import LIST_NAMES
from kashflow_sync.testing import FakeKashFlow


def test_full_sync_matches_the_fake(client: kfs.KashFlowClient, fake: FakeKashFlow) -> None:
    """After connect() every list holds exactly the fake's items, ids and human keys apart."""
    lists = client.lists
    assert {(n.kashflow_id, n.code, n.name, n.archived) for n in lists.nominal_codes} == {
        (n.id, n.code, n.name, n.archived) for n in fake.nominal_codes
    }
    assert {(s.kashflow_id, s.code, s.name) for s in lists.suppliers} == {
        (s.supplier_id, s.code, s.name) for s in fake.suppliers
    }
    assert {(c.kashflow_id, c.code, c.name) for c in lists.customers} == {
        (c.customer_id, c.code, c.name) for c in fake.customers
    }
    assert {(p.kashflow_id, p.number, p.status) for p in lists.projects} == {
        (p.id, p.number, p.status) for p in fake.projects
    }
    assert {(b.kashflow_id, b.code) for b in lists.bank_accounts} == {
        (b.account_id, b.account_code) for b in fake.bank_accounts
    }
    assert {v.rate for v in lists.vat_rates} == {v.value for v in fake.vat_rates}
    assert {c.code for c in lists.currencies} == {c.currency_code for c in fake.currencies}
    assert [m.name for m in lists.purchase_payment_methods] == [
        m.method_name for m in fake.purchase_payment_methods
    ]
    assert [m.name for m in lists.sales_payment_methods] == [
        m.method_name for m in fake.sales_payment_methods
    ]


def test_internal_id_and_visible_code_are_kept_apart(client: kfs.KashFlowClient) -> None:
    """A nominal code's kashflow_id (for lines) differs from its visible code."""
    travel = client.lists.nominal_codes.find(7400)
    assert travel is not None and travel.code == 7400 and travel.kashflow_id != 7400
    assert client.lists.vat_rates.find(Decimal("20")) is not None
    assert any(p.archived for p in client.lists.projects)  # KashFlow's own archived status


def test_refresh_reports_removed_renamed_added_and_loses_nothing(
    client: kfs.KashFlowClient, fake: FakeKashFlow
) -> None:
    """Supplier removed, nominal renamed, project added: the diff says so; nothing deleted."""
    suppliers_before = len(client.lists.suppliers)
    client.rules.set_supplier_rule("Office Supplies Co", kfs.Rule(category=7500))
    fake.remove_supplier("Office Supplies Co")
    fake.rename_nominal_code(7500, "Stationery and printing")
    fake.add_project(77, "Website rebuild")

    report = client.refresh_lists()

    assert report["suppliers"].archived == 1
    assert report["nominal_codes"].changed == 1
    assert report["projects"].added == 1
    assert report["currencies"].unchanged == len(fake.currencies)
    gone = client.lists.suppliers.find("Office Supplies Co")
    assert gone is not None and gone.archived and gone.removed
    assert len(client.lists.suppliers) == suppliers_before
    nominal = client.lists.nominal_codes.find(7500)
    assert nominal is not None and nominal.name == "Stationery and printing"
    assert client.lists.projects.find(77) is not None
    assert client.rules.supplier_rule("Office Supplies Co") == kfs.Rule(category=7500)


def test_refresh_only_named_lists(client: kfs.KashFlowClient, fake: FakeKashFlow) -> None:
    """refresh_lists(only=...) pulls just those lists."""
    fake.reset_calls()
    report = client.refresh_lists(only=["projects", "vat_rates"])
    assert set(report.lists) == {"projects", "vat_rates"}
    assert {c.operation for c in fake.calls} == {"GetProjects_Full", "GetVATRates"}


def test_unknown_list_name_is_refused(client: kfs.KashFlowClient) -> None:
    """A misspelt list name is a ValueError naming the known ones."""
    with pytest.raises(ValueError, match="suppliers"):
        client.refresh_lists(only=["supplier"])


def test_interrupted_refresh_leaves_previous_lists_intact(
    client: kfs.KashFlowClient, fake: FakeKashFlow
) -> None:
    """A fault part-way: lists not yet refreshed keep their old values, none is half-written."""
    before = {name: tuple(client.lists.get(name)) for name in ("customers", "projects")}
    fake.add_customer("Late Arrival Ltd")
    fake.add_project(88, "Never seen")
    fake.faults.reset_before(op="GetProjects_Full", times=None)
    with pytest.raises(errors.TransientError):
        client.refresh_lists(only=["customers", "projects"])
    assert client.lists.customers.find("Late Arrival Ltd") is not None  # stored before the fault
    assert tuple(client.lists.projects) == before["projects"]  # untouched
    assert client.lists.projects.find(88) is None


def test_malformed_list_answer_keeps_old_list(
    client: kfs.KashFlowClient, fake: FakeKashFlow
) -> None:
    """A list answer cut short (not XML) never replaces the stored list."""
    before = tuple(client.lists.suppliers)
    fake.add_supplier("Ghost Ltd")
    fake.faults.malformed_response(op="GetSuppliers", times=None)
    with pytest.raises(errors.ProtocolError):
        client.refresh_lists(only=["suppliers"])
    assert tuple(client.lists.suppliers) == before


def test_two_connections_in_one_storage_are_kept_apart() -> None:
    """Two accounts, one storage: each client sees only its own lists and rules."""
    storage = kfs.MemoryStorage()
    fake_a, fake_b = FakeKashFlow(), FakeKashFlow(seed=None)
    fake_b.add_supplier("Only In B Ltd")
    with (
        make_client(fake_a, storage=storage, connection_id="a") as a,
        make_client(fake_b, storage=storage, connection_id="b") as b,
    ):
        a.connect()
        b.connect()
        a.rules.set_supplier_rule("Acme Paper Ltd", kfs.Rule(category=7500))
        assert b.lists.suppliers.find("Acme Paper Ltd") is None
        assert a.lists.suppliers.find("Only In B Ltd") is None
        assert b.rules.supplier_rule("Acme Paper Ltd") is None
        b.disconnect(purge=True)
        assert len(a.lists.suppliers) == len(fake_a.suppliers)
        assert len(storage.load_list("b", "suppliers")) == 0


def test_customers_refresh_incrementally_between_full_passes(
    client: kfs.KashFlowClient, fake: FakeKashFlow
) -> None:
    """A refresh after connect fetches only changed customers (GetCustomersModifiedSince)."""
    code = fake.customers[0].code
    fake.update_customer(code, name="Bloggs and Sons")
    fake.reset_calls()
    report = client.refresh_lists(only=["customers"])
    assert [c.operation for c in fake.calls] == ["GetCustomersModifiedSince"]
    assert report["customers"].changed == 1
    found = client.lists.customers.find(code)
    assert found is not None and found.name == "Bloggs and Sons"


def test_full_customer_pass_catches_deletions(fake: FakeKashFlow) -> None:
    """When the full-pass interval is due, customers come in full and deletions show."""
    from datetime import timedelta

    with make_client(fake, full_customer_sync_every=timedelta(0)) as client:
        client.connect()
        fake.remove_customer(fake.customers[0].code)
        fake.reset_calls()
        report = client.refresh_lists(only=["customers"])
    assert [c.operation for c in fake.calls] == ["GetCustomers"]
    assert report["customers"].archived == 1


def test_progress_is_reported_per_list(fake: FakeKashFlow) -> None:
    """The progress callback hears each list start and finish, in order."""
    events: list[kfs.SyncProgress] = []
    with make_client(fake) as client:
        client.connect(progress=events.append)
    stored = [e for e in events if e.phase == "stored"]
    assert [e.list_name for e in stored] == list(LIST_NAMES)
    assert stored[-1].index == stored[-1].total == 9
    assert next(e for e in stored if e.list_name == "suppliers").items == len(fake.suppliers)


def test_sync_into_sqlite_survives_a_new_client(fake: FakeKashFlow, tmp_path: object) -> None:
    """Lists synced into SQLStorage are there for a later client without any network call."""
    url = f"sqlite:///{tmp_path}/kf.db"
    with make_client(fake, storage=kfs.SQLStorage(url)) as first:
        first.connect()
    fake.reset_calls()
    with make_client(fake, storage=kfs.SQLStorage(url)) as second:
        assert second.status is kfs.ConnectionStatus.CONNECTED
        assert len(second.lists.suppliers) == len(fake.suppliers)
    assert fake.calls == []


def test_customer_watermark_steps_back_a_margin(client: kfs.KashFlowClient) -> None:
    """The next incremental fetch starts a margin before the newest Updated stamp.

    A customer read early in a long fetch may change before a later one is stamped, and UK
    local stamps repeat an hour when the clocks go back; the margin covers both.
    """
    from kashflow_sync._engine.listsync import WATERMARK_MARGIN

    newest = max(c.updated for c in client.lists.customers if c.updated is not None)
    stored = client.storage.get_state(client.connection_id, "customers.modified_watermark")
    assert stored is not None
    assert datetime.fromisoformat(stored) == newest - WATERMARK_MARGIN
    assert timedelta(hours=1) <= WATERMARK_MARGIN


def test_a_long_lived_client_sees_a_refresh_another_client_made(fake: FakeKashFlow) -> None:
    """Lists are cached per client, but never past a sync that another client (a worker's
    refresh task, another process) stored: a supplier new in KashFlow is found, not created
    a second time."""
    storage = kfs.MemoryStorage()
    with make_client(fake, storage=storage) as worker, make_client(fake, storage=storage) as cron:
        worker.connect()
        assert worker.lists.suppliers.find("Brand New Supplies") is None  # cached now
        fake.add_supplier("Brand New Supplies", code="BRANDNEW")
        cron.refresh_lists(only=["suppliers"])

        assert worker.lists.suppliers.find("Brand New Supplies") is not None
        doc = attrs.evolve(purchase(1, prefix="after-refresh"), supplier="Brand New Supplies")
        fake.reset_calls()
        worker.publish(doc)
        assert fake.calls_to("InsertSupplier") == []
        new = next(s for s in fake.suppliers if s.name == "Brand New Supplies")
        assert [r.contact_id for r in fake.receipts] == [new.supplier_id]


def test_lists_are_reread_only_when_their_version_changes(fake: FakeKashFlow) -> None:
    """Reading the lists costs one small state read while nothing changed: no list reloads."""
    loads: list[str] = []

    class Counting(kfs.MemoryStorage):
        def load_list(self, connection_id: str, name: str) -> Any:
            loads.append(name)
            return super().load_list(connection_id, name)

    storage = Counting()
    with make_client(fake, storage=storage) as client:
        client.connect()
        client.lists.for_kind("purchase")
        loads.clear()
        for _ in range(3):
            client.lists.for_kind("purchase")
            assert client.lists.suppliers
        assert loads == []
        client.refresh_lists(only=["projects"])
        client.lists.for_kind("purchase")
        assert "suppliers" in loads  # a sync may have changed any list: all are read again


def test_a_publish_reads_the_lists_version_once(fake: FakeKashFlow) -> None:
    """Rules and validation share one snapshot: one version read per publish, not two."""
    reads: list[str] = []

    class Counting(kfs.MemoryStorage):
        def get_state(self, connection_id: str, key: str) -> Any:
            reads.append(key)
            return super().get_state(connection_id, key)

    with make_client(fake, storage=Counting()) as client:
        client.connect()
        client.publish(purchase(1, prefix="version"))
        reads.clear()
        client.publish(purchase(2, prefix="version"))
        assert reads.count("lists.version") == 1
        # Outside a publish, the rules still read the live lists.
        assert client.resolve(purchase(3, prefix="version")).document.supplier == "Acme Paper Ltd"
