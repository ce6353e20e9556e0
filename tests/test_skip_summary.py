"""The end of a test run without the services: one line per service, saying how to run them."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

SKIPPING = """
import pytest

@pytest.mark.parametrize("n", range(3))
def test_needs_postgres(n):
    pytest.skip("set KASHFLOW_SYNC_TEST_PG to a PostgreSQL SQLAlchemy URL")

@pytest.fixture
def broker():
    pytest.skip("the Celery tests need KASHFLOW_SYNC_TEST_AMQP set, e.g. amqp://...")

def test_needs_rabbitmq(broker):
    pass

def test_needs_a_tool():
    pytest.skip("node and npm are needed")

@pytest.mark.parametrize("n", range(2))
def test_needs_the_dev_extra(n):
    pytest.importorskip("kashflow_sync_no_such_tool.api")

def test_runs():
    pass
"""


def test_service_skips_are_summed_up_per_service(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the suite's conftest and ``-ra``: one line per service (count, variable, example
    value) and one for missing dev tools, no "SKIPPED" line per test for them, other skip
    reasons as usual, whole counts."""
    pytester.makeconftest((TESTS / "conftest.py").read_text())
    pytester.makepyfile(test_skipping=SKIPPING)
    monkeypatch.setenv("PYTHONPATH", str(TESTS))  # the conftest's own imports (_support)
    result = pytester.runpytest_subprocess("-ra", "-p", "no:cacheprovider")
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*= tests skipped: services or tools not set up =*",
            "PostgreSQL: 3 tests skipped; to run them, start it and set "
            "KASHFLOW_SYNC_TEST_PG=postgresql+psycopg://postgres@127.0.0.1:5432/test",
            "RabbitMQ: 1 test skipped; to run them, start it and set "
            "KASHFLOW_SYNC_TEST_AMQP=amqp://guest:guest@127.0.0.1:5672//",
            "kashflow_sync_no_such_tool (dev extra): 2 tests skipped; "
            "to run them, pip install -e '.[dev]'",
            "*short test summary info*",
            "SKIPPED [[]1[]] test_skipping.py:*: node and npm are needed",
            "*= 1 passed, 7 skipped in *",
        ]
    )
    skipped_lines = [line for line in out.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped_lines) == 1, out
    assert "Redis" not in out
