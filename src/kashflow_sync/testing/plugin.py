"""pytest plugin: a fake KashFlow on loopback and a client connected to it, for your own tests.

Installed with kashflow-sync and loaded automatically (``pytest11`` entry point). It offers:

``kashflow_fake``
    A :class:`~kashflow_sync.testing.FakeKashFlow` seeded with a small UK demo account and served
    on a free 127.0.0.1 port for one test (``kashflow_fake.url``, ``kashflow_fake.credentials``).
``kashflow_client``
    A :class:`~kashflow_sync.KashFlowClient` connected to ``kashflow_fake`` (AutoAuth done, lists
    synced) with a retry policy that never sleeps; closed after the test.
``kashflow_async_client``
    The same as an :class:`~kashflow_sync.AsyncKashFlowClient`, for ``async def`` tests under
    any plugin that runs them (pytest-asyncio, anyio). It reaches ``kashflow_fake`` in-process
    (no socket), so it is bound to no event loop; loopback-only faults (``trickle``, a held
    ``late_apply``) then act as they do in-process.
``@pytest.mark.kashflow(...)``
    Shapes both fixtures for one test::

        @pytest.mark.kashflow(faults=[("http_error", {"status": 503, "op": "GetSuppliers"})])
        @pytest.mark.kashflow(preset="flaky")
        @pytest.mark.kashflow(seed=None)                      # an empty account
        @pytest.mark.kashflow(readings={"not_found": "empty_object", "rate_decimals": 2})
        @pytest.mark.kashflow(fake={"autoauth_enabled": False}, client={"timeout": 2.0})

    ``faults`` is a list of ``(kind, options)`` pairs, each becoming
    ``kashflow_fake.faults.<kind>(**options)`` (kinds: :data:`FAULT_KINDS`);
    ``readings`` a :class:`~kashflow_sync.testing.Readings` or a mapping of its fields, the
    reading of KashFlow's unconfirmed behaviour the fake plays;
    ``preset`` names one or more of :data:`PRESETS`. With ``kashflow_client`` the faults start
    after the client has connected, so they hit the code under test rather than the fixture.

This module imports nothing heavy at import time (no zeep, httpx, SQLAlchemy or the SDK's own
modules): the fixtures import what they need when a test uses them, so merely having
kashflow-sync installed costs other projects' test runs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pytest

# Absolute, and a module that imports only typing: the plugin is also loaded from its file alone.
from kashflow_sync.testing._fake import kinds

if TYPE_CHECKING:
    from kashflow_sync import AsyncKashFlowClient, KashFlowClient
    from kashflow_sync.testing import FakeKashFlow

__all__ = [
    "FAULT_KINDS",
    "PRESETS",
    "FaultSpec",
    "kashflow_async_client",
    "kashflow_client",
    "kashflow_fake",
]

#: One fault: the ``fake.faults`` method name and its keyword arguments.
FaultSpec = tuple[str, Mapping[str, Any]]

#: The fault kinds a marker may name: each a method of ``FakeKashFlow.faults``.
FAULT_KINDS = frozenset({*kinds.FAULT_KINDS, "random"})

#: Named fault sets for ``@pytest.mark.kashflow(preset=...)``. Random ones are seeded, so a test
#: sees the same faults on every run.
PRESETS: Mapping[str, tuple[FaultSpec, ...]] = {
    # One call in five answers HTTP 503 (KashFlow under load); the SDK retries reads and
    # reconciles writes, so code under test should still see every call succeed.
    "flaky": (("random", {"kind": "http_error", "rate": 0.2, "seed": 1, "status": 503}),),
    # Every call answers HTTP 503: KashFlow is down. Calls end in TransientError.
    "unavailable": (("http_error", {"status": 503, "times": None}),),
    # Every call takes 50 ms longer: enough to show up in timing, not to time out.
    "slow": (("delay", {"seconds": 0.05, "times": None}),),
    # Half the receipt and invoice creations land but their answers are lost: the case
    # exactly-once publishing exists for.
    "lost_responses": (
        ("random", {"kind": "drop_response", "rate": 0.5, "seed": 2, "op": "InsertReceipt"}),
        ("random", {"kind": "drop_response", "rate": 0.5, "seed": 3, "op": "InsertInvoice"}),
    ),
    # Every tenth call gets its connection reset before KashFlow sees it.
    "resets": (("random", {"kind": "reset_before", "rate": 0.1, "seed": 4}),),
}

_MARKER_HELP = (
    "kashflow(faults=[(kind, options)...], preset=NAME|[NAMES], seed='demo'|None, "
    "readings={...}, fake={...}, client={...}): shape the kashflow_fake and kashflow_client "
    "fixtures (fault injection, readings of KashFlow's behaviour, "
    f"presets: {', '.join(sorted(PRESETS))})"
)

_SETTINGS = pytest.StashKey[dict[str, Any]]()


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``kashflow`` marker so ``--strict-markers`` runs accept it."""
    config.addinivalue_line("markers", _MARKER_HELP)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Check every ``kashflow`` marker once collected.

    A misspelt preset, fault kind or option stops the run with one line naming the valid ones
    (and the nearest), rather than an error with a traceback in each test's setup.
    """
    for item in items:
        if item.get_closest_marker("kashflow") is None:
            continue
        try:
            fault_specs(_settings(item))
        except pytest.UsageError as exc:
            raise pytest.UsageError(f"{item.nodeid}: {exc}") from None


def _did_you_mean(name: object, known: Iterable[str]) -> str:
    """`` (did you mean 'flaky'?)`` for a near miss of one of *known*, else nothing."""
    import difflib

    close = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _settings(node: pytest.Item | pytest.Collector | Any) -> dict[str, Any]:
    """The merged ``kashflow`` marker options of *node* (closest marker wins per option)."""
    merged: dict[str, Any] = {}
    for marker in reversed(list(node.iter_markers("kashflow"))):
        if marker.args:
            raise pytest.UsageError(
                "@pytest.mark.kashflow takes keyword arguments only, e.g. "
                "@pytest.mark.kashflow(preset='flaky')"
            )
        merged.update(marker.kwargs)
    unknown = sorted(set(merged) - {"faults", "preset", "seed", "readings", "fake", "client"})
    if unknown:
        raise pytest.UsageError(
            f"@pytest.mark.kashflow got unknown option(s) {unknown}; "
            "known: faults, preset, seed, readings, fake, client"
        )
    return merged


def fault_specs(settings: Mapping[str, Any]) -> list[FaultSpec]:
    """The faults a marker asks for: its presets' first, then its own ``faults``, checked."""
    specs: list[FaultSpec] = []
    presets = settings.get("preset") or ()
    if isinstance(presets, str):
        presets = (presets,)
    for name in presets:
        if name not in PRESETS:
            raise pytest.UsageError(
                f"unknown kashflow preset {name!r}{_did_you_mean(name, PRESETS)}; "
                f"known: {', '.join(sorted(PRESETS))}"
            )
        specs.extend(PRESETS[name])
    for spec in settings.get("faults") or ():
        kind, options = _fault_spec(spec)
        specs.append((kind, options))
    return specs


def _fault_spec(spec: Any) -> FaultSpec:
    if isinstance(spec, str):
        kind, options = spec, {}
    elif isinstance(spec, Mapping):
        options = dict(spec)
        kind = options.pop("kind", None)
    elif isinstance(spec, Sequence) and len(spec) == 2 and isinstance(spec[1], Mapping):
        kind, options = spec[0], dict(spec[1])
    else:
        raise pytest.UsageError(
            f"a kashflow fault is (kind, {{options}}), e.g. ('http_error', {{'status': 503}}), "
            f"not {spec!r}"
        )
    if kind not in FAULT_KINDS:
        raise pytest.UsageError(
            f"unknown kashflow fault kind {kind!r}{_did_you_mean(str(kind), FAULT_KINDS)}; "
            f"known: {', '.join(sorted(FAULT_KINDS))}"
        )
    return str(kind), options


def apply_faults(fake: FakeKashFlow, specs: Sequence[FaultSpec]) -> None:
    """Queue each fault on ``fake.faults`` in order."""
    for kind, options in specs:
        getattr(fake.faults, kind)(**options)


@pytest.fixture
def kashflow_fake(request: pytest.FixtureRequest) -> Iterator[FakeKashFlow]:
    """A seeded FakeKashFlow served on a free loopback port for one test.

    Shaped by ``@pytest.mark.kashflow(...)``: ``seed`` (``"demo"`` or None), ``readings``
    (a Readings or a mapping of its fields), ``fake`` (more FakeKashFlow arguments),
    ``faults`` and ``preset``. Late writes still pending when the test ends are cancelled.
    """
    from kashflow_sync.testing import FakeKashFlow, Readings

    settings = _settings(request.node)
    specs = fault_specs(settings)
    options = dict(settings.get("fake") or {})
    options.setdefault("seed", settings.get("seed", "demo"))
    readings = settings.get("readings")
    if isinstance(readings, Mapping):
        try:
            readings = Readings(**readings)
        except (TypeError, ValueError) as exc:
            raise pytest.UsageError(f"@pytest.mark.kashflow(readings=...): {exc}") from None
    if readings is not None:
        options["readings"] = readings
    fake = FakeKashFlow(**options)
    with fake.running():
        request.node.stash[_SETTINGS] = {"specs": specs}
        apply_faults(fake, specs)
        yield fake
    fake.close(late_writes="cancel")


@pytest.fixture
def kashflow_client(
    request: pytest.FixtureRequest, kashflow_fake: FakeKashFlow
) -> Iterator[KashFlowClient]:
    """A KashFlowClient connected to ``kashflow_fake``; retries never sleep; closed after.

    The marker's faults are held back while it connects and queued right after, so they hit
    the test's own calls. ``@pytest.mark.kashflow(client={...})`` passes more arguments to
    KashFlowClient (``storage=``, ``create_missing_contacts=``, ``timeout=``...).
    """
    from kashflow_sync import KashFlowClient

    options, specs = _client_setup(request, kashflow_fake)
    client = KashFlowClient(kashflow_fake.credentials, **options)
    try:
        client.connect()
        apply_faults(kashflow_fake, specs)
        yield client
    finally:
        client.close()


@pytest.fixture
def kashflow_async_client(
    request: pytest.FixtureRequest, kashflow_fake: FakeKashFlow
) -> Iterator[AsyncKashFlowClient]:
    """An AsyncKashFlowClient connected to ``kashflow_fake``; retries never wait; closed after.

    A plain (sync) fixture, so it works with whichever plugin runs ``async def`` tests: it
    connects in a short event loop of its own over the fake's in-process transport, which
    holds no sockets, and hands over a client the test's own loop can use. Shaped by
    ``@pytest.mark.kashflow(client={...})`` like ``kashflow_client``.
    """
    import asyncio

    from kashflow_sync import AsyncKashFlowClient

    options, specs = _client_setup(request, kashflow_fake)
    options.setdefault("http_client", kashflow_fake.async_http_client())
    client = AsyncKashFlowClient(kashflow_fake.credentials, **options)
    try:
        asyncio.run(client.connect())
        apply_faults(kashflow_fake, specs)
        yield client
    finally:
        asyncio.run(client.aclose())


def _client_setup(
    request: pytest.FixtureRequest, fake: FakeKashFlow
) -> tuple[dict[str, Any], Sequence[FaultSpec]]:
    """Both client fixtures' arguments, and the marker's faults to queue once connected.

    The arguments are the fixture defaults overridden by ``client={...}``. The fake's faults
    are cleared here, so connecting meets none of them.
    """
    from datetime import timedelta

    from kashflow_sync import RetryPolicy

    options: dict[str, Any] = {
        "app_name": "pytest",
        "retry": RetryPolicy.no_wait(),
        "endpoint": fake.url,
        # The fake applies a write at once or never (unless late_apply is injected), so an
        # uncertain send may be reconciled at once; pass client={"settle_time": ...} to test
        # the settling real KashFlow needs.
        "settle_time": timedelta(0),
    }
    options.update(_settings(request.node).get("client") or {})
    fake.faults.clear()
    return options, request.node.stash.get(_SETTINGS, {}).get("specs", [])
