"""How a failure of ``kashflow-sync`` reaches a person: exit codes, remedies, JSON.

Every error a command meets ends here, through the one handler in :mod:`kashflow_sync.cli`:
one line saying what happened and what to do (or one JSON object under ``--json``), and an
exit code from the table below. Remedies speak the command line's language (environment
variables and commands) where the SDK's name a Python call.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .. import errors
from .._config import ENV_AUTOAUTH_KEY, ENV_PASSWORD, ENV_USERNAME, KASHFLOW_SOAP_URL
from .._error_codes import ErrorCode

__all__ = [
    "ENV_ENDPOINT",
    "EXIT_AUTH",
    "EXIT_CODES",
    "EXIT_FAILED",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TRANSIENT",
    "EXIT_USAGE",
    "cli_remedy",
    "error_json",
    "exit_code_for",
    "problem_json",
    "usage_error",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_TRANSIENT = 4
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130

#: Every exit code with what it means (the docs' table is generated from this).
EXIT_CODES: Mapping[int, str] = MappingProxyType(
    {
        EXIT_OK: "Everything worked.",
        EXIT_FAILED: (
            "At least one document failed to publish, or has validation problems; or `doctor` "
            "found a problem or could not delete all it made."
        ),
        EXIT_USAGE: (
            "Usage or configuration: bad arguments, a missing environment variable, an endpoint "
            "or database URL that does not work, invalid document files, not connected yet."
        ),
        EXIT_AUTH: (
            "KashFlow refused the credentials, this machine's IP or API access, now or earlier "
            "(`needs_reconnect`): fix them and run `kashflow-sync connect`."
        ),
        EXIT_TRANSIENT: (
            "Network trouble or an uncertain outcome, or `publish` stopped a batch because "
            "KashFlow was unreachable (`--stop-after-failures`): running the same command again "
            "later is safe."
        ),
        EXIT_INTERNAL: (
            "A bug in kashflow-sync: the line names the exception; run again with "
            "KASHFLOW_SYNC_DEBUG=1 for the traceback and report it."
        ),
        EXIT_INTERRUPTED: (
            "Interrupted (Ctrl-C): publish lists what was published and what was not; running "
            "the same command again is safe."
        ),
    }
)

#: The endpoint when ``--endpoint`` is not given (before the one remembered by ``connect``).
ENV_ENDPOINT = "KASHFLOW_ENDPOINT"

_CONNECT = "run `kashflow-sync connect`"
_CREDENTIALS = f"Export the right {ENV_USERNAME} and {ENV_PASSWORD}"
_ENDPOINT_SOURCES = (
    f"The endpoint comes from --endpoint, else ${ENV_ENDPOINT}, else the one the last "
    "`kashflow-sync connect` used."
)

#: Remedies in the command line's words, by error code.
_CLI_REMEDIES = {
    ErrorCode.NOT_CONNECTED: f"Export {ENV_USERNAME} and {ENV_PASSWORD}, then {_CONNECT} first.",
    ErrorCode.NEEDS_RECONNECT: (
        f"{_CREDENTIALS} and {_CONNECT}; `kashflow-sync publish --dry-run` keeps working meanwhile."
    ),
    ErrorCode.AUTHENTICATION_FAILED: (
        f"{_CREDENTIALS} (the API password if KashFlow has 'Separate API "
        f"password' set under Apps > API Settings) and {_CONNECT}."
    ),
    ErrorCode.IP_NOT_ALLOWED: (
        "In KashFlow tick Automatic Authorisation under Apps > API Settings, export its key as "
        f"{ENV_AUTOAUTH_KEY} and {_CONNECT}."
    ),
    ErrorCode.AUTOAUTH_REJECTED: (
        "Copy the AutoAuth key again from Apps > API Settings in KashFlow, export it as "
        f"{ENV_AUTOAUTH_KEY} and {_CONNECT}."
    ),
    ErrorCode.POOL_TIMEOUT: "Run the same command again with a lower --concurrency.",
    ErrorCode.RATE_LIMITED: "Run the same command again later, with a lower --concurrency.",
    ErrorCode.MISSING_ENVIRONMENT_VARIABLE: (
        f"Export {ENV_USERNAME} and {ENV_PASSWORD} (and {ENV_AUTOAUTH_KEY}); credentials are "
        "never taken as arguments, so they stay out of shell history."
    ),
}

#: Transport codes that mean the endpoint could not be reached at all.
_UNREACHABLE = frozenset({ErrorCode.CONNECTION_FAILED, ErrorCode.CONNECT_TIMEOUT})
#: Codes about what a readable KashFlow answer said, never about where it came from.
_ENDPOINT_ANSWERED = frozenset({ErrorCode.MASS_ARCHIVE_REFUSED})


def _wrong_endpoint(exc: errors.KashFlowError, endpoint: str | None) -> bool:
    """Whether *exc* says the endpoint is not a KashFlow SOAP service (configuration)."""
    if exc.code in _ENDPOINT_ANSWERED:
        return False
    if isinstance(exc, errors.ProtocolError) and not exc.retryable:
        return True  # an HTTP 4xx: the URL is not the SOAP service's
    custom = endpoint is not None and endpoint != KASHFLOW_SOAP_URL
    # Off KashFlow's own address, no connection or no SOAP answer means a wrong URL far more
    # often than an outage; at KashFlow's address it is network trouble, worth a later run.
    return custom and (isinstance(exc, errors.ProtocolError) or exc.code in _UNREACHABLE)


def exit_code_for(exc: BaseException, *, endpoint: str | None = None) -> int:
    """The exit code for an error that stopped a command (see the table in the docs).

    Args:
        exc: the error.
        endpoint: the KashFlow endpoint the command used, if it got that far.

    """
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if not isinstance(exc, errors.KashFlowError):
        return EXIT_INTERNAL
    if isinstance(
        exc, (errors.AuthenticationError, errors.IPNotAllowedError, errors.PermissionDeniedError)
    ):
        return EXIT_AUTH
    if isinstance(
        exc,
        (
            errors.NotConnectedError,
            errors.ConfigurationError,
            errors.StorageError,
            errors.DocumentFileError,
        ),
    ) or _wrong_endpoint(exc, endpoint):
        return EXIT_USAGE
    if isinstance(exc, (errors.ValidationError, errors.RejectedError)):
        return EXIT_FAILED
    return EXIT_TRANSIENT if exc.retryable else EXIT_FAILED


def cli_remedy(exc: errors.KashFlowError, *, endpoint: str | None = None) -> str:
    """The remedy for *exc* in the command line's terms."""
    remedy = _CLI_REMEDIES.get(exc.code, exc.remedy)
    if isinstance(exc, errors.NotConnectedError) and exc.code == ErrorCode.NOT_CONNECTED:
        remedy = _CLI_REMEDIES[ErrorCode.NOT_CONNECTED]
    if _wrong_endpoint(exc, endpoint):
        remedy = f"{remedy} {_ENDPOINT_SOURCES}"
    return remedy


def usage_error(message: str, command: str = "") -> errors.ConfigurationError:
    """A mistake in the arguments, with the help command that shows the right ones."""
    return errors.ConfigurationError(
        message,
        code=ErrorCode.USAGE,
        remedy=f"See `kashflow-sync {command + ' ' if command else ''}--help`.",
    )


def error_json(exc: BaseException, *, endpoint: str | None = None) -> dict[str, Any]:
    """An error as JSON-ready data: type, code, message, remedy, and problems where known."""
    if not isinstance(exc, errors.KashFlowError):
        return {
            "type": type(exc).__name__,
            "code": ErrorCode.INTERNAL_ERROR,
            "message": f"unexpected {type(exc).__name__}: {exc}",
            "remedy": "This is a bug in kashflow-sync: please report it with the output of "
            "the same command run with KASHFLOW_SYNC_DEBUG=1.",
            "retryable": False,
        }
    data: dict[str, Any] = {
        "type": type(exc).__name__,
        "code": exc.code,
        "message": exc.message,
        "remedy": cli_remedy(exc, endpoint=endpoint),
        "retryable": exc.retryable,
    }
    if exc.operation:
        data["operation"] = exc.operation
    if exc.detail:
        data["detail"] = exc.detail
    if isinstance(exc, errors.DocumentFileError):
        data["files"] = {
            name: [problem_json(p) for p in problems] for name, problems in exc.files.items()
        }
    elif isinstance(exc, errors.ValidationError):
        data["problems"] = [problem_json(p) for p in exc.problems]
    return data


def problem_json(problem: Any) -> dict[str, str]:
    """A :class:`~kashflow_sync.Problem` as JSON-ready data."""
    return {
        "code": problem.code,
        "severity": problem.severity,
        "field": problem.field,
        "message": problem.message,
        "remedy": problem.remedy,
    }
