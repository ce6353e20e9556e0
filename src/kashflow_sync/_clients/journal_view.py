"""The operator's view of the publish journal: what is stuck, why, and what to do.

``client.journal()`` turns stored :class:`~kashflow_sync.JournalEntry` records into
:class:`JournalSummary` rows. The engine records each failure as an attempt whose detail is
``"<code>: <message>"`` (``"<code>"`` for an uncertain send); the summary reads the last one
back and pairs it with a remedy: the error class's own remedy for its code, a few specific ones
for the codes the publish flow raises, and otherwise what the entry's state calls for.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta, timezone

import attrs

from .. import errors
from .._documents.model import DocumentKind, PublishAttempt, kashflow_noun
from .._documents.problems import DUPLICATED_IN_KASHFLOW
from .._engine.lease import describe_holder
from .._engine.notices import step_notices
from .._error_codes import ErrorCode
from .._journal.entry import JournalEntry
from .._journal.states import (
    CREATED,
    DUPLICATED,
    FORGOTTEN,
    JOURNAL_STATES,
    PUBLISHED,
    SENDING,
    UNFINISHED_STATES,
    WATCHING,
    JournalState,
)
from ..soap.errormap import transport_remedies

__all__ = [
    "JOURNAL_STATES",
    "UNFINISHED_STATES",
    "JournalSummary",
    "journal_states",
    "remedy_for",
    "summarise",
    "updated_before",
]


#: Outcomes the publish flow records when something went wrong.
_FAILURE_OUTCOMES = frozenset({"failed", "uncertain"})
_CODE = re.compile(r"^([a-z][a-z0-9_]*)(?::\s*(.*))?$", re.S)
#: A validation problem as ``str(ValidationError)`` lists it: ``- field: message (code) -> remedy``.
_PROBLEM_REMEDY = re.compile(r"^- .*? -> (.+)$", re.M)

_AGAIN = (
    "Publish the same document again (client.publish or the publish task): the SDK looks it up "
    "in KashFlow first and never creates a second copy."
)

#: Remedies for the specific codes the publish flow raises, in an operator's words.
_SPECIFIC: Mapping[str, str] = {
    ErrorCode.PUBLISH_AMBIGUOUS: (
        "KashFlow holds several documents matching this one: check them in KashFlow and delete "
        "the extra copies by hand, then publish it again."
    ),
    ErrorCode.DUPLICATE_PENDING: (
        "Another document with the same contact, reference and total was sent and may be in "
        "KashFlow: publish that one again to settle it; if it lands, this one is the same "
        "invoice and must not be published."
    ),
    ErrorCode.CHANGED_WHILE_UNCERTAIN: (
        "The document changed while an earlier version was being published: publish the "
        "earlier version again to finish it, then correct it in KashFlow."
    ),
    ErrorCode.CONTACT_UNKNOWN: (
        "Refresh the lists so the new supplier or customer is found by name, then publish again."
    ),
    ErrorCode.LEASE_LOST: (
        "Another worker took it over: look again later; publishing again is safe."
    ),
    ErrorCode.PUBLISH_INCOMPLETE: _AGAIN,
    ErrorCode.NEEDS_RECONNECT: (
        "KashFlow refused this connection's credentials: reconnect it with the right ones "
        "(client.reconnect or `kashflow-sync connect`), then publish again."
    ),
    ErrorCode.INTERNAL_ERROR: (
        "An unexpected error (a bug, or the host's Storage or RuleResolver failing): report it; "
        "publishing again is safe."
    ),
}

#: The remedy of each error class's default code, and of each transport code.
_BY_CODE: Mapping[str, str] = {
    **{
        cls.default_code: cls.default_remedy
        for name in errors.__all__
        if isinstance(cls := getattr(errors, name), type) and issubclass(cls, errors.KashFlowError)
    },
    **transport_remedies(),
    **_SPECIFIC,
}


@attrs.frozen
class JournalSummary:
    """One journal entry as an operator reads it (see ``client.journal()``).

    Args:
        connection_id: the connection whose journal it is in.
        external_id: the host's id of the document (or ``kashflow_sync:contact:...`` for a
            supplier or customer the SDK created, when those are asked for).
        kind: ``"purchase"`` (a KashFlow receipt), ``"sales"`` (an invoice),
            ``"purchase_credit_note"`` or ``"sales_credit_note"``.
        state: ``claimed`` (nothing sent yet, or refused), ``sending`` (the create call may
            have reached KashFlow: uncertain), ``created`` (in KashFlow, attachment or payment
            still to do), ``published``, ``duplicated`` (in KashFlow twice: ``message`` names
            both copies, ``remedy`` says which to delete) or ``forgotten`` (deleted in
            KashFlow and forgotten: the next publish creates it anew).
        number: KashFlow's receipt or invoice number, once known.
        kashflow_id: KashFlow's internal id, once known.
        attempts: how many steps were recorded for it (``publish_history`` lists them).
        last_error: the code of the last failure, if the entry is not published
            (``duplicated`` or ``forgotten`` for entries in those states).
        message: what that failure said.
        remedy: what to do about the entry; None when it is published or being published.
        updated_at: when the entry last changed.
        leased_until: a worker holds the entry until then (publishing it now); None if none.
        held_by: who holds it then, in words: ``"process 4242 on build-box (call 0123…)"``
            for a publish call of this SDK, the owner id as given for another; None when no
            one holds it.

    """

    connection_id: str
    external_id: str
    kind: DocumentKind
    state: JournalState
    number: int | None
    kashflow_id: int | None
    attempts: int
    last_error: str | None
    message: str | None
    remedy: str | None
    updated_at: datetime | None
    leased_until: datetime | None
    held_by: str | None = None


def remedy_for(code: str) -> str | None:
    """The remedy the SDK gives for an error *code*, or None for a code it does not know."""
    if code.startswith("http_5") or code == ErrorCode.RATE_LIMITED:
        return errors.TransientError.default_remedy
    return _BY_CODE.get(code)


def _last_failure(attempts: Collection[PublishAttempt]) -> tuple[str, str] | None:
    """``(code, message)`` of the last failed or uncertain step, if any."""
    for attempt in reversed(list(attempts)):
        if attempt.outcome not in _FAILURE_OUTCOMES:
            continue
        match = _CODE.match(attempt.detail.strip())
        if match is None:  # not the engine's "code: message" form: keep the words whole
            return attempt.outcome, attempt.detail
        return match[1], (match[2] or "").strip()
    return None


#: What a watch on a document sent twice asks of a person: nothing but running verify.
_WATCHED = (
    "Nothing to do now: the document was sent a second time after KashFlow showed no copy, "
    "and verify (`kashflow-sync verify`, client.verify()) looks for a late first copy until "
    "the watch ends. Run verify now and then, e.g. hourly."
)


def _remedy(entry: JournalEntry, failure: tuple[str, str] | None, leased: bool) -> str | None:
    if entry.state == PUBLISHED or leased:
        return None
    if entry.state == WATCHING:
        return _WATCHED
    if failure is not None:
        code, message = failure
        if code in _SPECIFIC:
            return _SPECIFIC[code]
        if code == errors.ValidationError.default_code:
            # Each problem carries its own remedy in the recorded message.
            problems = _PROBLEM_REMEDY.findall(message)
            if problems:
                return " ".join(dict.fromkeys(p.strip() for p in problems))
    if entry.state == SENDING:
        return _AGAIN
    if entry.state == CREATED:
        return (
            "It is in KashFlow already (see its number); publish it again to finish its "
            "attachment or payment: the document itself is not sent again."
        )
    if failure is not None:
        return remedy_for(failure[0]) or errors.KashFlowError.default_remedy
    return "Nothing was sent to KashFlow; publish it again."


def _settled_view(entry: JournalEntry) -> tuple[str, str, str] | None:
    """``(code, message, remedy)`` of an entry that ended ``duplicated`` or ``forgotten``."""
    if entry.state == DUPLICATED:
        notice = next((n for n in step_notices(entry)[1] if n.code == DUPLICATED_IN_KASHFLOW), None)
        if notice is not None:
            return "duplicated", notice.message, notice.remedy
    if entry.state == FORGOTTEN:
        noun = kashflow_noun(entry.kind)
        return (
            "forgotten",
            f"{noun} {entry.number} was deleted in KashFlow and the entry forgotten",
            "Publish it again to create it anew (exactly once); its history is kept.",
        )
    return None


def summarise(entry: JournalEntry, now: datetime) -> JournalSummary:
    """The operator's view of *entry* at time *now* (timezone-aware)."""
    leased = entry.owner is not None and entry.lease_until is not None and entry.lease_until > now
    settled = _settled_view(entry)
    failure = None if entry.state == PUBLISHED or settled else _last_failure(entry.attempts)
    code: str | None
    message: str | None
    remedy: str | None
    if settled is not None:
        code, message, remedy = settled
    else:
        code = None if failure is None else failure[0]
        message = None if failure is None else next(iter(failure[1].splitlines()), "")
        remedy = _remedy(entry, failure, leased)
    return JournalSummary(
        connection_id=entry.connection_id,
        external_id=entry.external_id,
        kind=entry.kind,
        state=entry.state,
        number=entry.number,
        kashflow_id=entry.kashflow_id,
        attempts=len(entry.attempts),
        last_error=code,
        message=message,
        remedy=remedy,
        updated_at=entry.updated_at,
        leased_until=entry.lease_until if leased else None,
        held_by=describe_holder(entry.owner) if leased else None,
    )


def journal_states(state: str | Collection[str] | None) -> tuple[JournalState, ...] | None:
    """The states asked for, checked; None for every state.

    Raises:
        ValueError: a state that is not a journal state.

    """
    if state is None:
        return None
    wanted = [state] if isinstance(state, str) else list(state)
    unknown = [s for s in wanted if s not in JOURNAL_STATES]
    if unknown:
        raise ValueError(
            f"unknown journal state {unknown[0]!r}: use one of {', '.join(JOURNAL_STATES)}"
        )
    return tuple(dict.fromkeys(wanted))  # type: ignore[arg-type]


def updated_before(older_than: timedelta | datetime | None, now: datetime) -> datetime | None:
    """The cut-off time for ``older_than``: an age before *now*, or a moment.

    Raises:
        ValueError: a negative age, or a datetime without a timezone.
        TypeError: anything but a timedelta, a datetime or None.

    """
    if older_than is None:
        return None
    if isinstance(older_than, timedelta):
        if older_than < timedelta(0):
            raise ValueError(f"older_than must not be negative, not {older_than!r}")
        return now - older_than
    if isinstance(older_than, datetime):
        if older_than.tzinfo is None:
            raise ValueError("older_than must be timezone-aware (e.g. datetime.now(timezone.utc))")
        return older_than.astimezone(timezone.utc)
    raise TypeError(
        f"older_than must be a timedelta or a datetime, not {type(older_than).__name__}"
    )
