"""Traces and metrics through OpenTelemetry, when the host has ``opentelemetry-api``.

The rest of the SDK talks to a :class:`Telemetry`. The one here does nothing and imports
nothing: it is what a client gets when ``opentelemetry`` cannot be imported, so an app without
the ``otel`` extra pays an attribute check per call and no more. :func:`telemetry_for` returns
the working one (:mod:`._otel`), built on the providers a client was given or the host's
global ones, looked up through the API; the SDK never configures a provider itself.

Only values that say what happened go into spans and metrics: operation names, document kinds,
journal states and steps, outcomes, error codes, KashFlow numbers, the connection id. Never
credentials, contact names, references, amounts or an error's message (which may quote them).
"""

from __future__ import annotations

from typing import Any

from ._base import NO_SPAN, NO_TELEMETRY, AttributeValue, JournalCounter, Scope, Telemetry

__all__ = [
    "NO_SPAN",
    "NO_TELEMETRY",
    "AttributeValue",
    "JournalCounter",
    "Scope",
    "Telemetry",
    "telemetry_for",
]


def telemetry_for(tracer_provider: Any = None, meter_provider: Any = None) -> Telemetry:
    """The telemetry to report through: the providers given, else the host's global ones.

    :data:`NO_TELEMETRY` when ``opentelemetry-api`` cannot be imported (then a provider
    passed in is refused: it could not be used).
    """
    try:
        from ._otel import shared_telemetry
    except ImportError as exc:
        if tracer_provider is not None or meter_provider is not None:
            raise TypeError(
                "tracer_provider and meter_provider need opentelemetry-api: "
                "pip install 'kashflow-sync[otel]'"
            ) from exc
        return NO_TELEMETRY
    return shared_telemetry(tracer_provider, meter_provider)
