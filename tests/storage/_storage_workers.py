"""Code run in child processes by the multi-process storage tests (importable under spawn)."""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from kashflow_sync._journal.entry import JournalEntry
from kashflow_sync.storage import SQLStorage


def claim_all(
    url: str, connection_id: str, owner: str, external_ids: Sequence[str], barrier: Any, queue: Any
) -> None:
    """Claim every id once, as *owner*; put ``(owner, acquired ids, error)`` on *queue*."""
    won: list[str] = []
    error = ""
    try:
        with SQLStorage(url) as storage:
            barrier.wait(timeout=60)
            now = datetime.now(timezone.utc)
            for external_id in external_ids:
                entry = JournalEntry(connection_id, external_id, "purchase", "fingerprint")
                result = storage.claim_journal(entry, owner, now, now + timedelta(hours=1))
                if result.acquired:
                    won.append(external_id)
    except Exception:
        error = traceback.format_exc()
    queue.put((owner, won, error))
