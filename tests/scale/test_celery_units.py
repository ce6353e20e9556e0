"""The pure parts of kashflow_sync.celery: the retry decision, the backoff, the result JSON."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from celery import Celery

import kashflow_sync as kfs
from _support import ledger_check, make_client, purchase
from kashflow_sync import errors
from kashflow_sync.celery import backoff, register, should_retry
from kashflow_sync.celery._results import error_json, failed_publish, published, refreshed
from kashflow_sync.celery._tasks import _WorkerCaches
from kashflow_sync.testing import FakeKashFlow


@pytest.mark.parametrize(
    ("exc", "retry"),
    [
        (errors.TransientError("503"), True),
        (errors.PublishUncertainError("lost answer"), True),
        (errors.PublishUncertainError("two", code="publish_ambiguous", retryable=False), False),
        (errors.ProtocolError("garbage"), True),
        (errors.StorageError("down", code="database_unavailable", retryable=True), True),
        (errors.StorageError("bad url", code="database_url_invalid"), False),
        (errors.AuthenticationError("refused"), False),
        (errors.RejectedError("no"), False),
        (errors.NotConnectedError("never"), False),
        (errors.ValidationError([]), False),
    ],
    ids=lambda v: getattr(v, "code", None),
)
def test_only_not_now_errors_are_retried(exc: errors.KashFlowError, retry: bool) -> None:
    """Transient, uncertain, protocol and database-down errors retry; nothing else does."""
    assert should_retry(exc) is retry


@pytest.mark.parametrize("retries", range(8))
def test_backoff_doubles_within_half_and_whole_of_its_ceiling(retries: int) -> None:
    """Run n waits between half and all of min(cap, base * 2**n) seconds."""
    rng = random.Random(retries)
    ceiling = min(60.0, 5.0 * 2**retries)
    waits = [backoff(retries, 5.0, 60.0, rng) for _ in range(200)]
    assert all(ceiling / 2 <= w <= ceiling for w in waits)
    assert max(waits) - min(waits) > ceiling / 4  # jittered, not fixed


@pytest.mark.parametrize(
    ("retry_after", "low", "high"), [(30.0, 30.0, 30.0), (900.0, 60.0, 60.0), (0.5, 2.5, 5.0)]
)
def test_backoff_waits_at_least_retry_after_up_to_the_cap(
    retry_after: float, low: float, high: float
) -> None:
    """An error's retry_after is waited at least, never beyond the cap."""
    wait = backoff(0, 5.0, 60.0, random.Random(1), retry_after=retry_after)
    assert low <= wait <= high


def test_a_task_retry_waits_at_least_the_errors_retry_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """KashFlow answered 503 with Retry-After 45: the task's next run is 45 s away, not ~1 s."""
    fake = FakeKashFlow()
    storage = kfs.MemoryStorage()

    def factory(connection_id: str) -> kfs.KashFlowClient:
        return make_client(fake, storage=storage, connection_id=connection_id)

    with factory("busy") as setup:
        setup.connect()
    tasks = register(Celery("retry-after"), factory, retry_backoff=1.0, retry_backoff_max=300.0)
    countdowns: list[float] = []

    def retry(*, exc: Exception, countdown: float, max_retries: int) -> Exception:
        countdowns.append(countdown)
        return exc  # what Celery's retry raises; the task ends there

    monkeypatch.setattr(tasks.publish, "retry", retry)
    fake.faults.http_error(503, times=None, retry_after=45)
    outcome = tasks.publish.apply(args=("busy", kfs.document_to_json(purchase(1, prefix="ra"))))
    assert isinstance(outcome.result, errors.TransientError)
    assert outcome.result.retry_after == 45
    assert countdowns == [45.0]


def test_published_result_is_plain_json() -> None:
    """A publish result survives json.dumps exactly: the contract's five keys, then what a
    credit note adds (whether it was applied, and notices)."""
    out = published(kfs.PublishResult("doc-1", "purchase", 12, 345, "already_published"))
    assert json.loads(json.dumps(out)) == {
        "external_id": "doc-1",
        "status": "already_published",
        "number": 12,
        "kashflow_id": 345,
        "error": None,
        "applied": None,
        "notices": [],
    }


def test_refreshed_result_counts_each_lists_changes_without_a_total() -> None:
    """A refresh result holds each list's four counts (the ListChangesJSON keys), no total."""
    report = kfs.SyncReport(
        {"suppliers": kfs.ListChanges(added=1, changed=2, archived=3, unchanged=4, total=8)},
        duration=0.12345,
    )
    out = refreshed("c1", report)
    assert json.loads(json.dumps(out)) == {
        "connection_id": "c1",
        "status": "refreshed",
        "lists": {"suppliers": {"added": 1, "changed": 2, "archived": 3, "unchanged": 4}},
        "duration": 0.123,
        "error": None,
    }


def test_failed_result_carries_code_message_remedy_retryable() -> None:
    """A failed result holds the error's stable fields, never an exception object."""
    out = failed_publish(
        "doc-2", errors.TransientError("KashFlow answered HTTP 503", code="http_503")
    )
    assert out["error"] == {
        "code": "http_503",
        "message": "KashFlow answered HTTP 503",
        "remedy": errors.TransientError.default_remedy,
        "retryable": True,
    }
    assert json.loads(json.dumps(out)) == out


def test_validation_error_json_lists_problems() -> None:
    """A validation failure's JSON lists every problem with its field and remedy."""
    problem = kfs.Problem("unknown_category", "lines[0].category", "no 9999", "Pick another.")
    data = error_json(errors.ValidationError([problem], external_id="d"))
    assert data["problems"] == [
        {
            "code": "unknown_category",
            "field": "lines[0].category",
            "message": "no 9999",
            "remedy": "Pick another.",
        }
    ]


def test_document_json_round_trips_for_the_task_payload() -> None:
    """A document sent through the task payload comes back equal, attachment and payment too."""
    doc = kfs.PurchaseInvoice(
        external_id="p-1",
        supplier="Acme Paper Ltd",
        reference="INV-1",
        issue_date=None,
        lines=[kfs.Line(net=Decimal("10.00"), vat_rate=Decimal("20"), category=7500)],
        attachment=kfs.Attachment("a.pdf", b"%PDF-1.4 x", "application/pdf"),
        payment=kfs.Payment(method="Credit card", bank_account=1200),
    )
    payload = json.loads(json.dumps(kfs.document_to_json(doc)))
    assert kfs.document_from_json(payload) == doc


_HIDE_CELERY = """
import importlib.abc, sys

class HideCelery(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "celery" or name.startswith("celery."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, HideCelery())
"""


def test_the_package_works_without_celery() -> None:
    """With Celery not installed, kashflow_sync, its CLI and the fake import and run."""
    code = _HIDE_CELERY + (
        "import kashflow_sync as kfs\n"
        "from kashflow_sync import cli\n"
        "from kashflow_sync.testing import FakeKashFlow\n"
        "fake = FakeKashFlow()\n"
        "with kfs.KashFlowClient(fake.credentials, endpoint=fake.url,"
        " http_client=fake.http_client()) as c:\n"
        "    c.connect()\n"
        "assert cli.build_parser() is not None\n"
        "assert not [m for m in sys.modules if m == 'celery' or m.startswith('celery.')]\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_importing_the_celery_module_without_celery_names_the_extra() -> None:
    """Importing kashflow_sync.celery without Celery says which extra to install."""
    code = _HIDE_CELERY + "import kashflow_sync.celery\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "pip install 'kashflow-sync[celery]'" in proc.stderr


def _counting_storage() -> tuple[kfs.MemoryStorage, list[str]]:
    loads: list[str] = []

    class Counting(kfs.MemoryStorage):
        def load_list(self, connection_id: str, name: str) -> Any:
            loads.append(f"{connection_id}:{name}")
            return super().load_list(connection_id, name)

    return Counting(), loads


def _connect_then_publish_five(
    caches: _WorkerCaches,
    factory: Callable[[str], kfs.KashFlowClient],
    fake: FakeKashFlow,
    loads: list[str],
    prefix: str,
) -> None:
    """One task connects connection "a", five more publish a receipt each (counts from then)."""
    with caches.client(factory, "a") as first:
        first.connect()
    fake.reset_calls()
    loads.clear()
    for i in range(5):
        with caches.client(factory, "a") as client:
            client.publish(purchase(i, prefix=prefix))


def test_each_task_client_takes_over_the_caches_of_the_one_before() -> None:
    """A new client per task (the host's factory runs every time) but no list reloaded and
    the supplier's history looked up once: what a long-lived client would cost."""
    fake = FakeKashFlow()
    storage, loads = _counting_storage()
    made: list[kfs.KashFlowClient] = []

    def factory(connection_id: str) -> kfs.KashFlowClient:
        made.append(make_client(fake, storage=storage, connection_id=connection_id))
        return made[-1]

    _connect_then_publish_five(_WorkerCaches(4), factory, fake, loads, "cached")
    assert len(made) == 6 and len({id(c) for c in made}) == 6  # the factory ran per task
    assert len(loads) == 7  # once, by the first task after connect() stored them
    assert len(fake.calls_to("GetReceiptsForSupplier")) == 1
    assert ledger_check(fake, [purchase(i, prefix="cached") for i in range(5)]) == (0, 0)


def test_without_caching_every_task_reloads_and_looks_up() -> None:
    """cached_connections=0: the behaviour the caches save (the baseline of the test above)."""
    fake = FakeKashFlow()
    storage, loads = _counting_storage()

    def factory(connection_id: str) -> kfs.KashFlowClient:
        return make_client(fake, storage=storage, connection_id=connection_id)

    _connect_then_publish_five(_WorkerCaches(0), factory, fake, loads, "uncached")
    assert len(loads) == 5 * 7  # every list a purchase is checked against, every task
    assert len(fake.calls_to("GetReceiptsForSupplier")) == 5


def test_caches_are_kept_per_connection_and_storage_and_the_oldest_dropped() -> None:
    """Another storage object never shares a connection's caches; past the size, the least
    recently used connection is forgotten."""
    fake = FakeKashFlow()
    storage, other = kfs.MemoryStorage(), kfs.MemoryStorage()
    caches = _WorkerCaches(2)
    use: dict[str, kfs.MemoryStorage] = {}

    def factory(connection_id: str) -> kfs.KashFlowClient:
        return make_client(
            fake, storage=use.get(connection_id, storage), connection_id=connection_id
        )

    clients = {cid: caches.client(factory, cid) for cid in ("a", "b")}
    assert caches.client(factory, "a").lists is clients["a"].lists
    use["a"] = other  # the host switched storage: the old lists must not answer for it
    switched = caches.client(factory, "a")
    assert switched.lists is not clients["a"].lists and switched.storage is other
    assert caches.client(factory, "a").lists is switched.lists
    caches.client(factory, "c")  # a third connection: "b" was used least recently
    assert caches.client(factory, "b").lists is not clients["b"].lists
    with pytest.raises(ValueError, match="cached_connections"):
        register(Celery("x"), factory, cached_connections=-1)


def test_tasks_belong_to_the_app_they_were_registered_on_only() -> None:
    """Two apps in one process, each with its own factory: neither's tasks reach another app.

    Celery shares a decorated task with every app by default; any other app (the default one
    too) would then hold the first registration's task (and its client factory) under the
    name, and later ones would be dropped with a DuplicateTaskNameWarning.
    """
    import warnings

    from celery.exceptions import DuplicateTaskNameWarning

    def factory(connection_id: str) -> kfs.KashFlowClient:
        raise AssertionError("not called")

    first, second = Celery("first", set_as_current=False), Celery("second", set_as_current=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DuplicateTaskNameWarning)
        a, b = register(first, factory), register(second, factory)
        a.schedule_refreshes(["one"])
        b.schedule_refreshes(["two"])
        first.finalize()
        second.finalize()
        other = Celery("later", set_as_current=False)  # as the default app would be
        other.finalize()
    assert a.publish.name == b.publish.name == "kashflow_sync.publish"
    ours, theirs = first.tasks["kashflow_sync.publish"], second.tasks["kashflow_sync.publish"]
    assert ours.app is first and theirs.app is second and a.publish.app is first
    assert ours._decorated_fun is not theirs._decorated_fun  # each app's own closure
    assert not {name for name in other.tasks if name.startswith("kashflow_sync.")}
