"""``kashflow-sync --trace``: the run's spans on stderr, or a clear word on what is missing."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from kashflow_sync import cli
from kashflow_sync.testing import FakeKashFlow


def _spans(err: str) -> list[dict[str, Any]]:
    """The console exporter's spans: JSON objects, one after another, on stderr."""
    decoder, spans, at = json.JSONDecoder(), [], err.find("{")
    while at != -1:
        span, end = decoder.raw_decode(err, at)
        spans.append(span)
        at = err.find("{", end)
    return spans


def test_trace_writes_the_runs_spans_to_stderr(run: Any, kashflow_fake: FakeKashFlow) -> None:
    """connect --trace --json: stdout is still the JSON answer; the spans form one trace."""
    result = run("connect", "--json", "--trace")
    assert result.code == 0, result.err
    assert result.json()["ok"] is True
    spans = _spans(result.err)
    names = [s["name"] for s in spans]
    assert "kashflow-sync connect" in names and "kashflow_sync.connect" in names
    assert "KashFlow/GetSuppliers" in names
    assert len({s["context"]["trace_id"] for s in spans}) == 1
    assert kashflow_fake.credentials.password not in result.err


def test_trace_without_the_sdk_names_the_package(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without opentelemetry-sdk: exit 2, and the message says what to install."""
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)
    result = run("connect", "--trace")
    assert result.code == cli.EXIT_USAGE
    assert "pip install opentelemetry-sdk" in result.err


def test_trace_to_an_otlp_endpoint_without_its_exporter_names_the_package(
    run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OTEL_EXPORTER_OTLP_ENDPOINT set, no OTLP exporter installed: the package is named."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    result = run("--trace", "connect")
    assert result.code == cli.EXIT_USAGE
    assert "opentelemetry-exporter-otlp-proto-http" in result.err


def test_doctor_trace_shows_its_kashflow_calls_under_the_command(
    run: Any, kashflow_fake: FakeKashFlow
) -> None:
    """doctor --trace: its own checks and the list sync's calls are spans of the command's trace."""
    kashflow_fake.allow_ip("127.0.0.1")  # read-only: doctor sends no AutoAuthIP
    result = run("doctor", "--json", "--trace")
    assert result.code == 0, result.err
    spans = _spans(result.err)
    [root] = [s for s in spans if s["name"] == "kashflow-sync doctor"]
    root_id = root["context"]["span_id"]
    own = {s["name"] for s in spans if s["parent_id"] == root_id and s["kind"] == "SpanKind.CLIENT"}
    assert {"KashFlow/GetCurrencies", "KashFlow/GetSupplier"} <= own, sorted(own)
    [sync] = [s for s in spans if s["name"] == "kashflow_sync.connect"]
    assert sync["parent_id"] == root_id
    listed = {s["name"] for s in spans if s["parent_id"] == sync["context"]["span_id"]}
    assert {"KashFlow/GetSuppliers", "KashFlow/GetCustomers"} <= listed, sorted(listed)
    assert len({s["context"]["trace_id"] for s in spans}) == 1
    assert kashflow_fake.credentials.password not in result.err
