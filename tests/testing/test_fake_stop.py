"""Stopping the loopback fake hangs up every connection, even one accepted as it stops.

A test that plays "KashFlow went away" (``fake.stop()`` mid-batch) needs every later call to
fail. A connection the server accepted just before it stopped, whose handler had not yet
registered it, used to stay open and keep answering: a client reusing it from its pool went on
publishing, and the batch's run of connection failures kept being broken (a flaky
``test_kashflow_going_away_stops_the_batch_with_one_summary`` on CI).
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest

from kashflow_sync.testing import FakeKashFlow
from kashflow_sync.testing._fake import transports


def test_a_connection_registered_after_stop_is_hung_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """The handler of an accepted connection registers only after stop() ran: it hangs up."""
    accepted = threading.Event()
    release = threading.Event()
    setup = transports._Handler.setup

    def late_setup(self: Any) -> None:
        accepted.set()
        release.wait(5)
        setup(self)

    monkeypatch.setattr(transports._Handler, "setup", late_setup)
    fake = FakeKashFlow()
    fake.start()
    assert fake._server is not None
    port = fake._server.port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        assert accepted.wait(5)
        fake.stop()  # lists the open connections while this one is not yet among them
        release.set()
        conn.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n")
        answer = b""
        try:
            while chunk := conn.recv(65536):
                answer += chunk
        except OSError:
            pass  # a reset is as good as a close
    assert answer == b"", f"a stopped fake answered: {answer[:80]!r}"
    fake.close()
