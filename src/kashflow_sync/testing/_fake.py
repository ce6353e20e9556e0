"""FakeKashFlow: an in-memory KashFlow account speaking the SOAP API, in-process or on loopback."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import httpx

from .._config import Credentials
from ._faults import Faults
from ._postings import Postings
from ._records import CallRecord
from ._seed import seed_basics, seed_demo
from ._server import AsyncFakeTransport, FakeTransport, LoopbackServer
from ._soapapp import ENDPOINT_PATH, SoapApp

__all__ = ["IN_PROCESS_URL", "FakeKashFlow"]

#: The URL to use with :meth:`FakeKashFlow.transport` (the host is never resolved).
IN_PROCESS_URL = f"http://kashflow.fake{ENDPOINT_PATH}"
_DEFAULT_IP = "127.0.0.1"


class FakeKashFlow(Postings):
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
    ``faults``; inspect requests through ``calls``.

    Attributes:
        username: the account's user name (compared case-insensitively).
        password: the API password (compared exactly).
        autoauth_key: the key ``AutoAuthIP`` must be given, or None.
        autoauth_enabled: whether ``AutoAuthIP`` works at all.
        api_enabled: False makes every call answer ``Status=NO`` ("API access is disabled").
        ip_restriction: False lets any IP in (KashFlow's "restrict access" switch off).
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
        seed: str | None = "demo",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """Create the account.

        Args:
            username: the account's user name.
            password: the API password; a random one when omitted (read it back from
                ``fake.password`` or ``fake.credentials``).
            autoauth_key: the AutoAuth key (KashFlow's format is ``1234ABCD-1234``).
            autoauth_enabled: whether AutoAuth is switched on.
            seed: ``"demo"`` for a small UK account (chart of accounts, banks, payment
                methods, suppliers, customers, projects); None for an empty account that
                still has what every KashFlow account has: VAT rates 20, 5, 0 and -1 and GBP.
            clock: returns "now" (naive datetime) for Created/Updated stamps, upload and
                call timestamps.

        Raises:
            ValueError: an unknown *seed*.

        """
        super().__init__(clock=clock)
        if seed not in ("demo", None):
            raise ValueError(f"seed must be 'demo' or None, not {seed!r}")
        self.username = username
        self.password = password or f"fake-{secrets.token_hex(8)}"
        self.autoauth_key = autoauth_key
        self.autoauth_enabled = autoauth_enabled
        self.api_enabled = True
        self.ip_restriction = True
        self.faults = Faults(self._stamp)
        self.errors: list[BaseException] = []
        self._calls: list[CallRecord] = []
        self._client_ip: str | None = None
        self._server: LoopbackServer | None = None
        self._app = SoapApp(self)
        if seed == "demo":
            seed_demo(self)
        else:
            seed_basics(self)

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
            return f"http://127.0.0.1:{self._server.port}{ENDPOINT_PATH}"
        return IN_PROCESS_URL

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

        Example::

            with FakeKashFlow.serve(seed=None) as fake:
                httpx.post(fake.url, ...)
        """
        fake = cls(**kwargs)
        with fake.running():
            yield fake

    @contextlib.contextmanager
    def running(self) -> Iterator[FakeKashFlow]:
        """Serve this fake on loopback for the duration of a ``with`` block."""
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def start(self) -> FakeKashFlow:
        """Start serving on a free 127.0.0.1 port (see :attr:`url`).

        Raises:
            RuntimeError: it is already serving.

        """
        if self._server is not None:
            raise RuntimeError("FakeKashFlow is already serving")
        server = LoopbackServer(self._app, lambda peer: self._client_ip or peer)
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        """Stop serving and close open connections; does nothing if not serving."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()

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

    def _record(self, call: CallRecord) -> None:
        with self._lock:
            self._calls.append(call)
