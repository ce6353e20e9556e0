"""Late writes: requests the caller gave up on that the fake applies afterwards.

Real KashFlow is an ASP.NET service: a request whose caller timed out keeps running on the
server and may land seconds later. The ``late_apply`` fault plays that. Each such request is
*held* while the caller still waits, becomes *pending* when the caller gives up (a timer runs
``apply_after`` seconds), and ends *applied* or *cancelled*. One daemon thread, started on
first use, applies pending writes when they fall due; :meth:`LateWrites.settle` waits for all of
them with a deadline, so tests never sleep blindly.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Literal

import attrs

__all__ = ["LateWrite", "LateWrites", "Outcome"]

#: ``(Status, StatusDetail)`` of an applied write; ``(None, None)`` when it was a SOAP fault.
Outcome = tuple[str | None, str | None]
State = Literal["held", "pending", "applying", "applied", "cancelled"]
_OPEN: frozenset[str] = frozenset({"held", "pending", "applying"})


@attrs.frozen
class LateWrite:
    """One request hit by the ``late_apply`` fault, as ``fake.late_writes`` reports it.

    Attributes:
        operation: the SOAP operation.
        state: ``"held"`` (the caller is still waiting), ``"pending"`` (the caller gave up;
            the timer runs), ``"applying"``, ``"applied"`` or ``"cancelled"``.
        apply_after: seconds between the caller giving up and the write.
        status: KashFlow's ``Status`` once applied (``"OK"``/``"NO"``), else None.
        status_detail: KashFlow's ``StatusDetail`` once applied, else None.

    """

    operation: str | None
    state: State
    apply_after: float
    status: str | None = None
    status_detail: str | None = None


@attrs.define
class _Entry:
    seq: int
    operation: str | None
    apply: Callable[[], Outcome] = attrs.field(repr=False)
    apply_after: float
    state: State = "held"
    due: float = 0.0
    outcome: Outcome = (None, None)

    def snapshot(self) -> LateWrite:
        return LateWrite(self.operation, self.state, self.apply_after, *self.outcome)


class LateWrites:
    """The late writes of one fake, and the timer thread that applies them."""

    def __init__(self, on_error: Callable[[BaseException], None]) -> None:
        """Start empty; *on_error* receives any exception raised while applying a write."""
        self._cond = threading.Condition()
        self._entries: list[_Entry] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._on_error = on_error

    def hold(
        self, operation: str | None, apply: Callable[[], Outcome], apply_after: float
    ) -> Callable[[], None]:
        """Register a request the caller is still waiting on.

        Returns:
            ``release``: call it when the caller has given up; *apply* then runs
            *apply_after* seconds later (once; later calls do nothing).

        """
        entry = _Entry(next(self._seq), operation, apply, apply_after)
        with self._cond:
            self._entries.append(entry)

        def release() -> None:
            with self._cond:
                if entry.state != "held":
                    return
                entry.state = "pending"
                entry.due = time.monotonic() + entry.apply_after
                self._ensure_thread()
                self._cond.notify_all()

        return release

    @property
    def writes(self) -> list[LateWrite]:
        """Every late write so far, oldest first."""
        with self._cond:
            return [e.snapshot() for e in self._entries]

    def settle(self, timeout: float) -> bool:
        """Wait until no late write is held, pending or applying; False if *timeout* passed."""
        with self._cond:
            return self._cond.wait_for(
                lambda: not any(e.state in _OPEN for e in self._entries), timeout
            )

    def flush(self) -> None:
        """Apply every held or pending write now, in arrival order, then wait for the rest."""
        with self._cond:
            batch = [e for e in self._entries if e.state in ("held", "pending")]
            for entry in batch:
                entry.state = "applying"
        for entry in batch:
            self._apply(entry)
        self.settle(timeout=60)

    def cancel(self) -> None:
        """Drop every held or pending write (it never lands); wait for any being applied."""
        with self._cond:
            for entry in self._entries:
                if entry.state in ("held", "pending"):
                    entry.state = "cancelled"
            self._cond.notify_all()
        self.settle(timeout=60)

    def close(self, late_writes: Literal["apply", "cancel"]) -> None:
        """Apply or cancel what is left, then stop the timer thread (it restarts on use)."""
        if late_writes == "apply":
            self.flush()
        else:
            self.cancel()
        with self._cond:
            thread, self._thread = self._thread, None
            self._stopping = True
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout=10)
        with self._cond:
            self._stopping = False

    def forget(self) -> None:
        """Cancel what is left and forget every late write (for a reset account)."""
        self.cancel()
        with self._cond:
            self._entries.clear()

    # -- the timer thread -----------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="FakeKashFlow-late-writes", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                entry = self._next_due()
                while entry is None and not self._stopping:
                    pending = [e.due for e in self._entries if e.state == "pending"]
                    wait = max(0.0, min(pending) - time.monotonic()) if pending else None
                    self._cond.wait(wait)
                    entry = self._next_due()
                if entry is None:
                    return
                entry.state = "applying"
            self._apply(entry)

    def _next_due(self) -> _Entry | None:
        now = time.monotonic()
        due = [e for e in self._entries if e.state == "pending" and e.due <= now]
        return min(due, key=lambda e: (e.due, e.seq)) if due else None

    def _apply(self, entry: _Entry) -> None:
        outcome: Outcome = (None, None)
        try:
            outcome = entry.apply()
        except Exception as exc:  # a bug in the fake must surface in fake.errors, not vanish
            self._on_error(exc)
        with self._cond:
            entry.outcome = outcome
            entry.state = "applied"
            self._cond.notify_all()
