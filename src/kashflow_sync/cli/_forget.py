"""``kashflow-sync forget`` and ``kashflow-sync verify``: after a person acted in KashFlow.

``forget ID`` lets a document deleted in KashFlow be published again (it asks KashFlow first);
``verify`` looks again for late second copies of documents that were sent twice, and says
which copy to delete. Both need the account's credentials, like ``publish``.
"""

from __future__ import annotations

import argparse
from typing import Any

from .._journal.states import CLAIMED, DUPLICATED, FORGOTTEN
from ._account import Subparsers, account_command
from ._errors import EXIT_FAILED, EXIT_OK
from ._output import Console, emit_json

__all__ = ["register"]


def register(commands: Subparsers) -> None:
    """Add ``forget`` and ``verify`` to the CLI's subcommands."""
    from ._journal import _duration_arg

    with account_command(commands, "forget", run_forget) as forget:
        forget.add_argument("external_id", metavar="ID", help="the document's external id")

    with account_command(commands, "verify", run_verify) as verify:
        verify.add_argument(
            "--horizon",
            metavar="DURATION",
            type=_duration_arg,
            default=None,
            help="how long after its send a document is watched (default: 1d)",
        )


def _summary_json(row: Any) -> dict[str, Any]:
    from ._journal import _row_json

    return _row_json(row)


def run_forget(args: argparse.Namespace) -> int:
    """Forget one document after KashFlow confirms it is gone."""
    from ._account import credentials, open_client

    with open_client(args, credentials=credentials(required=True)) as client:
        row = client.forget(args.external_id)
    if args.json:
        emit_json({"ok": True, "entry": _summary_json(row)})
        return EXIT_OK
    console = Console()
    if row.state == FORGOTTEN:
        console.ok(
            f"{row.external_id}: forgotten ({row.message}). Publishing it again creates it anew."
        )
    elif row.state == CLAIMED:
        console.ok(f"{row.external_id}: nothing of it was sent to KashFlow; nothing to forget.")
    else:
        console.ok(
            f"{row.external_id}: KashFlow now holds only number {row.number}, which the journal "
            "keeps as this document's."
        )
    return EXIT_OK


def run_verify(args: argparse.Namespace) -> int:
    """Look for late second copies; exit 1 while a duplicate is in KashFlow."""
    from datetime import timedelta

    from ._account import credentials, open_client

    horizon = args.horizon if args.horizon is not None else timedelta(days=1)
    with open_client(args, credentials=credentials(required=True)) as client:
        rows = client.verify(horizon=horizon)
    duplicated = [r for r in rows if r.state == DUPLICATED]
    if args.json:
        emit_json({"ok": not duplicated, "entries": [_summary_json(r) for r in rows]})
        return EXIT_FAILED if duplicated else EXIT_OK
    console = Console()
    if not rows:
        console.ok("No late second copy found.")
        return EXIT_OK
    for row in rows:
        if row.state == DUPLICATED:
            console.warn(f"{row.external_id}: {row.message}")
            console.wrapped(row.remedy or "", indent=2, prefix=console.styled("→ ", "cyan"))
        else:
            console.ok(f"{row.external_id}: only number {row.number} is left; published again.")
    return EXIT_FAILED if duplicated else EXIT_OK
