"""The real-account commands of ``kashflow-sync``: connect, refresh, status, publish."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import errors
from ._batch import BatchProgress
from ._cli_documents import load_documents
from ._cli_output import Console, ProgressBar
from ._client import KashFlowClient
from ._config import Credentials
from ._documents import BatchResult, Document, Problem
from ._engine.listsync import SyncProgress
from ._models import LIST_NAMES, ConnectionStatus, SyncReport
from .cli import (
    ENV_DB,
    EXIT_AUTH,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_TRANSIENT,
    EXIT_USAGE,
    default_db_url,
    env_credentials,
    error_json,
    exit_code_for,
)
from .storage import SQLStorage

__all__ = [
    "cmd_connect",
    "cmd_publish",
    "cmd_refresh",
    "cmd_status",
    "print_problems",
    "sync_progress",
]

#: Stands in for credentials in commands that only read the local database (never sent).
_OFFLINE = Credentials(username="(offline)", password="(offline)")


def _db_url(args: argparse.Namespace) -> str:
    url: str = args.db or os.environ.get(ENV_DB) or default_db_url()
    return url


@contextmanager
def _client(args: argparse.Namespace, *, credentials: Credentials) -> Iterator[KashFlowClient]:
    storage = SQLStorage(_db_url(args))
    try:
        with KashFlowClient(
            credentials,
            app_name=args.app_name,
            storage=storage,
            connection_id=args.connection_id,
            endpoint=args.endpoint,
        ) as client:
            yield client
    finally:
        storage.close()


def _credentials(*, required: bool) -> Credentials:
    creds = env_credentials(required=required)
    return creds if creds is not None else _OFFLINE


def _emit_json(data: Mapping[str, Any]) -> None:
    print(json.dumps(data, indent=2, default=str))


def sync_progress(console: Console, label: str) -> tuple[Callable[[SyncProgress], None], Any]:
    """A progress callback drawing one bar over the lists being synced, and a finisher."""
    state: dict[str, ProgressBar] = {}

    def callback(event: SyncProgress) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = console.progress(label, event.total)
        if event.phase == "fetching":
            if console.tty:
                bar.update(event.index - 1, f"fetching {event.list_name}…")
        else:
            bar.update(event.index, f"{event.list_name} ({event.items:,})")

    def finish(note: str = "") -> None:
        bar = state.get("bar")
        if bar is not None:
            bar.finish(note)

    return callback, finish


def _report_json(report: SyncReport) -> dict[str, Any]:
    return {
        "duration": round(report.duration, 3),
        "lists": {
            name: {
                "added": c.added,
                "changed": c.changed,
                "archived": c.archived,
                "unchanged": c.unchanged,
                "total": c.total,
            }
            for name, c in report.lists.items()
        },
    }


def print_report(console: Console, report: SyncReport) -> None:
    """The per-list table of a sync: added, changed, archived, unchanged, total."""
    rows = [
        (name, c.added, c.changed, c.archived, c.unchanged, c.total)
        for name, c in report.lists.items()
    ]
    console.table(
        ("list", "added", "changed", "archived", "unchanged", "total"), rows, align="lrrrrr"
    )


def _list_counts(client: KashFlowClient) -> dict[str, dict[str, int]]:
    counts = {}
    for name in LIST_NAMES:
        items = client.lists.get(name)
        counts[name] = {"active": len(items.active), "total": len(items)}
    return counts


# ---------------------------------------------------------------------------- connect


def cmd_connect(args: argparse.Namespace) -> int:
    """``kashflow-sync connect``: AutoAuth, check the credentials, sync every list."""
    creds = _credentials(required=True)
    console = Console()
    with _client(args, credentials=creds) as client:
        if not args.json:
            console.step(f"Connecting {creds.username!r} to {args.endpoint}")
            if creds.autoauth_key:
                console.step(
                    f"AutoAuth: asking KashFlow to add this machine's IP to the API access "
                    f"list as {args.app_name!r}"
                )
            else:
                console.warn(
                    "No KASHFLOW_AUTOAUTH_KEY: this machine's IP must already be in the "
                    "account's API access list"
                )
        progress, finish = sync_progress(Console(_progress_stream(args)), "syncing lists")
        report = client.connect(progress=None if args.json else progress)
        finish()
        if args.json:
            _emit_json(
                {
                    "ok": True,
                    "connection_id": client.connection_id,
                    "status": client.status.value,
                    **_report_json(report),
                }
            )
            return EXIT_OK
        console.ok(
            f"Connected: connection {client.connection_id!r}, lists synced in "
            f"{report.duration:.2f}s"
        )
        print_report(console, report)
        console.print()
        console.print(f"  Stored in {client.storage!r}")
    return EXIT_OK


def _progress_stream(args: argparse.Namespace) -> Any:
    import sys

    # Progress goes to stderr so stdout carries only results (and JSON stays parseable).
    return sys.stderr


# ---------------------------------------------------------------------------- refresh


def cmd_refresh(args: argparse.Namespace) -> int:
    """``kashflow-sync refresh``: re-pull all or some lists and show what changed."""
    creds = _credentials(required=True)
    console = Console()
    with _client(args, credentials=creds) as client:
        progress, finish = sync_progress(Console(_progress_stream(args)), "refreshing")
        report = client.refresh_lists(args.only, progress=None if args.json else progress)
        finish()
        if args.json:
            _emit_json({"ok": True, "connection_id": client.connection_id, **_report_json(report)})
            return EXIT_OK
        console.ok(f"Lists refreshed in {report.duration:.2f}s")
        print_report(console, report)
    return EXIT_OK


# ---------------------------------------------------------------------------- status


def cmd_status(args: argparse.Namespace) -> int:
    """``kashflow-sync status``: the connection's state from the local database."""
    creds = _credentials(required=args.check)
    console = Console()
    missing = _missing_sqlite_file(_db_url(args))
    if missing is not None:
        # Nothing was ever stored here: say so rather than create an empty database to read.
        if args.json:
            _emit_json(
                {
                    "ok": True,
                    "connection_id": args.connection_id,
                    "database": str(missing),
                    "status": ConnectionStatus.NOT_CONNECTED.value,
                    "checked": None,
                }
            )
        else:
            console.print(f"status: not_connected (no local database at {missing} yet)")
            console.print("  Run `kashflow-sync connect` (with the KASHFLOW_* variables exported).")
        return _status_code(ConnectionStatus.NOT_CONNECTED)
    with _client(args, credentials=creds) as client:
        checked: bool | None = None
        if args.check and client.status is ConnectionStatus.CONNECTED:
            # A refresh of the smallest list proves the credentials and the IP still work.
            client.refresh_lists(["currencies"])
            checked = True
        counts = _list_counts(client)
        supplier_rules = len(client.rules.supplier_rules())
        customer_rules = len(client.rules.customer_rules())
        if args.json:
            _emit_json(
                {
                    "ok": True,
                    "connection_id": client.connection_id,
                    "database": client.storage.url
                    if isinstance(client.storage, SQLStorage)
                    else None,
                    "status": client.status.value,
                    "checked": checked,
                    "lists": counts,
                    "rules": {"supplier": supplier_rules, "customer": customer_rules},
                }
            )
            return _status_code(client.status)
        colour = {
            ConnectionStatus.CONNECTED: "green",
            ConnectionStatus.NEEDS_RECONNECT: "red",
            ConnectionStatus.NOT_CONNECTED: "yellow",
        }[client.status]
        console.detail("connection", client.connection_id)
        console.detail("database", repr(client.storage))
        console.detail("status", console.style(client.status.value, colour, "bold"))
        if checked:
            console.detail("check", console.style("KashFlow accepted the credentials", "green"))
        console.detail("rules", f"{supplier_rules} supplier, {customer_rules} customer")
        console.print()
        rows = [(n, c["active"], c["total"] - c["active"]) for n, c in counts.items()]
        console.table(("list", "active", "archived"), rows, align="lrr")
        if client.status is ConnectionStatus.NOT_CONNECTED:
            console.print()
            console.warn("Not connected: run `kashflow-sync connect` first.")
        elif client.status is ConnectionStatus.NEEDS_RECONNECT:
            console.print()
            console.warn("KashFlow refused the credentials: fix them and run `connect` again.")
    return _status_code(client.status)


def _missing_sqlite_file(url: str) -> Path | None:
    """The path of a SQLite database file that does not exist yet, else None."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if database.startswith("file:"):
        return None
    path = Path(database)
    return None if path.exists() else path


def _status_code(status: ConnectionStatus) -> int:
    if status is ConnectionStatus.NEEDS_RECONNECT:
        return EXIT_AUTH
    if status is ConnectionStatus.NOT_CONNECTED:
        return EXIT_USAGE
    return EXIT_OK


# ---------------------------------------------------------------------------- publish


def print_problems(console: Console, problems: list[Problem] | tuple[Problem, ...]) -> None:
    """Each problem: its field and code, the message, and the remedy under it."""
    for problem in problems:
        console.print(
            f"    {console.style(problem.field or '(document)', 'bold')}  "
            f"{console.style(problem.code, 'yellow')}"
        )
        console.wrapped(problem.message, indent=6)
        console.wrapped(
            problem.remedy, indent=6, prefix=console.style("→ ", "cyan"), prefix_width=2
        )


def _describe(doc: Document) -> str:
    currency = doc.currency or ""
    return f"{doc.kind} · {doc.contact} · {doc.reference or '-'} · {doc.gross} {currency}".rstrip()


def _load_all(files: list[str]) -> list[tuple[Path, Document]]:
    loaded: list[tuple[Path, Document]] = []
    seen: dict[str, Path] = {}
    for name in files:
        path = Path(name)
        for doc in load_documents(path):
            if doc.external_id in seen:
                from ._cli_documents import DocumentFileError

                raise DocumentFileError(
                    path,
                    "external_id",
                    f"{doc.external_id!r} appears twice (also in {seen[doc.external_id]}); "
                    "each document needs its own external_id",
                )
            seen[doc.external_id] = path
            loaded.append((path, doc))
    return loaded


def cmd_publish(args: argparse.Namespace) -> int:
    """``kashflow-sync publish``: validate, then publish documents exactly once."""
    documents = _load_all(args.files)
    creds = _credentials(required=not args.dry_run)
    console = Console()
    with _client(args, credentials=creds) as client:
        if client.status is not ConnectionStatus.CONNECTED:
            # Validation runs on the synced lists, so even a dry run needs a connection.
            raise errors.NotConnectedError(
                f"connection {client.connection_id!r} is {client.status.value}: run "
                "`kashflow-sync connect` first (it syncs the lists validation needs)"
            )
        if args.dry_run:
            return _dry_run(console, client, documents, args.json)
        return _publish(console, client, documents, args)


def _dry_run(
    console: Console, client: KashFlowClient, documents: list[tuple[Path, Document]], as_json: bool
) -> int:
    results = []
    failed = 0
    for path, doc in documents:
        problems = client.validate(doc)
        entry = client.storage.get_journal(client.connection_id, doc.external_id)
        published = entry is not None and entry.state == "published"
        failed += bool(problems)
        results.append((path, doc, problems, published))
    code = EXIT_FAILED if failed else EXIT_OK
    if as_json:
        _emit_json(
            {
                "ok": not failed,
                "dry_run": True,
                "documents": [
                    {
                        "file": str(path),
                        "external_id": doc.external_id,
                        "kind": doc.kind,
                        "already_published": published,
                        "problems": [
                            {
                                "code": p.code,
                                "field": p.field,
                                "message": p.message,
                                "remedy": p.remedy,
                            }
                            for p in problems
                        ],
                    }
                    for path, doc, problems, published in results
                ],
            }
        )
        return code
    console.print(
        console.style(f"Validating {len(documents)} document(s) (dry run: nothing is sent)", "bold")
    )
    for _path, doc, problems, published in results:
        if problems:
            console.fail(f"{doc.external_id}  {_describe(doc)}: {len(problems)} problem(s)")
            print_problems(console, problems)
        elif published:
            console.ok(f"{doc.external_id}  {_describe(doc)}: already published")
        else:
            console.ok(f"{doc.external_id}  {_describe(doc)}: ready to publish")
    console.print()
    ready = len(results) - failed
    console.print(f"{ready} ready, {failed} with problems.")
    return code


def _publish(
    console: Console,
    client: KashFlowClient,
    documents: list[tuple[Path, Document]],
    args: argparse.Namespace,
) -> int:
    docs = [doc for _path, doc in documents]
    if not args.json:
        console.print(
            console.style(
                f"Publishing {len(docs)} document(s) with concurrency {args.concurrency}", "bold"
            )
        )
    bar = Console(_progress_stream(args)).progress("publishing", len(docs))

    def progress(event: BatchProgress) -> None:
        mark = "✓" if event.ok else "✗"
        bar.update(event.done, f"{mark} {event.external_id}")

    batch = client.publish_many(
        docs, concurrency=args.concurrency, progress=None if args.json else progress
    )
    if not args.json:
        bar.finish()
    code = batch_exit_code(batch)
    if args.json:
        _emit_json(
            {
                "ok": code == EXIT_OK,
                "published": sum(
                    1 for i in batch if i.result is not None and i.result.status == "published"
                ),
                "already_published": sum(
                    1
                    for i in batch
                    if i.result is not None and i.result.status == "already_published"
                ),
                "failed": len(batch.failed),
                "documents": [
                    _item_json(path, item) for (path, _), item in zip(documents, batch, strict=True)
                ],
            }
        )
        return code
    for item in batch:
        if item.result is not None:
            r = item.result
            what = "receipt" if r.kind == "purchase" else "invoice"
            status = console.style(
                r.status.replace("_", " "), "green" if r.status == "published" else "dim"
            )
            console.ok(f"{item.external_id}  {what} {r.number} (id {r.kashflow_id})  {status}")
        else:
            exc = item.error
            assert exc is not None
            if isinstance(exc, errors.ValidationError):  # every problem, with its remedy
                console.fail(f"{item.external_id}  {len(exc.problems)} problem(s)")
                print_problems(console, exc.problems)
            elif isinstance(exc, errors.KashFlowError):
                console.fail(f"{item.external_id}  {exc} ({exc.code})")
                console.wrapped(
                    exc.remedy, indent=6, prefix=console.style("→ ", "cyan"), prefix_width=2
                )
            else:
                console.fail(f"{item.external_id}  {type(exc).__name__}: {exc}")
    published = len(batch.published)
    console.print()
    console.print(f"{published} in KashFlow, {len(batch.failed)} failed.")
    return code


def _item_json(path: Path, item: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"file": str(path), "external_id": item.external_id}
    if item.result is not None:
        r = item.result
        data.update(status=r.status, kind=r.kind, number=r.number, kashflow_id=r.kashflow_id)
    else:
        data.update(status="failed", error=error_json(item.error))
    return data


def batch_exit_code(batch: BatchResult) -> int:
    """0 when every document is in KashFlow; otherwise the most pressing failure's code.

    Authentication problems (3) come first since nothing else can work; then documents that need
    fixing (1); then transient or uncertain ones (4), which a later run completes.
    """
    codes = {exit_code_for(i.error) for i in batch.failed if i.error is not None}
    for code in (EXIT_AUTH, EXIT_USAGE, EXIT_FAILED, EXIT_TRANSIENT):
        if code in codes:
            return code
    return EXIT_OK
