"""Publishing and list refresh on Celery workers (the extra ``kashflow-sync[celery]``).

A host registers the tasks on its own Celery app, with a factory that builds a
:class:`~kashflow_sync.KashFlowClient` for a connection id (the host owns the credentials;
tasks carry only the connection id and the document)::

    from kashflow_sync.celery import register

    tasks = register(celery_app, client_factory)
    tasks.publish.delay(connection_id, kfs.document_to_json(doc))  # result: a JSON dict
    tasks.refresh.delay(connection_id)
    tasks.verify.delay(connection_id)                               # late second copies
    tasks.schedule_refreshes(list_connection_ids)                   # every 48 h, on beat

Publishing through tasks keeps the exactly-once promise when workers die and Celery delivers a
task again. A document's outcome is the task's result (published, already published, or failed
with its error's code and remedy); errors that mean "not now" are retried with backoff; only a
bug ends a task in Celery's ``FAILURE`` state (the "Running at scale" page of the docs has the
details). ``import kashflow_sync`` never imports Celery; only this module needs it.
"""

from __future__ import annotations

try:
    import celery as _celery  # noqa: F401  (the friendly error below, before any other import)
except ImportError as _missing:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "kashflow_sync.celery needs Celery: pip install 'kashflow-sync[celery]'"
    ) from _missing

from ._results import (
    ErrorJSON,
    JournalEntryJSON,
    ListChangesJSON,
    ProblemJSON,
    PublishTaskResult,
    RefreshTaskResult,
    VerifyTaskResult,
)
from ._tasks import (
    DEFAULT_CACHED_CONNECTIONS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_REFRESH_EVERY,
    DEFAULT_RETRY_BACKOFF,
    DEFAULT_RETRY_BACKOFF_MAX,
    KashFlowTasks,
    backoff,
    register,
    should_retry,
)

__all__ = [
    "DEFAULT_CACHED_CONNECTIONS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_REFRESH_EVERY",
    "DEFAULT_RETRY_BACKOFF",
    "DEFAULT_RETRY_BACKOFF_MAX",
    "ErrorJSON",
    "JournalEntryJSON",
    "KashFlowTasks",
    "ListChangesJSON",
    "ProblemJSON",
    "PublishTaskResult",
    "RefreshTaskResult",
    "VerifyTaskResult",
    "backoff",
    "register",
    "should_retry",
]
