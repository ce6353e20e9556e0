"""Learning the internal ids of the documents a batch created, with one call per kind.

KashFlow's insert answers a receipt's or invoice's *number*; its internal id
(``PublishResult.kashflow_id``) takes a read. A single publish reads it at once (``GetReceipt``);
a batch defers it: its documents are published still leased to their publish call, and
:func:`fill_ids` then reads the account's most recent documents once (``GetReceipts_Recent``:
its size does not grow with any contact's history), falls back to one read per document it did
not find there, stores each id and releases each entry.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from .. import errors
from .._documents.model import side
from .._error_codes import UNREACHABLE_CODES
from .effects import Flow, GetDocument, GetJournal, RecentDocuments, UpdateJournal, ask
from .lease import Lease

__all__ = ["RECENT_MARGIN", "Pending", "fill_ids"]

#: Documents others may have created meanwhile: read this many more than the batch made.
RECENT_MARGIN = 20


@attrs.frozen
class Pending:
    """A document published with its id deferred, still leased to *owner*."""

    external_id: str
    kind: str
    number: int
    owner: str


def fill_ids(
    lease: Lease, pending: Sequence[Pending], *, learn: bool = True
) -> Flow[dict[str, int]]:
    """Learn, store and return the internal ids of *pending* documents; release every entry.

    Ids that cannot be learned (KashFlow failing; or *learn* False, when the batch already
    found KashFlow unreachable) stay unknown (0 in results) and the entries are released all
    the same: the documents are published; only the id is missing.
    """
    ids: dict[str, int] = {}
    try:
        if learn:
            yield from _learn(pending, ids)
    except GeneratorExit:
        raise
    except BaseException:
        yield from _release(lease, pending, ids)
        raise
    yield from _release(lease, pending, ids)
    return ids


def _learn(pending: Sequence[Pending], ids: dict[str, int]) -> Flow[None]:
    for kind in sorted({side(p.kind) for p in pending}):
        group = [p for p in pending if side(p.kind) == kind]
        try:
            recent = yield from ask(RecentDocuments(kind, len(group) + RECENT_MARGIN))
        except errors.KashFlowError as exc:
            if exc.code in UNREACHABLE_CODES:
                return  # a read per document would fail the same way, each after its retries
            recent = []
        by_number = {d.number: d.kashflow_id for d in recent if d.kashflow_id}
        for item in group:
            found = by_number.get(item.number)
            if not found:
                try:
                    held = yield from ask(GetDocument(kind, item.number))
                except errors.KashFlowError:
                    held = None
                found = held.kashflow_id if held is not None else 0
            if found:
                ids[item.external_id] = found


def _release(lease: Lease, pending: Sequence[Pending], ids: dict[str, int]) -> Flow[None]:
    """Store each learned id and give each entry back (only those still leased to us)."""
    for item in pending:
        entry = yield from ask(GetJournal(lease.connection_id, item.external_id))
        if entry is None or entry.owner != item.owner:
            continue
        yield from ask(
            UpdateJournal(
                attrs.evolve(
                    entry,
                    kashflow_id=ids.get(item.external_id) or entry.kashflow_id,
                    owner=None,
                    lease_until=None,
                    updated_at=lease.clock(),
                ),
                item.owner,
            )
        )
