"""The kinds of fault the fake can inject: one list for the fault queue and the pytest plugin.

Its own module, importing nothing but :mod:`typing`, so the plugin can read it at import time
and stay light.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["FAULT_KINDS", "FaultKind"]

#: The kinds of fault the fake can inject.
FaultKind = Literal[
    "http_error",
    "delay",
    "reset_before",
    "drop_response",
    "malformed_response",
    "soap_fault",
    "late_apply",
    "trickle",
    "oversized",
    "gzip_bomb",
    "huge_status_detail",
    "huge_fault",
    "hostile_answer",
]
#: Every fault kind, in the order the docs list them (``random`` fires any of these).
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
