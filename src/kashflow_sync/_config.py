"""Credentials, endpoint and the SDK's tunable defaults, as named constants."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping

import attrs

from . import errors
from ._error_codes import ErrorCode

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_ANSWER_BYTES",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_RETRY_CAP",
    "DEFAULT_RETRY_INITIAL",
    "DEFAULT_STOP_AFTER_FAILURES",
    "DEFAULT_TIMEOUT",
    "ENV_AUTOAUTH_KEY",
    "ENV_PASSWORD",
    "ENV_USERNAME",
    "KASHFLOW_SOAP_URL",
    "MAX_DETAIL_CHARS",
    "Credentials",
    "Secrets",
    "kashflow_words",
    "redact",
]

#: KashFlow's SOAP endpoint (ASP.NET ASMX, SOAP 1.1 document/literal).
KASHFLOW_SOAP_URL = "https://securedwebapp.com/api/service.asmx"

#: Seconds for a whole response: connecting, sending and reading every byte of the answer.
#: Full-list calls on big accounts are slow; TT's .NET client also allows one minute.
DEFAULT_TIMEOUT = 60.0
#: Seconds to wait for a TCP/TLS connection.
DEFAULT_CONNECT_TIMEOUT = 10.0
#: Attempts after the first for calls that are safe to repeat.
DEFAULT_MAX_RETRIES = 3
#: First backoff delay in seconds; doubles each attempt, with jitter.
DEFAULT_RETRY_INITIAL = 0.5
#: Longest single backoff delay in seconds (also the cap for ``Retry-After``).
DEFAULT_RETRY_CAP = 8.0
#: Documents in a row that failed to reach KashFlow at all (each after its retries) before a
#: batch stops starting documents (``publish_many(stop_after_failures=)``, and the CLI's
#: ``--stop-after-failures``).
DEFAULT_STOP_AFTER_FAILURES = 5
#: Largest answer body read, in bytes, counted both as sent and once expanded (gzip).
#: Measured with the fake (``benchmarks/bench_answer_memory.py``): ``GetSuppliers`` for 20,000
#: suppliers with every text field filled is 21.0 MB (1,050 bytes each), and ``GetCustomers``
#: for 20,000 customers with address, delivery address, contact and notes is 41.6 MB. 64 MiB is
#: three times the supplier answer and half as much again as the customer one: the largest
#: lists a KashFlow account plausibly holds fit, with room to grow. Answers are parsed as they
#: arrive, so reading a list costs about 0.55 times its size (37 MB at the cap); anything else
#: in an answer costs a few MB whatever its size (see ``soap/_answerparse.py``). An account
#: with more (100,000 customers with a few fields is 84.5 MB) raises ``max_answer_bytes``.
DEFAULT_MAX_ANSWER_BYTES = 64 * 1024 * 1024
#: KashFlow's own words (``StatusDetail``, fault strings) kept in errors are cut to this many
#: characters; its real messages are one sentence, so only a broken or hostile answer is cut.
MAX_DETAIL_CHARS = 500

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
                code=ErrorCode.MISSING_ENVIRONMENT_VARIABLE,
                remedy=(
                    f"Export the KashFlow username as {ENV_USERNAME} and the password as "
                    f"{ENV_PASSWORD} (and the AutoAuth key as {ENV_AUTOAUTH_KEY})."
                ),
            )
        key = env.get(ENV_AUTOAUTH_KEY, "").strip() or None
        return cls(username=username, password=password, autoauth_key=key)

    @property
    def secrets(self) -> Secrets:
        """The secret values, for redaction in logs and recordings (iterable; repr hidden)."""
        return Secrets(self.password, self.autoauth_key)

    def __repr__(self) -> str:
        key = _MASK if self.autoauth_key else None
        return f"Credentials(username={self.username!r}, password='{_MASK}', autoauth_key={key!r})"

    __str__ = __repr__


class Secrets:
    """Secret values to mask in text, kept so that no ``repr`` ever shows them.

    Code that redacts passes this object around rather than the strings, so a traceback rendered
    with its frames' local variables (``capture_locals=True``) shows ``<secrets hidden>``.
    Iterating gives the values.
    """

    __slots__ = ("_pattern", "_values")

    def __init__(self, *values: str | None) -> None:
        """Keep the non-empty values, longest first (so a secret inside another is masked too)."""
        self._values = tuple(sorted({v for v in values if v}, key=len, reverse=True))
        self._pattern = _secret_pattern(self._values)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"<{len(self._values)} secrets hidden>"

    __str__ = __repr__

    @property
    def longest(self) -> int:
        """Length of the longest secret (0 if there are none)."""
        return len(self._values[0]) if self._values else 0


def _secret_pattern(secrets: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern matching any of *secrets* in any case, the longest first."""
    values = sorted({s for s in secrets if s}, key=len, reverse=True)
    if not values:
        return None
    return re.compile("|".join(re.escape(v) for v in values), re.IGNORECASE)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Return *text* with every secret value replaced by a mask, matched in any case.

    KashFlow may echo what it was sent upper- or lower-cased ("PA55-WORD"), so a secret is
    masked whatever the case of its letters (Unicode simple case folding).
    """
    pattern = secrets._pattern if isinstance(secrets, Secrets) else _secret_pattern(secrets)
    return text if pattern is None else pattern.sub(_MASK, text)


def kashflow_words(text: str, secrets: Secrets, limit: int = MAX_DETAIL_CHARS) -> str:
    """KashFlow's own words made fit for an error: secrets masked, cut to *limit* characters.

    Only a slice of a huge text is redacted, so a 200 MB ``StatusDetail`` costs no more than a
    short one. A secret cut in two by that slice could survive redaction as a prefix at the
    slice's end, so that end is dropped before the text is cut to *limit* with an ellipsis.
    """
    text = text.strip()
    if len(text) <= limit:
        return redact(text, secrets)
    window = redact(text[: limit + secrets.longest], secrets)
    if len(text) > limit + secrets.longest and secrets.longest > 1:
        window = window[: len(window) - (secrets.longest - 1)]
    return window[:limit].rstrip() + "…"
