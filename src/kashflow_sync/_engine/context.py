"""What one publish call works with, and the settle-time waits its steps share.

:class:`PublishSettings` says how a connection publishes; a :class:`Call` carries one publish
call's document, lists, lease and what it has learned on the way. :func:`settled` is how every
step waits out a settle time (:mod:`.settle`) before taking "not found" as "absent".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

import attrs

from .. import errors
from .._account.lists import ListsSnapshot
from .._documents.amounts import SAFE_RATE_DECIMALS
from .._documents.model import Document, Problem, PublishAttempt
from .._journal.entry import JournalEntry
from ..soap.wire import CreditForm
from .effects import AddAttempt, Flow, Sleep, ask
from .lease import DEFAULT_LEASE, DEFAULT_WAIT_POLL, Lease
from .ledger import LedgerCache
from .settle import DEFAULT_SETTLE_TIME, Settle, current_attempts

__all__ = [
    "MAX_SETTLE_WAIT",
    "SETTLE_POLL",
    "Call",
    "CreditTarget",
    "PublishSettings",
    "current_attempts",
    "last_outcome",
    "resume_until",
    "settled",
]

T = TypeVar("T")

#: A settle time ending sooner than this is waited out in the call (then looked up again);
#: a longer one is ``publish_settling`` for the caller to come back to.
MAX_SETTLE_WAIT = timedelta(seconds=5)
#: The first pause between lookups while a settle time is waited out (doubling after each).
SETTLE_POLL = 0.05


@attrs.frozen
class PublishSettings:
    """How one connection publishes.

    Args:
        connection_id: the connection whose journal is used.
        lease: how long a publish call holds a document before another may take it over.
        wait_poll: seconds between looks at a document another call is publishing.
        check_ledger: look in KashFlow for the same invoice before a document's first send.
        clock: the current time, timezone-aware (the client's: the engine reads no clock).
        new_id: a fresh random id (hex digits) for each call: lease owners, list versions,
            a new contact's code suffix (the client's: the engine draws no random numbers).
        settle_time: how long KashFlow may still apply a request it received (see
            :mod:`.settle`).
        request_deadline: the longest one request of this client takes.
        rate_decimals: decimals of a unit rate the account keeps (2 unless learned).
        ledger_cache: the shared pre-send lookup, or None to look every time.
        max_settle_wait: the longest settle time waited out within a call.
        credit_lines: which negative lines the account takes for a credit note, as doctor
            learned it (``"rate"``, ``"quantity"``, ``"either"``, ``"refused"``), or None:
            then a negative rate is tried first and, if KashFlow refuses it, a negative
            quantity (a refusal leaves nothing in KashFlow, so trying again cannot duplicate).
        credit_refund: how the account records a refund on a credit note (``"negative"``,
            ``"positive"``, ``"refused"``), or None: then negative first, positive if refused.
        apply_false: what ``applyCreditNoteToInvoice`` answering false means, as doctor
            learned it, or None: then KashFlow is read back before a false is believed.

    """

    connection_id: str
    lease: timedelta = DEFAULT_LEASE
    wait_poll: float = DEFAULT_WAIT_POLL
    check_ledger: bool = True
    clock: Callable[[], datetime] = attrs.field(kw_only=True)
    new_id: Callable[[], str] = attrs.field(kw_only=True)
    settle_time: timedelta = DEFAULT_SETTLE_TIME
    request_deadline: timedelta = timedelta(seconds=60)
    rate_decimals: int = SAFE_RATE_DECIMALS
    ledger_cache: LedgerCache | None = None
    max_settle_wait: timedelta = MAX_SETTLE_WAIT
    credit_lines: str | None = None
    credit_refund: str | None = None
    apply_false: str | None = None

    @property
    def credit_forms(self) -> tuple[CreditForm, ...]:
        """The line forms to try for a credit note, in order (each only after a refusal)."""
        if self.credit_lines == "quantity":
            return ("quantity",)
        if self.credit_lines in ("rate", "either"):
            return ("rate",)
        return ("rate", "quantity")

    @property
    def refund_signs(self) -> tuple[int, ...]:
        """The signs to try for a refund on a credit note, in order (each after a refusal)."""
        if self.credit_refund == "positive":
            return (1,)
        if self.credit_refund == "negative":
            return (-1,)
        return (-1, 1)

    @property
    def settle(self) -> Settle:
        """The settle rule these settings describe."""
        return Settle(self.settle_time, self.request_deadline, self.clock)


@attrs.frozen
class CreditTarget:
    """The invoice a credit note credits, as far as it is known before publishing.

    Args:
        number: its KashFlow receipt or invoice number.
        external_id: the external id it was published under, when it came through the SDK.
        kashflow_id: its internal id, when known (else read from KashFlow when needed).
        contact_id: its supplier's or customer's id, when known.

    """

    number: int
    external_id: str | None = None
    kashflow_id: int | None = None
    contact_id: int | None = None

    def describe(self, noun: str) -> str:
        """``invoice 1001 ('s-7')``: how messages name it."""
        extra = f" ({self.external_id!r})" if self.external_id else ""
        return f"{noun} {self.number}{extra}"


@attrs.define
class Call:
    """What one publish call works with."""

    document: Document
    lists: ListsSnapshot
    settings: PublishSettings
    lease: Lease
    taken_over: bool = False
    defer_id: bool = False
    #: False: the new document's internal id is not read at all (see ``publish``'s *read_id*).
    read_id: bool = True
    new_contact: bool = False
    #: A refused attachment: the payment still goes, then this is raised (document kept).
    refused_attachment: errors.KashFlowError | None = None
    #: The invoice a credit note credits (resolved before publishing), if it names one.
    credits: CreditTarget | None = None
    #: What the result should tell a person (a credit that could not be applied...).
    notices: list[Problem] = attrs.Factory(list)
    #: The content claim held around the first send (see .content), fenced with the entry.
    content: JournalEntry | None = None
    #: Steps recorded by this call that its result reads (see .notices).
    recorded: list[PublishAttempt] = attrs.Factory(list)
    #: The content claim given back with the "created" save, and whether this call still held
    #: it then (see .create).
    content_returned: tuple[JournalEntry, bool] | None = None
    #: Attempts to store with the next save (a step whose own flag is saved with the next
    #: state change, the payment's, records its outcome then too).
    deferred: list[AddAttempt] = attrs.Factory(list)
    #: KashFlow was read since the last save with something worth keeping (the internal id):
    #: the next write's fence is a save, which keeps it, instead of a read.
    unsaved: bool = False

    def note(self, step: str, outcome: str, detail: str = "") -> Flow[None]:
        """Record a step's outcome in the journal, and keep it for this call's result."""
        attempt = yield from self.lease.record(self.document.external_id, step, outcome, detail)
        self.recorded.append(attempt)


def settled(call: Call, until: datetime, what: str, look: Callable[[], Flow[T]]) -> Flow[T]:
    """Look (*look* makes the lookup); while it finds nothing before *until*, wait, look again.

    A short remaining settle time is waited out here; a long one raises ``publish_settling``.
    Returns the last lookup's answer (a falsy one only once *until* has passed).
    """
    settings = call.settings
    pause = SETTLE_POLL
    while True:
        found = yield from look()
        now = settings.clock()
        if found or now >= until:
            return found
        if until - now > settings.max_settle_wait:
            settings.settle.refuse_until(until, call.document.external_id, what)
        # Look again soon, then less often: a late write is adopted as soon as it lands.
        yield from ask(Sleep(min(pause, (until - now).total_seconds()), reason="settle"))
        pause *= 2


def last_outcome(entry: JournalEntry, step: str) -> str | None:
    """The outcome last recorded for *step* of *entry* (since it was last forgotten), if any."""
    outcomes = [a.outcome for a in current_attempts(entry) if a.step == step]
    return outcomes[-1] if outcomes else None


def resume_until(call: Call, entry: JournalEntry, step: str) -> datetime:
    """On resume: from when a step found missing may be sent again (now, unless in doubt)."""
    if call.taken_over or last_outcome(entry, step) == "uncertain":
        return call.settings.settle.until(entry, taken_over=call.taken_over, step=step)
    return call.settings.clock()
