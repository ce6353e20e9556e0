"""Credentials, endpoint and the SDK's tunable defaults, as named constants."""

from __future__ import annotations

import os
from collections.abc import Mapping

import attrs

from . import errors

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_RETRY_CAP",
    "DEFAULT_RETRY_INITIAL",
    "DEFAULT_TIMEOUT",
    "ENV_AUTOAUTH_KEY",
    "ENV_PASSWORD",
    "ENV_USERNAME",
    "KASHFLOW_SOAP_URL",
    "Credentials",
]

#: KashFlow's SOAP endpoint (ASP.NET ASMX, SOAP 1.1 document/literal).
KASHFLOW_SOAP_URL = "https://securedwebapp.com/api/service.asmx"

#: Seconds to wait for a whole response. Full-list calls on big accounts are slow.
DEFAULT_TIMEOUT = 60.0
#: Seconds to wait for a TCP/TLS connection.
DEFAULT_CONNECT_TIMEOUT = 10.0
#: Attempts after the first for calls that are safe to repeat.
DEFAULT_MAX_RETRIES = 3
#: First backoff delay in seconds; doubles each attempt, with jitter.
DEFAULT_RETRY_INITIAL = 0.5
#: Longest single backoff delay in seconds (also the cap for ``Retry-After``).
DEFAULT_RETRY_CAP = 8.0

#: Environment variables :meth:`Credentials.from_env` reads.
ENV_USERNAME = "KASHFLOW_USERNAME"
ENV_PASSWORD = "KASHFLOW_PASSWORD"
ENV_AUTOAUTH_KEY = "KASHFLOW_AUTOAUTH_KEY"

_MASK = "********"


@attrs.frozen(repr=False)
class Credentials:
    """The three values KashFlow needs: username, password and (optionally) the AutoAuth key.

    The password is the KashFlow login password, or the separate API password when
    "Separate API password" is set under Apps > API Settings. The AutoAuth key (format
    ``1234ABCD-1234``) lets the SDK add its own IP address to the account's API access list;
    it does not replace the password.

    ``repr()`` and ``str()`` never show the password or the key.
    """

    username: str
    password: str = attrs.field()
    autoauth_key: str | None = None

    def __attrs_post_init__(self) -> None:
        """Refuse empty credentials early, with a message that says which one."""
        for name in ("username", "password"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"Credentials.{name} must be a non-empty string")
        if self.autoauth_key is not None and not isinstance(self.autoauth_key, str):
            raise TypeError("Credentials.autoauth_key must be a string or None")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        """Credentials from ``KASHFLOW_USERNAME``, ``KASHFLOW_PASSWORD``, ``KASHFLOW_AUTOAUTH_KEY``.

        The AutoAuth key is optional; an empty variable counts as missing.

        Args:
            environ: where to read the variables; default ``os.environ``.

        Raises:
            ConfigurationError: ``missing_environment_variable``: the username or password
                variable is not set (the message names it).

        """
        env = os.environ if environ is None else environ
        username = env.get(ENV_USERNAME, "").strip()
        password = env.get(ENV_PASSWORD, "")
        missing = [
            name
            for name, value in ((ENV_USERNAME, username), (ENV_PASSWORD, password))
            if not value
        ]
        if missing:
            names = " and ".join(missing)
            verb = "are" if len(missing) > 1 else "is"
            raise errors.ConfigurationError(
                f"the environment variable{'s' if len(missing) > 1 else ''} {names} {verb} not set",
                code="missing_environment_variable",
                remedy=(
                    f"Export the KashFlow username as {ENV_USERNAME} and the password as "
                    f"{ENV_PASSWORD} (and the AutoAuth key as {ENV_AUTOAUTH_KEY})."
                ),
            )
        key = env.get(ENV_AUTOAUTH_KEY, "").strip() or None
        return cls(username=username, password=password, autoauth_key=key)

    @property
    def secrets(self) -> tuple[str, ...]:
        """The secret values, for redaction in logs and recordings."""
        return tuple(s for s in (self.password, self.autoauth_key) if s)

    def __repr__(self) -> str:
        key = _MASK if self.autoauth_key else None
        return f"Credentials(username={self.username!r}, password='{_MASK}', autoauth_key={key!r})"

    __str__ = __repr__


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """Return *text* with every secret value replaced by a mask."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, _MASK)
    return text
