"""The doctor's parts: stored facts, the read-only guard, the delete calls, the clock check."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

import kashflow_sync as kfs
from kashflow_sync import errors
from kashflow_sync._account.facts import save_account_facts
from kashflow_sync._doctor.model import DoctorReport
from kashflow_sync._doctor.run import DoctorOptions, run_doctor
from kashflow_sync._doctor.session import DoctorSession, is_write
from kashflow_sync._storage_keys import ACCOUNT_FACTS
from kashflow_sync.soap import operations
from kashflow_sync.testing import FakeKashFlow, Readings

LEARNED = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)

# ---------------------------------------------------------------------------- facts


def test_stored_facts_hold_no_secret() -> None:
    """What is stored is facts only: never the credentials it was learned with."""
    fake = FakeKashFlow()
    fake.allow_ip("127.0.0.1")
    storage = kfs.MemoryStorage()
    report = run_doctor(
        DoctorOptions(
            endpoint=fake.url,
            credentials=fake.credentials,
            probe_writes=True,
            transport=fake.transport(),
            client_factory=_no_wait_client,
        )
    )
    assert report.facts is not None
    save_account_facts(storage, "default", report.facts)
    stored = storage.get_state("default", ACCOUNT_FACTS) or ""
    assert fake.password not in stored and (fake.autoauth_key or "") not in stored
    assert "rate_decimals" in stored


def _no_wait_client(*args: object, **kwargs: object) -> kfs.KashFlowClient:
    return kfs.KashFlowClient(
        *args,  # type: ignore[arg-type]
        retry=kfs.RetryPolicy.no_wait(),
        **kwargs,  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------------------- the session


@pytest.fixture
def read_only(fake: FakeKashFlow) -> Iterator[DoctorSession]:
    with DoctorSession(fake.url, fake.credentials, transport=fake.transport()) as session:
        yield session


@pytest.mark.parametrize(
    ("operation", "write"),
    [
        ("GetReceipt", False),
        ("GetCurrencies", False),
        ("AutoAuthIP", True),
        ("InsertSupplier", True),
        ("AttachFileToReceipt", True),
        ("DeleteReceipt", True),
    ],
)
def test_only_lookups_count_as_reads(operation: str, write: bool) -> None:
    """Every operation but a Get... lookup counts as a write, AutoAuthIP included."""
    assert is_write(operation) is write


@pytest.mark.parametrize(
    "request_",
    [operations.auto_auth_ip("doctor"), operations.insert_contact("purchase", "X")],
    ids=["AutoAuthIP", "InsertSupplier"],
)
def test_read_only_session_refuses_writes_before_sending(
    read_only: DoctorSession, fake: FakeKashFlow, request_: object
) -> None:
    """A write through a read-only session raises before any byte reaches KashFlow."""
    with pytest.raises(errors.KashFlowError) as caught:
        read_only.exchange(request_)  # type: ignore[arg-type]
    assert caught.value.code == "doctor_write_refused"
    assert fake.calls == []


def test_session_logs_every_request(read_only: DoctorSession) -> None:
    """Each request sent is logged with its operation, write flag and HTTP status."""
    read_only.exchange(operations.fetch_list("currencies"))
    [sent] = read_only.sent
    assert (sent.operation, sent.write, sent.http_status) == ("GetCurrencies", False, 200)


@pytest.mark.parametrize("reading", ["status_no", "empty_object"])
@pytest.mark.parametrize(
    "request_",
    [
        operations.delete_receipt(999),
        operations.delete_supplier(999),
        operations.delete_receipt_payment(999),
        operations.delete_receipt_attachment(999, 999),
        operations.delete_customer(999),
        operations.delete_invoice(999),
        operations.delete_invoice_payment(999, 999),
    ],
    ids=[
        "DeleteReceipt",
        "DeleteSupplier",
        "DeleteReceiptPayment",
        "DeleteReceiptAttachment",
        "DeleteCustomer",
        "DeleteInvoice",
        "DeleteInvoicePayment",
    ],
)
def test_deleting_what_is_not_there_reads_as_nothing_deleted(
    fake: FakeKashFlow, reading: str, request_: object
) -> None:
    """Under either not-found reading a delete of something absent answers 0, not an error."""
    if reading == "empty_object" and request_.operation == "DeleteInvoicePayment":  # type: ignore[attr-defined]
        pytest.skip("its answer has no result to be 0: see the test below")
    fake.readings = Readings(not_found=reading)  # type: ignore[arg-type]
    with DoctorSession(
        fake.url, fake.credentials, allow_writes=True, transport=fake.transport()
    ) as session:
        assert session.call(request_) == 0  # type: ignore[arg-type]


def test_deleting_an_absent_invoice_payment_under_empty_object_answers_ok(
    fake: FakeKashFlow,
) -> None:
    """Under the empty-object reading DeleteInvoicePayment of nothing answers Status OK."""
    fake.readings = Readings(not_found="empty_object")
    with DoctorSession(
        fake.url, fake.credentials, allow_writes=True, transport=fake.transport()
    ) as session:
        sent = session.exchange(operations.delete_invoice_payment(999, 999))
    assert (sent.status, sent.error) == ("OK", None)
    assert fake.errors == []


def test_deletes_are_never_repeated_blindly() -> None:
    """Delete calls are not idempotent: a number may be handed out again once deleted."""
    for request in (
        operations.delete_receipt(1),
        operations.delete_supplier(1),
        operations.delete_receipt_payment(1),
        operations.delete_receipt_attachment(1, 1),
        operations.delete_customer(1),
        operations.delete_invoice(1),
        operations.delete_invoice_payment(1, 1),
        operations.apply_credit_note(1, 2),
    ):
        assert request.idempotent is False


def test_delete_supplier_removes_it(fake: FakeKashFlow) -> None:
    """DeleteSupplier by id answers 1 and the supplier is gone."""
    supplier = fake.add_supplier("Throwaway Ltd", "THROW01")
    with DoctorSession(
        fake.url, fake.credentials, allow_writes=True, transport=fake.transport()
    ) as session:
        assert session.call(operations.delete_supplier(supplier.kashflow_id)) == 1
    assert fake.find_supplier("THROW01") is None


def test_delete_customer_removes_it(fake: FakeKashFlow) -> None:
    """DeleteCustomer by id answers 1 and the customer is gone."""
    customer = fake.add_customer("Throwaway Customer", "THROW02")
    with DoctorSession(
        fake.url, fake.credentials, allow_writes=True, transport=fake.transport()
    ) as session:
        assert session.call(operations.delete_customer(customer.kashflow_id)) == 1
    assert fake.find_customer("THROW02") is None


# ---------------------------------------------------------------------------- the clock


def _skewed_run(offset: timedelta) -> DoctorReport:
    with FakeKashFlow.serve() as fake:
        fake.allow_ip("127.0.0.1")
        return run_doctor(
            DoctorOptions(
                endpoint=fake.url,
                credentials=fake.credentials,
                now=lambda: datetime.now(timezone.utc) + offset,
                client_factory=_no_wait_client,
            )
        )


def test_a_clock_ten_minutes_fast_is_a_problem() -> None:
    """This machine ten minutes ahead of KashFlow's Date header: a clock problem with a remedy."""
    report = _skewed_run(timedelta(minutes=10))
    [clock] = [c for c in report.checks if c.key == "clock"]
    assert clock.outcome == "problem" and "NTP" in clock.remedy
    assert report.facts is not None and report.facts.clock_skew is not None
    assert -602 < report.facts.clock_skew < -598


def test_a_clock_in_step_is_ok() -> None:
    """A clock within a second or two of KashFlow's is fine."""
    [clock] = [c for c in _skewed_run(timedelta(0)).checks if c.key == "clock"]
    assert clock.outcome == "ok"


def test_no_date_header_skips_the_clock_check(fake: FakeKashFlow) -> None:
    """In-process (no Date header) the clock check says it could not check."""
    report = run_doctor(
        DoctorOptions(
            endpoint=fake.url,
            credentials=fake.credentials,
            transport=fake.transport(),
            client_factory=_no_wait_client,
        )
    )
    [clock] = [c for c in report.checks if c.key == "clock"]
    assert clock.outcome == "skipped"


def test_probe_lines_are_awkward_on_purpose(fake: FakeKashFlow) -> None:
    """The probe receipt has 100.00 over 3 and rates exactly on a half at 2 and 4 decimals."""
    run_doctor(
        DoctorOptions(
            endpoint=fake.url,
            credentials=fake.credentials,
            probe_writes=True,
            transport=fake.transport(),
            client_factory=_no_wait_client,
        )
    )
    [first, *_] = fake.calls_to("InsertReceipt")
    lines = first.params["Inv"]["Lines"]  # type: ignore[index]
    rates = {(line["Quantity"], line["Rate"]) for line in lines}
    assert (Decimal(3), Decimal("33.333333")) in rates
    assert {(Decimal(1), Decimal(r)) for r in ("1.005", "1.015", "1.00005", "1.00015")} <= rates


@pytest.mark.parametrize(
    ("text", "count"), [("1", 1), ("0", 0), ("-1", -1), ("²", 0), ("x", 0), ("", 0)]
)
def test_a_delete_or_autoauth_count_reads_only_plain_digits(text: str, count: int) -> None:
    """'²' passes str.isdigit but int() refuses it: read as 0, never an unmapped ValueError."""
    from lxml import etree

    for request in (operations.delete_receipt(1), operations.auto_auth_ip("tests")):
        op = request.operation
        answer = etree.fromstring(
            f'<r xmlns="KashFlow"><{op}Result>{text}</{op}Result></r>'.encode()
        )
        assert request.read(answer) == count
