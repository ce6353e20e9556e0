"""Smaller edges of the command line, through the installed console script: contacts in the
journal, its steps column, watches, descriptions in ``--help``, options only where they mean
something, read-only databases and a mistyped ``--connection-id``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from _cli_helpers import purchase, write_doc

import kashflow_sync as kfs
from _support import make_client
from _support import purchase as purchase_doc
from kashflow_sync.cli._help import COMMAND_TEXTS
from kashflow_sync.testing import FakeKashFlow


def _publish_new_supplier(sh: Any, folder: Path) -> None:
    doc = purchase("new-1", supplier="Zebra Stationers Ltd")
    write_doc(folder, doc)
    (folder / "inv.pdf").write_bytes(b"%PDF-1.4\n")
    done = sh("publish", "doc.json")
    assert done.code == 0, done.out + done.err


def test_journal_contacts_needs_no_state(connected_sh: Any, tmp_path: Path) -> None:
    """``journal --contacts`` lists the contacts kashflow-sync created (published entries)
    without ``--state all``; without --contacts they stay out."""
    _publish_new_supplier(connected_sh, tmp_path)
    listed = connected_sh("journal", "--contacts", "--json").json()["entries"]
    assert [e["external_id"] for e in listed] == [
        "kashflow_sync:contact:purchase:zebra stationers ltd"
    ]
    assert listed[0]["state"] == "published"
    assert connected_sh("journal", "--json").json()["entries"] == []
    shown = connected_sh("journal", "--contacts")
    assert "kashflow_sync:contact:purchase" in shown.out


def test_journal_column_counts_steps_not_tries(connected_sh: Any, tmp_path: Path) -> None:
    """The count column is named for what it counts (steps in the history), not "tries"."""
    _publish_new_supplier(connected_sh, tmp_path)
    assert connected_sh("publish", "doc.json").code == 0  # a rerun: already published
    shown = connected_sh("journal", "--state", "published")
    header = next(line for line in shown.out.splitlines() if "external id" in line)
    assert "steps" in header and "tries" not in header
    assert "not sends" in connected_sh("journal", "--help").out


@pytest.fixture
def watched_db(tmp_path: Path) -> Iterator[str]:
    """A database where one document was sent twice (its first answer lost past the settle
    time), so the SDK watches it for a late first copy."""
    url = f"sqlite:///{tmp_path / 'kf.db'}"
    fake = FakeKashFlow()
    settle = 0.3
    with (
        kfs.SQLStorage(url) as storage,
        make_client(
            fake, storage=storage, timeout=settle, settle_time=timedelta(seconds=settle)
        ) as client,
    ):
        client.connect()
        fake.faults.late_apply(3 * settle, op="InsertReceipt", times=1)
        for _ in range(5):
            try:
                client.publish(purchase_doc(1, attach=False, pay=False))
                break
            except kfs.errors.PublishUncertainError:
                continue
        watches = storage.list_journal(client.connection_id, states=("watching",))
        assert watches, "no watch was made: the test proves nothing"
    yield url


def test_journal_state_watching_lists_watches(sh: Any, watched_db: str) -> None:
    """``journal --state watching`` lists the watch on the document sent twice, saying that
    verify reads it; the default listing leaves it out."""
    shown = sh(
        "journal", "--state", "watching", "--json", "--db", watched_db, unset=("KASHFLOW_USERNAME",)
    )
    assert shown.code == 0, shown.err
    [watch] = shown.json()["entries"]
    assert watch["state"] == "watching" and watch["external_id"].startswith("kashflow_sync:verify:")
    assert "verify" in watch["remedy"] and "publish it again" not in watch["remedy"]
    every = sh("journal", "--state", "all", "--json", "--db", watched_db).json()["entries"]
    assert all(e["state"] != "watching" for e in every)


@pytest.mark.parametrize("command", ["connect", "refresh", "status", "publish"])
def test_help_describes_the_command(sh: Any, command: str) -> None:
    """``COMMAND --help`` opens with a paragraph saying what the command does."""
    shown = sh(command, "--help")
    about = COMMAND_TEXTS[command][1]
    assert about is not None
    assert shown.code == 0
    assert " ".join(about.split()[:6]) in " ".join(shown.out.split())


@pytest.mark.parametrize(
    "argv", [("journal",), ("lists",), ("rules", "show"), ("rules", "set", "supplier", "x")]
)
def test_database_only_commands_take_no_endpoint(sh: Any, argv: tuple[str, ...]) -> None:
    """Commands that never call KashFlow offer no --endpoint (nor --app-name)."""
    helped = sh(*argv, "--help")
    assert helped.code == 0
    assert "--endpoint" not in helped.out and "--app-name" not in helped.out
    refused = sh(*argv, "--endpoint=http://127.0.0.1:1/")
    assert refused.code == 2 and "--endpoint" in refused.err
    assert "--endpoint" in sh("status", "--help").out  # status --check does call KashFlow


def _read_only_checks(sh: Any, db: str, folder: Path) -> None:
    """status, journal and publish --dry-run work on *db*; a write is refused as read-only."""
    write_doc(folder, purchase("ro-1"))
    (folder / "inv.pdf").write_bytes(b"%PDF-1.4\n")
    status = sh("status", "--json", "--db", db)
    assert status.code == 0, status.out + status.err
    assert status.json()["status"] == "connected"
    journal = sh("journal", "--json", "--db", db)
    assert journal.code == 0, journal.out + journal.err
    dry = sh("publish", "--dry-run", "doc.json", "--db", db)
    assert dry.code == 0, dry.out + dry.err
    write = sh("rules", "set", "supplier", "Acme", "--no-check", "--category", "1", "--db", db)
    assert write.code == 2 and "read-only" in write.err


def test_read_only_sqlite(connected_sh: Any, tmp_path: Path) -> None:
    """A SQLite database opened read-only still serves status, journal and --dry-run."""
    read_only = f"sqlite:///file:{tmp_path / 'kf.db'}?mode=ro&uri=true"
    _read_only_checks(connected_sh, read_only, tmp_path)


def test_read_only_postgresql(sh: Any, kashflow_fake: FakeKashFlow, tmp_path: Path) -> None:
    """A PostgreSQL session with default_transaction_read_only still serves status, journal
    and --dry-run."""
    url = os.environ.get("KASHFLOW_SYNC_TEST_PG")
    if not url:
        pytest.skip("set KASHFLOW_SYNC_TEST_PG to run the PostgreSQL tests")
    tenant = f"ro-{uuid.uuid4().hex[:10]}"
    done = sh("connect", "--endpoint", kashflow_fake.url, "--db", url, "--connection-id", tenant)
    assert done.code == 0, done.err
    separator = "&" if "?" in url else "?"
    read_only = f"{url}{separator}options=-c%20default_transaction_read_only%3Don"

    def run(*argv: str, **env: str) -> Any:
        return sh(*argv, "--connection-id", tenant, **env)

    _read_only_checks(run, read_only, tmp_path)


def test_connection_id_typo_suggests_the_stored_one(connected_sh: Any) -> None:
    """A --connection-id spelt nearly like a stored one is refused with "did you mean"."""
    shown = connected_sh("status", "--connection-id", "defualt", "--json")
    assert shown.code == 2
    error = shown.json()["error"]
    assert error["code"] == "unknown_connection" and "did you mean 'default'?" in error["message"]
    journal = connected_sh("journal", "--connection-id", "defaults")
    assert journal.code == 2 and "did you mean 'default'?" in journal.err


def test_new_connection_id_is_not_a_typo(connected_sh: Any, kashflow_fake: FakeKashFlow) -> None:
    """An id like none stored is simply not connected yet; connect may create a near one."""
    shown = connected_sh("status", "--connection-id", "tenant-42", "--json")
    assert shown.code == 2 and shown.json()["error"]["code"] == "not_connected"
    made = connected_sh("connect", "--connection-id", "defaulx", "--endpoint", kashflow_fake.url)
    assert made.code == 0, made.err
