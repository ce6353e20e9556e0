"""Learning the internal ids of the documents a batch created, with one call per kind.

KashFlow's insert answers a receipt's or invoice's *number*; its internal id
(``PublishResult.kashflow_id``) takes a read. A single publish reads it at once (``GetReceipt``);
a batch defers it: its documents are published still leased to their publish call, and
:func:`fill_ids` then reads the account's most recent documents once (``GetReceipts_Recent``:
its size does not grow with any contact's history), falls back to one read per document it did
not find there, stores each id and releases each entry.

The same flow fills in the ids of documents published and released without one (the Celery
tasks' batched ids): a :class:`Pending` with no *owner*. Such an entry is free for any call to
take, so its id is stored only with a compare-and-set on no owner, and only while it is still
the same published document (the same number, no id yet).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from .. import errors
from .._documents.model import PublishResult, side
from .._error_codes import UNREACHABLE_CODES
from .._journal.entry import JournalEntry
from .._journal.states import PUBLISHED
from .effects import Batch, Flow, GetDocument, GetJournal, RecentDocuments, UpdateJournal, ask
from .lease import Lease

__all__ = ["RECENT_MARGIN", "Pending", "fill_ids", "id_on_demand", "learn_id"]

#: Documents others may have created meanwhile: read this many more than the batch made.
RECENT_MARGIN = 20


@attrs.frozen
class Pending:
    """A document published with its id deferred, still leased to *owner* (None: released)."""

    external_id: str
    kind: str
    number: int
    owner: str | None


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


def learn_id(lease: Lease, entry: JournalEntry) -> Flow[int]:
    """On demand: the internal id of a published entry released without one, read and stored.

    0 when KashFlow does not say (or fails: the document is published all the same).
    """
    if entry.number is None:
        return 0
    try:
        held = yield from ask(GetDocument(side(entry.kind), entry.number))
    except errors.KashFlowError:
        return 0
    found = held.kashflow_id if held is not None else 0
    if found:
        pending = Pending(entry.external_id, entry.kind, entry.number, None)
        yield from _release(lease, [pending], {entry.external_id: found})
    return found


def id_on_demand(lease: Lease, result: PublishResult) -> Flow[PublishResult]:
    """An ``already_published`` *result* without its internal id, with it if KashFlow says.

    Only for an entry published and released without one (not one a batch still holds).
    """
    entry = yield from ask(GetJournal(lease.connection_id, result.external_id))
    if entry is None or entry.state != PUBLISHED or entry.owner is not None:
        return result
    if entry.kashflow_id:
        return attrs.evolve(result, kashflow_id=entry.kashflow_id)
    found = yield from learn_id(lease, entry)
    return attrs.evolve(result, kashflow_id=found) if found else result


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


def _still_to_fill(item: Pending, entry: JournalEntry, ids: dict[str, int]) -> bool:
    """Whether *entry* is still ours to write: leased to us, or released and still missing its id.

    A released entry (``owner`` None) is left alone when nothing was learned for it, or when it
    changed since it was released: forgotten, published anew, or filled in already.
    """
    if item.owner is not None:
        return True
    return (
        item.external_id in ids
        and entry.state == PUBLISHED
        and entry.number == item.number
        and not entry.kashflow_id
    )


def _release(lease: Lease, pending: Sequence[Pending], ids: dict[str, int]) -> Flow[None]:
    """Store each learned id and give each entry back (only those still leased to us).

    Two transactions for the whole batch: the entries read together, then stored together
    (each a compare-and-set on its own owner).
    """
    if not pending:
        return
    reads = tuple(GetJournal(lease.connection_id, item.external_id) for item in pending)
    entries = yield from ask(Batch(reads, stop=False))
    updates = tuple(
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
        for item, entry in zip(pending, entries, strict=True)
        if entry is not None and entry.owner == item.owner and _still_to_fill(item, entry, ids)
    )
    if updates:
        yield from ask(Batch(updates, stop=False))
