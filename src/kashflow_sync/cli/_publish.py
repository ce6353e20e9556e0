"""``kashflow-sync publish``: validate documents from JSON files, then publish them exactly once.

The batch runs on a thread pool the command drives itself (each document through the client's
own ``publish``), so Ctrl-C can stop it between documents: documents not started are never
sent, the ones in flight stop before their next write to KashFlow and give their journal entries
back (a call already out finishes first), and the command sums up what was published and what
was not. A second Ctrl-C stops waiting for the ones in flight: their entries stay held, and
the next run on this machine takes them over at once since this process is gone (elsewhere it
says whose they are and until when while it waits out their lease). Either way running the
same command again is safe: the publish journal answers ``already_published`` for what reached
KashFlow.

The same stop ends a batch whose documents keep failing to reach KashFlow at all
(``--stop-after-failures``): one summary line instead of a failure per document, exit 4.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from .. import errors
from .._config import DEFAULT_STOP_AFTER_FAILURES
from .._documents.model import kashflow_noun
from .._error_codes import UNREACHABLE_CODES, ErrorCode
from .._journal.states import PUBLISHED
from ._account import Subparsers, account_command
from ._errors import (
    EXIT_AUTH,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TRANSIENT,
    EXIT_USAGE,
    error_json,
    exit_code_for,
    problem_json,
)
from ._output import Console, emit_json, show_problems

if TYPE_CHECKING:
    from .._clients.batch import Breaker

__all__ = ["BatchRun", "register", "run_batch", "run_publish"]


def register(commands: Subparsers) -> None:
    """``kashflow-sync publish``."""
    with account_command(commands, "publish", run_publish) as parser:
        parser.add_argument(
            "files", nargs="+", metavar="FILE", help="document files (.json), or folders of them"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="validate only (offline); publish nothing"
        )
        contacts = parser.add_mutually_exclusive_group()
        contacts.add_argument(
            "--no-create-contacts",
            action="store_true",
            help="refuse documents whose supplier or customer is not in KashFlow, instead of "
            "creating it",
        )
        contacts.add_argument(
            "--create-contacts",
            action="store_true",
            help="the suppliers and customers not in KashFlow are new ones: create them even when "
            "a name is close to an existing one's (no similar_contact problem)",
        )
        parser.add_argument(
            "--concurrency",
            type=_positive_int,
            default=4,
            metavar="N",
            help="documents published at once (default: %(default)s)",
        )
        parser.add_argument(
            "--stop-after-failures",
            type=_whole_number,
            default=DEFAULT_STOP_AFTER_FAILURES,
            metavar="N",
            help="stop starting documents after N in a row failed to reach KashFlow at all "
            "(connection refused or timed out, after retries); 0 never stops "
            "(default: %(default)s)",
        )
        parser.add_argument(
            "--allow-outside-attachments",
            action="store_true",
            help="read attachment paths that lead out of their document file's folder (refused by "
            "default, so a document file cannot upload any file you can read)",
        )


def _whole_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


# ---------------------------------------------------------------------------- the batch


@attrs.define
class BatchRun:
    """What happened to each document of a batch, in input order.

    ``outcomes[i]`` is a ``PublishResult``, a ``KashFlowError``, or None when the document was
    never started (or was still in flight when the run stopped waiting for it). ``stopped`` is
    the breaker's summary when KashFlow was unreachable.
    """

    outcomes: list[Any]
    interrupted: bool = False
    in_flight: set[int] = attrs.field(factory=set)
    stopped: errors.UnreachableError | None = None


def run_batch(
    publish: Callable[[Any, Any], Any],
    documents: Sequence[Any],
    *,
    concurrency: int,
    on_done: Callable[[int, Any], None] | None = None,
    breaker: Breaker | None = None,
) -> BatchRun:
    """Publish *documents* on up to *concurrency* threads; stop cleanly on Ctrl-C or an outage.

    Args:
        publish: publishes one document, given the stop signal it must honour
            (``client._publish(doc, stop=stop)``).
        documents: the documents, in order.
        concurrency: documents in flight at once.
        on_done: called in the main thread with each finished document's index and outcome.
        breaker: counts connection failures in a row; when it trips, no further document
            starts. Its ``stop`` is set on Ctrl-C too.

    """
    from .._clients.batch import Breaker  # the client's modules load only when publishing

    breaker = breaker or Breaker(None)
    run = BatchRun(outcomes=[None] * len(documents))
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="kf-publish")

    def one(doc: Any) -> Any:
        if breaker.stop.is_set():
            return _NOT_STARTED  # a document picked up after the stop: never started
        try:
            outcome = publish(doc, breaker.stop)
        except Exception as exc:
            breaker.record(_as_error(exc))  # here, so this worker's next document sees a trip
            raise
        breaker.record(outcome)
        return outcome

    futures: dict[Future[Any], int] = {
        pool.submit(one, doc): index for index, doc in enumerate(documents)
    }
    pending = set(futures)

    def collect(done: set[Future[Any]]) -> None:
        for future in done:
            index = futures[future]
            exc = future.exception()
            outcome: Any = future.result() if exc is None else _as_error(exc)
            if outcome is _NOT_STARTED:
                continue
            run.outcomes[index] = outcome
            if on_done is not None:
                on_done(index, outcome)

    def stop_starting() -> set[Future[Any]]:
        """Cancel what has not started; the futures still running."""
        for future in pending:
            future.cancel()  # documents not started are never sent
        return {f for f in pending if not f.cancelled()}

    try:
        while pending:
            # A timeout keeps the main thread awake for Ctrl-C on every platform.
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            collect(done)
            if breaker.tripped and pending:
                # KashFlow is unreachable: start nothing more; those in flight stop before
                # their next call (breaker.stop) and end here within moments.
                running = stop_starting()
                while running:
                    done, running = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
                    collect(done)
                pending = set()
    except KeyboardInterrupt:
        run.interrupted = True
        breaker.stop.set()  # those in flight give their entries back before any further call
        running = stop_starting()
        run.in_flight = {futures[f] for f in running}
        try:
            while running:
                done, running = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
                collect(done)
                run.in_flight -= {futures[f] for f in done}
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: stop waiting; the journal keeps their state
        # A Ctrl-C between a future finishing and its collection leaves it uncollected.
        late = {f for f, i in futures.items() if f.done() and not f.cancelled()}
        collect({f for f in late if run.outcomes[futures[f]] is None})
        run.in_flight -= {futures[f] for f in late}
        pool.shutdown(wait=False, cancel_futures=True)
        return run
    pool.shutdown(wait=True)
    if breaker.tripped:
        run.stopped = breaker.error(sum(1 for o in run.outcomes if o is None))
    return run


#: What a worker returns for a document it never started (the batch was stopping).
_NOT_STARTED = object()


def _as_error(exc: BaseException) -> errors.KashFlowError:
    """Any exception of a publish as a KashFlowError (the BatchItem rule), for reporting."""
    from .._documents.model import BatchItem

    item = BatchItem("", error=exc)
    assert item.error is not None
    return item.error


# ---------------------------------------------------------------------------- the command


def run_publish(args: argparse.Namespace) -> int:
    """Validate, then publish documents exactly once (or only validate, with ``--dry-run``)."""
    from .._account.items import ConnectionStatus
    from .._documents.files import read_document_files
    from ._account import credentials, open_client

    documents = read_document_files(
        args.files, allow_outside_attachments=args.allow_outside_attachments
    )
    if args.create_contacts:
        # The document field create_contact says it per document; the flag says it for all.
        documents = [(path, attrs.evolve(doc, create_contact=True)) for path, doc in documents]
    creds = credentials(required=not args.dry_run)
    console = Console()
    with open_client(
        args, credentials=creds, create_missing_contacts=not args.no_create_contacts
    ) as client:
        status = client.status
        # A first connect that KashFlow refused leaves NEEDS_RECONNECT with nothing synced.
        never_synced = status is not ConnectionStatus.CONNECTED and not client.lists.nominal_codes
        if status is ConnectionStatus.NOT_CONNECTED or never_synced:
            # Validation runs on the synced lists, so even a dry run needs a first connect.
            raise errors.NotConnectedError(
                f"connection {client.connection_id!r} has never been connected, so there are no "
                "synced lists to check documents against"
            )
        if args.dry_run:
            return _dry_run(console, client, documents, args.json)
        if status is ConnectionStatus.NEEDS_RECONNECT:
            raise errors.AuthenticationError(
                f"KashFlow refused the credentials of connection {client.connection_id!r} "
                "earlier: publishing is paused until it is reconnected (dry runs still work)",
                code=ErrorCode.NEEDS_RECONNECT,
            )
        return _publish(console, client, documents, args)


def _totals(document: Any) -> dict[str, Any]:
    """Net, VAT and gross of a resolved document (VAT worked out from rates by the rules)."""
    vat_known = all(line.vat is not None for line in document.lines)
    return {
        "currency": document.currency,
        "net": document.net,
        "vat": document.vat if vat_known else None,
        "gross": document.gross if vat_known else None,
    }


def _describe(document: Any, totals: dict[str, Any]) -> str:
    money = f"net {totals['net']}"
    if totals["gross"] is not None:
        money = f"{totals['net']} + VAT {totals['vat']} = {totals['gross']}"
    currency = f" {totals['currency']}" if totals["currency"] else ""
    return f"{document.kind} · {document.contact} · {document.reference or '-'} · {money}{currency}"


def _dry_run(
    console: Console, client: Any, documents: list[tuple[Path, Any]], as_json: bool
) -> int:
    from .._account.items import ConnectionStatus

    rows = []
    for path, doc in documents:
        resolved = client.resolve(doc).document
        found = client.validate(doc, include_notices=True)
        problems = [p for p in found if p.severity == "error"]
        entry = client.storage.get_journal(client.connection_id, doc.external_id)
        published = entry is not None and entry.state == PUBLISHED
        notices = [p for p in found if p.severity == "notice" and not published]
        rows.append((path, doc, _totals(resolved), problems, notices, published))
    failed = sum(1 for row in rows if row[3])
    reconnect = client.status is ConnectionStatus.NEEDS_RECONNECT
    if as_json:
        emit_json(
            {
                "ok": not failed,
                "dry_run": True,
                "status": client.status.value,
                "documents": [
                    {
                        "file": str(path),
                        "external_id": doc.external_id,
                        "kind": doc.kind,
                        "contact": doc.contact,
                        "reference": doc.reference,
                        **totals,
                        "already_published": published,
                        "problems": [problem_json(p) for p in problems],
                        "notices": [problem_json(p) for p in notices],
                    }
                    for path, doc, totals, problems, notices, published in rows
                ],
            }
        )
        return EXIT_FAILED if failed else EXIT_OK
    console.print(
        console.styled(f"Validating {len(rows)} document(s) (dry run: nothing is sent)", "bold")
    )
    for _path, doc, totals, problems, notices, published in rows:
        line = f"{doc.external_id}  {_describe(doc, totals)}"
        if problems:
            console.fail(f"{line}: {len(problems)} problem(s)")
            show_problems(console, problems)
        elif published:
            console.ok(f"{line}: already published")
            continue  # what publishing would create is history for this one
        else:
            console.ok(f"{line}: ready to publish")
        for notice in notices:
            console.warn(f"  {notice.message}")
    console.print()
    console.print(f"{len(rows) - failed} ready, {failed} with problems.")
    if reconnect:
        console.warn(
            "KashFlow refused this connection's credentials earlier: the lists checked against "
            "are from the last sync, and publishing needs `kashflow-sync connect` first."
        )
    return EXIT_FAILED if failed else EXIT_OK


def _publish(
    console: Console, client: Any, documents: list[tuple[Path, Any]], args: argparse.Namespace
) -> int:
    docs = [doc for _path, doc in documents]
    # What publishing will do besides the documents themselves (new suppliers), said up front.
    notices = {
        doc.external_id: [
            p for p in client.validate(doc, include_notices=True) if p.severity == "notice"
        ]
        for doc in docs
    }
    if not args.json:
        console.print(
            console.styled(
                f"Publishing {len(docs)} document(s) with concurrency {args.concurrency}", "bold"
            )
        )
        for doc in docs:
            for notice in notices[doc.external_id]:
                console.warn(f"{doc.external_id}  {notice.message}")
    err = Console(sys.stderr)
    bar = err.progress("publishing", len(docs)) if not args.json else None
    finished = 0

    def on_done(index: int, outcome: Any) -> None:
        nonlocal finished
        finished += 1
        if bar is not None:
            mark = "✗" if isinstance(outcome, errors.KashFlowError) else "✓"
            bar.update(finished, f"{mark} {docs[index].external_id}")

    def publish(doc: Any, stop: Any) -> Any:
        return client._publish(doc, stop=stop)

    from .._clients.batch import Breaker

    breaker = Breaker(args.stop_after_failures or None)
    with _waits_shown(err):
        run = run_batch(
            publish, docs, concurrency=args.concurrency, on_done=on_done, breaker=breaker
        )
    if bar is not None:
        bar.finish()
    if run.interrupted:
        code = EXIT_INTERRUPTED
    elif run.stopped is not None:
        code = EXIT_TRANSIENT
    else:
        code = _batch_exit_code(run.outcomes)
    if args.json:
        emit_json(_publish_json(documents, run, code, notices))
        if run.in_flight:
            _exit_now(code)
        return code
    summed_up = run.stopped is not None or run.interrupted
    for (_path, doc), outcome in zip(documents, run.outcomes, strict=True):
        if summed_up and _summed_up(outcome, run):
            continue  # said once, in the summary below
        _show_outcome(console, doc, outcome)
    console.print()
    published = [d.external_id for d, o in zip(docs, run.outcomes, strict=True) if _ok(o)]
    failed = [o for o in run.outcomes if isinstance(o, errors.KashFlowError)]
    console.print(f"{len(published)} in KashFlow, {len(failed)} failed.")
    if run.stopped is not None:
        _show_stopped(console, docs, run, run.stopped)
    if run.interrupted:
        _show_interrupted(docs, run)
    if run.in_flight:
        _exit_now(code)
    return code


class _WaitLines(logging.Handler):
    """Shows the SDK's "waiting for another holder's lease" warnings on the terminal."""

    def __init__(self, console: Console) -> None:
        super().__init__(logging.WARNING)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "lease_wait", None) is not None:
            self.console.warn(record.getMessage())


@contextlib.contextmanager
def _waits_shown(console: Console) -> Iterator[None]:
    """While the block runs, a publish waiting on another's lease says so on *console*."""
    logger = logging.getLogger("kashflow_sync")
    handler = _WaitLines(console)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def _summed_up(outcome: Any, run: BatchRun) -> bool:
    """Whether *outcome* is told in the stop's summary instead of a block of its own."""
    if not isinstance(outcome, errors.KashFlowError):
        return False
    if outcome.code == ErrorCode.STOPPED:
        return True
    return run.stopped is not None and outcome.code in UNREACHABLE_CODES


def _some(ids: Sequence[str], shown: int = 3) -> str:
    """The first few of *ids*, and how many more."""
    if len(ids) <= shown + 1:
        return ", ".join(ids)
    return f"{', '.join(ids[:shown])} and {len(ids) - shown} more"


def _stopped_ids(docs: Sequence[Any], run: BatchRun) -> list[str]:
    return [
        d.external_id
        for d, o in zip(docs, run.outcomes, strict=True)
        if isinstance(o, errors.KashFlowError) and o.code == ErrorCode.STOPPED
    ]


def _show_stopped(
    console: Console, docs: Sequence[Any], run: BatchRun, stopped: errors.UnreachableError
) -> None:
    """The breaker's one summary: since when, how many not attempted, which failed how."""
    console.fail(f"{stopped.message} ({stopped.code})")
    unreachable = [
        (d.external_id, o.code)
        for d, o in zip(docs, run.outcomes, strict=True)
        if isinstance(o, errors.KashFlowError) and o.code in UNREACHABLE_CODES
    ]
    codes = sorted({str(code) for _id, code in unreachable})
    parts = []
    if unreachable:
        parts.append(
            f"{len(unreachable)} could not reach KashFlow ({', '.join(codes)}): "
            + _some([i for i, _code in unreachable])
        )
    if given_back := _stopped_ids(docs, run):
        parts.append(f"{len(given_back)} stopped before sending more: {_some(given_back)}")
    if parts:
        console.wrapped("; ".join(parts) + ".", indent=6)
    console.wrapped(
        stopped.remedy + " `kashflow-sync journal` shows each document's state.",
        indent=6,
        prefix=console.styled("→ ", "cyan"),
    )


def _exit_now(code: int) -> None:
    """Exit without waiting for publishes still in flight (after a second Ctrl-C)."""
    import os

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _ok(outcome: Any) -> bool:
    return outcome is not None and not isinstance(outcome, errors.KashFlowError)


def _show_outcome(console: Console, doc: Any, outcome: Any) -> None:
    if outcome is None:
        return
    if isinstance(outcome, errors.ValidationError):  # every problem, with its remedy
        console.fail(f"{doc.external_id}  {len(outcome.problems)} problem(s)")
        show_problems(console, outcome.problems)
    elif isinstance(outcome, errors.KashFlowError):
        console.fail(f"{doc.external_id}  {outcome.message} ({outcome.code})")
        console.wrapped(outcome.remedy, indent=6, prefix=console.styled("→ ", "cyan"))
    else:
        what = kashflow_noun(outcome.kind)
        status = outcome.status.replace("_", " ")
        applied = "  applied" if outcome.applied else ""
        console.ok(
            f"{doc.external_id}  {what} {outcome.number} (id {outcome.kashflow_id})  "
            f"{status}{applied}"
        )
        for notice in outcome.notices:  # what a person should do in KashFlow
            console.warn(f"{doc.external_id}  {notice.message}")
            console.wrapped(notice.remedy, indent=6, prefix=console.styled("→ ", "cyan"))


def _show_interrupted(docs: Sequence[Any], run: BatchRun) -> None:
    """A short summary of an interrupted batch: counts, the first few ids of each kind."""
    published = [d.external_id for d, o in zip(docs, run.outcomes, strict=True) if _ok(o)]
    not_started = [
        d.external_id
        for i, (d, o) in enumerate(zip(docs, run.outcomes, strict=True))
        if o is None and i not in run.in_flight
    ]
    given_back = _stopped_ids(docs, run)
    in_flight = [docs[i].external_id for i in sorted(run.in_flight)]
    parts = [f"{len(published)} published" + (f" ({_some(published)})" if published else "")]
    if given_back:
        parts.append(f"{len(given_back)} stopped and given back ({_some(given_back)})")
    parts.append(
        f"{len(not_started)} not started" + (f" ({_some(not_started)})" if not_started else "")
    )
    if in_flight:
        parts.append(
            f"{len(in_flight)} left mid-publish ({_some(in_flight)}): still held, until the "
            "next run on this machine takes them over"
        )
    err = Console(sys.stderr)
    err.fail(
        "Interrupted: "
        + "; ".join(parts)
        + ". Running the same command again is safe: what reached KashFlow is not sent twice; "
        "`kashflow-sync journal` shows each document's state.",
        one_line=True,
    )


def _publish_json(
    documents: list[tuple[Path, Any]], run: BatchRun, code: int, notices: dict[str, list[Any]]
) -> dict[str, Any]:
    items = []
    for index, ((path, doc), outcome) in enumerate(zip(documents, run.outcomes, strict=True)):
        data: dict[str, Any] = {
            "file": str(path),
            "external_id": doc.external_id,
            "notices": [problem_json(p) for p in notices[doc.external_id]],
        }
        if outcome is None:
            if index in run.in_flight:
                data["status"] = "in_flight"
            else:
                data["status"] = "not_attempted" if run.stopped else "not_published"
        elif isinstance(outcome, errors.KashFlowError):
            data.update(status="failed", error=error_json(outcome))
        else:
            data.update(
                status=outcome.status,
                kind=outcome.kind,
                number=outcome.number,
                kashflow_id=outcome.kashflow_id,
                applied=outcome.applied,
            )
            data["notices"] += [problem_json(p) for p in outcome.notices]
        items.append(data)
    result: dict[str, Any] = {
        "ok": code == EXIT_OK,
        "published": sum(1 for i in items if i["status"] == "published"),
        "already_published": sum(1 for i in items if i["status"] == "already_published"),
        "failed": sum(1 for i in items if i["status"] == "failed"),
        "documents": items,
    }
    if run.stopped is not None:
        result["stopped"] = True
        result["error"] = error_json(run.stopped)
    if run.interrupted:
        result["interrupted"] = True
        result["error"] = {
            "code": ErrorCode.INTERRUPTED,
            "message": "interrupted (Ctrl-C) before every document was published",
            "remedy": "Run the same command again: what reached KashFlow is not sent twice.",
            "retryable": True,
        }
    return result


def _batch_exit_code(outcomes: Sequence[Any]) -> int:
    """0 when every document is in KashFlow; otherwise the most pressing failure's code.

    Authentication problems (3) come first since nothing else can work; then configuration (2),
    then documents that need fixing (1); then transient or uncertain ones (4), which a later run
    completes.
    """
    codes = {exit_code_for(o) for o in outcomes if isinstance(o, errors.KashFlowError)}
    for code in (EXIT_AUTH, EXIT_USAGE, EXIT_FAILED, EXIT_TRANSIENT):
        if code in codes:
            return code
    return EXIT_OK
