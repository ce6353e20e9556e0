"""Beside ``opentelemetry-instrumentation-httpx``: one HTTP span under each KashFlow attempt.

A host that instruments httpx globally gets the instrumentation's ``POST`` span for every
request the SDK sends. Each must sit under the SDK's ``KashFlow/<SoapAction>`` attempt span,
exactly one per attempt, in the same trace; and neither adds a secret to what is exported: the
instrumentation is told to capture every request and response header, the worst case a host
can configure, and the secrets scan of the ``otel`` fixture still passes over all of it.

The fake is served over loopback HTTP: the instrumentation wraps httpx's real transports.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _otel_sdk import Otel, tree
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.trace import SpanKind

from _clients import KINDS, any_client
from _support import purchase
from kashflow_sync.testing import FakeKashFlow

WRITES = ["KashFlow/InsertReceipt", "KashFlow/AttachFileToReceipt", "KashFlow/InsertReceiptPayment"]


@pytest.fixture
def fake_mode() -> str:
    """Served over loopback HTTP, through httpx's real (instrumented) transports."""
    return "loopback"


@pytest.fixture
def httpx_instrumented(otel: Otel, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The httpx instrumentation on, capturing every header, reporting to ``otel``."""
    everything = ".*"
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_REQUEST", everything)
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_RESPONSE", everything)
    instrumentor = HTTPXClientInstrumentor()
    instrumentor.instrument(
        tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider
    )
    try:
        yield
    finally:
        instrumentor.uninstrument()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.usefixtures("httpx_instrumented")
def test_each_kashflow_attempt_has_exactly_one_http_span_under_it(
    kind: str, fake: FakeKashFlow, otel: Otel
) -> None:
    """A receipt with attachment and payment: attempt span -> one HTTP CLIENT span, one trace."""
    doc = purchase(1)
    otel.guard(fake, doc)
    with any_client(kind, fake, loopback=True, **otel.providers) as client:
        client.connect()
        result = client.publish(doc)
    assert result.status == "published"
    [publish] = otel.spans("kashflow_sync.publish")
    attempts = [s for s in otel.spans() if s.name.startswith("KashFlow/")]
    assert [s.name for s in otel.children(publish) if s.name in WRITES] == WRITES, tree(
        otel, publish
    )
    http = [s for s in otel.spans() if s.instrumentation_scope.name.endswith(".httpx")]
    assert http, [s.name for s in otel.spans()]
    assert len(http) == len(attempts), [(s.name, s.parent) for s in http]
    for attempt in attempts:
        assert attempt.kind is SpanKind.CLIENT
        [child] = otel.children(attempt)
        assert child in http, tree(otel, attempt)
        assert child.kind is SpanKind.CLIENT
        assert child.context.trace_id == attempt.context.trace_id
        method = dict(child.attributes or {})
        assert method.get("http.request.method", method.get("http.method")) == "POST"
    # No HTTP span beside an attempt (a sibling under the publish span) or outside one.
    owners = {s.context.span_id for s in attempts}
    assert all(s.parent is not None and s.parent.span_id in owners for s in http)
    # The worst case really was exported: request headers, the SOAPAction among them.
    captured = [dict(s.attributes or {}) for s in http]
    assert all("http.request.header.soapaction" in a for a in captured), captured[0]
