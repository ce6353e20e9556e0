"""Hostile answers: the real answer rewritten in an odd shape (``faults.hostile_answer``).

Some shapes are odd but valid XML that says the same as the real answer (comments, processing
instructions, other namespace prefixes, CDATA, another encoding): a client must read them as it
reads the real one. Others are not a readable answer at all (truncated, an HTML page, binary
garbage, a list result holding text): a client must refuse them in its own terms. A few carry
KashFlow's documented meaning for a missing piece (no result: null; no status: success).

Each shape works on the fake's own rendering (``<soap:…>`` SOAP elements, KashFlow's elements
in the default namespace, no attribute but namespace declarations and ``xsi:type``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping

import attrs

from .reply import HTML, XML, Reply, html_page

__all__ = ["HOSTILE_SHAPES", "hostile_reply"]

_BODY = b"<soap:Body>"
_SOAP_11 = b"http://schemas.xmlsoap.org/soap/envelope/"
_SOAP_12 = b"http://www.w3.org/2003/05/soap-envelope"
_DECLARATION = re.compile(rb"^<\?xml[^>]*\?>")
_TAG_END = re.compile(rb"(<[^!?][^>]*>)")
_TEXT = re.compile(rb">([^<&]+)<")
_UNPREFIXED = re.compile(rb"<(/?)([A-Za-z_][\w.-]*)(?=[\s/>]|$)")
_XSI_TYPE = re.compile(rb'xsi:type="([A-Za-z_][\w.-]*)"')
_RESPONSE = re.compile(rb"<(\w+)Response xmlns=\"KashFlow\">")
_STATUS = re.compile(
    rb"<Status>[^<]*</Status>(<StatusDetail />|<StatusDetail>[^<]*</StatusDetail>)?"
)


def _operation(body: bytes) -> bytes:
    found = _RESPONSE.search(body)
    return found.group(1) if found else b"Unknown"


def _result(body: bytes) -> re.Pattern[bytes]:
    op = re.escape(_operation(body))
    return re.compile(rb"<" + op + rb"Result( />|>.*?</" + op + rb"Result>)", re.S)


def _replace_result(body: bytes, inner: bytes) -> bytes:
    """*body* with its result's content replaced by *inner* (a result added if it had none)."""
    op = _operation(body)
    new = b"<" + op + b"Result>" + inner + b"</" + op + b"Result>"
    pattern = _result(body)
    if pattern.search(body):
        return pattern.sub(lambda _m: new, body, count=1)
    return body.replace(b"<Status>", new + b"<Status>", 1)


def _prefixed(body: bytes) -> bytes:
    """SOAP as ``env:`` and every KashFlow element as ``kf:`` instead of the default namespace."""
    body = body.replace(b"soap:", b"env:").replace(b"xmlns:soap=", b"xmlns:env=")
    head, sep, rest = body.partition(b' xmlns="KashFlow"')
    if not sep:
        return body
    rest = _UNPREFIXED.sub(rb"<\1kf:\2", rest)
    rest = _XSI_TYPE.sub(rb'xsi:type="kf:\1"', rest)
    return _UNPREFIXED.sub(rb"<\1kf:\2", head) + b' xmlns:kf="KashFlow"' + rest


def _recoded(encoding: str) -> Callable[[bytes], bytes]:
    def recode(body: bytes) -> bytes:
        text = _DECLARATION.sub(b"", body).decode("utf-8")
        declared = f'<?xml version="1.0" encoding="{encoding}"?>{text}'
        return declared.encode(encoding, errors="xmlcharrefreplace")

    return recode


def _between_tags(extra: bytes) -> Callable[[bytes], bytes]:
    return lambda body: _TAG_END.sub(lambda m: m.group(1) + extra, body)


#: name -> (what the answer becomes, HTTP status, content type, how).
_SHAPES: Mapping[str, tuple[str, int, str, Callable[[bytes], bytes]]] = {
    "comment_in_body": (
        "an XML comment in soap:Body before the response",
        200,
        XML,
        lambda b: b.replace(_BODY, _BODY + b"<!-- served by KashFlow -->", 1),
    ),
    "pi_in_body": (
        "a processing instruction in soap:Body before the response",
        200,
        XML,
        lambda b: b.replace(_BODY, _BODY + b'<?kashflow trace="1"?>', 1),
    ),
    "comments_everywhere": (
        "a comment after every tag (inside values too)",
        200,
        XML,
        _between_tags(b"<!--kf-->"),
    ),
    "pis_everywhere": (
        "a processing instruction after every tag",
        200,
        XML,
        _between_tags(b"<?kf x?>"),
    ),
    "indented": (
        "a line break and spaces between every two tags",
        200,
        XML,
        lambda b: re.sub(rb">(?=<)", b">\r\n    ", b),
    ),
    "cdata": (
        "every value as a CDATA section",
        200,
        XML,
        lambda b: _TEXT.sub(rb"><![CDATA[\1]]><", b),
    ),
    "prefixes": ("env: for SOAP and kf: for KashFlow's elements", 200, XML, _prefixed),
    "soap_header": (
        "an empty soap:Header before the body",
        200,
        XML,
        lambda b: b.replace(_BODY, b"<soap:Header />" + _BODY, 1),
    ),
    "no_declaration": ("no XML declaration", 200, XML, lambda b: _DECLARATION.sub(b"", b)),
    "bom": ("a UTF-8 byte order mark first", 200, XML, lambda b: b"\xef\xbb\xbf" + b),
    "utf16": ("the whole answer in UTF-16", 200, "text/xml; charset=utf-16", _recoded("utf-16")),
    "latin1": (
        "the whole answer in ISO-8859-1",
        200,
        "text/xml; charset=iso-8859-1",
        _recoded("iso-8859-1"),
    ),
    "no_status": (
        "Status and StatusDetail left out (read as success)",
        200,
        XML,
        lambda b: _STATUS.sub(b"", b),
    ),
    "no_result": (
        "the result element left out (KashFlow's null)",
        200,
        XML,
        lambda b: _result(b).sub(b"", b, count=1),
    ),
    "text_result": (
        "the result holding the text 'Success' instead of its value (the caller's secrets "
        "with echo_secrets)",
        200,
        XML,
        lambda b: _replace_result(b, b"Success"),
    ),
    "element_result": (
        "the result holding an element of another type",
        200,
        XML,
        lambda b: _replace_result(b, b"<Unexpected><ID>1</ID></Unexpected>"),
    ),
    "wrong_response": (
        "another operation's response element",
        200,
        XML,
        lambda b: _RESPONSE.sub(rb'<SomethingElseResponse xmlns="KashFlow">', b).replace(
            b"</" + _operation(b) + b"Response>", b"</SomethingElseResponse>"
        ),
    ),
    "no_body": (
        "an envelope without a body",
        200,
        XML,
        lambda b: b[: b.find(_BODY)] + b"</soap:Envelope>" if _BODY in b else b,
    ),
    "soap12": (
        "the SOAP 1.2 envelope namespace",
        200,
        XML,
        lambda b: b.replace(_SOAP_11, _SOAP_12),
    ),
    "dtd": (
        "a DOCTYPE declaring an entity (SOAP forbids a DTD)",
        200,
        XML,
        lambda b: _DECLARATION.sub(
            lambda m: m.group(0) + b'<!DOCTYPE soap:Envelope [<!ENTITY kf "KashFlow">]>', b
        ),
    ),
    "bad_encoding": (
        "a Content-Encoding no client reads (quoting the secrets with echo_secrets)",
        200,
        XML,
        lambda b: b,
    ),
    "truncated": ("the first half of the answer", 200, XML, lambda b: b[: len(b) // 2]),
    "empty": ("an empty body", 200, XML, lambda _b: b""),
    "html": (
        "an HTML page (a proxy's, say) at HTTP 200",
        200,
        HTML,
        lambda _b: html_page(200, "Welcome", "Please sign in to continue."),
    ),
    "json": ("a JSON object", 200, "application/json", lambda _b: b'{"Status": "OK"}'),
    "garbage": (
        "binary garbage",
        200,
        "application/octet-stream",
        lambda _b: bytes(range(256)) * 4,
    ),
}

#: Every hostile shape the fake can answer in, with what it does.
HOSTILE_SHAPES: Mapping[str, str] = {name: spec[0] for name, spec in _SHAPES.items()}


def hostile_reply(shape: str, reply: Reply, echo: Callable[[str], str] = str) -> Reply:
    """*reply* (the operation's real answer) rewritten in *shape*.

    Args:
        shape: one of :data:`HOSTILE_SHAPES`.
        reply: the operation's real answer.
        echo: adds the caller's secrets to a text when ``echo_secrets`` is on: the texts a
            shape makes up (the result of ``text_result``, the header of ``bad_encoding``)
            then quote them.

    Raises:
        ValueError: *shape* is not one of :data:`HOSTILE_SHAPES`.

    """
    if shape not in _SHAPES:
        raise ValueError(f"unknown hostile shape {shape!r}; known: {', '.join(_SHAPES)}")
    _what, status, content_type, rewrite = _SHAPES[shape]
    headers = tuple((k, v) for k, v in reply.headers if k.lower() != "content-type")
    if shape == "text_result":
        rewrite = functools.partial(_replace_result, inner=_echoed(echo, "Success"))
    if shape == "bad_encoding":
        headers += (("Content-Encoding", echo("x-kashflow")),)
    return attrs.evolve(
        reply,
        status=status,
        body=rewrite(reply.body),
        headers=(("Content-Type", content_type), *headers),
    )


def _echoed(echo: Callable[[str], str], text: str) -> bytes:
    """*text*, or only the echoed secrets when echo is on (so they come first)."""
    echoed = echo("")
    return (echoed or text).encode("utf-8", errors="xmlcharrefreplace")
