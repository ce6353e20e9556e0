"""``kashflow-sync doctor`` driven through the real CLI entry point against the fake KashFlow.

The fake plays each reading of KashFlow's unconfirmed behaviour (``Readings``); doctor must
report the reading it plays, send no write without ``--probe-writes``, and with it leave the
ledger exactly as it found it, or say exactly what is left.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _doctor_helpers import ledger

import kashflow_sync as kfs
from _cli_run import Run
from kashflow_sync import cli
from kashflow_sync._doctor import session as _doctor_session
from kashflow_sync._retry import skip_waits
from kashflow_sync.testing import WRITE_OPERATIONS, FakeKashFlow, Readings


@pytest.fixture
def run(
    monkeypatch: pytest.MonkeyPatch,
    kashflow_fake: FakeKashFlow,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Any]:
    """Run ``kashflow-sync doctor`` with the fake's credentials, endpoint and a fresh database."""
    creds = kashflow_fake.credentials
    monkeypatch.setenv(cli.ENV_USERNAME, creds.username)
    monkeypatch.setenv(cli.ENV_PASSWORD, creds.password)
    monkeypatch.setenv(cli.ENV_AUTOAUTH_KEY, creds.autoauth_key or "")
    monkeypatch.delenv(cli.ENV_DB, raising=False)
    account = ["--endpoint", kashflow_fake.url, "--db", f"sqlite:///{tmp_path / 'kf.db'}"]

    def _run(*argv: str) -> Run:
        capsys.readouterr()
        code = cli.main(["doctor", *argv, *account])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    with skip_waits():  # the command builds its own clients: their retries must not sleep
        yield _run


def probe(run: Any) -> Run:
    result: Run = run("--probe-writes", "--yes", "--json")
    return result


# ---------------------------------------------------------------------------- read-only


def test_read_only_sends_only_lookups(run: Any, fake: FakeKashFlow) -> None:
    """Without --probe-writes every request the fake received is a Get... lookup."""
    result = run("--json")
    assert result.code == cli.EXIT_OK, result.out
    operations = [c.operation for c in fake.calls]
    assert operations and all(op is not None and op.startswith("Get") for op in operations)
    assert not set(operations) & (WRITE_OPERATIONS | {"AutoAuthIP"})
    assert result.json()["writes_sent"] == []


def test_read_only_never_calls_autoauth_even_when_the_ip_is_refused(
    run: Any, kashflow_fake: FakeKashFlow
) -> None:
    """A refused IP with a key set is reported (exit 3) without calling AutoAuthIP."""
    result = run("--json")
    assert result.code == cli.EXIT_AUTH
    assert [c.operation for c in kashflow_fake.calls] == ["GetCurrencies"]
    checks = {c["key"]: c for c in result.json()["checks"]}
    assert checks["ip_access"]["outcome"] == "problem"
    assert checks["autoauth"]["outcome"] == "skipped"
    assert "write" in checks["autoauth"]["summary"]
    # KashFlow's order of checks is unknown: a refused IP says nothing about the password.
    assert checks["credentials"]["outcome"] == "skipped"
    assert kashflow_fake.allowed_ips == {}


def test_probe_writes_reports_a_refused_autoauth_key(
    run: Any, kashflow_fake: FakeKashFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key KashFlow refuses: the AutoAuth check says so (exit 3) and nothing else is written."""
    monkeypatch.setenv(cli.ENV_AUTOAUTH_KEY, "0000AAAA-0000")
    result = probe(run)
    assert result.code == cli.EXIT_AUTH
    checks = {c["key"]: c for c in result.json()["checks"]}
    assert checks["autoauth"]["outcome"] == "problem"
    assert "AutoAuth key" in checks["autoauth"]["summary"]
    assert result.json()["writes_sent"] == ["AutoAuthIP"]


def test_probe_writes_lets_autoauth_add_a_refused_ip(run: Any, kashflow_fake: FakeKashFlow) -> None:
    """With --probe-writes a refused IP is added by AutoAuthIP and the checks go on."""
    before = ledger(kashflow_fake)
    result = probe(run)
    assert result.code == cli.EXIT_OK, result.out
    assert "127.0.0.1" in kashflow_fake.allowed_ips
    assert any("AutoAuthIP" in change for change in result.json()["probe"]["lasting"])
    assert ledger(kashflow_fake) == before


def test_read_only_run_reports_lists_and_lookups(run: Any, fake: FakeKashFlow) -> None:
    """The report has every list with its size and the four not-found lookups."""
    data = run("--json").json()
    sizes = {t["name"]: t["items"] for t in data["lists"]}
    assert sizes["suppliers"] == len(fake.suppliers)
    assert sizes["nominal_codes"] == len(fake.nominal_codes)
    assert [a["lookup"] for a in data["lookups"]] == ["receipt", "invoice", "supplier", "customer"]


def test_read_only_text_output_says_it_wrote_nothing(run: Any, fake: FakeKashFlow) -> None:
    """The text report says read-only, shows the checks and that no write was sent."""
    result = run()
    assert result.code == cli.EXIT_OK
    assert "Read-only" in result.out
    assert "no writes." in result.out
    assert "No problems found." in result.out


# ---------------------------------------------------------------------------- each reading

#: What doctor must learn under each reading the fake can play.
EXPECTED_FACTS: dict[str, dict[str, Any]] = {
    "default": {"not_found": "status_no", "rate_decimals": 4, "rounding": "half_up"},
    "not_found=empty_object": {"not_found": "empty_object"},
    "rate_decimals=2": {"rate_decimals": 2, "rounding": "half_up"},
    "rate_decimals=2,half_even": {"rate_decimals": 2, "rounding": "half_even"},
    # A VAT KashFlow works out itself is not kept as sent on a credit note either.
    "recompute_vat": {"recompute_vat": True, "rate_decimals": 4, "credit_vat_kept": False},
    "rate_decimals=2,recompute_vat": {
        "recompute_vat": True,
        "rate_decimals": 2,
        "credit_vat_kept": False,
    },
    "values_in_currency": {"values_in_currency": True},
    "success_note": {"success_note": True},
    "dropbox_disconnected": {"attachments_accepted": False},
    # Credit notes' readings leave the invoice facts as they are, and are learned.
    "credit_lines=negative_rate": {"credit_lines": "rate"},
    "credit_lines=negative_quantity": {"credit_lines": "quantity"},
    # Nothing is taken, so nothing else about credit notes can be learned.
    "credit_lines=refused": {
        "credit_lines": "refused",
        "credit_vat_kept": None,
        "credit_refund": None,
        "apply_false": None,
    },
    "credit_vat=from_net": {"credit_vat_kept": False},
    "apply_answer=always_false": {"apply_false": "applied"},
    # True when it applied, Status NO when it could not: a false is never seen.
    "apply_answer=status_no": {"apply_false": None},
    "credit_refund=positive": {"credit_refund": "positive"},
    "credit_refund=refused": {"credit_refund": "refused"},
    # Beyond the alternatives: every digit kept, and banker's rounding at 4 decimals.
    "rate_decimals=None": {"rate_decimals": 6, "rounding": None},
    "rate_decimals=4,half_even": {"rate_decimals": 4, "rounding": "half_even"},
}
#: What the defaults read as where a reading does not say otherwise.
DEFAULT_FACTS: dict[str, Any] = {
    "not_found": "status_no",
    "success_note": False,
    "rate_decimals": 4,
    "rounding": "half_up",
    "recompute_vat": False,
    "values_in_currency": False,
    "attachments_accepted": True,
    "contact_without_code": True,
    "credit_lines": "either",
    "credit_vat_kept": True,
    "credit_refund": "negative",
    "apply_false": "not_applied",
}
READINGS: dict[str, Readings] = {
    **Readings.alternatives(),
    "rate_decimals=None": Readings(rate_decimals=None),
    "rate_decimals=4,half_even": Readings(rounding="half_even"),
}


def test_every_alternative_reading_has_expected_facts() -> None:
    """The table below covers every reading Readings.alternatives() offers."""
    assert set(Readings.alternatives()) <= set(EXPECTED_FACTS) == set(READINGS)


@pytest.mark.parametrize("name", list(READINGS))
def test_doctor_reports_the_reading_the_fake_plays(run: Any, fake: FakeKashFlow, name: str) -> None:
    """Under each reading, doctor's learned facts are that reading, and the ledger is unchanged."""
    fake.readings = READINGS[name]
    before = ledger(fake)
    result = probe(run)
    assert result.code == cli.EXIT_OK, result.out
    facts = result.json()["facts"]
    expected = {**DEFAULT_FACTS, **EXPECTED_FACTS[name]}
    assert {key: facts[key] for key in expected} == expected
    assert ledger(fake) == before
    assert fake.errors == []


def test_status_no_lookups_report_kashflows_words(run: Any, fake: FakeKashFlow) -> None:
    """Under the Status NO reading, each lookup reports the words KashFlow used."""
    words = {a["lookup"]: a["words"] for a in run("--json").json()["lookups"]}
    assert words == {
        "receipt": "There is no receipt with that number",
        "invoice": "There is no invoice with that number",
        "supplier": "There is no supplier with that code",
        "customer": "There is no customer with that code",
    }


@pytest.mark.kashflow(readings={"not_found": "empty_object"})
def test_empty_object_lookups_read_as_absent(run: Any, fake: FakeKashFlow) -> None:
    """Under the empty-object reading every lookup is reported as such, read as absent."""
    lookups = run("--json").json()["lookups"]
    assert {(a["form"], a["sdk_reads_absent"]) for a in lookups} == {("empty_object", True)}


def test_unrecognised_not_found_words_contradict_the_sdk(
    run: Any, fake: FakeKashFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not-found words the SDK does not recognise are a problem and a contradicted assumption."""
    from kashflow_sync.testing._fake import messages as _messages

    monkeypatch.setattr(
        _messages,
        "STATUS_DETAILS",
        {**_messages.STATUS_DETAILS, "receipt_not_found": "Receipt not found"},
    )
    result = run("--json")
    assert result.code == cli.EXIT_FAILED
    data = result.json()
    checks = {c["key"]: c["outcome"] for c in data["checks"]}
    assert checks["not_found.receipt"] == "problem"
    assert checks["not_found.invoice"] == "ok"
    verdicts = {a["key"]: a["verdict"] for a in data["assumptions"]}
    assert verdicts["not_found"] == "contradicted"


def test_read_only_leaves_write_facts_open(run: Any, fake: FakeKashFlow) -> None:
    """Without --probe-writes the facts that need a receipt are reported as open."""
    verdicts = {a["key"]: a["verdict"] for a in run("--json").json()["assumptions"]}
    assert verdicts["not_found"] == "confirmed"
    for key in ("rate_decimals", "rounding", "values_in_currency", "attachments"):
        assert verdicts[key] == "open"
    for key in ("credit_lines", "credit_vat", "credit_refund", "apply_false"):
        assert verdicts[key] == "open"


# ---------------------------------------------------------------------------- failed deletes

#: Each delete the probe makes, and the kinds left behind when it fails every time.
DELETES = {
    "DeleteReceiptPayment": {"payment", "receipt", "supplier"},
    "DeleteReceiptAttachment": {"attachment", "receipt", "supplier"},
    "DeleteReceipt": {"receipt", "supplier"},
    "DeleteSupplier": {"supplier"},
    # An applied credit note and a refunded one have payments; every invoice is the customer's.
    "DeleteInvoicePayment": {"payment", "invoice", "customer"},
    "DeleteInvoice": {"invoice", "customer"},
    "DeleteCustomer": {"customer"},
}


def _labels(left: list[dict[str, Any]], kind: str) -> list[str]:
    return sorted(item["label"] for item in left if item["kind"] == kind)


@pytest.mark.parametrize("operation", list(DELETES))
def test_a_failed_delete_reports_exactly_what_is_left(
    run: Any, fake: FakeKashFlow, operation: str
) -> None:
    """When a delete fails, the report names what is left, and that is what the fake still has."""
    before = ledger(fake)
    fake.faults.http_error(status=500, op=operation, times=None)
    result = probe(run)
    assert result.code == cli.EXIT_FAILED
    left = result.json()["probe"]["left"]
    assert {item["kind"] for item in left} == DELETES[operation]
    assert all(item["how_to_remove"] and item["reason"] for item in left)
    for kind, now, then in (
        ("receipt", fake.receipts, before[2]),
        ("invoice", fake.invoices, before[3]),
    ):
        new = [
            f"{kind} {d.number} (reference {d.customer_reference})" for d in now if d not in then
        ]
        assert _labels(left, kind) == sorted(new)
    for kind, now, then in (
        ("supplier", fake.suppliers, before[0]),
        ("customer", fake.customers, before[1]),
    ):
        assert [c.name for c in now if c not in then] == [
            label.split("'")[1] for label in _labels(left, kind)
        ]
    new_payments = sorted(p.kashflow_id for p in fake.payments if p not in before[4])
    assert sorted(int(label.split()[1]) for label in _labels(left, "payment")) == new_payments


def test_a_failed_delete_is_said_in_the_text_report(run: Any, fake: FakeKashFlow) -> None:
    """The text report marks what is left and how to remove it by hand."""
    fake.faults.http_error(status=500, op="DeleteSupplier", times=None)
    result = run("--probe-writes", "--yes")
    assert result.code == cli.EXIT_FAILED
    text = " ".join(result.out.split())  # the report wraps long lines
    assert "LEFT: supplier 'kashflow-sync doctor probe" in text
    assert "In KashFlow open Suppliers" in text


# ---------------------------------------------------------------------------- Ctrl-C


def interrupt_on(monkeypatch: pytest.MonkeyPatch, operation: str) -> None:
    """Make the first request of *operation* raise KeyboardInterrupt, as Ctrl-C would."""
    original = _doctor_session.DoctorSession.exchange
    fired: list[bool] = []

    def exchange(self: Any, request: Any) -> Any:
        if request.operation == operation and not fired:
            fired.append(True)
            raise KeyboardInterrupt
        return original(self, request)

    monkeypatch.setattr(_doctor_session.DoctorSession, "exchange", exchange)


def test_ctrl_c_mid_probe_cleans_up(
    run: Any, fake: FakeKashFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while probing still deletes what was made, and exits 130."""
    before = ledger(fake)
    interrupt_on(monkeypatch, "InsertReceiptPayment")
    result = probe(run)
    assert result.code == cli.EXIT_INTERRUPTED
    assert result.json()["probe"]["interrupted"] is True
    assert result.json()["probe"]["left"] == []
    assert ledger(fake) == before


def test_ctrl_c_during_cleanup_says_what_is_left(
    run: Any, fake: FakeKashFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C during the cleanup stops it and lists what is still in KashFlow."""
    before = ledger(fake)
    interrupt_on(monkeypatch, "DeleteReceipt")
    result = probe(run)
    assert result.code == cli.EXIT_INTERRUPTED
    left = result.json()["probe"]["left"]
    # The customer's side was not reached: it is all still there, and said to be.
    assert {item["kind"] for item in left} == {"receipt", "supplier", "invoice", "customer"}
    assert len(_labels(left, "receipt")) == len(fake.receipts) - len(before[2])
    assert len(_labels(left, "invoice")) == len(fake.invoices) - len(before[3])


# ---------------------------------------------------------------------------- confirmation


def test_probe_writes_refuses_without_a_terminal_or_yes(run: Any, fake: FakeKashFlow) -> None:
    """Off a terminal, --probe-writes without --yes is a one-line usage error; nothing is sent."""
    result = run("--probe-writes")
    assert result.code == cli.EXIT_USAGE
    [line] = result.err.splitlines()
    assert "--yes" in line
    assert fake.calls == []


def test_probe_writes_refusal_is_json_under_json(run: Any, fake: FakeKashFlow) -> None:
    """Under --json the refusal is one JSON object with the usage code."""
    result = run("--probe-writes", "--json")
    assert result.code == cli.EXIT_USAGE
    assert result.json()["error"]["code"] == "usage"


@pytest.mark.parametrize(("answer", "sent"), [("n", False), ("y", True)])
def test_probe_writes_asks_on_a_terminal(
    run: Any, fake: FakeKashFlow, monkeypatch: pytest.MonkeyPatch, answer: str, sent: bool
) -> None:
    """On a terminal --probe-writes asks first; only "y" goes ahead."""
    monkeypatch.setattr("sys.stdin", io.StringIO(answer + "\n"))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    result = run("--probe-writes")
    assert result.code == cli.EXIT_OK
    assert "Go ahead? [y/N]" in result.err
    assert bool(fake.calls_to("InsertSupplier")) is sent
    if not sent:
        assert fake.calls == [] and "Cancelled" in result.out


def test_the_question_keeps_json_output_clean(
    run: Any, fake: FakeKashFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asked under --json, the question goes to stderr and stdout is still one JSON object."""
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    result = run("--probe-writes", "--json")
    assert result.code == cli.EXIT_OK
    assert result.json() == {"ok": True, "cancelled": True, "writes_sent": []}


# ---------------------------------------------------------------------------- refusals


def test_wrong_password_exits_3_and_names_the_api_password(
    run: Any, fake: FakeKashFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused credentials: exit 3, and the remedy explains 'Separate API password'."""
    monkeypatch.setenv(cli.ENV_PASSWORD, "not-the-password")
    result = run()
    assert result.code == cli.EXIT_AUTH
    text = " ".join(result.out.split())
    assert "Separate API password" in text
    assert "Incorrect username or password" in text


def test_api_disabled_exits_3(run: Any, fake: FakeKashFlow) -> None:
    """API access switched off: exit 3 with the check that says so."""
    fake.api_enabled = False
    result = run("--json")
    assert result.code == cli.EXIT_AUTH
    checks = {c["key"]: c["outcome"] for c in result.json()["checks"]}
    assert checks["api_enabled"] == "problem"
    assert result.json()["error"]["code"] == "permission_denied"


def test_unreachable_endpoint_is_reported(
    run: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Nothing listening at a custom endpoint: exit 2 and the endpoint check says why."""
    code = cli.main(
        [
            "doctor",
            "--json",
            "--endpoint",
            "http://127.0.0.1:9/api/service.asmx",
            "--db",
            f"sqlite:///{tmp_path / 'x.db'}",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == cli.EXIT_USAGE
    assert data["checks"][0]["key"] == "endpoint"
    assert data["checks"][0]["outcome"] == "problem"
    assert data["error"]["code"] == "connection_failed"


def test_missing_credentials_are_a_one_line_error(
    run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without KASHFLOW_PASSWORD doctor exits 2 with one line naming it."""
    monkeypatch.delenv(cli.ENV_PASSWORD)
    result = run()
    assert result.code == cli.EXIT_USAGE
    [line] = result.err.splitlines()
    assert cli.ENV_PASSWORD in line


def test_help_lists_doctor(capsys: pytest.CaptureFixture[str]) -> None:
    """``kashflow-sync --help`` lists the doctor command."""
    assert cli.main(["--help"]) == 0
    assert "doctor" in capsys.readouterr().out


# ---------------------------------------------------------------------------- stored facts


def test_facts_are_stored_for_the_connection_and_read_by_both_clients(
    run: Any, fake: FakeKashFlow, tmp_path: Path
) -> None:
    """What doctor learned is in storage per connection; both clients read it."""
    fake.readings = Readings(rate_decimals=2)
    assert probe(run).code == cli.EXIT_OK
    storage = kfs.SQLStorage(f"sqlite:///{tmp_path / 'kf.db'}")
    try:
        with kfs.KashFlowClient(fake.credentials, storage=storage) as client:
            facts = client.account_facts
        assert facts is not None and facts.rate_decimals == 2
        assert facts.sdk_version == kfs.__version__
        assert facts.writes_probed_at is not None
        other = kfs.AsyncKashFlowClient(fake.credentials, storage=storage)
        assert other.account_facts == facts
        elsewhere = kfs.KashFlowClient(fake.credentials, storage=storage, connection_id="other")
        assert elsewhere.account_facts is None
    finally:
        storage.close()


def test_a_read_only_run_keeps_what_an_earlier_probe_learned(
    run: Any, fake: FakeKashFlow, tmp_path: Path
) -> None:
    """A later read-only run refreshes read facts and keeps the probed ones with their date."""
    fake.readings = Readings(rate_decimals=2)
    first = probe(run).json()["facts"]
    assert run("--json").code == cli.EXIT_OK
    storage = kfs.SQLStorage(f"sqlite:///{tmp_path / 'kf.db'}")
    try:
        facts = kfs.KashFlowClient(fake.credentials, storage=storage).account_facts
    finally:
        storage.close()
    assert facts is not None
    assert facts.rate_decimals == 2
    assert facts.writes_probed_at is not None
    assert facts.writes_probed_at.isoformat() == first["writes_probed_at"]
    assert facts.learned_at.isoformat() > first["learned_at"]


# ---------------------------------------------------------------------------- the docs page


def test_check_your_account_page_shows_real_runs() -> None:
    """The docs page's samples are doctor runs against the fake, generated at build time."""
    import importlib.util

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("docs_hooks", root / "docs" / "_hooks.py")
    assert spec is not None and spec.loader is not None
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    page = hooks.render((root / "docs" / "doctor.md").read_text())
    assert "<!-- generated:" not in page
    assert "$ kashflow-sync doctor --endpoint http://127.0.0.1:" in page
    assert "no writes." in page and "No problems found." in page
    assert "everything the probe made is deleted again" in page
    assert "LEFT: receipt" in " ".join(page.split())
    assert '"rate_decimals": 4' in page
    assert '"credit_lines": "either"' in page and '"apply_false": "not_applied"' in page
    assert "deleted customer 'kashflow-sync doctor probe" in " ".join(page.split())
