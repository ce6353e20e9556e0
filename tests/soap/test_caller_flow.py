"""The AutoAuth rule as a flow, with no I/O: what it asks to send for each answer it gets."""

from __future__ import annotations

from typing import Any

from kashflow_sync import errors
from kashflow_sync.soap import operations
from kashflow_sync.soap.caller import Done, autoauth_flow, resume

REQUEST = operations.fetch_list("currencies")


def refused(code: str) -> errors.IPNotAllowedError:
    """KashFlow's refusal of this machine's IP address, as the error map gives it."""
    return errors.IPNotAllowedError("refused", code=code, operation=REQUEST.operation)


def drive(answers: list[Any], *, autoauth: bool) -> tuple[list[str], Any]:
    """Run the flow, answering each request in turn from *answers*; (operations sent, outcome).

    An exception in *answers* is thrown in as that request's failure; the outcome is the
    flow's result, or the exception it raised.
    """
    flow = autoauth_flow(REQUEST, app_name="tests", autoauth=autoauth)
    sent: list[str] = []
    step = resume(flow)
    try:
        while not isinstance(step, Done):
            sent.append(step.operation)
            answer = answers[len(sent) - 1]
            if isinstance(answer, errors.KashFlowError):
                step = resume(flow, failure=answer)
            else:
                step = resume(flow, answer)
    except errors.KashFlowError as exc:
        return sent, exc
    return sent, step.value


def test_an_answered_call_is_sent_once() -> None:
    """A call KashFlow answers is sent once and its result returned."""
    assert drive([["GBP"]], autoauth=True) == (["GetCurrencies"], ["GBP"])


def test_ip_not_allowed_with_a_key_allows_the_ip_and_sends_once_more() -> None:
    """ip_not_allowed with an AutoAuth key: AutoAuthIP, then the same call again."""
    sent, outcome = drive([refused("ip_not_allowed"), 1, ["GBP"]], autoauth=True)
    assert sent == ["GetCurrencies", "AutoAuthIP", "GetCurrencies"]
    assert outcome == ["GBP"]


def test_ip_not_allowed_without_a_key_is_raised_unchanged() -> None:
    """Without an AutoAuth key the refusal is the caller's: nothing more is sent."""
    error = refused("ip_not_allowed")
    assert drive([error], autoauth=False) == (["GetCurrencies"], error)


def test_a_refused_autoauth_key_is_raised_unchanged() -> None:
    """Only ip_not_allowed triggers AutoAuthIP: a refused AutoAuth is not tried again."""
    error = refused("autoauth_rejected")
    assert drive([error], autoauth=True) == (["GetCurrencies"], error)


def test_a_refusal_after_autoauth_is_raised_not_retried_again() -> None:
    """The AutoAuth retry happens once: a second ip_not_allowed is raised as it is."""
    second = refused("ip_not_allowed")
    sent, outcome = drive([refused("ip_not_allowed"), 1, second], autoauth=True)
    assert sent == ["GetCurrencies", "AutoAuthIP", "GetCurrencies"]
    assert outcome is second


def test_a_failed_autoauth_is_raised() -> None:
    """AutoAuthIP refused: its error is raised and the call is not sent again."""
    rejected = refused("autoauth_rejected")
    sent, outcome = drive([refused("ip_not_allowed"), rejected], autoauth=True)
    assert sent == ["GetCurrencies", "AutoAuthIP"]
    assert outcome is rejected


def test_the_autoauth_request_is_a_repeatable_call() -> None:
    """AutoAuthIP is sent as idempotent, so the retry policy may repeat it."""
    flow = autoauth_flow(REQUEST, app_name="tests", autoauth=True)
    resume(flow)
    allow = resume(flow, failure=refused("ip_not_allowed"))
    assert not isinstance(allow, Done)
    assert (allow.operation, allow.idempotent, allow.params["appName"]) == (
        "AutoAuthIP",
        True,
        "tests",
    )
