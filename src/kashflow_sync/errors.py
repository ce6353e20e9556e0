"""The errors kashflow_sync raises, grouped by what the caller has to do.

Every error carries a stable ``code``, a ``remedy`` a person can act on, ``retryable``
(whether trying the same call later may succeed), the KashFlow ``operation`` involved and
KashFlow's own words in ``detail`` when KashFlow said something::

    KashFlowError
    ├── AuthenticationError      wrong username/password, or credentials changed -> reconnect
    ├── IPNotAllowedError        caller IP not in KashFlow's API access list -> enable AutoAuth
    ├── PermissionDeniedError    API access disabled, or the user may not use it
    ├── NotConnectedError        connect() has not succeeded for this connection
    ├── ConfigurationError       a setting is missing or wrong (environment variable, endpoint URL)
    ├── StorageError             the database failed: unreachable, bad URL, other schema version
    ├── ValidationError          .problems: the document cannot be published as it is
    │   └── DocumentFileError    document files (JSON) could not be read; .files: problems by file
    ├── RejectedError            KashFlow refused the request (Status=NO); .detail has its words
    ├── TransientError           timeout, 5xx, connection reset (retried before it surfaces)
    │   └── UnreachableError     a batch stopped early: KashFlow unreachable (connection failures)
    ├── PublishUncertainError    whether KashFlow recorded it is unknown; publish again later
    └── ProtocolError            KashFlow answered something that could not be understood

``code`` is an :class:`ErrorCode`: a ``str`` equal to the code (``err.code == "timeout"``), from
the one catalogue that says what each code means.

No message, attribute or ``repr`` of these errors contains the password or the AutoAuth key.
Every error the SDK raises is a :class:`KashFlowError`; the error of the layer below (an httpx or
SQLAlchemy exception) is kept as ``__cause__`` for debugging, never shown in the message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from ._error_codes import ErrorCode, register_class_remedy

if TYPE_CHECKING:
    from ._problem import Problem

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "DocumentFileError",
    "ErrorCode",
    "IPNotAllowedError",
    "KashFlowError",
    "NotConnectedError",
    "PermissionDeniedError",
    "ProtocolError",
    "PublishUncertainError",
    "RejectedError",
    "StorageError",
    "TransientError",
    "UnreachableError",
    "ValidationError",
]


class KashFlowError(Exception):
    """Root of every error kashflow_sync raises.

    Attributes:
        code: stable machine-readable code, an :class:`ErrorCode` such as
            ``ErrorCode.AUTHENTICATION_FAILED`` (equal to ``"authentication_failed"``).
        message: what went wrong, in words.
        remedy: what the user should do about it.
        retryable: whether repeating the same call later may succeed.
        operation: the KashFlow SOAP operation involved, if any.
        detail: KashFlow's own words (``StatusDetail`` or the fault string), if any.

    """

    default_code: ClassVar[ErrorCode] = ErrorCode.KASHFLOW_ERROR
    default_remedy: ClassVar[str] = "See the message; if it persists, contact KashFlow support."
    default_retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode | None = None,
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
        self.code: ErrorCode = code or self.default_code
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
        return f"{type(self).__name__}(code={str(self.code)!r}, message={self.message!r})"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Record a class's own code and remedy in the catalogue (``ErrorCode.remedy``)."""
        super().__init_subclass__(**kwargs)
        if "default_code" in cls.__dict__:
            register_class_remedy(cls.default_code, cls.default_remedy)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle every attribute (code, remedy, problems...), not just the message, so errors
        # cross process boundaries (process pools, task queues) whole.
        return (_restore, (type(self), self.message, dict(self.__dict__)))


register_class_remedy(KashFlowError.default_code, KashFlowError.default_remedy)


def _restore(cls: type[KashFlowError], message: str, state: dict[str, Any]) -> KashFlowError:
    """Rebuild a pickled error without calling its ``__init__`` (whose arguments differ)."""
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class AuthenticationError(KashFlowError):
    """KashFlow refused the username or password; the connection needs reconnecting."""

    default_code = ErrorCode.AUTHENTICATION_FAILED
    default_remedy = (
        "Check the KashFlow username and password, then call client.reconnect(credentials) with "
        "the right ones. If 'Separate API password' is set under Apps > API Settings, use that "
        "API password, not the web login password."
    )


class IPNotAllowedError(KashFlowError):
    """The caller's IP address is not in the account's API access list."""

    default_code = ErrorCode.IP_NOT_ALLOWED
    default_remedy = (
        "In KashFlow open Apps > API Settings and tick Automatic Authorisation (AutoAuth); pass "
        "its key as Credentials(autoauth_key=...) and call client.reconnect(credentials). Or add "
        "this machine's IP address to the access list there."
    )


class PermissionDeniedError(KashFlowError):
    """API access is disabled for the account, or this user may not use it."""

    default_code = ErrorCode.PERMISSION_DENIED
    default_remedy = (
        "An administrator must enable the SOAP API under Apps > API Settings in KashFlow and make "
        "sure this user has API access."
    )


class NotConnectedError(KashFlowError):
    """The call needs a connection and connect() has not succeeded for it."""

    default_code = ErrorCode.NOT_CONNECTED
    default_remedy = "Call client.connect() (or reconnect()) first."


class ConfigurationError(KashFlowError, ValueError):
    """A setting is missing or wrong: an environment variable, an endpoint that is not a URL.

    Also a :class:`ValueError`, since it is raised for arguments that cannot work.
    """

    default_code = ErrorCode.CONFIGURATION_ERROR
    default_remedy = "Correct the setting named in the message and try again."


class StorageError(KashFlowError):
    """The storage failed: database unreachable, bad URL, missing driver, tables of another version.

    The driver's exception is kept as ``__cause__``; the message never holds SQL or a password.
    """

    default_code = ErrorCode.STORAGE_ERROR
    default_remedy = (
        "Check the database URL and that the database server is running and reachable; the "
        "message says what the database answered."
    )


class ValidationError(KashFlowError):
    """The document cannot be published as it is; ``problems`` lists every reason.

    ``str()`` of the error lists each problem with its message and remedy; ``message`` is the
    one-line summary.
    """

    default_code = ErrorCode.VALIDATION_FAILED
    default_remedy = "Fix each problem listed in .problems (each has its own remedy)."

    def __init__(
        self,
        problems: Sequence[Problem],
        *,
        external_id: str | None = None,
        message: str | None = None,
    ) -> None:
        """Build the error from the problems found; the message counts them and lists codes."""
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.external_id = external_id
        if message is None:
            codes = ", ".join(dict.fromkeys(p.code for p in self.problems))
            who = f" {external_id!r}" if external_id else ""
            count = len(self.problems)
            message = f"document{who} has {count} problem{'' if count == 1 else 's'}: {codes}"
        super().__init__(message)

    def __str__(self) -> str:
        lines = [self.message]
        for problem in self.problems:
            where = f"{problem.field}: " if problem.field else ""
            lines.append(f"- {where}{problem.message} ({problem.code}) -> {problem.remedy}")
        return "\n".join(lines)


class DocumentFileError(ValidationError):
    """Document files could not be read as documents; ``files`` maps each file to its problems.

    Raised for every problem of every file at once: a file that is not JSON, a missing field,
    an amount written as a float, an impossible date, an attachment that is not there.
    """

    default_code = ErrorCode.INVALID_DOCUMENT_FILE
    default_remedy = "Correct each file as its problems say, then run the same command again."

    def __init__(self, files: Mapping[str, Sequence[Problem]]) -> None:
        """Build the error from each file's problems (files in the order they were read)."""
        self.files: Mapping[str, tuple[Problem, ...]] = {
            name: tuple(found) for name, found in files.items() if found
        }
        problems = [p for found in self.files.values() for p in found]
        count, nfiles = len(problems), len(self.files)
        super().__init__(
            problems,
            message=(
                f"{count} problem{'' if count == 1 else 's'} in {nfiles} document "
                f"file{'' if nfiles == 1 else 's'}"
            ),
        )

    def __str__(self) -> str:
        lines = [self.message]
        for name, problems in self.files.items():
            for problem in problems:
                where = f"{problem.field}: " if problem.field else ""
                lines.append(f"- {name}: {where}{problem.message} -> {problem.remedy}")
        return "\n".join(lines)


class RejectedError(KashFlowError):
    """KashFlow refused the request (``Status=NO``); ``detail`` holds KashFlow's words."""

    default_code = ErrorCode.REJECTED
    default_remedy = "Read KashFlow's message in .detail, correct the data and try again."


class TransientError(KashFlowError):
    """A timeout, 5xx answer or dropped connection that persisted through the retries."""

    default_code = ErrorCode.TRANSIENT
    default_remedy = "KashFlow or the network is having trouble; try again in a few minutes."
    default_retryable = True


class UnreachableError(TransientError):
    """A batch stopped starting documents: KashFlow failed to connect that many times in a row.

    ``publish_many`` returns it as ``BatchResult.stopped`` and as the error of every document it
    did not attempt (nothing of those was sent); the documents in flight ended as they did.

    Attributes:
        since: when the first of the failures in a row happened (timezone-aware).
        not_attempted: documents never started.
        failures: the connection failures in a row that stopped the batch.

    """

    default_code = ErrorCode.KASHFLOW_UNREACHABLE
    default_remedy = (
        "Check the network and KashFlow's status, then run the same batch again: what reached "
        "KashFlow is not sent twice."
    )

    def __init__(self, *, since: datetime, not_attempted: int, failures: int) -> None:
        """Build the summary error (its message says since when and how many were left)."""
        at = since.astimezone().strftime("%H:%M")
        noun = "document" if not_attempted == 1 else "documents"
        super().__init__(
            f"KashFlow unreachable since {at}; {not_attempted} {noun} not attempted, "
            "safe to run again"
        )
        self.since = since
        self.not_attempted = not_attempted
        self.failures = failures


class PublishUncertainError(KashFlowError):
    """Whether KashFlow recorded the document could not be established.

    The journal remembers the attempt: publishing the same ``external_id`` again later looks the
    document up in KashFlow first and never creates a second copy.
    """

    default_code = ErrorCode.PUBLISH_UNCERTAIN
    default_remedy = (
        "Publish the same document again later; the SDK will look it up in KashFlow first and "
        "will not create a duplicate."
    )
    default_retryable = True


class ProtocolError(KashFlowError):
    """KashFlow answered something that could not be understood (not SOAP, or not the schema)."""

    default_code = ErrorCode.PROTOCOL_ERROR
    default_remedy = (
        "Check the endpoint URL; if it is KashFlow's, try again later and report it if it persists."
    )
    default_retryable = True
