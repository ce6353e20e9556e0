"""The operator's view: ``client.journal()`` shows what is stuck, the last error and a remedy."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import attrs
import pytest

import kashflow_sync as kfs
from _support import make_client, purchase
from kashflow_sync import errors
from kashflow_sync._clients.journal_view import summarise
from kashflow_sync.testing import FakeKashFlow

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)


def _entry(
    state: str = "claimed", *attempts: tuple[str, str, str], **kw: object
) -> kfs.JournalEntry:
    return kfs.JournalEntry(
        connection_id="c",
        external_id="doc-1",
        kind="purchase",
        fingerprint="f",
        state=state,  # type: ignore[arg-type]
        updated_at=NOW - timedelta(hours=1),
        attempts=tuple(kfs.PublishAttempt(NOW, s, o, d) for s, o, d in attempts),
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("entry", "code", "remedy_has"),
    [
        (_entry("published", ("publish", "published", "number 5"), number=5), None, None),
        (
            _entry(
                "sending",
                ("create", "uncertain", "timeout"),
                ("publish", "failed", "publish_uncertain: x"),
            ),
            "publish_uncertain",
            "never creates a second copy",
        ),
        (
            _entry("sending", ("create", "uncertain", "connection_lost")),
            "connection_lost",
            "never creates",
        ),
        (
            _entry("created", ("publish", "failed", "transient: KashFlow busy"), number=1001),
            "transient",
            "in KashFlow already",
        ),
        (
            _entry("claimed", ("publish", "failed", "authentication_failed: refused")),
            "authentication_failed",
            "reconnect",
        ),
        (
            _entry("claimed", ("publish", "failed", "needs_reconnect: paused")),
            "needs_reconnect",
            "reconnect",
        ),
        (
            _entry("sending", ("publish", "failed", "publish_ambiguous: two")),
            "publish_ambiguous",
            "delete the extra",
        ),
        (_entry("claimed", ("publish", "failed", "http_503: busy")), "http_503", "try again"),
        (_entry("claimed"), None, "Nothing was sent"),
        (
            _entry("claimed", ("publish", "failed", "weird_new_code: ?")),
            "weird_new_code",
            "contact KashFlow",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_summary_reads_the_last_failure_and_pairs_a_remedy(
    entry: kfs.JournalEntry, code: str | None, remedy_has: str | None
) -> None:
    """Each state and last failure gives the code recorded and a remedy that fits it."""
    summary = summarise(entry, NOW)
    assert summary.last_error == code
    if remedy_has is None:
        assert summary.remedy is None
    else:
        assert summary.remedy is not None and remedy_has.casefold() in summary.remedy.casefold()


def test_summary_of_a_validation_failure_gives_the_problem_remedies() -> None:
    """A duplicate refused inside the publish flow shows the problem's own remedy."""
    detail = (
        "validation_failed: document 'doc-1' has 1 problem: duplicate_in_ledger\n"
        "- reference: already in KashFlow as receipt 7 (duplicate_in_ledger) -> Check receipt 7."
    )
    summary = summarise(_entry("claimed", ("publish", "failed", detail)), NOW)
    assert summary.message == "document 'doc-1' has 1 problem: duplicate_in_ledger"
    assert summary.remedy == "Check receipt 7."


def test_summary_of_an_entry_held_now_has_no_remedy() -> None:
    """An entry a worker holds a live lease on is being published: no remedy, its lease shown."""
    until = NOW + timedelta(minutes=2)
    summary = summarise(_entry("sending", owner="w1", lease_until=until), NOW)
    assert (summary.remedy, summary.leased_until) == (None, until)


def test_summary_of_a_held_entry_names_its_holder() -> None:
    """The holder in words: the process and host a publish call records, else its id."""
    until = NOW + timedelta(minutes=2)
    call = summarise(_entry("sending", owner="0123abcd:4242@build-box", lease_until=until), NOW)
    assert call.held_by == "process 4242 on build-box (call 0123abcd)"
    other = summarise(_entry("sending", owner="w1", lease_until=until), NOW)
    assert other.held_by == "worker 'w1'"


def test_summary_of_an_expired_lease_shows_no_holder() -> None:
    """A lease that ended (a worker died) is not shown as held."""
    summary = summarise(_entry("sending", owner="w1", lease_until=NOW - timedelta(seconds=1)), NOW)
    assert summary.leased_until is None and summary.remedy is not None
    assert summary.held_by is None


def test_journal_lists_published_documents_with_numbers(client: kfs.KashFlowClient) -> None:
    """After publishing, each document is listed published with its number and no error."""
    results = [client.publish(purchase(i)) for i in range(3)]
    rows = client.journal()
    assert [r.external_id for r in rows] == ["doc-0", "doc-1", "doc-2"]
    assert [(r.state, r.number, r.last_error, r.remedy) for r in rows] == [
        ("published", res.number, None, None) for res in results
    ]
    assert all(r.kashflow_id and r.attempts >= 3 for r in rows)


def test_journal_shows_an_uncertain_publish_with_its_error(fake: FakeKashFlow) -> None:
    """A lost answer that could not be reconciled leaves the document sending, with a remedy."""
    with make_client(fake, check_ledger_duplicates=False) as client:
        client.connect()
        client.publish(purchase(1))
        fake.faults.drop_response(op="InsertReceipt", times=1)
        fake.faults.reset_before(op="GetReceiptsForSupplier", times=None)
        with pytest.raises(errors.PublishUncertainError):
            client.publish(purchase(2))
        [row] = client.journal("sending")
    assert (row.external_id, row.state, row.last_error) == ("doc-2", "sending", "publish_uncertain")
    assert row.remedy is not None and "never creates a second copy" in row.remedy
    assert row.leased_until is None  # the failed call handed the document back


def test_journal_filters_by_state_and_age(client: kfs.KashFlowClient) -> None:
    """state= and older_than= narrow the listing; a future cut-off keeps everything."""
    client.publish(purchase(1))
    assert client.journal("sending") == []
    assert [r.external_id for r in client.journal(["published"])] == ["doc-1"]
    assert client.journal(older_than=timedelta(hours=1)) == []
    later = datetime.now(timezone.utc) + timedelta(minutes=1)
    assert [r.external_id for r in client.journal(older_than=later)] == ["doc-1"]


def test_journal_hides_the_sdks_contact_entries_unless_asked(client: kfs.KashFlowClient) -> None:
    """A supplier the SDK created is journalled too, but listed only with include_contacts."""
    client.publish(attrs.evolve(purchase(1), supplier="Brand New Supplier Ltd"))
    assert [r.external_id for r in client.journal()] == ["doc-1"]
    listed = [r.external_id for r in client.journal(include_contacts=True)]
    assert len(listed) == 2 and any(i.startswith("kashflow_sync:contact:") for i in listed)


def test_journal_limit_keeps_the_oldest(client: kfs.KashFlowClient) -> None:
    """limit= returns the least recently updated entries."""
    for i in range(4):
        client.publish(purchase(i))
    assert [r.external_id for r in client.journal(limit=2)] == ["doc-0", "doc-1"]


@pytest.mark.parametrize(
    ("kwargs", "exc"),
    [
        ({"state": "stuck"}, ValueError),
        ({"older_than": timedelta(seconds=-1)}, ValueError),
        ({"older_than": datetime(2030, 1, 1)}, ValueError),
        ({"older_than": 60}, TypeError),
        ({"limit": 0}, ValueError),
    ],
)
def test_journal_refuses_bad_arguments(
    client: kfs.KashFlowClient, kwargs: dict[str, object], exc: type[Exception]
) -> None:
    """An unknown state, a negative or naive age, a non-positive limit are refused."""
    with pytest.raises(exc):
        client.journal(**kwargs)  # type: ignore[arg-type]


class _OldStorage(kfs.MemoryStorage):
    """A host storage written before Storage.list_journal existed."""

    list_journal = None  # type: ignore[assignment]


def test_storage_without_listing_gets_a_typed_error(fake: FakeKashFlow) -> None:
    """A storage lacking list_journal still publishes; journal() says what to add."""
    with make_client(fake, storage=_OldStorage()) as client:
        client.connect()
        assert client.publish(purchase(1)).status == "published"
        with pytest.raises(errors.StorageError) as info:
            client.journal()
    assert info.value.code == "journal_listing_unsupported"
    assert "list_journal" in info.value.remedy


def test_async_client_journal_is_awaited(fake: FakeKashFlow, tmp_path: object) -> None:
    """AsyncKashFlowClient.journal is awaited and lists what the sync client would."""
    storage = kfs.SQLStorage(f"sqlite:///{tmp_path}/kf.db")

    async def main() -> list[kfs.JournalSummary]:
        async with kfs.AsyncKashFlowClient(
            fake.credentials,
            endpoint=fake.url,
            http_client=fake.async_http_client(),
            storage=storage,
        ) as client:
            await client.connect()
            await client.publish(purchase(1))
            return await client.journal("published")

    rows = asyncio.run(main())
    storage.close()
    assert [(r.external_id, r.state) for r in rows] == [("doc-1", "published")]
