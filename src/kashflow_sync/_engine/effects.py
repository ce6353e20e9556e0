"""What the engine asks its driver to do, and a typed helper for each request.

A flow ``yield``s an effect and gets back its result (or has its exception thrown in). The
helpers below wrap the yields so flows read like ordinary calls (``number = yield from
insert_document(...)``) and keep their types.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from .._journal.entry import JournalEntry

if TYPE_CHECKING:
    from .._account.items import ListItem
    from .._documents.model import PublishAttempt
    from .._journal.entry import ClaimResult
    from ..soap.records import LedgerAttachment, LedgerDocument, LedgerPayment

__all__ = [
    "Effect",
    "Flow",
    "KashFlowCall",
    "Renewal",
    "Sleep",
    "StorageCall",
]

T = TypeVar("T")


@attrs.frozen
class Renewal:
    """Keep a journal entry's lease alive while a call is in flight, and fence writes on it.

    The driver stores *entry* again with a fresh ``lease_until`` every third of *duration*
    (compare-and-set on *owner*), so a slow call (retries, a slow KashFlow) never outlives
    the lease; a failed renewal means another worker took over, which the next save reports.
    Right before a write it checks that *owner* still holds every entry it names: the
    document's own, and *also* the others the call holds for that write (the content claim
    of a document's first send), so a call that stalled past its lease never sends.
    """

    entry: JournalEntry
    owner: str
    duration: timedelta
    clock: Callable[[], datetime] = attrs.field(eq=False)
    also: tuple[JournalEntry, ...] = ()

    @property
    def entries(self) -> tuple[JournalEntry, ...]:
        """Every entry this renewal keeps and fences: the document's first."""
        return (self.entry, *self.also)

    def renewed(self) -> JournalEntry:
        """The entry with its lease extended from now."""
        return self.renewed_entries()[0]

    def renewed_entries(self) -> tuple[JournalEntry, ...]:
        """Every entry with its lease extended from now."""
        now = self.clock()
        until = now + self.duration
        return tuple(attrs.evolve(e, lease_until=until, updated_at=now) for e in self.entries)


@attrs.frozen
class KashFlowCall:
    """Call KashFlow: the operation that ``soap.operations.OPERATIONS`` names *name*.

    ``writes`` marks calls that change the ledger (an insert, an attachment, a payment);
    ``renew`` keeps a journal lease alive while the call is in flight.
    """

    name: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = attrs.field(factory=dict)
    writes: bool = False
    renew: Renewal | None = None


@attrs.frozen
class StorageCall:
    """Call the client's ``Storage``: ``storage.<method>(*args)``."""

    method: str
    args: tuple[Any, ...] = ()


@attrs.frozen
class Sleep:
    """Wait *seconds* before going on (another worker holds a document's lease)."""

    seconds: float


Effect = KashFlowCall | StorageCall | Sleep

#: A flow: yields effects, receives their results, returns a ``T``.
Flow = Generator[Effect, Any, T]


def _kashflow(
    name: str, *args: Any, writes: bool = False, renew: Renewal | None = None, **kwargs: Any
) -> Flow[Any]:
    return (yield KashFlowCall(name, args, kwargs, writes, renew))


def _storage(method: str, *args: Any) -> Flow[Any]:
    return (yield StorageCall(method, args))


def sleep(seconds: float) -> Flow[None]:
    """Wait *seconds*."""
    yield Sleep(seconds)


# ---------------------------------------------------------------------- KashFlow


def auto_auth_ip(app_name: str) -> Flow[int]:
    """``AutoAuthIP``: add this machine's IP address to the account's access list."""
    result: int = yield from _kashflow("auto_auth_ip", app_name)
    return result


def fetch_list(name: str) -> Flow[list[ListItem]]:
    """Every item of the named list."""
    result: list[ListItem] = yield from _kashflow("fetch_list", name)
    return result


def customers_modified_since(since: datetime) -> Flow[list[ListItem]]:
    """Customers created or changed at or after *since*."""
    result: list[ListItem] = yield from _kashflow("customers_modified_since", since)
    return result


def insert_contact(kind: str, name: str, code: str) -> Flow[int]:
    """Create a supplier or customer; its new id."""
    result: int = yield from _kashflow("insert_contact", kind, name, code, writes=True)
    return result


def find_contact(kind: str, code: str) -> Flow[tuple[int, str] | None]:
    """``(id, name)`` of the supplier or customer with this code, or None."""
    result: tuple[int, str] | None = yield from _kashflow("find_contact", kind, code)
    return result


def insert_document(
    kind: str, header: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]
) -> Flow[int]:
    """Create a receipt or sales invoice; its new number."""
    result: int = yield from _kashflow("insert_document", kind, header, lines, writes=True)
    return result


def get_document(kind: str, number: int) -> Flow[LedgerDocument | None]:
    """The receipt or invoice with this number, or None."""
    result: LedgerDocument | None = yield from _kashflow("get_document", kind, number)
    return result


def documents_for_contact(kind: str, contact_id: int) -> Flow[list[LedgerDocument]]:
    """Every receipt of a supplier or invoice of a customer (headers)."""
    result: list[LedgerDocument] = yield from _kashflow("documents_for_contact", kind, contact_id)
    return result


def recent_documents(kind: str, count: int) -> Flow[list[LedgerDocument]]:
    """The *count* receipts or invoices created last (headers)."""
    result: list[LedgerDocument] = yield from _kashflow("recent_documents", kind, count)
    return result


def attach_file(
    kind: str, number: int, filename: str, content: bytes, content_type: str
) -> Flow[int]:
    """Attach a file to a receipt or invoice; the attachment's id."""
    result: int = yield from _kashflow(
        "attach_file", kind, number, filename, content, content_type, writes=True
    )
    return result


def receipt_attachments(receipt_id: int) -> Flow[list[LedgerAttachment]]:
    """Files attached to a receipt (by internal id)."""
    result: list[LedgerAttachment] = yield from _kashflow("receipt_attachments", receipt_id)
    return result


def insert_payment(
    kind: str,
    number: int,
    *,
    paid_on: date,
    method_id: int,
    account_id: int,
    amount: Decimal,
) -> Flow[int]:
    """Record a payment against a receipt or invoice; the payment's id."""
    result: int = yield from _kashflow(
        "insert_payment",
        kind,
        number,
        paid_on=paid_on,
        method_id=method_id,
        account_id=account_id,
        amount=amount,
        writes=True,
    )
    return result


def apply_credit_note(invoice_id: int, credit_note_id: int) -> Flow[bool]:
    """Apply a sales credit note to an invoice (both by internal id); KashFlow's boolean."""
    result: bool = yield from _kashflow(
        "apply_credit_note", invoice_id, credit_note_id, writes=True
    )
    return result


def payments(kind: str, number: int) -> Flow[list[LedgerPayment]]:
    """Payments recorded against a receipt or invoice."""
    result: list[LedgerPayment] = yield from _kashflow("payments", kind, number)
    return result


# ---------------------------------------------------------------------- storage


def load_list(connection_id: str, name: str) -> Flow[Sequence[ListItem]]:
    """``Storage.load_list``."""
    result: Sequence[ListItem] = yield from _storage("load_list", connection_id, name)
    return result


def replace_list(connection_id: str, name: str, items: Sequence[ListItem]) -> Flow[None]:
    """``Storage.replace_list``."""
    yield from _storage("replace_list", connection_id, name, items)


def get_state(connection_id: str, key: str) -> Flow[str | None]:
    """``Storage.get_state``."""
    result: str | None = yield from _storage("get_state", connection_id, key)
    return result


def set_state(connection_id: str, key: str, value: str | None) -> Flow[None]:
    """``Storage.set_state``."""
    yield from _storage("set_state", connection_id, key, value)


def claim_journal(
    entry: JournalEntry, owner: str, now: datetime, lease_until: datetime
) -> Flow[ClaimResult]:
    """``Storage.claim_journal``."""
    result: ClaimResult = yield from _storage("claim_journal", entry, owner, now, lease_until)
    return result


def get_journal(connection_id: str, external_id: str) -> Flow[JournalEntry | None]:
    """``Storage.get_journal``."""
    result: JournalEntry | None = yield from _storage("get_journal", connection_id, external_id)
    return result


def update_journal(entry: JournalEntry, owner: str | None) -> Flow[bool]:
    """``Storage.update_journal``."""
    result: bool = yield from _storage("update_journal", entry, owner)
    return result


def add_attempt(connection_id: str, external_id: str, attempt: PublishAttempt) -> Flow[None]:
    """``Storage.add_attempt``."""
    yield from _storage("add_attempt", connection_id, external_id, attempt)


def renewing(renewal: Renewal, flow: Flow[T]) -> Flow[T]:
    """Run *flow*, keeping *renewal*'s lease alive during each KashFlow call it makes."""
    try:
        effect = next(flow)
        while True:
            if isinstance(effect, KashFlowCall) and effect.renew is None:
                effect = attrs.evolve(effect, renew=renewal)
            try:
                result = yield effect
            except BaseException as exc:
                effect = flow.throw(exc)
            else:
                effect = flow.send(result)
    except StopIteration as stop:
        value: T = stop.value
        return value
