"""``kashflow-sync profile add|list|remove``: edit the profiles of the config file.

A profile holds what is not secret; ``add --store-secrets`` puts the password and AutoAuth key
of the environment into the OS keyring (service ``kashflow-sync:NAME``), never into the file.
See :mod:`._config_file` for how ``--profile`` reads them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from .. import errors
from .._config import ENV_AUTOAUTH_KEY, ENV_PASSWORD
from .._error_codes import ErrorCode
from ._account import Subparsers, add_command
from ._config_file import (
    _FIELDS,
    _SECRETS,
    _profile,
    _profiles,
    _read_file,
    config_path,
    keyring_service,
    load_profile,
)
from ._errors import EXIT_OK, usage_error
from ._output import Console, emit_json

__all__ = ["register"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


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
