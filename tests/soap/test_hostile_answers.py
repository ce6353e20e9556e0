"""Hostile answers: each odd answer is read exactly as the real one, or is a typed ProtocolError.

The fake rewrites its real answer in each of its ``HOSTILE_SHAPES`` (``faults.hostile_answer``).
Through both SOAP services (sync and async, the whole exchange: stream, parse, read), every
shape either reads the same as the unrewritten answer or raises ``ProtocolError``: never a
``ValueError``, a ``KeyError`` or an lxml or zeep exception. A write whose answer cannot be read
is reconciled: the publish finishes with its attachment and payment, and nothing is doubled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from _clients import KINDS, any_client
from _support import FAST_RETRY, purchase
from kashflow_sync import errors
from kashflow_sync.soap import codec, operations
from kashflow_sync.soap.caller import AsyncKashFlowService, KashFlowService
from kashflow_sync.testing import HOSTILE_SHAPES, FakeKashFlow

#: Shapes that say exactly what the real answer says.
SAME = {
    "comment_in_body",
    "pi_in_body",
    "comments_everywhere",
    "pis_everywhere",
    "indented",
    "cdata",
    "prefixes",
    "soap_header",
    "no_declaration",
    "bom",
    "utf16",
    "latin1",
    "no_status",
}
#: Shapes no client can read: a ProtocolError, whatever the call.
UNREADABLE = {
    "bad_encoding",
    "text_result",
    "element_result",
    "wrong_response",
    "no_body",
    "soap12",
    "dtd",
    "truncated",
    "empty",
    "html",
    "json",
    "garbage",
}
#: A missing result: KashFlow's null, whose meaning each call's reading says.
NULL = {"no_result"}


def test_the_table_covers_every_shape_the_fake_has() -> None:
    """Each hostile shape of the fake is in exactly one of the three groups."""
    assert set(HOSTILE_SHAPES) == SAME | UNREADABLE | NULL
    assert not (SAME & UNREADABLE or SAME & NULL or UNREADABLE & NULL)


# -- every shape, through the SOAP layer -------------------------------------------------------


def _ledger(fake: FakeKashFlow) -> int:
    """Publish one receipt with a payment and a file; its number."""
    with any_client("sync", fake) as client:
        client.connect()
        result = client.publish(purchase(1))
    assert result.status == "published"
    return result.number


#: (name, the call, what KashFlow's null means for it) for the calls whose answers are read.
CALLS: list[tuple[str, Callable[[int], codec.Request[Any]], object]] = [
    ("list", lambda _n: operations.fetch_list("vat_rates"), []),
    ("list of documents", lambda _n: operations.documents_for_contact("purchase", 2001), []),
    ("contact", lambda _n: operations.find_contact("purchase", "ACME01"), None),
    ("document", lambda n: operations.get_document("purchase", n), None),
    ("payments", lambda n: operations.payments("purchase", n), []),
]


def _call(kind: str, fake: FakeKashFlow, request: codec.Request[Any]) -> Any:
    """*request* sent once through the *kind* SOAP service against the in-process fake."""
    options: dict[str, Any] = {"app_name": "tests", "retry": FAST_RETRY}
    if kind == "sync":
        with fake.http_client() as http:
            return KashFlowService(http, fake.url, fake.credentials, **options).call(request)

    async def run() -> Any:
        async with fake.async_http_client() as http:
            service = AsyncKashFlowService(http, fake.url, fake.credentials, **options)
            return await service.call(request)

    return asyncio.run(run())


@pytest.fixture(scope="module")
def ledger() -> tuple[FakeKashFlow, int]:
    """A fake holding one published receipt, and its number (shared: the calls only read)."""
    fake = FakeKashFlow()
    return fake, _ledger(fake)


@pytest.mark.parametrize("shape", sorted(HOSTILE_SHAPES))
@pytest.mark.parametrize(("call", "build", "null"), CALLS, ids=[c[0] for c in CALLS])
@pytest.mark.parametrize("kind", KINDS)
def test_each_shape_reads_as_the_real_answer_or_is_a_protocol_error(
    kind: str,
    call: str,
    build: Callable[[int], codec.Request[Any]],
    null: object,
    shape: str,
    ledger: tuple[FakeKashFlow, int],
) -> None:
    """Same meaning -> same result; unreadable -> ProtocolError; no result -> KashFlow's null."""
    fake, number = ledger
    request = build(number)
    real = _call(kind, fake, request)
    assert real not in (None, []), "the real answer must hold something to compare"
    fake.faults.hostile_answer(shape, op=request.operation, times=None)
    try:
        if shape in UNREADABLE:
            with pytest.raises(errors.ProtocolError) as info:
                _call(kind, fake, request)
            assert info.value.operation == request.operation
            assert info.value.__cause__ is None and info.value.__context__ is None
        else:
            assert _call(kind, fake, request) == (real if shape in SAME else null)
    finally:
        fake.faults.clear()


# -- a write whose answer cannot be read ---------------------------------------------------------

WRITES = ["InsertReceipt", "AttachFileToReceipt", "InsertReceiptPayment"]


@pytest.mark.parametrize("shape", sorted(SAME | UNREADABLE))
@pytest.mark.parametrize("op", WRITES)
@pytest.mark.parametrize("kind", KINDS)
def test_a_write_answered_in_any_shape_is_published_once_with_everything(
    kind: str, op: str, shape: str
) -> None:
    """Read or reconciled, the publish ends published: one receipt, one payment, one file."""
    fake = FakeKashFlow()
    with any_client(kind, fake) as client:
        client.connect()
        fake.faults.hostile_answer(shape, op=op)
        result = client.publish(purchase(1))
        again = client.publish(purchase(1))
    assert (result.status, again.status) == ("published", "already_published")
    assert fake.calls_to(op)[0].fault == "hostile_answer"
    (receipt,) = fake.receipts
    assert len([p for p in fake.payments if p.document_number == receipt.number]) == 1
    assert len([a for a in fake.attachments if a.document_number == receipt.number]) == 1
