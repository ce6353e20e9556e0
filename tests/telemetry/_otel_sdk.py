"""An OpenTelemetry SDK that keeps what it is sent: spans in memory, metrics on demand.

Shared by the telemetry tests (imported by name: a module called ``conftest`` is ambiguous
when several test folders run in one process).

Every test that uses ``otel`` has everything exported scanned at its end for what must never
be there: the password, the AutoAuth key, contact names, references and amounts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import kashflow_sync as kfs
from kashflow_sync.testing import FakeKashFlow

#: A string that looks like an amount of money ("112.50", "-20.2"): one dot and not after a
#: slash, so neither an IP address ("127.0.0.1", a loopback server's), a version ("0.29.0") nor
#: an HTTP product token ("BaseHTTP/0.6", a captured ``Server`` header) is taken for one.
AMOUNT = re.compile(r"(?<![\d./])-?\d+\.\d{1,2}(?![\d.]*\d)")


class Otel:
    """The providers to hand a client, and what they were sent."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.forbidden: set[str] = set()
        self.amounts: set[Decimal] = set()
        self.metrics_read: dict[str, list[tuple[dict[str, Any], Any]]] | None = None

    @property
    def providers(self) -> dict[str, Any]:
        """The client arguments that report here."""
        return {"tracer_provider": self.tracer_provider, "meter_provider": self.meter_provider}

    def guard(self, fake: FakeKashFlow, *documents: kfs.Document) -> None:
        """Name what must never be exported: *fake*'s secrets, the documents' private data."""
        credentials = fake.credentials
        self.forbidden.update({credentials.password, credentials.autoauth_key or ""} - {""})
        for doc in documents:
            contact = getattr(doc, "supplier", None) or getattr(doc, "customer", None)
            self.forbidden.update(s for s in (contact, doc.reference) if s)
            for line in doc.lines:
                rate = Decimal(line.vat_rate or 0)
                self.amounts.update({line.net, line.net * (1 + rate / 100)})
                self.forbidden.add(line.description)

    def spans(self, name: str | None = None) -> list[ReadableSpan]:
        """The finished spans (named *name*), oldest first."""
        found = sorted(self.exporter.get_finished_spans(), key=lambda s: s.start_time or 0)
        return [s for s in found if name is None or s.name == name]

    def children(self, parent: ReadableSpan) -> list[ReadableSpan]:
        """The spans whose parent is *parent*, oldest first."""
        return [s for s in self.spans() if s.parent and s.parent.span_id == parent.context.span_id]

    def names(self, parent: ReadableSpan) -> list[str]:
        """The names of *parent*'s children, oldest first."""
        return [s.name for s in self.children(parent)]

    def metrics(self) -> dict[str, list[tuple[dict[str, Any], Any]]]:
        """Every metric read now: its points' attributes and value (a histogram's count)."""
        found: dict[str, list[tuple[dict[str, Any], Any]]] = {}
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    points = found.setdefault(metric.name, [])
                    for point in metric.data.data_points:
                        value = getattr(point, "value", None)
                        if value is None:
                            value = getattr(point, "count", None)
                        points.append((dict(point.attributes or {}), value))
        self.metrics_read = found
        return found

    def scan(self) -> int:
        """Fail if anything exported holds a forbidden value; how many values were scanned."""
        values: list[tuple[str, object]] = []
        for span in self.spans():
            values.append(("span name", span.name))
            values.extend(_attributes(span.name, span.attributes))
            values.append((f"{span.name} status", span.status.description or ""))
            for event in span.events:
                values.append((f"{span.name} event", event.name))
                values.extend(_attributes(f"{span.name}/{event.name}", event.attributes))
        metrics = self.metrics() if self.metrics_read is None else self.metrics_read
        for name, points in metrics.items():
            for attributes, _value in points:
                values.extend(_attributes(name, attributes))
        for where, value in values:
            for item in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(item, str):
                    leaked = [f for f in self.forbidden if f and f in item]
                    assert not leaked, f"{where}: {item!r} holds {leaked}"
                    assert not AMOUNT.search(item), f"{where}: {item!r} looks like an amount"
                elif isinstance(item, float) and not isinstance(item, bool):
                    assert Decimal(str(item)) not in self.amounts, f"{where}: amount {item}"
        return len(values)


def _attributes(where: str, attributes: Mapping[str, Any] | None) -> list[tuple[str, object]]:
    return [(f"{where} {key}", value) for key, value in (attributes or {}).items()]


def tree(otel: Otel, root: ReadableSpan, depth: int = 0) -> Sequence[str]:
    """*root* and its descendants as indented names (for a failing assertion's message)."""
    lines = ["  " * depth + root.name]
    for child in otel.children(root):
        lines.extend(tree(otel, child, depth + 1))
    return lines
