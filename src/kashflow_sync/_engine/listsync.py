"""List sync: fetch, diff against storage, keep tombstones, store atomically per list.

Nothing is ever deleted. An item gone from KashFlow stays in storage with ``archived=True`` and
``removed=True``, so rules and history pointing at it keep working and validation can flag them.
Customers refresh incrementally through ``GetCustomersModifiedSince`` between periodic full
passes (the only incremental call KashFlow has; a full pass is what catches deletions).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import attrs

from .. import errors
from .._account.items import LIST_NAMES, ConnectionStatus, ListChanges, ListItem, SyncReport
from .._error_codes import ErrorCode
from .._storage_keys import CUSTOMERS_FULL_SYNC_AT, CUSTOMERS_WATERMARK, LISTS_VERSION, STATUS
from .effects import (
    AutoAuthIp,
    CustomersModifiedSince,
    FetchList,
    Flow,
    GetState,
    LoadList,
    ReplaceList,
    SetState,
    ask,
)

__all__ = [
    "DEFAULT_FULL_CUSTOMER_SYNC",
    "MASS_ARCHIVE_MIN_ITEMS",
    "ProgressCallback",
    "SyncProgress",
    "SyncSettings",
    "connect",
    "diff_lists",
    "mass_archive",
    "parse_status",
    "refresh",
    "status_error",
    "sync_lists",
]

#: Customers are pulled in full at least this often; in between, only changes are fetched.
DEFAULT_FULL_CUSTOMER_SYNC = timedelta(hours=24)

#: How far before the newest Updated stamp the next incremental fetch starts.
WATERMARK_MARGIN = timedelta(hours=1, minutes=5)

#: A refresh that would archive more than half of a list's active items refuses (unless forced)
#: once the list holds at least this many. Below it a list is trivial: three bank accounts or
#: four VAT rates can lose two in one honest clean-up, and archiving them costs little. From ten
#: up, more than half gone at once is far likelier a broken answer (cut short, or empty) than
#: bookkeeping, and archiving wrongly blocks every document naming those items until the next
#: good refresh; a refusal costs one ``force=True``.
MASS_ARCHIVE_MIN_ITEMS = 10


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


@attrs.frozen
class SyncSettings:
    """How one connection syncs its lists.

    Args:
        connection_id: the connection whose lists these are.
        timer: seconds on a monotonic clock, for the report's duration.
        now: the local wall-clock time, for when the last full customer pass ran.
        new_id: a fresh random id (hex digits), for the lists' version after each change.
        full_customer_sync_every: customers are pulled in full at least this often.

    """

    connection_id: str
    timer: Callable[[], float]
    now: Callable[[], datetime]
    new_id: Callable[[], str]
    full_customer_sync_every: timedelta = DEFAULT_FULL_CUSTOMER_SYNC


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


def mass_archive(
    name: str, old: Sequence[ListItem], fetched: int, changes: ListChanges
) -> errors.KashFlowError | None:
    """The refusal of a sync that would archive more than half of a non-trivial list, or None.

    Args:
        name: the list's name.
        old: what storage holds.
        fetched: how many items KashFlow's answer held.
        changes: what storing the merged list would change.

    """
    active = sum(1 for item in old if not item.archived)
    if active < MASS_ARCHIVE_MIN_ITEMS or changes.archived * 2 <= active:
        return None
    words = name.replace("_", " ")
    return errors.ProtocolError(
        f"refused to archive {changes.archived} of the {active} active {words}: KashFlow's "
        f"answer listed {fetched} {words}, so more than half would go at once; nothing was "
        f"changed in the {words} list",
        code=ErrorCode.MASS_ARCHIVE_REFUSED,
        remedy=(
            f"If those {words} really were deleted or archived in KashFlow, refresh again with "
            "force=True (command line: --force). Otherwise try again later: KashFlow's answer "
            "was probably cut short."
        ),
    )


def sync_lists(
    settings: SyncSettings,
    *,
    only: Sequence[str] | None = None,
    incremental: bool = True,
    progress: ProgressCallback | None = None,
    prefetched: dict[str, list[ListItem]] | None = None,
    force: bool = False,
) -> Flow[SyncReport]:
    """Re-pull the named lists (all by default) and store each one atomically.

    A failure part-way raises; lists stored before it keep their new values, the failing list
    and those after it keep their previous ones. A list that would lose more than half of its
    active items (see :data:`MASS_ARCHIVE_MIN_ITEMS`) fails that way too, unless *force*.
    """
    started = settings.timer()
    cid = settings.connection_id
    names = list(LIST_NAMES) if only is None else list(only)
    unknown = [n for n in names if n not in LIST_NAMES]
    if unknown:
        raise ValueError(f"unknown list(s) {unknown}; known: {', '.join(LIST_NAMES)}")
    reports: dict[str, ListChanges] = {}
    for index, name in enumerate(names, start=1):
        watermark = None
        if incremental and name == "customers":
            watermark = yield from _incremental_watermark(settings)
        use_incremental = watermark is not None
        if progress:
            progress(SyncProgress(name, index, len(names), "fetching", incremental=use_incremental))
        old = yield from ask(LoadList(cid, name))
        fresh: list[Any]
        if prefetched and name in prefetched:
            fresh = prefetched.pop(name)
        elif watermark is not None:
            fresh = yield from ask(CustomersModifiedSince(watermark))
        else:
            fresh = yield from ask(FetchList(name))
        fetched = len(fresh)
        merged, changes = diff_lists(old, fresh, partial=use_incremental)
        del fresh
        refusal = None if force else mass_archive(name, old, fetched, changes)
        if refusal is not None:
            raise refusal
        yield from ask(ReplaceList(cid, name, merged))
        # After each list, not once at the end: a sync failing part-way has still changed the
        # lists stored before the failure.
        yield from ask(SetState(cid, LISTS_VERSION, settings.new_id()))
        if name == "customers":
            yield from _record_customer_sync(settings, merged, full=not use_incremental)
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
    return SyncReport(lists=reports, duration=settings.timer() - started)


def _incremental_watermark(settings: SyncSettings) -> Flow[datetime | None]:
    """Where an incremental customer fetch starts now, or None when a full pass is due."""
    watermark = yield from ask(GetState(settings.connection_id, CUSTOMERS_WATERMARK))
    full_at = yield from ask(GetState(settings.connection_id, CUSTOMERS_FULL_SYNC_AT))
    if not watermark or not full_at:
        return None
    if settings.now() - datetime.fromisoformat(full_at) >= settings.full_customer_sync_every:
        return None
    return datetime.fromisoformat(watermark)


def _record_customer_sync(
    settings: SyncSettings, items: Sequence[ListItem], *, full: bool
) -> Flow[None]:
    cid = settings.connection_id
    # The watermark is KashFlow's own latest Updated stamp, not our clock: KashFlow keeps UK
    # local time, and our clock's zone or drift must not make a change slip between syncs.
    stamps = [u for i in items if (u := getattr(i, "updated", None)) is not None]
    if stamps:
        # Step back a margin: a customer read early in a long fetch may change before a later
        # one is stamped, and KashFlow's UK local stamps repeat an hour when clocks go back.
        watermark = max(stamps) - WATERMARK_MARGIN
        yield from ask(SetState(cid, CUSTOMERS_WATERMARK, watermark.isoformat()))
    elif full:
        yield from ask(SetState(cid, CUSTOMERS_WATERMARK, None))
    if full:
        yield from ask(SetState(cid, CUSTOMERS_FULL_SYNC_AT, settings.now().isoformat()))


# ---------------------------------------------------------------------- connection


def parse_status(stored: str | None) -> ConnectionStatus:
    """The connection status a stored value means (unknown values: never connected)."""
    try:
        return ConnectionStatus(stored) if stored else ConnectionStatus.NOT_CONNECTED
    except ValueError:  # written by a newer version
        return ConnectionStatus.NOT_CONNECTED


def status_error(connection_id: str, status: ConnectionStatus) -> errors.KashFlowError | None:
    """The error a call needing a connection raises in *status*, or None when connected."""
    if status is ConnectionStatus.NOT_CONNECTED:
        return errors.NotConnectedError(
            f"connection {connection_id!r} is not connected; call connect() first"
        )
    if status is ConnectionStatus.NEEDS_RECONNECT:
        return errors.AuthenticationError(
            f"connection {connection_id!r} needs reconnecting: KashFlow refused its credentials",
            code=ErrorCode.NEEDS_RECONNECT,
        )
    return None


def connect(
    settings: SyncSettings,
    *,
    app_name: str,
    autoauth: bool,
    progress: ProgressCallback | None = None,
    force: bool = False,
) -> Flow[SyncReport]:
    """Allow this machine's IP (AutoAuth), check the credentials and sync every list."""
    if autoauth:
        yield from ask(AutoAuthIp(app_name))
    # The first list fetched doubles as the credentials check.
    first = {"currencies": (yield from ask(FetchList("currencies")))}
    report = yield from sync_lists(
        settings, incremental=False, progress=progress, prefetched=first, force=force
    )
    yield from ask(SetState(settings.connection_id, STATUS, ConnectionStatus.CONNECTED.value))
    return report


def refresh(
    settings: SyncSettings,
    *,
    only: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
    force: bool = False,
) -> Flow[SyncReport]:
    """Re-pull lists of a connected connection (see :func:`sync_lists`)."""
    stored = yield from ask(GetState(settings.connection_id, STATUS))
    problem = status_error(settings.connection_id, parse_status(stored))
    if problem is not None:
        raise problem
    return (yield from sync_lists(settings, only=only, progress=progress, force=force))
