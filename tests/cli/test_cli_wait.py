"""Waits, Ctrl-C and outages through the real ``kashflow-sync`` entry point, in subprocesses.

A publish that waits on another holder's lease says whose, until when and why; the first Ctrl-C
gives back what the command holds, and a rerun after two Ctrl-Cs takes over at once from the
process that is gone; a KashFlow that stops mid-batch ends the run with one summary, exit 4.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
from _cli_helpers import console_script, one_line_purchase, write_doc

from kashflow_sync import SQLStorage, cli
from kashflow_sync._clients.owners import this_host
from kashflow_sync._journal.entry import JournalEntry
from kashflow_sync.testing import FakeKashFlow


def _storage(tmp_path: Path) -> SQLStorage:
    """The database the ``sh`` fixture's commands use."""
    return SQLStorage(f"sqlite:///{tmp_path / 'kf.db'}")


def _hold(tmp_path: Path, external_id: str, owner: str, seconds: float) -> None:
    """Leave *external_id* held by *owner* for *seconds*, as a publish elsewhere would."""
    now = datetime.now(timezone.utc)
    entry = JournalEntry("default", external_id, "purchase_invoice", "earlier")
    storage = _storage(tmp_path)
    try:
        assert storage.claim_journal(entry, owner, now, now + timedelta(seconds=seconds)).acquired
    finally:
        storage.close()


def _give_back(tmp_path: Path, external_id: str, owner: str) -> None:
    """Release *owner*'s hold on *external_id*, as a publish that finished would."""
    storage = _storage(tmp_path)
    try:
        stored = storage.get_journal("default", external_id)
        assert stored is not None
        released = attrs.evolve(stored, owner=None, lease_until=None)
        assert storage.update_journal(released, owner)
    finally:
        storage.close()


def _held(tmp_path: Path) -> list[str]:
    """The external ids whose lease someone still holds now."""
    now = datetime.now(timezone.utc)
    storage = _storage(tmp_path)
    try:
        entries = storage.list_journal("default", exclude_prefix=None)
    finally:
        storage.close()
    return [
        e.external_id
        for e in entries
        if e.owner is not None and e.lease_until is not None and e.lease_until > now
    ]


def _dead_pid() -> int:
    """The pid of a process that has ended."""
    done = subprocess.run(["true"], check=True)
    assert done.returncode == 0
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _start(kashflow_fake: FakeKashFlow, tmp_path: Path, *argv: str) -> subprocess.Popen[str]:
    """The console script in the background, as ``sh`` runs it (the fake's account)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KASHFLOW", "FORCE_COLOR"))}
    creds = kashflow_fake.credentials
    env.update(
        KASHFLOW_USERNAME=creds.username,
        KASHFLOW_PASSWORD=creds.password,
        KASHFLOW_SYNC_DB=f"sqlite:///{tmp_path / 'kf.db'}",
        NO_COLOR="1",
    )
    return subprocess.Popen(
        [*console_script(), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )


def _wait_fired(kashflow_fake: FakeKashFlow, proc: subprocess.Popen[str], count: int = 1) -> None:
    """Wait until *count* faults fired: that many requests are being held by the fake."""
    deadline = time.monotonic() + 30
    while len(kashflow_fake.faults.fired) < count:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.01)


# ---------------------------------------------------------------------------- a held lease


def test_wait_on_a_held_lease_says_whose_until_when_and_why(
    connected_sh: Any, kashflow_fake: FakeKashFlow, tmp_path: Path
) -> None:
    """A document another process holds: the terminal names it, its host and the end; then on."""
    path = str(write_doc(tmp_path, one_line_purchase("held")))
    owner = "0123456789abcdef:4242@build-box"
    _hold(tmp_path, "held", owner, seconds=120)
    proc = _start(kashflow_fake, tmp_path, "publish", path)
    assert proc.stderr is not None
    said = []
    deadline = time.monotonic() + 60
    while "gives it back" not in " ".join(said):  # the whole message, wrapped on the terminal
        assert time.monotonic() < deadline and proc.poll() is None, said
        said.append(proc.stderr.readline().strip())
    assert not kashflow_fake.receipts  # it waits: nothing sent
    _give_back(tmp_path, "held", owner)  # the other process finishes
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err + out
    text = " ".join(" ".join(said).split())
    line = text[text.index("waiting for 'held'") :]
    assert "being published now by process 4242 on build-box" in line
    assert " UTC (" in line and "s from now" in line
    assert "finishes or gives it back, or its hold runs out" in line
    assert "waiting for" not in err  # said once, not once a poll
    assert [r.customer_reference for r in kashflow_fake.invoices + kashflow_fake.receipts] == [
        "INV-held"
    ]


def test_held_lease_of_a_process_gone_is_taken_over_at_once(
    connected_sh: Any, tmp_path: Path
) -> None:
    """A hold of five minutes by a process of this machine that has ended costs no wait."""
    path = str(write_doc(tmp_path, one_line_purchase("orphan")))
    pid = _dead_pid()
    _hold(tmp_path, "orphan", f"0123456789abcdef:{pid}@{this_host()}", seconds=300)
    started = time.monotonic()
    done = connected_sh("publish", path)
    assert done.code == 0, done.err + done.out
    assert time.monotonic() - started < 30
    err = " ".join(done.err.split())
    assert f"took over 'orphan' from process {pid} on {this_host()}" in err, done.err
    assert "no longer runs" in err


# ---------------------------------------------------------------------------- Ctrl-C


def test_first_ctrl_c_stops_in_flight_before_their_next_call_and_gives_them_back(
    connected_sh: Any, kashflow_fake: FakeKashFlow, tmp_path: Path
) -> None:
    """Ctrl-C while two creates are out: they land, their payments are not sent; nothing held."""
    pay = {"method": "Credit card", "bank_account": 1200, "paid_on": "2026-11-03"}
    docs = [one_line_purchase(f"d{i}", payment=pay) for i in range(6)]
    path = str(write_doc(tmp_path, docs))
    kashflow_fake.faults.delay(3, op="InsertReceipt", times=2)
    proc = _start(kashflow_fake, tmp_path, "publish", "--concurrency", "2", path)
    _wait_fired(kashflow_fake, proc, count=2)  # both creates out
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == cli.EXIT_INTERRUPTED, err
    assert "Traceback" not in err
    assert len(kashflow_fake.receipts) == 2
    assert kashflow_fake.payments == []  # stopped before the next call: no payment went out
    assert _held(tmp_path) == []  # every entry given back
    [line] = [line for line in err.splitlines() if line.startswith("✗ Interrupted")]
    assert "2 stopped and given back (d0, d1)" in line
    assert "4 not started (d2, d3, d4, d5)" in line
    assert "`kashflow-sync journal`" in line
    again = connected_sh("publish", path, "--json")
    assert again.code == 0, again.err
    assert "waiting for" not in again.err
    assert len(kashflow_fake.receipts) == 6 and len(kashflow_fake.payments) == 6


def test_two_quick_ctrl_c_then_rerun_does_not_wait_out_the_lease(
    connected_sh: Any, kashflow_fake: FakeKashFlow, tmp_path: Path
) -> None:
    """Two Ctrl-Cs leave creates in flight and their leases held; the rerun takes over at once."""
    path = str(write_doc(tmp_path, [one_line_purchase(f"q{i}") for i in range(5)]))
    kashflow_fake.faults.delay(3.0, op="InsertReceipt", times=3)
    proc = _start(kashflow_fake, tmp_path, "publish", "--concurrency", "3", path)
    _wait_fired(kashflow_fake, proc)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == cli.EXIT_INTERRUPTED, err
    assert "left mid-publish" in err
    assert _held(tmp_path)  # the creates in flight kept their leases: the process is gone
    started = time.monotonic()
    again = connected_sh("publish", path)
    assert again.code == 0, again.err + again.out
    assert time.monotonic() - started < 30  # not the five minutes of the lease
    err = " ".join(again.err.split())
    assert "took over" in err and "no longer runs" in err, again.err
    references = sorted(r.customer_reference for r in kashflow_fake.receipts)
    assert references == [f"INV-q{i}" for i in range(5)]  # each once


def test_interrupt_summary_of_a_big_batch_is_short(
    connected_sh: Any, kashflow_fake: FakeKashFlow, tmp_path: Path
) -> None:
    """Ctrl-C early in 200 documents: one short line with counts and a few ids, not all of them."""
    path = str(
        write_doc(tmp_path, [one_line_purchase(f"long-external-id-{i:04}") for i in range(200)])
    )
    kashflow_fake.faults.delay(1.0, op="InsertReceipt", times=1)
    proc = _start(kashflow_fake, tmp_path, "publish", "--concurrency", "1", path)
    _wait_fired(kashflow_fake, proc)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == cli.EXIT_INTERRUPTED, err
    [line] = [line for line in err.splitlines() if "Interrupted" in line]
    assert len(line) < 500, line
    assert "199 not started (long-external-id-0001, long-external-id-0002, " in line
    assert "and 196 more)" in line


# ---------------------------------------------------------------------------- an outage


def test_kashflow_stopping_mid_batch_ends_with_one_summary_exit_4(
    connected_sh: Any, kashflow_fake: FakeKashFlow, tmp_path: Path
) -> None:
    """The fake stops after a few documents: within 30 s, one summary line and exit 4."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    for i in range(150):
        write_doc(folder, one_line_purchase(f"o{i:03}"), f"{i:03}.json")
    kashflow_fake.faults.delay(0.3, op="InsertReceipt", times=None)
    proc = _start(kashflow_fake, tmp_path, "publish", "--concurrency", "2", str(folder))
    deadline = time.monotonic() + 30
    while len(kashflow_fake.receipts) < 4:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.01)
    started = time.monotonic()
    kashflow_fake.stop()
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - started < 30
    assert proc.returncode == cli.EXIT_TRANSIENT, err + out
    assert "Traceback" not in err + out
    summary = [line for line in out.splitlines() if "KashFlow unreachable since" in line]
    assert len(summary) == 1, out
    assert "documents not attempted, safe to run again" in summary[0]
    blocks = [line for line in out.splitlines() if "(connection_failed)" in line]
    assert len(blocks) <= 1, out  # one summary, never a block per document


def test_stop_after_failures_json_names_the_documents_not_attempted(
    connected_sh: Any, kashflow_fake: FakeKashFlow, tmp_path: Path
) -> None:
    """Under --json: one error kashflow_unreachable, and each untried document not_attempted."""
    path = str(write_doc(tmp_path, [one_line_purchase(f"j{i}") for i in range(40)]))
    kashflow_fake.stop()
    done = connected_sh(
        "publish", "--stop-after-failures", "3", "--concurrency", "1", path, "--json"
    )
    assert done.code == cli.EXIT_TRANSIENT, done.err + done.out
    data = done.json()
    assert data["ok"] is False and data["stopped"] is True
    assert data["error"]["code"] == "kashflow_unreachable"
    statuses = [d["status"] for d in data["documents"]]
    assert statuses == ["failed"] * 3 + ["not_attempted"] * 37
    assert "37 documents not attempted" in data["error"]["message"]
