"""What a publish shows in traces and metrics: the span tree, retries, AutoAuth, waits, failures.

Each test hands the client the OpenTelemetry SDK's in-memory exporter and metric reader (the
``otel`` fixture), and ends with a scan of everything exported for credentials, contact names,
references and amounts.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from _otel_sdk import Otel, tree

import kashflow_sync as kfs
from _clients import KINDS, any_client
from _support import make_client, purchase
from kashflow_sync import errors
from kashflow_sync.storage.memory import MemoryStorage
from kashflow_sync.testing import FakeKashFlow

WRITES = ["KashFlow/InsertReceipt", "KashFlow/AttachFileToReceipt", "KashFlow/InsertReceiptPayment"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_published_receipt_is_one_span_with_a_child_per_kashflow_call(
    kind: str, fake: FakeKashFlow, otel: Otel
) -> None:
    """publish -> KashFlow/<action> per call, RPC attributes, journal events, outcome, metrics."""
    doc = purchase(1)
    otel.guard(fake, doc)
    with any_client(kind, fake, **otel.providers) as client:
        client.connect()
        result = client.publish(doc)
    [publish] = otel.spans("kashflow_sync.publish")
    names = otel.names(publish)
    assert [n for n in names if n in WRITES] == WRITES, tree(otel, publish)
    assert all(n.startswith("KashFlow/") for n in names), names
    attributes = dict(publish.attributes or {})
    assert attributes["kashflow_sync.outcome"] == "published"
    assert attributes["kashflow_sync.kashflow.number"] == result.number
    assert attributes["kashflow_sync.document.kind"] == doc.kind
    assert attributes["kashflow_sync.connection_id"] == "default"
    insert = next(s for s in otel.children(publish) if s.name == "KashFlow/InsertReceipt")
    assert dict(insert.attributes or {}) == {
        "rpc.system": "soap",
        "rpc.service": "KashFlow",
        "rpc.method": "InsertReceipt",
        "server.address": "kashflow.fake",
        "kashflow_sync.attempt": 1,
        "http.response.status_code": 200,
    }
    assert insert.kind.name == "CLIENT"
    steps = [
        (dict(e.attributes or {}).get("kashflow_sync.journal.step"))
        for e in publish.events
        if e.name == "kashflow_sync.journal.attempt"
    ]
    assert steps == ["create", "attachment", "payment", "publish"]
    [connect] = otel.spans("kashflow_sync.connect")
    assert "KashFlow/GetSuppliers" in otel.names(connect)
    metrics = otel.metrics()
    assert (
        {
            "kashflow_sync.connection_id": "default",
            "kashflow_sync.outcome": "published",
            "kashflow_sync.document.kind": doc.kind,
        },
        1,
    ) in metrics["kashflow_sync.publish.outcomes"]
    durations = {a["rpc.method"]: n for a, n in metrics["kashflow_sync.kashflow.duration"]}
    assert durations["InsertReceipt"] == 1
    assert durations["InsertReceiptPayment"] == 1


def test_a_retried_call_shows_each_attempt(fake: FakeKashFlow, otel: Otel) -> None:
    """A lookup answered 503 once: two attempt spans, the first failed and retryable."""
    doc = purchase(2, attach=False, pay=False)
    otel.guard(fake, doc)
    with make_client(fake, **otel.providers) as client:
        client.connect()
        fake.faults.http_error(503, op="GetReceiptsForSupplier", times=1)
        client.publish(doc)
    [publish] = otel.spans("kashflow_sync.publish")
    lookups = [s for s in otel.children(publish) if s.name == "KashFlow/GetReceiptsForSupplier"]
    assert [dict(s.attributes or {})["kashflow_sync.attempt"] for s in lookups] == [1, 2]
    failed, ok = (dict(s.attributes or {}) for s in lookups)
    assert failed["http.response.status_code"] == 503
    assert failed["kashflow_sync.error.retryable"] is True
    assert failed["error.type"] == failed["kashflow_sync.error.code"]
    assert lookups[0].status.status_code.name == "ERROR"
    assert "error.type" not in ok and ok["http.response.status_code"] == 200
    errors_seen = [
        a.get("error.type")
        for a, _n in otel.metrics()["kashflow_sync.kashflow.duration"]
        if a["rpc.method"] == "GetReceiptsForSupplier"
    ]
    assert sorted(map(str, errors_seen)) == sorted([str(failed["error.type"]), "None"])


@pytest.mark.parametrize("kind", KINDS)
def test_an_ip_refused_mid_publish_shows_the_autoauth_and_the_resend(
    kind: str, fake: FakeKashFlow, otel: Otel
) -> None:
    """Refused for the IP: the refused attempt, the AutoAuthIP and the resend, each a span."""
    doc = purchase(3, attach=False, pay=False)
    otel.guard(fake, doc)
    with any_client(kind, fake, **otel.providers) as client:
        client.connect()
        fake.client_ip = "203.0.113.9"
        client.publish(doc)
    [publish] = otel.spans("kashflow_sync.publish")
    first = otel.children(publish)[:3]
    assert [(s.name, dict(s.attributes or {}).get("kashflow_sync.autoauth")) for s in first] == [
        ("KashFlow/GetReceiptsForSupplier", None),
        ("KashFlow/AutoAuthIP", "autoauth"),
        ("KashFlow/GetReceiptsForSupplier", "autoauth_retry"),
    ], tree(otel, publish)
    assert dict(first[0].attributes or {})["kashflow_sync.error.code"] == "ip_not_allowed"


def test_a_write_applied_late_is_waited_out_before_looking_again(otel: Otel) -> None:
    """A create answered by a timeout: a settle_wait span, then the lookup that finds it."""
    fake = FakeKashFlow()
    doc = purchase(4, attach=False, pay=False)
    otel.guard(fake, doc)
    http = fake.http_client(timeout=0.5)
    with make_client(fake, http, settle_time=timedelta(seconds=0.6), **otel.providers) as c:
        c.connect()
        fake.faults.late_apply(0.05, op="InsertReceipt", times=1)
        result = c.publish(doc)
    assert result.status == "published"
    [publish] = otel.spans("kashflow_sync.publish")
    names = otel.names(publish)
    assert "kashflow_sync.settle_wait" in names, tree(otel, publish)
    wait = next(s for s in otel.children(publish) if s.name == "kashflow_sync.settle_wait")
    assert dict(wait.attributes or {})["kashflow_sync.wait.reason"] == "settle"
    [(attributes, count)] = otel.metrics()["kashflow_sync.settle.wait"]
    assert count == 1 and attributes["kashflow_sync.call"] == "publish"
    assert names.index("KashFlow/InsertReceipt") < names.index("kashflow_sync.settle_wait")


def test_a_document_another_worker_holds_is_a_lease_wait(fake: FakeKashFlow, otel: Otel) -> None:
    """Two clients on one journal: the second waits out the first's lease (a lease_wait span)."""
    doc = purchase(5, attach=False, pay=False)
    otel.guard(fake, doc)
    storage = MemoryStorage()
    sending = threading.Event()

    def slow(request: httpx.Request) -> None:
        if request.headers.get("SOAPAction") == '"KashFlow/InsertReceipt"':
            sending.set()
            time.sleep(0.6)

    first_http = fake.http_client(event_hooks={"request": [slow]})
    with (
        make_client(fake, first_http, storage=storage) as first,
        make_client(fake, storage=storage, **otel.providers) as second,
    ):
        second.connect()
        results: list[Any] = []
        worker = threading.Thread(target=lambda: results.append(first.publish(doc)))
        worker.start()
        assert sending.wait(10)
        again = second.publish(doc)
        worker.join()
    assert again.status == "already_published"
    [publish] = otel.spans("kashflow_sync.publish")
    waits = [s for s in otel.children(publish) if s.name == "kashflow_sync.lease_wait"]
    assert waits, tree(otel, publish)
    assert dict(publish.attributes or {})["kashflow_sync.outcome"] == "already_published"
    [(attributes, count)] = otel.metrics()["kashflow_sync.lease.wait"]
    assert count == 1 and attributes["kashflow_sync.connection_id"] == "default"


@pytest.mark.parametrize("kind", KINDS)
def test_a_document_with_problems_is_a_failed_span_and_counted(
    kind: str, fake: FakeKashFlow, otel: Otel
) -> None:
    """A validation error: no KashFlow call, the span failed with the problems' codes only."""
    doc = kfs.PurchaseInvoice(
        external_id="bad-1",
        supplier="Nobody Trading Ltd",
        reference="SECRET-REF-77",
        issue_date=purchase(1).issue_date,
        lines=[kfs.Line(description="Widgets", net=purchase(1).lines[0].net, category=999999)],
    )
    otel.guard(fake, doc)
    with any_client(kind, fake, create_missing_contacts=False, **otel.providers) as client:
        client.connect()
        with pytest.raises(errors.ValidationError):
            client.publish(doc)
    [publish] = otel.spans("kashflow_sync.publish")
    assert otel.children(publish) == []
    attributes = dict(publish.attributes or {})
    assert publish.status.status_code.name == "ERROR"
    assert publish.status.description == "validation_failed"
    assert attributes["kashflow_sync.error.code"] == "validation_failed"
    assert attributes["kashflow_sync.error.retryable"] is False
    assert "unknown_supplier" in attributes["kashflow_sync.problems"]
    assert publish.events == ()  # a span records no exception: its message names the data
    outcomes = otel.metrics()["kashflow_sync.publish.outcomes"]
    assert outcomes == [
        (
            {
                "kashflow_sync.connection_id": "default",
                "kashflow_sync.outcome": "failed",
                "kashflow_sync.error.code": "validation_failed",
                "kashflow_sync.document.kind": "purchase",
            },
            1,
        )
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_a_batch_is_the_parent_of_its_documents(kind: str, fake: FakeKashFlow, otel: Otel) -> None:
    """publish_many: one span, a publish span per document under it, on every thread."""
    docs = [purchase(i, prefix="many", attach=False, pay=False) for i in range(4)]
    otel.guard(fake, *docs)
    with any_client(kind, fake, **otel.providers) as client:
        client.connect()
        client.publish_many(docs, concurrency=2)
    [batch] = otel.spans("kashflow_sync.publish_many")
    assert otel.names(batch).count("kashflow_sync.publish") == 4, tree(otel, batch)
    assert dict(batch.attributes or {})["kashflow_sync.batch.size"] == 4


def test_the_journal_gauge_counts_unfinished_entries(fake: FakeKashFlow, otel: Otel) -> None:
    """kashflow_sync.journal.entries: a document left uncertain shows as one "sending"."""
    doc = purchase(6, attach=False, pay=False)
    otel.guard(fake, doc)
    with make_client(fake, settle_time=timedelta(minutes=5), **otel.providers) as client:
        client.connect()
        fake.faults.late_apply(5.0, op="InsertReceipt", times=1)
        with pytest.raises(errors.PublishUncertainError):
            client.publish(doc)
        gauge = dict(
            (a["kashflow_sync.journal.state"], n)
            for a, n in otel.metrics()["kashflow_sync.journal.entries"]
        )
    assert gauge == {"claimed": 0, "sending": 1, "created": 0, "duplicated": 0}


def test_forget_verify_and_refresh_have_their_spans(fake: FakeKashFlow, otel: Otel) -> None:
    """Every public call that talks to KashFlow is a span named after it."""
    doc = purchase(7, attach=False, pay=False)
    otel.guard(fake, doc)
    with make_client(fake, **otel.providers) as client:
        client.connect()
        client.refresh_lists("currencies")
        client.verify()
        with pytest.raises(errors.KashFlowError):
            client.forget("never-published")
    names = {s.name for s in otel.spans() if s.parent is None}
    assert {
        "kashflow_sync.connect",
        "kashflow_sync.refresh_lists",
        "kashflow_sync.verify",
        "kashflow_sync.forget",
    } <= names
    [forget] = otel.spans("kashflow_sync.forget")
    assert dict(forget.attributes or {})["kashflow_sync.error.code"] == "not_in_journal"


def test_providers_default_to_the_hosts_global_ones(fake: FakeKashFlow) -> None:
    """Given no provider, a client reports through the API's global (proxy) providers."""
    from opentelemetry import trace

    with make_client(fake) as client:
        assert client._telemetry.enabled
        assert client._telemetry._tracer.__class__.__name__ in {"ProxyTracer", "Tracer"}
    assert trace.get_tracer_provider() is not None
