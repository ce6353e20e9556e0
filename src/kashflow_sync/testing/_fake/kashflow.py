"""FakeKashFlow: an in-memory KashFlow account speaking the SOAP API, in-process or on loopback."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, Literal

import httpx

from ..._config import Credentials
from .account import Account
from .control import ControlApi
from .late import LateWrite
from .readings import Readings
from .records import CallRecord
from .seed import apply_seed, seed_basics, seed_demo
from .soapapp import ENDPOINT_PATH, SoapApp
from .transports import AsyncFakeTransport, FakeTransport, LoopbackServer

__all__ = ["IN_PROCESS_URL", "FakeKashFlow"]

#: The URL to use with :meth:`FakeKashFlow.transport` (the host is never resolved).
IN_PROCESS_URL = f"http://kashflow.fake{ENDPOINT_PATH}"
_DEFAULT_IP = "127.0.0.1"
_WILDCARDS = frozenset({"0.0.0.0", "::", ""})

#: What ``seed=`` takes: ``"demo"``, ``"empty"`` (or None), or a seed mapping (see
#: :func:`~kashflow_sync.testing._fake.seed.apply_seed`: ``{"suppliers": [...], ...}``).
Seed = str | Mapping[str, Any] | None


class FakeKashFlow(Account):
    """An in-memory KashFlow ledger that answers KashFlow's SOAP 1.1 API like the real one.

    Use it in-process through an httpx transport::

        fake = FakeKashFlow()
        http = httpx.Client(transport=fake.transport())
        # POST SOAP envelopes to fake.url

    or on a real loopback port::

        with FakeKashFlow.serve() as fake:
            ...  # fake.url is http://127.0.0.1:<port>/api/service.asmx

    The account behaves like a fresh KashFlow one: credentials are checked on every call and
    the API access list starts empty, so the caller's IP must be added by ``AutoAuthIP`` (or
    :meth:`allow_ip`) before anything else succeeds. Read what was published through
    ``receipts``, ``invoices``, ``payments``, ``attachments``...; inject misbehaviour through
    ``faults``; choose how KashFlow's unconfirmed behaviour is played through ``readings``;
    inspect requests through ``calls``. The same account answers a JSON control API under
    ``/_fake/`` (see docs/testing.md), which ``kashflow-sync fake serve`` exposes to other
    languages.

    Attributes:
        username: the account's user name (compared case-insensitively).
        password: the API password (compared exactly).
        autoauth_key: the key ``AutoAuthIP`` must be given, or None.
        autoauth_enabled: whether ``AutoAuthIP`` works at all.
        api_enabled: False makes every call answer ``Status=NO`` ("API access is disabled").
        ip_restriction: False lets any IP in (KashFlow's "restrict access" switch off).
        echo_secrets: True repeats the caller's password and AutoAuth key (as sent and in
            capitals) in refusals, SOAP faults and error pages (a hostile KashFlow, for
            secret-leak tests).
        readings: the :class:`Readings` in force (``set_readings`` changes some).
        faults: the fault-injection queue (:class:`Faults`).
        errors: exceptions raised inside the fake while serving (each answered as a
            ``soap:Server`` fault); should stay empty.

    """

    def __init__(
        self,
        *,
        username: str = "demo",
        password: str | None = None,
        autoauth_key: str | None = "1234ABCD-1234",
        autoauth_enabled: bool = True,
        seed: Seed = "demo",
        clock: Callable[[], datetime] | None = None,
        readings: Readings | None = None,
        echo_secrets: bool = False,
    ) -> None:
        """Create the account.

        Args:
            username: the account's user name.
            password: the API password; a random one when omitted (read it back from
                ``fake.password`` or ``fake.credentials``).
            autoauth_key: the AutoAuth key (KashFlow's format is ``1234ABCD-1234``).
            autoauth_enabled: whether AutoAuth is switched on.
            seed: ``"demo"`` for a small UK account (chart of accounts, banks, payment
                methods, suppliers, customers, projects); ``"empty"`` or None for an empty
                account that still has what every KashFlow account has: VAT rates 20, 5, 0
                and -1 and GBP; or a mapping of lists to add (``{"suppliers": [{"name":
                ...}], "base": "demo"}``, the format of ``kashflow-sync fake serve --seed``).
            clock: returns "now" (naive datetime) for Created/Updated stamps, upload and
                call timestamps.
            readings: which reading of KashFlow's unconfirmed behaviour to play
                (:class:`Readings`); the defaults when omitted.
            echo_secrets: a hostile KashFlow that repeats the caller's password and AutoAuth
                key, as sent and in capitals, in every refusal's StatusDetail, SOAP fault
                string and HTTP error page, so tests can prove secrets never reach errors,
                logs or storage.

        Raises:
            ValueError: an unknown *seed*.

        """
        super().__init__(
            username=username,
            password=password or f"fake-{secrets.token_hex(8)}",
            autoauth_key=autoauth_key,
            clock=clock,
        )
        self._client_ip: str | None = None
        self._server: LoopbackServer | None = None
        self._initial: dict[str, Any] = {
            "seed": seed,
            "readings": readings or Readings(),
            "autoauth_enabled": autoauth_enabled,
            "echo_secrets": echo_secrets,
        }
        self._app = SoapApp(self)
        self._app.control = ControlApi(self).handle
        self._restore(seed)

    def _restore(self, seed: Seed) -> None:
        """Set the account up as constructed, seeded with *seed*."""
        self.autoauth_enabled = self._initial["autoauth_enabled"]
        self.echo_secrets = self._initial["echo_secrets"]
        self.api_enabled = True
        self.ip_restriction = True
        self.readings = self._initial["readings"]
        if seed == "demo":
            seed_demo(self)
        elif seed in ("empty", None):
            seed_basics(self)
        elif isinstance(seed, Mapping):
            apply_seed(self, seed)
        else:
            raise ValueError(f"seed must be 'demo', 'empty', None or a mapping, not {seed!r}")

    def __repr__(self) -> str:
        """Show where it serves and how big it is, never the password or key."""
        return (
            f"<FakeKashFlow url={self.url!r} username={self.username!r} "
            f"suppliers={len(self._suppliers)} customers={len(self._customers)} "
            f"receipts={len(self.receipts)} invoices={len(self.invoices)}>"
        )

    # -- connection details ---------------------------------------------------------------

    @property
    def credentials(self) -> Credentials:
        """A :class:`kashflow_sync.Credentials` that logs in to this fake."""
        return Credentials(
            username=self.username, password=self.password, autoauth_key=self.autoauth_key
        )

    @property
    def url(self) -> str:
        """The endpoint: the loopback URL while serving, else :data:`IN_PROCESS_URL`."""
        if self._server is not None:
            host = self._server.host
            host = _DEFAULT_IP if host in _WILDCARDS else host
            host = f"[{host}]" if ":" in host else host
            return f"http://{host}:{self._server.port}{ENDPOINT_PATH}"
        return IN_PROCESS_URL

    @property
    def control_url(self) -> str:
        """Where the JSON control API answers (``.../_fake/``); see docs/testing.md."""
        return self.url.replace(ENDPOINT_PATH, "/_fake/")

    @property
    def wsdl_url(self) -> str:
        """``url + "?WSDL"``: the service description, pointing at this fake."""
        return f"{self.url}?WSDL"

    @property
    def client_ip(self) -> str:
        """The caller IP the fake sees: set it to simulate a changed egress address.

        In-process it defaults to ``127.0.0.1``; over loopback it is the socket's peer unless
        set explicitly. Assign None to go back to the default.
        """
        return self._client_ip or _DEFAULT_IP

    @client_ip.setter
    def client_ip(self, value: str | None) -> None:
        self._client_ip = value

    def transport(self) -> httpx.BaseTransport:
        """An httpx transport that serves this fake in-process (no socket, no thread)."""
        return FakeTransport(self._app, lambda: self.client_ip)

    def http_client(self, **kwargs: Any) -> httpx.Client:
        """An ``httpx.Client`` wired to :meth:`transport` (pass it as ``http_client=``).

        Args:
            **kwargs: more ``httpx.Client`` arguments (``timeout=``...).

        """
        return httpx.Client(transport=self.transport(), **kwargs)

    def async_transport(self) -> httpx.AsyncBaseTransport:
        """The ``httpx.AsyncClient`` counterpart of :meth:`transport`."""
        return AsyncFakeTransport(self._app, lambda: self.client_ip)

    def async_http_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` wired to :meth:`async_transport` (for AsyncKashFlowClient).

        Args:
            **kwargs: more ``httpx.AsyncClient`` arguments (``timeout=``...).

        """
        return httpx.AsyncClient(transport=self.async_transport(), **kwargs)

    # -- loopback server ------------------------------------------------------------------

    @classmethod
    @contextlib.contextmanager
    def serve(cls, **kwargs: Any) -> Iterator[FakeKashFlow]:
        """Create a fake (same arguments as the constructor) and serve it on loopback.

        Leaving the block closes the fake (:meth:`close`). Example::

            with FakeKashFlow.serve(seed=None) as fake:
                httpx.post(fake.url, ...)
        """
        fake = cls(**kwargs)
        with fake.running():
            yield fake
        fake.close()

    @contextlib.contextmanager
    def running(self, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[FakeKashFlow]:
        """Serve this fake on *host*:*port* for the duration of a ``with`` block."""
        self.start(host=host, port=port)
        try:
            yield self
        finally:
            self.stop()

    def start(self, *, host: str = "127.0.0.1", port: int = 0) -> FakeKashFlow:
        """Start serving on *host*:*port* (port 0: a free one; see :attr:`url`).

        Raises:
            RuntimeError: it is already serving.
            OSError: the address cannot be bound (e.g. the port is taken).

        """
        if self._server is not None:
            raise RuntimeError("FakeKashFlow is already serving")
        server = LoopbackServer(self._app, lambda peer: self._client_ip or peer, host, port)
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        """Stop serving and close open connections; does nothing if not serving."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def close(self, *, late_writes: Literal["apply", "cancel"] = "apply") -> None:
        """Stop serving and settle every late write, deterministically.

        Args:
            late_writes: ``"apply"`` (default) applies every write still held or pending
                now, as KashFlow eventually would; ``"cancel"`` drops them.

        The ledger stays readable; the fake can be started again.

        """
        self.stop()
        self._late.close(late_writes)

    def reset(self, *, seed: Seed | Literal["initial"] = "initial") -> None:
        """Make the account new again: ledger, IP list, faults, calls and late writes.

        Pending late writes are cancelled, and readings and switches go back to what the
        constructor was given. The credentials stay.

        Args:
            seed: what to seed the new account with (as for the constructor);
                ``"initial"`` repeats the constructor's seed.

        """
        self._late.forget()
        self.faults.clear()
        with self._lock:
            self._clear_ledger()
            self._calls.clear()
            self.errors.clear()
            self._client_ip = None
            self._restore(self._initial["seed"] if seed == "initial" else seed)
        self._app.clear_cache()

    # -- late writes ------------------------------------------------------------------------

    @property
    def late_writes(self) -> list[LateWrite]:
        """Every request the ``late_apply`` fault hit, with its state and outcome."""
        return self._late.writes

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until every late write has been applied (or cancelled).

        Args:
            timeout: the longest to wait, in seconds.

        Raises:
            TimeoutError: some late write is still held or pending after *timeout*.

        """
        if not self._late.settle(timeout):
            pending = [w for w in self._late.writes if w.state in ("held", "pending")]
            raise TimeoutError(f"{len(pending)} late write(s) still pending after {timeout}s")

    @property
    def serving(self) -> bool:
        """Whether the loopback server is running."""
        return self._server is not None

    # -- call log -------------------------------------------------------------------------

    @property
    def calls(self) -> list[CallRecord]:
        """Every SOAP request received, oldest first."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, operation: str) -> list[CallRecord]:
        """The recorded calls of one operation, e.g. ``calls_to("InsertReceipt")``."""
        with self._lock:
            return [c for c in self._calls if c.operation == operation]

    def reset_calls(self) -> None:
        """Forget the recorded calls."""
        with self._lock:
            self._calls.clear()
