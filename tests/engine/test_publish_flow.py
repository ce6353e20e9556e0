"""Every exactly-once decision of the publish flow, driven by scripted KashFlow answers.

No fake and no network: each test scripts what KashFlow answers and states which calls the
engine makes and what it decides (see ``_script.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import attrs
import pytest
from _script import (
    CONNECTION,
    START,
    Script,
    ledger,
    never_sent,
    refused,
    uncertain,
)

from _lists_fixtures import clean_purchase, clean_sale, make_lists, standard_items
from kashflow_sync import errors
from kashflow_sync._account.items import Supplier
from kashflow_sync._convert import fingerprint
from kashflow_sync._documents.model import Document
from kashflow_sync._engine.contacts import contact_code
from kashflow_sync._engine.effects import InsertContact, InsertDocument
from kashflow_sync._engine.publish import publish
from kashflow_sync._error_codes import ErrorCode
from kashflow_sync._journal.entry import JournalEntry
from kashflow_sync._storage_keys import contact_journal_key, document_owner_key
from kashflow_sync.soap.records import LedgerAttachment, LedgerLine, LedgerPayment
from kashflow_sync.storage.memory import MemoryStorage

LISTS = make_lists()
BARE = clean_purchase(attachment=None, payment=None)
FULL = clean_purchase()


def _flow(script: Script, document: Document = BARE, owner: str = "me", **settings: object):
    return publish(document, fingerprint(document), LISTS, script.settings(**settings), owner=owner)


def run(script: Script, document: Document = BARE, owner: str = "me", **settings: object):
    """Publish *document* through *script*."""
    return script.run(_flow(script, document, owner, **settings))


def seed(storage: MemoryStorage, document: Document = BARE, **fields: object) -> None:
    """Store a journal entry for *document* as an earlier, interrupted run left it."""
    entry = JournalEntry(
        connection_id=CONNECTION,
        external_id=document.external_id,
        kind=document.kind,
        fingerprint=fingerprint(document),
        contact_id=101,
        **fields,  # type: ignore[arg-type]
    )
    past = START - timedelta(hours=1)
    storage.claim_journal(entry, "earlier", past, past + timedelta(minutes=5))
    stored = storage.get_journal(CONNECTION, document.external_id)
    assert stored is not None
    storage.update_journal(attrs.evolve(stored, owner=None, lease_until=None), "earlier")


# ---------------------------------------------------------------------- claim and lease


def test_first_publish_checks_the_ledger_creates_and_reads_the_id() -> None:
    """A new document: one duplicate lookup, one insert, one read of its internal id."""
    script = Script(
        {"documents_for_contact": [[]], "insert_document": [42], "get_document": [ledger(42)]}
    )
    result = run(script)
    assert script.calls == ["documents_for_contact", "insert_document", "get_document"]
    assert (result.status, result.number, result.kashflow_id) == ("published", 42, 9042)
    entry = script.journal()
    assert (entry.state, entry.owner, entry.number) == ("published", None, 42)
    assert script.storage.get_state(CONNECTION, document_owner_key("purchase", 42)) == "item-42"


def test_no_ledger_lookup_when_turned_off() -> None:
    """check_ledger=False: the insert is the first call."""
    script = Script({"insert_document": [42], "get_document": [ledger(42)]})
    run(script, check_ledger=False)
    assert script.calls == ["insert_document", "get_document"]


def test_published_document_is_answered_from_the_journal() -> None:
    """Publishing again: already_published, no KashFlow call at all."""
    storage = MemoryStorage()
    first = Script(
        {"documents_for_contact": [[]], "insert_document": [42], "get_document": [ledger(42)]},
        storage=storage,
    )
    run(first)
    again = Script(storage=storage)
    result = run(again)
    assert (again.calls, result.status, result.number) == ([], "already_published", 42)


def test_published_document_with_other_content_is_refused() -> None:
    """Same external_id, other content after publishing: changed_after_publishing."""
    storage = MemoryStorage()
    run(
        Script(
            {"documents_for_contact": [[]], "insert_document": [42], "get_document": [ledger(42)]},
            storage=storage,
        )
    )
    with pytest.raises(errors.ValidationError) as info:
        run(Script(storage=storage), attrs.evolve(BARE, reference="INV-9"))
    assert [p.code for p in info.value.problems] == ["changed_after_publishing"]


def test_another_calls_live_lease_is_waited_out() -> None:
    """A document another call holds is not touched until that lease ends."""
    script = Script(
        {"documents_for_contact": [[]], "insert_document": [42], "get_document": [ledger(42)]}
    )
    held = JournalEntry(CONNECTION, "item-42", "purchase", fingerprint(BARE))
    script.storage.claim_journal(held, "other", START, START + timedelta(seconds=10))
    result = run(script)
    assert script.sleeps and all(s == 1.0 for s in script.sleeps)
    assert sum(script.sleeps) > 10  # not before the other lease ran out
    assert result.status == "published"


#: The clients' two drivers: the lease check before a write is theirs, not the flow's.
DRIVERS = ["sync", "async"]


def _before_insert(act: Callable[[], None]) -> Callable[[object], None]:
    """A hook doing *act* once the flow asks for the insert, before the driver sends it."""

    def hook(effect: object) -> None:
        if isinstance(effect, InsertDocument):
            act()

    return hook


@pytest.mark.parametrize("driver", DRIVERS)
def test_lease_taken_over_before_the_insert_keeps_the_insert_from_going_out(driver: str) -> None:
    """Another worker took the entry after the last save: lease_lost, and no insert is sent.

    Taken over as it can be: once the lease ran out (this call stalled past it)."""
    script = Script({"documents_for_contact": [[]] * 2, "insert_document": [42]})

    def take_over() -> None:
        script.clock.advance(301)
        entry = script.journal()
        script.storage.update_journal(attrs.evolve(entry, owner="thief"), "me")

    script.before = _before_insert(take_over)
    with pytest.raises(errors.PublishUncertainError) as info:
        script.drive(_flow(script), driver)
    assert info.value.code == "lease_lost"
    assert "insert_document" not in script.sent
    assert script.journal().owner == "thief"


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_lease_that_ran_out_is_confirmed_again_before_the_insert_goes_out(driver: str) -> None:
    """Stalled past its lease after the last save (no one took over): never sent unleased."""
    leased_when_sent: list[bool] = []

    def insert(_effect: object) -> int:
        entry = script.journal()
        leased_when_sent.append(entry.owner == "me" and entry.lease_until > script.clock())
        return 42

    script = Script(
        {
            "documents_for_contact": [[]] * 3,
            "insert_document": [insert],
            "get_document": [ledger(42)],
        }
    )
    stalled: list[int] = []

    def stall() -> None:
        if not stalled:  # once: the 5-minute lease runs out between the save and the send
            stalled.append(1)
            script.clock.advance(301)

    script.before = _before_insert(stall)
    result = script.drive(_flow(script), driver)
    assert (result.status, result.number) == ("published", 42)
    assert leased_when_sent == [True]


def test_lease_taken_over_while_the_insert_is_out_is_lease_lost() -> None:
    """Another worker took the entry while the insert was in flight: the save after it fails."""

    def taken_while_out(_effect: object) -> int:
        entry = script.journal()
        script.storage.update_journal(attrs.evolve(entry, owner="thief"), "me")
        return 42

    script = Script({"documents_for_contact": [[]], "insert_document": [taken_while_out]})
    with pytest.raises(errors.PublishUncertainError) as info:
        run(script)
    assert info.value.code == "lease_lost"
    assert script.journal().owner == "thief"


def test_two_publish_calls_interleaved_on_one_thread_keep_their_own_leases() -> None:
    """A second publish started while the first waits on KashFlow does not steal its lease."""
    storage = MemoryStorage()
    outer = Script(
        {"documents_for_contact": [[]], "insert_document": [42], "get_document": [ledger(42)]},
        storage=storage,
    )
    other = attrs.evolve(BARE, external_id="item-43", reference="INV-1002")
    inner_results = []

    def publish_another(effect: object) -> None:
        if isinstance(effect, InsertDocument) and not inner_results:
            inner = Script(
                {
                    "documents_for_contact": [[]],
                    "insert_document": [43],
                    "get_document": [ledger(43, reference="INV-1002")],
                },
                storage=storage,
            )
            inner_results.append(
                inner.run(publish(other, fingerprint(other), LISTS, inner.settings()))
            )

    outer.before = publish_another
    result = outer.run(publish(BARE, fingerprint(BARE), LISTS, outer.settings()))
    assert (result.status, result.number) == ("published", 42)
    assert (inner_results[0].status, inner_results[0].number) == ("published", 43)


# ---------------------------------------------------------------------- an uncertain insert


def test_uncertain_insert_found_in_the_ledger_is_not_sent_again() -> None:
    """Timeout on insert, the lookup finds it: adopt its number, no second insert."""
    script = Script({"documents_for_contact": [[], [ledger(77)]], "insert_document": [uncertain()]})
    result = run(script)
    assert script.calls == ["documents_for_contact", "insert_document", "documents_for_contact"]
    assert (result.number, result.kashflow_id) == (77, 9077)
    assert [(a.step, a.outcome) for a in script.journal().attempts][:2] == [
        ("create", "uncertain"),
        ("create", "found"),
    ]


def test_uncertain_insert_proven_absent_is_sent_again_and_checked_for_a_second_copy() -> None:
    """Timeout on insert, nothing found after the settle time: send again, then verify one copy."""
    script = Script(
        {
            "documents_for_contact": [[], [], [ledger(43)]],
            "insert_document": [uncertain(), 43],
            "get_document": [ledger(43)],
        }
    )
    assert run(script).number == 43
    assert script.calls == [
        "documents_for_contact",
        "insert_document",
        "documents_for_contact",
        "insert_document",
        "get_document",
        "documents_for_contact",
    ]


def test_a_first_send_applied_late_after_the_resend_is_reported_not_published() -> None:
    """Two copies after a resend: duplicate_created naming both, journal keeps ours."""
    script = Script(
        {
            "documents_for_contact": [[], [], [ledger(42), ledger(43)]],
            "insert_document": [uncertain(), 43],
        }
    )
    script.answers["get_document"] = [ledger(43)]
    with pytest.raises(errors.PublishUncertainError) as info:
        run(script)
    assert (info.value.code, info.value.retryable) == ("duplicate_created", False)
    assert "43 and 42" in str(info.value)
    entry = script.journal()
    assert (entry.state, entry.number, entry.owner) == ("created", 43, None)
    # Publishing again checks first: still two copies, still stopped; one gone, it finishes.
    again = Script({"documents_for_contact": [[ledger(42), ledger(43)]]}, storage=script.storage)
    with pytest.raises(errors.PublishUncertainError):
        run(again)
    fixed = Script(
        {"documents_for_contact": [[ledger(43)]], "get_document": [ledger(43)]},
        storage=script.storage,
    )
    result = run(fixed)
    # The stop came before the internal id was saved: the finishing run reads it again.
    assert (result.number, result.kashflow_id) == (43, 9043)
    assert fixed.calls == ["documents_for_contact", "get_document"]


def test_not_found_within_the_settle_time_is_not_sent_again() -> None:
    """An uncertain insert not found yet, settle time 2 minutes: publish_settling, no resend."""
    script = Script({"documents_for_contact": [[], []], "insert_document": [uncertain()]})
    with pytest.raises(errors.PublishUncertainError) as info:
        run(script, settle_time=timedelta(minutes=2))
    assert info.value.code == "publish_settling"
    assert 119 <= (info.value.retry_after or 0) <= 120
    assert script.calls.count("insert_document") == 1
    assert (script.journal().state, script.journal().owner) == ("sending", None)


def test_a_short_settle_time_is_waited_out_then_looked_up_again() -> None:
    """Settle time under the in-call limit: sleep, look again, and adopt what landed late."""
    script = Script(
        {"documents_for_contact": [[], [], [ledger(42)]], "insert_document": [uncertain()]}
    )
    result = run(script, settle_time=timedelta(seconds=2))
    assert result.number == 42
    assert script.sleeps == [0.05]  # looked again soon, and found it
    assert script.calls.count("insert_document") == 1


def test_the_settle_wait_looks_again_with_doubling_pauses_until_it_ends() -> None:
    """Nothing lands: pauses 0.05, 0.1, 0.2... up to the settle time, then absence is proven."""
    script = Script(
        {
            "documents_for_contact": [[]] * 7 + [[ledger(43)]],
            "insert_document": [uncertain(), 43],
            "get_document": [ledger(43)],
        }
    )
    result = run(script, settle_time=timedelta(seconds=2))
    assert result.number == 43
    assert script.sleeps[:5] == [0.05, 0.1, 0.2, 0.4, 0.8]
    assert sum(script.sleeps) == pytest.approx(2.0)
    assert script.calls.count("insert_document") == 1


def test_a_resumed_send_waits_for_its_settle_time_from_the_last_record() -> None:
    """A sending entry released 30 s ago, settle 2 min: not found is not yet proof."""
    script = Script({"documents_for_contact": [[]]})
    seed(script.storage, state="sending")
    from kashflow_sync._documents.model import PublishAttempt

    script.storage.add_attempt(
        CONNECTION, "item-42", PublishAttempt(START - timedelta(seconds=30), "create", "uncertain")
    )
    with pytest.raises(errors.PublishUncertainError) as info:
        run(script, settle_time=timedelta(minutes=2))
    assert info.value.code == "publish_settling"
    assert 89 <= (info.value.retry_after or 0) <= 90
    assert "insert_document" not in script.calls


def test_taking_over_a_lease_waits_for_the_old_holders_request_deadline() -> None:
    """Another worker's lease ran out: its last request may still arrive; wait deadline + settle."""
    script = Script(
        {
            "documents_for_contact": [[]] * 8 + [[ledger(42)]],
            "insert_document": [42],
            "get_document": [ledger(42)],
        }
    )
    seed(script.storage, state="sending")
    stored = script.storage.get_journal(CONNECTION, "item-42")
    seen = attrs.evolve(stored, owner="dead-worker", lease_until=START - timedelta(seconds=1))
    flow = publish(
        BARE,
        fingerprint(BARE),
        LISTS,
        script.settings(request_deadline=timedelta(seconds=3)),
        owner="me",
        seen=seen,
    )
    result = script.run(flow)
    assert sum(script.sleeps) == pytest.approx(3.0)  # deadline 3 s + settle 0
    assert result.number == 42


def test_a_live_lease_waited_out_then_taken_over_waits_for_the_old_holders_request() -> None:
    """Held live when this call came (seen=None): once its lease ran out, wait deadline + settle."""
    sent_at: list[object] = []

    def insert(_effect: object) -> int:
        sent_at.append(script.clock())
        return 42

    script = Script(
        {
            "documents_for_contact": [[]] * 20,
            "insert_document": [insert],
            "get_document": [ledger(42)],
        }
    )
    seed(script.storage, state="sending")
    stored = script.storage.get_journal(CONNECTION, "item-42")
    lease_end = START + timedelta(seconds=10)
    assert script.storage.claim_journal(stored, "dead-worker", START, lease_end).acquired
    result = run(script, request_deadline=timedelta(seconds=3))
    assert result.number == 42
    # Its last request may have left just before its lease ran out: 3 s to arrive, settle 0.
    assert sent_at[0] >= lease_end + timedelta(seconds=3)


@pytest.mark.parametrize("failure", [refused(), never_sent()], ids=["refused", "never_sent"])
def test_insert_that_certainly_did_not_land_is_reported_and_released(
    failure: errors.KashFlowError,
) -> None:
    """KashFlow refused it or never saw it: no lookup, the entry is back to claimed, free."""
    script = Script({"documents_for_contact": [[]], "insert_document": [failure]})
    with pytest.raises(type(failure)):
        run(script)
    assert script.calls == ["documents_for_contact", "insert_document"]
    entry = script.journal()
    assert (entry.state, entry.owner) == ("claimed", None)


def test_insert_that_keeps_failing_uncertainly_gives_up_as_incomplete() -> None:
    """Three uncertain sends, each proven absent: publish_incomplete, journal says sending."""
    script = Script(
        {
            "documents_for_contact": [[]] * 4,
            "insert_document": [uncertain(), uncertain(), uncertain()],
        }
    )
    with pytest.raises(errors.PublishUncertainError) as info:
        run(script)
    assert info.value.code == "publish_incomplete"
    assert script.journal().state == "sending"


# ---------------------------------------------------------------------- reconciling a resumed send

#: A resumed send proven absent: look, send, read its id, check there is one copy.
_RESEND = ["documents_for_contact", "insert_document", "get_document", "documents_for_contact"]


@pytest.mark.parametrize(
    ("listed", "owner_of_77", "expected_calls", "expected_number"),
    [
        ([ledger(77)], None, ["documents_for_contact"], 77),
        ([ledger(77, net="100.01")], None, ["documents_for_contact"], 77),
        ([], None, _RESEND, 44),
        ([ledger(77)], "someone-else", _RESEND, 44),
        ([ledger(77, issue_date=date(2026, 11, 3))], None, _RESEND, 44),
    ],
    ids=["found", "found-within-rounding", "absent", "owned-by-another", "other-date"],
)
def test_resumed_send_is_reconciled_before_anything_is_sent(
    listed: list[object], owner_of_77: str | None, expected_calls: list[str], expected_number: int
) -> None:
    """A journal left at sending: look first; send only when KashFlow surely lacks it."""
    script = Script(
        {
            "documents_for_contact": [listed, [ledger(44)]],
            "insert_document": [44],
            "get_document": [ledger(44)],
        }
    )
    seed(script.storage, state="sending")
    if owner_of_77:
        script.storage.set_state(CONNECTION, document_owner_key("purchase", 77), owner_of_77)
    result = run(script)
    assert script.calls == expected_calls
    assert result.number == expected_number


def test_same_reference_and_date_with_other_totals_is_never_taken_as_absent() -> None:
    """After an uncertain send, a document differing beyond rounding stops the publish."""
    script = Script({"documents_for_contact": [[ledger(77, net="90.00")]]})
    seed(script.storage, state="sending")
    with pytest.raises(errors.PublishUncertainError) as info:
        run(script)
    assert info.value.code == "publish_ambiguous"
    assert "insert_document" not in script.calls


def test_several_matches_are_ambiguous_never_a_guess() -> None:
    """Two documents match a resumed send: publish_ambiguous, journal stays sending."""
    script = Script({"documents_for_contact": [[ledger(77), ledger(78)]]})
    seed(script.storage, state="sending")
    with pytest.raises(errors.PublishUncertainError) as info:
        run(script)
    assert (info.value.code, info.value.retryable) == ("publish_ambiguous", False)
    assert script.journal().state == "sending"


def test_failed_lookup_while_reconciling_is_uncertain() -> None:
    """The lookup itself fails: uncertain, and nothing is sent."""
    script = Script({"documents_for_contact": [never_sent()]})
    seed(script.storage, state="sending")
    with pytest.raises(errors.PublishUncertainError):
        run(script)
    assert script.calls == ["documents_for_contact"]


@pytest.mark.parametrize(
    ("held_rate", "found"), [(Decimal("100.00"), True), (Decimal("90.00"), False)]
)
def test_without_a_reference_the_lines_must_match_too(held_rate: Decimal, found: bool) -> None:
    """No reference: contact + date + totals is weak, so the lines decide."""
    doc = attrs.evolve(BARE, reference="")
    held = LedgerLine("Paper", Decimal(1), held_rate, 3, Decimal("20"), Decimal("20.00"))
    script = Script(
        {
            "documents_for_contact": [[ledger(77, reference="")], [ledger(45, reference="")]],
            "get_document": [ledger(77, reference="", lines=(held,)), ledger(45)],
            "insert_document": [45],
        }
    )
    seed(script.storage, doc, state="sending")
    result = run(script, doc)
    assert result.number == (77 if found else 45)


# ---------------------------------------------------------------------- changed content


def test_content_changed_before_anything_was_sent_goes_out() -> None:
    """The entry was only claimed: the new content is published."""
    script = Script(
        {"documents_for_contact": [[]], "insert_document": [42], "get_document": [ledger(42)]}
    )
    seed(script.storage, attrs.evolve(BARE, reference="OLD"), state="claimed")
    result = run(script)
    assert result.status == "published"
    assert script.journal().fingerprint == fingerprint(BARE)


def test_content_changed_while_uncertain_is_refused() -> None:
    """The entry was sending other content: changed_while_uncertain, nothing sent."""
    script = Script()
    seed(script.storage, attrs.evolve(BARE, reference="OLD"), state="sending")
    with pytest.raises(errors.PublishUncertainError) as info:
        run(script)
    assert info.value.code == "changed_while_uncertain"
    assert script.calls == []


# ---------------------------------------------------------------------- attachment and payment


@pytest.mark.parametrize(
    ("attached", "paid", "expected"),
    [
        ([], [], ["receipt_attachments", "attach_file", "payments", "insert_payment"]),
        (
            [LedgerAttachment(5, "inv.pdf", "application/pdf")],
            [],
            ["receipt_attachments", "payments", "insert_payment"],
        ),
        (
            [LedgerAttachment(5, "inv.pdf", "application/pdf")],
            [LedgerPayment(6, 77, FULL.payment.paid_on, 1, 501, Decimal("120.00"))],  # type: ignore[union-attr]
            ["receipt_attachments", "payments"],
        ),
    ],
    ids=["neither-landed", "attachment-landed", "both-landed"],
)
def test_resumed_document_looks_before_sending_attachment_and_payment(
    attached: list[object], paid: list[object], expected: list[str]
) -> None:
    """A created document's attachment and payment are sent again only if not there."""
    script = Script(
        {
            "receipt_attachments": [attached],
            "attach_file": [5],
            "payments": [paid],
            "insert_payment": [6],
        }
    )
    seed(script.storage, FULL, state="created", number=77, kashflow_id=9077)
    run(script, FULL)
    assert script.calls == expected
    assert script.journal().state == "published"


def test_resumed_document_without_its_internal_id_reads_it_first() -> None:
    """The id is saved with the attachment; a run that died before it reads the id again."""
    script = Script(
        {
            "get_document": [ledger(77)],
            "receipt_attachments": [[]],
            "attach_file": [5],
            "payments": [[]],
            "insert_payment": [6],
        }
    )
    seed(script.storage, FULL, state="created", number=77)
    result = run(script, FULL)
    assert script.calls[:2] == ["get_document", "receipt_attachments"]
    assert result.kashflow_id == 9077 and script.journal().kashflow_id == 9077


@pytest.mark.parametrize(
    ("listed", "outcome"),
    [([LedgerAttachment(5, "inv.pdf", "application/pdf")], "published"), ([], "uncertain")],
)
def test_uncertain_attachment_is_looked_up(listed: list[object], outcome: str) -> None:
    """A lost answer to the attach call: found means done, missing means uncertain."""
    script = Script(
        {
            "documents_for_contact": [[]],
            "insert_document": [77],
            "get_document": [ledger(77)],
            "attach_file": [uncertain()],
            "receipt_attachments": [listed],
            "insert_payment": [6],
        }
    )
    if outcome == "published":
        assert run(script, FULL).status == "published"
    else:
        with pytest.raises(errors.PublishUncertainError):
            run(script, FULL)
        entry = script.journal()
        assert (entry.state, entry.attachment_done) == ("created", False)


@pytest.mark.parametrize("landed", [True, False])
def test_uncertain_payment_is_looked_up(landed: bool) -> None:
    """A lost answer to the payment call: found means done, missing means uncertain."""
    doc = clean_purchase(attachment=None)
    payment = LedgerPayment(6, 77, doc.payment.paid_on, 1, 501, Decimal("120.00"))  # type: ignore[union-attr]
    script = Script(
        {
            "documents_for_contact": [[]],
            "insert_document": [77],
            "get_document": [ledger(77)],
            "insert_payment": [uncertain()],
            "payments": [[payment] if landed else []],
        }
    )
    if landed:
        assert run(script, doc).status == "published"
    else:
        with pytest.raises(errors.PublishUncertainError):
            run(script, doc)
        assert script.journal().payment_done is False


def test_sales_attachment_is_resent_when_resumed() -> None:
    """KashFlow cannot list an invoice's attachments: a resumed sale sends it again."""
    sale = clean_sale(attachment=FULL.attachment, payment=None, external_id="s-7")
    script = Script({"attach_file": [5]})
    seed(script.storage, sale, state="created", number=77, kashflow_id=9077)
    run(script, sale)
    assert script.calls == ["attach_file"]


# ---------------------------------------------------------------------- a new contact


NEW = clean_purchase(supplier="Brand New Ltd", attachment=None, payment=None)


def taken() -> errors.RejectedError:
    """KashFlow refusing a new contact's code as in use."""
    return errors.RejectedError(
        "KashFlow refused: Supplier Code is not unique",
        code=ErrorCode.CONTACT_CODE_TAKEN,
        detail="Error Inserting Supplier x: Supplier Code is not unique",
    )


CODE, SECOND_CODE = contact_code("Brand New Ltd"), contact_code("Brand New Ltd", 1)


def test_new_supplier_is_created_once_with_one_request() -> None:
    """An unknown supplier: no lookup, one insert under the code its name gives, then publish."""
    script = Script(
        {
            "insert_contact": [555],
            "documents_for_contact": [[]],
            "insert_document": [42],
            "get_document": [ledger(42, contact_id=555)],
        }
    )
    run(script, NEW)
    assert script.calls[:2] == ["insert_contact", "insert_document"]  # a new one has no documents
    insert = next(e for e in script.effects if isinstance(e, InsertContact))
    assert (insert.kind, insert.name, insert.code) == ("purchase", "Brand New Ltd", CODE)
    contact = script.journal(contact_journal_key("purchase", "Brand New Ltd"))
    assert (contact.state, contact.kashflow_id) == ("published", 555)
    assert script.journal().contact_id == 555


def test_second_document_of_a_new_supplier_reuses_it() -> None:
    """The contact's journal says created: no lookup, no second supplier."""
    storage = MemoryStorage()
    first = Script(
        {
            "insert_contact": [555],
            "documents_for_contact": [[]],
            "insert_document": [42],
            "get_document": [ledger(42, contact_id=555)],
        },
        storage=storage,
    )
    run(first, NEW)
    second_doc = attrs.evolve(NEW, external_id="item-43", reference="INV-2")
    second = Script(
        {"documents_for_contact": [[]], "insert_document": [43], "get_document": [ledger(43)]},
        storage=storage,
    )
    run(second, second_doc)
    assert "insert_contact" not in second.calls and "find_contact" not in second.calls


def test_code_taken_by_the_same_name_is_adopted() -> None:
    """Another connection created the same supplier since the last sync: one lookup, no twin."""
    script = Script(
        {
            "insert_contact": [taken()],
            "find_contact": [(900, "BRAND  new ltd")],  # spaced and cased as another client had it
            "documents_for_contact": [[]],
            "insert_document": [42],
            "get_document": [ledger(42, contact_id=900)],
        }
    )
    run(script, NEW)
    assert script.calls[:3] == ["insert_contact", "find_contact", "documents_for_contact"]
    contact = script.journal(contact_journal_key("purchase", "Brand New Ltd"))
    assert (contact.state, contact.kashflow_id, contact.fingerprint) == ("published", 900, CODE)
    assert script.journal().contact_id == 900


def test_code_taken_by_another_name_moves_to_the_second_code() -> None:
    """A digest collision: another name holds the code, so the name's second code is used."""
    script = Script(
        {
            "insert_contact": [taken(), 555],
            "find_contact": [(900, "Someone Else")],
            "documents_for_contact": [[]],
            "insert_document": [42],
            "get_document": [ledger(42, contact_id=555)],
        }
    )
    run(script, NEW)
    inserts = [e.code for e in script.effects if isinstance(e, InsertContact)]
    assert inserts == [CODE, SECOND_CODE]
    assert script.journal().contact_id == 555


def test_code_listed_for_another_name_is_skipped_without_a_request() -> None:
    """The lists show another contact under the name's code: the second code, no lookup."""
    items = standard_items()
    items["suppliers"] = [*items["suppliers"], Supplier(900, CODE, "Someone Else")]
    lists = make_lists(items)
    script = Script(
        {
            "insert_contact": [555],
            "documents_for_contact": [[]],
            "insert_document": [42],
            "get_document": [ledger(42, contact_id=555)],
        }
    )
    script.run(publish(NEW, fingerprint(NEW), lists, script.settings(), owner="me"))
    assert [e.code for e in script.effects if isinstance(e, InsertContact)] == [SECOND_CODE]
    assert "find_contact" not in script.calls


def test_both_codes_held_by_other_names_is_a_typed_error() -> None:
    """Both codes taken by other names: CONTACT_CODE_TAKEN with a remedy, entry claimable."""
    script = Script(
        {
            "insert_contact": [taken(), taken()],
            "find_contact": [(900, "Someone Else"), (901, "Another One")],
        }
    )
    with pytest.raises(errors.RejectedError) as raised:
        run(script, NEW)
    assert raised.value.code == ErrorCode.CONTACT_CODE_TAKEN
    assert CODE in str(raised.value) and raised.value.remedy
    assert script.calls == ["insert_contact", "find_contact"] * 2
    contact = script.journal(contact_journal_key("purchase", "Brand New Ltd"))
    assert (contact.state, contact.fingerprint) == ("claimed", "")


def test_uncertain_contact_insert_found_under_its_code_is_adopted() -> None:
    """Lost answer creating the supplier: the one with our code and name is ours."""
    script = Script(
        {
            "find_contact": [(555, "Brand New Ltd")],
            "insert_contact": [uncertain()],
            "documents_for_contact": [[]],
            "insert_document": [42],
            "get_document": [ledger(42)],
        }
    )
    assert run(script, NEW).status == "published"
    assert script.calls.count("insert_contact") == 1


def test_uncertain_contact_insert_not_found_is_looked_up_again_next_time() -> None:
    """Not found after a lost answer: raise; the next attempt looks under the same code first."""
    storage = MemoryStorage()
    first = Script({"find_contact": [None], "insert_contact": [uncertain()]}, storage=storage)
    with pytest.raises(errors.TransientError):
        run(first, NEW)
    contact = first.journal(contact_journal_key("purchase", "Brand New Ltd"))
    assert (contact.state, contact.fingerprint, contact.owner) == ("sending", CODE, None)
    second = Script(
        {
            "find_contact": [(555, "Brand New Ltd")],
            "documents_for_contact": [[]],
            "insert_document": [42],
            "get_document": [ledger(42)],
        },
        storage=storage,
    )
    run(second, NEW)
    assert "insert_contact" not in second.calls


def test_refused_contact_insert_frees_its_code() -> None:
    """KashFlow refused the new supplier: the contact entry is back to claimed, no code kept."""
    script = Script({"insert_contact": [refused("Name is required")]})
    with pytest.raises(errors.RejectedError):
        run(script, NEW)
    contact = script.journal(contact_journal_key("purchase", "Brand New Ltd"))
    assert (contact.state, contact.fingerprint) == ("claimed", "")


# ---------------------------------------------------------------------- duplicates in the ledger


def test_same_invoice_already_in_the_ledger_is_refused_before_sending() -> None:
    """Same contact, reference and gross in KashFlow before our first send: no insert."""
    from datetime import date

    script = Script({"documents_for_contact": [[ledger(9, issue_date=date(2026, 10, 1))]]})
    with pytest.raises(errors.ValidationError) as info:
        run(script)
    assert [p.code for p in info.value.problems] == ["duplicate_in_ledger"]
    assert script.calls == ["documents_for_contact"]
    assert (script.journal().state, script.journal().owner) == ("claimed", None)
