"""Two ways to reach the fake: httpx transports (in-process) and a loopback HTTP server.

Both hand the request to :meth:`SoapApp.handle` and act out its :class:`Reply`: answer, hang up
(reset or drop), time out, or answer late.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import itertools
import logging
import select
import socket
import socketserver
import struct
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from http import HTTPStatus

import httpx

from .reply import Reply
from .soapapp import SoapApp

__all__ = ["AsyncFakeTransport", "FakeTransport", "LoopbackServer"]

_log = logging.getLogger("kashflow_sync.testing")
_REASONS = {status.value: status.phrase for status in HTTPStatus}


def _call_app(app: SoapApp, request: httpx.Request, body: bytes, client_ip: str) -> Reply:
    timeout = request.extensions.get("timeout") or {}
    read_timeout = timeout.get("read") if isinstance(timeout, dict) else None
    return app.handle(
        method=request.method,
        path=request.url.path,
        query=request.url.query.decode("ascii", "replace"),
        host=request.headers.get("Host", request.url.netloc.decode("ascii")),
        content_type=request.headers.get("Content-Type"),
        soap_action=request.headers.get("SOAPAction"),
        body=body,
        client_ip=client_ip,
        read_timeout=read_timeout,
    )


def _to_response(reply: Reply, request: httpx.Request, *, is_async: bool) -> httpx.Response:
    if reply.action == "reset":
        raise httpx.ConnectError("[Errno 104] Connection reset by peer", request=request)
    if reply.action == "drop":
        raise httpx.RemoteProtocolError(
            "Server disconnected without sending a response.", request=request
        )
    if reply.action == "late":
        # The caller gives up now; the fake applies the request later.
        if reply.on_abandon is not None:
            reply.on_abandon()
        raise httpx.ReadTimeout("The read operation timed out", request=request)
    if reply.action == "timeout":
        raise httpx.ReadTimeout("The read operation timed out", request=request)
    headers = [*reply.headers, ("Content-Length", str(reply.content_length))]
    encoded = any(name.lower() == "content-encoding" for name, _ in reply.headers)
    if reply.stream is None and reply.trickle is None and not encoded:
        return httpx.Response(reply.status, headers=headers, content=reply.body, request=request)
    # A stream, not content=: httpx would decode (expand) an encoded body right here.
    stream: httpx.SyncByteStream | httpx.AsyncByteStream = (
        _AsyncBodyStream(reply) if is_async else _BodyStream(reply)
    )
    return httpx.Response(reply.status, headers=headers, stream=stream, request=request)


def _pieces(reply: Reply) -> Iterator[bytes]:
    """The body as it would reach the client: re-cut into trickle-sized pieces if trickled."""
    if reply.trickle is None:
        yield from reply.chunks()
        return
    size = reply.trickle[0]
    for chunk in reply.chunks():
        for start in range(0, len(chunk), size):
            yield chunk[start : start + size]


class _BodyStream(httpx.SyncByteStream):
    """A streamed or trickled body for the in-process transport."""

    def __init__(self, reply: Reply) -> None:
        self._reply = reply

    def __iter__(self) -> Iterator[bytes]:
        pause = self._reply.trickle[1] if self._reply.trickle else 0.0
        for index, piece in enumerate(_pieces(self._reply)):
            if pause and index:
                time.sleep(pause)  # the fake playing a slow network, not a test waiting
            yield piece


class _AsyncBodyStream(httpx.AsyncByteStream):
    """The ``httpx.AsyncClient`` twin of :class:`_BodyStream`."""

    def __init__(self, reply: Reply) -> None:
        self._reply = reply

    async def __aiter__(self) -> AsyncIterator[bytes]:
        pause = self._reply.trickle[1] if self._reply.trickle else 0.0
        for index, piece in enumerate(_pieces(self._reply)):
            if pause and index:
                await asyncio.sleep(pause)
            yield piece


class FakeTransport(httpx.BaseTransport):
    """An httpx transport that serves requests from a FakeKashFlow without any socket."""

    def __init__(self, app: SoapApp, client_ip: Callable[[], str]) -> None:
        """Serve through *app*; *client_ip* says which address the caller appears to have."""
        self._app = app
        self._client_ip = client_ip

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer *request* as KashFlow would, or raise the httpx error a fault calls for."""
        body = request.read()
        reply = _call_app(self._app, request, body, self._client_ip())
        return _to_response(reply, request, is_async=False)


class AsyncFakeTransport(httpx.AsyncBaseTransport):
    """The asynchronous twin of :class:`FakeTransport`, for ``httpx.AsyncClient``."""

    def __init__(self, app: SoapApp, client_ip: Callable[[], str]) -> None:
        """Serve through *app*; *client_ip* says which address the caller appears to have."""
        self._app = app
        self._client_ip = client_ip

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer *request* as KashFlow would, or raise the httpx error a fault calls for.

        The fake runs in a worker thread, so a delayed answer holds up only its own request,
        as a real server's would, not the whole event loop.
        """
        body = await request.aread()
        reply = await asyncio.to_thread(_call_app, self._app, request, body, self._client_ip())
        return _to_response(reply, request, is_async=True)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, app: SoapApp, client_ip: Callable[[str], str], host: str, port: int) -> None:
        self.app = app
        self.client_ip = client_ip
        self.stopping = threading.Event()
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__((host, port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn), which can stall for seconds.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up is normal for a fake that plays timeouts: say nothing.

        socketserver would print a traceback to stderr; anything other than a dropped
        connection is logged instead.
        """
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)) or self.stopping.is_set():
            return
        _log.error("FakeKashFlow loopback server error from %s", client_address, exc_info=True)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    # Idle keep-alive connections are closed by stop(); this only bounds a stuck client.
    timeout = 120

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without NODELAY, Nagle plus the client's
        # delayed ACK adds ~40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)
        # stop() sets `stopping` before it lists the connections to hang up: a connection
        # accepted just before the stop but registered after that list is hung up here, or a
        # pooled client would go on being answered by a stopped fake.
        if self.server.stopping.is_set():
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        body = self._read_body()
        path, _, query = self.path.partition("?")
        reply = self.server.app.handle(
            method=self.command,
            path=path,
            query=query,
            host=self.headers.get("Host") or "127.0.0.1",
            content_type=self.headers.get("Content-Type"),
            soap_action=self.headers.get("SOAPAction"),
            body=body,
            client_ip=self.server.client_ip(self.client_address[0]),
        )
        if reply.action == "late":
            self._hold(reply.hold)
            if reply.on_abandon is not None:
                reply.on_abandon()
            self.close_connection = True
            return
        if reply.action in ("reset", "drop", "timeout"):
            if reply.action == "reset":
                # Linger 0 turns close() into a TCP RST: the client sees a reset connection.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            self.close_connection = True
            return
        if reply.delay and self.server.stopping.wait(reply.delay):
            self.close_connection = True
            return
        try:
            self._send(reply)
        except OSError:
            # The client gave up (timed out during a delay, or reset a trickled answer).
            self.close_connection = True

    def _send(self, reply: Reply) -> None:
        reason = _REASONS.get(reply.status, "")
        head = [
            f"HTTP/1.1 {reply.status} {reason}",
            f"Server: {self.version_string()}",
            f"Date: {self.date_time_string()}",
        ]
        head.extend(f"{name}: {value}" for name, value in reply.headers)
        head.append(f"Content-Length: {reply.content_length}")
        header = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        if reply.trickle is None:
            self.wfile.write(header)
            for chunk in reply.chunks():
                self.wfile.write(chunk)
            return
        size, pause = reply.trickle
        data = itertools.chain((header,), reply.chunks())
        first = True
        for chunk in data:
            for start in range(0, len(chunk), size):
                if not first and self.server.stopping.wait(pause):
                    raise ConnectionAbortedError("the fake is stopping")
                first = False
                self.wfile.write(chunk[start : start + size])

    def _hold(self, limit: float) -> None:
        """Keep a late request open until the client hangs up, *limit* passes or we stop."""
        deadline = time.monotonic() + limit
        while not self.server.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            readable, _, _ = select.select([self.connection], [], [], min(remaining, 0.05))
            if readable:
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        return  # the client closed its end: it timed out
                except OSError:
                    return
                return  # the client sent something else (a new request): it gave up

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: tests read ``fake.calls`` instead of an access log."""


class LoopbackServer:
    """A real HTTP/1.1 server (127.0.0.1 and a free port by default) in a daemon thread."""

    def __init__(
        self,
        app: SoapApp,
        client_ip: Callable[[str], str],
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Bind *host*:*port* now (port 0: a free one); :meth:`start` begins serving."""
        self._server = _Server(app, client_ip, host, port)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeKashFlow:{self.port}",
            daemon=True,
        )

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        """The address the server listens on."""
        return str(self._server.server_address[0])

    def start(self) -> None:
        """Start serving in the background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, hang up every open connection and release the port."""
        self._server.stopping.set()
        self._server.shutdown()
        with self._server.connections_lock:
            connections = list(self._server.connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        self._thread.join(timeout=5)
