"""``kashflow-sync``: the command line.

Commands::

    kashflow-sync demo                      the whole flow against an embedded fake KashFlow
    kashflow-sync connect                   AutoAuth, check the credentials, sync every list
    kashflow-sync refresh [--only LIST]     re-pull lists and show what changed
    kashflow-sync status [--check]          what the local database knows about the connection
    kashflow-sync publish FILE|FOLDER ...   validate and publish documents (``--dry-run``)
    kashflow-sync journal [--state STATE]   what has not finished publishing, and what to do
    kashflow-sync lists [NAME]              the synced lists (nominal codes, suppliers, ...)
    kashflow-sync rules set|show|delete     supplier and customer rules
    kashflow-sync profile add|list|remove   named accounts in a config file (--profile NAME)
    kashflow-sync schema                    the JSON Schema of document files
    kashflow-sync doctor [--probe-writes]   check the connection, learn how the account answers

Credentials come only from the environment (``KASHFLOW_USERNAME``, ``KASHFLOW_PASSWORD`` and
optionally ``KASHFLOW_AUTOAUTH_KEY``) or, under ``--profile``, from the profile (the username)
and the OS keyring (the secrets); never from arguments, so they stay out of shell history and
process lists.

Every failure goes through :func:`main`'s one handler: one line saying what happened and what
to do on stderr (one JSON object on stdout under ``--json``), no traceback, and an exit code
from :mod:`kashflow_sync.cli._errors` (0 ok, 1 documents failed, 2 usage or configuration,
3 authentication, 4 try again later, 70 a bug, 130 interrupted).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from .. import errors
from .._config import ENV_AUTOAUTH_KEY, ENV_PASSWORD, ENV_USERNAME
from .._documents.files import load_documents
from .._error_codes import ErrorCode
from ._account import ENV_DB
from ._errors import (
    ENV_ENDPOINT,
    EXIT_AUTH,
    EXIT_FAILED,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TRANSIENT,
    EXIT_USAGE,
    cli_remedy,
    error_json,
    exit_code_for,
    usage_error,
)
from ._trace import TRACE_OPTION, tracing

__all__ = [
    "COMMANDS",
    "ENV_AUTOAUTH_KEY",
    "ENV_DB",
    "ENV_ENDPOINT",
    "ENV_PASSWORD",
    "ENV_USERNAME",
    "EXIT_AUTH",
    "EXIT_FAILED",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TRANSIENT",
    "EXIT_USAGE",
    "build_parser",
    "error_json",
    "exit_code_for",
    "load_documents",
    "main",
]

#: Set to 1 to let an unexpected exception print its traceback (for bug reports).
ENV_DEBUG = "KASHFLOW_SYNC_DEBUG"

#: Every subcommand, in ``--help`` order, as ``"module:function"``: the function adds the
#: command's parser to the subparsers, with ``set_defaults(run=handler)`` where the handler
#: takes the parsed arguments and returns the exit code. The one place commands are added.
COMMANDS: list[str] = [
    "kashflow_sync.cli._commands:register_demo",
    "kashflow_sync.cli._commands:register_connect",
    "kashflow_sync.cli._commands:register_refresh",
    "kashflow_sync.cli._commands:register_status",
    "kashflow_sync.cli._publish:register",
    "kashflow_sync.cli._journal:register",
    "kashflow_sync.cli._forget:register",
    "kashflow_sync.cli._lists:register_lists",
    "kashflow_sync.cli._lists:register_rules",
    "kashflow_sync.cli._profiles:register",
    "kashflow_sync.cli._commands:register_schema",
    "kashflow_sync.cli._doctor:register",
    "kashflow_sync.cli._fake_serve:add_fake_parser",
]


def _registrar(spec: str) -> Callable[[Any], None]:
    module, _, name = spec.partition(":")
    register: Callable[[Any], None] = getattr(importlib.import_module(module), name)
    return register


class _Parser(argparse.ArgumentParser):
    """argparse reporting mistakes through the CLI's handler (one line, JSON under --json)."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("kashflow-sync").strip()
        if "required: COMMAND" in message:
            choices = [
                name
                for action in self._actions
                if isinstance(action, argparse._SubParsersAction)
                for name in action.choices
            ]
            message = f"a command is required: {', '.join(choices)}"
        raise usage_error(message, command)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``kashflow-sync``."""
    from .. import __version__

    parser = _Parser(
        prog="kashflow-sync",
        description=(
            "Connect a KashFlow account, keep its lists in sync and publish purchase and sales "
            "invoices exactly once."
        ),
        epilog=(
            f"Credentials come from ${ENV_USERNAME}, ${ENV_PASSWORD} and (optionally) "
            f"${ENV_AUTOAUTH_KEY}. Exit codes: 0 ok, 1 documents failed or have problems, "
            "2 usage/configuration, 3 authentication/IP/permission, 4 transient or uncertain "
            "(try again later), 70 a bug, 130 interrupted."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        TRACE_OPTION,
        action="store_true",
        help=(
            "write the run's OpenTelemetry spans to stderr, or to the OTLP endpoint in "
            "$OTEL_EXPORTER_OTLP_ENDPOINT (needs opentelemetry-sdk; accepted anywhere)"
        ),
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    for spec in COMMANDS:
        _registrar(spec)(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``kashflow-sync`` with *argv* (default ``sys.argv[1:]``); return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    _quiet_library_logs()
    # Known before parsing, so even a usage error is reported as JSON when JSON was asked for.
    want_json = "--json" in argv
    args: argparse.Namespace | None = None
    try:
        trace = TRACE_OPTION in argv
        args = build_parser().parse_args([a for a in argv if a != TRACE_OPTION])
        from ._config_file import using_profile

        with using_profile(args):
            if not trace:
                code: int = args.run(args)
                return code
            with tracing(args):
                code = args.run(args)
        return code
    except SystemExit as exc:  # --help and --version
        return int(exc.code) if isinstance(exc.code, int) else EXIT_OK
    except KeyboardInterrupt:
        _report(_interrupted(), want_json, None)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`kashflow-sync status | head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        if not isinstance(exc, errors.KashFlowError) and os.environ.get(ENV_DEBUG):
            raise
        endpoint = getattr(args, "resolved_endpoint", None)
        _report(exc, want_json, endpoint)
        return exit_code_for(exc, endpoint=endpoint)


def _interrupted() -> errors.KashFlowError:
    return errors.KashFlowError(
        "interrupted (Ctrl-C)",
        code=ErrorCode.INTERRUPTED,
        remedy="Run the same command again when you are ready: it is safe to repeat.",
        retryable=True,
    )


def _quiet_library_logs() -> None:
    # The command reports every error itself; without a handler, Python would also print the
    # library's warnings (e.g. "KashFlow refused the credentials") to stderr a second time.
    logger = logging.getLogger("kashflow_sync")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())


def _report(exc: BaseException, want_json: bool, endpoint: str | None) -> None:
    """One line on stderr (a line per problem for document files), or one JSON object."""
    if want_json:
        from ._output import emit_json

        emit_json({"ok": False, "error": error_json(exc, endpoint=endpoint)})
        return
    from ._output import Console

    console = Console(sys.stderr)
    if isinstance(exc, errors.DocumentFileError):
        for name, problems in exc.files.items():
            for problem in problems:
                where = f"{name}: {problem.field}: " if problem.field else f"{name}: "
                text = f"{where}{problem.message} ({problem.code}) → {problem.remedy}"
                console.fail(" ".join(text.split()), one_line=True)
        if len(exc.problems) > 1:
            console.print(f"  {exc.message}; nothing was published.", soft_wrap=True)
        return
    if isinstance(exc, errors.KashFlowError):
        text = f"{exc.message} ({exc.code}) → {cli_remedy(exc, endpoint=endpoint)}"
    else:
        text = (
            f"unexpected {type(exc).__name__}: {exc} (internal_error) → this is a bug in "
            f"kashflow-sync: run again with {ENV_DEBUG}=1 and report the traceback"
        )
    console.fail(" ".join(text.split()), one_line=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
