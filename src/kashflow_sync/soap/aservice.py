"""The async caller: :mod:`.service`'s loop for an ``httpx.AsyncClient``.

Kept as short as the sync one on purpose: what a call sends and how its answer is read live in
the pure :mod:`.codec` and :mod:`.operations`, shared by both.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

import httpx

from .. import errors
from .._config import DEFAULT_MAX_ANSWER_BYTES, DEFAULT_TIMEOUT, Credentials
from .._error_codes import ErrorCode
from .._retry import RetryPolicy
from . import codec
from .answer import Sink
from .exchange import Answer, afetch
from .operations import OPERATIONS, auto_auth_ip

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
        timeout: seconds for each whole exchange (see :mod:`.exchange`).
        max_answer_bytes: the largest answer read, as sent and once expanded.

    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        endpoint: str,
        credentials: Credentials,
        *,
        app_name: str,
        retry: RetryPolicy,
        timeout: float = DEFAULT_TIMEOUT,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
    ) -> None:
        """Prepare the service; nothing is sent until :meth:`call`."""
        self._http = http
        self.endpoint = endpoint
        self.credentials = credentials
        self.app_name = app_name
        self.retry = retry
        self.timeout = timeout
        self.max_answer_bytes = max_answer_bytes

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
            if exc.code != ErrorCode.IP_NOT_ALLOWED or not self.credentials.autoauth_key:
                raise
            log.info("kashflow %s: IP not allowed; calling AutoAuthIP once", request.operation)
            allow = auto_auth_ip(self.app_name)
            await self.retry.acall(lambda: self._send(allow), idempotent=True)
            # KashFlow refused the first request outright, so sending it again is safe.
            return await self.retry.acall(
                lambda: self._send(request), idempotent=request.idempotent
            )

    async def _send(self, request: codec.Request[T]) -> T:
        """One HTTP exchange: encode, POST, decode (or raise the mapped failure).

        The answer is parsed as it arrives (see :mod:`._answerparse`); whatever KashFlow's
        words an error quotes are masked before it is raised.
        """
        parsed = codec.reading(request)
        answer = await self._exchange(request, parsed)
        if isinstance(answer, errors.KashFlowError):
            raise codec.masked(answer, self.credentials.secrets)
        return codec.decode(
            request,
            answer.status_code,
            parsed,
            secrets=self.credentials.secrets,
            retry_after=answer.retry_after,
        )

    async def _exchange(
        self, request: codec.Request[Any], sink: Sink
    ) -> Answer | errors.KashFlowError:
        # Returns rather than raises: the envelope (password inside) dies with this frame.
        envelope = codec.encode(request, self.credentials)
        return await afetch(
            self._http,
            self.endpoint,
            envelope,
            timeout=self.timeout,
            limit=self.max_answer_bytes,
            sink=sink,
        )
