"""List sync: fetch, diff against storage, keep tombstones, store atomically per list.

Nothing is ever deleted. An item gone from KashFlow stays in storage with ``archived=True`` and
``removed=True``, so rules and history pointing at it keep working and validation can flag them.
Customers refresh incrementally through ``GetCustomersModifiedSince`` between periodic full passes
(the only incremental call KashFlow has; a full pass is what catches deletions).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import attrs

from ._models import LIST_NAMES, ListChanges, ListItem, SyncReport
from .soap.service import KashFlowService
from .typing import Storage

__all__ = ["SyncProgress", "diff_lists", "sync_lists"]

#: Customers are pulled in full at least this often; in between, only changes are fetched.
DEFAULT_FULL_CUSTOMER_SYNC = timedelta(hours=24)

#: How far before the newest Updated stamp the next incremental fetch starts.
WATERMARK_MARGIN = timedelta(hours=1, minutes=5)

_WATERMARK = "customers.modified_watermark"
_FULL_AT = "customers.full_sync_at"


@attrs.frozen
class SyncProgress:
    """Progress of a sync, reported once when a list starts and once when it is stored."""

    list_name: str
    index: int
    total: int
    phase: Literal["fetching", "stored"]
    items: int = 0
    incremental: bool = False


ProgressCallback = Callable[[SyncProgress], None]


def _comparable(item: ListItem) -> ListItem:
    return attrs.evolve(item, removed=False) if item.removed else item


def diff_lists(
    old: Sequence[ListItem], new: Iterable[ListItem], *, partial: bool = False
) -> tuple[list[ListItem], ListChanges]:
    """Merge *new* (KashFlow's current items) into *old* (stored), keeping tombstones.

    Args:
        old: what storage holds, tombstones included.
        new: what KashFlow returned.
        partial: *new* holds only changed items (an incremental fetch), so items missing
            from it are kept as they are rather than archived.

    Returns:
        The merged list (KashFlow's order, then items KashFlow no longer has) and the counts.

    """
    if not old:
        # First sync of this list: everything is new; skip the per-item comparison.
        unique: dict[int, ListItem] = {}
        for item in new:
            unique.setdefault(item.kashflow_id, item)  # as below: the first of a repeated id wins
        first = list(unique.values())
        return first, ListChanges(added=len(first), total=len(first))
    previous = {item.kashflow_id: item for item in old}
    merged: list[ListItem] = []
    seen: set[int] = set()
    added = changed = archived = unchanged = 0
    for item in new:
        if item.kashflow_id in seen:
            continue
        seen.add(item.kashflow_id)
        before = previous.get(item.kashflow_id)
        if before is None:
            added += 1
        elif _comparable(before) == item:
            unchanged += 1
            item = _comparable(before)
        elif item.archived and not before.archived:
            archived += 1
        else:
            changed += 1
        merged.append(item)
    for item in old:
        if item.kashflow_id in seen:
            continue
        if partial or item.removed:
            if partial:
                unchanged += 1
            merged.append(item)
            continue
        merged.append(attrs.evolve(item, archived=True, removed=True))
        archived += 1
    if partial:
        # Keep stored order for an incremental merge: changed items replace in place.
        updated = {i.kashflow_id: i for i in merged}
        order = [i.kashflow_id for i in old] + [i for i in updated if i not in previous]
        merged = [updated[i] for i in order]
    changes = ListChanges(
        added=added, changed=changed, archived=archived, unchanged=unchanged, total=len(merged)
    )
    return merged, changes


def sync_lists(
    service: KashFlowService,
    storage: Storage,
    connection_id: str,
    *,
    only: Sequence[str] | None = None,
    incremental: bool = True,
    full_customer_sync_every: timedelta = DEFAULT_FULL_CUSTOMER_SYNC,
    progress: ProgressCallback | None = None,
    now: Callable[[], datetime] = datetime.now,
    prefetched: dict[str, list[ListItem]] | None = None,
) -> SyncReport:
    """Re-pull the named lists (all by default) and store each one atomically.

    A failure part-way raises; lists stored before it keep their new values, the failing list
    and those after it keep their previous ones.
    """
    started = time.perf_counter()
    names = list(LIST_NAMES) if only is None else list(only)
    unknown = [n for n in names if n not in LIST_NAMES]
    if unknown:
        raise ValueError(f"unknown list(s) {unknown}; known: {', '.join(LIST_NAMES)}")
    reports: dict[str, ListChanges] = {}
    for index, name in enumerate(names, start=1):
        use_incremental = (
            incremental
            and name == "customers"
            and _incremental_due(storage, connection_id, now(), full_customer_sync_every)
        )
        if progress:
            progress(SyncProgress(name, index, len(names), "fetching", incremental=use_incremental))
        old = storage.load_list(connection_id, name)
        fresh: list[Any]
        if prefetched and name in prefetched:
            fresh = prefetched.pop(name)
        elif use_incremental:
            watermark = storage.get_state(connection_id, _WATERMARK)
            assert watermark is not None
            fresh = service.customers_modified_since(datetime.fromisoformat(watermark))
        else:
            fresh = service.fetch_list(name)
        merged, changes = diff_lists(old, fresh, partial=use_incremental)
        del fresh
        storage.replace_list(connection_id, name, merged)
        if name == "customers":
            _record_customer_sync(storage, connection_id, merged, now(), full=not use_incremental)
        reports[name] = changes
        if progress:
            progress(
                SyncProgress(
                    name,
                    index,
                    len(names),
                    "stored",
                    items=len(merged),
                    incremental=use_incremental,
                )
            )
    return SyncReport(lists=reports, duration=time.perf_counter() - started)


def _incremental_due(storage: Storage, connection_id: str, now: datetime, every: timedelta) -> bool:
    """Whether customers may be fetched incrementally now."""
    watermark = storage.get_state(connection_id, _WATERMARK)
    full_at = storage.get_state(connection_id, _FULL_AT)
    if not watermark or not full_at:
        return False
    return now - datetime.fromisoformat(full_at) < every


def _record_customer_sync(
    storage: Storage, connection_id: str, items: Sequence[ListItem], now: datetime, *, full: bool
) -> None:
    # The watermark is KashFlow's own latest Updated stamp, not our clock: KashFlow keeps UK
    # local time, and our clock's zone or drift must not make a change slip between syncs.
    stamps = [u for i in items if (u := getattr(i, "updated", None)) is not None]
    if stamps:
        # Step back a margin: a customer read early in a long fetch may change before a later
        # one is stamped, and KashFlow's UK local stamps repeat an hour when clocks go back.
        watermark = max(stamps) - WATERMARK_MARGIN
        storage.set_state(connection_id, _WATERMARK, watermark.isoformat())
    elif full:
        storage.set_state(connection_id, _WATERMARK, None)
    if full:
        storage.set_state(connection_id, _FULL_AT, now.isoformat())
