"""Shared fixtures: a fake KashFlow in-process or on loopback, and clients connected to it.

``fake`` is one fixture for every room; a module or a room's conftest shapes it by overriding
the small fixtures it reads: ``fake_options`` (FakeKashFlow arguments: a clock, a password),
``fake_access`` (what is in the API access list before the test) and ``fake_mode`` (served
in-process or on loopback; give it ``params`` to run each test both ways).

It also shortens the end of a run without the services: the tests skipped because PostgreSQL,
RabbitMQ or Redis is not configured are summed up in one line per service, saying how to run
them, instead of one "SKIPPED" line per test location (see ``pytest_terminal_summary``).
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from typing import Any

import pytest

import kashflow_sync as kfs
from _support import make_client
from kashflow_sync.testing import FakeKashFlow


@pytest.fixture
def fake_options() -> dict[str, Any]:
    """FakeKashFlow arguments for ``fake``: none, a seeded demo account."""
    return {}


@pytest.fixture
def fake_access() -> tuple[str, ...]:
    """``fake.allow_ip(...)`` arguments applied before the test; () leaves the list empty."""
    return ()


@pytest.fixture
def fake_mode() -> str:
    """How ``fake`` is served: "in-process" (through its transport) or "loopback"."""
    return "in-process"


@pytest.fixture
def fake(
    fake_options: dict[str, Any], fake_access: tuple[str, ...], fake_mode: str
) -> Iterator[FakeKashFlow]:
    """A seeded demo account served in-process, shaped by the three fixtures above."""
    fake = FakeKashFlow(**fake_options)
    if fake_access:
        fake.allow_ip(*fake_access)
    if fake_mode == "loopback":
        with fake.running():
            yield fake
    else:
        yield fake
    fake.close(late_writes="cancel")


@pytest.fixture
def served_fake() -> Iterator[FakeKashFlow]:
    """A seeded demo account served over real loopback HTTP."""
    with FakeKashFlow.serve() as fake:
        yield fake


@pytest.fixture
def client(fake: FakeKashFlow) -> Iterator[kfs.KashFlowClient]:
    """A client connected (AutoAuth + full sync) to the in-process fake."""
    with make_client(fake) as c:
        c.connect()
        yield c


#: The services some tests need: the variable naming each, what it is, and a value that works
#: on a machine where the service runs with its defaults (``.ci/run`` starts them all).
SERVICES = {
    "KASHFLOW_SYNC_TEST_PG": ("PostgreSQL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    "KASHFLOW_SYNC_TEST_AMQP": ("RabbitMQ", "amqp://guest:guest@127.0.0.1:5672//"),
    "KASHFLOW_SYNC_TEST_REDIS": ("Redis", "redis://127.0.0.1:6379/0"),
}

_SERVICE_IN_REASON = re.compile("|".join(SERVICES))


def _service_of(report: pytest.TestReport) -> str | None:
    """The service variable a skip's reason names (the test needs that service), or None."""
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    found = _SERVICE_IN_REASON.search(reason)
    return found.group(0) if found else None


def service_skip_lines(skipped: list[pytest.TestReport]) -> list[str]:
    """One line per service some of *skipped* needed: how many tests, and how to run them."""
    counts: dict[str, int] = {}
    for report in skipped:
        service = _service_of(report)
        if service is not None:
            counts[service] = counts.get(service, 0) + 1
    return [
        f"{SERVICES[env][0]}: {count} test{'s' if count != 1 else ''} skipped; "
        f"to run them, start it and set {env}={SERVICES[env][1]}"
        for env, count in sorted(counts.items(), key=lambda item: list(SERVICES).index(item[0]))
    ]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: Any) -> Generator[None, None, None]:
    """Sum up the tests skipped for want of a service in one line per service.

    ``-ra`` (pyproject's addopts) lists every other skip reason as usual; those naming a
    service variable are held out of the short summary while it is written, then put back,
    so the final counts stay whole.
    """
    stats = terminalreporter.stats
    skipped = stats.get("skipped", [])
    lines = service_skip_lines(skipped)
    if lines:
        stats["skipped"] = [r for r in skipped if _service_of(r) is None]
        terminalreporter.write_sep("=", "tests skipped: services not configured")
        for line in lines:
            terminalreporter.write_line(line)
    try:
        return (yield)
    finally:
        if lines:
            stats["skipped"] = skipped
