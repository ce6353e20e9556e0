"""Which connection and which document a log record of ``kashflow_sync`` is about.

Every record of the ``kashflow_sync`` logger carries ``connection_id`` and ``external_id``
attributes (None where they do not apply), so a host can put them in its log lines or filter
on them. The client sets them for the duration of each call (a context variable, so each
thread and each asyncio task sees its own); records the client logs itself pass them with
``extra=`` as well.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["LOGGER_NAME", "ContextFilter", "log_context"]

#: The one logger the SDK writes to.
LOGGER_NAME = "kashflow_sync"

_connection_id: ContextVar[str | None] = ContextVar("kashflow_sync_connection_id", default=None)
_external_id: ContextVar[str | None] = ContextVar("kashflow_sync_external_id", default=None)


@contextmanager
def log_context(
    *, connection_id: str | None = None, external_id: str | None = None
) -> Iterator[None]:
    """Tag the records logged inside the block with this connection and document."""
    tokens = [_connection_id.set(connection_id)]
    if external_id is not None:
        tokens.append(_external_id.set(external_id))
    try:
        yield
    finally:
        for token in reversed(tokens):
            token.var.reset(token)


class ContextFilter(logging.Filter):
    """Adds ``connection_id`` and ``external_id`` to records that do not carry them already."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Fill the attributes in from the current context; never drops a record."""
        if not hasattr(record, "connection_id"):
            record.connection_id = _connection_id.get()
        if not hasattr(record, "external_id"):
            record.external_id = _external_id.get()
        return True
