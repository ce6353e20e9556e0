"""KashFlow's answer body as it arrives, with no I/O: decoded, counted and capped.

Both callers (:mod:`.service`, :mod:`.aservice`) push the raw bytes of an answer into an
:class:`AnswerReader` as they read them. The reader expands ``gzip`` or ``deflate`` a bounded
step at a time and refuses the answer as soon as either the bytes sent or the bytes once expanded
pass the limit, so a 1 MB gzip that expands to 1 GB stops at the limit, never in memory whole.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

__all__ = ["ACCEPT_ENCODING", "AnswerBody", "AnswerReader", "AnswerTooLarge", "UnreadableEncoding"]

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
    """The answer's ``Content-Encoding`` is not one the reader expands, or is corrupt."""


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

    Raises:
        AnswerTooLarge: the announced length is over the limit.
        UnreadableEncoding: the encoding is not ``gzip``, ``deflate`` or ``identity``.

    """

    def __init__(
        self, limit: int, *, content_encoding: str | None = None, content_length: str | None = None
    ) -> None:
        """Check the headers; nothing is read yet."""
        self.limit = limit
        self._raw = 0
        self._expanded = 0
        self._chunks: list[bytes] = []
        codings = [
            c.strip().lower()
            for c in (content_encoding or "").split(",")
            if c.strip().lower() not in ("", "identity")
        ]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise UnreadableEncoding(
                f"Content-Encoding {content_encoding!r} is not gzip or deflate"
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
            self._keep(piece, expanded=True)

    def finish(self) -> AnswerBody:
        """The whole body, once the last piece was fed (the reader is spent afterwards)."""
        if self._expander is not None:
            self._keep(self._expander.flush(), expanded=True)
        body, self._chunks = AnswerBody(self._chunks), []
        return body

    def _keep(self, piece: bytes, *, expanded: bool) -> None:
        if not piece:
            return
        self._expanded += len(piece)
        if self._expanded > self.limit:
            self._chunks.clear()  # let the memory go before the error travels up
            raise AnswerTooLarge(self.limit, expanded=expanded)
        self._chunks.append(piece)
