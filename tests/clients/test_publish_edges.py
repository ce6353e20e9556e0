"""Exactly-once at the edges: threads of one client, changed content, odd input, failures."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest

import kashflow_sync as kfs
from _support import make_client, purchase
from kashflow_sync import errors
from kashflow_sync.soap.codec import Request
from kashflow_sync.testing import FakeKashFlow


def test_two_threads_of_one_client_publish_a_document_once(fake: FakeKashFlow) -> None:
    """The same document from two threads of one client: one receipt, both told so."""
    fake.faults.delay(0.05, times=None)
    doc = purchase(1)
    results: list[object] = []
    with make_client(fake) as client:
        client.connect()
        threads = [
            threading.Thread(target=lambda: results.append(client.publish(doc))) for _ in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(r.status for r in results) == ["already_published", "published"]  # type: ignore[attr-defined]
    assert len(fake.receipts) == 1


def test_repeated_document_in_one_batch_lands_once(
    client: kfs.KashFlowClient, fake: FakeKashFlow
) -> None:
    """publish_many([doc, doc]) creates one receipt; the other item is already_published."""
    batch = client.publish_many([purchase(2), purchase(2)], concurrency=2)
    assert sorted(i.result.status for i in batch) == ["already_published", "published"]  # type: ignore[union-attr]
    assert len(fake.receipts) == 1


def test_changed_content_after_publishing_is_refused(
    client: kfs.KashFlowClient, fake: FakeKashFlow
) -> None:
    """Same external_id, different content, after publishing: changed_after_publishing."""
    client.publish(purchase(3))
    changed = attrs.evolve(purchase(3), reference="OTHER-REF")
    with pytest.raises(errors.ValidationError) as info:
        client.publish(changed)
    assert [p.code for p in info.value.problems] == ["changed_after_publishing"]
    assert len(fake.receipts) == 1


def test_changed_content_after_uncertain_send_is_not_sent(fake: FakeKashFlow) -> None:
    """A corrected document after an uncertain send: no second copy, changed_while_uncertain."""
    with make_client(fake, check_ledger_duplicates=False) as client:
        client.connect()
        fake.faults.drop_response(op="InsertReceipt", times=1)
        fake.faults.reset_before(op="GetReceiptsForSupplier", times=None)
        with pytest.raises(errors.PublishUncertainError):
            client.publish(purchase(4, attach=False, pay=False))
        fake.faults.clear()
        corrected = attrs.evolve(purchase(4, attach=False, pay=False), reference="FIXED")
        with pytest.raises(errors.PublishUncertainError) as info:
            client.publish(corrected)
        assert info.value.code == "changed_while_uncertain"
        assert client.publish(purchase(4, attach=False, pay=False)).status == "published"
    assert len(fake.receipts) == 1


def test_a_rule_change_is_not_a_content_change(client: kfs.KashFlowClient) -> None:
    """Republishing the same input after a rule changed still gives already_published."""
    doc = attrs.evolve(purchase(5), lines=[kfs.Line(net=Decimal("10"), vat_rate=Decimal("20"))])
    client.rules.set_supplier_rule("Acme Paper Ltd", kfs.Rule(category=7500))
    client.publish(doc)
    client.rules.set_supplier_rule("Acme Paper Ltd", kfs.Rule(category=7400))
    assert client.publish(doc).status == "already_published"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("supplier", "  Acme Paper Ltd "),
        ("payment", kfs.Payment(method=" Credit card ", bank_account=" Current account ")),
        ("payment", kfs.Payment(method="3", bank_account=1200)),
        ("currency", " GBP"),
    ],
)
def test_what_validates_is_what_is_sent(
    client: kfs.KashFlowClient, fake: FakeKashFlow, field: str, value: object
) -> None:
    """Spaces, ids as text: validation and publishing look things up the same way."""
    doc = attrs.evolve(purchase(6), **{field: value})
    assert client.validate(doc) == []
    client.publish(doc)
    assert len(fake.suppliers) == 3  # no copy of Acme created
    assert len(fake.payments) == 1


def test_failure_outside_kashflow_releases_the_document(fake: FakeKashFlow) -> None:
    """An unexpected exception mid-publish is recorded and frees the document at once."""
    with make_client(fake, publish_lease=timedelta(hours=1)) as client:
        client.connect()
        original = client._service.call

        def boom(request: Request[Any]) -> Any:
            if request.operation == "InsertReceipt":
                raise RuntimeError("disk on fire")
            return original(request)

        client._service.call = boom  # type: ignore[method-assign]
        with pytest.raises(RuntimeError):
            client.publish(purchase(7))
        client._service.call = original  # type: ignore[method-assign]
        entry = client.storage.get_journal(client.connection_id, "doc-7")
        assert entry is not None and entry.owner is None
        assert ("publish", "failed") in [(a.step, a.outcome) for a in entry.attempts]
        assert client.publish(purchase(7)).status == "published"  # no wait for the lease


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"external_id": ""}, ValueError),
        ({"external_id": 42}, TypeError),
        ({"external_id": "kashflow_sync:contact:x"}, ValueError),
        ({"payment": {"method": "Cash"}}, TypeError),
        ({"attachment": b"%PDF"}, TypeError),
    ],
)
def test_bad_document_input_is_refused_at_construction(
    kwargs: dict[str, object], error: type
) -> None:
    """Wrong types and empty ids fail when the document is built, with a clear message."""
    fields: dict[str, object] = {
        "external_id": "x",
        "supplier": "Acme",
        "reference": "R",
        "issue_date": date(2026, 11, 2),
        "lines": [],
        **kwargs,
    }
    with pytest.raises(error):
        kfs.PurchaseInvoice(**fields)  # type: ignore[arg-type]


def test_absurd_amount_is_refused_at_construction() -> None:
    """An amount no invoice has (1e30) is a ValueError, not an overflow later."""
    with pytest.raises(ValueError, match="too large"):
        kfs.Line(net=Decimal("1e30"))


def test_uncertain_contact_creation_is_found_not_repeated(
    client: kfs.KashFlowClient, fake: FakeKashFlow
) -> None:
    """A lost answer to InsertSupplier: the supplier is found by its code, not created twice."""
    fake.faults.drop_response(op="InsertSupplier", times=1)
    doc = attrs.evolve(purchase(9), supplier="Lost Answer Ltd")
    assert client.publish(doc).status == "published"
    assert [s.name for s in fake.suppliers].count("Lost Answer Ltd") == 1
    assert len(fake.calls_to("InsertSupplier")) == 1
    assert len(fake.receipts) == 1


def test_code_of_an_uncertain_new_contact_is_never_someone_elses(
    client: kfs.KashFlowClient, fake: FakeKashFlow
) -> None:
    """Another new contact takes the code an uncertain one chose: no receipt goes to it."""
    fake.faults.http_error(500, op="InsertSupplier", times=1)  # refused before applying
    first = attrs.evolve(purchase(10, attach=False, pay=False), supplier="Acme Paperclips Ltd")
    with pytest.raises(errors.KashFlowError):
        client.publish(first)
    # "Acme Papers Inc" is a near-miss of "Acme Paper Ltd": said to be a new supplier.
    other = attrs.evolve(
        purchase(11, attach=False, pay=False), supplier="Acme Papers Inc", create_contact=True
    )
    client.publish(other)
    result = client.publish(first)
    receipt = fake.receipt(result.number)
    owner = fake.find_supplier("Acme Paperclips Ltd")
    assert receipt is not None and owner is not None
    assert receipt.customer_id == owner.supplier_id


def test_blank_reference_reconcile_never_adopts_another_items_invoice(
    client: kfs.KashFlowClient, fake: FakeKashFlow
) -> None:
    """Two alike sales invoices without reference: an uncertain send creates the second."""

    def sale(external_id: str) -> kfs.SalesInvoice:
        return kfs.SalesInvoice(
            external_id=external_id,
            customer="Bloggs & Co",
            reference="",
            issue_date=date(2026, 11, 4),
            lines=[kfs.Line(net=Decimal("50"), vat_rate=Decimal("20"), category=4000)],
            payment=kfs.Payment(
                method=fake.sales_payment_methods[0].method_name, bank_account=1200
            ),
        )

    first = client.publish(sale("s-1"))
    fake.faults.http_error(500, op="InsertInvoice", times=1)
    second = client.publish(sale("s-2"))
    assert second.number != first.number
    assert len(fake.invoices) == 2
    assert sorted(p.pay_invoice for p in fake.payments) == sorted([first.number, second.number])


def test_publish_started_inside_another_publish_keeps_both_leases(fake: FakeKashFlow) -> None:
    """A publish begun on the same thread while another is inside its insert: both succeed.

    Regression: the lease owner used to be per thread, so the inner publish took the outer's
    owner and the outer ended in lease_lost with its receipt in KashFlow and its journal
    stuck at ``sending``.
    """
    with make_client(fake) as client:
        client.connect()
        original = client._service.call
        inner: list[kfs.PublishResult] = []
        started: list[bool] = []

        def reentrant(request: Request[Any]) -> Any:
            if request.operation == "InsertReceipt" and not started:
                started.append(True)
                inner.append(client.publish(purchase(21)))  # e.g. from a progress hook
            return original(request)

        client._service.call = reentrant  # type: ignore[method-assign]
        outer = client.publish(purchase(20))
        entries = [client.storage.get_journal(client.connection_id, f"doc-{i}") for i in (20, 21)]
    assert (outer.status, inner[0].status) == ("published", "published")
    assert [(e.state, e.owner) for e in entries if e] == [("published", None)] * 2
    assert len(fake.receipts) == 2


def test_calls_after_close_say_the_client_is_closed(fake: FakeKashFlow) -> None:
    """After close(), a network call is a KashFlowError with code client_closed."""
    client = make_client(fake)
    client.connect()
    client.close()
    for call in (client.connect, lambda: client.publish(purchase(1)), client.refresh_lists):
        with pytest.raises(errors.KashFlowError) as info:
            call()
        assert info.value.code == "client_closed"


def test_repr_reads_no_storage(fake: FakeKashFlow) -> None:
    """repr() of a client never touches its storage (which may be a remote database)."""

    class Unreachable(kfs.MemoryStorage):
        def get_state(self, connection_id: str, key: str) -> str | None:
            raise AssertionError("repr queried storage")

    with make_client(fake, storage=Unreachable()) as client:
        text = repr(client)
    assert "connection_id='default'" in text and fake.credentials.password not in text
