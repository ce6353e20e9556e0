"""One Python script run under callgrind, and the instructions it executed.

Shared by ``bench_otel.py`` and ``bench_otel_floor.py``: instructions repeat to a fraction of a
percent however loaded the machine is, which CPU time on a shared box does not.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys


def callgrind(
    script: str, *argv: str, env: dict[str, str] | None = None, what: str
) -> tuple[int, str]:
    """Run ``python -c script *argv`` under callgrind; its instruction count and its stdout.

    ``PYTHONHASHSEED`` is fixed so that two runs hash (and so execute) alike; *env* adds to the
    environment. A failed run stops the benchmark, naming *what* failed.
    """
    out = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-c",
            script,
            *argv,
        ],
        env={**os.environ, **(env or {}), "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    collected = re.search(r"Collected : (\d+)", out.stderr)
    if out.returncode != 0 or collected is None:
        raise SystemExit(f"the {what} callgrind run failed:\n{out.stderr[-3000:]}")
    return int(collected.group(1)), out.stdout
