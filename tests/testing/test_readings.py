"""Right under every reading of KashFlow's unconfirmed behaviour (SOAP notes, section 8).

The fake plays each reading (``Readings``); the SDK must land the same ledger under all of them:
totals to the penny, euros in euros, lookups right whether "not found" is Status NO or an empty
object, success decided by Status alone, refusals mapped with remedies.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import attrs
import pytest

import kashflow_sync as kfs
from _support import ledger_check, make_client, purchase
from kashflow_sync import errors
from kashflow_sync.soap import operations
from kashflow_sync.soap.codec import Request
from kashflow_sync.testing import FakeKashFlow, Readings

ALL = Readings.alternatives()
D = Decimal


@pytest.fixture(params=list(ALL.values()), ids=list(ALL))
def reading(request: pytest.FixtureRequest) -> Readings:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def played(reading: Readings) -> Iterator[tuple[FakeKashFlow, kfs.KashFlowClient]]:
    """A fake playing *reading*, and a connected client for it."""
    fake = FakeKashFlow(readings=reading)
    with make_client(fake) as client:
        client.connect()
        yield fake, client


def awkward(external_id: str = "awk-1", currency: str = "GBP") -> kfs.PurchaseInvoice:
    """The issue's document: 100.00 x 3, 10.00 x 7, 0.99 x 4, VAT 20% (gross 133.19)."""
    return kfs.PurchaseInvoice(
        external_id=external_id,
        supplier="Acme Paper Ltd",
        reference=f"REF-{external_id}",
        issue_date=date(2026, 11, 2),
        currency=currency,
        lines=[
            kfs.Line(
                description=text,
                net=D(net),
                quantity=D(qty),
                vat_rate=D("20"),
                category=7500,
            )
            for text, net, qty in (
                ("Reams", "100.00", 3),
                ("Pens", "10.00", 7),
                ("Clips", "0.99", 4),
            )
        ],
    )


def test_awkward_quantities_land_to_the_penny(
    played: tuple[FakeKashFlow, kfs.KashFlowClient],
) -> None:
    """The ledger's net and VAT equal the document's, whatever KashFlow keeps of a rate."""
    fake, client = played
    doc = client.resolve(awkward()).document
    client.publish(awkward())
    [receipt] = fake.receipts
    assert (receipt.net, receipt.vat) == (doc.net, doc.vat) == (D("110.99"), D("22.20"))


def test_lines_that_divide_evenly_keep_their_quantity(
    played: tuple[FakeKashFlow, kfs.KashFlowClient],
) -> None:
    """10.00 x 4 goes as 4 at 2.50; 100.00 x 3 as 1 at 100.00 with the quantity in its text."""
    fake, client = played
    doc = attrs.evolve(
        awkward(),
        lines=[
            kfs.Line(
                description="Pads", net=D("10.00"), quantity=D(4), vat_rate=D("20"), category=7500
            ),
            kfs.Line(
                description="Reams", net=D("100.00"), quantity=D(3), vat_rate=D("20"), category=7500
            ),
        ],
    )
    client.publish(doc)
    lines = fake.receipts[0].lines
    assert [(line.quantity, line.rate) for line in lines] == [
        (D(4), D("2.50")),
        (D(1), D("100.00")),
    ]
    assert lines[1].description == "Reams (3 x 33.3333)"


def test_euro_lines_carry_values_in_currency_and_land_in_euros(
    played: tuple[FakeKashFlow, kfs.KashFlowClient],
) -> None:
    """A EUR receipt's lines say ValuesInCurrency=1, so KashFlow keeps them in euros."""
    fake, client = played
    client.publish(awkward(currency="EUR"))
    [receipt] = fake.receipts
    assert receipt.currency == "EUR"
    assert (receipt.net, receipt.vat) == (D("110.99"), D("22.20"))
    assert all(line.values_in_currency == 1 for line in receipt.lines)


def test_home_currency_lines_do_not_claim_a_foreign_currency(
    played: tuple[FakeKashFlow, kfs.KashFlowClient],
) -> None:
    """A GBP receipt's lines carry no ValuesInCurrency flag."""
    fake, client = played
    client.publish(awkward())
    assert all(not line.values_in_currency for line in fake.receipts[0].lines)


def test_new_supplier_is_created_once_and_found_again(
    played: tuple[FakeKashFlow, kfs.KashFlowClient],
) -> None:
    """A new supplier is inserted under its name's code once; a second document reuses it."""
    fake, client = played
    first = attrs.evolve(purchase(1), supplier="Brand New Ltd")
    second = attrs.evolve(purchase(2), supplier="Brand New Ltd")
    if not fake.readings.dropbox_connected:
        first, second = (attrs.evolve(d, attachment=None) for d in (first, second))
    client.publish(first)
    client.publish(second)
    assert [s.name for s in fake.suppliers].count("Brand New Ltd") == 1


def test_supplier_another_connection_created_is_adopted(
    played: tuple[FakeKashFlow, kfs.KashFlowClient],
) -> None:
    """Its code taken by the same name (another connection's): one lookup reads it under every
    reading, and the receipt goes to it; no second supplier."""
    from kashflow_sync._engine.contacts import contact_code

    fake, client = played
    made = fake.add_supplier("Brand New Ltd", code=contact_code("Brand New Ltd"))
    fake.reset_calls()
    doc = attrs.evolve(purchase(5, attach=False), supplier="Brand New Ltd")
    receipt = fake.receipt(client.publish(doc).number)
    assert receipt is not None and receipt.customer_id == made.supplier_id
    assert [s.name for s in fake.suppliers].count("Brand New Ltd") == 1
    ops = [c.operation for c in fake.calls]
    assert (ops.count("InsertSupplier"), ops.count("GetSupplier")) == (1, 1)


def test_uncertain_create_is_reconciled_not_resent(
    played: tuple[FakeKashFlow, kfs.KashFlowClient],
) -> None:
    """A lost answer to InsertReceipt: the lookup finds it under every reading; one receipt."""
    fake, client = played
    doc = purchase(3, attach=fake.readings.dropbox_connected)
    fake.faults.drop_response(op="InsertReceipt", times=1)
    assert client.publish(doc).status == "published"
    assert ledger_check(fake, [doc]) == (0, 0)
    assert len(fake.receipts) == 1


def test_resumed_attachment_and_payment_are_looked_up_not_resent(
    played: tuple[FakeKashFlow, kfs.KashFlowClient],
) -> None:
    """Lost answers to the attachment and payment: found by lookups, never sent twice."""
    fake, client = played
    doc = purchase(4, attach=fake.readings.dropbox_connected)
    fake.faults.drop_response(op="AttachFileToReceipt", times=1)
    fake.faults.drop_response(op="InsertReceiptPayment", times=1)
    client.publish(doc)
    assert ledger_check(fake, [doc]) == (0, 0)


def test_lookups_of_what_does_not_exist_answer_nothing(
    played: tuple[FakeKashFlow, kfs.KashFlowClient],
) -> None:
    """Every lookup of something absent is None or [] under either not-found reading."""
    _fake, client = played
    service = client._service
    assert service.call(operations.find_contact("purchase", "NOSUCH99")) is None
    assert service.call(operations.get_document("purchase", 987654)) is None
    assert service.call(operations.get_document("sales", 987654)) is None
    assert service.call(operations.payments("purchase", 987654)) == []
    assert service.call(operations.receipt_attachments(987654)) == []


def test_success_is_decided_by_status_alone() -> None:
    """A note in StatusDetail on every successful answer changes nothing."""
    fake = FakeKashFlow(readings=Readings(success_note="Note: this call will change soon."))
    with make_client(fake) as client:
        client.connect()
        assert client.publish(purchase(5)).status == "published"
    assert ledger_check(fake, [purchase(5)]) == (0, 0)


def test_attachment_refused_without_dropbox_leaves_the_document_published_and_paid() -> None:
    """No Dropbox: a typed refusal with a remedy; receipt and payment stay; later only the file."""
    fake = FakeKashFlow(readings=Readings(dropbox_connected=False))
    doc = purchase(6)
    with make_client(fake) as client:
        client.connect()
        with pytest.raises(errors.RejectedError) as info:
            client.publish(doc)
        assert info.value.code == "attachment_storage_not_connected"
        assert "Dropbox" in info.value.remedy
        assert (len(fake.receipts), len(fake.payments), len(fake.attachments)) == (1, 1, 0)
        fake.set_readings(dropbox_connected=True)
        fake.reset_calls()
        assert client.publish(doc).status == "published"
    writes = [c.operation for c in fake.calls if c.operation.startswith(("Insert", "Attach"))]
    assert writes == ["AttachFileToReceipt"]
    assert ledger_check(fake, [doc]) == (0, 0)


def test_a_code_taken_just_before_the_insert_is_replaced(fake: FakeKashFlow) -> None:
    """Another name takes the new supplier's code as it is sent: the name's second code, once."""
    from kashflow_sync._engine.contacts import contact_code

    doc = attrs.evolve(purchase(7, attach=False, pay=False), supplier="Brand New Ltd")
    first = contact_code("Brand New Ltd")
    with make_client(fake) as client:
        client.connect()
        original = client._service.call

        def racing(request: Request[Any]) -> Any:
            if request.operation == "InsertSupplier" and request.params["supl"]["Code"] == first:
                fake.add_supplier("Someone Else Ltd", code=first)  # got there first
            return original(request)

        client._service.call = racing  # type: ignore[method-assign]
        client.publish(doc)
    created = [s for s in fake.suppliers if s.name == "Brand New Ltd"]
    assert [s.code for s in created] == [contact_code("Brand New Ltd", 1)]


@pytest.mark.parametrize(("learned", "quantity"), [(None, D(1)), (2, D(1)), (4, D(4)), (6, D(4))])
def test_a_learned_rate_precision_keeps_more_quantities(
    fake: FakeKashFlow, learned: int | None, quantity: Decimal
) -> None:
    """0.99 x 4 needs a 4-dp rate: sent with its quantity only when doctor learned 4 are kept."""
    from datetime import datetime, timezone

    from kashflow_sync._account.facts import AccountFacts, save_account_facts

    doc = attrs.evolve(
        awkward(),
        lines=[
            kfs.Line(
                description="Clips", net=D("0.99"), quantity=D(4), vat_rate=D("20"), category=7500
            )
        ],
    )
    with make_client(fake) as client:
        client.connect()
        if learned is not None:
            facts = AccountFacts(
                learned_at=datetime.now(timezone.utc), sdk_version="test", rate_decimals=learned
            )
            save_account_facts(client.storage, client.connection_id, facts)
        client.publish(doc)
    [line] = fake.receipts[0].lines
    assert line.quantity == quantity
    assert fake.receipts[0].net == D("0.99")
