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
from .._amounts import SAFE_RATE_DECIMALS
from .._documents import Document
from .._journal import JournalEntry
from .._lists import ListsSnapshot
from .effects import Flow, sleep
from .journal import DEFAULT_LEASE, DEFAULT_WAIT_POLL, Lease, utcnow
from .ledger import LedgerCache
from .settle import DEFAULT_SETTLE_TIME, Settle

__all__ = [
    "MAX_SETTLE_WAIT",
    "SETTLE_POLL",
    "Call",
    "PublishSettings",
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
        clock: the current time, timezone-aware.
        settle_time: how long KashFlow may still apply a request it received (see
            :mod:`.settle`).
        request_deadline: the longest one request of this client takes.
        rate_decimals: decimals of a unit rate the account keeps (2 unless learned).
        ledger_cache: the shared pre-send lookup, or None to look every time.
        max_settle_wait: the longest settle time waited out within a call.

    """

    connection_id: str
    lease: timedelta = DEFAULT_LEASE
    wait_poll: float = DEFAULT_WAIT_POLL
    check_ledger: bool = True
    clock: Callable[[], datetime] = utcnow
    settle_time: timedelta = DEFAULT_SETTLE_TIME
    request_deadline: timedelta = timedelta(seconds=60)
    rate_decimals: int = SAFE_RATE_DECIMALS
    ledger_cache: LedgerCache | None = None
    max_settle_wait: timedelta = MAX_SETTLE_WAIT

    @property
    def settle(self) -> Settle:
        """The settle rule these settings describe."""
        return Settle(self.settle_time, self.request_deadline, self.clock)


@attrs.define
class Call:
    """What one publish call works with."""

    document: Document
    lists: ListsSnapshot
    settings: PublishSettings
    lease: Lease
    taken_over: bool = False
    defer_id: bool = False
    new_contact: bool = False
    #: A refused attachment: the payment still goes, then this is raised (document kept).
    refused_attachment: errors.KashFlowError | None = None


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
        yield from sleep(min(pause, (until - now).total_seconds()))
        pause *= 2


def last_outcome(entry: JournalEntry, step: str) -> str | None:
    """The outcome last recorded for *step* of *entry*, if any."""
    outcomes = [a.outcome for a in entry.attempts if a.step == step]
    return outcomes[-1] if outcomes else None


def resume_until(call: Call, entry: JournalEntry, step: str) -> datetime:
    """On resume: from when a step found missing may be sent again (now, unless in doubt)."""
    if call.taken_over or last_outcome(entry, step) == "uncertain":
        return call.settings.settle.until(entry, taken_over=call.taken_over, step=step)
    return call.settings.clock()
