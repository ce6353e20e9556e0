"""The doctor's read-only checks: connection, AutoAuth, clock, lists, not-found lookups.

Every request here is a ``Get...`` lookup, except ``AutoAuthIP`` when the caller allowed
writes (it adds this machine's IP address to the account's access list, a change nothing in
the SOAP API can undo, so the read-only doctor never sends it).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import attrs

from .. import errors
from .._account.lists import Lists
from .._config import Credentials
from .._engine.listsync import SyncProgress
from .._error_codes import ErrorCode
from ..soap import operations
from ..soap._listparse import LIST_SPECS
from .model import Check, ListTiming, LookupAnswer
from .session import DoctorSession, Exchange, SentRequest

__all__ = [
    "NO_SUCH_CODE",
    "NO_SUCH_NUMBER",
    "Connection",
    "check_clock",
    "check_connection",
    "check_lookups",
    "sync_lists",
]

#: A receipt and invoice number no account reaches, yet well inside KashFlow's 32-bit ints.
NO_SUCH_NUMBER = 999_999_999
#: A supplier and customer code no account has (short: KashFlow may limit code length).
NO_SUCH_CODE = "ZZKFSDOC99"

#: Clock skews beyond this many seconds are worth fixing.
CLOCK_TOLERANCE = 120.0

_KEY_FORMAT = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}$", re.I)
_IP = re.compile(r"the ip address of (\S+?) is not in", re.I)
_CONNECT_HINT = (
    "run `kashflow-sync connect` (it calls AutoAuthIP) or `kashflow-sync doctor --probe-writes`"
)


@attrs.define
class Connection:
    """What the connection checks found: the checks, and what stopped them, if anything."""

    checks: list[Check] = attrs.Factory(list)
    stopped_by: errors.KashFlowError | None = None
    autoauth_added: bool = False


def _password_remedy(words: str) -> str:
    mode = (
        "KashFlow's words name the API password, so 'Separate API password' looks set: "
        if "api password" in words.lower()
        else "If 'Separate API password' is ticked under Apps > API Settings, the web login "
        "password is refused: "
    )
    return (
        f"{mode}export that API password as KASHFLOW_PASSWORD. Otherwise check KASHFLOW_USERNAME "
        "and the login password, and that 'Enable SOAP API' is ticked (KashFlow may answer "
        "the same way when the API is off)."
    )


def _connection_refused(conn: Connection, first: Exchange[Any]) -> None:
    """Record why the first request failed; set ``stopped_by``."""
    error = first.error
    assert error is not None
    conn.stopped_by = error
    add = conn.checks.append
    if first.answer is None:
        add(Check("endpoint", "Endpoint answers", "problem", error.message, error.remedy))
        return
    add(_ENDPOINT_OK)
    words = f" ('{first.detail}')" if first.detail else ""
    if isinstance(error, errors.AuthenticationError):
        add(
            Check(
                "credentials",
                "Credentials accepted",
                "problem",
                f"KashFlow refused the username or password{words}",
                _password_remedy(first.detail),
            )
        )
    elif isinstance(error, errors.PermissionDeniedError):
        add(_not_yet("credentials", "Credentials accepted", "API access"))
        add(
            Check(
                "api_enabled",
                "SOAP API enabled",
                "problem",
                f"KashFlow does not allow API access{words}",
                "In KashFlow open Apps > API Settings and tick 'Enable SOAP API'; the user must "
                "be allowed to use the API.",
            )
        )
    else:
        add(Check("api_call", "First lookup", "problem", error.message + words, error.remedy))


def check_connection(session: DoctorSession, *, app_name: str) -> Connection:
    """Endpoint, SOAP API, credentials, IP access list and AutoAuth, from one small lookup.

    The lookup is ``GetCurrencies`` (the smallest list). When KashFlow refuses this machine's
    IP address and writes are allowed, ``AutoAuthIP`` is tried once, as ``connect`` does.
    """
    conn = Connection()
    first = session.exchange(operations.fetch_list("currencies"))
    key = session.credentials.autoauth_key
    if (
        isinstance(first.error, errors.IPNotAllowedError)
        and first.error.code == ErrorCode.IP_NOT_ALLOWED
    ):
        _ip_refused(session, conn, first, app_name)
        if conn.stopped_by is not None:
            return conn
    elif first.error is not None:
        _connection_refused(conn, first)
        return conn
    else:
        conn.checks += [
            _ENDPOINT_OK,
            *_through(),
            Check("ip_access", "This machine allowed", "ok", "its IP address is on the list"),
        ]
    if not conn.autoauth_added:
        conn.checks.append(_autoauth_unused(key))
    return conn


def _not_yet(key: str, title: str, stopped_at: str) -> Check:
    return Check(key, title, "skipped", f"not known yet: KashFlow stopped at {stopped_at}")


def _through() -> list[Check]:
    """The checks a lookup that got through settles."""
    return [
        Check("api_enabled", "SOAP API enabled", "ok", "a lookup was answered"),
        Check(
            "credentials",
            "Credentials accepted",
            "ok",
            "KashFlow accepted KASHFLOW_USERNAME and KASHFLOW_PASSWORD (the login password, "
            "or the API password when 'Separate API password' is set)",
        ),
    ]


_ENDPOINT_OK = Check("endpoint", "Endpoint answers", "ok", "KashFlow's SOAP service answered")


def _ip_problem(where: str, remedy: str) -> Check:
    """The check saying this machine's IP address (*where*) is not on the access list."""
    return Check(
        "ip_access",
        "This machine allowed",
        "problem",
        f"this machine's IP address{where} is not in the account's API access list",
        remedy,
    )


def _ip_refused(
    session: DoctorSession, conn: Connection, first: Exchange[Any], app_name: str
) -> None:
    found = _IP.search(first.detail)
    where = f" ({found.group(1)})" if found else ""
    conn.checks.append(_ENDPOINT_OK)
    # Which KashFlow checks first (IP, API switch, password) is not published: until a call
    # gets through, the other two are unknown, not fine.
    later = [
        _not_yet("api_enabled", "SOAP API enabled", "this machine's IP address"),
        _not_yet("credentials", "Credentials accepted", "this machine's IP address"),
    ]
    key = session.credentials.autoauth_key
    if not key:
        conn.stopped_by = first.error
        conn.checks += later
        conn.checks.append(
            _ip_problem(
                where,
                "In KashFlow tick Automatic Authorisation under Apps > API Settings, export its "
                "key as KASHFLOW_AUTOAUTH_KEY and run `kashflow-sync connect` (it calls "
                "AutoAuthIP); or add this address to the list there by hand.",
            )
        )
        return
    if not session.allow_writes:
        conn.stopped_by = first.error
        conn.checks += [
            *later,
            _ip_problem(
                where,
                f"To let AutoAuth add it, {_CONNECT_HINT}.",
            ),
            Check(
                "autoauth",
                "AutoAuth would add it",
                "skipped",
                "not tried: AutoAuthIP adds this IP to the account's access list, a write, and "
                "doctor is read-only without --probe-writes",
                _key_remedy(key),
            ),
        ]
        return
    allow = session.exchange(operations.auto_auth_ip(app_name))
    if allow.error is not None:
        conn.stopped_by = allow.error
        words = f" ('{allow.detail}')" if allow.detail else ""
        conn.checks += [
            *later,
            _ip_problem(
                where,
                "Fix AutoAuth (below) or add the address by hand under Apps > API Settings.",
            ),
            Check(
                "autoauth",
                "AutoAuth would add it",
                "problem",
                f"KashFlow refused AutoAuthIP{words}",
                "In KashFlow tick Automatic Authorisation under Apps > API Settings, copy the "
                "key again and export it as KASHFLOW_AUTOAUTH_KEY.",
            ),
        ]
        return
    again = session.exchange(operations.fetch_list("currencies"))
    conn.autoauth_added = True
    conn.checks += _through() if again.ok else later
    conn.checks += [
        Check(
            "ip_access",
            "This machine allowed",
            "ok" if again.ok else "problem",
            f"now: AutoAuth added this machine's IP address{where}"
            if again.ok
            else f"still refused after AutoAuthIP: {again.error}",
            "" if again.ok else "Add the address by hand under Apps > API Settings.",
        ),
        Check(
            "autoauth",
            "AutoAuth would add it",
            "ok",
            f"AutoAuthIP added this machine's IP to the access list as {app_name!r} (it stays, "
            "as after `kashflow-sync connect`)",
        ),
    ]
    if not again.ok:
        conn.stopped_by = again.error


def _key_remedy(key: str) -> str:
    if _KEY_FORMAT.match(key.strip()):
        return ""
    return (
        "KASHFLOW_AUTOAUTH_KEY does not look like KashFlow's format (1234ABCD-1234): copy it "
        "again from Apps > API Settings."
    )


def _autoauth_unused(key: str | None) -> Check:
    """The AutoAuth check when this machine is already allowed: only the key's format."""
    if not key:
        return Check(
            "autoauth",
            "AutoAuth would add it",
            "warning",
            "no KASHFLOW_AUTOAUTH_KEY: if the account restricts API access by IP address and "
            "this machine's address changes, KashFlow will refuse it until someone adds it by "
            "hand",
            "In KashFlow tick Automatic Authorisation under Apps > API Settings and export its "
            "key as KASHFLOW_AUTOAUTH_KEY.",
        )
    remedy = _key_remedy(key)
    return Check(
        "autoauth",
        "AutoAuth would add it",
        "warning" if remedy else "ok",
        "not needed now; the key was not sent, as AutoAuthIP would add an access-list entry"
        + ("" if remedy else " (it has KashFlow's format)"),
        remedy,
    )


def check_clock(session: DoctorSession) -> Check:
    """Compare this machine's clock with KashFlow's HTTP ``Date`` header."""
    skew = session.clock_skew()
    if skew is None:
        return Check("clock", "Clock", "skipped", "KashFlow's answers carried no Date header")
    where = "ahead of" if skew > 0 else "behind"
    text = f"KashFlow's clock is {abs(skew):.0f}s {where} this machine's"
    if abs(skew) < 1:
        return Check("clock", "Clock", "ok", "in step with KashFlow's (to the second)")
    if abs(skew) <= CLOCK_TOLERANCE:
        return Check("clock", "Clock", "ok", f"within {CLOCK_TOLERANCE:.0f}s ({text})")
    return Check(
        "clock",
        "Clock",
        "problem",
        text,
        "Set this machine's clock from a time server (NTP): issue dates default to its date, "
        "and the publish journal's leases run on its clock.",
    )


def sync_lists(
    session: DoctorSession,
    *,
    app_name: str,
    client_factory: Callable[..., Any],
    progress: Callable[[SyncProgress], None] | None = None,
    tracer_provider: Any = None,
) -> tuple[Check, list[ListTiming], Lists | None]:
    """Sync every list into a throwaway in-memory storage, timing each one.

    The client gets the credentials without the AutoAuth key, so it sends no ``AutoAuthIP``,
    and *tracer_provider* when one is given (its spans then join the doctor's trace).
    """
    from ..storage.memory import MemoryStorage

    creds = session.credentials
    keyless = Credentials(username=creds.username, password=creds.password)
    timings: list[ListTiming] = []
    started: dict[str, float] = {}
    first_request = len(session.sent)
    early: list[int] = []  # how many requests went before the first list's window

    def timed(event: SyncProgress) -> None:
        if progress is not None:
            progress(event)
        if event.phase == "fetching":
            if not early:
                early.append(len(session.sent))
            started[event.list_name] = time.perf_counter()
        else:
            seconds = time.perf_counter() - started.pop(event.list_name, time.perf_counter())
            timings.append(ListTiming(event.list_name, event.items, seconds))

    client = client_factory(
        keyless,
        app_name=app_name,
        storage=MemoryStorage(),
        endpoint=session.endpoint,
        http_client=session.http,
        **({} if tracer_provider is None else {"tracer_provider": tracer_provider}),
    )
    with client:
        try:
            report = client.connect(progress=timed)
        except errors.KashFlowError as exc:
            done = ", ".join(t.name for t in timings) or "none"
            return (
                Check(
                    "lists",
                    "Full list sync",
                    "problem",
                    f"the sync failed: {exc.message} (lists done: {done})",
                    exc.remedy,
                ),
                timings,
                None,
            )
        # A list fetched before the windows began (the first one doubles as the credentials
        # check) is charged its request's round trip, so no list shows as free.
        before = session.sent[first_request : early[0] if early else first_request]
        timings[:] = [_with_early_fetch(t, before) for t in timings]
        items = sum(t.items for t in timings)
        check = Check(
            "lists",
            "Full list sync",
            "ok",
            f"{len(timings)} lists, {items:,} items in {report.duration:.2f}s (into a throwaway "
            "in-memory storage, not yours)",
        )
        return check, timings, client.lists


def _with_early_fetch(timing: ListTiming, before: list[SentRequest]) -> ListTiming:
    operation = LIST_SPECS[timing.name].operation if timing.name in LIST_SPECS else ""
    extra = sum(s.seconds or 0.0 for s in before if s.operation == operation)
    return attrs.evolve(timing, seconds=timing.seconds + extra)


#: The not-found lookups: (what, request for a value no account has).
_LOOKUPS = (
    ("receipt", lambda: operations.get_document("purchase", NO_SUCH_NUMBER)),
    ("invoice", lambda: operations.get_document("sales", NO_SUCH_NUMBER)),
    ("supplier", lambda: operations.find_contact("purchase", NO_SUCH_CODE)),
    ("customer", lambda: operations.find_contact("sales", NO_SUCH_CODE)),
)


def _answer(lookup: str, exchange: Exchange[Any]) -> LookupAnswer:
    op = exchange.operation
    if exchange.status is not None and exchange.status.upper() == "NO":
        return LookupAnswer(lookup, op, "status_no", exchange.detail, exchange.ok)
    if exchange.ok and exchange.result is None:
        return LookupAnswer(lookup, op, "empty_object", exchange.detail, True)
    if exchange.ok:
        return LookupAnswer(lookup, op, "found", exchange.detail, False)
    return LookupAnswer(lookup, op, "error", str(exchange.error), False)


def check_lookups(session: DoctorSession) -> tuple[list[LookupAnswer], list[Check]]:
    """Look up a receipt, invoice, supplier and customer that do not exist; see how it reads."""
    answers = [_answer(name, session.exchange(build())) for name, build in _LOOKUPS]
    checks = []
    for a in answers:
        title = f"Missing {a.lookup} reads as absent"
        if a.form == "status_no" and a.sdk_reads_absent:
            checks.append(Check(f"not_found.{a.lookup}", title, "ok", f"Status NO: '{a.words}'"))
        elif a.form == "empty_object":
            checks.append(
                Check(f"not_found.{a.lookup}", title, "ok", "Status OK with an empty object")
            )
        elif a.form == "found":
            checks.append(
                Check(
                    f"not_found.{a.lookup}",
                    title,
                    "skipped",
                    f"{a.operation} found something for the made-up value doctor used",
                )
            )
        else:
            said = f"'{a.words}'" if a.form == "status_no" else a.words
            checks.append(
                Check(
                    f"not_found.{a.lookup}",
                    title,
                    "problem",
                    f"{a.operation} answered {said}, which the SDK does not read as 'not found'",
                    "Please report this (doctor --record DIR makes a cassette to attach): the "
                    "SDK's reconciliation after a lost answer relies on reading it as absent.",
                )
            )
    return answers, checks
