"""Finding a document in KashFlow: duplicates before the first send, reconciling after.

Before a document's first send, the same contact + reference + gross already in KashFlow is a
duplicate keyed in by hand or by another tool (``duplicate_in_ledger``). That lookup is shared:
a :class:`LedgerCache` keeps each contact's documents for a short time, adding what this SDK
creates, so a batch of a supplier's receipts costs one lookup, not one each.

After an uncertain send the document is looked up *fresh* (never from the cache) by contact +
reference + date + totals. Totals are compared within the pennies KashFlow's rounding could
move them (a penny a line): a document that differs only by rounding is the same document, and
one with this reference and date but other totals is a reason to stop, never proof of absence.
A match another journal entry created is never taken for ours.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from .. import errors
from .._account.lists import ListsSnapshot
from .._documents.model import Document, Problem, kashflow_noun
from .._documents.problems import DUPLICATE_IN_LEDGER
from .._error_codes import ErrorCode
from .._storage_keys import document_owner_key
from ..soap.records import LedgerDocument
from ..soap.wire import document_lines
from .effects import DocumentsForContact, Flow, GetDocument, GetState, Sleep, ask

__all__ = [
    "DEFAULT_LEDGER_CACHE_TTL",
    "LedgerCache",
    "reconcile",
    "reference_key",
    "refuse_ledger_duplicate",
    "tolerance",
]

#: How long a contact's documents, once fetched, answer the pre-send duplicate check.
DEFAULT_LEDGER_CACHE_TTL = timedelta(minutes=2)
#: After this long, a fetch another call started and never finished no longer holds others up.
FETCH_TIMEOUT = timedelta(seconds=90)
#: Seconds between looks at the cache while another call fetches the same contact's documents.
FETCH_POLL = 0.02

_PENNY = Decimal("0.01")


def tolerance(document: Document) -> Decimal:
    """How far KashFlow's totals may differ from the document's by rounding: a penny a line."""
    return _PENNY * max(1, len(document.lines))


def reference_key(reference: str) -> str:
    """A reference as the duplicate checks compare it (case and outer spaces ignored)."""
    return reference.strip().casefold()


def _same_reference(held: LedgerDocument, document: Document) -> bool:
    return reference_key(held.reference) == reference_key(document.reference)


_Key = tuple[str, int]


@attrs.frozen
class _Fetched:
    started_at: datetime
    documents: tuple[LedgerDocument, ...]
    #: The documents by :func:`reference_key`: a duplicate check reads one bucket, not the
    #: supplier's whole history.
    by_reference: Mapping[str, tuple[LedgerDocument, ...]]
    numbers: frozenset[int]

    @classmethod
    def of(cls, started_at: datetime, documents: Sequence[LedgerDocument]) -> _Fetched:
        index: dict[str, list[LedgerDocument]] = {}
        for held in documents:
            index.setdefault(reference_key(held.reference), []).append(held)
        by_reference = {key: tuple(found) for key, found in index.items()}
        numbers = frozenset(held.number for held in documents)
        return cls(started_at, tuple(documents), by_reference, numbers)


class LedgerCache:
    """Each contact's documents in KashFlow, kept for *ttl* after a fetch; shared by calls.

    Used only before a document's first send (the duplicate check); reconciling always looks
    afresh. What the SDK creates is remembered at once, apart from any fetch, and stays in the
    answer until a fetch that lists it (or one started a full *ttl* after it, which means it
    was deleted in KashFlow): a fetch that was already under way when a document was created
    can never hide that document from a later duplicate check.

    Args:
        ttl: how long a fetch answers (zero: never answer from the cache).
        lock: held around every read and change; the clients pass a ``threading.Lock`` so that
            threads may share one cache. Never held across a KashFlow or storage call.

    """

    def __init__(
        self,
        ttl: timedelta = DEFAULT_LEDGER_CACHE_TTL,
        *,
        lock: AbstractContextManager[Any] | None = None,
    ) -> None:
        """Keep fetched documents for *ttl*; guard the cache with *lock* if threads share it."""
        self.ttl = ttl
        self._lock: AbstractContextManager[Any] = lock if lock is not None else nullcontext()
        self._fetched: dict[_Key, _Fetched] = {}
        # What this SDK created, by contact, then reference_key, then number.
        self._created: dict[_Key, dict[str, dict[int, tuple[datetime, LedgerDocument]]]] = {}
        self._fetching: dict[_Key, tuple[object, datetime]] = {}

    def __repr__(self) -> str:
        return f"LedgerCache(ttl={self.ttl}, contacts={len(self._fetched)})"

    def get(
        self, kind: str, contact_id: int, now: datetime, reference: str | None = None
    ) -> list[LedgerDocument] | None:
        """The contact's documents if fetched less than *ttl* ago, else None.

        The answer is the fetch plus every document this SDK created that the fetch does not
        list (created while it was under way, or since); with *reference*, only those with
        that reference (as :func:`reference_key` compares it).
        """
        key = (kind, contact_id)
        with self._lock:
            fetched = self._fetched.get(key)
            if fetched is None:
                return None
            if now - fetched.started_at >= self.ttl:
                del self._fetched[key]
                return None
            created = self._created.get(key, {})
            if reference is None:
                listed, buckets = fetched.documents, list(created.values())
            else:
                wanted = reference_key(reference)
                listed, buckets = fetched.by_reference.get(wanted, ()), [created.get(wanted, {})]
            ours = [d for b in buckets for _, d in b.values() if d.number not in fetched.numbers]
            return [*listed, *ours]

    def put(
        self,
        kind: str,
        contact_id: int,
        documents: Sequence[LedgerDocument],
        started_at: datetime,
    ) -> None:
        """Remember a fetch of the contact's documents that started at *started_at*.

        The time is the one taken before the request went out, so that the answer is never
        counted younger than it is. An older fetch does not replace a newer one.
        """
        key = (kind, contact_id)
        with self._lock:
            current = self._fetched.get(key)
            if current is not None and current.started_at > started_at:
                return
            self._fetched[key] = _Fetched.of(started_at, documents)
            created = self._created.get(key)
            if not created:
                return
            listed = self._fetched[key].numbers
            for reference, bucket in list(created.items()):
                for number, (at, _) in list(bucket.items()):
                    if number in listed or started_at - at >= self.ttl:
                        del bucket[number]
                if not bucket:
                    del created[reference]

    def add(self, kind: str, contact_id: int, document: LedgerDocument, now: datetime) -> None:
        """Remember a document this SDK just created (at *now*) for later duplicate checks."""
        with self._lock:
            by_reference = self._created.setdefault((kind, contact_id), {})
            bucket = by_reference.setdefault(reference_key(document.reference), {})
            bucket[document.number] = (now, document)

    def drop(self, kind: str, contact_id: int, number: int) -> None:
        """Forget document *number* of the contact: it was deleted in KashFlow (``forget``).

        The contact's fetched documents are dropped too, so the next check reads KashFlow.
        """
        key = (kind, contact_id)
        with self._lock:
            self._fetched.pop(key, None)
            for bucket in self._created.get(key, {}).values():
                bucket.pop(number, None)

    def start_fetch(self, kind: str, contact_id: int, now: datetime) -> object | None:
        """A token if the caller should fetch the contact's documents; None if another is.

        One fetch at a time per contact: calls publishing for the same supplier at once wait
        for the first one's answer instead of each downloading its history. A fetch left
        unfinished (its call died) stops counting after :data:`FETCH_TIMEOUT`.
        """
        key = (kind, contact_id)
        token = object()
        with self._lock:
            holder, since = self._fetching.setdefault(key, (token, now))
            if holder is token:
                return token
            if now - since > FETCH_TIMEOUT:
                self._fetching[key] = (token, now)
                return token
            return None

    def end_fetch(self, kind: str, contact_id: int, token: object) -> None:
        """The fetch *token* started is over (answered and :meth:`put`, or failed)."""
        key = (kind, contact_id)
        with self._lock:
            if self._fetching.get(key, (None,))[0] is token:
                del self._fetching[key]


def ledger_view(
    document: Document,
    contact_id: int,
    cache: LedgerCache | None,
    clock: Callable[[], datetime],
) -> Flow[list[LedgerDocument]]:
    """The contact's documents with the document's reference, for a duplicate check.

    From the cache when fresh enough; calls that need the same contact at once share one
    fetch (see :meth:`LedgerCache.start_fetch`).
    """
    side = document.side  # a contact's credit notes and invoices come in one list
    if cache is None:
        found: list[LedgerDocument] = yield from ask(DocumentsForContact(side, contact_id))
        return [d for d in found if _same_reference(d, document)]
    while True:
        now = clock()
        cached = cache.get(side, contact_id, now, document.reference)
        if cached is not None:
            return cached
        token = cache.start_fetch(side, contact_id, now)
        if token is None:
            yield from ask(
                Sleep(FETCH_POLL, reason="ledger")
            )  # another call is fetching it: use its answer
            continue
        try:
            held = yield from ask(DocumentsForContact(side, contact_id))
            # Stored before the fetch is released: a call waiting on it must find either the
            # fetch under way or its answer, never neither (it would download it again).
            cache.put(side, contact_id, held, now)
        finally:
            cache.end_fetch(side, contact_id, token)
        return [d for d in held if _same_reference(d, document)]


def refuse_ledger_duplicate(
    document: Document,
    contact_id: int,
    cache: LedgerCache | None,
    clock: Callable[[], datetime],
) -> Flow[None]:
    """Raise ``duplicate_in_ledger`` if KashFlow already holds this invoice from elsewhere.

    Runs before the first send only (journal state ``claimed``): nothing of ours can be in
    KashFlow yet, so a match was keyed in by hand, published by another tool, or published by a
    run whose journal was lost (a MemoryStorage process that died). Reference and gross decide
    (the gross within rounding).
    """
    if not document.reference.strip():
        return
    held = yield from ledger_view(document, contact_id, cache, clock)
    close = tolerance(document) * 2
    # Compared as KashFlow holds them: a credit note is negative there, so it never matches
    # an invoice with the same reference and total (nor the other way round).
    found = [
        d
        for d in held
        if _same_reference(d, document) and abs(d.gross - document.ledger_gross) <= close
    ]
    if not found:
        return
    numbers = ", ".join(str(d.number) for d in found)
    raise errors.ValidationError(
        [
            Problem(
                code=DUPLICATE_IN_LEDGER,
                field="reference",
                message=(
                    f"KashFlow already holds {kashflow_noun(document.kind)} {numbers} from "
                    f"{document.contact!r} with reference {document.reference!r} and total "
                    f"{document.gross}"
                ),
                remedy=(
                    "Check that KashFlow document; if this is a different invoice, correct its "
                    "reference; if it is the same one, do not publish it again."
                ),
            )
        ],
        external_id=document.external_id,
    )


def reconcile(
    document: Document,
    contact_id: int,
    connection_id: str,
    lists: ListsSnapshot,
    *,
    rate_decimals: int,
    cache: LedgerCache | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Flow[LedgerDocument | None]:
    """After an uncertain send: the document if KashFlow has it, None if it surely has not.

    Always a fresh lookup (the cache is refreshed by it, never read).

    Raises:
        PublishUncertainError: the lookup failed; or several documents match; or one has this
            reference and date but totals beyond rounding (``publish_ambiguous``: the SDK
            never guesses, and never takes such a document as proof of absence).

    """
    try:
        started_at = clock() if clock is not None else None
        held = yield from ask(DocumentsForContact(document.side, contact_id))
        if cache is not None and started_at is not None:
            cache.put(document.side, contact_id, held, started_at)
        matches, conflicts = [], []
        for candidate in held:
            if candidate.issue_date != document.issue_date or not _same_reference(
                candidate, document
            ):
                continue
            # A document another journal entry created is not ours, however alike.
            owner = yield from ask(
                GetState(connection_id, document_owner_key(document.side, candidate.number))
            )
            if owner not in (None, document.external_id):
                continue
            close = tolerance(document)
            if (
                abs(candidate.net - document.ledger_net) <= close
                and abs(candidate.vat - document.ledger_vat) <= close
            ):
                matches.append(candidate)
            else:
                conflicts.append(candidate)
        if matches and not document.reference.strip():
            # Without a reference, contact + date + totals is weak: the lines must match too.
            lines = document_lines(document, lists, rate_decimals)
            alike = []
            for match in matches:
                if (yield from _same_lines(document.kind, match, lines)):
                    alike.append(match)
            matches = alike
    except errors.KashFlowError as exc:
        raise errors.PublishUncertainError(
            f"could not check whether KashFlow recorded {document.external_id!r}",
            detail=str(exc),
        ) from exc
    if len(matches) > 1:
        numbers = ", ".join(str(m.number) for m in matches)
        raise errors.PublishUncertainError(
            f"KashFlow holds several documents matching {document.external_id!r} "
            f"(numbers {numbers}); not guessing which one is this document's",
            code=ErrorCode.PUBLISH_AMBIGUOUS,
            remedy="Check those documents in KashFlow and delete the extra copies by hand.",
            retryable=False,
        )
    if not matches and conflicts and document.reference.strip():
        held_text = ", ".join(f"{c.number} (net {c.net}, VAT {c.vat})" for c in conflicts)
        noun = kashflow_noun(document.kind)
        raise errors.PublishUncertainError(
            f"KashFlow holds {noun} {held_text} with the reference and date of "
            f"{document.external_id!r} (net {document.ledger_net}, VAT {document.ledger_vat}), "
            "after a send "
            "whose outcome is unknown; not sending it again",
            code=ErrorCode.PUBLISH_AMBIGUOUS,
            remedy=(
                "Check that document in KashFlow. If it is this one (KashFlow changed its totals),"
                " keep it and do not publish this item again; if it is another invoice, give "
                "this document its own reference."
            ),
            retryable=False,
        )
    return matches[0] if matches else None


def _same_lines(
    kind: str, candidate: LedgerDocument, lines: Sequence[Mapping[str, Any]]
) -> Flow[bool]:
    held = yield from ask(GetDocument(kind, candidate.number))
    if held is None or len(held.lines) != len(lines):
        return False
    return all(
        (h.charge_type, h.description.strip()) == (w["ChargeType"], w["Description"].strip())
        and abs(h.quantity * h.rate - w["Quantity"] * w["Rate"]) <= _PENNY
        and abs(h.vat_amount - w["VatAmount"]) <= _PENNY
        for h, w in zip(held.lines, lines, strict=True)
    )
