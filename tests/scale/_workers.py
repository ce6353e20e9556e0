"""Real ``celery worker`` processes for the tests: start, wait until ready, kill, stop."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

#: What the ``scale_config`` fixture gives: keyword overrides in, a worker configuration out.
ConfigFactory = Callable[..., dict[str, Any]]


class Worker:
    """One ``celery -A _scale_app worker`` process group, logging to a file."""

    def __init__(self, config: dict[str, Any], name: str, log_dir: Path, concurrency: int = 2):
        self.name = name
        self.log = log_dir / f"{name}.log"
        env = {
            **os.environ,
            "KFS_TEST_CONFIG": json.dumps(config),
            "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent)]),
        }
        with self.log.open("w") as out:
            # A session of its own: killing the group kills the pool's children too, as when
            # a machine or a container dies.
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "_scale_app",
                    "worker",
                    "--pool",
                    "prefork",
                    "--concurrency",
                    str(concurrency),
                    "--hostname",
                    f"{name}@%h",
                    "--loglevel",
                    "INFO",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=HERE,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def text(self) -> str:
        """Everything the worker logged so far."""
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Return once the worker consumes its queue; raise with its log if it does not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.text():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"worker {self.name} did not start:\n{self.text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool), as a machine dying would."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """Warm shutdown, then SIGKILL whatever is left of the group."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
