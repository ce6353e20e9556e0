"""Either client behind one sync face, so a suite can run against both.

``any_client("sync", ...)`` is a plain ``KashFlowClient``; ``any_client("async", ...)`` is an
``AsyncKashFlowClient`` whose coroutines run in one event loop on anyio's blocking portal (a
thread with a loop), called from the test's sync code.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Iterator
from typing import Any

import anyio.from_thread
import httpx

import kashflow_sync as kfs
from _support import FAST_RETRY, NO_SETTLE, make_client
from kashflow_sync.testing import FakeKashFlow

KINDS = ["sync", "async"]


class BlockingAsyncClient:
    """An AsyncKashFlowClient whose awaited methods are called from sync code."""

    def __init__(self, portal: anyio.from_thread.BlockingPortal, client: kfs.AsyncKashFlowClient):
        self._portal = portal
        self.client = client

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._portal.call(functools.partial(getattr(self.client, name), *args, **kwargs))

    def connect(self, **kwargs: Any) -> kfs.SyncReport:
        return self._call("connect", **kwargs)  # type: ignore[no-any-return]

    def reconnect(self, *args: Any, **kwargs: Any) -> kfs.SyncReport:
        return self._call("reconnect", *args, **kwargs)  # type: ignore[no-any-return]

    def refresh_lists(self, *args: Any, **kwargs: Any) -> kfs.SyncReport:
        return self._call("refresh_lists", *args, **kwargs)  # type: ignore[no-any-return]

    def publish(self, document: kfs.Document) -> kfs.PublishResult:
        return self._call("publish", document)  # type: ignore[no-any-return]

    def publish_many(self, documents: Any, **kwargs: Any) -> kfs.BatchResult:
        return self._call("publish_many", list(documents), **kwargs)  # type: ignore[no-any-return]

    def forget(self, external_id: str) -> kfs.JournalSummary:
        return self._call("forget", external_id)  # type: ignore[no-any-return]

    def verify(self, **kwargs: Any) -> list[kfs.JournalSummary]:
        return self._call("verify", **kwargs)  # type: ignore[no-any-return]

    def journal(self, *args: Any, **kwargs: Any) -> list[kfs.JournalSummary]:
        return self._call("journal", *args, **kwargs)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        # Offline members (storage, lists, rules, validate, publish_history...) as they are.
        value = getattr(self.client, name)
        if inspect.iscoroutinefunction(value):
            raise AttributeError(f"{name} is awaited: give BlockingAsyncClient a method for it")
        return value


@contextlib.contextmanager
def any_client(
    kind: str,
    fake: FakeKashFlow,
    *,
    timeout: float | None = None,
    loopback: bool = False,
    http_options: dict[str, Any] | None = None,
    **kw: Any,
) -> Iterator[Any]:
    """A client of *kind* for *fake* (in-process, or over its loopback URL), never sleeping.

    *timeout* is the httpx client's; pass ``client_timeout=`` for the SDK's deadline, and
    ``credentials=`` for other credentials than the fake's. *http_options* go to the httpx
    client (``event_hooks``, say).
    """
    http_kw: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    http_kw.update(http_options or {})
    if "client_timeout" in kw:
        kw["timeout"] = kw.pop("client_timeout")
    if kind == "sync":
        http = httpx.Client(**http_kw) if loopback else fake.http_client(**http_kw)
        with http, make_client(fake, http, **kw) as client:
            yield client
        return
    credentials = kw.pop("credentials", fake.credentials)
    kw.setdefault("retry", FAST_RETRY)
    kw.setdefault("app_name", "kashflow_sync tests")
    kw.setdefault("settle_time", NO_SETTLE)
    with anyio.from_thread.start_blocking_portal() as portal:

        async def build() -> tuple[kfs.AsyncKashFlowClient, httpx.AsyncClient]:
            http = httpx.AsyncClient(**http_kw) if loopback else fake.async_http_client(**http_kw)
            client = kfs.AsyncKashFlowClient(credentials, endpoint=fake.url, http_client=http, **kw)
            return client, http

        client, http = portal.call(build)
        try:
            yield BlockingAsyncClient(portal, client)
        finally:
            portal.call(client.aclose)
            portal.call(http.aclose)
