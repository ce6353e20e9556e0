"""``kashflow-sync --trace``: the run's spans, on stderr or to an OTLP endpoint.

The command runs inside one span (``kashflow-sync <command>``); its clients report to a
``TracerProvider`` made for this run only (never the process's global one), whose spans go to
stderr (the console exporter; stdout stays the command's output, JSON included), or, when
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set, to that
endpoint through the OTLP exporter, configured by the standard ``OTEL_*`` variables.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from .. import errors

__all__ = ["TRACE_OPTION", "tracing"]

#: The option, accepted anywhere on the command line.
TRACE_OPTION = "--trace"

_OTLP_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def _missing(package: str, why: str) -> errors.ConfigurationError:
    return errors.ConfigurationError(
        f"--trace {why} needs the package {package}, which is not installed",
        remedy=f"pip install {package}  (or run without --trace)",
    )


def _exporter() -> Any:
    """The console exporter (to stderr), or the OTLP one when an endpoint is configured."""
    if not any(os.environ.get(name) for name in _OTLP_ENDPOINTS):
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter(out=sys.stderr)
    protocol = os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
    )
    if protocol == "grpc":
        package = "opentelemetry-exporter-otlp-proto-grpc"
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        except ImportError as exc:
            raise _missing(package, "with OTLP over gRPC") from exc
        return OTLPSpanExporter()
    package = "opentelemetry-exporter-otlp-proto-http"
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HTTPSpanExporter,
        )
    except ImportError as exc:
        raise _missing(package, "with an OTLP endpoint") from exc
    return HTTPSpanExporter()


@contextlib.contextmanager
def tracing(args: argparse.Namespace) -> Iterator[None]:
    """Run the command in a span of a provider of its own, handed to its clients on *args*."""
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise _missing("opentelemetry-sdk", "") from exc
    named = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "kashflow-sync"}
    provider = TracerProvider(resource=Resource.create(named))
    provider.add_span_processor(BatchSpanProcessor(_exporter()))
    args.tracer_provider = provider
    try:
        tracer = provider.get_tracer("kashflow_sync.cli")
        with tracer.start_as_current_span(f"kashflow-sync {args.command}"):
            yield
    finally:
        provider.shutdown()  # flushes what is left
