"""The account commands of ``kashflow-sync``: connect, refresh, status, and schema.

Each ``register_*`` function adds one subcommand to the parser; the heavy parts of the SDK
(the client, SQLAlchemy, zeep) are imported only when a command runs, so ``--help`` is quick.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import attrs

from .. import errors
from .._error_codes import ErrorCode
from ._account import Subparsers, account_command, add_command
from ._errors import EXIT_AUTH, EXIT_OK, EXIT_USAGE, cli_remedy
from ._output import Console, emit_json, show_sync_report, sync_progress

__all__ = [
    "register_connect",
    "register_demo",
    "register_refresh",
    "register_schema",
    "register_status",
]


def _report_json(report: Any) -> dict[str, Any]:
    return {
        "duration": round(report.duration, 3),
        "lists": {name: attrs.asdict(c) for name, c in report.lists.items()},
    }


# ---------------------------------------------------------------------------- demo


def register_demo(commands: Subparsers) -> None:
    """``kashflow-sync demo``."""
    add_command(commands, "demo", run_demo)


def run_demo(_args: argparse.Namespace) -> int:
    """The whole flow against a fake KashFlow served on this machine."""
    from ._demo import run_demo as tour

    return tour()


# ---------------------------------------------------------------------------- connect


def register_connect(commands: Subparsers) -> None:
    """``kashflow-sync connect``."""
    with account_command(commands, "connect", run_connect) as parser:
        _add_force_option(parser)


def _add_force_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force",
        action="store_true",
        help=(
            "store a list even if more than half of its items would be archived (refused "
            "otherwise: an answer cut short looks like that)"
        ),
    )


def run_connect(args: argparse.Namespace) -> int:
    """AutoAuth, check the credentials, sync every list; remember the endpoint."""
    from ._account import credentials, open_client, remember_endpoint

    creds = credentials(required=True)
    console = Console()
    with open_client(args, credentials=creds) as client:
        if not args.json:
            console.step(f"Connecting {creds.username!r} to {client.endpoint}")
            if creds.autoauth_key:
                console.step(
                    "AutoAuth: asking KashFlow to add this machine's IP to the API access "
                    f"list as {args.app_name!r}"
                )
            else:
                console.warn(
                    "No KASHFLOW_AUTOAUTH_KEY: this machine's IP must already be in the "
                    "account's API access list"
                )
        progress, finish = sync_progress(Console(sys.stderr), "syncing lists")
        report = client.connect(progress=None if args.json else progress, force=args.force)
        finish()
        remember_endpoint(client)
        if args.json:
            emit_json(
                {
                    "ok": True,
                    "connection_id": client.connection_id,
                    "endpoint": client.endpoint,
                    "status": client.status.value,
                    **_report_json(report),
                }
            )
            return EXIT_OK
        console.ok(
            f"Connected: connection {client.connection_id!r}, lists synced in "
            f"{report.duration:.2f}s"
        )
        show_sync_report(console, report)
        console.print()
        console.print(f"  Stored in {client.storage!r}")
    return EXIT_OK


# ---------------------------------------------------------------------------- refresh


def register_refresh(commands: Subparsers) -> None:
    """``kashflow-sync refresh``."""
    from .._account.items import LIST_NAMES

    with account_command(commands, "refresh", run_refresh) as parser:
        parser.add_argument(
            "--only",
            action="append",
            choices=list(LIST_NAMES),
            metavar="LIST",
            help=f"refresh only this list (repeatable): {', '.join(LIST_NAMES)}",
        )
        _add_force_option(parser)


def run_refresh(args: argparse.Namespace) -> int:
    """Re-pull all or some lists and show what changed."""
    from ._account import credentials, open_client

    creds = credentials(required=True)
    console = Console()
    with open_client(args, credentials=creds) as client:
        progress, finish = sync_progress(Console(sys.stderr), "refreshing")
        report = client.refresh_lists(
            args.only, progress=None if args.json else progress, force=args.force
        )
        finish()
        if args.json:
            emit_json({"ok": True, "connection_id": client.connection_id, **_report_json(report)})
            return EXIT_OK
        console.ok(f"Lists refreshed in {report.duration:.2f}s")
        show_sync_report(console, report)
    return EXIT_OK


# ---------------------------------------------------------------------------- status


def register_status(commands: Subparsers) -> None:
    """``kashflow-sync status``."""
    with account_command(commands, "status", run_status) as parser:
        parser.add_argument(
            "--check",
            action="store_true",
            help="also check the credentials against KashFlow (one small request)",
        )


def _status_problem(status: Any, connection_id: str) -> errors.KashFlowError | None:
    """The error a connection's status amounts to, for the exit code and the remedy."""
    from .._account.items import ConnectionStatus

    if status is ConnectionStatus.NOT_CONNECTED:
        return errors.NotConnectedError(f"connection {connection_id!r} is not connected")
    if status is ConnectionStatus.NEEDS_RECONNECT:
        return errors.AuthenticationError(
            f"KashFlow refused the credentials of connection {connection_id!r}: publishing is "
            "paused until it is reconnected (offline dry runs still work)",
            code=ErrorCode.NEEDS_RECONNECT,
        )
    return None


def _status_exit(problem: errors.KashFlowError | None) -> int:
    if problem is None:
        return EXIT_OK
    return EXIT_AUTH if isinstance(problem, errors.AuthenticationError) else EXIT_USAGE


def run_status(args: argparse.Namespace) -> int:
    """The connection's state, lists and rules from the local database (and ``--check``)."""
    from .._account.items import LIST_NAMES, ConnectionStatus
    from ._account import (
        check_explicit_endpoint,
        credentials,
        db_url,
        missing_sqlite_file,
        open_client,
    )

    check_explicit_endpoint(args)
    creds = credentials(required=args.check)
    console = Console()
    missing = missing_sqlite_file(db_url(args))
    if missing is not None:
        # Nothing was ever stored here: say so rather than create an empty database to read.
        problem = _status_problem(ConnectionStatus.NOT_CONNECTED, args.connection_id)
        assert problem is not None
        if args.json:
            emit_json(
                {
                    "ok": False,
                    "connection_id": args.connection_id,
                    "database": str(missing),
                    "status": ConnectionStatus.NOT_CONNECTED.value,
                    "checked": None,
                    "error": _problem_json(problem),
                }
            )
        else:
            console.print(f"status: not_connected (no local database at {missing} yet)")
            console.print(f"  {cli_remedy(problem)}")
        return _status_exit(problem)
    with open_client(args, credentials=creds) as client:
        checked: bool | None = None
        if args.check and client.status is ConnectionStatus.CONNECTED:
            # A refresh of the smallest list proves the credentials and the IP still work.
            client.refresh_lists(["currencies"])
            checked = True
        counts = {
            name: {"active": len(items.active), "total": len(items)}
            for name in LIST_NAMES
            for items in (client.lists.get(name),)
        }
        rules = {
            "supplier": len(client.rules.supplier_rules()),
            "customer": len(client.rules.customer_rules()),
        }
        problem = _status_problem(client.status, client.connection_id)
        if args.json:
            data: dict[str, Any] = {
                "ok": problem is None,
                "connection_id": client.connection_id,
                "database": getattr(client.storage, "url", None),
                "endpoint": client.endpoint,
                "status": client.status.value,
                "checked": checked,
                "lists": counts,
                "rules": rules,
            }
            if problem is not None:
                data["error"] = _problem_json(problem)
            emit_json(data)
            return _status_exit(problem)
        colour = {
            ConnectionStatus.CONNECTED: "green",
            ConnectionStatus.NEEDS_RECONNECT: "red",
            ConnectionStatus.NOT_CONNECTED: "yellow",
        }[client.status]
        console.detail("connection", client.connection_id)
        console.detail("database", repr(client.storage))
        console.detail("endpoint", client.endpoint)
        console.detail("status", console.styled(client.status.value, f"bold {colour}"))
        if checked:
            console.detail("check", console.styled("KashFlow accepted the credentials", "green"))
        console.detail("rules", f"{rules['supplier']} supplier, {rules['customer']} customer")
        console.print()
        rows = [(n, c["active"], c["total"] - c["active"]) for n, c in counts.items()]
        console.table(("list", "active", "archived"), rows, align="lrr")
        if problem is not None:
            console.print()
            console.warn(f"{problem.message}. {cli_remedy(problem)}")
    return _status_exit(problem)


def _problem_json(problem: errors.KashFlowError) -> dict[str, Any]:
    from ._errors import error_json

    return error_json(problem)


# ---------------------------------------------------------------------------- schema


def register_schema(commands: Subparsers) -> None:
    """``kashflow-sync schema``."""
    add_command(commands, "schema", run_schema)


def run_schema(_args: argparse.Namespace) -> int:
    """Print the shipped JSON Schema."""
    from .._documents.schema import document_schema

    emit_json(document_schema())
    return EXIT_OK
