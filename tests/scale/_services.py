"""The services the Celery tests need, and broker settings that keep each run apart.

The tests need real services: RabbitMQ (``KASHFLOW_SYNC_TEST_AMQP``), Redis
(``KASHFLOW_SYNC_TEST_REDIS``) and PostgreSQL (``KASHFLOW_SYNC_TEST_PG``); ``.ci/run`` starts
them and sets the variables. Without a variable the tests skip, saying how to enable them; under
``CI=true`` they fail instead, so CI never passes by skipping them. A variable that is set for a
service that does not answer is a failure everywhere.
"""

from __future__ import annotations

import os
import socket
from typing import Any
from urllib.parse import urlsplit

import pytest

SERVICES = {
    "amqp": ("KASHFLOW_SYNC_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672//"),
    "redis": ("KASHFLOW_SYNC_TEST_REDIS", "redis://127.0.0.1:6379/0"),
    "pg": ("KASHFLOW_SYNC_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
}


def service_url(kind: str) -> str:
    """The URL of a test service, or skip (fail under CI) when it is not configured."""
    env, example = SERVICES[kind]
    url = os.environ.get(env)
    if not url:
        message = (
            f"the Celery tests need {env} set, e.g. {env}={example} "
            "(.ci/run starts the service and sets it)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    parts = urlsplit(url)
    port = parts.port or {"amqp": 5672, "redis": 6379, "pg": 5432}[kind]
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=3).close()
    except OSError as exc:
        pytest.fail(f"{env}={url} is set but nothing answers there: {exc}")
    return url


def broker_config(kind: str, run_id: str) -> dict[str, Any]:
    """Broker, result backend and transport options for one test run, apart from others'."""
    if kind == "amqp":
        pg = service_url("pg").replace("postgresql+psycopg", "db+postgresql+psycopg", 1)
        return {"broker": service_url("amqp"), "backend": pg, "transport": {}}
    url = service_url("redis")
    return {
        "broker": url,
        "backend": url,
        "transport": {
            # Keys of this run only; and a short visibility timeout so the messages a killed
            # worker held come back in seconds, not the default hour.
            "global_keyprefix": f"kfs-test-{run_id}:",
            "visibility_timeout": 20,
            "unacked_restore_interval": 1,
            "unacked_restore_throttle": 1,
        },
    }


def cleanup(config: dict[str, Any]) -> None:
    """Remove a run's queue (and its Redis keys), best effort."""
    from kombu import Connection

    try:
        with Connection(config["broker"], transport_options=config["transport"]) as conn:
            conn.default_channel.queue_delete(config["queue"])
    except Exception:  # best effort: the run's own queue only
        pass
    if config["kind"] == "redis":
        import redis

        client = redis.Redis.from_url(config["broker"])
        for key in client.scan_iter(f"{config['transport']['global_keyprefix']}*"):
            client.delete(key)
        client.close()
