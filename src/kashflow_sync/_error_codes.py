"""The error code catalogue: every ``code`` a :class:`~kashflow_sync.errors.KashFlowError` carries.

Codes are stable: hosts match on them (``err.code == "timeout"``), results and the journal
store them, and the docs' table of codes is built from :data:`CATALOGUE`. Each code is an
:class:`ErrorCode` member, a ``str`` whose value is the code itself, so a misspelt code is a
mypy error where an error is raised and an ``AttributeError`` anywhere else, while comparing,
hashing, printing and JSON see the plain string.

A code is one of the error classes' own (``default_code``) or a more specific one that names
what happened; ``http_<status>`` (``http_503``, ``http_404``...) is the one family, made by
:meth:`ErrorCode.http_status`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

__all__ = [
    "CATALOGUE",
    "HTTP_STATUS_FAMILIES",
    "UNREACHABLE_CODES",
    "ErrorCode",
    "ErrorCodeEntry",
]


_HTTP_STATUS = re.compile(r"http_([1-5][0-9][0-9])")


class ErrorCode(str, enum.Enum):
    """Every error code, with its meaning (``.meaning``) and what to do (``.remedy``).

    A member is a ``str`` equal to its code (``ErrorCode.TIMEOUT == "timeout"``) and prints as
    it; ``KashFlowError.code`` is one of these. The error's own ``remedy`` is the one to show:
    it may say more than the catalogue's, which is what the docs' table says.
    """

    KASHFLOW_ERROR = "kashflow_error"
    AUTHENTICATION_FAILED = "authentication_failed"
    IP_NOT_ALLOWED = "ip_not_allowed"
    PERMISSION_DENIED = "permission_denied"
    NOT_CONNECTED = "not_connected"
    CONFIGURATION_ERROR = "configuration_error"
    STORAGE_ERROR = "storage_error"
    VALIDATION_FAILED = "validation_failed"
    INVALID_DOCUMENT_FILE = "invalid_document_file"
    REJECTED = "rejected"
    TRANSIENT = "transient"
    PUBLISH_UNCERTAIN = "publish_uncertain"
    PROTOCOL_ERROR = "protocol_error"
    NEEDS_RECONNECT = "needs_reconnect"
    AUTOAUTH_REJECTED = "autoauth_rejected"
    NOT_FOUND = "not_found"
    NO_ID = "no_id"
    ID_NOT_A_NUMBER = "id_not_a_number"
    ID_OUT_OF_RANGE = "id_out_of_range"
    REQUEST_NOT_UNDERSTOOD = "request_not_understood"
    SERVER_FAULT = "server_fault"
    TIMEOUT = "timeout"
    CONNECT_TIMEOUT = "connect_timeout"
    POOL_TIMEOUT = "pool_timeout"
    CONNECTION_FAILED = "connection_failed"
    CONNECTION_LOST = "connection_lost"
    NETWORK_ERROR = "network_error"
    PROXY_ERROR = "proxy_error"
    HTTP_ERROR = "http_error"
    RATE_LIMITED = "rate_limited"
    ANSWER_TOO_LARGE = "answer_too_large"
    IMPLAUSIBLE_ANSWER = "implausible_answer"
    NOT_A_LIST = "not_a_list"
    MASS_ARCHIVE_REFUSED = "mass_archive_refused"
    UNREADABLE_RESULT = "unreadable_result"
    ANSWER_ENCODING = "answer_encoding"
    REQUEST_NOT_ENCODABLE = "request_not_encodable"
    PUBLISH_INCOMPLETE = "publish_incomplete"
    PUBLISH_AMBIGUOUS = "publish_ambiguous"
    DUPLICATE_PENDING = "duplicate_pending"
    CONTACT_UNKNOWN = "contact_unknown"
    CHANGED_WHILE_UNCERTAIN = "changed_while_uncertain"
    MISSING_ENVIRONMENT_VARIABLE = "missing_environment_variable"
    INVALID_CONNECTION_ID = "invalid_connection_id"
    INVALID_ENDPOINT = "invalid_endpoint"
    USAGE = "usage"
    INVALID_PROFILE = "invalid_profile"
    KEYRING_UNAVAILABLE = "keyring_unavailable"
    UNKNOWN_CONNECTION = "unknown_connection"
    INVALID_RULE = "invalid_rule"
    INTERNAL_ERROR = "internal_error"
    INTERRUPTED = "interrupted"
    SCHEMA_VERSION = "schema_version"
    DATABASE_URL_INVALID = "database_url_invalid"
    DATABASE_UNAVAILABLE = "database_unavailable"
    DATABASE_READ_ONLY = "database_read_only"
    DATABASE_CONFLICT = "database_conflict"
    DATABASE_OUT_OF_RESOURCES = "database_out_of_resources"
    DATABASE_ACCESS_REFUSED = "database_access_refused"
    DATABASE_SCHEMA_MISMATCH = "database_schema_mismatch"
    INVALID_STORAGE_KEY = "invalid_storage_key"
    VALUE_NOT_STORABLE = "value_not_storable"
    JOURNAL_LISTING_UNSUPPORTED = "journal_listing_unsupported"
    DATABASE_DRIVER_MISSING = "database_driver_missing"
    LEASE_LOST = "lease_lost"
    CONTACT_CODE_TAKEN = "contact_code_taken"
    ATTACHMENT_STORAGE_NOT_CONNECTED = "attachment_storage_not_connected"
    PUBLISH_SETTLING = "publish_settling"
    DUPLICATE_CREATED = "duplicate_created"
    CREDIT_NOTE_REFUSED = "credit_note_refused"
    CREDITED_INVOICE_MISSING = "credited_invoice_missing"
    APPLY_IDS_UNKNOWN = "apply_ids_unknown"
    NOT_A_BOOLEAN = "not_a_boolean"
    STILL_IN_KASHFLOW = "still_in_kashflow"
    NOT_IN_JOURNAL = "not_in_journal"
    PUBLISH_UNSETTLED = "publish_unsettled"
    INVALID_SETTING = "invalid_setting"
    RECORD_UNAVAILABLE = "record_unavailable"
    DOCTOR_WRITE_REFUSED = "doctor_write_refused"
    CLIENT_CLOSED = "client_closed"
    STOPPED = "stopped"
    KASHFLOW_UNREACHABLE = "kashflow_unreachable"

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, format_spec: str) -> str:
        return format(str(self.value), format_spec)

    @classmethod
    def http_status(cls, status: int) -> ErrorCode:
        """The code for an HTTP answer of *status* that carried no SOAP reply: ``http_<status>``.

        Args:
            status: the HTTP status code, 100 to 599.

        Returns:
            The code, e.g. ``ErrorCode.http_status(503) == "http_503"``.

        """
        return cls(f"http_{status}")

    @classmethod
    def _missing_(cls, value: object) -> ErrorCode | None:
        # ``http_<status>`` codes are made when first asked for (as Flag makes its combined
        # members), then kept like any other member.
        if not isinstance(value, str) or not _HTTP_STATUS.fullmatch(value):
            return None
        member = str.__new__(cls, value)
        member._name_ = value.upper()
        member._value_ = value
        return cls._value2member_map_.setdefault(value, member)  # type: ignore[return-value]

    @property
    def meaning(self) -> str:
        """What the code means (Markdown: names in backticks)."""
        return _entry(self).meaning

    @property
    def remedy(self) -> str:
        """What to do about it, in short; for a class's own code, the class's default remedy."""
        remedy = _entry(self).remedy
        if remedy is not None:
            return remedy
        try:
            return _CLASS_REMEDIES[self]
        except KeyError:
            raise LookupError(
                f"{self.value}: the remedy of a class's own code is known once the class is "
                "defined (import kashflow_sync.errors)"
            ) from None


class ErrorCodeEntry(NamedTuple):
    """One code in the catalogue: which error carries it, what it means, what to do.

    ``error`` and the texts are Markdown, as the docs show them; ``remedy`` is None for a
    class's own code, whose remedy is the class's ``default_remedy``.
    """

    error: str
    meaning: str
    remedy: str | None = None


#: The remedy of each error class's own code, as the class states it (``default_remedy``).
#: Filled by the classes as they are defined (:func:`register_class_remedy`), so this module
#: never imports :mod:`kashflow_sync.errors`, which sits above it.
_CLASS_REMEDIES: dict[ErrorCode, str] = {}


def register_class_remedy(code: ErrorCode, remedy: str) -> None:
    """Record *remedy* as the remedy of *code*, the own code of an error class (first wins)."""
    _CLASS_REMEDIES.setdefault(code, remedy)


#: Every code with its entry, in the order the docs list them.
CATALOGUE: Mapping[ErrorCode, ErrorCodeEntry] = MappingProxyType(
    {
        ErrorCode.KASHFLOW_ERROR: ErrorCodeEntry(
            "`KashFlowError`",
            "an error no more specific code describes (the root class's own code)",
        ),
        ErrorCode.AUTHENTICATION_FAILED: ErrorCodeEntry(
            "`AuthenticationError`",
            "KashFlow refused the username or password",
        ),
        ErrorCode.IP_NOT_ALLOWED: ErrorCodeEntry(
            "`IPNotAllowedError`",
            "this machine's IP address is not in the account's API access list",
        ),
        ErrorCode.PERMISSION_DENIED: ErrorCodeEntry(
            "`PermissionDeniedError`",
            "API access is disabled for the account, or this user may not use it",
        ),
        ErrorCode.NOT_CONNECTED: ErrorCodeEntry(
            "`NotConnectedError`",
            "the call needs a connection and `connect()` has not succeeded for it",
        ),
        ErrorCode.CONFIGURATION_ERROR: ErrorCodeEntry(
            "`ConfigurationError`",
            "a setting is missing or wrong",
        ),
        ErrorCode.STORAGE_ERROR: ErrorCodeEntry(
            "`StorageError`",
            "the storage failed",
        ),
        ErrorCode.VALIDATION_FAILED: ErrorCodeEntry(
            "`ValidationError`",
            "the document cannot be published as it is; `.problems` says why",
        ),
        ErrorCode.INVALID_DOCUMENT_FILE: ErrorCodeEntry(
            "`DocumentFileError`",
            "document files could not be read as documents; `.files` says why",
        ),
        ErrorCode.REJECTED: ErrorCodeEntry(
            "`RejectedError`",
            "KashFlow refused the request (`Status=NO`); `.detail` has its words",
        ),
        ErrorCode.TRANSIENT: ErrorCodeEntry(
            "`TransientError`",
            "a timeout, 5xx answer or dropped connection that persisted through the retries",
        ),
        ErrorCode.PUBLISH_UNCERTAIN: ErrorCodeEntry(
            "`PublishUncertainError`",
            "whether KashFlow recorded the document could not be established",
        ),
        ErrorCode.PROTOCOL_ERROR: ErrorCodeEntry(
            "`ProtocolError`",
            "KashFlow answered something that could not be understood",
        ),
        ErrorCode.NEEDS_RECONNECT: ErrorCodeEntry(
            "`AuthenticationError`",
            "KashFlow refused this connection's stored credentials earlier",
            "`client.reconnect(new_credentials)` (CLI: `connect` again)",
        ),
        ErrorCode.AUTOAUTH_REJECTED: ErrorCodeEntry(
            "`IPNotAllowedError`",
            "KashFlow refused the AutoAuth key",
            "tick *Enable AutoAuth* under Apps > API Settings, copy the key again, reconnect",
        ),
        ErrorCode.NOT_FOUND: ErrorCodeEntry(
            "`RejectedError`",
            "KashFlow has no record with that number, code or id",
            "refresh the lists and check the value",
        ),
        ErrorCode.NO_ID: ErrorCodeEntry(
            "`RejectedError`",
            "KashFlow answered OK but returned no id for a created record",
            (
                "check the document in KashFlow before publishing again: the SDK takes this as a "
                "refusal, so the next publish sends again (after the pre-send duplicate lookup, "
                "when the document has a reference)"
            ),
        ),
        ErrorCode.ID_NOT_A_NUMBER: ErrorCodeEntry(
            "`ProtocolError`",
            "KashFlow answered a create with something other than a whole number",
            (
                "publish again: the SDK looks the document up (it may have been created) before "
                "sending anything"
            ),
        ),
        ErrorCode.ID_OUT_OF_RANGE: ErrorCodeEntry(
            "`ProtocolError`",
            "KashFlow answered a create with a number beyond its own 32-bit ids",
            "publish again: the SDK looks the document up before sending anything",
        ),
        ErrorCode.REQUEST_NOT_UNDERSTOOD: ErrorCodeEntry(
            "`ProtocolError`",
            "KashFlow could not read the request (SOAP client fault)",
            "a bug in kashflow-sync or a changed KashFlow API: please report it",
        ),
        ErrorCode.SERVER_FAULT: ErrorCodeEntry(
            "`TransientError`",
            "KashFlow failed while handling the request (SOAP server fault)",
            "try again later",
        ),
        ErrorCode.TIMEOUT: ErrorCodeEntry(
            "`TransientError`",
            (
                "KashFlow did not answer in time: no whole answer within the client's `timeout` "
                "(a deadline for the whole call, however slowly the bytes come)"
            ),
            "try again; publishing reconciles first",
        ),
        ErrorCode.CONNECT_TIMEOUT: ErrorCodeEntry(
            "`TransientError`",
            "timed out connecting to KashFlow",
            "check the network; try again",
        ),
        ErrorCode.POOL_TIMEOUT: ErrorCodeEntry(
            "`TransientError`",
            "no free connection in the client's pool in time",
            "lower the concurrency",
        ),
        ErrorCode.CONNECTION_FAILED: ErrorCodeEntry(
            "`TransientError`",
            "could not connect to KashFlow",
            "check the network and the endpoint URL",
        ),
        ErrorCode.CONNECTION_LOST: ErrorCodeEntry(
            "`TransientError`",
            "the connection dropped mid-call",
            "try again; publishing reconciles first",
        ),
        ErrorCode.NETWORK_ERROR: ErrorCodeEntry(
            "`TransientError`",
            "another network error",
            "try again",
        ),
        ErrorCode.PROXY_ERROR: ErrorCodeEntry(
            "`TransientError`",
            "the proxy refused the connection",
            "check the proxy settings",
        ),
        ErrorCode.HTTP_ERROR: ErrorCodeEntry(
            "`TransientError`",
            "another HTTP-level error",
            "try again",
        ),
        ErrorCode.RATE_LIMITED: ErrorCodeEntry(
            "`TransientError`",
            "KashFlow answered HTTP 429",
            "try again later; lower the concurrency",
        ),
        ErrorCode.ANSWER_TOO_LARGE: ErrorCodeEntry(
            "`ProtocolError`",
            (
                "KashFlow's answer was larger than `max_answer_bytes` (64 MiB by default), as "
                "sent or once expanded; it was not read, and is never retried"
            ),
            "raise `max_answer_bytes` if the account really holds that much; otherwise report it",
        ),
        ErrorCode.IMPLAUSIBLE_ANSWER: ErrorCodeEntry(
            "`ProtocolError`",
            (
                "KashFlow's answer held what no KashFlow answer does (a single text, comment or "
                "tag over 4 MiB, more than 50,000 elements outside its list, no SOAP envelope in "
                "its first 4 MiB); it was given up as soon as that showed, and is never retried"
            ),
            (
                "check the endpoint URL (a proxy or captive portal may be answering); report it "
                "if it is KashFlow's"
            ),
        ),
        ErrorCode.NOT_A_LIST: ErrorCodeEntry(
            "`ProtocolError`",
            (
                "KashFlow answered a list call with `Status=OK` but its result holds something "
                "other than the list's items (text, other elements); nothing was stored, so no "
                "item is archived"
            ),
            "try again later; report it if it persists",
        ),
        ErrorCode.MASS_ARCHIVE_REFUSED: ErrorCodeEntry(
            "`ProtocolError`",
            (
                "a refresh (or reconnect) would have archived more than half of the active items "
                "of a list holding at least ten; the message says how many of how many; that list"
                " was left as it was"
            ),
            (
                "if they really were deleted in KashFlow, refresh with `force=True` (CLI: "
                "`--force`); otherwise try again later"
            ),
        ),
        ErrorCode.UNREADABLE_RESULT: ErrorCodeEntry(
            "`ProtocolError`",
            (
                "KashFlow's answer is SOAP but its result is not of the type the call answers (a "
                "number where a record belongs, say)"
            ),
            "try again later; a publish looks the document up before sending anything again",
        ),
        ErrorCode.ANSWER_ENCODING: ErrorCodeEntry(
            "`ProtocolError`",
            "KashFlow's answer was compressed in a way the SDK does not read, or corrupt",
            "try again later; report it if it persists",
        ),
        ErrorCode.REQUEST_NOT_ENCODABLE: ErrorCodeEntry(
            "`ProtocolError`",
            "the SDK could not build the request envelope",
            "a bug in kashflow-sync: please report it with the message",
        ),
        ErrorCode.PUBLISH_INCOMPLETE: ErrorCodeEntry(
            "`PublishUncertainError`",
            "KashFlow kept failing to take the document",
            "publish again later",
        ),
        ErrorCode.PUBLISH_AMBIGUOUS: ErrorCodeEntry(
            "`PublishUncertainError`",
            "KashFlow holds several documents matching this one",
            "delete the extra copies in KashFlow by hand",
        ),
        ErrorCode.DUPLICATE_PENDING: ErrorCodeEntry(
            "`PublishUncertainError`",
            (
                "another external id with the same contact, reference and total was sent to "
                "KashFlow and its outcome is not known yet; this one was not sent beside it"
            ),
            (
                "publish the other one again to settle it; if it lands, do not publish this one, "
                "otherwise publish this one again"
            ),
        ),
        ErrorCode.CONTACT_UNKNOWN: ErrorCodeEntry(
            "`PublishUncertainError`",
            "the journal says a new supplier or customer was created, but not its id",
            "refresh the lists (the contact is then found by name) and publish again",
        ),
        ErrorCode.CHANGED_WHILE_UNCERTAIN: ErrorCodeEntry(
            "`PublishUncertainError`",
            (
                "the document changed while an earlier version of it was being published (and may"
                " be in KashFlow)"
            ),
            "publish the earlier version to finish it, then correct it in KashFlow",
        ),
        ErrorCode.MISSING_ENVIRONMENT_VARIABLE: ErrorCodeEntry(
            "`ConfigurationError`",
            (
                "`Credentials.from_env()` (or the CLI) found no `KASHFLOW_USERNAME` or "
                "`KASHFLOW_PASSWORD`; the message names it"
            ),
            "export the variable",
        ),
        ErrorCode.INVALID_CONNECTION_ID: ErrorCodeEntry(
            "`ConfigurationError`",
            (
                "the client's `connection_id` is empty, longer than 255 characters, or holds a "
                "character no storage can hold (NUL, half of a surrogate pair)"
            ),
            "use a short id of your own for the account",
        ),
        ErrorCode.INVALID_ENDPOINT: ErrorCodeEntry(
            "`ConfigurationError`",
            "the endpoint is not an http(s) URL",
            "give the full URL, e.g. `https://securedwebapp.com/api/service.asmx`",
        ),
        ErrorCode.USAGE: ErrorCodeEntry(
            "`ConfigurationError`",
            "the command line's arguments are wrong (CLI only)",
            "see `kashflow-sync COMMAND --help`",
        ),
        ErrorCode.INVALID_PROFILE: ErrorCodeEntry(
            "`ConfigurationError`",
            (
                "`--profile` names no profile of the config file, or the file or the profile is "
                "malformed, or holds a secret (CLI only)"
            ),
            "add the profile with `kashflow-sync profile add`, or fix the file the message names",
        ),
        ErrorCode.KEYRING_UNAVAILABLE: ErrorCodeEntry(
            "`ConfigurationError`",
            (
                "the OS keyring cannot be used: the `keyring` extra is missing, or it refused "
                "(CLI only)"
            ),
            "install `kashflow-sync[keyring]` and unlock the keyring, or export the secrets",
        ),
        ErrorCode.UNKNOWN_CONNECTION: ErrorCodeEntry(
            "`NotConnectedError`",
            (
                "the database holds no connection by that id, but holds one spelt nearly the same "
                "(CLI only: a mistyped `--connection-id`)"
            ),
            "pass the connection id the message suggests, or `connect` the new one",
        ),
        ErrorCode.INVALID_RULE: ErrorCodeEntry(
            "`ConfigurationError`",
            (
                "a rule set from the command line names a nominal code, VAT rate, project, "
                "payment method or bank account the synced lists do not hold active (CLI only)"
            ),
            "use one the message lists, or refresh the lists if it was just added in KashFlow",
        ),
        ErrorCode.INTERNAL_ERROR: ErrorCodeEntry(
            "`KashFlowError`",
            (
                "a publish in a batch raised something other than a `KashFlowError` (a bug, or a "
                "host Storage's own exception); the original is `__cause__`"
            ),
            "report it; publishing again is safe",
        ),
        ErrorCode.INTERRUPTED: ErrorCodeEntry(
            "`KashFlowError`",
            "the command was interrupted with Ctrl-C (CLI only, exit code 130)",
            "run the same command again: it is safe to repeat",
        ),
        ErrorCode.SCHEMA_VERSION: ErrorCodeEntry(
            "`StorageError` (`SchemaVersionError`)",
            (
                "the database's kashflow_sync tables are missing (with `create=False`) or of "
                "another version"
            ),
            "use a database of this version, or upgrade kashflow-sync",
        ),
        ErrorCode.DATABASE_URL_INVALID: ErrorCodeEntry(
            "`StorageError`",
            (
                "the storage URL is not a SQLAlchemy URL, or names a database other than SQLite "
                "or PostgreSQL"
            ),
            "write `sqlite:///path.db` or `postgresql+psycopg://user@host/db`",
        ),
        ErrorCode.DATABASE_UNAVAILABLE: ErrorCodeEntry(
            "`StorageError`",
            (
                "the database could not be reached or opened, or the connection was lost: server "
                "down or restarting, a failover, wrong port, a SQLite file that cannot be opened "
                "(PostgreSQL SQLSTATE class 08, 57P01-57P05, 58000/58030); retryable"
            ),
            "check that the server runs and the URL's host and port; a later run resumes",
        ),
        ErrorCode.DATABASE_READ_ONLY: ErrorCodeEntry(
            "`StorageError`",
            (
                "the database accepts only reads: a standby, or a primary demoted during a "
                "failover (SQLSTATE 25006); retryable"
            ),
            (
                "wait for the new primary; if it lasts, point the URL at the primary "
                "(`target_session_attrs=read-write` with every host listed follows failovers)"
            ),
        ),
        ErrorCode.DATABASE_CONFLICT: ErrorCodeEntry(
            "`StorageError`",
            (
                "a transaction was rolled back by a conflict: serialization failure (40001), "
                "deadlock (40P01), a lock not granted in time (55P03, 57014), SQLite's write lock"
                " held past the busy timeout; retryable, nothing half-written"
            ),
            (
                "run again; if it keeps happening, look for a long transaction holding "
                "kashflow_sync's rows"
            ),
        ),
        ErrorCode.DATABASE_OUT_OF_RESOURCES: ErrorCodeEntry(
            "`StorageError`",
            (
                "the server ran out of connection slots (53300 too many connections), memory or "
                "disk (SQLSTATE class 53), or SQLite's disk is full; retryable"
            ),
            "fewer worker processes or a connection pooler; free disk space",
        ),
        ErrorCode.DATABASE_ACCESS_REFUSED: ErrorCodeEntry(
            "`StorageError`",
            (
                "the server refused the URL's user or password (SQLSTATE class 28), its database "
                "does not exist (3D000), the user lacks privileges (42501), or the SQLite file is"
                " read-only for this user; not retryable"
            ),
            (
                "correct the URL, create the database, GRANT the rights, or make the file and its"
                " folder writable"
            ),
        ),
        ErrorCode.DATABASE_SCHEMA_MISMATCH: ErrorCodeEntry(
            "`StorageError`",
            (
                "the database refused a statement on kashflow_sync's tables: a table or column "
                "missing or changed (SQLSTATE class 42) or a constraint the SDK did not make "
                "(class 23); not retryable"
            ),
            "restore the tables as this version created them, or use a fresh database",
        ),
        ErrorCode.INVALID_STORAGE_KEY: ErrorCodeEntry(
            "`StorageError` (`kashflow_sync.storage.InvalidKeyError`, also a `ValueError`)",
            (
                "a storage was given a `connection_id`, `external_id` or rule contact it cannot "
                "hold (too long, or NUL, a control character, half of a surrogate pair); nothing "
                "was stored"
            ),
            "use a shorter key without control characters",
        ),
        ErrorCode.VALUE_NOT_STORABLE: ErrorCodeEntry(
            "`StorageError`",
            (
                "the database refused a value (too large for its index, or a character it cannot "
                "store); not retryable: the same value fails again"
            ),
            "correct the value the message names",
        ),
        ErrorCode.JOURNAL_LISTING_UNSUPPORTED: ErrorCodeEntry(
            "`StorageError`",
            (
                "the storage (a host's own, written before `Storage.list_journal` existed) cannot"
                " list the journal for `client.journal()`; publishing is unaffected"
            ),
            "add `list_journal` to it (the conformance suite tests it)",
        ),
        ErrorCode.DATABASE_DRIVER_MISSING: ErrorCodeEntry(
            "`StorageError`",
            "the PostgreSQL driver is not installed",
            "`pip install 'kashflow-sync[postgres]'`",
        ),
        ErrorCode.LEASE_LOST: ErrorCodeEntry(
            "`PublishUncertainError`",
            (
                "another worker took over publishing this document, or this call's hold on it ran"
                " out before it sent anything (a stalled process); when raised before a send, "
                "nothing was sent"
            ),
            "let it finish; publish again to get its result",
        ),
        ErrorCode.CONTACT_CODE_TAKEN: ErrorCodeEntry(
            "`RejectedError`",
            (
                "KashFlow refused a new supplier or customer: other names hold both codes the SDK "
                "derives from its name (a contact of the same name there is used instead)"
            ),
            "refresh the lists and publish again; if it repeats, change the holder's code in "
            "KashFlow or the new contact's name",
        ),
        ErrorCode.ATTACHMENT_STORAGE_NOT_CONNECTED: ErrorCodeEntry(
            "`RejectedError`",
            (
                "KashFlow refused the attachment: no Dropbox is connected to the account; the "
                "document itself is published (and paid, if it has a payment)"
            ),
            (
                "connect Dropbox in KashFlow, then publish the same document again: only the "
                "file is sent"
            ),
        ),
        ErrorCode.PUBLISH_SETTLING: ErrorCodeEntry(
            "`PublishUncertainError`",
            (
                "a send's outcome is unknown and KashFlow may still be applying it; the SDK will "
                "not send it again before its settle time has passed (`.retry_after` says how "
                "long)"
            ),
            (
                "publish the same document again after that: it is looked up first and sent only "
                "if KashFlow never applied it"
            ),
        ),
        ErrorCode.DUPLICATE_CREATED: ErrorCodeEntry(
            "`PublishUncertainError`",
            (
                "KashFlow turned out to hold two copies: after a send was proven absent and sent "
                "again (the first was applied late), or because the same invoice under another "
                "external id was sent at the same moment"
            ),
            (
                "delete the extra copy named in the message, then publish again (or `forget` the "
                "external id whose copy you deleted); consider a longer `settle_time`"
            ),
        ),
        ErrorCode.CREDIT_NOTE_REFUSED: ErrorCodeEntry(
            "`RejectedError`",
            (
                "KashFlow refused a credit note written with negative rates and again with "
                "negative quantities, in different words each time (both are in the message); "
                "nothing was created"
            ),
            (
                "enter the credit note in KashFlow directly; run `kashflow-sync doctor "
                "--probe-writes` to record what the account takes"
            ),
        ),
        ErrorCode.CREDITED_INVOICE_MISSING: ErrorCodeEntry(
            "`RejectedError`",
            (
                "a sales credit note's `credits` is a KashFlow invoice number KashFlow does not "
                "hold; nothing was sent"
            ),
            (
                "check the number in KashFlow, or publish the credit note without `credits` and "
                "apply it by hand"
            ),
        ),
        ErrorCode.APPLY_IDS_UNKNOWN: ErrorCodeEntry(
            "`PublishUncertainError`",
            (
                "a sales credit note is in KashFlow, but its internal id (or the credited "
                "invoice's) could not be read, so it was not applied yet"
            ),
            "publish it again: only the apply step is left",
        ),
        ErrorCode.NOT_A_BOOLEAN: ErrorCodeEntry(
            "`ProtocolError`",
            "KashFlow answered `applyCreditNoteToInvoice` with something other than true or false",
            (
                "publish again: the SDK reads KashFlow back before applying again; report it if "
                "it persists"
            ),
        ),
        ErrorCode.STILL_IN_KASHFLOW: ErrorCodeEntry(
            "`RejectedError`",
            (
                "`forget` found the published document still in KashFlow (its number is in the "
                "message)"
            ),
            (
                "delete it in KashFlow first (its payments and files too), then forget it again; "
                "if it is right, there is nothing to do"
            ),
        ),
        ErrorCode.NOT_IN_JOURNAL: ErrorCodeEntry(
            "`KashFlowError`",
            "`forget` was given an external id nothing was ever published under",
            "check the external id and the connection",
        ),
        ErrorCode.PUBLISH_UNSETTLED: ErrorCodeEntry(
            "`PublishUncertainError`",
            "`forget` of a document whose create is uncertain (journal state `sending`)",
            "publish it again first (it is found, or sent), then forget it if it still needs to go",
        ),
        ErrorCode.INVALID_SETTING: ErrorCodeEntry(
            "`ConfigurationError`",
            (
                "a client argument would break exactly-once (a lease not longer than the request "
                "deadline, a negative settle time)"
            ),
            "change the argument as the message says",
        ),
        ErrorCode.RECORD_UNAVAILABLE: ErrorCodeEntry(
            "`ConfigurationError`",
            "`kashflow-sync doctor --record DIR`: vcrpy is not installed, or DIR cannot be created",
            "`pip install 'kashflow-sync[record]'`, or give a folder you can write to",
        ),
        ErrorCode.DOCTOR_WRITE_REFUSED: ErrorCodeEntry(
            "`KashFlowError`",
            (
                "`kashflow-sync doctor` was about to send a write without `--probe-writes`; "
                "refused before sending (a bug guard)"
            ),
            "report it",
        ),
        ErrorCode.CLIENT_CLOSED: ErrorCodeEntry(
            "`KashFlowError`",
            (
                "the client was closed (`close()`, `aclose()` or the end of its `with` block) "
                "before this call"
            ),
            "create a new client, or make the call inside the `with` block",
        ),
        ErrorCode.STOPPED: ErrorCodeEntry(
            "`TransientError`",
            (
                "the batch was stopping (Ctrl-C, or KashFlow unreachable) before this document's "
                "next write to KashFlow: nothing more was sent and its journal entry was given "
                "back, so the next run starts on it at once"
            ),
            "publish it again: it goes on from where it stopped, never twice",
        ),
        ErrorCode.KASHFLOW_UNREACHABLE: ErrorCodeEntry(
            "`TransientError` (`UnreachableError`)",
            (
                "a batch stopped starting documents after a run of connection failures in a "
                "row: KashFlow (or the network to it) is down; the documents not attempted "
                "were never sent"
            ),
            "check the network and KashFlow's status, then run the same batch again: what "
            "reached KashFlow is not sent twice",
        ),
    }
)

#: The ``http_<status>`` family, as the docs list it: ``(codes, entry, listed after)``.
HTTP_STATUS_FAMILIES: tuple[tuple[str, ErrorCodeEntry, ErrorCode], ...] = (
    (
        "`http_503`, `http_500`...",
        ErrorCodeEntry(
            "`TransientError`", "KashFlow answered an HTTP 5xx status", "try again later"
        ),
        ErrorCode.HTTP_ERROR,
    ),
    (
        "`http_404`...",
        ErrorCodeEntry(
            "`ProtocolError`",
            "the endpoint answered an unexpected HTTP status",
            "check the endpoint URL (it ends in `/api/service.asmx`)",
        ),
        ErrorCode.REQUEST_NOT_ENCODABLE,
    ),
)


def _entry(code: ErrorCode) -> ErrorCodeEntry:
    """The catalogue's entry for *code*; an ``http_<status>`` code takes its family's."""
    if code in CATALOGUE:
        return CATALOGUE[code]
    status = int(code.value.removeprefix("http_"))
    # 429 is rate_limited; any other 5xx is KashFlow in trouble, anything else not KashFlow.
    return HTTP_STATUS_FAMILIES[0 if status >= 500 else 1][1]


#: The codes that mean KashFlow could not be talked to at all (each already retried): a run
#: of them stops a batch (``publish_many``'s breaker), and nothing more is asked of KashFlow.
UNREACHABLE_CODES = frozenset(
    {
        ErrorCode.CONNECTION_FAILED,
        ErrorCode.CONNECT_TIMEOUT,
        ErrorCode.CONNECTION_LOST,
        ErrorCode.TIMEOUT,
    }
)


if set(CATALOGUE) != set(ErrorCode):  # pragma: no cover - a developer's slip
    raise AssertionError("every ErrorCode needs its CATALOGUE entry, and no more")
