"""Reference implementations of :class:`kashflow_sync.typing.Storage`.

:class:`MemoryStorage` keeps everything in the process (the client's default);
:class:`SQLStorage` keeps it in SQLite or PostgreSQL, shared safely between threads, processes
and (on PostgreSQL) machines.
"""

from __future__ import annotations

from ._key_checks import InvalidKeyError
from .memory import MemoryStorage
from .sql import SCHEMA_VERSION, SchemaVersionError, SQLStorage

__all__ = ["SCHEMA_VERSION", "InvalidKeyError", "MemoryStorage", "SQLStorage", "SchemaVersionError"]
