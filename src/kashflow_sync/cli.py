"""``kashflow-sync``: the command line.

Commands::

    kashflow-sync demo                      the whole flow against an embedded fake KashFlow
    kashflow-sync connect                   AutoAuth, check the credentials, sync every list
    kashflow-sync refresh [--only LIST]     re-pull lists and show what changed
    kashflow-sync status [--check]          what the local database knows about the connection
    kashflow-sync publish FILE.json [...]   validate and publish documents (``--dry-run``)

Credentials come only from the environment (``KASHFLOW_USERNAME``, ``KASHFLOW_PASSWORD`` and
optionally ``KASHFLOW_AUTOAUTH_KEY``), never from arguments, so they stay out of shell history
and process lists.

Exit codes: 0 everything worked; 1 a document failed or has validation problems; 2 usage or
configuration error (bad arguments, missing variable, unreadable file, not connected yet);
3 authentication, IP access list or permission problem; 4 transient or uncertain outcome
(network trouble, KashFlow unavailable: run the same command again later).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from . import errors
from ._cli_documents import DocumentFileError, load_documents
from ._config import KASHFLOW_SOAP_URL, Credentials

__all__ = [
    "ENV_AUTOAUTH_KEY",
    "ENV_DB",
    "ENV_PASSWORD",
    "ENV_USERNAME",
    "EXIT_AUTH",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_TRANSIENT",
    "EXIT_USAGE",
    "ConfigError",
    "build_parser",
    "default_db_url",
    "env_credentials",
    "error_json",
    "exit_code_for",
    "load_documents",
    "main",
]

#: Everything worked.
EXIT_OK = 0
#: At least one document failed to publish, or has validation problems.
EXIT_FAILED = 1
#: Bad arguments, a missing environment variable, an unreadable file, or not connected yet.
EXIT_USAGE = 2
#: KashFlow refused the credentials, this machine's IP, or API access.
EXIT_AUTH = 3
#: Network trouble or an uncertain outcome: running the same command again later is safe.
EXIT_TRANSIENT = 4

ENV_USERNAME = "KASHFLOW_USERNAME"
ENV_PASSWORD = "KASHFLOW_PASSWORD"
ENV_AUTOAUTH_KEY = "KASHFLOW_AUTOAUTH_KEY"
#: Overrides the default database URL when ``--db`` is not given.
ENV_DB = "KASHFLOW_SYNC_DB"


class ConfigError(Exception):
    """The command cannot run as configured (exit code 2); the message says what to change."""


def default_db_url() -> str:
    """The SQLite database used when neither ``--db`` nor ``KASHFLOW_SYNC_DB`` is given."""
    from pathlib import Path

    import platformdirs

    folder = Path(platformdirs.user_data_dir("kashflow-sync", appauthor=False))
    return f"sqlite:///{folder / 'kashflow-sync.db'}"


def exit_code_for(exc: BaseException) -> int:
    """The exit code for an error that stopped a command (see the module docstring)."""
    if isinstance(
        exc, (errors.AuthenticationError, errors.IPNotAllowedError, errors.PermissionDeniedError)
    ):
        return EXIT_AUTH
    if isinstance(exc, (errors.NotConnectedError, ConfigError, DocumentFileError)):
        return EXIT_USAGE
    if isinstance(exc, (errors.ValidationError, errors.RejectedError)):
        return EXIT_FAILED
    if isinstance(exc, errors.KashFlowError):
        return EXIT_TRANSIENT if exc.retryable else EXIT_FAILED
    return EXIT_FAILED


def _add_account_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("account and storage")
    group.add_argument(
        "--endpoint",
        default=KASHFLOW_SOAP_URL,
        metavar="URL",
        help="KashFlow SOAP endpoint (default: %(default)s)",
    )
    group.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help=(
            "SQLAlchemy database URL for lists, rules and the publish journal, e.g. "
            f"sqlite:///kf.db or postgresql+psycopg://... (default: ${ENV_DB}, else a SQLite "
            "file in your user data folder)"
        ),
    )
    group.add_argument(
        "--connection-id",
        default="default",
        metavar="ID",
        help="tenant key inside the database, one per KashFlow account (default: %(default)s)",
    )
    group.add_argument(
        "--app-name",
        default="kashflow-sync",
        metavar="NAME",
        help="name KashFlow shows beside the IP address AutoAuth adds (default: %(default)s)",
    )
    group.add_argument(
        "--json", action="store_true", help="print one JSON object on stdout, for scripts"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``kashflow-sync``."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="kashflow-sync",
        description=(
            "Connect a KashFlow account, keep its lists in sync and publish purchase and sales "
            "invoices exactly once."
        ),
        epilog=(
            f"Credentials come from ${ENV_USERNAME}, ${ENV_PASSWORD} and (optionally) "
            f"${ENV_AUTOAUTH_KEY}. Exit codes: 0 ok, 1 documents failed or have problems, "
            "2 usage/configuration, 3 authentication/IP/permission, 4 transient or uncertain "
            "(try again later)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    demo = commands.add_parser(
        "demo", help="run the whole flow against an embedded fake KashFlow (no account needed)"
    )
    demo.set_defaults(handler="demo")

    connect = commands.add_parser(
        "connect", help="allow this machine's IP (AutoAuth), check credentials, sync all lists"
    )
    _add_account_options(connect)
    connect.set_defaults(handler="connect")

    from ._models import LIST_NAMES

    refresh = commands.add_parser("refresh", help="re-pull lists and show what changed")
    refresh.add_argument(
        "--only",
        action="append",
        choices=list(LIST_NAMES),
        metavar="LIST",
        help=f"refresh only this list (repeatable): {', '.join(LIST_NAMES)}",
    )
    _add_account_options(refresh)
    refresh.set_defaults(handler="refresh")

    status = commands.add_parser(
        "status", help="show the connection's state and lists from the local database"
    )
    status.add_argument(
        "--check",
        action="store_true",
        help="also check the credentials against KashFlow (one small request)",
    )
    _add_account_options(status)
    status.set_defaults(handler="status")

    publish = commands.add_parser(
        "publish", help="validate and publish documents from JSON files, exactly once"
    )
    publish.add_argument("files", nargs="+", metavar="FILE.json", help="document files")
    publish.add_argument(
        "--dry-run", action="store_true", help="validate only (offline); publish nothing"
    )
    publish.add_argument(
        "--concurrency",
        type=_positive_int,
        default=4,
        metavar="N",
        help="documents published at once (default: %(default)s)",
    )
    _add_account_options(publish)
    publish.set_defaults(handler="publish")
    from .testing._serve import add_fake_parser

    add_fake_parser(commands)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``kashflow-sync`` with *argv* (default ``sys.argv[1:]``); return the exit code."""
    _quiet_library_logs()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help, --version and usage errors
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    want_json = bool(getattr(args, "json", False))
    try:
        if callable(args.handler):  # commands that bring their own handler (fake serve)
            return int(args.handler(args))
        if args.handler == "demo":
            from ._cli_demo import run_demo

            return run_demo()
        from . import _cli_commands

        handler = getattr(_cli_commands, f"cmd_{args.handler}")
        code: int = handler(args)
        return code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`kashflow-sync status | head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (errors.KashFlowError, ConfigError, DocumentFileError) as exc:
        _report_error(exc, want_json)
        return exit_code_for(exc)
    except Exception as exc:
        from .storage import SchemaVersionError

        if isinstance(exc, SchemaVersionError):
            _report_error(ConfigError(str(exc)), want_json)
            return EXIT_USAGE
        raise


def _quiet_library_logs() -> None:
    # The command reports every error itself; without a handler, Python would also print the
    # library's warnings (e.g. "KashFlow refused the credentials") to stderr a second time.
    logger = logging.getLogger("kashflow_sync")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())


def _cli_remedy(exc: errors.KashFlowError) -> str:
    """The remedy in the command line's terms where the library's names a Python call."""
    if isinstance(exc, errors.NotConnectedError):
        return "Run `kashflow-sync connect` first (with the KASHFLOW_* variables exported)."
    if exc.code == "needs_reconnect":
        return "Export the new credentials and run `kashflow-sync connect` again."
    return exc.remedy


def error_json(exc: BaseException) -> dict[str, Any]:
    """An error as a JSON-ready dict: type, code, message, remedy and, where known, problems."""
    if isinstance(exc, errors.KashFlowError):
        data: dict[str, Any] = {
            "type": type(exc).__name__,
            "code": exc.code,
            "message": exc.message,
            "remedy": _cli_remedy(exc),
            "retryable": exc.retryable,
        }
        if exc.operation:
            data["operation"] = exc.operation
        if exc.detail:
            data["detail"] = exc.detail
        if isinstance(exc, errors.ValidationError):
            data["problems"] = [
                {"code": p.code, "field": p.field, "message": p.message, "remedy": p.remedy}
                for p in exc.problems
            ]
        return data
    code = "document_file" if isinstance(exc, DocumentFileError) else "config"
    return {"type": type(exc).__name__, "code": code, "message": str(exc)}


def _report_error(exc: BaseException, want_json: bool) -> None:
    if want_json:
        print(json.dumps({"ok": False, "error": error_json(exc)}, indent=2))
        return
    from ._cli_output import Console

    console = Console(sys.stderr)
    if isinstance(exc, errors.KashFlowError):
        console.fail(f"{exc} ({exc.code})")
        console.print(f"  {console.style('What to do:', 'bold')} {_cli_remedy(exc)}")
    else:
        console.fail(str(exc))


def env_credentials(*, required: bool = True) -> Credentials | None:
    """Credentials from the environment; None if absent and not *required*.

    Raises:
        ConfigError: a required variable is missing (the message names it).

    """
    username = os.environ.get(ENV_USERNAME, "").strip()
    password = os.environ.get(ENV_PASSWORD, "")
    key = os.environ.get(ENV_AUTOAUTH_KEY, "").strip() or None
    missing = [
        name for name, value in ((ENV_USERNAME, username), (ENV_PASSWORD, password)) if not value
    ]
    if missing:
        if not required:
            return None
        raise ConfigError(
            f"{'environment variables' if len(missing) > 1 else 'environment variable'} "
            f"{' and '.join(missing)} {'are' if len(missing) > 1 else 'is'} not set: export your "
            "KashFlow "
            f"username as ${ENV_USERNAME} and password as ${ENV_PASSWORD} (and the AutoAuth "
            f"key as ${ENV_AUTOAUTH_KEY}); credentials are never taken as arguments"
        )
    return Credentials(username=username, password=password, autoauth_key=key)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
