"""What a publish waiting on another holder's lease says: whose, what, until when."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from kashflow_sync._engine.lease import describe_holder, owner_process, wait_message
from kashflow_sync._journal.entry import JournalEntry

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)

HOLDERS = [
    ("0123456789abcdef:4242@build-box", "process 4242 on build-box (call 0123456789abcdef)"),
    ("forget:0123456789abcdef", "a `forget` call of worker '0123456789abcdef'"),
    ("batch", "worker 'batch'"),
    ("a host's own owner id", 'worker "a host\'s own owner id"'),
    (None, "another worker"),
]


@pytest.mark.parametrize(("owner", "said"), HOLDERS)
def test_a_holder_is_named_by_what_its_owner_id_records(owner: str | None, said: str) -> None:
    """Process and host when the owner id records them; the id itself otherwise."""
    assert describe_holder(owner) == said


def test_only_a_publish_owner_names_a_process() -> None:
    """``(pid, host)`` from a publish call's owner id; None from any other form."""
    assert owner_process("0123456789abcdef:4242@build-box") == (4242, "build-box")
    assert owner_process("forget:0123456789abcdef") is None
    assert owner_process("0123456789abcdef") is None


WHAT = [
    ("item-42", "document", "waiting for 'item-42': it is being published now by"),
    (
        "kashflow_sync:content:purchase:2001:133.70:37412e91",
        "item-41",
        "waiting for the same document (contact, reference and total) as 'item-41': it is "
        "being worked on now by",
    ),
    (
        "kashflow_sync:contact:supplier:acme paper ltd",
        "ACME01",
        "waiting for the new supplier it needs: it is being worked on now by",
    ),
    (
        "kashflow_sync:lists:suppliers",
        "",
        "waiting for the stored list of suppliers: it is being worked on now by",
    ),
]


@pytest.mark.parametrize(("key", "fingerprint", "start"), WHAT)
def test_the_message_says_what_is_held_whose_it_is_and_until_when(
    key: str, fingerprint: str, start: str
) -> None:
    """One line: what is held, by which process, until what time and in how many seconds."""
    entry = JournalEntry(
        "c",
        key,
        "purchase_invoice",
        fingerprint,
        owner="0123456789abcdef:4242@build-box",
        lease_until=NOW + timedelta(seconds=294),
    )
    message = wait_message(entry, NOW)
    assert message.startswith(start), message
    assert "process 4242 on build-box" in message
    assert "until 09:04:54 UTC (294 s from now)" in message
