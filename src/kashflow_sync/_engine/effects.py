"""What the engine asks its driver to do: one small frozen class per request, typed by its answer.

As h11 types its events, each effect here is a frozen attrs value naming one thing to do, and
``Effect[T]`` says what its answer is. A flow asks with :func:`ask` and gets a ``T`` back (or has
the effect's exception thrown in)::

    number = yield from ask(InsertDocument(kind, header, lines))   # number: int

Three families, each performed by the drivers (:mod:`kashflow_sync._clients.drivers`) by type:

- :class:`KashFlowEffect`: one KashFlow call. The driver builds its ``codec.Request`` from
  ``soap.operations``; whether the call changes the ledger is that request's ``idempotent``
  flag, stated there once (a write is fenced by the journal lease right before it goes out).
- :class:`StorageEffect`: one ``Storage`` call; each performs itself on a storage
  (:meth:`StorageEffect.perform`), so the Protocol's signatures check it. A :class:`Batch`
  is several that belong to one step, made in one transaction where the storage can.
- :class:`Sleep`: wait before going on; :class:`LeaseWait` says first on whose lease (the
  driver logs it, so a wait is never silent), and :class:`HolderGone` asks whether that
  holder still runs at all.

:class:`Renewal` rides on a KashFlow effect (see :func:`renewing`): the lease kept alive while
the call is in flight.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import attrs

from .._account.items import ListItem
from .._documents.model import PublishAttempt
from .._journal.entry import ClaimResult, JournalEntry
from .._journal.states import PUBLISHED
from ..soap.records import LedgerAttachment, LedgerDocument, LedgerPayment

if TYPE_CHECKING:
    from ..typing import Storage

__all__ = [
    "AddAttempt",
    "ApplyCreditNote",
    "AttachFile",
    "AutoAuthIp",
    "Batch",
    "ClaimJournal",
    "CustomersModifiedSince",
    "DocumentsForContact",
    "Effect",
    "FetchList",
    "FindContact",
    "Flow",
    "GetDocument",
    "GetJournal",
    "GetState",
    "HolderGone",
    "InsertContact",
    "InsertDocument",
    "InsertPayment",
    "KashFlowEffect",
    "LeaseWait",
    "LoadList",
    "Payments",
    "ReceiptAttachments",
    "RecentDocuments",
    "Renewal",
    "ReplaceList",
    "SetState",
    "Sleep",
    "StorageEffect",
    "UpdateJournal",
    "ask",
    "renewing",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Effect(Generic[T_co]):
    """Something a flow asks its driver to do; the driver answers with a ``T_co``."""

    __slots__ = ()


#: A flow: yields effects, receives their answers, returns a ``T``.
Flow = Generator[Effect[Any], Any, T]


def ask(effect: Effect[T]) -> Flow[T]:
    """Yield *effect* and return the driver's answer to it (typed by the effect)."""
    answer: T = yield effect
    return answer


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

    def renewed_entries(self) -> tuple[JournalEntry, ...]:
        """Every entry with its lease extended from now."""
        now = self.clock()
        until = now + self.duration
        return tuple(attrs.evolve(e, lease_until=until, updated_at=now) for e in self.entries)


@attrs.frozen
class Sleep(Effect[None]):
    """Wait *seconds* before going on; *reason* says for what (traces and metrics show it).

    ``lease``: another worker holds a document's lease; ``settle``: a send whose outcome was
    lost may still be applied; ``ledger``: another call is reading the same contact's
    documents.
    """

    seconds: float
    reason: Literal["lease", "settle", "ledger"] = attrs.field(default="lease", kw_only=True)


@attrs.frozen
class HolderGone(Effect[bool]):
    """Whether lease *owner* is a process known to have ended (of this machine, not running).

    False when it cannot be known: the lease is then waited out as before.
    """

    owner: str


@attrs.frozen
class LeaseWait(Effect[None]):
    """Say that this flow waits on another holder's lease: *entry* as stored, *message* why.

    Asked once per holder, before the first :class:`Sleep` behind it; the driver logs it
    (a warning on the ``kashflow_sync`` logger, carrying this effect as ``lease_wait``).
    """

    entry: JournalEntry
    message: str


# ---------------------------------------------------------------------- KashFlow


@attrs.frozen
class KashFlowEffect(Effect[T_co]):
    """One KashFlow call, answered with a ``T_co``; ``renew`` keeps a lease alive meanwhile.

    Each subclass is one builder of ``soap.operations`` (the drivers map one to the other).
    """

    renew: Renewal | None = attrs.field(default=None, kw_only=True)


@attrs.frozen
class AutoAuthIp(KashFlowEffect[int]):
    """``AutoAuthIP``: add this machine's IP address to the account's access list."""

    app_name: str


@attrs.frozen
class FetchList(KashFlowEffect[list[ListItem]]):
    """Every item of the named list."""

    name: str


@attrs.frozen
class CustomersModifiedSince(KashFlowEffect[list[ListItem]]):
    """Customers created or changed at or after *since*."""

    since: datetime


@attrs.frozen
class InsertContact(KashFlowEffect[int]):
    """Create a supplier or customer; answered with its new id (a write)."""

    kind: str
    name: str
    code: str


@attrs.frozen
class FindContact(KashFlowEffect[tuple[int, str] | None]):
    """``(id, name)`` of the supplier or customer with this code, or None."""

    kind: str
    code: str


@attrs.frozen
class InsertDocument(KashFlowEffect[int]):
    """Create a receipt or sales invoice with its lines; answered with its number (a write)."""

    kind: str
    header: Mapping[str, Any]
    lines: Sequence[Mapping[str, Any]]


@attrs.frozen
class GetDocument(KashFlowEffect[LedgerDocument | None]):
    """The receipt or invoice with this number, or None."""

    kind: str
    number: int


@attrs.frozen
class DocumentsForContact(KashFlowEffect[list[LedgerDocument]]):
    """Every receipt of a supplier or invoice of a customer (headers)."""

    kind: str
    contact_id: int


@attrs.frozen
class RecentDocuments(KashFlowEffect[list[LedgerDocument]]):
    """The *count* receipts or invoices created last (headers)."""

    kind: str
    count: int


@attrs.frozen
class AttachFile(KashFlowEffect[int]):
    """Attach a file to a receipt or invoice; answered with the attachment's id (a write)."""

    kind: str
    number: int
    filename: str
    content: bytes = attrs.field(repr=False)
    content_type: str


@attrs.frozen
class ReceiptAttachments(KashFlowEffect[list[LedgerAttachment]]):
    """Files attached to a receipt (by internal id)."""

    receipt_id: int


@attrs.frozen
class InsertPayment(KashFlowEffect[int]):
    """Record a payment against a receipt or invoice; answered with its id (a write)."""

    kind: str
    number: int
    paid_on: date
    method_id: int
    account_id: int
    amount: Decimal


@attrs.frozen
class Payments(KashFlowEffect[list[LedgerPayment]]):
    """Payments recorded against a receipt or invoice."""

    kind: str
    number: int


@attrs.frozen
class ApplyCreditNote(KashFlowEffect[bool]):
    """Apply a sales credit note to an invoice (both by internal id); KashFlow's boolean."""

    invoice_id: int
    credit_note_id: int


def renewing(renewal: Renewal, flow: Flow[T]) -> Flow[T]:
    """Run *flow*, keeping *renewal*'s lease alive during each KashFlow call it makes."""
    try:
        effect = next(flow)
        while True:
            if isinstance(effect, KashFlowEffect) and effect.renew is None:
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


# ---------------------------------------------------------------------- storage


@attrs.frozen
class StorageEffect(Effect[T_co]):
    """One call of the client's ``Storage``, answered with a ``T_co``."""

    def perform(self, storage: Storage) -> T_co:
        """Make the call on *storage* (the drivers do, in their own way)."""
        raise NotImplementedError


@attrs.frozen
class LoadList(StorageEffect[Sequence[ListItem]]):
    """``Storage.load_list``."""

    connection_id: str
    name: str

    def perform(self, storage: Storage) -> Sequence[ListItem]:
        """Load the list."""
        return storage.load_list(self.connection_id, self.name)


@attrs.frozen
class ReplaceList(StorageEffect[None]):
    """``Storage.replace_list``."""

    connection_id: str
    name: str
    items: Sequence[ListItem] = attrs.field(repr=False)

    def perform(self, storage: Storage) -> None:
        """Store the list whole."""
        storage.replace_list(self.connection_id, self.name, self.items)


@attrs.frozen
class GetState(StorageEffect[str | None]):
    """``Storage.get_state``."""

    connection_id: str
    key: str

    def perform(self, storage: Storage) -> str | None:
        """Read the value."""
        return storage.get_state(self.connection_id, self.key)


@attrs.frozen
class SetState(StorageEffect[None]):
    """``Storage.set_state``."""

    connection_id: str
    key: str
    value: str | None

    def perform(self, storage: Storage) -> None:
        """Write the value (None removes it)."""
        storage.set_state(self.connection_id, self.key, self.value)


@attrs.frozen
class ClaimJournal(StorageEffect[ClaimResult]):
    """``Storage.claim_journal``."""

    entry: JournalEntry
    owner: str
    now: datetime
    lease_until: datetime

    def perform(self, storage: Storage) -> ClaimResult:
        """Take or create the entry."""
        return storage.claim_journal(self.entry, self.owner, self.now, self.lease_until)


@attrs.frozen
class GetJournal(StorageEffect[JournalEntry | None]):
    """``Storage.get_journal``."""

    connection_id: str
    external_id: str

    def perform(self, storage: Storage) -> JournalEntry | None:
        """Read the entry."""
        return storage.get_journal(self.connection_id, self.external_id)


@attrs.frozen
class UpdateJournal(StorageEffect[bool]):
    """``Storage.update_journal``."""

    entry: JournalEntry
    owner: str | None

    def perform(self, storage: Storage) -> bool:
        """Store the entry if *owner* still holds it (compare-and-set)."""
        return storage.update_journal(self.entry, self.owner)


@attrs.frozen
class AddAttempt(StorageEffect[None]):
    """``Storage.add_attempt``."""

    connection_id: str
    external_id: str
    attempt: PublishAttempt

    def perform(self, storage: Storage) -> None:
        """Append the attempt to the entry's history."""
        storage.add_attempt(self.connection_id, self.external_id, self.attempt)


@attrs.frozen
class Batch(StorageEffect[tuple[Any, ...]]):
    """Several storage calls of one step, in order, in one transaction where the storage can.

    Answered with the answers of the calls made, in order. A compare-and-set that fails (an
    ``update_journal`` answering False, a claim that did not take the entry for this caller)
    ends the batch there unless *stop* is False: the answer is then shorter than *effects*,
    and the calls after it were not made. The calls are ordered so that they are safe made
    one by one too (each its own transaction: a host storage without
    ``transaction()``): the driver opens the transaction around :meth:`perform`.
    """

    effects: tuple[StorageEffect[Any], ...]
    stop: bool = True

    @property
    def writes(self) -> bool:
        """Whether any call in the batch writes (SQLite then takes its write lock at once)."""
        return not all(isinstance(e, _READS) for e in self.effects)

    def perform(self, storage: Storage) -> tuple[Any, ...]:
        """Make the calls one after another; stop after a failed compare-and-set."""
        answers: list[Any] = []
        for effect in self.effects:
            answer = effect.perform(storage)
            answers.append(answer)
            if self.stop and not _went_through(effect, answer):
                break
        return tuple(answers)


def _went_through(effect: StorageEffect[Any], answer: Any) -> bool:
    """Whether a call in a batch did what the calls after it rely on."""
    if isinstance(effect, UpdateJournal):
        return bool(answer)
    if isinstance(effect, ClaimJournal):
        got: ClaimResult = answer
        return (
            got.acquired
            and got.entry.state != PUBLISHED
            and got.entry.fingerprint == effect.entry.fingerprint
        )
    return True


_READS = (GetJournal, GetState, LoadList)
