"""A publishing process that stops itself (SIGSTOP) at a named point, for the stall tests.

Usage: python _stall_worker.py URL USER PASSWORD KEY DB_URL EXTERNAL_INDEX PAUSE_AT
PAUSE_AT is ``sending`` (the journal says sending; the insert is next), ``attach`` (the receipt
is created; the attachment is next), ``pay`` (attached; the payment is next) or ``none``. The
pause comes right after the journal write that precedes that KashFlow call (once the step's
transaction committed), as a GC pause or a slow disk would. Prints one JSON line: the outcome
(a status, or an error code).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Iterator
from datetime import timedelta

import httpx

import kashflow_sync as kfs
from _support import FAST_RETRY, purchase
from kashflow_sync._journal.entry import JournalEntry


def pause_point(entry: JournalEntry, pause_at: str) -> bool:
    if pause_at == "sending":
        return entry.state == "sending"
    if pause_at == "attach":
        return entry.state == "created" and not entry.attachment_done
    if pause_at == "pay":
        return entry.attachment_done and not entry.payment_done
    return False


def main() -> None:
    url, user, password, key, db, index, pause_at = sys.argv[1:8]
    storage = kfs.SQLStorage(db)
    stored = storage.update_journal
    begin = storage.transaction
    paused: list[bool] = []
    pending: list[bool] = []
    depth = [0]

    def pause() -> None:
        paused.append(True)
        os.kill(os.getpid(), signal.SIGSTOP)  # until the test sends SIGCONT

    def update_journal(entry: JournalEntry, owner: str) -> bool:
        done = stored(entry, owner)
        if (
            done
            and not paused
            and not pending
            and entry.external_id.startswith("stall")
            and pause_point(entry, pause_at)
        ):
            if depth[0]:
                pending.append(True)  # once the step's transaction has committed
            else:
                pause()
        return done

    @contextlib.contextmanager
    def transaction(*, write: bool = True) -> Iterator[None]:
        depth[0] += 1
        try:
            with begin(write=write):
                yield
        finally:
            depth[0] -= 1
        if pending and not depth[0]:
            pending.clear()
            pause()

    storage.update_journal = update_journal  # type: ignore[method-assign]
    storage.transaction = transaction  # type: ignore[method-assign]
    with (
        httpx.Client(timeout=10.0) as http,
        kfs.KashFlowClient(
            kfs.Credentials(user, password, key),
            endpoint=url,
            http_client=http,
            storage=storage,
            connection_id="stall-test",
            retry=FAST_RETRY,
            # Room for a loaded machine: a request may take 2 s, the lease outlasts it.
            publish_lease=timedelta(seconds=4),
            timeout=2.0,
            settle_time=timedelta(seconds=0.5),
        ) as client,
    ):
        if client.status is not kfs.ConnectionStatus.CONNECTED:
            client.connect()
        try:
            outcome = client.publish(purchase(int(index), prefix="stall")).status
        except kfs.errors.KashFlowError as exc:
            outcome = exc.code
    print(json.dumps({"outcome": outcome, "paused": bool(paused)}))


if __name__ == "__main__":
    main()
