"""The Celery app the worker tests start, built from a JSON config the test hands over.

``celery -A _scale_app worker`` reads the config from ``KFS_TEST_CONFIG``; the test process
calls :func:`build` with the same config to enqueue tasks and read their results. A real host
would read credentials from its own secret store in the client factory; here the fake
KashFlow's test credentials come in the config. The storage and the ``httpx.Client`` are made
once per worker process (after the fork), as the docs advise.
"""

from __future__ import annotations

import functools
import json
import os
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
from celery import Celery, current_task

import kashflow_sync as kfs
from kashflow_sync.celery import KashFlowTasks, register


def build(config: dict[str, Any]) -> tuple[Celery, KashFlowTasks]:
    """The app and its kashflow_sync tasks for *config*."""
    app = Celery("kfs_scale_test", broker=config["broker"], backend=config["backend"])
    app.conf.update(
        task_default_queue=config["queue"],
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=3600,
        # Long tasks with acks_late: take one message at a time, so a dead worker holds few.
        worker_prefetch_multiplier=1,
        worker_enable_remote_control=False,
        worker_send_task_events=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options=config.get("transport", {}),
        result_backend_transport_options=config.get("transport", {}),
    )

    @functools.cache
    def resources(pid: int) -> tuple[kfs.SQLStorage, httpx.Client]:
        # Keyed by pid: a prefork child never uses its parent's database connections.
        return kfs.SQLStorage(config["db"]), httpx.Client(timeout=config.get("timeout", 5.0))

    @functools.cache
    def demoted(pid: int) -> kfs.SQLStorage:
        # The journal's database as a primary demoted by a failover sees it: reads only.
        read_only = "options=" + quote("-c default_transaction_read_only=on")
        return kfs.SQLStorage(f"{config['db']}{'&' if '?' in config['db'] else '?'}{read_only}")

    def client_factory(connection_id: str) -> kfs.KashFlowClient:
        if connection_id == "host-bug":
            raise RuntimeError("the host's factory has a bug")
        storage, http = resources(os.getpid())
        if connection_id.startswith("demoted-") and current_task.request.retries < 2:
            storage = demoted(os.getpid())  # the first two runs meet a failover
        fake = config["fake"]
        return kfs.KashFlowClient(
            kfs.Credentials(fake["username"], fake["password"], fake["autoauth_key"]),
            endpoint=fake["url"],
            storage=storage,
            http_client=http,
            connection_id=connection_id,
            timeout=config.get("timeout", 5.0),
            publish_lease=timedelta(seconds=config.get("lease", 8.0)),
            # A send whose outcome was lost is resent only after this; the default (minutes)
            # would outlast the test, not change what it proves.
            settle_time=timedelta(seconds=config.get("settle", 3.0)),
            retry=kfs.RetryPolicy(max_retries=2, initial=0.05, cap=0.2),
        )

    tasks = register(
        app,
        client_factory,
        max_retries=config.get("max_retries", 20),
        retry_backoff=config.get("retry_backoff", 0.2),
        retry_backoff_max=config.get("retry_backoff_max", 2.0),
        kashflow_ids=config.get("kashflow_ids", "at_once"),
    )
    # The same factory with one retry at most, to see what a task ends as when they run out.
    register(app, client_factory, prefix="kfs_one_retry", max_retries=1, retry_backoff=0.1)
    if config.get("refresh_all") is not None:
        tasks.schedule_refreshes(config["refresh_all"])
    return app, tasks


if "KFS_TEST_CONFIG" in os.environ:
    app, tasks = build(json.loads(os.environ["KFS_TEST_CONFIG"]))
