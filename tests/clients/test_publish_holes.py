"""Inputs KashFlow or the journal cannot hold stop a publish before any request, on every storage.

Each input once half-published or raised an untyped error (issue 12, item 6). Each is published
through ``client.publish`` against the in-process fake, on SQLite and on PostgreSQL, and must
end in a typed error with nothing in the fake and no journal entry, or, for an insert answer
the SDK cannot read, in the one document KashFlow holds.
"""

from __future__ import annotations

import itertools
import os
import re
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kashflow_sync as kfs
from _support import make_client, purchase
from kashflow_sync import errors
from kashflow_sync._limits import (
    MAX_CONNECTION_ID_LENGTH,
    MAX_EXTERNAL_ID_LENGTH,
    unsendable_character,
)
from kashflow_sync.testing import FakeKashFlow

PG_URL = os.environ.get("KASHFLOW_SYNC_TEST_PG")

#: A character UTF-8 writes in 4 bytes: keys of these are the longest a limit lets through.
WIDE = "\U0001d11e"


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[kfs.SQLStorage]:
    """A SQLite file, or the test PostgreSQL (skipped when KASHFLOW_SYNC_TEST_PG is unset)."""
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip("set KASHFLOW_SYNC_TEST_PG to a PostgreSQL SQLAlchemy URL")
        url = PG_URL
    else:
        url = f"sqlite:///{tmp_path / 'kf.db'}"
    with kfs.SQLStorage(url) as opened:
        yield opened


@pytest.fixture
def client(fake: FakeKashFlow, storage: kfs.SQLStorage) -> Iterator[kfs.KashFlowClient]:
    """A connected client on *storage*, under a connection id no other test uses."""
    with make_client(fake, storage=storage, connection_id=f"holes-{uuid.uuid4().hex}") as c:
        c.connect()
        yield c


def assert_nothing_written(
    fake: FakeKashFlow, client: kfs.KashFlowClient, document: kfs.Document
) -> None:
    """No receipt, payment, attachment or supplier in the fake; no journal entry."""
    assert (fake.receipts, fake.payments, fake.attachments) == ([], [], [])
    assert len(fake.suppliers) == len(client.lists.suppliers)
    assert client.storage.get_journal(client.connection_id, document.external_id) is None


def refused(client: kfs.KashFlowClient, document: kfs.Document) -> list[tuple[str, str]]:
    """The ``(code, field)`` problems publishing *document* raised, also what validate gives."""
    with pytest.raises(errors.ValidationError) as caught:
        client.publish(document)
    found = [(p.code, p.field) for p in caught.value.problems]
    assert [(p.code, p.field) for p in client.validate(document)] == found
    return found


def with_text(document: kfs.PurchaseInvoice, field: str, text: str) -> kfs.PurchaseInvoice:
    """*document* with *text* in *field* (a path such as ``lines[0].description``)."""
    line = document.lines[0]
    attachment = document.attachment
    payment = document.payment
    assert attachment is not None and payment is not None
    changes: dict[str, Any] = {
        "supplier": {"supplier": text},
        "reference": {"reference": text},
        "currency": {"currency": text},
        "location": {"location": text},
        "lines[0].description": {
            "lines": [attrs.evolve(line, description=text), *document.lines[1:]]
        },
        "attachment": {"attachment": attrs.evolve(attachment, filename=text)},
        "attachment.content_type": {"attachment": attrs.evolve(attachment, content_type=text)},
        "payment.method": {"payment": attrs.evolve(payment, method=text)},
        "payment.bank_account": {"payment": attrs.evolve(payment, bank_account=text)},
    }[field]
    return attrs.evolve(document, **changes)


# -- dates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("issue_date", date(1, 1, 1)),
        ("due_date", date(1, 1, 1)),
        ("payment.paid_on", date(1, 1, 1)),
        ("issue_date", date(9999, 12, 31)),
        ("payment.paid_on", date(9999, 12, 31)),
    ],
)
def test_date_kashflow_cannot_hold_is_refused_before_sending(
    fake: FakeKashFlow, client: kfs.KashFlowClient, field: str, value: date
) -> None:
    """0001-01-01 (KashFlow's "no date") or 9999-12-31: date_out_of_range, nothing sent."""
    document = purchase(1)
    if field == "payment.paid_on":
        assert document.payment is not None
        document = attrs.evolve(document, payment=attrs.evolve(document.payment, paid_on=value))
    else:
        document = attrs.evolve(document, **{field: value})
    # A due date of 0001-01-01 is also before the issue date: one more problem, same field.
    assert ("date_out_of_range", field) in refused(client, document)
    assert_nothing_written(fake, client, document)


def test_due_days_past_the_calendar_is_a_problem_naming_the_rule(
    fake: FakeKashFlow, client: kfs.KashFlowClient
) -> None:
    """A due-days rule on a date in 9999 is date_out_of_range on due_date, not OverflowError."""
    client.rules.set_supplier_rule("Acme Paper Ltd", kfs.Rule(due_days=30))
    document = attrs.evolve(purchase(1), issue_date=date(9999, 12, 31))
    with pytest.raises(errors.ValidationError) as caught:
        client.publish(document)
    [due] = [p for p in caught.value.problems if p.field == "due_date"]
    assert due.code == "date_out_of_range"
    assert "supplier rule" in due.message and "rule" in due.remedy
    assert_nothing_written(fake, client, document)


# -- a payment of nothing -----------------------------------------------------------------


def test_payment_on_a_zero_total_is_refused_before_sending(
    fake: FakeKashFlow, client: kfs.KashFlowClient
) -> None:
    """A zero-total document paid in full: payment_without_amount, not a receipt left unpaid."""
    zero = kfs.Line(
        description="Free sample", net=Decimal("0.00"), vat_rate=Decimal("0"), category=7500
    )
    document = attrs.evolve(purchase(1), lines=[zero])
    assert refused(client, document) == [("payment_without_amount", "payment")]
    assert_nothing_written(fake, client, document)


# -- characters ---------------------------------------------------------------------------

TEXT_FIELDS = [
    "supplier",
    "reference",
    "currency",
    "location",
    "lines[0].description",
    "attachment",
    "attachment.content_type",
    "payment.method",
    "payment.bank_account",
]


@pytest.mark.parametrize("char", ["\ud800", "\x00"], ids=["lone surrogate", "NUL"])
@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_unsendable_character_is_refused_before_sending(
    fake: FakeKashFlow, client: kfs.KashFlowClient, field: str, char: str
) -> None:
    """A lone surrogate or NUL in any text: invalid_characters on it, no request, no entry."""
    document = with_text(purchase(1), field, f"Acme{char}.pdf")
    assert ("invalid_characters", field) in refused(client, document)
    assert_nothing_written(fake, client, document)


@pytest.mark.parametrize("char", ["\ud800", "\x00"], ids=["lone surrogate", "NUL"])
def test_unsendable_external_id_is_refused_at_construction(char: str) -> None:
    """The journal is keyed by external_id: one it cannot hold never becomes a document."""
    with pytest.raises(ValueError, match="U\\+"):
        attrs.evolve(purchase(1), external_id=f"item{char}1")


# -- key lengths --------------------------------------------------------------------------


def test_long_external_id_is_refused_at_construction() -> None:
    """An external_id over the limit (3,000 characters) is a ValueError naming the limit."""
    with pytest.raises(ValueError, match=f"limit is {MAX_EXTERNAL_ID_LENGTH}"):
        attrs.evolve(purchase(1), external_id="x" * 3000)


def test_longest_keys_publish(fake: FakeKashFlow, storage: kfs.SQLStorage) -> None:
    """connection_id and external_id at their limits, 4 bytes a character, publish once."""
    connection_id = f"{uuid.uuid4().hex}{WIDE * (MAX_CONNECTION_ID_LENGTH - 32)}"
    document = attrs.evolve(purchase(1), external_id=WIDE * MAX_EXTERNAL_ID_LENGTH)
    with make_client(fake, storage=storage, connection_id=connection_id) as client:
        client.connect()
        assert client.publish(document).status == "published"
        assert client.publish(document).status == "already_published"
    assert len(fake.receipts) == 1


@pytest.mark.parametrize(
    "connection_id",
    ["c" * (MAX_CONNECTION_ID_LENGTH + 1), "tenant\x001", "tenant\udc801"],
    ids=["too long", "NUL", "lone surrogate"],
)
def test_unstorable_connection_id_is_refused_at_client_construction(
    fake: FakeKashFlow, storage: kfs.SQLStorage, connection_id: str
) -> None:
    """A connection_id no storage can key: ConfigurationError (a ValueError), nothing stored."""
    with pytest.raises(errors.ConfigurationError) as caught:
        make_client(fake, storage=storage, connection_id=connection_id)
    assert caught.value.code == "invalid_connection_id" and isinstance(caught.value, ValueError)
    assert fake.receipts == []


# -- insert answers the SDK cannot read ---------------------------------------------------


class _RewriteResult(httpx.BaseTransport):
    """The fake's transport, with *operation*'s integer result replaced by *text*."""

    def __init__(self, inner: httpx.BaseTransport, operation: str, text: str) -> None:
        self._inner = inner
        self._tag = f"{operation}Result"
        self._text = text

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        body = response.read().decode()
        body = re.sub(
            f"<{self._tag}>[^<]*</{self._tag}>", f"<{self._tag}>{self._text}</{self._tag}>", body
        )
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        return httpx.Response(response.status_code, headers=headers, content=body.encode())


@pytest.mark.parametrize(
    "answer",
    ["abc", "2147483648", "99999999999999999999", "\u0661\u0662"],
    ids=["not a number", "beyond s:int", "beyond 64 bits", "Arabic-Indic digits"],
)
def test_unreadable_insert_answer_ends_in_the_one_receipt(
    fake: FakeKashFlow, storage: kfs.SQLStorage, answer: str
) -> None:
    """An InsertReceipt answer that is no s:int is not taken as the number: reconciled instead."""
    transport = _RewriteResult(fake.transport(), "InsertReceipt", answer)
    connection_id = f"holes-{uuid.uuid4().hex}"
    document = purchase(1)
    with (
        httpx.Client(transport=transport) as http,
        make_client(fake, http, storage=storage, connection_id=connection_id) as client,
    ):
        client.connect()
        result = client.publish(document)
        entry = client.storage.get_journal(connection_id, document.external_id)
    [receipt] = fake.receipts
    assert result.number == receipt.invoice_number
    assert entry is not None and (entry.state, entry.number) == ("published", result.number)
    assert len(fake.payments) == len(fake.attachments) == 1


# -- fuzzed texts -------------------------------------------------------------------------

#: Characters that once broke a publish, and some that must not: tab, line separator, emoji.
_AWKWARD = st.sampled_from(
    ["\x00", "\ud800", "\udfff", "\x0b", "\x1f", "\ufffe", "\t", "\u2028", "\u200b", WIDE]
)
#: Any Unicode text, lone surrogates and controls included, or text with an awkward character.
_TEXT = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=12),
    st.lists(st.one_of(_AWKWARD, st.characters(exclude_categories=())), max_size=12).map("".join),
)
#: Fields that take one of the account's values: a value that validates, or fuzzed text.
_CHOICES: dict[str, object] = {
    "content_type": "application/pdf",
    "method": "Credit card",
    "bank_account": 1200,
    "currency": None,
    "location": None,
}
_FUZZED = st.fixed_dictionaries(
    {
        "external_id": _TEXT,
        "supplier": _TEXT,
        "reference": _TEXT,
        "description": _TEXT,
        "filename": _TEXT,
        # Most examples fuzz none or one of the choices, so that many documents validate.
        "choices": st.sets(st.sampled_from(sorted(_CHOICES)), max_size=2).flatmap(
            lambda names: st.fixed_dictionaries({name: _TEXT for name in names})
        ),
    }
)


def _document(serial: int, texts: dict[str, Any]) -> kfs.PurchaseInvoice:
    """A purchase that validates but for the fuzzed *texts* (free texts stay non-blank)."""
    base = purchase(serial, prefix="fuzz")
    choices = {**_CHOICES, **texts["choices"]}
    return attrs.evolve(
        base,
        external_id=f"fuzz-{serial}-{texts['external_id']}",
        supplier=f"S{texts['supplier']}",
        reference=f"R{serial}{texts['reference']}",
        currency=choices["currency"],
        location=choices["location"],
        lines=[attrs.evolve(base.lines[0], description=texts["description"])],
        attachment=kfs.Attachment(f"{texts['filename']}.pdf", b"%PDF-1.4", choices["content_type"]),
        payment=kfs.Payment(method=choices["method"], bank_account=choices["bank_account"]),
    )


def test_fuzzed_texts_never_crash_or_half_publish(tmp_path: Path) -> None:
    """Any Unicode in any text: validate and publish raise only typed errors, never half-write."""
    fake = FakeKashFlow()
    serials = itertools.count()
    with (
        kfs.SQLStorage(f"sqlite:///{tmp_path / 'kf.db'}") as storage,
        make_client(fake, storage=storage, connection_id="fuzz") as client,
    ):
        client.connect()

        @settings(max_examples=150, deadline=None)
        @given(_FUZZED)
        def check(texts: dict[str, Any]) -> None:
            serial = next(serials)
            try:
                document = _document(serial, texts)
            except ValueError:
                # Refused at construction, as an external_id the journal cannot key must be.
                assert unsendable_character(f"fuzz-{serial}-{texts['external_id']}")
                return
            problems = client.validate(document)
            for problem in problems:
                (problem.message + problem.remedy).encode("utf-8")  # printable, loggable
            before = (len(fake.receipts), len(fake.payments), len(fake.attachments))
            if problems:
                with pytest.raises(errors.ValidationError):
                    client.publish(document)
                assert (len(fake.receipts), len(fake.payments), len(fake.attachments)) == before
                assert storage.get_journal("fuzz", document.external_id) is None
                return
            result = client.publish(document)
            assert result.status == "published"
            [receipt] = [r for r in fake.receipts if r.invoice_number == result.number]
            assert receipt.customer_reference == document.reference
            assert len(fake.payments) == before[1] + 1
            assert len(fake.attachments) == before[2] + 1

        check()
