"""``kashflow-sync doctor``: check an account's connection and learn how its KashFlow answers.

Read-only unless ``--probe-writes``, which asks first on a terminal (``--yes`` answers for a
script) and refuses without either. ``--record DIR`` writes a scrubbed vcrpy cassette of the
whole session; ``--json`` prints the report as one JSON object, scrubbed the same way. What
was learned is stored in the database for the connection (``client.account_facts``).

Exit codes: 0 nothing to fix; 1 a problem found or something left behind by the probe; 2, 3
or 4 as for the other commands when the checks could not get through (configuration,
credentials/IP/API access, network); 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import errors
from .._error_codes import ErrorCode
from ._account import Subparsers, account_command
from ._errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    error_json,
    exit_code_for,
    usage_error,
)
from ._output import Console, emit_json, sync_progress

__all__ = ["register", "run"]

_WHAT_PROBING_DOES = (
    "--probe-writes creates a throwaway supplier and receipt in this KashFlow account "
    "(a second receipt in another currency if the account has one; a tiny attachment; a "
    "payment), then a throwaway customer and invoice, and credit notes on both sides (refunds "
    "on them; one applied to the invoice); it reads them back, then deletes them all again. "
    "If this machine's IP is not allowed yet and a key is set, AutoAuthIP adds it to the "
    "access list (that stays)."
)


def register(commands: Subparsers) -> None:
    """``kashflow-sync doctor``."""
    with account_command(commands, "doctor", run) as parser:
        parser.add_argument(
            "--probe-writes",
            action="store_true",
            help="also create, read back and delete throwaway receipts, invoices and credit notes "
            "(asks first)",
        )
        parser.add_argument(
            "--yes", action="store_true", help="do not ask before --probe-writes (for scripts)"
        )
        parser.add_argument(
            "--record",
            metavar="DIR",
            type=Path,
            help="write a vcrpy cassette of the session into DIR, with credentials, names, "
            "e-mails, addresses and IP addresses scrubbed (needs kashflow-sync[record])",
        )


def _confirm(args: argparse.Namespace) -> bool:
    """Whether --probe-writes may go ahead: --yes, or a "y" typed on a terminal.

    The question goes to stderr, so stdout stays the report alone (JSON under ``--json``).
    """
    if not args.probe_writes or args.yes:
        return True
    if not sys.stdin.isatty():
        raise usage_error(
            "--probe-writes writes to the account and needs confirmation: run it in a terminal "
            "to be asked, or add --yes",
            "doctor",
        )
    Console(sys.stderr).wrapped(_WHAT_PROBING_DOES, indent=0)
    sys.stderr.write("Go ahead? [y/N] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def _cassette_path(folder: Path) -> Path:
    from .._doctor.record import check_recording_available

    check_recording_available()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise errors.ConfigurationError(
            f"cannot create the --record folder {str(folder)!r}: {exc.strerror or exc}",
            code=ErrorCode.RECORD_UNAVAILABLE,
            remedy="Give --record a folder you can write to.",
        ) from None
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return folder / f"kashflow-sync-doctor-{stamp}.yaml"


def run(args: argparse.Namespace) -> int:
    """Run doctor against the account in the environment; return the exit code."""
    from .._account.facts import save_account_facts
    from .._doctor.record import Scrubber, recording
    from .._doctor.run import DoctorOptions, run_doctor
    from ..storage import SQLStorage
    from ._account import _endpoint, check_explicit_endpoint, credentials, db_url
    from ._doctor_text import show_report

    check_explicit_endpoint(args)
    creds = credentials(required=True)
    console = Console()
    cassette = _cassette_path(args.record) if args.record is not None else None
    if not _confirm(args):
        if args.json:
            emit_json({"ok": True, "cancelled": True, "writes_sent": []})
        else:
            console.print("Cancelled: nothing was sent.")
        return EXIT_OK
    scrubber = Scrubber(creds.secrets, creds.username)
    storage = SQLStorage(db_url(args))
    try:
        endpoint = _endpoint(args, storage)
        progress, finish = sync_progress(Console(sys.stderr), "syncing lists")
        options = DoctorOptions(
            endpoint=endpoint,
            credentials=creds,
            app_name=args.app_name,
            probe_writes=args.probe_writes,
            progress=None if args.json else progress,
            tracer_provider=getattr(args, "tracer_provider", None),  # --trace
        )
        if not args.json:
            mode = "probing writes" if args.probe_writes else "read-only"
            Console(sys.stderr).step(f"Checking {endpoint} as {creds.username!r} ({mode})…")
        recorder = recording(cassette, scrubber) if cassette else contextlib.nullcontext()
        with recorder:
            try:
                report = run_doctor(options)
            finally:
                finish()
        saved = None
        if report.facts is not None:
            save_account_facts(storage, args.connection_id, report.facts)
            saved = f"{args.connection_id!r} in {storage!r}"
    finally:
        storage.close()
    code = _exit_code(report, endpoint)
    if args.json:
        extra: dict[str, Any] = {
            "connection_id": args.connection_id,
            "facts_saved": saved is not None,
            "cassette": str(cassette) if cassette else None,
        }
        if report.stopped_by is not None:
            extra["error"] = error_json(report.stopped_by, endpoint=endpoint)
        emit_json(scrubber.json(report.to_json(extra=extra)))
        return code
    show_report(
        console,
        report,
        username=creds.username,
        saved=saved,
        cassette=str(cassette) if cassette else None,
    )
    return code


def _exit_code(report: Any, endpoint: str) -> int:
    if report.interrupted:
        return EXIT_INTERRUPTED
    if report.stopped_by is not None:
        return exit_code_for(report.stopped_by, endpoint=endpoint)
    return EXIT_OK if report.ok else EXIT_FAILED
