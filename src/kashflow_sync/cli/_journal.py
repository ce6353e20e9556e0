"""``kashflow-sync journal``: the operator's view of the publish journal, from the local database.

It reads storage only (no credentials, no network) and lists, oldest first, the documents whose
publish has not finished (``claimed``, ``sending``, ``created``) unless ``--state`` asks for
others, each with its last error; then what to do, grouped by remedy.
"""

from __future__ import annotations

import argparse
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs

from .. import errors

# From the record's own module: `--help` must not load the SDK's heavy modules.
from .._journal.states import JOURNAL_STATES, UNFINISHED_STATES
from ._account import Subparsers, account_command
from ._errors import EXIT_OK, usage_error
from ._output import Console, emit_json

__all__ = ["parse_duration", "register"]

#: What ``--state`` takes besides the journal states themselves.
_STATE_WORDS = ("unfinished", "all")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
#: Ids listed per remedy under "What to do" before the rest are counted.
_IDS_SHOWN = 5


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``2h``, ``1d``, ``1h30m`` (or plain seconds) as a timedelta.

    Raises:
        ConfigurationError: ``usage``: not a duration.

    """
    value = text.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        return timedelta(seconds=float(value))
    if not value or _DURATION.sub("", value):
        raise usage_error(f"not a duration: {text!r} (write e.g. 30m, 2h, 1d or 1h30m)", "journal")
    return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(value)))


def register(commands: Subparsers) -> None:
    """Add ``journal`` to the CLI's subcommands."""
    with account_command(commands, "journal", run_journal, network=False) as parser:
        parser.add_argument(
            "--state",
            action="append",
            choices=[*JOURNAL_STATES, *_STATE_WORDS],
            metavar="STATE",
            help=(
                "list entries in this state (repeatable): "
                f"{', '.join(JOURNAL_STATES)}, unfinished (the default) or all"
            ),
        )
        parser.add_argument(
            "--older-than",
            metavar="DURATION",
            type=_duration_arg,
            help="only entries unchanged for at least this long, e.g. 30m, 2h, 1d",
        )
        parser.add_argument(
            "--limit",
            type=int,
            default=200,
            metavar="N",
            help="list at most N entries, the oldest (default: %(default)s)",
        )
        parser.add_argument(
            "--contacts",
            action="store_true",
            help=(
                "also list the suppliers and customers kashflow-sync created, in every state "
                "unless --state is given"
            ),
        )


def _duration_arg(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except errors.ConfigurationError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def _states(chosen: list[str] | None) -> tuple[str, ...] | None:
    if not chosen:
        return UNFINISHED_STATES
    if "all" in chosen:
        return None
    states: list[str] = []
    for state in chosen:
        states.extend(UNFINISHED_STATES if state == "unfinished" else [state])
    return tuple(dict.fromkeys(states))


#: Units a duration is shown in, largest first.
_SHOWN_UNITS = (("d", 86400), ("h", 3600), ("m", 60))


def _duration_text(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (*_SHOWN_UNITS, ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "-"
    seconds = max(0, int((now - moment).total_seconds()))
    for unit, size in _SHOWN_UNITS:
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def _held(holder: str | None, until: datetime) -> str:
    """An entry being published now, by whom and until when (its hold, in UTC)."""
    at = until.astimezone(timezone.utc).strftime("%H:%M:%S")
    return f"being published now by {holder or 'another worker'}, until {at} UTC"


def _row_json(row: Any) -> dict[str, Any]:
    """A :class:`~kashflow_sync.JournalSummary` as JSON: its fields (the connection aside)."""
    return attrs.asdict(
        row,
        filter=lambda field, _value: field.name != "connection_id",
        value_serializer=lambda _row, _field, value: (
            value.isoformat() if isinstance(value, datetime) else value
        ),
    )


def _listing(client: Any, states: tuple[str, ...] | None, args: argparse.Namespace) -> list[Any]:
    """The entries asked for, oldest first, one more than ``--limit`` if there are more.

    ``--contacts`` without ``--state`` lists the contacts the SDK created in every state (they
    are ``published`` once made, so the default unfinished states would hide them all) beside
    the unfinished documents.
    """
    from .._storage_keys import CONTACT_KEY_PREFIX

    limit = args.limit + 1
    if not (args.contacts and not args.state):
        rows: list[Any] = client.journal(
            states, args.older_than, limit=limit, include_contacts=args.contacts
        )
        return rows
    documents = client.journal(states, args.older_than, limit=limit)
    contacts = [
        row
        for row in client.journal(None, args.older_than, include_contacts=True)
        if row.external_id.startswith(CONTACT_KEY_PREFIX)
    ]
    oldest = datetime.min.replace(tzinfo=timezone.utc)
    merged = sorted([*documents, *contacts], key=lambda r: r.updated_at or oldest)
    return merged[:limit]


def run_journal(args: argparse.Namespace) -> int:
    """List the journal entries asked for, then what to do about them."""
    from ._account import credentials, db_url, missing_sqlite_file, open_client

    if args.limit < 1:
        raise usage_error(f"--limit must be at least 1, not {args.limit}", "journal")
    missing = missing_sqlite_file(db_url(args))
    if missing is not None:
        raise errors.NotConnectedError(
            f"no local database at {missing}: nothing was published from it",
            remedy="Pass the database the documents were published with (--db or "
            "$KASHFLOW_SYNC_DB), or run `kashflow-sync connect` first.",
        )
    states = _states(args.state)
    with open_client(args, credentials=credentials(required=False)) as client:
        # One more than asked, to say whether the listing was cut short.
        rows = _listing(client, states, args)
        more, rows = len(rows) > args.limit, rows[: args.limit]
        if args.json:
            emit_json(
                {
                    "ok": True,
                    "connection_id": client.connection_id,
                    "states": list(states) if states is not None else None,
                    "older_than_seconds": None
                    if args.older_than is None
                    else args.older_than.total_seconds(),
                    "entries": [_row_json(r) for r in rows],
                    "more": more,
                }
            )
            return EXIT_OK
        _show(Console(), client, rows, states, args, more)
    return EXIT_OK


def _show(
    console: Console,
    client: Any,
    rows: list[Any],
    states: tuple[str, ...] | None,
    args: argparse.Namespace,
    more: bool,
) -> None:
    now = datetime.now(timezone.utc)
    what = "every state" if states is None else ", ".join(states)
    if args.contacts and not args.state:
        what += "; contacts the SDK created in every state"
    if args.older_than is not None:
        what += f"; unchanged for {_duration_text(args.older_than)} or more"
    console.detail("connection", client.connection_id)
    console.detail("database", repr(client.storage))
    console.detail("showing", what)
    console.print()
    if not rows:
        console.ok("No journal entries match.")
        return
    table = [
        (
            r.external_id,
            r.kind,
            r.state,
            r.number if r.number is not None else "-",
            r.attempts,
            _ago(r.updated_at, now),
            _held(r.held_by, r.leased_until) if r.leased_until else (r.last_error or "-"),
        )
        for r in rows
    ]
    console.table(
        ("external id", "kind", "state", "number", "steps", "updated", "last error"),
        table,
        align="lllrrll",
    )
    if more:
        console.print()
        console.warn(f"Only the oldest {args.limit} are shown: raise --limit to see more.")
    groups: dict[str, list[str]] = {}
    for r in rows:
        if r.remedy:
            groups.setdefault(r.remedy, []).append(r.external_id)
    if groups:
        console.heading("What to do")
        for remedy, ids in groups.items():
            shown = ", ".join(ids[:_IDS_SHOWN])
            if len(ids) > _IDS_SHOWN:
                shown += f" and {len(ids) - _IDS_SHOWN} more"
            console.wrapped(remedy, indent=2, prefix=console.styled("→ ", "cyan"))
            console.wrapped(f"({shown})", indent=4)
