"""The Celery app bench_celery.py starts workers with (``celery -A _celery_bench_app worker``).

Configured by ``KFS_BENCH_CONFIG`` (JSON): broker, result backend, queue, journal URL and the
fake KashFlow's address and credentials. Storage and HTTP pool are made once per process.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any

import httpx
import sqlalchemy as sa
from celery import Celery

import kashflow_sync as kfs
from kashflow_sync.celery import KashFlowTasks, register


def build(config: dict[str, Any]) -> tuple[Celery, KashFlowTasks]:
    app = Celery("kfs_bench", broker=config["broker"], backend=config["backend"])
    app.conf.update(
        task_default_queue=config["queue"],
        worker_prefetch_multiplier=1,
        worker_enable_remote_control=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options=config.get("transport", {}),
        result_backend_transport_options=config.get("transport", {}),
    )

    @functools.cache
    def per_process(pid: int) -> tuple[kfs.SQLStorage, httpx.Client]:
        # synchronous_commit=off only to measure how much commit latency costs (never in
        # production: a crash could forget a journal write that KashFlow already acted on).
        options = f"-c synchronous_commit={config.get('sync_commit', 'on')}"
        engine = sa.create_engine(config["db"], connect_args={"options": options})
        return kfs.SQLStorage(engine), httpx.Client(timeout=30.0)

    def client_factory(connection_id: str) -> kfs.KashFlowClient:
        storage, http = per_process(os.getpid())
        fake = config["fake"]
        return kfs.KashFlowClient(
            kfs.Credentials(fake["username"], fake["password"], fake["autoauth_key"]),
            endpoint=fake["url"],
            storage=storage,
            http_client=http,
            connection_id=connection_id,
        )

    return app, register(
        app,
        client_factory,
        cached_connections=config.get("cached_connections", 64),
        **config.get("register_options", {}),
    )


if "KFS_BENCH_CONFIG" in os.environ:
    app, tasks = build(json.loads(os.environ["KFS_BENCH_CONFIG"]))
