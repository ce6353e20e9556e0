"""Profiles' config file: named accounts, chosen with ``--profile NAME``.

A profile holds what is not secret (the KashFlow username, the database URL, the connection
id, the endpoint) in a TOML file: ``$KASHFLOW_SYNC_CONFIG``, else ``config.toml`` in the user
config folder (platformdirs). The password and the AutoAuth key are never written to it: they
come from the OS keyring (the ``keyring`` extra), under the service ``kashflow-sync:NAME``,
or else from the environment as without a profile.

``kashflow-sync profile add|list|remove`` (:mod:`._profiles`) edits the file. This module only
reads it, and imports nothing of the command line, so :mod:`._account` can use it.
"""

from __future__ import annotations

import argparse
import os
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

__all__ = [
    "DEFAULT_CONNECTION_ID",
    "ENV_CONFIG",
    "Profile",
    "active_profile",
    "config_path",
    "keyring_service",
    "load_profile",
    "profile_environ",
    "using_profile",
]

#: The connection a command works on when neither ``--connection-id`` nor a profile names one.
DEFAULT_CONNECTION_ID = "default"
#: Overrides where the config file is.
ENV_CONFIG = "KASHFLOW_SYNC_CONFIG"
#: The keyring entry names of the two secrets, under the service ``kashflow-sync:NAME``.
_SECRETS = {"password": ENV_PASSWORD, "autoauth_key": ENV_AUTOAUTH_KEY}
#: The settings a profile may hold: the file's key, then the option it stands in for.
_FIELDS = ("username", "db", "connection_id", "endpoint")


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
