"""No silent duplicate: documents whose create was sent again are looked at again later.

KashFlow has no idempotency key. After an uncertain create the SDK waits out the settle time
(:mod:`.settle`), proves the document absent, and only then sends again; a second copy can
still appear if KashFlow applies the first request later than the settle time (a request
stuck in its queue). No protocol prevents that. So every document sent again is *watched*: a
journal entry of its own (``_storage_keys.verify_journal_key``) records what to look for, and
:func:`verify` (``client.verify()``, ``kashflow-sync verify``, the Celery task) reads the
contact's documents in KashFlow afresh. A second copy marks the document's entry
``duplicated``, with both numbers, and says which copy to delete; once a person deleted it,
the next ``verify`` puts the entry back to ``published``. A watch ends once the copy was found,
or when its horizon has passed with nothing found.

A watch is also kept for a document whose first send raced a twin (the same invoice under
another external id) that took the content over (see :func:`~.content.twin_after_send`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from .._documents.model import PublishAttempt, kashflow_noun, side
from .._journal.entry import JournalEntry, moved, released
from .._journal.states import (
    ABSENT_STATES,
    DUPLICATED,
    PUBLISHED,
    WATCHING,
    JournalState,
)
from .._storage_keys import document_owner_key, verify_journal_key
from ..soap.records import LedgerDocument
from .context import Call
from .effects import (
    AddAttempt,
    ClaimJournal,
    DocumentsForContact,
    Flow,
    GetJournal,
    GetState,
    UpdateJournal,
    ask,
)
from .ledger import reference_key
from .settle import current_attempts

__all__ = [
    "DEFAULT_VERIFY_HORIZON",
    "Finding",
    "other_copies",
    "verify",
    "watch_for_late_copy",
]

#: How long after a document was sent again ``verify`` keeps looking for a late copy. ASP.NET
#: gives up on a request after 110 s by default; a day covers a queue stuck far longer.
DEFAULT_VERIFY_HORIZON = timedelta(days=1)

_PENNY = Decimal("0.01")
_WATCH = "watch"


@attrs.frozen
class Finding:
    """What one watch showed: the document's entry as it now stands, and the other copies."""

    entry: JournalEntry
    others: tuple[int, ...]


def other_copies(entry: JournalEntry) -> tuple[int, ...]:
    """The other copies of a ``duplicated`` entry, as ``verify`` last recorded them."""
    if entry.state != DUPLICATED:
        return ()
    found = [a for a in current_attempts(entry) if a.step == "verify"]
    if not found or found[-1].outcome != "duplicated":
        return ()
    listed = found[-1].detail.partition(":")[0]  # "receipts 12 and 15, 16: keep 12"
    numbers = (int(n) for n in listed.replace(",", " ").split() if n.isdigit())
    return tuple(n for n in numbers if n != entry.number)


def watch_for_late_copy(call: Call, entry: JournalEntry, *, twin: str | None = None) -> Flow[None]:
    """Start (or renew) the watch on *entry*'s document, created as KashFlow number N.

    Records what identifies the document in KashFlow (contact, reference, date, totals as
    KashFlow holds them) so :func:`verify` can look for a second copy without the document.
    """
    document, settings = call.document, call.settings
    assert entry.number is not None and entry.contact_id is not None
    now = settings.clock()
    template = JournalEntry(
        connection_id=settings.connection_id,
        external_id=verify_journal_key(document.external_id),
        kind=document.kind,
        fingerprint=document.external_id,
        created_at=now,
        updated_at=now,
    )
    claim = yield from ask(ClaimJournal(template, call.lease.owner, now, now + settings.lease))
    stored = claim.entry
    owner = call.lease.owner if claim.acquired else stored.owner
    watch = attrs.evolve(
        moved(stored, WATCHING),
        number=entry.number,
        contact_id=entry.contact_id,
        owner=None,
        lease_until=None,
        updated_at=now,
    )
    # A watch that ended earlier (a previous send) is opened again: no owner holds it.
    yield from ask(UpdateJournal(watch, owner))
    what = {
        "external_id": document.external_id,
        "reference": document.reference,
        "issue_date": document.issue_date.isoformat() if document.issue_date else None,
        "net": str(document.ledger_net),
        "vat": str(document.ledger_vat),
        "lines": len(document.lines),
        "twin": twin,
        "since": now.isoformat(),
    }
    detail = json.dumps(what, sort_keys=True)
    yield from ask(
        AddAttempt(
            settings.connection_id,
            watch.external_id,
            PublishAttempt(
                at=now, step=_WATCH, outcome="twin" if twin else "resent", detail=detail
            ),
        )
    )


def _watched(marker: JournalEntry) -> Mapping[str, Any] | None:
    for attempt in reversed(marker.attempts):
        if attempt.step == _WATCH:
            try:
                data = json.loads(attempt.detail)
            except ValueError:
                return None
            return data if isinstance(data, dict) else None
    return None


def _copies(
    held: Sequence[LedgerDocument], what: Mapping[str, Any], number: int
) -> list[LedgerDocument]:
    """The documents in *held* that are the watched document: same reference, date, totals."""
    wanted_date = date.fromisoformat(what["issue_date"]) if what.get("issue_date") else None
    close = _PENNY * max(1, int(what.get("lines") or 1))
    net, vat = Decimal(what["net"]), Decimal(what["vat"])
    ref = reference_key(str(what.get("reference") or ""))
    return [
        d
        for d in held
        if d.number != number
        and reference_key(d.reference) == ref
        and d.issue_date == wanted_date
        and abs(d.net - net) <= close
        and abs(d.vat - vat) <= close
    ]


def verify(
    connection_id: str,
    markers: Sequence[JournalEntry],
    *,
    now: datetime,
    horizon: timedelta = DEFAULT_VERIFY_HORIZON,
) -> Flow[list[Finding]]:
    """Look for a late second copy of every watched document; mark and return what it finds.

    Args:
        connection_id: the connection.
        markers: the open watches (journal entries under ``VERIFY_KEY_PREFIX``, state
            ``watching``).
        now: the time horizons are judged against (the clock leases are judged on).
        horizon: how long after a send a watch keeps looking.

    Returns:
        A :class:`Finding` per document found in KashFlow twice (its entry now
        ``duplicated``), or found once again after being ``duplicated`` (back to
        ``published``, with no other copies).

    Raises:
        KashFlowError: KashFlow could not be read; what was found so far is kept in the
            journal, and verifying again is safe.

    """
    findings: list[Finding] = []
    fetched: dict[tuple[str, int], list[LedgerDocument]] = {}  # one read per contact per run
    for marker in markers:
        finding = yield from _verify_one(connection_id, marker, now, horizon, fetched)
        if finding is not None:
            findings.append(finding)
    return findings


def _verify_one(
    connection_id: str,
    marker: JournalEntry,
    now: datetime,
    horizon: timedelta,
    fetched: dict[tuple[str, int], list[LedgerDocument]],
) -> Flow[Finding | None]:
    what = _watched(marker)
    entry = yield from ask(GetJournal(connection_id, marker.fingerprint))
    if (
        what is None
        or entry is None
        or entry.number is None
        or entry.contact_id is None
        or entry.state in ABSENT_STATES
        or entry.number != marker.number
    ):
        # Nothing left to watch: the document was forgotten, or published anew since.
        yield from _end(marker, now, "ended")
        return None
    key = (side(entry.kind), entry.contact_id)
    if key not in fetched:
        fetched[key] = yield from ask(DocumentsForContact(*key))
    held = fetched[key]
    ours = any(d.number == entry.number for d in held)
    others = []
    for copy in _copies(held, what, entry.number):
        owner = yield from ask(
            GetState(connection_id, document_owner_key(side(entry.kind), copy.number))
        )
        # A copy published under another external id is that document, unless it is the twin
        # this one raced: then it is the same invoice twice.
        if owner in (None, entry.external_id, what.get("twin")):
            others.append(copy.number)
    noun = kashflow_noun(entry.kind)
    if others and ours:
        if entry.state != DUPLICATED:
            listed = ", ".join(map(str, others))
            marked = yield from _set_state(entry, DUPLICATED, now)
            if marked is None:
                return None  # being published right now: the next verify looks again
            yield from _record(
                entry,
                now,
                "duplicated",
                f"{noun}s {entry.number} and {listed}: keep {entry.number}",
            )
            entry = marked
        return Finding(entry, tuple(others))
    if entry.state == DUPLICATED and ours and not others:
        resolved = yield from _set_state(entry, PUBLISHED, now)
        if resolved is not None:
            yield from _record(entry, now, "resolved", f"only {noun} {entry.number} is left")
            yield from _end(marker, now, "resolved")
            return Finding(resolved, ())
        return None
    since = datetime.fromisoformat(what["since"]) if what.get("since") else marker.created_at
    if entry.state != DUPLICATED and since is not None and now - since >= horizon:
        yield from _end(marker, now, "clean")
    return None


def _set_state(
    entry: JournalEntry, state: JournalState, now: datetime
) -> Flow[JournalEntry | None]:
    """*entry* moved to *state* if no call holds it now (compare-and-set on no owner)."""
    if entry.owner is not None and entry.lease_until is not None and entry.lease_until > now:
        return None
    changed = released(moved(entry, state), now)
    if not (yield from ask(UpdateJournal(changed, entry.owner))):
        return None
    return changed


def _record(entry: JournalEntry, now: datetime, outcome: str, detail: str) -> Flow[None]:
    attempt = PublishAttempt(at=now, step="verify", outcome=outcome, detail=detail)
    yield from ask(AddAttempt(entry.connection_id, entry.external_id, attempt))


def _end(marker: JournalEntry, now: datetime, why: str) -> Flow[None]:
    """Close the watch (state ``published``: nothing more to look for)."""
    if (yield from _set_state(marker, PUBLISHED, now)) is not None:
        yield from _record(marker, now, why, "")
