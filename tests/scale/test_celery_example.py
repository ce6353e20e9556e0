"""examples/celery_app runs as a user would: a real worker, the sample folder enqueued twice."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from _services import service_url

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "celery_app"


def test_celery_example_publishes_the_folder_once(tmp_path: Path) -> None:
    """run_demo.py exits 0: five documents published, then all already_published."""
    queue = f"kfs-example-{uuid.uuid4().hex[:10]}"  # apart from other runs on the same Redis
    env = {**os.environ, "KASHFLOW_SYNC_BROKER": service_url("redis"), "KASHFLOW_SYNC_QUEUE": queue}
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
    assert proc.stdout.count("already_published") == 5
    assert "KashFlow holds 4 receipts and 1 invoices" in proc.stdout
    assert "Journal: 0 document(s) not finished" in proc.stdout
