"""The sync caller: sends :class:`~.codec.Request` descriptions through an ``httpx.Client``.

Reads are retried per the retry policy; writes only when the request certainly never reached
KashFlow. A call refused because this machine's IP address is not in the account's access list
triggers one ``AutoAuthIP`` and one retry, since egress IPs change. :mod:`.aservice` is the same
loop for ``httpx.AsyncClient``; everything else lives in the pure :mod:`.codec`.
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

__all__ = ["KashFlowService", "retry_after"]

log = logging.getLogger("kashflow_sync")

T = TypeVar("T")


def retry_after(response: httpx.Response) -> float | None:
    """The answer's ``Retry-After`` in seconds, if it has a usable one."""
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class KashFlowService:
    """One KashFlow account's SOAP API, spoken through an ``httpx.Client``.

    Args:
        http: the client to send through (its timeouts and pool apply).
        endpoint: the service URL.
        credentials: username, password and optional AutoAuth key.
        app_name: the name KashFlow shows beside an IP address AutoAuth added.
        retry: the retry policy for calls that are safe to repeat.

    """

    def __init__(
        self,
        http: httpx.Client,
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
        return f"KashFlowService(endpoint={self.endpoint!r}, credentials={self.credentials!r})"

    def perform(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the operation named *name* in :data:`~.operations.OPERATIONS` (engine effects)."""
        return self.call(OPERATIONS[name](*args, **kwargs))

    def call(self, request: codec.Request[T]) -> T:
        """Send *request* with retries and the one AutoAuth retry; return its result."""
        try:
            return self.retry.call(lambda: self._send(request), idempotent=request.idempotent)
        except errors.IPNotAllowedError as exc:
            if exc.code != "ip_not_allowed" or not self.credentials.autoauth_key:
                raise
            log.info("kashflow %s: IP not allowed; calling AutoAuthIP once", request.operation)
            allow = auto_auth_ip(self.app_name)
            self.retry.call(lambda: self._send(allow), idempotent=True)
            # KashFlow refused the first request outright, so sending it again is safe.
            return self.retry.call(lambda: self._send(request), idempotent=request.idempotent)

    def _send(self, request: codec.Request[T]) -> T:
        """One HTTP exchange: encode, POST, decode (or map the failure)."""
        body, headers = codec.encode(request, self.credentials)
        started = time.perf_counter()
        try:
            response = self._http.post(self.endpoint, content=body, headers=headers)
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
