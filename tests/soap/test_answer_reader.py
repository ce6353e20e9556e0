"""The pure answer reader: bodies decoded in bounded steps, refused past the size limit."""

from __future__ import annotations

import gzip
import zlib

import pytest

from kashflow_sync.soap.answer import AnswerReader, AnswerTooLarge, UnreadableEncoding

BODY = b"<?xml version='1.0'?><r>" + b"<i>KashFlow</i>" * 2000 + b"</r>"


def read(pieces: list[bytes], limit: int = 1_000_000, **headers: str) -> bytes:
    reader = AnswerReader(limit, **headers)
    for piece in pieces:
        reader.feed(piece)
    return bytes(reader.finish())


def cut(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        (None, lambda b: b),
        ("identity", lambda b: b),
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b, wbits=-zlib.MAX_WBITS)),  # raw, as some send it
    ],
)
@pytest.mark.parametrize("piece", [1, 7, 65536])
def test_body_comes_back_whole_in_any_encoding_and_cut(
    encoding: str | None, encode: object, piece: int
) -> None:
    """Identity, gzip and both deflate forms read back the same, however the body is cut."""
    sent = encode(BODY)  # type: ignore[operator]
    headers = {} if encoding is None else {"content_encoding": encoding}
    assert read(cut(sent, piece), **headers) == BODY


def test_announced_length_over_the_limit_is_refused_before_reading() -> None:
    """A Content-Length over the limit fails at once, with nothing read."""
    with pytest.raises(AnswerTooLarge) as info:
        AnswerReader(1000, content_length="1001")
    assert not info.value.expanded


def test_body_over_the_limit_as_sent_is_refused() -> None:
    """Bytes past the limit fail as they arrive, whatever Content-Length said."""
    reader = AnswerReader(1000, content_length="10")
    reader.feed(b"x" * 1000)
    with pytest.raises(AnswerTooLarge) as info:
        reader.feed(b"x")
    assert not info.value.expanded


def test_gzip_bomb_is_refused_once_expanded_past_the_limit() -> None:
    """A small gzip that expands past the limit fails as it expands, marked expanded."""
    bomb = gzip.compress(b" " * 50_000_000)
    assert len(bomb) < 100_000
    reader = AnswerReader(1_000_000, content_encoding="gzip")
    with pytest.raises(AnswerTooLarge) as info:
        for piece in cut(bomb, 65536):
            reader.feed(piece)
    assert info.value.expanded and info.value.limit == 1_000_000


def test_expansion_happens_in_bounded_steps() -> None:
    """One compressed piece never expands to more than a megabyte at a time."""
    reader = AnswerReader(100_000_000, content_encoding="gzip")
    reader.feed(gzip.compress(b" " * 20_000_000))
    body = reader.finish()
    assert body.size == 20_000_000
    assert max(len(p) for p in body.drain()) <= 1024 * 1024


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, gzip", "compress"])
def test_encodings_it_cannot_expand_are_refused(encoding: str) -> None:
    """Only gzip and deflate are read (and only those are asked for)."""
    with pytest.raises(UnreadableEncoding):
        AnswerReader(1000, content_encoding=encoding)


def test_corrupt_gzip_is_unreadable() -> None:
    """A gzip body that is not gzip fails as unreadable, not as a crash."""
    reader = AnswerReader(1000, content_encoding="gzip")
    with pytest.raises(UnreadableEncoding):
        reader.feed(b"this is not gzip at all")


def test_body_repr_never_shows_the_content() -> None:
    """The collected body's repr names its size only: an answer can quote secrets."""
    reader = AnswerReader(1000)
    reader.feed(b"<Password>hunter2</Password>")
    body = reader.finish()
    assert "hunter2" not in repr(body) and "28 bytes" in repr(body)
