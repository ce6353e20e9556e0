"""A supplier the SDK creates is in the local lists at once, for every client of the storage."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

import kashflow_sync as kfs
from _clients import KINDS, any_client
from _support import make_client
from kashflow_sync.testing import FakeKashFlow


def doc(n: int, supplier: str = "Brand New Supplies") -> kfs.PurchaseInvoice:
    """A purchase from *supplier*, numbered *n*."""
    return kfs.PurchaseInvoice(
        external_id=f"new-{n}",
        supplier=supplier,
        reference=f"BN-{n}",
        issue_date=date(2026, 11, 2),
        lines=[kfs.Line(net=Decimal("10.00"), vat_rate=Decimal("20"), category=7500)],
    )


@pytest.mark.parametrize("kind", KINDS)
def test_created_supplier_is_in_the_lists_without_a_refresh(kind: str, fake: FakeKashFlow) -> None:
    """After publishing creates a supplier, the client's lists hold it with KashFlow's id."""
    with any_client(kind, fake) as client:
        client.connect()
        before = len(client.lists.suppliers)
        client.publish(doc(1))
        [created] = [s for s in fake.suppliers if s.name == "Brand New Supplies"]
        found = client.lists.suppliers.find("Brand New Supplies")
        assert found is not None and found.kashflow_id == created.supplier_id
        assert found.code == created.code
        assert len(client.lists.suppliers) == before + 1


@pytest.mark.parametrize("kind", KINDS)
def test_next_document_naming_it_creates_nothing_and_says_nothing(
    kind: str, fake: FakeKashFlow
) -> None:
    """The next document from the new supplier is matched: no 'will create supplier' notice."""
    with any_client(kind, fake) as client:
        client.connect()
        client.publish(doc(1))
        assert client.validate(doc(2), include_notices=True) == []
        fake.reset_calls()
        client.publish(doc(2))
        assert "GetSupplier" not in [c.operation for c in fake.calls]
        assert [s.name for s in fake.suppliers].count("Brand New Supplies") == 1


def test_another_client_of_the_storage_sees_it(fake: FakeKashFlow) -> None:
    """A long-lived client that loaded the lists earlier sees the new supplier at once."""
    storage = kfs.MemoryStorage()
    with make_client(fake, storage=storage) as worker, make_client(fake, storage=storage) as other:
        worker.connect()
        assert other.lists.suppliers.find("Brand New Supplies") is None  # loaded and cached
        worker.publish(doc(1))
        assert other.lists.suppliers.find("Brand New Supplies") is not None
        assert other.validate(doc(2), include_notices=True) == []


def test_sql_storage_clients_see_it(fake: FakeKashFlow, tmp_path: object) -> None:
    """On SQLStorage too: another client of the database sees the new supplier, no refresh."""
    url = f"sqlite:///{tmp_path}/kf.db"
    with kfs.SQLStorage(url) as first_db, kfs.SQLStorage(url) as second_db:
        with make_client(fake, storage=first_db) as worker:
            worker.connect()
            with make_client(fake, storage=second_db) as other:
                count = len(other.lists.suppliers)
                worker.publish(doc(1))
                assert len(other.lists.suppliers) == count + 1


def test_journal_hides_the_lists_lease(client: kfs.KashFlowClient) -> None:
    """The lease taken on the stored list while adding a contact is not a journal entry to show."""
    client.publish(doc(1))
    shown = [e.external_id for e in client.journal(include_contacts=True)]
    assert any("contact:" in external_id for external_id in shown)
    assert not any("lists:" in external_id for external_id in shown)
