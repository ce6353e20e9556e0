"""What the tasks return: plain JSON, never an exception and never a secret.

A task's result travels through the host's result backend (Redis, a database, RPC) as JSON, so
it is built from plain values here: the numbers KashFlow gave, or the error's stable ``code``,
``message``, ``remedy`` and ``retryable``. The SDK's errors never hold the password or the
AutoAuth key, so neither do these.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from .. import errors
from .._documents import PublishResult
from .._models import SyncReport

__all__ = [
    "ErrorJSON",
    "ListChangesJSON",
    "ProblemJSON",
    "PublishTaskResult",
    "RefreshTaskResult",
    "error_json",
    "failed_publish",
    "failed_refresh",
    "published",
    "refreshed",
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


def error_json(exc: errors.KashFlowError) -> ErrorJSON:
    """*exc* as JSON-ready data (validation problems included)."""
    data: ErrorJSON = {
        "code": exc.code,
        "message": exc.message,
        "remedy": exc.remedy,
        "retryable": exc.retryable,
    }
    if isinstance(exc, errors.ValidationError):
        data["problems"] = [
            {"code": p.code, "field": p.field, "message": p.message, "remedy": p.remedy}
            for p in exc.problems
        ]
    return data


def published(result: PublishResult) -> PublishTaskResult:
    """The task result of a document published now or before."""
    return {
        "external_id": result.external_id,
        "status": result.status,
        "number": result.number or None,
        "kashflow_id": result.kashflow_id or None,
        "error": None,
    }


def failed_publish(external_id: str | None, exc: errors.KashFlowError) -> PublishTaskResult:
    """The task result of a document that was not published."""
    return {
        "external_id": external_id,
        "status": "failed",
        "number": None,
        "kashflow_id": None,
        "error": error_json(exc),
    }


def refreshed(connection_id: str, report: SyncReport) -> RefreshTaskResult:
    """The task result of a refresh that worked."""
    return {
        "connection_id": connection_id,
        "status": "refreshed",
        "lists": {
            name: {
                "added": c.added,
                "changed": c.changed,
                "archived": c.archived,
                "unchanged": c.unchanged,
            }
            for name, c in report.lists.items()
        },
        "duration": round(report.duration, 3),
        "error": None,
    }


def failed_refresh(connection_id: str, exc: errors.KashFlowError) -> RefreshTaskResult:
    """The task result of a refresh that did not work."""
    return {
        "connection_id": connection_id,
        "status": "failed",
        "lists": {},
        "duration": None,
        "error": error_json(exc),
    }
