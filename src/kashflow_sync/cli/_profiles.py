"""Profiles: named accounts in a config file, chosen with ``--profile NAME``.

A profile holds what is not secret (the KashFlow username, the database URL, the connection
id, the endpoint) in a TOML file: ``$KASHFLOW_SYNC_CONFIG``, else ``config.toml`` in the user
config folder (platformdirs). The password and the AutoAuth key are never written to it: they
come from the OS keyring (the ``keyring`` extra), under the service ``kashflow-sync:NAME``,
or else from the environment as without a profile.

``kashflow-sync profile add|list|remove`` edits the file (and ``add --store-secrets`` puts the
secrets of the environment into the keyring).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import attrs

from .. import errors
from .._config import ENV_AUTOAUTH_KEY, ENV_PASSWORD, ENV_USERNAME
from .._error_codes import ErrorCode
from ._account import Subparsers, add_command
from ._errors import EXIT_OK, usage_error
from ._output import Console, emit_json

__all__ = [
    "ENV_CONFIG",
    "Profile",
    "active_profile",
    "config_path",
    "keyring_service",
    "load_profile",
    "profile_environ",
    "register",
    "using_profile",
]

#: Overrides where the config file is.
ENV_CONFIG = "KASHFLOW_SYNC_CONFIG"
#: The keyring entry names of the two secrets, under the service ``kashflow-sync:NAME``.
_SECRETS = {"password": ENV_PASSWORD, "autoauth_key": ENV_AUTOAUTH_KEY}
#: The settings a profile may hold: the file's key, then the option it stands in for.
_FIELDS = ("username", "db", "connection_id", "endpoint")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

_active: ContextVar[Profile | None] = ContextVar("kashflow_sync_cli_profile", default=None)


@attrs.frozen
class Profile:
    """One ``[profiles.NAME]`` table of the config file: nothing secret."""

    name: str
    username: str | None = None
    db: str | None = None
    connection_id: str | None = None
    endpoint: str | None = None


def config_path() -> Path:
    """The config file: ``$KASHFLOW_SYNC_CONFIG``, else ``config.toml`` in the user config dir."""
    explicit = os.environ.get(ENV_CONFIG)
    if explicit:
        return Path(explicit)
    import platformdirs

    folder = Path(platformdirs.user_config_dir("kashflow-sync", appauthor=False))
    return folder / "config.toml"


def keyring_service(name: str) -> str:
    """The keyring service a profile's secrets are kept under."""
    return f"kashflow-sync:{name}"


def _config_error(message: str, remedy: str) -> errors.ConfigurationError:
    return errors.ConfigurationError(message, code=ErrorCode.INVALID_PROFILE, remedy=remedy)


def _read_file(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]
    try:
        with path.open("rb") as file:
            data: dict[str, Any] = tomllib.load(file)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise _config_error(
            f"the config file {path} cannot be read: {exc}",
            f"Fix or remove {path} (it is TOML; see `kashflow-sync profile --help`).",
        ) from None
    return data


def _profiles(path: Path) -> dict[str, dict[str, Any]]:
    tables = _read_file(path).get("profiles", {})
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        raise _config_error(
            f"the config file {path} has a 'profiles' entry that is not a table of tables",
            "Write each profile as a [profiles.NAME] table.",
        )
    return tables


def _profile(name: str, table: Mapping[str, Any], path: Path) -> Profile:
    unknown = sorted(set(table) - set(_FIELDS))
    secret = sorted(set(table) & set(_SECRETS))
    if secret:
        raise _config_error(
            f"profile {name!r} in {path} holds {', '.join(secret)}: secrets never go in the file",
            f"Remove {', '.join(secret)} from {path}; keep them in the OS keyring "
            f"(`kashflow-sync profile add {name} --store-secrets`) or the environment.",
        )
    if unknown:
        raise _config_error(
            f"profile {name!r} in {path} has unknown key(s) {', '.join(unknown)}",
            f"A profile may hold: {', '.join(_FIELDS)}.",
        )
    values = {key: table[key] for key in _FIELDS if key in table}
    for key, value in values.items():
        if not isinstance(value, str) or not value.strip():
            raise _config_error(
                f"profile {name!r} in {path}: {key} must be a non-empty string",
                f'Write it as {key} = "..." or leave it out.',
            )
    return Profile(name=name, **values)


def load_profile(name: str) -> Profile:
    """The profile called *name* from the config file.

    Raises:
        ConfigurationError: ``invalid_profile``: no such profile (with the near names), or the
            file or the profile is malformed, or it holds a secret.

    """
    import difflib

    path = config_path()
    tables = _profiles(path)
    if name not in tables:
        close = difflib.get_close_matches(name, list(tables), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        known = ", ".join(sorted(tables)) or "none yet"
        raise _config_error(
            f"no profile {name!r} in {path} (profiles: {known})",
            f"Add it with `kashflow-sync profile add {name} ...`.{hint}",
        )
    return _profile(name, tables[name], path)


def _keyring_secret(profile: str, key: str) -> str | None:
    try:
        import keyring
        import keyring.errors
    except ImportError:
        return None
    try:
        secret: str | None = keyring.get_password(keyring_service(profile), key)
    except keyring.errors.KeyringError:
        return None  # no usable backend: the environment still may have it
    return secret or None


def profile_environ(profile: Profile, environ: Mapping[str, str]) -> dict[str, str]:
    """*environ* as the profile sees it: its username, and the keyring's secrets if there."""
    merged = dict(environ)
    if profile.username:
        merged[ENV_USERNAME] = profile.username
    for key, variable in _SECRETS.items():
        secret = _keyring_secret(profile.name, key)
        if secret is not None:
            merged[variable] = secret
    return merged


def active_profile() -> Profile | None:
    """The profile this run of the command line uses (``--profile``), if any."""
    return _active.get()


@contextmanager
def using_profile(args: argparse.Namespace) -> Iterator[None]:
    """Apply ``--profile`` for the run: its settings fill the options not given.

    Then the connection id not given either way becomes ``default``.
    """
    from ._account import DEFAULT_CONNECTION_ID

    name = getattr(args, "profile", None)
    profile = load_profile(name) if name else None
    if profile is not None:
        for field in ("db", "connection_id", "endpoint"):
            if hasattr(args, field) and getattr(args, field) is None:
                setattr(args, field, getattr(profile, field))
    if hasattr(args, "connection_id") and args.connection_id is None:
        args.connection_id = DEFAULT_CONNECTION_ID
    if profile is None:
        yield
        return
    token = _active.set(profile)
    try:
        yield
    finally:
        _active.reset(token)


# ---------------------------------------------------------------------------- commands


def register(commands: Subparsers) -> None:
    """``kashflow-sync profile add|list|remove``."""
    parser = add_command(commands, "profile", _no_action)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    actions.required = True
    add = actions.add_parser("add", help="add or replace a profile (nothing secret is written)")
    add.add_argument("name", metavar="NAME", help="the profile's name, e.g. books")
    add.add_argument("--username", help="the KashFlow username")
    add.add_argument("--db", metavar="URL", help="the SQLAlchemy database URL")
    add.add_argument("--connection-id", metavar="ID", help="the connection id in the database")
    add.add_argument("--endpoint", metavar="URL", help="the KashFlow SOAP endpoint")
    add.add_argument(
        "--store-secrets",
        action="store_true",
        help=(
            f"put ${ENV_PASSWORD} (and ${ENV_AUTOAUTH_KEY}) from the environment into the OS "
            "keyring for this profile (needs the keyring extra)"
        ),
    )
    add.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add.set_defaults(run=run_add)
    listing = actions.add_parser("list", help="list the profiles in the config file")
    listing.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    listing.set_defaults(run=run_list)
    remove = actions.add_parser("remove", help="remove a profile (and its keyring secrets)")
    remove.add_argument("name", metavar="NAME")
    remove.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    remove.set_defaults(run=run_remove)


def _no_action(_args: argparse.Namespace) -> int:  # pragma: no cover - argparse requires one
    raise usage_error("an action is required: add, list or remove", "profile")


def _write(path: Path, tables: Mapping[str, Mapping[str, Any]]) -> None:
    import tomli_w

    data = _read_file(path)
    data["profiles"] = {name: dict(tables[name]) for name in sorted(tables)}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(tomli_w.dumps(data), encoding="utf-8")
    temporary.replace(path)


def _store_secrets(name: str) -> list[str]:
    try:
        import keyring
        import keyring.errors
    except ImportError:
        raise errors.ConfigurationError(
            "--store-secrets needs the keyring package",
            code=ErrorCode.KEYRING_UNAVAILABLE,
            remedy="Install it: pip install 'kashflow-sync[keyring]'.",
        ) from None
    stored: list[str] = []
    for key, variable in _SECRETS.items():
        value = os.environ.get(variable, "")
        if not value:
            continue
        try:
            keyring.set_password(keyring_service(name), key, value)
        except keyring.errors.KeyringError as exc:
            raise errors.ConfigurationError(
                f"the OS keyring refused to store the profile's {key}: {type(exc).__name__}",
                code=ErrorCode.KEYRING_UNAVAILABLE,
                remedy="Unlock or configure the keyring, or export the secrets instead.",
            ) from None
        stored.append(key)
    if "password" not in stored:
        raise usage_error(f"--store-secrets: ${ENV_PASSWORD} is not set", "profile add")
    return stored


def run_add(args: argparse.Namespace) -> int:
    """Add or replace a profile; optionally keep the environment's secrets in the keyring."""
    if not _NAME.fullmatch(args.name):
        raise usage_error(
            f"a profile name is letters, digits, '.', '_' or '-', not {args.name!r}", "profile add"
        )
    if args.endpoint:
        from ._account import check_endpoint

        check_endpoint(args.endpoint)
    path = config_path()
    tables = _profiles(path)
    table = {f: getattr(args, f) for f in _FIELDS if getattr(args, f)}
    tables[args.name] = table
    stored = _store_secrets(args.name) if args.store_secrets else []
    _write(path, tables)
    if args.json:
        emit_json(
            {"ok": True, "profile": args.name, "config": str(path), **table, "keyring": stored}
        )
        return EXIT_OK
    console = Console()
    console.ok(f"Profile {args.name!r} saved in {path}")
    if stored:
        console.ok(f"Kept {' and '.join(stored)} in the OS keyring ({keyring_service(args.name)})")
    console.print(f"  Use it with: kashflow-sync status --profile {args.name}")
    return EXIT_OK


def run_list(args: argparse.Namespace) -> int:
    """The profiles in the config file (never a secret)."""
    path = config_path()
    profiles = [_profile(name, table, path) for name, table in sorted(_profiles(path).items())]
    if args.json:
        emit_json(
            {"ok": True, "config": str(path), "profiles": [attrs.asdict(p) for p in profiles]}
        )
        return EXIT_OK
    console = Console()
    console.detail("config", str(path))
    console.print()
    if not profiles:
        console.ok("No profiles yet: add one with `kashflow-sync profile add NAME ...`.")
        return EXIT_OK
    rows = [
        (p.name, p.username or "-", p.db or "-", p.connection_id or "-", p.endpoint or "-")
        for p in profiles
    ]
    console.table(("profile", "username", "database", "connection", "endpoint"), rows)
    return EXIT_OK


def run_remove(args: argparse.Namespace) -> int:
    """Remove a profile from the file, and its secrets from the keyring when there."""
    path = config_path()
    tables = _profiles(path)
    if args.name not in tables:
        load_profile(args.name)  # raises, with the near names
    del tables[args.name]
    _write(path, tables)
    try:
        import keyring
        import keyring.errors
    except ImportError:
        keyring = None  # type: ignore[assignment]
    if keyring is not None:
        for key in _SECRETS:
            # None was stored, or there is no usable backend: nothing to remove.
            with contextlib.suppress(keyring.errors.KeyringError):
                keyring.delete_password(keyring_service(args.name), key)
    if args.json:
        emit_json({"ok": True, "removed": args.name, "config": str(path)})
    else:
        Console().ok(f"Profile {args.name!r} removed from {path}")
    return EXIT_OK
