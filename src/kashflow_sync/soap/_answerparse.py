"""KashFlow's answer parsed as it arrives, so no answer is ever held whole.

The exchange hands every (expanded) piece of the body to an :class:`AnswerParser` as it reads
it; lxml's push parser builds the tree from the pieces. A list answer is read item by item: once
an item element is complete it becomes its model and leaves the tree, so reading 20,000
suppliers holds the models and a few elements, never the bytes, the text and a 20,000-item tree
at once (see ``benchmarks/bench_answer_memory.py``).

Comments and processing instructions are dropped by the parser (``<Status>O<!-- -->K</Status>``
reads ``OK``, as XML means). Three guards keep a hostile answer from costing more than a few
megabytes whatever its size (the client's ``max_answer_bytes`` bounds the whole):

* the tree must grow at least once every :data:`MAX_QUIET_BYTES`: libxml2 holds a comment, a
  text or a tag in full until its end arrives, so a 200 MB comment would otherwise cost 400 MB
  (before the SOAP envelope starts, nothing counts as growth);
* at most :data:`MAX_KEPT_ELEMENTS` elements are kept outside the items already read (and a
  document that is not a SOAP envelope may hold no more than that many).

Nothing here raises: the outcome (a failure in words, the items, elements that do not belong in
a list) is read by :func:`kashflow_sync.soap.codec.decode`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import attrs
from lxml import etree

__all__ = [
    "MAX_KEPT_ELEMENTS",
    "MAX_QUIET_BYTES",
    "AnswerParser",
    "ItemStream",
]

SOAP_ENV = "{http://schemas.xmlsoap.org/soap/envelope/}"
NS = "{KashFlow}"

#: Bytes of answer that may arrive without the tree growing. No KashFlow answer holds a single
#: text, comment or tag this long (its longest texts are notes and addresses); KashFlow's own
#: longest words, a refusal's StatusDetail, are cut to 500 characters anyway.
MAX_QUIET_BYTES = 4 * 1024 * 1024
#: Elements kept in the tree outside the list items already read (a receipt with 3,000 lines
#: has about 40,000). Each costs libxml2 about 250 bytes with its text: 12 MB at most.
MAX_KEPT_ELEMENTS = 50_000

# Most bytes handed to lxml at once: the guards are checked this often, and libxml2's own
# limits (it refuses an input buffer over 10 MB without huge_tree) never see a larger piece.
_SLICE = 256 * 1024
# How often (in bytes fed) the kept elements are counted.
_COUNT_EVERY = 256 * 1024


@attrs.frozen
class ItemStream:
    """How a list answer is read as it arrives: each item element becomes a value, then goes.

    Attributes:
        result: local name of the result element holding the list (``GetSuppliersResult``).
        item: local name of one item (``Supplier``).
        read: one item element to its value; None leaves the item out (it was unreadable,
            or does not count).

    """

    result: str
    item: str
    read: Callable[[etree._Element], Any] = attrs.field(repr=False)


class AnswerParser:
    """Parses one answer from its pieces; list items are read and dropped as they complete.

    Args:
        operation: the SOAP operation answered (its ``<operation>Response`` is looked for).
        items: how to read a list answer as it arrives; None keeps the whole tree.

    Attributes:
        root: the SOAP envelope, once parsed (None when the answer is not SOAP XML).
        failure: why the answer could not be parsed, in words (None when it could).
        limit_hit: whether the failure is one of the guards (the answer is implausible).
        values: the items read so far, in order.
        strays: what a list's result holds besides its items (element names, or "text").
        size: bytes fed.

    """

    def __init__(self, operation: str, items: ItemStream | None = None) -> None:
        """Prepare for the first piece."""
        self.operation = operation
        self.items = items
        self.root: etree._Element | None = None
        self.failure: str | None = None
        self.limit_hit = False
        self.values: list[Any] = []
        self.strays: list[str] = []
        self.size = 0
        self._closed = False
        self._result: etree._Element | None = None
        self._response_tag = f"{NS}{operation}Response"
        # Made at the first piece: the sync exchange feeds and closes on its own thread, and
        # lxml wants a parser used on the thread that made it.
        self._xml: etree.XMLPullParser | None = None
        self._mark: tuple[int, ...] = ()
        self._quiet = 0
        self._tags = 0  # "<" seen before an envelope: at least one per element
        self._next_count = _COUNT_EVERY

    def __repr__(self) -> str:
        # KashFlow's words can quote the password: no repr shows them.
        return f"<AnswerParser {self.operation}: {self.size} bytes, {len(self.values)} items>"

    @property
    def stopped(self) -> bool:
        """Whether the rest of the body need not be read (the answer is already unreadable)."""
        return self.failure is not None

    def feed(self, data: bytes) -> None:
        """Parse the next piece of the body (ignored once the answer is known unreadable)."""
        for start in range(0, len(data), _SLICE):
            if self.failure is not None or self._closed:
                return
            piece = data[start : start + _SLICE]
            self.size += len(piece)
            try:
                self._parser().feed(piece)
                self._take_events()
            except etree.LxmlError:  # XMLSyntaxError, or an encoding lxml cannot read
                self._fail("it is not well-formed XML")
                return
            self._check(piece)

    def close(self) -> None:
        """Finish parsing once the whole body was fed (or reading stopped)."""
        if self._closed:
            return
        self._closed = True
        if self.failure is None:
            if self._xml is None:
                self._fail("it is empty")
                return
            try:
                root = self._xml.close()
                self._take_events()
            except etree.LxmlError:
                self._fail("it is not well-formed XML (or it was cut short)")
                return
            if self.root is None and root is not None and self.failure is None:
                self._fail("it is not a SOAP envelope")
        if self._result is not None and self.failure is None:
            self._drain(keep_last=False)
            if (self._result.text or "").strip():
                self.strays.append("text")
        if self.root is not None and self.failure is None:
            self._count()
        self._xml = None  # let libxml2's buffers go

    # -- inside ------------------------------------------------------------------------------

    def _parser(self) -> etree.XMLPullParser:
        if self._xml is None:
            tags = [SOAP_ENV + "Envelope"]
            if self.items is not None:
                tags.append(NS + self.items.result)
            self._xml = etree.XMLPullParser(
                events=("start",),
                tag=tags,
                remove_comments=True,
                remove_pis=True,
                resolve_entities=False,
                no_network=True,
            )
        return self._xml

    def _fail(self, reason: str, *, limit: bool = False) -> None:
        self.failure = reason
        self.limit_hit = limit
        # Let go of everything now: libxml2 may be holding megabytes of a hostile answer.
        self.values = []
        self._result = None
        self.root = None
        self._xml = None

    def _take_events(self) -> None:
        assert self._xml is not None
        for _event, element in self._xml.read_events():
            if not isinstance(element, etree._Element):
                continue  # only "start" events are asked for: never so
            if element.tag == SOAP_ENV + "Envelope":
                if self.root is None and element.getparent() is None:
                    # (lxml's stubs lack DocInfo.doctype.)
                    if getattr(element.getroottree().docinfo, "doctype", ""):
                        self._fail("it declares a DTD, which SOAP answers never do")
                        return
                    self.root = element
            elif self._result is None and self._is_result(element):
                self._result = element
        if self._result is not None:
            self._drain(keep_last=True)

    def _is_result(self, element: etree._Element) -> bool:
        """Whether *element* is the result of this operation's response, where SOAP puts it."""
        response = element.getparent()
        body = response.getparent() if response is not None else None
        envelope = body.getparent() if body is not None else None
        return (
            response is not None
            and response.tag == self._response_tag
            and body is not None
            and body.tag == SOAP_ENV + "Body"
            and envelope is not None
            and envelope is self.root
        )

    def _drain(self, *, keep_last: bool) -> None:
        """Read the complete children of the result and drop them (the last may be growing)."""
        result = self._result
        assert result is not None and self.items is not None
        done = len(result) - 1 if keep_last else len(result)
        if done <= 0:
            return
        item_tag = NS + self.items.item
        read = self.items.read
        for child in itertools.islice(result, done):
            tag = child.tag
            if tag == item_tag:
                value = read(child)
                if value is not None:
                    self.values.append(value)
            elif len(self.strays) < 5:
                self.strays.append(etree.QName(tag).localname if isinstance(tag, str) else "?")
            if (child.tail or "").strip() and "text" not in self.strays:
                self.strays.append("text")
        del result[:done]

    def _check(self, piece: bytes) -> None:
        """Apply the guards after *piece* was parsed."""
        if self.failure is not None:
            return
        if self.root is None:
            # Without an envelope there is no tree to watch: count the bytes and the tags.
            self._quiet += len(piece)
            self._tags += piece.count(b"<")
            if self._quiet > MAX_QUIET_BYTES:
                self._fail(
                    f"no SOAP envelope starts in its first {MAX_QUIET_BYTES:,} bytes", limit=True
                )
            elif self._tags > MAX_KEPT_ELEMENTS:
                self._fail(
                    f"it holds more than {MAX_KEPT_ELEMENTS:,} elements before any SOAP envelope",
                    limit=True,
                )
            return
        mark = self._progress()
        if mark != self._mark:
            self._mark, self._quiet = mark, 0
        else:
            self._quiet += len(piece)
            if self._quiet > MAX_QUIET_BYTES:
                self._fail(
                    f"it holds a single text, comment or tag longer than {MAX_QUIET_BYTES:,} bytes",
                    limit=True,
                )
                return
        if self.size >= self._next_count:
            self._next_count = self.size + _COUNT_EVERY
            self._count()

    def _count(self) -> None:
        """Fail if the tree keeps more elements than :data:`MAX_KEPT_ELEMENTS`."""
        assert self.root is not None
        if sum(1 for _ in self.root.iter()) > MAX_KEPT_ELEMENTS:
            self._fail(
                f"it holds more than {MAX_KEPT_ELEMENTS:,} elements outside its list", limit=True
            )

    def _progress(self) -> tuple[int, ...]:
        """A fingerprint of the tree's growing edge: it changes whenever an element arrives."""
        assert self.root is not None
        mark = [len(self.values)]
        node = self.root
        while True:
            count = len(node)
            mark.append(count)
            if count == 0 or len(mark) > 64:
                return tuple(mark)
            node = node[count - 1]
