"""What one ``kashflow-sync`` run gave back, shared by the CLI and doctor tests."""

from __future__ import annotations

import json
from typing import Any

import attrs


@attrs.frozen
class Run:
    """The exit code and captured output of one run, in-process or in a subprocess."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """Stdout read as the one JSON document ``--json`` prints."""
        return json.loads(self.out)
