"""The account a command works on: its options, credentials, database, endpoint and client.

The endpoint is remembered per connection: ``connect --endpoint URL`` stores it in the
database, and later commands use it unless ``--endpoint`` or ``KASHFLOW_ENDPOINT`` says
otherwise, so ``status --check`` after connecting to a test server never goes to the real
KashFlow by surprise.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import errors
from .._config import KASHFLOW_SOAP_URL, Credentials
from .._error_codes import ErrorCode
from ._config_file import DEFAULT_CONNECTION_ID
from ._errors import ENV_ENDPOINT

if TYPE_CHECKING:  # imported when a command runs: `--help` need not load zeep and SQLAlchemy
    from .._clients.sync_client import KashFlowClient
    from ..storage import SQLStorage

__all__ = [
    "DEFAULT_APP_NAME",
    "DEFAULT_CONNECTION_ID",
    "ENDPOINT_STATE_KEY",
    "ENV_DB",
    "Subparsers",
    "account_command",
    "add_account_options",
    "add_command",
    "check_connection_known",
    "check_endpoint",
    "credentials",
    "db_url",
    "default_db_url",
    "missing_sqlite_file",
    "open_client",
    "remember_endpoint",
]

#: Overrides the default database URL when ``--db`` is not given.
ENV_DB = "KASHFLOW_SYNC_DB"
#: Where the command line keeps a connection's endpoint in its database.
ENDPOINT_STATE_KEY = "cli.endpoint"

#: The name AutoAuth gives this machine's IP address in KashFlow's access list.
DEFAULT_APP_NAME = "kashflow-sync"

#: The subcommands of the parser (argparse's ``_SubParsersAction`` is private).
Subparsers = Any

#: Stands in for credentials in commands that only read the local database (never sent).
_OFFLINE = Credentials(username="(offline)", password="(offline)")


def add_command(
    commands: Subparsers, name: str, run: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    """Add the subcommand *name*, worded as :data:`~._help.COMMAND_TEXTS` says, run by *run*.

    Returns:
        The command's parser, for its own options.

    """
    from ._help import COMMAND_TEXTS

    summary, about = COMMAND_TEXTS[name]
    parser: argparse.ArgumentParser = commands.add_parser(name, help=summary, description=about)
    parser.set_defaults(run=run)
    return parser


@contextmanager
def account_command(
    commands: Subparsers,
    name: str,
    run: Callable[[argparse.Namespace], int],
    *,
    network: bool = True,
) -> Iterator[argparse.ArgumentParser]:
    """As :func:`add_command`, for a command on an account: the account options come last.

    Yields:
        The command's parser: its own options are added in the block, the account options
        after them (so ``--help`` lists them in that order).

    """
    parser = add_command(commands, name, run)
    yield parser
    add_account_options(parser, network=network)


def add_account_options(parser: argparse.ArgumentParser, *, network: bool = True) -> None:
    """The options every account command takes: profile, database, connection, JSON.

    Args:
        parser: the command's parser.
        network: whether the command may call KashFlow: only then are ``--endpoint`` and
            ``--app-name`` offered (a command that reads the database only has no use for them).

    """
    group = parser.add_argument_group("account and storage")
    group.add_argument(
        "--profile",
        default=None,
        metavar="NAME",
        help=(
            "take the username, database, connection id and endpoint from this profile of the "
            "config file (see `kashflow-sync profile`); options given here still win"
        ),
    )
    if network:
        group.add_argument(
            "--endpoint",
            default=None,
            metavar="URL",
            help=(
                f"KashFlow SOAP endpoint (default: ${ENV_ENDPOINT}, else the one `connect` "
                f"last used, else {KASHFLOW_SOAP_URL})"
            ),
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
        default=None,
        metavar="ID",
        help=(
            "tenant key inside the database, one per KashFlow account (default: the profile's, "
            f"else {DEFAULT_CONNECTION_ID})"
        ),
    )
    if network:
        group.add_argument(
            "--app-name",
            default=DEFAULT_APP_NAME,
            metavar="NAME",
            help="name KashFlow shows beside the IP address AutoAuth adds (default: %(default)s)",
        )
    group.add_argument(
        "--json", action="store_true", help="print one JSON object on stdout, for scripts"
    )


def default_db_url() -> str:
    """The SQLite database used when neither ``--db`` nor ``KASHFLOW_SYNC_DB`` is given."""
    import platformdirs

    folder = Path(platformdirs.user_data_dir("kashflow-sync", appauthor=False))
    return f"sqlite:///{folder / 'kashflow-sync.db'}"


def db_url(args: argparse.Namespace) -> str:
    """The database URL of this run: ``--db``, else ``$KASHFLOW_SYNC_DB``, else the default."""
    url: str = args.db or os.environ.get(ENV_DB) or default_db_url()
    return url


def missing_sqlite_file(url: str) -> Path | None:
    """The path of a SQLite database file that does not exist yet, else None."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # SQLStorage reports the bad URL
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if database.startswith("file:"):
        return None
    path = Path(database)
    return None if path.exists() else path


def credentials(*, required: bool) -> Credentials:
    """Credentials from the environment, or offline stand-ins when not *required* and absent.

    Under ``--profile`` the profile's username and the OS keyring's secrets for it stand in
    for the environment's (a secret the keyring does not hold is still read from it).

    Raises:
        ConfigurationError: a required variable is missing (the message names it).

    """
    from ._config_file import active_profile, profile_environ

    profile = active_profile()
    environ = os.environ if profile is None else profile_environ(profile, os.environ)
    try:
        return Credentials.from_env(environ)
    except errors.ConfigurationError:
        if required:
            raise
        return _OFFLINE


def check_endpoint(url: str) -> str:
    """*url* if it can be a SOAP endpoint (http or https with a host).

    Raises:
        ConfigurationError: ``invalid_endpoint``, saying what a right one looks like.

    """
    import httpx

    try:
        parsed = httpx.URL(url)
        usable = parsed.scheme in ("http", "https") and bool(parsed.host)
    except httpx.InvalidURL:
        usable = False
    if not usable:
        raise errors.ConfigurationError(
            f"the endpoint {url!r} is not an http(s) URL",
            code=ErrorCode.INVALID_ENDPOINT,
            remedy=(
                f"Give the full URL, e.g. --endpoint {KASHFLOW_SOAP_URL} (or "
                "http://127.0.0.1:8080/api/service.asmx for a local fake)."
            ),
        )
    return url


def check_explicit_endpoint(args: argparse.Namespace) -> None:
    """Check an endpoint given by ``--endpoint`` or the environment, before anything opens.

    A wrong endpoint is reported before any database is opened or created; the checked URL is
    kept in ``args.resolved_endpoint`` for error messages.
    """
    explicit = _explicit_endpoint(args)
    if explicit:
        args.resolved_endpoint = check_endpoint(explicit)


def _explicit_endpoint(args: argparse.Namespace) -> str | None:
    """``--endpoint``, else ``$KASHFLOW_ENDPOINT``; None for a command without ``--endpoint``."""
    if not hasattr(args, "endpoint"):
        return None  # a database-only command: it never calls KashFlow
    return args.endpoint or os.environ.get(ENV_ENDPOINT) or None


def _endpoint(args: argparse.Namespace, storage: SQLStorage) -> str:
    explicit = _explicit_endpoint(args)
    url = explicit or storage.get_state(args.connection_id, ENDPOINT_STATE_KEY) or KASHFLOW_SOAP_URL
    args.resolved_endpoint = check_endpoint(url)
    return url


@contextmanager
def open_client(
    args: argparse.Namespace, *, credentials: Credentials, create_missing_contacts: bool = True
) -> Iterator[KashFlowClient]:
    """The client of this run's account, closed (with its database) at the end."""
    from .._clients import sync_client as _client
    from ..storage import SQLStorage

    check_explicit_endpoint(args)
    storage = SQLStorage(db_url(args))
    try:
        if args.command != "connect":
            check_connection_known(storage, args.connection_id)
        with _client.KashFlowClient(
            credentials,
            app_name=getattr(args, "app_name", DEFAULT_APP_NAME),
            storage=storage,
            connection_id=args.connection_id,
            endpoint=_endpoint(args, storage),
            create_missing_contacts=create_missing_contacts,
            tracer_provider=getattr(args, "tracer_provider", None),  # --trace
        ) as client:
            yield client
    finally:
        storage.close()


def check_connection_known(storage: SQLStorage, connection_id: str) -> None:
    """Refuse a connection id the database does not hold when it holds one spelt nearly so.

    An id with no near match is left alone: it is simply not connected yet.

    Raises:
        NotConnectedError: ``unknown_connection``, naming the id meant.

    """
    import difflib

    known = storage.connection_ids()
    if connection_id in known:
        return
    close = difflib.get_close_matches(connection_id, known, n=3, cutoff=0.6)
    if not close:
        return
    meant = " or ".join(repr(c) for c in close)
    raise errors.NotConnectedError(
        f"the database holds no connection {connection_id!r}; did you mean {meant}?",
        code=ErrorCode.UNKNOWN_CONNECTION,
        remedy=(
            f"Pass --connection-id {close[0]} (the database holds: {', '.join(known)}), or run "
            f"`kashflow-sync connect --connection-id {connection_id}` to connect a new one."
        ),
    )


def remember_endpoint(client: KashFlowClient) -> None:
    """Store the endpoint a successful ``connect`` used, for the connection's later commands."""
    value = None if client.endpoint == KASHFLOW_SOAP_URL else client.endpoint
    client.storage.set_state(client.connection_id, ENDPOINT_STATE_KEY, value)
