"""``kashflow-sync journal``: what has not finished publishing, read from the local database."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import kashflow_sync as kfs
from _cli_run import Run
from _support import make_client, purchase
from kashflow_sync import cli
from kashflow_sync._journal.entry import JournalEntry
from kashflow_sync._retry import skip_waits
from kashflow_sync.cli._journal import parse_duration
from kashflow_sync.testing import FakeKashFlow

Runner = Callable[..., Run]


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A database where three documents were published and one is left uncertain."""
    for name in (cli.ENV_USERNAME, cli.ENV_PASSWORD, cli.ENV_AUTOAUTH_KEY, cli.ENV_DB):
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite:///{tmp_path / 'kf.db'}"
    fake = FakeKashFlow()
    with (
        kfs.SQLStorage(url) as storage,
        make_client(fake, storage=storage, check_ledger_duplicates=False) as client,
    ):
        client.connect()
        for i in range(3):
            client.publish(purchase(i))
        fake.faults.drop_response(op="InsertReceipt", times=1)
        fake.faults.reset_before(op="GetReceiptsForSupplier", times=None)
        with pytest.raises(kfs.errors.PublishUncertainError):
            client.publish(purchase(7))
    with skip_waits():  # the command builds its own clients: their retries must not sleep
        yield url


@pytest.fixture
def run(db: str, capsys: pytest.CaptureFixture[str]) -> Runner:
    def _run(*argv: str) -> Run:
        capsys.readouterr()
        code = cli.main(["journal", *argv, "--db", db])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return _run


def test_lists_unfinished_documents_by_default(run: Runner) -> None:
    """Without --state only unfinished entries show, with the last error and what to do."""
    result = run()
    assert result.code == 0, result.err
    assert "doc-7" in result.out and "publish_uncertain" in result.out
    assert "doc-0" not in result.out
    assert "What to do" in result.out and "never creates a second copy" in result.out


def test_an_entry_held_now_says_by_whom_and_until_when(db: str, run: Runner) -> None:
    """A document a worker holds: the process, its host and the end of the hold, no remedy."""
    until = datetime.now(timezone.utc) + timedelta(minutes=5)
    with kfs.SQLStorage(db) as storage:
        entry = JournalEntry("default", "held-1", "purchase", "f")
        owner = "0123abcd:4242@build-box"
        assert storage.claim_journal(entry, owner, until - timedelta(minutes=5), until).acquired
    result = run("--json")
    [held] = [e for e in json.loads(result.out)["entries"] if e["external_id"] == "held-1"]
    assert held["held_by"] == "process 4242 on build-box (call 0123abcd)"
    assert held["remedy"] is None
    text = " ".join(run().out.split())
    assert "being published now by process 4242 on build-box (call 0123abcd), until" in text
    assert f"{until:%H:%M:%S} UTC" in text


def test_needs_no_credentials(run: Runner) -> None:
    """Reading the journal works with no KashFlow credentials in the environment."""
    assert run().code == 0


def test_state_published_lists_published_ones(run: Runner) -> None:
    """--state published lists the published documents with their numbers."""
    result = run("--state", "published", "--json")
    data = json.loads(result.out)
    assert [e["external_id"] for e in data["entries"]] == ["doc-0", "doc-1", "doc-2"]
    assert all(e["number"] and e["remedy"] is None for e in data["entries"])


def test_json_carries_error_and_remedy(run: Runner) -> None:
    """--json gives each entry's state, last error, message and remedy."""
    data = json.loads(run("--json").out)
    [entry] = data["entries"]
    assert (entry["external_id"], entry["state"]) == ("doc-7", "sending")
    assert entry["last_error"] == "publish_uncertain" and entry["remedy"]
    assert data["ok"] is True and data["more"] is False


def test_json_entry_keys_and_iso_times(run: Runner) -> None:
    """--json gives each entry the summary's fields but the connection, times in ISO 8601."""
    [entry] = json.loads(run("--json").out)["entries"]
    assert list(entry) == [
        "external_id",
        "kind",
        "state",
        "number",
        "kashflow_id",
        "attempts",
        "last_error",
        "message",
        "remedy",
        "updated_at",
        "leased_until",
        "held_by",
    ]
    assert datetime.fromisoformat(entry["updated_at"]).isoformat() == entry["updated_at"]
    assert "T" in entry["updated_at"]


def test_older_than_leaves_out_recent_entries(run: Runner) -> None:
    """--older-than 1h hides what changed in the last hour."""
    data = json.loads(run("--state", "all", "--older-than", "1h", "--json").out)
    assert data["entries"] == [] and data["older_than_seconds"] == 3600


def test_limit_says_when_more_exist(run: Runner) -> None:
    """--limit cuts the listing to the oldest entries and says there are more."""
    result = run("--state", "all", "--limit", "2")
    assert "doc-0" in result.out and "doc-2" not in result.out
    assert "raise --limit" in result.out


@pytest.mark.parametrize("argv", [("--state", "stuck"), ("--older-than", "soon"), ("--limit", "0")])
def test_bad_options_exit_2(run: Runner, argv: tuple[str, ...]) -> None:
    """An unknown state, a bad duration or a limit below 1 is a usage error."""
    result = run(*argv)
    assert result.code == cli.EXIT_USAGE
    assert "usage" in result.err


def test_missing_database_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A database file that does not exist is reported, not created."""
    code = cli.main(["journal", "--db", f"sqlite:///{tmp_path / 'none.db'}"])
    assert code == cli.EXIT_USAGE
    assert "no local database" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90", timedelta(seconds=90)),
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(minutes=90)),
        ("1w", timedelta(weeks=1)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    """--older-than reads seconds, minutes, hours, days and weeks, alone or combined."""
    assert parse_duration(text) == expected
