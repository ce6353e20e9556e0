"""The :class:`Telemetry` the SDK reports to, and the one that reports nothing.

See the package's docstring; :mod:`._otel` holds the one that reports through OpenTelemetry.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = [
    "NO_SPAN",
    "NO_TELEMETRY",
    "AttributeValue",
    "JournalCounter",
    "Scope",
    "Telemetry",
]

#: What an attribute may hold (the OpenTelemetry types that this SDK uses).
AttributeValue = str | bool | int | float | Sequence[str]

#: Counts a connection's journal entries by state: ``count(storage, connection_id)``. It is
#: handed the storage, rather than holding it, so that a storage a host drops is not kept.
JournalCounter = Callable[[Any, str], Mapping[str, int]]


class Scope:
    """A span in progress, as the SDK writes to it; this one writes nowhere."""

    __slots__ = ()

    def set(self, key: str, value: AttributeValue | None) -> None:
        """Set attribute *key* (a None value is left out)."""

    def event(self, name: str, attributes: Mapping[str, AttributeValue] | None = None) -> None:
        """Add event *name* to the span."""

    def result(self, status: str, number: int | None = None) -> None:
        """Say how a publish ended (``published``, ``already_published``) and its number."""


#: The span of a :class:`Telemetry` that records nothing.
NO_SPAN = Scope()

_NO_SCOPE: contextlib.nullcontext[Scope] = contextlib.nullcontext(NO_SPAN)
_NO_WAIT: contextlib.nullcontext[None] = contextlib.nullcontext()


class Telemetry:
    """What the SDK reports, and how; this base reports nothing (``enabled`` is False).

    Callers that would do work only to report it check ``enabled`` first.
    """

    enabled: bool = False

    def call(
        self, name: str, connection_id: str, *, kind: str | None = None
    ) -> contextlib.AbstractContextManager[Scope]:
        """The span of public call *name* (``publish``...) of a client of *connection_id*."""
        return _NO_SCOPE

    def attempt(
        self, operation: str, *, host: str, attempt: int, phase: str | None
    ) -> contextlib.AbstractContextManager[Scope]:
        """The span of one attempt at KashFlow operation *operation* (a SOAP action).

        *phase* is None for a call's own request, ``"autoauth"`` for the AutoAuthIP sent after
        KashFlow refused this IP address, ``"autoauth_retry"`` for the request sent again.
        """
        return _NO_SCOPE

    def wait(self, reason: str, seconds: float) -> contextlib.AbstractContextManager[object]:
        """A wait of *seconds* for *reason* (``lease``, ``settle``, ``ledger``)."""
        return _NO_WAIT

    def journaling(self) -> bool:
        """Whether :meth:`journal` would record anything now (the current span records).

        Lets a caller skip building the attributes of a note nobody keeps.
        """
        return False

    def journal(self, step: str, attributes: Mapping[str, AttributeValue]) -> None:
        """Note a journal write (*step*: ``claim``, ``update``, ``attempt``) on the span."""

    def watch_journal(self, storage: object, connection_id: str, count: JournalCounter) -> None:
        """Report ``count(storage, connection_id)`` as a gauge whenever metrics are read.

        Once per storage and connection, however many clients ask; forgotten with the storage.
        """


#: The telemetry of a client when OpenTelemetry is not installed.
NO_TELEMETRY = Telemetry()
