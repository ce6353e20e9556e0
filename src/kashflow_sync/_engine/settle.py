"""When a send whose outcome is unknown can no longer be applied by KashFlow.

KashFlow is an ASP.NET service: a request whose caller gave up (a timeout, a dropped
connection) keeps running on the server and may be applied seconds later (ASP.NET's default
limit is 110 s). "Not found" right after such a send proves nothing. So a write whose outcome is
unknown is never sent again, and its absence never concluded, before its *settle time* has
passed since the last thing known about it:

- after an uncertain answer: from when it was recorded (the request had fully arrived by then);
- after taking over another worker's expired lease: from now plus the whole-request deadline,
  because that worker's last request could still have been on its way.

Then the document is reconciled (looked up) again; only a lookup after that moment may prove it
absent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import attrs

from .. import errors
from .._documents.model import PublishAttempt
from .._error_codes import ErrorCode
from .._journal.entry import JournalEntry

__all__ = ["DEFAULT_SETTLE_TIME", "Settle", "current_attempts"]

#: ASP.NET's default request limit (110 s) plus a margin.
DEFAULT_SETTLE_TIME = timedelta(seconds=120)


def current_attempts(entry: JournalEntry) -> tuple[PublishAttempt, ...]:
    """*entry*'s attempts since it was last forgotten (all of them if it never was).

    A forgotten document is published anew under the same entry (``forget``), which records
    ``publish: anew`` first: what happened to the copy deleted in KashFlow must not steer the
    new one.
    """
    attempts = entry.attempts
    for index in range(len(attempts) - 1, -1, -1):
        if attempts[index].step == "publish" and attempts[index].outcome == "anew":
            return attempts[index + 1 :]
    return attempts


@attrs.frozen
class Settle:
    """The settle rule of one connection.

    Args:
        settle_time: how long KashFlow may still apply a request after it arrived.
        request_deadline: the longest a request of this client takes (its whole-response
            timeout): how long after its start a request may still arrive.
        clock: the current time, timezone-aware (the caller's: the engine reads no clock).

    """

    settle_time: timedelta
    request_deadline: timedelta
    clock: Callable[[], datetime] = attrs.field(eq=False)

    def until(self, entry: JournalEntry, *, taken_over: bool, step: str | None = None) -> datetime:
        """The moment from which a lookup may prove *entry*'s uncertain send absent.

        Args:
            entry: the journal entry, with its attempts.
            taken_over: the entry was held by another worker whose lease this call outlived.
            step: the step whose send is in doubt (``"create"``, ``"attachment"``,
                ``"payment"``, ``"contact"``); None for any.

        """
        if taken_over:
            return self.clock() + self.request_deadline + self.settle_time
        attempts = current_attempts(entry)
        times = [a.at for a in attempts if step is None or a.step in (step, "publish")]
        base = max(times) if times else (entry.updated_at or self.clock())
        return base + self.settle_time

    def check(self, entry: JournalEntry, *, taken_over: bool, step: str | None, what: str) -> None:
        """Raise ``publish_settling`` while *entry*'s uncertain send may still be applied."""
        self.refuse_until(
            self.until(entry, taken_over=taken_over, step=step), entry.external_id, what
        )

    def refuse_until(self, until: datetime, external_id: str, what: str) -> None:
        """Raise ``publish_settling`` if *until* is still to come."""
        now = self.clock()
        if now >= until:
            return
        wait = (until - now).total_seconds()
        at = until.strftime("%H:%M:%S %Z").strip()
        raise errors.PublishUncertainError(
            f"KashFlow may still be applying an earlier send of {what} of {external_id!r}; "
            f"not sending it again before {at}",
            code=ErrorCode.PUBLISH_SETTLING,
            remedy=(
                f"Publish it again after {at} (in {wait:.0f} s): the SDK looks it up in KashFlow "
                "first and sends it only if KashFlow never applied the earlier send."
            ),
            retry_after=wait,
        )
