"""What ``kashflow-sync doctor`` reports: checks, lookups, assumptions, the write probe.

Plain frozen values with a JSON form, so the command line can draw them and ``--json`` can
print them. Nothing here holds a secret or a contact's data: KashFlow's words are masked before
they get here, and lists are reported by size only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

import attrs

from .. import errors
from .._account.facts import AccountFacts
from .session import SentRequest

__all__ = [
    "Assumption",
    "Check",
    "DoctorReport",
    "ListTiming",
    "LookupAnswer",
    "ProbeItem",
    "ProbeResult",
]

Outcome = Literal["ok", "problem", "warning", "skipped"]
Verdict = Literal["confirmed", "contradicted", "open"]
AnswerForm = Literal["status_no", "empty_object", "found", "error"]


@attrs.frozen
class Check:
    """One thing doctor checked: what it saw and, unless it is fine, what to do.

    Attributes:
        key: a stable id, e.g. ``"credentials"``, ``"clock"``, ``"not_found.receipt"``.
        title: what was checked, in a few words.
        outcome: ``"ok"``, ``"problem"`` (something to fix), ``"warning"`` (worth a look) or
            ``"skipped"`` (could not be checked; the summary says why).
        summary: what doctor saw.
        remedy: what to do about it; empty when there is nothing to do.

    """

    key: str
    title: str
    outcome: Outcome
    summary: str
    remedy: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return attrs.asdict(self)


@attrs.frozen
class ListTiming:
    """One list of the throwaway full sync: how many items and how long it took."""

    name: str
    items: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {"name": self.name, "items": self.items, "seconds": round(self.seconds, 3)}


@attrs.frozen
class LookupAnswer:
    """How the account answered a lookup of something that does not exist.

    Attributes:
        lookup: ``"receipt"``, ``"invoice"``, ``"supplier"`` or ``"customer"``.
        operation: the SOAP operation used, e.g. ``"GetReceipt"``.
        form: ``"status_no"``, ``"empty_object"`` (Status OK, id and number 0), ``"found"``
            (something came back: the probe value exists after all) or ``"error"``.
        words: KashFlow's ``StatusDetail`` (masked), ``""`` when there were none.
        sdk_reads_absent: whether the SDK's own reader took the answer as "not there".

    """

    lookup: str
    operation: str
    form: AnswerForm
    words: str
    sdk_reads_absent: bool

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return attrs.asdict(self)


@attrs.frozen
class Assumption:
    """One of the SDK's uncertain assumptions and what this account said about it.

    Attributes:
        key: a stable id, e.g. ``"rate_decimals"``.
        assumption: what the SDK assumes, in a sentence.
        verdict: ``"confirmed"``, ``"contradicted"`` or ``"open"`` (not settled by this run).
        evidence: what doctor saw, or why it could not tell.

    """

    key: str
    assumption: str
    verdict: Verdict
    evidence: str

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return attrs.asdict(self)


@attrs.frozen
class ProbeItem:
    """Something ``--probe-writes`` created, and whether it is gone again.

    Attributes:
        kind: ``"supplier"``, ``"customer"``, ``"receipt"``, ``"invoice"`` (a credit note is
            a receipt or invoice with negative lines), ``"attachment"`` or ``"payment"``.
        label: what it is, with its numbers and names (all made up by doctor).
        state: ``"deleted"``, ``"left"`` (still in KashFlow) or ``"unknown"`` (it may exist:
            the request that would have created it went unanswered).
        reason: why it is left or unknown (KashFlow's words, or the interruption).
        how_to_remove: how to remove it by hand in KashFlow, when it is left or unknown.

    """

    kind: str
    label: str
    state: Literal["deleted", "left", "unknown"]
    reason: str = ""
    how_to_remove: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return attrs.asdict(self)


@attrs.frozen
class ProbeResult:
    """What ``--probe-writes`` made, learned and removed.

    Attributes:
        items: everything it created (or may have), in the order made.
        lasting: changes that stay by design (AutoAuth adding this machine's IP address).
        interrupted: whether Ctrl-C stopped the probe.
        notes: what it could not probe and why (no second currency, no payment method...).

    """

    items: tuple[ProbeItem, ...] = ()
    lasting: tuple[str, ...] = ()
    interrupted: bool = False
    notes: tuple[str, ...] = ()

    @property
    def left(self) -> tuple[ProbeItem, ...]:
        """What is (or may be) still in KashFlow."""
        return tuple(i for i in self.items if i.state != "deleted")

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "items": [i.to_json() for i in self.items],
            "left": [i.to_json() for i in self.left],
            "lasting": list(self.lasting),
            "interrupted": self.interrupted,
            "notes": list(self.notes),
        }


@attrs.frozen
class DoctorReport:
    """Everything one ``kashflow-sync doctor`` run found.

    Attributes:
        endpoint: the SOAP URL checked.
        started_at: when the run started (UTC).
        sdk_version: the kashflow-sync version that ran.
        writes_probed: whether ``--probe-writes`` ran.
        checks: each check, in the order run.
        lists: the throwaway full sync, list by list.
        lookups: how each not-found lookup was answered.
        assumptions: the SDK's uncertain assumptions, each with its verdict.
        probe: what ``--probe-writes`` did, or None.
        sent: every request sent, in order (operation, write or not, HTTP status).
        facts: what was learned (before merging with stored facts), or None.
        stopped_by: the error that stopped the checks early (credentials refused...), if any.
        interrupted: whether Ctrl-C stopped the run.

    """

    endpoint: str
    started_at: datetime
    sdk_version: str
    writes_probed: bool
    checks: tuple[Check, ...] = ()
    lists: tuple[ListTiming, ...] = ()
    lookups: tuple[LookupAnswer, ...] = ()
    assumptions: tuple[Assumption, ...] = ()
    probe: ProbeResult | None = None
    sent: tuple[SentRequest, ...] = ()
    facts: AccountFacts | None = None
    stopped_by: errors.KashFlowError | None = None
    interrupted: bool = False

    @property
    def problems(self) -> tuple[Check, ...]:
        """The checks that found something to fix."""
        return tuple(c for c in self.checks if c.outcome == "problem")

    @property
    def ok(self) -> bool:
        """No problem, nothing left behind, not stopped or interrupted."""
        left = self.probe.left if self.probe is not None else ()
        return not (self.problems or left or self.stopped_by or self.interrupted)

    @property
    def writes_sent(self) -> tuple[str, ...]:
        """The operations sent that may change the account."""
        return tuple(s.operation for s in self.sent if s.write)

    def to_json(self, *, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The report as JSON-ready data (for ``--json``); *extra* keys are added on top."""
        data: dict[str, Any] = {
            "ok": self.ok,
            "endpoint": self.endpoint,
            "started_at": self.started_at.isoformat(),
            "sdk_version": self.sdk_version,
            "writes_probed": self.writes_probed,
            "interrupted": self.interrupted,
            "checks": [c.to_json() for c in self.checks],
            "lists": [t.to_json() for t in self.lists],
            "lookups": [a.to_json() for a in self.lookups],
            "assumptions": [a.to_json() for a in self.assumptions],
            "probe": None if self.probe is None else self.probe.to_json(),
            "sent": [
                {"operation": s.operation, "write": s.write, "http_status": s.http_status}
                for s in self.sent
            ],
            "writes_sent": list(self.writes_sent),
            "facts": None if self.facts is None else self.facts.to_json(),
        }
        if extra:
            data.update(extra)
        return data
