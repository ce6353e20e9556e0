"""``kashflow-sync doctor``: learn a real account's KashFlow from the account itself.

One run checks the connection (endpoint, SOAP API, credentials, IP access list, AutoAuth),
the clock, how long a full list sync takes (into a throwaway in-memory storage), and how the
account answers lookups of things that do not exist; with ``probe_writes`` it also makes,
reads back and deletes a throwaway supplier and customer with receipts, an invoice and credit
notes (:mod:`.probe`, :mod:`.credit`). It returns a
:class:`~.model.DoctorReport`; the command line draws it and stores the facts.

Read-only by default, enforced where requests leave (:class:`~.session.DoctorSession`):
only ``Get...`` lookups. ``AutoAuthIP`` counts as a write, since it adds this machine's IP
address to the account's access list and the SOAP API cannot take it off again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timezone
from typing import Any

import attrs
import httpx

from .. import errors
from .._config import Credentials
from .._engine.listsync import SyncProgress
from .._telemetry import NO_TELEMETRY, telemetry_for
from .model import Check, DoctorReport, ListTiming, LookupAnswer, ProbeResult
from .probe import ProbeFindings, WriteProbe
from .read import check_clock, check_connection, check_lookups, sync_lists
from .session import DoctorSession
from .verdicts import assess, learned_facts

__all__ = ["DoctorOptions", "run_doctor"]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _default_client_factory(*args: Any, **kwargs: Any) -> Any:
    # Looked up when called, so a caller (or a test) replacing the client class is honoured.
    from .._clients import sync_client as _client

    return _client.KashFlowClient(*args, **kwargs)


@attrs.frozen
class DoctorOptions:
    """How to run doctor.

    Args:
        endpoint: KashFlow's SOAP URL.
        credentials: username, password and optional AutoAuth key.
        app_name: the comment AutoAuth puts beside this machine's IP (only with writes).
        probe_writes: make, read back and delete a throwaway supplier and customer with
            receipts, an invoice and credit notes.
        transport: an httpx transport instead of the network (tests, docs).
        now: this machine's clock, in UTC.
        client_factory: builds the client for the throwaway list sync
            (``KashFlowClient``'s arguments).
        progress: called as the list sync goes (a progress bar).
        tracer_provider: an OpenTelemetry ``TracerProvider`` to report each KashFlow call to
            (``kashflow-sync --trace doctor``), the list sync's client included; None reports
            nothing.

    """

    endpoint: str
    credentials: Credentials = attrs.field(repr=False)
    app_name: str = "kashflow-sync"
    probe_writes: bool = False
    transport: httpx.BaseTransport | None = None
    now: Callable[[], datetime] = _utc_now
    client_factory: Callable[..., Any] = _default_client_factory
    progress: Callable[[SyncProgress], None] | None = None
    tracer_provider: Any = None


@attrs.define
class _Run:
    """What a run has found so far (the report is made from it at the end)."""

    checks: list[Check] = attrs.Factory(list)
    lists: list[ListTiming] = attrs.Factory(list)
    lookups: list[LookupAnswer] = attrs.Factory(list)
    findings: ProbeFindings | None = None
    probe: ProbeResult | None = None
    stopped_by: errors.KashFlowError | None = None
    interrupted: bool = False


def run_doctor(options: DoctorOptions) -> DoctorReport:
    """Run every check (and, if asked, the write probe); return what was found.

    KashFlow's refusals become checks with remedies, never exceptions. Ctrl-C ends the run
    early with ``interrupted`` set, after the write probe (if any) has cleaned up.

    Raises:
        KashFlowError: ``doctor_write_refused``, a bug guard: a write was about to be sent
            without ``probe_writes``.

    """
    from .. import __version__

    started = options.now()
    run = _Run()
    session = DoctorSession(
        options.endpoint,
        options.credentials,
        allow_writes=options.probe_writes,
        transport=options.transport,
        now=options.now,
        telemetry=(
            NO_TELEMETRY
            if options.tracer_provider is None
            else telemetry_for(options.tracer_provider)
        ),
    )
    with session:
        try:
            _checks(session, options, run, started.astimezone().date())
        except KeyboardInterrupt:
            run.interrupted = True
        run.checks.append(check_clock(session))
    ok_answers = [e for e in session.exchanges if e.ok and (e.status or "").upper() == "OK"]
    notes = [e.detail for e in ok_answers if e.detail]
    facts = learned_facts(
        learned_at=started,
        sdk_version=__version__,
        lookups=run.lookups,
        notes=notes,
        ok_answers=len(ok_answers),
        clock_skew=session.clock_skew(),
        findings=run.findings,
    )
    return DoctorReport(
        endpoint=options.endpoint,
        started_at=started,
        sdk_version=__version__,
        writes_probed=options.probe_writes,
        checks=tuple(run.checks),
        lists=tuple(run.lists),
        lookups=tuple(run.lookups),
        assumptions=tuple(assess(run.lookups, notes, len(ok_answers), run.findings)),
        probe=run.probe,
        sent=tuple(session.sent),
        facts=facts,
        stopped_by=run.stopped_by,
        interrupted=run.interrupted,
    )


def _checks(session: DoctorSession, options: DoctorOptions, run: _Run, today: date) -> None:
    """The checks in order; each step needs the one before it to have got through."""
    connection = check_connection(session, app_name=options.app_name)
    run.checks += connection.checks
    lasting = (
        (f"AutoAuthIP added this machine's IP address to the access list as {options.app_name!r}",)
        if connection.autoauth_added
        else ()
    )
    if options.probe_writes:
        run.probe = ProbeResult(lasting=lasting)
    if connection.stopped_by is not None:
        run.stopped_by = connection.stopped_by
        return
    check, timings, lists = sync_lists(
        session,
        app_name=options.app_name,
        client_factory=options.client_factory,
        progress=options.progress,
        tracer_provider=options.tracer_provider,
    )
    run.checks.append(check)
    run.lists = timings
    run.lookups, lookup_checks = check_lookups(session)
    run.checks += lookup_checks
    if not options.probe_writes:
        return
    if lists is None:
        run.probe = ProbeResult(lasting=lasting, notes=("not run: the lists could not be read",))
        return
    stamp = options.now().astimezone().strftime("%Y%m%d-%H%M%S")
    probe = WriteProbe(session, lists, today=today, stamp=stamp)
    probe.run()
    run.findings = probe.findings
    run.probe = ProbeResult(
        items=tuple(probe.items),
        lasting=lasting,
        interrupted=probe.interrupted,
        notes=tuple(probe.notes),
    )
    if probe.interrupted:
        raise KeyboardInterrupt
