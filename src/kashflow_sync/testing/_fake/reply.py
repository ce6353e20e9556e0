"""What the fake sends back, independent of the transport that sends it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Literal

import attrs

__all__ = ["HTML", "XML", "Reply", "html_page"]

XML = "text/xml; charset=utf-8"
HTML = "text/html; charset=utf-8"


@attrs.frozen
class Reply:
    """An HTTP answer, or a hang-up (``reset``/``drop``), a timeout, or a late write.

    Attributes:
        status: the HTTP status.
        body: the body, when it is small enough to hold (see ``stream``).
        headers: response headers other than ``Content-Length``.
        action: ``"respond"``; ``"reset"`` or ``"drop"`` (hang up before/after applying);
            ``"timeout"`` (in-process: raise ``httpx.ReadTimeout``); ``"late"`` (make the
            caller give up, then call ``on_abandon``).
        delay: seconds the loopback server holds the answer before sending it.
        stream: makes the body chunk by chunk, for answers too big to hold; ``length``
            bytes in all.
        length: the body's length when ``stream`` is set.
        trickle: ``(bytes per write, pause)`` to send the answer slowly.
        hold: for ``"late"`` over loopback, the longest the request is kept open.
        on_abandon: for ``"late"``, called once the caller has given up.

    """

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = (("Content-Type", XML),)
    action: Literal["respond", "reset", "drop", "timeout", "late"] = "respond"
    delay: float = 0.0
    stream: Callable[[], Iterator[bytes]] | None = attrs.field(default=None, repr=False)
    length: int | None = None
    trickle: tuple[int, float] | None = None
    hold: float = 0.0
    on_abandon: Callable[[], None] | None = attrs.field(default=None, repr=False)

    @property
    def content_length(self) -> int:
        """The body's length in bytes."""
        return (
            self.length if self.stream is not None and self.length is not None else len(self.body)
        )

    def chunks(self) -> Iterator[bytes]:
        """The body in the pieces it is made in (one piece unless streamed)."""
        if self.stream is not None:
            yield from self.stream()
        elif self.body:
            yield self.body


def html_page(status: int, title: str, text: str) -> bytes:
    """An IIS-style HTML error page."""
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>HTTP Error {status}. {text}</p></body></html>"
    ).encode()
