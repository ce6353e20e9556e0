"""Every credit-note decision of the publish flow, driven by scripted KashFlow answers.

What the minus sign goes on, what a refusal leads to, when the apply is sent, looked up or
believed, and what the result says: each test states the calls the engine makes.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import attrs
import pytest
from _script import CONNECTION, Script, ledger, operation, refused, uncertain

from _lists_fixtures import clean_purchase_credit_note, clean_sales_credit_note, make_lists
from kashflow_sync import errors
from kashflow_sync._convert import fingerprint
from kashflow_sync._documents.model import Document, Payment
from kashflow_sync._engine.context import CreditTarget
from kashflow_sync._engine.effects import KashFlowEffect
from kashflow_sync._engine.publish import publish
from kashflow_sync.soap.records import LedgerPayment

LISTS = make_lists()
NOTE = clean_sales_credit_note(attachment=None)
TARGET = CreditTarget(number=1001, external_id="s-7", kashflow_id=5001, contact_id=201)
SUPPLIER_NOTE = clean_purchase_credit_note(attachment=None, payment=None)


def run(script: Script, document: Document = NOTE, credits: Any = TARGET, **settings: Any) -> Any:
    flow = publish(
        document, fingerprint(document), LISTS, script.settings(**settings), credits=credits
    )
    return script.run(flow)


def credit(number: int = 1002, **kw: Any) -> Any:
    """The credit note as KashFlow lists it: negative."""
    return ledger(
        number, reference=NOTE.reference, net="-500.00", vat="-100.00", contact_id=201, **kw
    )


def applied_payment(number: int = 1002) -> LedgerPayment:
    return LedgerPayment(
        kashflow_id=70001,
        document_number=number,
        paid_on=date(2026, 11, 20),
        method_id=11,
        account_id=61,
        amount=Decimal("-600.00"),
    )


def sent(script: Script, name: str) -> list[Any]:
    return [e for e in script.effects if isinstance(e, KashFlowEffect) and operation(e) == name]


def test_a_sales_credit_note_is_created_negative_and_applied() -> None:
    """Negative rate and VAT, then one apply by internal ids; applied=True."""
    script = Script(
        {
            "documents_for_contact": [[]],
            "insert_document": [1002],
            "get_document": [credit()],
            "apply_credit_note": [True],
        }
    )
    result = run(script)
    assert script.calls == [
        "documents_for_contact",
        "insert_document",
        "get_document",
        "apply_credit_note",
    ]
    [insert] = sent(script, "insert_document")
    [line] = insert.lines
    assert (line["Quantity"], line["Rate"], line["VatAmount"]) == (1, Decimal("-500.00"), -100)
    [apply] = sent(script, "apply_credit_note")
    assert (apply.invoice_id, apply.credit_note_id) == (5001, 1002 + 9000)
    assert (result.applied, result.notices) == (True, ())


def test_an_uncertain_apply_found_applied_is_not_sent_again() -> None:
    """The apply's answer lost: KashFlow is read back (a payment on the credit note): applied."""
    script = Script(
        {
            "documents_for_contact": [[]],
            "insert_document": [1002],
            "get_document": [credit()],
            "apply_credit_note": [uncertain()],
            "payments": [[applied_payment()]],
        }
    )
    result = run(script)
    assert len(sent(script, "apply_credit_note")) == 1
    assert result.applied is True


def test_an_uncertain_apply_not_found_is_sent_again_only_on_the_next_publish() -> None:
    """Not found after the settle time: uncertain now; the next publish looks, then applies."""
    script = Script(
        {
            "documents_for_contact": [[]],
            "insert_document": [1002],
            "get_document": [credit(), credit()],
            "apply_credit_note": [uncertain(), True],
            "payments": [[], []],
        }
    )
    with pytest.raises(errors.PublishUncertainError):
        run(script)
    first = len(script.calls)
    result = run(script)
    assert len(sent(script, "apply_credit_note")) == 2
    # Looked before sending (the internal id was kept by the save before the first apply).
    assert script.calls[first:] == ["payments", "apply_credit_note"]
    assert result.applied is True


@pytest.mark.parametrize(
    ("payments", "applied", "notice"),
    [([applied_payment()], True, None), ([], False, "credit_not_applied")],
    ids=["applied all the same", "not applied"],
)
def test_a_false_answer_is_read_back(payments: list[Any], applied: bool, notice: Any) -> None:
    """False is believed only once KashFlow shows no application."""
    script = Script(
        {
            "documents_for_contact": [[]],
            "insert_document": [1002],
            "get_document": [credit()],
            "apply_credit_note": [False],
            "payments": [payments],
        }
    )
    result = run(script)
    assert result.applied is applied
    assert [n.code for n in result.notices] == ([notice] if notice else [])


def test_a_learned_false_is_believed_without_a_read_back() -> None:
    """apply_false learned as not_applied: no read-back after false."""
    script = Script(
        {
            "documents_for_contact": [[]],
            "insert_document": [1002],
            "get_document": [credit()],
            "apply_credit_note": [False],
        }
    )
    result = run(script, apply_false="not_applied")
    assert "payments" not in script.calls
    assert result.applied is False


def test_a_refused_apply_is_a_notice_with_kashflows_words() -> None:
    """Status NO on the apply: the credit note stays published; the notice quotes KashFlow."""
    script = Script(
        {
            "documents_for_contact": [[]],
            "insert_document": [1002],
            "get_document": [credit()],
            "apply_credit_note": [refused("There is nothing left to apply")],
        }
    )
    result = run(script)
    assert (result.status, result.applied) == ("published", False)
    assert "There is nothing left to apply" in result.notices[0].message
    assert script.journal("s-8").state == "published"


def test_a_refused_rate_goes_again_as_a_negative_quantity() -> None:
    """A refusal leaves nothing: the other form is tried once, without waiting or looking up."""
    script = Script(
        {
            "documents_for_contact": [[]],
            "insert_document": [refused("Line 1: the rate cannot be negative"), 7],
            "get_document": [ledger(7, reference="CN-55", net="-100.00", vat="-20.00")],
        }
    )
    run(script, SUPPLIER_NOTE, credits=None)
    first, second = (e.lines[0] for e in sent(script, "insert_document"))
    assert (first["Quantity"] > 0, first["Rate"] < 0) == (True, True)
    assert (second["Quantity"] < 0, second["Rate"] > 0) == (True, True)
    assert not script.sleeps


@pytest.mark.parametrize(
    ("words", "code"),
    [
        (("Line 1: no negative rate", "Line 1: no negative quantity"), "credit_note_refused"),
        (("Invalid nominal code", "Invalid nominal code"), "rejected"),
    ],
    ids=["refused either way", "refused for another reason"],
)
def test_refused_in_both_forms(words: tuple[str, str], code: str) -> None:
    """Both forms refused: credit_note_refused when it is the sign, else KashFlow's refusal."""
    script = Script(
        {
            "documents_for_contact": [[]],
            "insert_document": [refused(words[0]), refused(words[1])],
        }
    )
    with pytest.raises(errors.RejectedError) as caught:
        run(script, SUPPLIER_NOTE, credits=None)
    assert caught.value.code == code
    assert script.journal("p-cn-1").state == "claimed"  # nothing is in KashFlow


def test_a_learned_form_is_sent_first_and_only() -> None:
    """credit_lines learned as quantity: one insert, negative quantity; a refusal is final."""
    script = Script({"documents_for_contact": [[]], "insert_document": [refused()]})
    with pytest.raises(errors.RejectedError):
        run(script, SUPPLIER_NOTE, credits=None, credit_lines="quantity")
    [insert] = sent(script, "insert_document")
    assert insert.lines[0]["Quantity"] < 0


def test_a_refused_negative_refund_goes_as_a_positive_one() -> None:
    """Refund refused as negative: sent once as positive; one payment."""
    note = attrs.evolve(SUPPLIER_NOTE, payment=Payment(method="Cash", bank_account=1200))
    script = Script(
        {
            "documents_for_contact": [[]],
            "insert_document": [7],
            "get_document": [ledger(7, reference="CN-55", net="-100.00", vat="-20.00")],
            "insert_payment": [refused("A refund must be positive"), 70001],
        }
    )
    result = run(script, note, credits=None)
    amounts = [e.amount for e in sent(script, "insert_payment")]
    assert amounts == [-note.gross, note.gross]
    assert result.notices == ()


def test_a_supplier_credit_note_naming_its_receipt_is_never_applied() -> None:
    """No apply call for a supplier credit note: a notice says what to click."""
    script = Script(
        {
            "documents_for_contact": [[]],
            "insert_document": [7],
            "get_document": [ledger(7, reference="CN-55", net="-100.00", vat="-20.00")],
        }
    )
    result = run(script, SUPPLIER_NOTE, credits=CreditTarget(number=12, contact_id=101))
    assert "apply_credit_note" not in script.calls
    assert [n.code for n in result.notices] == ["supplier_credit_not_allocated"]


def test_credits_of_another_contact_are_refused_before_anything_is_sent() -> None:
    """The credited invoice belongs to another customer: ValidationError, nothing sent."""
    script = Script({})
    with pytest.raises(errors.ValidationError) as caught:
        run(script, credits=attrs.evolve(TARGET, contact_id=999))
    assert [p.code for p in caught.value.problems] == ["credits_other_contact"]
    assert script.calls == []


_ = CONNECTION
