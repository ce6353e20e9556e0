"""A Celery app that publishes to KashFlow through kashflow-sync, exactly once.

Needs the ``examples`` extra (``pip install '.[examples]'`` from a checkout: Celery with its
Redis client). Start workers (and, for the list refresh every 48 hours, one beat) from this
folder:

    celery -A kfs_tasks worker --loglevel INFO --concurrency 4
    celery -A kfs_tasks beat --loglevel INFO

Settings come from the environment:

    KASHFLOW_SYNC_BROKER    the broker (default redis://127.0.0.1:6379/0; amqp://... works too)
    KASHFLOW_SYNC_RESULTS   where task results are kept (default: with Redis, the broker's
                            Redis; with RabbitMQ, rpc://, which sends each result back as a
                            message to the process that enqueued the task)
    KASHFLOW_SYNC_QUEUE     the queue name (default kashflow-sync)
    KASHFLOW_SYNC_KEY_PREFIX  with Redis, a prefix for every key the app writes there (queues
                            and results), so several apps can share one Redis
    KASHFLOW_SYNC_DB        the journal every worker shares (PostgreSQL across machines;
                            default a SQLite file, fine for workers on one machine)
    KASHFLOW_ENDPOINT       KashFlow's SOAP endpoint (default KashFlow's own)
    KASHFLOW_USERNAME, KASHFLOW_PASSWORD, KASHFLOW_AUTOAUTH_KEY

A real multi-tenant host looks each connection's credentials up in its own secret store in
``client_factory``; this example serves every connection with the one account in the
environment. Tasks carry only the connection id and the document, never a secret.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

import httpx
from celery import Celery

import kashflow_sync as kfs
from kashflow_sync.celery import register

BROKER = os.environ.get("KASHFLOW_SYNC_BROKER", "redis://127.0.0.1:6379/0")
DB = os.environ.get(
    "KASHFLOW_SYNC_DB", f"sqlite:///{Path(tempfile.gettempdir()) / 'kfs-celery-example.db'}"
)


def default_results(broker: str) -> str:
    """Where results go when KASHFLOW_SYNC_RESULTS is not set: the broker's Redis, or rpc://.

    Celery has no result backend named ``amqp`` (it was removed in Celery 5): with RabbitMQ,
    ``rpc://`` returns each result to the caller over the broker itself. The caller must be
    the process that enqueued the task (as enqueue_folder.py is); to read results from
    anywhere, set KASHFLOW_SYNC_RESULTS to a Redis or a database (``db+postgresql://...``).
    """
    return "rpc://" if broker.split("://", 1)[0] in {"amqp", "amqps", "pyamqp"} else broker


app = Celery(
    "kfs_tasks",
    broker=BROKER,
    backend=os.environ.get("KASHFLOW_SYNC_RESULTS") or default_results(BROKER),
)
app.conf.update(
    task_default_queue=os.environ.get("KASHFLOW_SYNC_QUEUE", "kashflow-sync"),
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    # Publishing is slow I/O with acks_late: a worker process takes one task at a time, so a
    # dead worker holds back as few messages as possible.
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
)
if os.environ.get("KASHFLOW_SYNC_KEY_PREFIX"):
    keys = {"global_keyprefix": os.environ["KASHFLOW_SYNC_KEY_PREFIX"]}
    app.conf.update(broker_transport_options=keys, result_backend_transport_options=keys)


@functools.cache
def _per_process(pid: int) -> tuple[kfs.SQLStorage, httpx.Client]:
    # Made lazily in each worker process (keyed by pid, so never inherited across a fork): one
    # database pool and one HTTP connection pool per process, shared by its tasks.
    return kfs.SQLStorage(DB), httpx.Client(timeout=30.0)


def client_factory(connection_id: str) -> kfs.KashFlowClient:
    """A client for *connection_id*; the task closes it (the pools above live on)."""
    storage, http = _per_process(os.getpid())
    return kfs.KashFlowClient(
        kfs.Credentials.from_env(),  # a real host: this connection's own credentials
        app_name="kashflow-sync Celery example",
        storage=storage,
        http_client=http,
        connection_id=connection_id,
        endpoint=os.environ.get("KASHFLOW_ENDPOINT", kfs.KASHFLOW_SOAP_URL),
    )


def connection_ids() -> list[str]:
    """Every connection to refresh; a real host reads them from its own database."""
    return os.environ.get("KASHFLOW_SYNC_CONNECTIONS", "default").split(",")


tasks = register(app, client_factory)
tasks.schedule_refreshes(connection_ids)  # every 48 hours, when `celery beat` runs
