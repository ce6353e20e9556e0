"""The pytest plugin as other projects use it: fixtures, the ``kashflow`` marker, import cost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kashflow_sync.testing import plugin

pytest_plugins = ["pytester"]

HEAVY = (
    "zeep",
    "sqlalchemy",
    "httpx",
    "lxml",
    "kashflow_sync._clients.sync_client",
    "kashflow_sync.soap",
)

PUBLISH_TEST = """
    from datetime import date
    from decimal import Decimal

    import kashflow_sync as kfs


    def test_publish_lands_in_the_fake(kashflow_client, kashflow_fake):
        doc = kfs.PurchaseInvoice(
            external_id="it-1",
            supplier="Acme Paper Ltd",
            reference="INV-9",
            issue_date=date(2026, 11, 2),
            lines=[kfs.Line(net=Decimal("10.00"), vat_rate=Decimal("20"), category=7500)],
        )
        result = kashflow_client.publish(doc)
        assert result.status == "published"
        assert [r.invoice_number for r in kashflow_fake.receipts] == [result.number]


    def test_fake_serves_on_loopback(kashflow_fake):
        assert kashflow_fake.url.startswith("http://127.0.0.1:")
        assert kashflow_fake.serving
"""


@pytest.fixture(autouse=True, scope="module")
def _network_stack_imported() -> None:
    """Make one loopback request in this process before any in-process pytester run.

    pytester restores ``sys.modules`` after each in-process run, dropping modules first
    imported during it. httpcore imports parts of itself on the first connection; re-imported
    in a later run they define new exception classes that httpx's exception mapping no longer
    recognises. Importing them here, once, keeps every run on the same classes.
    """
    import kashflow_sync as kfs
    from kashflow_sync.testing import FakeKashFlow

    with FakeKashFlow.serve() as fake, kfs.KashFlowClient(fake.credentials, endpoint=fake.url) as c:
        c.connect()


def _env_without_coverage() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}


def test_plugin_module_source_imports_nothing_heavy(tmp_path: Path) -> None:
    """Loaded on its own, plugin.py imports only pytest: no zeep, SQLAlchemy, httpx or SDK core."""
    code = textwrap.dedent(
        f"""
        import importlib.util, json, sys
        spec = importlib.util.spec_from_file_location("kf_plugin", {plugin.__file__!r})
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(json.dumps(sorted(m for m in sys.modules if m.startswith({HEAVY!r}))))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout
    assert json.loads(out) == []


def test_plugin_entry_point_import_is_light(tmp_path: Path) -> None:
    """Importing the plugin by its entry-point name pulls in no heavy module."""
    code = (
        "import json, sys; import kashflow_sync.testing.plugin; "
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({HEAVY!r}))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout
    assert json.loads(out) == []


def test_marker_is_registered(pytester: pytest.Pytester) -> None:
    """``pytest --markers`` lists the kashflow marker, so --strict-markers accepts it."""
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["*kashflow(faults=*preset=*"])


def test_fixtures_from_entry_point_in_a_subprocess(pytester: pytest.Pytester) -> None:
    """A project's test file gets both fixtures from the installed entry point alone."""
    pytester.makepyfile(test_integration=PUBLISH_TEST)
    result = pytester.runpytest_subprocess("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


ASYNC_TEST = """
import asyncio
from datetime import date
from decimal import Decimal

import pytest

import kashflow_sync as kfs
from kashflow_sync import errors

DOC = kfs.PurchaseInvoice(
    external_id="a-1", supplier="Acme Paper Ltd", reference="A-1", issue_date=date(2026, 11, 2),
    lines=[kfs.Line(description="Paper", net=Decimal("10.00"), vat_rate=Decimal("20"),
                    category=7500)],
)


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_under_anyio(kashflow_async_client, kashflow_fake):
    result = await kashflow_async_client.publish(DOC)
    assert result.status == "published"
    assert [r.reference for r in kashflow_fake.receipts] == ["A-1"]


def test_in_a_loop_of_its_own(kashflow_async_client):
    assert asyncio.run(kashflow_async_client.publish(DOC)).status == "published"


@pytest.mark.kashflow(faults=[("http_error", {"status": 503, "times": None})])
def test_marker_faults_hit_the_async_client(kashflow_async_client):
    with pytest.raises(errors.TransientError):
        asyncio.run(kashflow_async_client.refresh_lists("suppliers"))
"""


def test_async_client_fixture_works_under_any_event_loop(pytester: pytest.Pytester) -> None:
    """kashflow_async_client serves anyio tests and plain asyncio.run alike, faults included."""
    pytester.makepyfile(test_async=ASYNC_TEST)
    pytester.runpytest("--strict-markers", "-p", "anyio").assert_outcomes(passed=3)


def test_faults_hit_the_test_not_the_fixture(pytester: pytest.Pytester) -> None:
    """Marker faults are held back while kashflow_client connects, then fire in the test."""
    pytester.makepyfile(
        """
        import pytest
        from kashflow_sync import errors

        @pytest.mark.kashflow(
            faults=[("http_error", {"status": 503, "op": "GetSuppliers", "times": None})]
        )
        def test_suppliers_unavailable(kashflow_client, kashflow_fake):
            assert len(kashflow_client.lists.suppliers) == 3
            with pytest.raises(errors.TransientError):
                kashflow_client.refresh_lists(["suppliers"])
            assert {f.operation for f in kashflow_fake.faults.fired} == {"GetSuppliers"}
        """
    )
    pytester.runpytest("--strict-markers").assert_outcomes(passed=1)


def test_faults_on_the_fake_alone_apply_at_once(pytester: pytest.Pytester) -> None:
    """With only kashflow_fake, the marker's faults are queued before the test starts."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.kashflow(faults=[("reset_before", {"op": "GetCurrencies"})])
        def test_queued(kashflow_fake):
            [rule] = kashflow_fake.faults.pending
            assert rule.kind == "reset_before" and rule.operation == "GetCurrencies"
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("preset", "expectation"),
    [
        ("unavailable", "with pytest.raises(errors.TransientError): client.refresh_lists()"),
        ("flaky", "assert client.refresh_lists()['suppliers'].unchanged == 3"),
        ("slow", "assert client.refresh_lists(['currencies'])['currencies'].total == 3"),
    ],
)
def test_presets(pytester: pytest.Pytester, preset: str, expectation: str) -> None:
    """Each named preset shapes the fake as documented."""
    pytester.makepyfile(
        f"""
        import pytest
        from kashflow_sync import errors

        @pytest.mark.kashflow(preset={preset!r})
        def test_preset(kashflow_client):
            client = kashflow_client
            {expectation}
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_lost_responses_preset_still_publishes_once(pytester: pytest.Pytester) -> None:
    """Under ``lost_responses`` every document still lands exactly once."""
    pytester.makepyfile(
        """
        from datetime import date
        from decimal import Decimal
        import pytest
        import kashflow_sync as kfs

        @pytest.mark.kashflow(preset="lost_responses")
        def test_once(kashflow_client, kashflow_fake):
            docs = [
                kfs.PurchaseInvoice(
                    external_id=f"d{i}", supplier="Acme Paper Ltd", reference=f"R{i}",
                    issue_date=date(2026, 11, 2),
                    lines=[kfs.Line(net=Decimal("10.00"), vat_rate=Decimal("20"), category=7500)],
                )
                for i in range(6)
            ]
            batch = kashflow_client.publish_many(docs, concurrency=1)
            assert not batch.failed, [str(i.error) for i in batch.failed]
            assert len(kashflow_fake.receipts) == 6
            assert any(f.kind == "drop_response" for f in kashflow_fake.faults.fired)
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_seed_none_gives_an_empty_account(pytester: pytest.Pytester) -> None:
    """``seed=None`` serves an account with only VAT rates and GBP."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.kashflow(seed=None)
        def test_empty(kashflow_client):
            assert len(kashflow_client.lists.suppliers) == 0
            assert len(kashflow_client.lists.vat_rates) == 4
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_client_options_pass_through(pytester: pytest.Pytester) -> None:
    """``client={...}`` reaches KashFlowClient (here: refusing unknown suppliers)."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.kashflow(client={"create_missing_contacts": False, "connection_id": "t1"})
        def test_options(kashflow_client):
            assert kashflow_client.create_missing_contacts is False
            assert kashflow_client.connection_id == "t1"
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("preset='nope'", "unknown kashflow preset 'nope'"),
        ("faults=[('explode', {})]", "unknown kashflow fault kind 'explode'"),
        ("faults=[42]", "a kashflow fault is (kind, {options})"),
        ("colour='red'", "unknown option(s) ['colour']"),
    ],
)
def test_marker_mistakes_are_reported(pytester: pytest.Pytester, marker: str, message: str) -> None:
    """A mistyped marker fails the test's setup with a message saying what is wrong."""
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.kashflow({marker})
        def test_x(kashflow_fake):
            pass
        """
    )
    result = pytester.runpytest()
    assert message in result.stdout.str() + result.stderr.str()
    assert result.ret != 0


def test_misspelt_preset_is_one_line_with_a_suggestion(pytester: pytest.Pytester) -> None:
    """A misspelt preset stops the run before any test, in one line naming the valid presets
    and the one meant, with no traceback (in a real pytest process, via the entry point)."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.kashflow(preset="flakey")
        def test_x(kashflow_fake):
            pass

        def test_y():
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    output = result.stdout.str() + result.stderr.str()
    [line] = [row for row in output.splitlines() if "flakey" in row]
    assert "did you mean 'flaky'?" in line
    assert all(name in line for name in plugin.PRESETS)
    assert "Traceback" not in output and "plugin.py" not in output
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_every_preset_names_known_fault_kinds() -> None:
    """Each preset is made of fault kinds the fake offers."""
    for name, specs in plugin.PRESETS.items():
        for kind, options in specs:
            assert kind in plugin.FAULT_KINDS, name
            if kind == "random":
                assert options["kind"] in plugin.FAULT_KINDS - {"random"}, name


def test_throwaway_project_uses_the_plugin(tmp_path: Path) -> None:
    """A separate project directory with its own test file runs green with the plugin."""
    project = tmp_path / "host-app"
    (project / "tests").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "host-app"\nversion = "0"\n\n'
        '[tool.pytest.ini_options]\naddopts = "--strict-markers"\n'
    )
    (project / "tests" / "test_kashflow.py").write_text(
        textwrap.dedent(PUBLISH_TEST)
        + textwrap.dedent(
            """

            import pytest


            @pytest.mark.kashflow(preset="unavailable")
            def test_outage_is_transient(kashflow_client):
                from kashflow_sync import errors

                with pytest.raises(errors.TransientError):
                    kashflow_client.refresh_lists(["suppliers"])
            """
        )
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env=_env_without_coverage(),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout
