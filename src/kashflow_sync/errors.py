"""The errors kashflow_sync raises, grouped by what the caller has to do.

Every error carries a stable ``code``, a ``remedy`` a person can act on, ``retryable``
(whether trying the same call later may succeed), the KashFlow ``operation`` involved and
KashFlow's own words in ``detail`` when KashFlow said something::

    KashFlowError
    ├── AuthenticationError      wrong username/password, or credentials changed -> reconnect
    ├── IPNotAllowedError        caller IP not in KashFlow's API access list -> enable AutoAuth
    ├── PermissionDeniedError    API access disabled, or the user may not use it
    ├── NotConnectedError        connect() has not succeeded for this connection
    ├── ValidationError          .problems: the document cannot be published as it is
    ├── RejectedError            KashFlow refused the request (Status=NO); .detail has its words
    ├── TransientError           timeout, 5xx, connection reset (retried before it surfaces)
    ├── PublishUncertainError    whether KashFlow recorded it is unknown; publish again later
    └── ProtocolError            KashFlow answered something that could not be understood

No message, attribute or ``repr`` of these errors contains the password or the AutoAuth key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from ._documents import Problem

__all__ = [
    "AuthenticationError",
    "IPNotAllowedError",
    "KashFlowError",
    "NotConnectedError",
    "PermissionDeniedError",
    "ProtocolError",
    "PublishUncertainError",
    "RejectedError",
    "TransientError",
    "ValidationError",
]


class KashFlowError(Exception):
    """Root of every error kashflow_sync raises.

    Attributes:
        code: stable machine-readable code, e.g. ``"authentication_failed"``.
        message: what went wrong, in words.
        remedy: what the user should do about it.
        retryable: whether repeating the same call later may succeed.
        operation: the KashFlow SOAP operation involved, if any.
        detail: KashFlow's own words (``StatusDetail`` or the fault string), if any.

    """

    default_code: ClassVar[str] = "kashflow_error"
    default_remedy: ClassVar[str] = "See the message; if it persists, contact KashFlow support."
    default_retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        remedy: str | None = None,
        retryable: bool | None = None,
        operation: str | None = None,
        detail: str | None = None,
        request_sent: bool = True,
        retry_after: float | None = None,
    ) -> None:
        """Build the error; omitted fields take the class defaults."""
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.remedy = remedy or self.default_remedy
        self.retryable = self.default_retryable if retryable is None else retryable
        self.operation = operation
        self.detail = detail
        self.request_sent = request_sent
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [self.message]
        if self.operation:
            parts.append(f"[operation {self.operation}]")
        if self.detail and self.detail not in self.message:
            parts.append(f"KashFlow said: {self.detail!r}")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by state, so errors cross process pools (keyword-only ``__init__``)."""
        return (_restore, (type(self), self.args, self.__dict__.copy()))


def _restore(
    cls: type[KashFlowError], args: tuple[Any, ...], state: dict[str, Any]
) -> KashFlowError:
    """Rebuild a pickled error without calling its ``__init__``."""
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class AuthenticationError(KashFlowError):
    """KashFlow refused the username or password; the connection needs reconnecting."""

    default_code = "authentication_failed"
    default_remedy = (
        "Check the KashFlow username and password, then reconnect. If 'Separate API password' "
        "is set under Apps > API Settings, use that API password, not the web login password."
    )


class IPNotAllowedError(KashFlowError):
    """The caller's IP address is not in the account's API access list."""

    default_code = "ip_not_allowed"
    default_remedy = (
        "In KashFlow open Apps > API Settings, tick Automatic Authorisation (AutoAuth), copy the "
        "AutoAuth key into the connection and reconnect; or add this machine's IP address to the "
        "access list there."
    )


class PermissionDeniedError(KashFlowError):
    """API access is disabled for the account, or this user may not use it."""

    default_code = "permission_denied"
    default_remedy = (
        "An administrator must enable the SOAP API under Apps > API Settings in KashFlow and make "
        "sure this user has API access."
    )


class NotConnectedError(KashFlowError):
    """The call needs a connection and connect() has not succeeded for it."""

    default_code = "not_connected"
    default_remedy = "Call client.connect() (or reconnect()) first."


class ValidationError(KashFlowError):
    """The document cannot be published as it is; ``problems`` lists every reason."""

    default_code = "validation_failed"
    default_remedy = "Fix each problem listed in .problems (each has its own remedy)."

    def __init__(self, problems: Sequence[Problem], *, external_id: str | None = None) -> None:
        """Build the error from the problems found; the message lists their codes."""
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.external_id = external_id
        codes = ", ".join(p.code for p in self.problems)
        who = f" {external_id!r}" if external_id else ""
        super().__init__(
            f"document{who} has {len(self.problems)} problem(s): {codes}",
        )


class RejectedError(KashFlowError):
    """KashFlow refused the request (``Status=NO``); ``detail`` holds KashFlow's words."""

    default_code = "rejected"
    default_remedy = "Read KashFlow's message in .detail, correct the data and try again."


class TransientError(KashFlowError):
    """A timeout, 5xx answer or dropped connection that persisted through the retries."""

    default_code = "transient"
    default_remedy = "KashFlow or the network is having trouble; try again in a few minutes."
    default_retryable = True


class PublishUncertainError(KashFlowError):
    """Whether KashFlow recorded the document could not be established.

    The journal remembers the attempt: publishing the same ``external_id`` again later looks the
    document up in KashFlow first and never creates a second copy.
    """

    default_code = "publish_uncertain"
    default_remedy = (
        "Publish the same document again later; the SDK will look it up in KashFlow first and "
        "will not create a duplicate."
    )
    default_retryable = True


class ProtocolError(KashFlowError):
    """KashFlow answered something that could not be understood (not SOAP, or not the schema)."""

    default_code = "protocol_error"
    default_remedy = (
        "Check the endpoint URL; if it is KashFlow's, try again later and report it if it persists."
    )
    default_retryable = True
