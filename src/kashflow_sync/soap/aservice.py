"""The async caller: :mod:`.service`'s loop for an ``httpx.AsyncClient``.

Kept as short as the sync one on purpose: what a call sends and how its answer is read live in
the pure :mod:`.codec` and :mod:`.operations`, shared by both.
"""

from __future__ import annotations

import logging
import time
from typing import Any, TypeVar

import httpx

from .. import _errormap, errors
from .._config import Credentials
from .._retry import RetryPolicy
from . import codec
from .operations import OPERATIONS, auto_auth_ip
from .service import retry_after

__all__ = ["AsyncKashFlowService"]

log = logging.getLogger("kashflow_sync")

T = TypeVar("T")


class AsyncKashFlowService:
    """One KashFlow account's SOAP API, spoken through an ``httpx.AsyncClient``.

    Args:
        http: the async client to send through (its timeouts and pool apply).
        endpoint: the service URL.
        credentials: username, password and optional AutoAuth key.
        app_name: the name KashFlow shows beside an IP address AutoAuth added.
        retry: the retry policy for calls that are safe to repeat.

    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        endpoint: str,
        credentials: Credentials,
        *,
        app_name: str,
        retry: RetryPolicy,
    ) -> None:
        """Prepare the service; nothing is sent until :meth:`call`."""
        self._http = http
        self.endpoint = endpoint
        self.credentials = credentials
        self.app_name = app_name
        self.retry = retry

    def __repr__(self) -> str:
        return f"AsyncKashFlowService(endpoint={self.endpoint!r}, credentials={self.credentials!r})"

    async def perform(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the operation named *name* in :data:`~.operations.OPERATIONS` (engine effects)."""
        return await self.call(OPERATIONS[name](*args, **kwargs))

    async def call(self, request: codec.Request[T]) -> T:
        """Send *request* with retries and the one AutoAuth retry; return its result."""
        try:
            return await self.retry.acall(
                lambda: self._send(request), idempotent=request.idempotent
            )
        except errors.IPNotAllowedError as exc:
            if exc.code != "ip_not_allowed" or not self.credentials.autoauth_key:
                raise
            log.info("kashflow %s: IP not allowed; calling AutoAuthIP once", request.operation)
            allow = auto_auth_ip(self.app_name)
            await self.retry.acall(lambda: self._send(allow), idempotent=True)
            # KashFlow refused the first request outright, so sending it again is safe.
            return await self.retry.acall(
                lambda: self._send(request), idempotent=request.idempotent
            )

    async def _send(self, request: codec.Request[T]) -> T:
        """One HTTP exchange: encode, POST, decode (or map the failure)."""
        body, headers = codec.encode(request, self.credentials)
        started = time.perf_counter()
        try:
            response = await self._http.post(self.endpoint, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.info("kashflow %s failed: %s", request.operation, type(exc).__name__)
            raise _errormap.from_transport_error(request.operation, exc) from None
        log.debug(
            "kashflow %s -> HTTP %s in %.0f ms",
            request.operation,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return codec.decode(
            request,
            response.status_code,
            response.content,
            secrets=self.credentials.secrets,
            retry_after=retry_after(response),
        )
