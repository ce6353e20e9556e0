"""What the tasks return: plain JSON, never an exception and never a secret.

A task's result travels through the host's result backend (Redis, a database, RPC) as JSON, so
it is built from plain values here: the numbers KashFlow gave, or the error's stable ``code``,
``message``, ``remedy`` and ``retryable``. The SDK's errors never hold the password or the
AutoAuth key, so neither do these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypedDict, cast

import attrs

from .. import errors
from .._account.items import ListChanges, SyncReport
from .._clients.journal_view import JournalSummary
from .._documents.model import Problem, PublishResult

__all__ = [
    "ErrorJSON",
    "JournalEntryJSON",
    "ListChangesJSON",
    "ProblemJSON",
    "PublishTaskResult",
    "RefreshTaskResult",
    "VerifyTaskResult",
    "error_json",
    "failed_publish",
    "failed_refresh",
    "failed_verify",
    "published",
    "refreshed",
    "verified",
]


class ProblemJSON(TypedDict):
    """One validation problem (``error["problems"]`` of a ``validation_failed`` result)."""

    code: str
    field: str
    message: str
    remedy: str


class _ErrorBase(TypedDict):
    code: str
    message: str
    remedy: str
    retryable: bool


class ErrorJSON(_ErrorBase, total=False):
    """Why a task did not succeed: ``code``, ``message``, ``remedy``, ``retryable``.

    ``problems`` is there only for ``validation_failed`` (and other validation codes): every
    problem of the document, each with its own remedy.
    """

    problems: list[ProblemJSON]


class PublishTaskResult(TypedDict):
    """The result of ``tasks.publish``.

    ``status`` is ``"published"``, ``"already_published"`` or ``"failed"``; ``number`` (the
    receipt or invoice number) and ``kashflow_id`` are set unless it failed, ``error`` only if
    it failed.
    """

    external_id: str | None
    status: Literal["published", "already_published", "failed"]
    number: int | None
    kashflow_id: int | None
    error: ErrorJSON | None
    #: For a credit note naming the invoice it credits: whether it was applied to it.
    applied: bool | None
    #: What a person should do in KashFlow (a credit that could not be applied...).
    notices: list[ProblemJSON]


class ListChangesJSON(TypedDict):
    """How one list changed in a refresh."""

    added: int
    changed: int
    archived: int
    unchanged: int


class RefreshTaskResult(TypedDict):
    """The result of ``tasks.refresh``: ``status`` ``"refreshed"`` or ``"failed"``."""

    connection_id: str
    status: Literal["refreshed", "failed"]
    lists: dict[str, ListChangesJSON]
    duration: float | None
    error: ErrorJSON | None


class JournalEntryJSON(TypedDict):
    """One journal entry as ``tasks.verify`` reports it."""

    external_id: str
    kind: str
    state: str
    number: int | None
    message: str | None
    remedy: str | None


class VerifyTaskResult(TypedDict):
    """The result of ``tasks.verify``: ``status`` ``"verified"`` or ``"failed"``.

    ``entries`` lists what this run found: documents KashFlow holds twice (state
    ``duplicated``, with which copy to delete) and ones whose extra copy was deleted since
    (back to ``published``).
    """

    connection_id: str
    status: Literal["verified", "failed"]
    entries: list[JournalEntryJSON]
    error: ErrorJSON | None


def _problem(problem: Problem) -> ProblemJSON:
    return {
        "code": problem.code,
        "field": problem.field,
        "message": problem.message,
        "remedy": problem.remedy,
    }


def error_json(exc: errors.KashFlowError) -> ErrorJSON:
    """*exc* as JSON-ready data (validation problems included)."""
    data: ErrorJSON = {
        "code": str(exc.code),  # the plain string, as JSON gives it back
        "message": exc.message,
        "remedy": exc.remedy,
        "retryable": exc.retryable,
    }
    if isinstance(exc, errors.ValidationError):
        data["problems"] = [_problem(p) for p in exc.problems]
    return data


def published(result: PublishResult) -> PublishTaskResult:
    """The task result of a document published now or before."""
    return {
        "external_id": result.external_id,
        "status": result.status,
        "number": result.number or None,
        "kashflow_id": result.kashflow_id or None,
        "error": None,
        "applied": result.applied,
        "notices": [_problem(p) for p in result.notices],
    }


def failed_publish(external_id: str | None, exc: errors.KashFlowError) -> PublishTaskResult:
    """The task result of a document that was not published."""
    return {
        "external_id": external_id,
        "status": "failed",
        "number": None,
        "kashflow_id": None,
        "error": error_json(exc),
        "applied": None,
        "notices": [],
    }


def verified(connection_id: str, rows: Sequence[JournalSummary]) -> VerifyTaskResult:
    """The task result of a verify run."""
    return {
        "connection_id": connection_id,
        "status": "verified",
        "entries": [
            {
                "external_id": r.external_id,
                "kind": r.kind,
                "state": r.state,
                "number": r.number,
                "message": r.message,
                "remedy": r.remedy,
            }
            for r in rows
        ],
        "error": None,
    }


def failed_verify(connection_id: str, exc: errors.KashFlowError) -> VerifyTaskResult:
    """The task result of a verify run that could not finish."""
    return {
        "connection_id": connection_id,
        "status": "failed",
        "entries": [],
        "error": error_json(exc),
    }


def refreshed(connection_id: str, report: SyncReport) -> RefreshTaskResult:
    """The task result of a refresh that worked."""
    return {
        "connection_id": connection_id,
        "status": "refreshed",
        "lists": {name: _changes_json(c) for name, c in report.lists.items()},
        "duration": round(report.duration, 3),
        "error": None,
    }


#: A refresh task's result counts each list's changes as :class:`ListChangesJSON`: no total.
_WITHOUT_TOTAL = attrs.filters.exclude("total")


def _changes_json(changes: ListChanges) -> ListChangesJSON:
    return cast("ListChangesJSON", attrs.asdict(changes, filter=_WITHOUT_TOTAL))


def failed_refresh(connection_id: str, exc: errors.KashFlowError) -> RefreshTaskResult:
    """The task result of a refresh that did not work."""
    return {
        "connection_id": connection_id,
        "status": "failed",
        "lists": {},
        "duration": None,
        "error": error_json(exc),
    }
