"""Run `kashflow-sync fake serve` as a subprocess (no kashflow_sync imports: plain HTTP)."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

__all__ = ["ServedFake", "serve_command"]


def serve_command(*args: str) -> list[str]:
    """The `kashflow-sync fake serve` command line, from this interpreter's environment."""
    script = Path(sys.executable).with_name("kashflow-sync")
    base = [str(script)] if script.exists() else [sys.executable, "-m", "kashflow_sync.cli"]
    return [*base, "fake", "serve", "--json", *args]


class ServedFake:
    """A running `fake serve` process and what it printed about itself."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            serve_command(*args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.details: dict[str, Any] = json.loads(self._first_line(deadline=30))
        self.url: str = self.details["url"]
        self.control: str = self.details["control"]
        self.http = httpx.Client(trust_env=False, timeout=30)

    def _first_line(self, deadline: float) -> str:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], deadline)
        if not ready:
            self.process.kill()
            raise AssertionError("fake serve printed nothing in time")
        line = self.process.stdout.readline()
        if not line:
            _, err = self.process.communicate(timeout=10)
            raise AssertionError(f"fake serve exited {self.process.returncode}: {err}")
        return line

    def stop(self) -> tuple[int, str]:
        """SIGTERM, then the exit code and stderr."""
        self.http.close()
        self.process.send_signal(signal.SIGTERM)
        _, err = self.process.communicate(timeout=20)
        return self.process.returncode, err
