"""examples/celery_app runs as a user would: a real worker, the sample folder enqueued twice."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from _services import service_url

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "celery_app"


@pytest.fixture
def redis_keys() -> Iterator[str]:
    """A key prefix of this run's own on the test Redis; its keys are deleted afterwards."""
    prefix = f"kfs-example-{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = redis.Redis.from_url(service_url("redis"))
    try:
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        assert list(client.scan_iter(f"{prefix}*")) == []
    finally:
        client.close()


def test_celery_example_publishes_the_folder_once(tmp_path: Path, redis_keys: str) -> None:
    """run_demo.py exits 0: five documents published, then all already_published."""
    env = {
        **os.environ,
        "KASHFLOW_SYNC_BROKER": service_url("redis"),
        # Apart from other runs on the same Redis: its own queue, and every key under a prefix.
        "KASHFLOW_SYNC_QUEUE": redis_keys.rstrip(":"),
        "KASHFLOW_SYNC_KEY_PREFIX": redis_keys,
    }
    env.pop("KASHFLOW_SYNC_DB", None)
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE / "run_demo.py")],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    client = redis.Redis.from_url(env["KASHFLOW_SYNC_BROKER"])
    written = [key.decode() for key in client.scan_iter(f"*{env['KASHFLOW_SYNC_QUEUE']}*")]
    client.close()
    assert written and all(key.startswith(redis_keys) for key in written)  # gone afterwards
    assert proc.stdout.count("already_published") == 5
    assert "KashFlow holds 4 receipts and 1 invoices" in proc.stdout
    assert "Journal: 0 document(s) not finished" in proc.stdout


@pytest.fixture
def amqp_queue() -> Iterator[str]:
    """A queue name of this run's own on the test RabbitMQ; the queue is deleted afterwards."""
    from kombu import Connection

    queue = f"kfs-example-{uuid.uuid4().hex[:10]}"
    yield queue
    with Connection(service_url("amqp")) as conn:
        conn.default_channel.queue_delete(queue)


def test_celery_example_runs_on_rabbitmq(tmp_path: Path, amqp_queue: str) -> None:
    """run_demo.py with RabbitMQ as the broker, as its docstring says, and no result backend
    named: the example picks one that works there (rpc://), and the folder publishes once."""
    env = {
        **os.environ,
        "KASHFLOW_SYNC_BROKER": service_url("amqp"),
        "KASHFLOW_SYNC_QUEUE": amqp_queue,
    }
    for name in ("KASHFLOW_SYNC_DB", "KASHFLOW_SYNC_RESULTS", "KASHFLOW_SYNC_KEY_PREFIX"):
        env.pop(name, None)
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE / "run_demo.py")],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("already_published") == 5
    assert "KashFlow holds 4 receipts and 1 invoices" in proc.stdout
    assert "Journal: 0 document(s) not finished" in proc.stdout
