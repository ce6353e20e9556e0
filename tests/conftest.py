"""Shared fixtures: a fake KashFlow in-process or on loopback, and clients connected to it.

``fake`` is one fixture for every room; a module or a room's conftest shapes it by overriding
the small fixtures it reads: ``fake_options`` (FakeKashFlow arguments: a clock, a password),
``fake_access`` (what is in the API access list before the test) and ``fake_mode`` (served
in-process or on loopback; give it ``params`` to run each test both ways).

It also shortens the end of a run without the services: the tests skipped because PostgreSQL,
RabbitMQ or Redis is not configured, or a tool of the dev extra (mkdocs, mypy) is not installed,
are summed up in one line per group, saying how to run them, instead of one "SKIPPED" line per
test location (see ``pytest_terminal_summary``).
"""

from __future__ import annotations

import faulthandler
import os
import re
import signal
from collections.abc import Generator, Iterator
from typing import Any

import pytest

import kashflow_sync as kfs
from _support import make_client
from kashflow_sync.testing import FakeKashFlow

# A run started where Ctrl-C is ignored (a script's background job: `pytest ... &`) would pass
# that on to every process it starts, and the tests that interrupt the CLI with SIGINT would see
# it carry on. A handler is not inherited across exec (the child gets the default), so the CLI
# processes the tests start take Ctrl-C as from a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Under tests/_run_guard.py (as in CI), each test process (this controller, each xdist worker)
# writes its stacks to the guard's folder on SIGUSR1: a run that hangs says where.
if os.environ.get("KASHFLOW_SYNC_TEST_STACKS"):
    _stacks = open(  # noqa: SIM115 (open for the life of the process, for faulthandler)
        os.path.join(os.environ["KASHFLOW_SYNC_TEST_STACKS"], f"{os.getpid()}.txt"), "w"
    )
    faulthandler.register(signal.SIGUSR1, file=_stacks, all_threads=True)


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

#: The group of tests skipped because a tool of the dev extra (mkdocs, mypy) is not installed:
#: ``pytest.importorskip``'s reason.
DEV_TOOLS = "dev"

_SERVICE_IN_REASON = re.compile("|".join(SERVICES))
_MISSING_MODULE = re.compile(r"could not import '([\w.]+)'")


def _group_of(report: pytest.TestReport) -> tuple[str, str] | None:
    """(group, detail) of a skip that needs a service or a dev tool; None for any other."""
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    if found := _SERVICE_IN_REASON.search(reason):
        return found.group(0), ""
    if found := _MISSING_MODULE.search(reason):
        return DEV_TOOLS, found.group(1).partition(".")[0]
    return None


def grouped_skip_lines(skipped: list[pytest.TestReport]) -> list[str]:
    """One line per service or for the dev tools some of *skipped* needed: how many tests,
    and how to run them."""
    counts: dict[str, int] = {}
    tools: set[str] = set()
    for report in skipped:
        group = _group_of(report)
        if group is None:
            continue
        counts[group[0]] = counts.get(group[0], 0) + 1
        if group[0] == DEV_TOOLS:
            tools.add(group[1])
    lines = []
    for key in [*SERVICES, DEV_TOOLS]:
        if key not in counts:
            continue
        tests = f"{counts[key]} test{'s' if counts[key] != 1 else ''} skipped"
        if key == DEV_TOOLS:
            lines.append(
                f"{', '.join(sorted(tools))} (dev extra): {tests}; "
                "to run them, pip install -e '.[dev]'"
            )
        else:
            name, example = SERVICES[key]
            lines.append(f"{name}: {tests}; to run them, start it and set {key}={example}")
    return lines


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: Any) -> Generator[None, None, None]:
    """Sum up the tests skipped for want of a service or a dev tool: one line per group.

    ``-ra`` (pyproject's addopts) lists every other skip reason as usual; those of a group are
    held out of the short summary while it is written, then put back, so the final counts stay
    whole.
    """
    stats = terminalreporter.stats
    skipped = stats.get("skipped", [])
    lines = grouped_skip_lines(skipped)
    if lines:
        stats["skipped"] = [r for r in skipped if _group_of(r) is None]
        terminalreporter.write_sep("=", "tests skipped: services or tools not set up")
        for line in lines:
            terminalreporter.write_line(line)
    try:
        return (yield)
    finally:
        if lines:
            stats["skipped"] = skipped
