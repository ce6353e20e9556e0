"""Without ``opentelemetry-api`` the SDK imports none of it and does no tracing work.

The check runs in a fresh interpreter whose import system refuses ``opentelemetry`` (as if it
were not installed): a connect, publishes with attachment and payment, a batch, the async
client; then nothing of OpenTelemetry may have been imported, and every client must hold the
telemetry that does nothing.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import asyncio, importlib.abc, sys

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == "opentelemetry" or name.startswith("opentelemetry."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Refuse())
    sys.path.insert(0, sys.argv[1])

    import kashflow_sync as kfs
    from kashflow_sync._telemetry import NO_TELEMETRY
    from kashflow_sync.testing import FakeKashFlow
    from _support import make_client, purchase

    fake = FakeKashFlow()
    with make_client(fake) as client:
        client.connect()
        client.publish(purchase(1))
        client.publish_many([purchase(i, prefix="b") for i in range(3)], concurrency=2)
        assert client._telemetry is NO_TELEMETRY
        assert client._service.telemetry is NO_TELEMETRY
        assert client._driver.telemetry is NO_TELEMETRY

    async def main():
        async with kfs.AsyncKashFlowClient(
            fake.credentials, endpoint=fake.url, http_client=fake.async_http_client()
        ) as client:
            await client.connect()
            await client.publish(purchase(9))
            assert client._telemetry is NO_TELEMETRY

    asyncio.run(main())
    try:
        kfs.KashFlowClient(fake.credentials, tracer_provider=object())
    except TypeError as exc:
        assert "kashflow-sync[otel]" in str(exc), exc
    else:
        raise AssertionError("a provider without opentelemetry-api was accepted")
    loaded = sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry")
    assert not loaded, loaded
    assert "kashflow_sync._telemetry._otel" not in sys.modules
    print("clean")
    """
)


def test_without_opentelemetry_nothing_of_it_is_imported() -> None:
    """Publishing with opentelemetry refused imports none of it; a provider is refused."""
    tests = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tests)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "clean"


def test_with_opentelemetry_the_sdk_imports_it_only_for_a_client() -> None:
    """Importing the SDK and its clients does not import opentelemetry: building a client does."""
    code = (
        "import sys, kashflow_sync, kashflow_sync.testing;"
        "kashflow_sync.KashFlowClient, kashflow_sync.AsyncKashFlowClient;"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
