"""KashFlow's answer body as it arrives, with no I/O: decoded, counted and capped.

Both callers (:mod:`.caller`'s sync and async halves) push the raw bytes of an answer into an
:class:`AnswerReader` as they read them. The reader expands ``gzip`` or ``deflate`` a bounded
step at a time and refuses the answer as soon as either the bytes sent or the bytes once expanded
pass the limit, so a 1 MB gzip that expands to 1 GB stops at the limit, never in memory whole.
Each expanded piece goes on to a *sink* (the XML parser, :mod:`._answerparse`) as it comes, so
the body itself is never kept; without a sink the pieces are collected (tests, small tools).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Protocol

__all__ = [
    "ACCEPT_ENCODING",
    "AnswerBody",
    "AnswerReader",
    "AnswerTooLarge",
    "Sink",
    "UnreadableEncoding",
]

#: The encodings the reader expands; sent as ``Accept-Encoding`` so KashFlow uses no other.
ACCEPT_ENCODING = "gzip, deflate"

# Most bytes one expansion step may produce: bounds the memory a single compressed chunk costs.
_STEP = 1024 * 1024


class AnswerTooLarge(Exception):
    """The answer passed the size limit (``expanded`` says whether once expanded)."""

    def __init__(self, limit: int, *, expanded: bool) -> None:
        """Record which limit was passed."""
        super().__init__(f"answer larger than {limit} bytes{' once expanded' if expanded else ''}")
        self.limit = limit
        self.expanded = expanded


class UnreadableEncoding(Exception):
    """The answer's ``Content-Encoding`` is not one the reader expands, or is corrupt.

    ``quoted`` is the header's value when it is to blame: KashFlow's words, kept out of the
    message so the caller can mask them (a hostile server may echo the password there).
    """

    def __init__(self, reason: str, quoted: str | None = None) -> None:
        """Record why, and the header value to blame (if any)."""
        super().__init__(reason)
        self.quoted = quoted


class Sink(Protocol):
    """Where an answer's body goes as it is read (an :class:`~._answerparse.AnswerParser`)."""

    def feed(self, data: bytes) -> None:
        """Take the next piece of the (expanded) body."""

    @property
    def stopped(self) -> bool:
        """Whether the rest of the body is not wanted (reading stops early)."""

    def close(self) -> None:
        """The body has ended (or reading stopped): finish with it on the reading thread."""


class AnswerBody:
    """An answer's (expanded) body in the pieces it arrived in; its repr never shows them.

    KashFlow's answers can quote what was sent (a hostile service echoes the password), and
    this object sits in the SOAP layer's frames when an error is raised: a traceback rendered
    with local variables must not print it.
    """

    __slots__ = ("_chunks", "size")

    def __init__(self, chunks: list[bytes]) -> None:
        """Hold *chunks* (taken over, not copied)."""
        self._chunks = chunks
        self.size = sum(len(c) for c in chunks)

    def __repr__(self) -> str:
        return f"<AnswerBody of {self.size} bytes>"

    def feed(self, data: bytes) -> None:
        """Keep the next piece (as a sink for :class:`AnswerReader`)."""
        self._chunks.append(data)
        self.size += len(data)

    @property
    def stopped(self) -> bool:
        """A body wants every piece."""
        return False

    def close(self) -> None:
        """Nothing to finish."""

    def drain(self) -> Iterator[bytes]:
        """Yield the pieces in order, letting go of each one (the body is empty afterwards)."""
        self._chunks.reverse()
        while self._chunks:
            yield self._chunks.pop()

    def __bytes__(self) -> bytes:
        return b"".join(self._chunks)


class _Expander:
    """Expands one ``gzip`` or ``deflate`` stream in bounded steps."""

    def __init__(self, encoding: str) -> None:
        # Some servers send "deflate" without the zlib wrapper; httpx falls back the same way.
        # Until the first output, the bytes seen are kept so they can be read again that way.
        self._seen: bytes | None = b"" if encoding == "deflate" else None
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS | (0 if encoding == "deflate" else 16))

    def expand(self, data: bytes) -> Iterator[bytes]:
        """The expansion of *data*, at most one step's worth of bytes per piece."""
        if self._seen is not None:
            self._seen += data
        while data:
            try:
                out = self._zlib.decompress(data, _STEP)
            except zlib.error:
                if self._seen is None:
                    raise UnreadableEncoding("the compressed answer is corrupt") from None
                data, self._seen = self._seen, None
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            if out:
                self._seen = None
                yield out
            data = self._zlib.unconsumed_tail

    def flush(self) -> bytes:
        """Whatever zlib still holds at the end of the body."""
        try:
            return self._zlib.flush()
        except zlib.error:
            raise UnreadableEncoding("the compressed answer is corrupt") from None


class AnswerReader:
    """Collects one answer's body from its raw pieces, within *limit* bytes.

    Args:
        limit: most bytes accepted, as sent and once expanded.
        content_encoding: the answer's ``Content-Encoding`` header, if any.
        content_length: its ``Content-Length`` header, if any: a larger announced size is
            refused before any of the body is read.
        sink: takes each expanded piece as it comes; once it says it has stopped, the rest
            is neither expanded nor passed on. None collects the pieces for :meth:`finish`.

    Raises:
        AnswerTooLarge: the announced length is over the limit.
        UnreadableEncoding: the encoding is not ``gzip``, ``deflate`` or ``identity``.

    """

    def __init__(
        self,
        limit: int,
        *,
        content_encoding: str | None = None,
        content_length: str | None = None,
        sink: Sink | None = None,
    ) -> None:
        """Check the headers; nothing is read yet."""
        self.limit = limit
        self._raw = 0
        self._expanded = 0
        body = AnswerBody([])
        self._body: AnswerBody | None = body if sink is None else None
        self._sink: Sink = body if sink is None else sink
        codings = [
            c.strip().lower()
            for c in (content_encoding or "").split(",")
            if c.strip().lower() not in ("", "identity")
        ]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise UnreadableEncoding(
                "its Content-Encoding is not gzip or deflate", quoted=content_encoding
            )
        self._expander = _Expander(codings[0]) if codings else None
        announced = (content_length or "").strip()
        if announced.isdigit() and int(announced) > limit:
            raise AnswerTooLarge(limit, expanded=False)

    def feed(self, raw: bytes) -> None:
        """Take the next raw piece of the body.

        Raises:
            AnswerTooLarge: the body passed the limit, as sent or once expanded.
            UnreadableEncoding: the compressed body is corrupt.

        """
        self._raw += len(raw)
        if self._raw > self.limit:
            raise AnswerTooLarge(self.limit, expanded=False)
        if self._expander is None:
            self._keep(raw, expanded=False)
            return
        for piece in self._expander.expand(raw):
            if self._sink.stopped:
                return  # a gzip bomb is not expanded for a sink that wants no more
            self._keep(piece, expanded=True)

    @property
    def size(self) -> int:
        """Bytes of (expanded) body read so far."""
        return self._expanded

    def finish(self) -> AnswerBody:
        """The whole body (empty when a sink took it), once the last piece was fed.

        The reader is spent afterwards.
        """
        if self._expander is not None and not self._sink.stopped:
            self._keep(self._expander.flush(), expanded=True)
        body, self._body = self._body or AnswerBody([]), None
        return body

    def _keep(self, piece: bytes, *, expanded: bool) -> None:
        if not piece:
            return
        self._expanded += len(piece)
        if self._expanded > self.limit:
            self._body = None  # let the memory go before the error travels up
            raise AnswerTooLarge(self.limit, expanded=expanded)
        self._sink.feed(piece)
