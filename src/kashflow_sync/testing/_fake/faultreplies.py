"""How each injected fault changes the fake's answer (see :class:`~.faults.Faults`).

Big answers (``oversized``, ``huge_status_detail``, ``huge_fault``) are streamed: the real
answer is split around the place the padding goes and the padding is produced block by block
as it is sent, so the fake never holds hundreds of megabytes. A ``gzip_bomb`` is compressed
once per shape and cached.
"""

from __future__ import annotations

import functools
import itertools
import zlib
from collections.abc import Callable, Iterator

import attrs

from .faults import FaultRule
from .hostile import hostile_reply
from .render import fault_envelope
from .reply import HTML, Reply, html_page

__all__ = ["after_apply", "before_apply"]

_BLOCK = 64 * 1024
_MARKER = "@@FAKE-KASHFLOW-PADDING@@"
_WORDS = b"KashFlow was unable to complete the request. "
_TITLES = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    429: "Too Many Requests",
}


def before_apply(
    rule: FaultRule, *, refusal: Callable[[str], bytes], echo: Callable[[str], str]
) -> Reply:
    """The answer for a fault that fires instead of the operation (nothing is applied).

    Args:
        rule: the fault that fired.
        refusal: renders this operation's ``Status=NO`` answer with a given StatusDetail.
        echo: adds the caller's secrets to a text when ``echo_secrets`` is on.

    """
    if rule.kind == "reset_before":
        return Reply(0, action="reset")
    if rule.kind == "soap_fault":
        return Reply(500, fault_envelope("soap:Server", echo(rule.message)))
    if rule.kind == "huge_status_detail":
        return _spliced(200, refusal(_MARKER + echo("")), _WORDS, rule.size)
    if rule.kind == "huge_fault":
        if rule.part == "faultstring":
            body = fault_envelope(
                "soap:Server", "Server was unable to process request. ---> " + _MARKER + echo("")
            )
        else:
            body = fault_envelope(
                "soap:Server",
                echo("Server was unable to process request. ---> See the detail."),
                detail=_MARKER,
            )
        return _spliced(500, body, _WORDS, rule.size)
    title = _TITLES.get(rule.status, "Error")
    headers: tuple[tuple[str, str], ...] = (("Content-Type", HTML),)
    if rule.retry_after is not None:
        headers += (("Retry-After", f"{rule.retry_after:g}"),)
    text = echo("The service is unavailable.")
    return Reply(rule.status, html_page(rule.status, title, text), headers)


def after_apply(
    rule: FaultRule,
    reply: Reply,
    read_timeout: float | None,
    *,
    echo: Callable[[str], str] = str,
) -> Reply:
    """The answer for a fault that fires after the operation was applied.

    Args:
        rule: the fault that fired.
        reply: the answer the operation produced.
        read_timeout: the client's read timeout, known only in-process.
        echo: adds the caller's secrets to a text when ``echo_secrets`` is on.

    """
    if rule.kind == "drop_response":
        return attrs.evolve(reply, action="drop")
    if rule.kind == "malformed_response":
        return attrs.evolve(reply, status=200, body=reply.body[: len(reply.body) // 2])
    if rule.kind == "delay":
        if read_timeout is not None and rule.seconds > read_timeout:
            return attrs.evolve(reply, action="timeout")
        return attrs.evolve(reply, delay=rule.seconds)
    if rule.kind == "trickle":
        return attrs.evolve(reply, trickle=(rule.chunk, rule.pause))
    if rule.kind == "oversized":
        head, tail = _comment_slot(reply.body)
        padding = max(0, rule.size - len(head) - len(tail))
        return _spliced(reply.status, head + _MARKER.encode() + tail, b" ", padding)
    if rule.kind == "hostile_answer":
        return hostile_reply(rule.shape, reply, echo)
    if rule.kind == "gzip_bomb":
        head, tail = _comment_slot(reply.body)
        body = _gzip(head, max(0, rule.size - len(head) - len(tail)), tail)
        headers = (*reply.headers, ("Content-Encoding", "gzip"))
        return attrs.evolve(reply, body=body, headers=headers)
    return reply


def _comment_slot(body: bytes) -> tuple[bytes, bytes]:
    """Split an XML answer after its declaration and open a comment there for padding."""
    end = body.find(b"?>") + 2 if body.startswith(b"<?xml") else 0
    return body[:end] + b"<!--", b"-->" + body[end:]


def _spliced(status: int, body: bytes, filler: bytes, size: int) -> Reply:
    """*body* with its marker replaced by *size* bytes of *filler*, produced as it is sent."""
    head, _, tail = body.partition(_MARKER.encode())

    def stream() -> Iterator[bytes]:
        return itertools.chain((head,), _repeat(filler, size), (tail,))

    return Reply(status, stream=stream, length=len(head) + size + len(tail))


def _repeat(filler: bytes, size: int) -> Iterator[bytes]:
    block = (filler * (_BLOCK // len(filler) + 1))[:_BLOCK]
    full, rest = divmod(size, _BLOCK)
    for _ in range(full):
        yield block
    if rest:
        yield block[:rest]


@functools.lru_cache(maxsize=8)
def _gzip(head: bytes, padding: int, tail: bytes) -> bytes:
    """``head + padding spaces + tail``, gzip-compressed without holding the expanded text."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(head)]
    parts.extend(compressor.compress(block) for block in _repeat(b" ", padding))
    parts.append(compressor.compress(tail))
    parts.append(compressor.flush())
    return b"".join(parts)
