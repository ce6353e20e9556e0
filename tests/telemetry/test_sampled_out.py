"""A span that does not record (sampled out, or no provider) costs little and loses no metric.

A host that samples 1 trace in 100 still counts every publish and times every KashFlow call:
metrics do not depend on the sampler. The spans it drops get no attributes and no journal
events, and are not made current (the host's own span stays current under them).
"""

from __future__ import annotations

from typing import Any

import pytest
from _otel_sdk import Otel
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from _clients import KINDS, any_client
from _support import purchase
from kashflow_sync._clients import drivers
from kashflow_sync._telemetry import _otel
from kashflow_sync.testing import FakeKashFlow


@pytest.mark.parametrize("kind", KINDS)
def test_a_sampled_out_publish_still_counts_and_times_every_call(
    kind: str, fake: FakeKashFlow, otel: Otel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No span exported, the journal notes never built, the metrics all there."""
    otel.tracer_provider = TracerProvider(sampler=ALWAYS_OFF)
    notes: list[Any] = []
    real = drivers._note_journal
    monkeypatch.setattr(drivers, "_note_journal", lambda *a: notes.append(a) or real(*a))
    built: list[str] = []
    monkeypatch.setattr(
        _otel.OtelTelemetry, "journal", lambda self, step, attributes: built.append(step)
    )
    doc = purchase(1)
    otel.guard(fake, doc)
    with any_client(kind, fake, **otel.providers) as client:
        client.connect()
        client.publish(doc)
    assert otel.spans() == []
    assert notes, "the driver never offered a journal note"
    assert built == []
    found = otel.metrics()
    [(counted, count)] = found["kashflow_sync.publish.outcomes"]
    assert counted["kashflow_sync.outcome"] == "published" and count == 1
    timed = {a["rpc.method"]: n for a, n in found["kashflow_sync.kashflow.duration"]}
    for action in ("InsertReceipt", "AttachFileToReceipt", "InsertReceiptPayment"):
        assert timed.get(action) == 1, timed


def test_under_a_sampled_out_span_the_hosts_span_stays_current(
    fake: FakeKashFlow, otel: Otel
) -> None:
    """A KashFlow call made under a non-recording publish span sees the host's span."""
    host = trace.NonRecordingSpan(trace.SpanContext(trace_id=0xABC, span_id=0xDEF, is_remote=False))
    otel.tracer_provider = TracerProvider(sampler=ALWAYS_OFF)
    seen: list[int] = []
    doc = purchase(2)
    otel.guard(fake, doc)
    with any_client("sync", fake, **otel.providers) as client:
        client.connect()
        send = client._service._send  # type: ignore[attr-defined]

        def noting(*args: Any) -> Any:
            seen.append(trace.get_current_span().get_span_context().span_id)
            return send(*args)

        client._service._send = noting  # type: ignore[attr-defined]
        with trace.use_span(host):
            client.publish(doc)
    assert seen and set(seen) == {0xDEF}, seen
