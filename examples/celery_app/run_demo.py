"""The whole Celery example in one command: a fake KashFlow, a real worker, a folder enqueued.

    python run_demo.py            # needs a broker: Redis at 127.0.0.1:6379 by default
    KASHFLOW_SYNC_BROKER=amqp://guest:guest@127.0.0.1:5672// python run_demo.py   # RabbitMQ

It needs the ``examples`` extra (``pip install '.[examples]'`` from a checkout: Celery and its
Redis client). With RabbitMQ, results come back over the broker itself (``rpc://``, see
kfs_tasks.py); nothing else is needed.

It serves the fake KashFlow on this machine, points the example's settings at it (journal in
a fresh SQLite file), starts ``celery -A kfs_tasks worker`` as you would, enqueues the sample
documents twice (the second time every result is ``already_published``) and stops the worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kashflow_sync.testing import FakeKashFlow

HERE = Path(__file__).resolve().parent


def start_worker(log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "celery", "-A", "kfs_tasks", "worker"]
    command += ["--concurrency", "2", "--loglevel", "INFO", "--without-gossip", "--without-mingle"]
    with log.open("w") as out:
        worker = subprocess.Popen(command, cwd=HERE, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while " ready." not in log.read_text(errors="replace"):
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            sys.exit(f"the worker did not start:\n{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)
    return worker


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, FakeKashFlow.serve() as fake:
        creds = fake.credentials
        os.environ.update(
            KASHFLOW_USERNAME=creds.username,
            KASHFLOW_PASSWORD=creds.password,
            KASHFLOW_AUTOAUTH_KEY=creds.autoauth_key or "",
            KASHFLOW_ENDPOINT=fake.url,
            KASHFLOW_SYNC_DB=f"sqlite:///{tmp}/journal.db",
        )
        sys.path.insert(0, str(HERE))
        import enqueue_folder  # reads the settings above

        worker = start_worker(Path(tmp) / "worker.log")
        try:
            print("First run:")
            first = enqueue_folder.main([])
            print("Second run (the same folder again):")
            second = enqueue_folder.main([])
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
        print(f"KashFlow holds {len(fake.receipts)} receipts and {len(fake.invoices)} invoices")
        return first or second


if __name__ == "__main__":
    raise SystemExit(main())
