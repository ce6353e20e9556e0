"""No error path lets the password or the AutoAuth key out, even when KashFlow echoes them.

The fake runs with ``echo_secrets=True``: every refusal's StatusDetail, SOAP fault string and
HTTP error page repeats what the client sent. Each scenario drives one error path through
both clients and demands the error it expects (never swallowing a missing one), then scans
everything reachable from it (see ``_leaks``), every log record down to DEBUG, and the storage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import attrs
import pytest

import kashflow_sync as kfs
from _clients import KINDS, any_client
from _leaks import error_leaks, log_leaks, object_leaks
from _support import purchase
from kashflow_sync import errors
from kashflow_sync.testing import FakeKashFlow

PASSWORD = "Pa55-word-of-jane"
KEY = "7E57AB1E-4242"
SECRETS = (PASSWORD, KEY)


@attrs.frozen
class Scenario:
    """One error path: how to provoke it and the error it must give."""

    name: str
    error: type[errors.KashFlowError]
    code: str
    fault: tuple[str, dict[str, Any]] | None = None
    op: str = "AutoAuthIP"  # the call that fails (AutoAuthIP carries the key as well)
    action: str = "connect"
    setup: Callable[[FakeKashFlow], None] | None = None
    client: dict[str, Any] = attrs.field(factory=dict)
    # What the client knows and must mask (the fake echoes its own key to a keyless client).
    secrets: tuple[str, ...] = attrs.field(default=SECRETS, repr=False)

    def __str__(self) -> str:
        return self.name


def _rotate_password(fake: FakeKashFlow) -> None:
    fake.password = "changed-in-kashflow"


def _rotate_key(fake: FakeKashFlow) -> None:
    fake.autoauth_key = "FFFF0000-0000"


def _no_autoauth(fake: FakeKashFlow) -> None:
    fake.autoauth_enabled = False


def _no_lookups(fake: FakeKashFlow) -> None:
    # The create's answer cannot be read and no lookup can settle it: the publish fails with
    # the unreadable answer in its chain.
    fake.faults.http_error(500, op=("GetReceiptsForSupplier", "GetReceipts_Recent"), times=None)


SMALL = {"max_answer_bytes": 200_000}
QUICK = {"client_timeout": 0.3}

SCENARIOS = [
    # KashFlow's refusals (Status=NO), each echoing the password and key.
    Scenario(
        "wrong password",
        errors.AuthenticationError,
        "authentication_failed",
        setup=_rotate_password,
    ),
    Scenario(
        "wrong autoauth key", errors.IPNotAllowedError, "autoauth_rejected", setup=_rotate_key
    ),
    Scenario(
        "autoauth disabled", errors.IPNotAllowedError, "autoauth_rejected", setup=_no_autoauth
    ),
    Scenario(
        "ip blocked, no key",
        errors.IPNotAllowedError,
        "ip_not_allowed",
        op="GetCurrencies",
        client={"credentials": kfs.Credentials("demo", PASSWORD)},
        secrets=(PASSWORD,),
    ),
    # (The echoed "AutoAuthKey=" makes the SDK read these two as AutoAuth refusals: any class.)
    Scenario(
        "refusal of a read", errors.KashFlowError, "", fault=("huge_status_detail", {"size": 40})
    ),
    Scenario(
        "refusal of a create",
        errors.KashFlowError,
        "",
        op="InsertReceipt",
        action="publish",
        fault=("huge_status_detail", {"size": 40}),
    ),
    # KashFlow quoting the secrets where the SDK quotes KashFlow: a create's numeric result,
    # an answer's header. (Every echo above also repeats them in capitals.)
    Scenario(
        "password as a create's number",
        errors.KashFlowError,
        "",
        op="InsertReceipt",
        action="publish",
        fault=("hostile_answer", {"shape": "text_result"}),
        setup=_no_lookups,
        client={"check_ledger_duplicates": False},
    ),
    Scenario(
        "password in a header",
        errors.ProtocolError,
        "answer_encoding",
        fault=("hostile_answer", {"shape": "bad_encoding"}),
    ),
    # SOAP faults.
    Scenario("server fault", errors.TransientError, "server_fault", fault=("soap_fault", {})),
    Scenario(
        "auth fault",
        errors.AuthenticationError,
        "authentication_failed",
        fault=("soap_fault", {"message": "Invalid password for this user"}),
    ),
    Scenario(
        "long fault string",
        errors.TransientError,
        "server_fault",
        fault=("huge_fault", {"size": 40, "part": "faultstring"}),
    ),
    Scenario(
        "fault with detail",
        errors.TransientError,
        "server_fault",
        fault=("huge_fault", {"size": 40, "part": "detail"}),
    ),
    Scenario(
        "server fault on a create",
        errors.KashFlowError,
        "",
        op="InsertReceipt",
        action="publish",
        fault=("soap_fault", {}),
    ),
    # HTTP errors (HTML pages echoing the secrets).
    Scenario("http 500", errors.TransientError, "http_500", fault=("http_error", {"status": 500})),
    Scenario("http 503", errors.TransientError, "http_503", fault=("http_error", {"status": 503})),
    Scenario("http 404", errors.ProtocolError, "http_404", fault=("http_error", {"status": 404})),
    Scenario(
        "http 500 on a create",
        errors.KashFlowError,
        "",
        op="InsertReceipt",
        action="publish",
        fault=("http_error", {"status": 500}),
    ),
    # Transport errors: the httpx exception's request holds the whole envelope.
    Scenario("reset", errors.TransientError, "connection_failed", fault=("reset_before", {})),
    Scenario(
        "dropped answer", errors.TransientError, "connection_lost", fault=("drop_response", {})
    ),
    Scenario("read timeout", errors.TransientError, "timeout", fault=("delay", {"seconds": 60.0})),
    Scenario(
        "late write", errors.TransientError, "timeout", fault=("late_apply", {"apply_after": 0.0})
    ),
    Scenario(
        "trickle past the deadline",
        errors.TransientError,
        "timeout",
        fault=("trickle", {"chunk": 1, "pause": 0.02}),
        client=QUICK,
    ),
    Scenario(
        "malformed answer", errors.ProtocolError, "protocol_error", fault=("malformed_response", {})
    ),
    Scenario(
        "oversized answer",
        errors.ProtocolError,
        "answer_too_large",
        fault=("oversized", {"size": 1_000_000}),
        client=SMALL,
    ),
    Scenario(
        "gzip bomb",
        errors.ProtocolError,
        "answer_too_large",
        fault=("gzip_bomb", {"size": 5_000_000}),
        client=SMALL,
    ),
    Scenario(
        "reset on a create",
        errors.KashFlowError,
        "",
        op="InsertReceipt",
        action="publish",
        fault=("reset_before", {}),
    ),
]


def provoke(kind: str, scenario: Scenario, caplog: pytest.LogCaptureFixture) -> list[str]:
    """Run *scenario* with a *kind* client; return every leak found (the error is demanded)."""
    # No local here may hold a secret: this frame is in the traceback the scan renders.
    fake = FakeKashFlow(password=PASSWORD, autoauth_key=KEY, echo_secrets=True)
    with any_client(kind, fake, **scenario.client) as client:
        if scenario.action == "publish":
            client.connect()
        if scenario.setup is not None:
            scenario.setup(fake)
        if scenario.fault is not None:
            kind_name, options = scenario.fault
            getattr(fake.faults, kind_name)(op=scenario.op, times=None, **options)
        with caplog.at_level(logging.DEBUG), pytest.raises(scenario.error) as info:
            if scenario.action == "publish":
                client.publish(purchase(1))
            else:
                client.connect()
        error = info.value
        if scenario.code:
            assert error.code == scenario.code, error
        assert any(c.operation == scenario.op for c in fake.calls), "the fault never fired"
        leaks = error_leaks(error, scenario.secrets)
        leaks += log_leaks(caplog.records, scenario.secrets)
        leaks += object_leaks(client.storage, scenario.secrets)
        for attempt in client.publish_history("doc-1"):
            leaks += [f"journal: {x}" for x in object_leaks(attempt, scenario.secrets)]
    fake.close(late_writes="cancel")
    return leaks


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
@pytest.mark.parametrize("kind", KINDS)
def test_no_secret_reachable_from_the_error_logs_or_storage(
    kind: str, scenario: Scenario, caplog: pytest.LogCaptureFixture
) -> None:
    """The password and key are nowhere in the error, its chain, tracebacks, logs or storage."""
    assert provoke(kind, scenario, caplog) == []


def test_the_fake_really_echoes_what_the_scan_looks_for() -> None:
    """Sanity: with echo on, KashFlow's raw words hold both secrets (so the scan can fail)."""
    fake = FakeKashFlow(password=PASSWORD, autoauth_key=KEY, echo_secrets=True)
    fake.faults.soap_fault(op="AutoAuthIP")
    with fake.http_client() as http:
        from kashflow_sync.soap import codec
        from kashflow_sync.soap.operations import auto_auth_ip

        envelope = codec.encode(auto_auth_ip("tests"), fake.credentials)
        answer = http.post(fake.url, content=envelope.content, headers=envelope.headers)
    assert PASSWORD in answer.text and KEY in answer.text


def test_envelope_repr_hides_the_password_and_key() -> None:
    """The sealed request bytes show their size, never the credentials inside."""
    from kashflow_sync.soap import codec
    from kashflow_sync.soap.operations import auto_auth_ip

    envelope = codec.encode(auto_auth_ip("tests"), kfs.Credentials("jane", PASSWORD, KEY))
    assert PASSWORD.encode() in envelope.content and KEY.encode() in envelope.content
    assert PASSWORD not in repr(envelope) and KEY not in repr(envelope)


@pytest.mark.parametrize(
    "fault",
    [("reset_before", {}), ("drop_response", {}), ("delay", {"seconds": 60.0})],
    ids=lambda f: f[0],
)
@pytest.mark.parametrize("kind", KINDS)
def test_transport_failure_chains_no_exception_at_all(
    kind: str, fault: tuple[str, dict[str, Any]]
) -> None:
    """Not just suppressed (``from None`` leaves __context__ set): no cause, no context."""
    fake = FakeKashFlow(password=PASSWORD, autoauth_key=KEY)
    with any_client(kind, fake) as client:
        getattr(fake.faults, fault[0])(op="AutoAuthIP", times=None, **fault[1])
        with pytest.raises(errors.TransientError) as info:
            client.connect()
    error = info.value
    assert (error.__cause__, error.__context__, error.__suppress_context__) == (None, None, False)
