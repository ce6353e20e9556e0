"""Two ways to reach the fake: httpx transports (in-process) and a loopback HTTP server.

Both hand the request to :meth:`SoapApp.handle` and act out its :class:`Reply`: answer, hang up
(reset or drop), time out, or answer late.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import socket
import socketserver
import struct
import threading
from collections.abc import Callable

import httpx

from ._soapapp import Reply, SoapApp

__all__ = ["AsyncFakeTransport", "FakeTransport", "LoopbackServer"]


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


def _to_response(reply: Reply, request: httpx.Request) -> httpx.Response:
    if reply.action == "reset":
        raise httpx.ConnectError("[Errno 104] Connection reset by peer", request=request)
    if reply.action == "drop":
        raise httpx.RemoteProtocolError(
            "Server disconnected without sending a response.", request=request
        )
    if reply.action == "timeout":
        raise httpx.ReadTimeout("The read operation timed out", request=request)
    return httpx.Response(
        reply.status, headers=list(reply.headers), content=reply.body, request=request
    )


class FakeTransport(httpx.BaseTransport):
    """An httpx transport that serves requests from a FakeKashFlow without any socket."""

    def __init__(self, app: SoapApp, client_ip: Callable[[], str]) -> None:
        """Serve through *app*; *client_ip* says which address the caller appears to have."""
        self._app = app
        self._client_ip = client_ip

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer *request* as KashFlow would, or raise the httpx error a fault calls for."""
        body = request.read()
        return _to_response(_call_app(self._app, request, body, self._client_ip()), request)


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
        return _to_response(reply, request)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, app: SoapApp, client_ip: Callable[[str], str]) -> None:
        self.app = app
        self.client_ip = client_ip
        self.stopping = threading.Event()
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn), which can stall for seconds.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", int(self.server_address[1])


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
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:
            # The client gave up (e.g. timed out during a delay fault).
            self.close_connection = True

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
    """A real HTTP/1.1 server on 127.0.0.1 (free port) in a daemon thread."""

    def __init__(self, app: SoapApp, client_ip: Callable[[str], str]) -> None:
        """Bind a free loopback port now; :meth:`start` begins serving."""
        self._server = _Server(app, client_ip)
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
