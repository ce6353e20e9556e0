"""Who holds a lease: owner ids that name their process and machine, and whether it still runs.

A publish call's lease owner is ``<16 hex digits>:<pid>@<host>``. A publish that finds a
document held by another owner is told whose it is (``_engine.lease.describe_holder``); and
when that owner is a process of this machine that no longer runs (a Ctrl-C'd or killed
command), the publish takes the document over at once instead of waiting out the lease: a
process that is gone sends nothing more, and the takeover's settle rules cover what it may
have sent before it went (see ``_engine.settle``).
"""

from __future__ import annotations

import os
import socket
import sys
import uuid

from .._engine.lease import owner_process

__all__ = ["holder_gone", "new_owner", "this_host"]


def this_host() -> str:
    """The name of this machine as lease owners record it (at most 64 characters)."""
    try:
        return socket.gethostname()[:64] or "localhost"
    except OSError:  # pragma: no cover - a host with no name
        return "localhost"


def new_owner() -> str:
    """A fresh lease owner for one publish call: ``<16 hex digits>:<pid>@<host>``."""
    return f"{uuid.uuid4().hex[:16]}:{os.getpid()}@{this_host()}"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: is there such a process (no signal is sent)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # there is one, of another user; or we cannot tell: assume it runs
    return True


def holder_gone(owner: str) -> bool:
    """Whether *owner* is a process of this machine that no longer runs.

    False whenever it cannot be known: another machine's owner, an id of another form, this
    very process, or Windows (where ``os.kill`` would end the process rather than probe it).
    """
    found = owner_process(owner)
    if found is None or sys.platform == "win32":
        return False
    pid, host = found
    if host != this_host() or pid == os.getpid():
        return False
    return not _running(pid)
