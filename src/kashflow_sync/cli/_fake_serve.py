"""``kashflow-sync fake serve``: the fake KashFlow as a server, for tests in any language.

The CLI registers the command with :func:`add_fake_parser`; :func:`run_fake_serve` does the
work. The server speaks KashFlow's SOAP API on ``/api/service.asmx`` (``?WSDL`` included,
pointing at itself) and a JSON control API on ``/_fake/`` (see docs/testing.md).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

__all__ = ["add_fake_parser", "run_fake_serve"]


class _Stop(Exception):
    """Raised in the main thread by the SIGTERM handler to leave the serving loop."""


def add_fake_parser(commands: Any) -> None:
    """Add ``fake serve`` to the CLI's subcommands (an argparse ``_SubParsersAction``).

    Args:
        commands: what ``parser.add_subparsers()`` returned.

    """
    fake = commands.add_parser(
        "fake", help="run a fake KashFlow for tests, from any language (see `fake serve -h`)"
    )
    actions = fake.add_subparsers(dest="fake_command", metavar="COMMAND")
    actions.required = True
    serve = actions.add_parser(
        "serve",
        help="serve the fake KashFlow SOAP API and its JSON control API until stopped",
        description=(
            "Serve a fake KashFlow: SOAP on /api/service.asmx (?WSDL too), a JSON control API "
            "on /_fake/. Stops cleanly on Ctrl-C or SIGTERM."
        ),
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (%(default)s)")
    serve.add_argument(
        "--port", type=int, default=0, metavar="N", help="port to bind (default: a free one)"
    )
    serve.add_argument(
        "--seed",
        default="demo",
        metavar="demo|empty|FILE.json",
        help="the account to start with: the demo UK account, an empty one, or a JSON seed file",
    )
    serve.add_argument("--username", default="demo", help="the account's user name")
    serve.add_argument(
        "--password", default=None, help="the API password (default: a random one, printed)"
    )
    serve.add_argument(
        "--autoauth-key", default="1234ABCD-1234", help="the AutoAuth key (%(default)s)"
    )
    serve.add_argument(
        "--allow-ip",
        action="append",
        default=[],
        metavar="IP",
        help="add IP to the API access list at start (else callers run AutoAuthIP first)",
    )
    serve.add_argument(
        "--json", action="store_true", help="print the connection details as one JSON line"
    )
    serve.set_defaults(run=run_fake_serve)


def run_fake_serve(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; print where and with which credentials first.

    Args:
        args: the parsed ``fake serve`` options.

    Returns:
        0 once stopped; 2 when the seed or the address is unusable.

    """
    from ..testing._fake.kashflow import FakeKashFlow

    try:
        seed = _seed(args.seed)
        fake = FakeKashFlow(
            username=args.username,
            password=args.password,
            autoauth_key=args.autoauth_key,
            seed=seed,
        )
        for ip in args.allow_ip:
            fake.allow_ip(ip, "kashflow-sync fake serve --allow-ip")
        fake.start(host=args.host, port=args.port)
    except (OSError, ValueError, TypeError) as exc:
        print(f"kashflow-sync fake serve: {exc}", file=sys.stderr)
        return 2
    details = {
        "url": fake.url,
        "wsdl": fake.wsdl_url,
        "control": fake.control_url,
        "username": fake.username,
        "password": fake.password,
        "autoauth_key": fake.autoauth_key,
    }
    if args.json:
        print(json.dumps(details), flush=True)
    else:
        print(
            "FakeKashFlow is serving KashFlow's SOAP API\n"
            f"  endpoint:     {details['url']}\n"
            f"  WSDL:         {details['wsdl']}\n"
            f"  control API:  {details['control']}\n"
            f"  username:     {details['username']}\n"
            f"  password:     {details['password']}\n"
            f"  AutoAuth key: {details['autoauth_key']}\n"
            "Stop with Ctrl-C.",
            flush=True,
        )
    previous = signal.signal(signal.SIGTERM, _raise_stop)
    try:
        threading.Event().wait()  # until a signal raises in this (the main) thread
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        fake.close(late_writes="cancel")
    print("FakeKashFlow stopped.", file=sys.stderr, flush=True)
    return 0


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def _seed(value: str) -> Any:
    """``demo``, ``empty``, or the parsed JSON seed file (see ``apply_seed``).

    Raises:
        ValueError: the file cannot be read or is not a JSON object.

    """
    if value in ("demo", "empty"):
        return value
    from ..testing._fake.jsonio import loads

    path = Path(value)
    try:
        data = loads(path.read_bytes())
    except OSError as exc:
        raise ValueError(f"cannot read seed file {value}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"seed file {value} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"seed file {value} must hold a JSON object")
    return data
