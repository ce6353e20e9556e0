"""``kashflow-sync`` run in-process (``main(argv)``) against the fake KashFlow on loopback."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _cli_helpers import console_script, purchase, write_doc

import kashflow_sync as kfs
from kashflow_sync import cli, errors
from kashflow_sync.cli import _account as _cli_account
from kashflow_sync.cli._publish import _batch_exit_code
from kashflow_sync.testing import FakeKashFlow


@pytest.fixture
def docs(env: Path) -> Path:
    """A folder with an attachment next to where document files are written."""
    folder = env / "docs"
    folder.mkdir()
    (folder / "inv.pdf").write_bytes(b"%PDF-1.4 invoice")
    return folder


# ---------------------------------------------------------------------------- usage


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    """``--help`` prints usage with the commands and exits 0."""
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("demo", "connect", "refresh", "status", "publish"):
        assert command in out


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Running with no command exits 2 with one line naming the commands and --help."""
    assert cli.main([]) == cli.EXIT_USAGE
    [line] = capsys.readouterr().err.splitlines()
    assert "a command is required: demo, connect" in line and "--help" in line


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """``--version`` prints the package version."""
    assert cli.main(["--version"]) == 0
    assert kfs.__version__ in capsys.readouterr().out


@pytest.mark.parametrize("missing", [cli.ENV_USERNAME, cli.ENV_PASSWORD])
def test_missing_credential_variable_is_named(
    run: Any, monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    """A missing credential variable exits 2 with an error naming it."""
    monkeypatch.delenv(missing)
    result = run("connect")
    assert result.code == cli.EXIT_USAGE
    assert missing in result.err


def test_credentials_are_never_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    """There is no --password option: argparse refuses it."""
    assert cli.main(["connect", "--password", "x"]) == cli.EXIT_USAGE


def test_unknown_list_is_a_usage_error(run: Any) -> None:
    """``refresh --only`` accepts only known list names."""
    assert run("refresh", "--only", "locations").code == cli.EXIT_USAGE


# ---------------------------------------------------------------------------- connect


def test_connect_syncs_lists_and_allows_the_ip(run: Any, kashflow_fake: FakeKashFlow) -> None:
    """``connect`` runs AutoAuth with the app name, syncs every list and prints the counts."""
    result = run("connect", "--app-name", "Acme Books")
    assert result.code == 0, result.err
    assert kashflow_fake.allowed_ips == {"127.0.0.1": "Acme Books"}
    assert "suppliers" in result.out and "nominal_codes" in result.out
    assert "Connected" in result.out


def test_connect_json(run: Any) -> None:
    """``connect --json`` prints one JSON object with the per-list report."""
    result = run("connect", "--json")
    assert result.code == 0
    data = result.json()
    assert data["ok"] is True and data["status"] == "connected"
    assert data["lists"]["suppliers"]["added"] == 3


def test_wrong_password_exits_3(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """KashFlow refusing the password is exit code 3 with the remedy."""
    monkeypatch.setenv(cli.ENV_PASSWORD, "wrong")
    result = run("connect")
    assert result.code == cli.EXIT_AUTH
    assert "authentication_failed" in result.err
    assert "API password" in result.err


def test_ip_not_allowed_without_key_exits_3(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an AutoAuth key, an IP missing from the access list is exit code 3."""
    monkeypatch.delenv(cli.ENV_AUTOAUTH_KEY)
    result = run("connect", "--json")
    assert result.code == cli.EXIT_AUTH
    assert result.json()["error"]["code"] == "ip_not_allowed"


def test_output_has_no_colour_off_a_terminal(run: Any) -> None:
    """Captured (non-TTY) output carries no ANSI escape codes."""
    result = run("connect")
    assert "\x1b[" not in result.out + result.err


def test_secrets_never_printed(run: Any, kashflow_fake: FakeKashFlow) -> None:
    """Neither the password nor the AutoAuth key appears in any output."""
    result = run("connect")
    text = result.out + result.err
    assert kashflow_fake.password not in text
    assert kashflow_fake.autoauth_key is not None and kashflow_fake.autoauth_key not in text


# ---------------------------------------------------------------------------- status, refresh


def test_status_before_connect_exits_2(run: Any, env: Path) -> None:
    """``status`` before any connect says not connected, exits 2 and creates no database."""
    result = run("status")
    assert result.code == cli.EXIT_USAGE
    assert "not_connected" in result.out
    assert "kashflow-sync connect" in result.out
    assert not (env / "kf.db").exists()


def test_status_needs_no_credentials(connected: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """``status`` reads only the local database, so it works without credential variables."""
    monkeypatch.delenv(cli.ENV_USERNAME)
    monkeypatch.delenv(cli.ENV_PASSWORD)
    result = connected("status", "--json")
    assert result.code == 0
    data = result.json()
    assert data["status"] == "connected"
    assert data["lists"]["suppliers"] == {"active": 3, "total": 3}


def test_status_check_asks_kashflow(connected: Any, kashflow_fake: FakeKashFlow) -> None:
    """``status --check`` sends one request to prove the credentials still work."""
    kashflow_fake.reset_calls()
    result = connected("status", "--check")
    assert result.code == 0
    assert [c.operation for c in kashflow_fake.calls] == ["GetCurrencies"]
    assert "accepted" in result.out


def test_refresh_reports_the_diff(connected: Any, kashflow_fake: FakeKashFlow) -> None:
    """``refresh`` after changes in KashFlow reports added, changed and archived items."""
    kashflow_fake.remove_supplier("RAIL01")
    kashflow_fake.rename_nominal_code(7502, "Telephone and internet")
    kashflow_fake.add_project(4, "Shop fit-out")
    data = connected("refresh", "--json").json()
    assert data["lists"]["suppliers"]["archived"] == 1
    assert data["lists"]["nominal_codes"]["changed"] == 1
    assert data["lists"]["projects"]["added"] == 1
    suppliers = data["lists"]["suppliers"]
    assert list(suppliers) == ["added", "changed", "archived", "unchanged", "total"]


def test_refresh_only_named_lists(connected: Any, kashflow_fake: FakeKashFlow) -> None:
    """``refresh --only suppliers`` pulls just that list."""
    kashflow_fake.reset_calls()
    data = connected("refresh", "--only", "suppliers", "--json").json()
    assert list(data["lists"]) == ["suppliers"]


def test_refresh_refuses_to_archive_most_of_a_list_unless_forced(
    connected: Any, kashflow_fake: FakeKashFlow
) -> None:
    """An answer emptying 20 suppliers is refused with the counts; ``--force`` stores it."""
    kashflow_fake.seed_bulk(suppliers=17, customers=0, nominal_codes=0)
    assert connected("refresh", "--only", "suppliers").code == 0
    kashflow_fake.faults.hostile_answer("no_result", op="GetSuppliers", times=None)
    refused = connected("refresh", "--only", "suppliers", "--json")
    assert refused.code == cli.EXIT_TRANSIENT
    error = refused.json()["error"]
    assert error["code"] == "mass_archive_refused" and "20 of the 20" in error["message"]
    assert "--force" in error["remedy"]
    forced = connected("refresh", "--only", "suppliers", "--force", "--json").json()
    assert forced["lists"]["suppliers"]["archived"] == 20


def test_refresh_before_connect_exits_2(run: Any) -> None:
    """Refreshing a connection that never connected is a usage error."""
    assert run("refresh").code == cli.EXIT_USAGE


# ---------------------------------------------------------------------------- publish


def test_publish_lands_once_with_attachment_and_payment(
    connected: Any, docs: Path, kashflow_fake: FakeKashFlow
) -> None:
    """``publish`` creates the receipt, attaches the file, records the payment; exit 0."""
    result = connected("publish", str(write_doc(docs, purchase())))
    assert result.code == 0, result.out + result.err
    [receipt] = kashflow_fake.receipts
    assert receipt.customer_reference == "INV-item-1"
    assert [a.filename for a in kashflow_fake.attachments] == ["inv.pdf"]
    assert len(kashflow_fake.payments) == 1
    assert "published" in result.out


def test_publish_again_is_already_published(
    connected: Any, docs: Path, kashflow_fake: FakeKashFlow
) -> None:
    """Publishing the same file twice reports already_published and creates nothing new."""
    path = str(write_doc(docs, purchase()))
    assert connected("publish", path).code == 0
    data = connected("publish", path, "--json").json()
    assert data["documents"][0]["status"] == "already_published"
    assert len(kashflow_fake.receipts) == 1


def test_publish_json_names_numbers(connected: Any, docs: Path) -> None:
    """``publish --json`` gives each document's status, KashFlow number and id."""
    path = write_doc(docs, [purchase("a"), purchase("b")])
    data = connected("publish", str(path), "--json", "--concurrency", "2").json()
    assert data["published"] == 2 and data["failed"] == 0
    assert [d["external_id"] for d in data["documents"]] == ["a", "b"]
    assert all(d["number"] > 0 and d["kashflow_id"] > 0 for d in data["documents"])


def test_one_bad_document_fails_alone(
    connected: Any, docs: Path, kashflow_fake: FakeKashFlow
) -> None:
    """A document with problems exits 1 but the others in the batch are published."""
    bad = purchase("bad", lines=[{"net": "10.00", "vat_rate": "17.5", "category": 9999}])
    path = write_doc(docs, [purchase("good"), bad])
    data = connected("publish", str(path), "--json").json()
    assert data["published"] == 1 and data["failed"] == 1
    codes = {p["code"] for p in data["documents"][1]["error"]["problems"]}
    assert {"unknown_category", "unknown_vat_rate"} <= codes
    assert len(kashflow_fake.receipts) == 1


def test_validation_failure_exit_code(connected: Any, docs: Path) -> None:
    """A batch whose only failure is a validation problem exits 1."""
    bad = purchase("bad", location="Leeds")
    result = connected("publish", str(write_doc(docs, bad)))
    assert result.code == cli.EXIT_FAILED
    assert "unsupported_location" in result.out


def test_dry_run_validates_without_sending(
    connected: Any, docs: Path, kashflow_fake: FakeKashFlow
) -> None:
    """``--dry-run`` prints every problem with its remedy, sends nothing and exits 1."""
    bad = purchase("bad", location="Leeds", lines=[{"net": "10.00", "category": 9999}])
    path = write_doc(docs, [purchase("good"), bad])
    kashflow_fake.reset_calls()
    result = connected("publish", "--dry-run", str(path))
    assert result.code == cli.EXIT_FAILED
    assert kashflow_fake.calls == []
    assert "unsupported_location" in result.out and "unknown_category" in result.out
    assert "ready to publish" in result.out
    assert kashflow_fake.receipts == []


def test_dry_run_clean_exits_0_without_credentials(
    connected: Any, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clean dry run exits 0 and needs no credentials (it never talks to KashFlow)."""
    monkeypatch.delenv(cli.ENV_PASSWORD)
    data = connected("publish", "--dry-run", "--json", str(write_doc(docs, purchase()))).json()
    assert data["ok"] is True
    assert data["documents"][0]["problems"] == []


def test_float_money_is_refused_before_anything_is_sent(
    connected: Any, docs: Path, kashflow_fake: FakeKashFlow
) -> None:
    """A JSON float for money exits 2 naming the file and the field; nothing is sent."""
    path = docs / "float.json"
    path.write_text(json.dumps(purchase()).replace('"100.00"', "100.5"))
    kashflow_fake.reset_calls()
    result = connected("publish", str(path))
    assert result.code == cli.EXIT_USAGE
    assert "lines[0].net" in result.err and str(path) in result.err
    assert kashflow_fake.calls == []


def test_duplicate_external_ids_across_files_refused(connected: Any, docs: Path) -> None:
    """Two files with the same external_id are refused before publishing."""
    a = write_doc(docs, purchase("same"), "a.json")
    b = write_doc(docs, purchase("same"), "b.json")
    result = connected("publish", str(a), str(b))
    assert result.code == cli.EXIT_USAGE
    assert "appears twice" in result.err


def test_publish_before_connect_exits_2(run: Any, docs: Path) -> None:
    """Publishing before ``connect`` exits 2 and says to connect."""
    result = run("publish", str(write_doc(docs, purchase())))
    assert result.code == cli.EXIT_USAGE
    assert "kashflow-sync connect" in result.err


def test_kashflow_down_exits_4(connected: Any, docs: Path, kashflow_fake: FakeKashFlow) -> None:
    """When KashFlow answers 503 to everything, publish exits 4 (try again later)."""
    kashflow_fake.faults.http_error(503, times=None)
    data = connected("publish", "--json", str(write_doc(docs, purchase()))).json()
    assert data["failed"] == 1
    assert data["documents"][0]["error"]["retryable"] is True
    result = connected("publish", str(write_doc(docs, purchase(), "again.json")))
    assert result.code == cli.EXIT_TRANSIENT


def test_a_batch_with_a_document_to_fix_and_one_to_retry_exits_1(
    connected: Any, docs: Path, kashflow_fake: FakeKashFlow
) -> None:
    """Documents to fix (1) come before "run again later" (4), as docs/cli.md says."""
    kashflow_fake.faults.http_error(503, op="InsertReceipt", times=None)
    bad_line = {"description": "Paper", "net": "10.00", "vat_rate": "20", "category": 9999}
    wrong = write_doc(docs, purchase("wrong", lines=[bad_line]), "a.json")
    later = write_doc(docs, purchase("later"), "b.json")
    result = connected("publish", "--json", str(wrong), str(later))
    errors_by_id = {d["external_id"]: d["error"] for d in result.json()["documents"]}
    assert errors_by_id["wrong"]["code"] == "validation_failed"
    assert errors_by_id["later"]["retryable"] is True
    assert result.code == cli.EXIT_FAILED


def test_after_outage_publish_completes_once(
    connected: Any, docs: Path, kashflow_fake: FakeKashFlow
) -> None:
    """The same command run again after an outage publishes the document exactly once."""
    path = str(write_doc(docs, purchase()))
    kashflow_fake.faults.drop_response(op="InsertReceipt")
    kashflow_fake.faults.http_error(503, op="GetReceiptsForSupplier", times=None)
    assert connected("publish", path).code == cli.EXIT_TRANSIENT
    kashflow_fake.faults.clear()
    assert connected("publish", path).code == 0
    assert len(kashflow_fake.receipts) == 1


def test_db_from_environment(
    env: Path, kashflow_fake: FakeKashFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --db, KASHFLOW_SYNC_DB names the database."""
    db = env / "from-env.db"
    monkeypatch.setenv(cli.ENV_DB, f"sqlite:///{db}")
    assert cli.main(["connect", "--endpoint", kashflow_fake.url]) == 0
    assert db.exists()


def test_default_db_is_in_user_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The default database is a SQLite file under the user's data folder."""
    import platformdirs

    monkeypatch.setattr(platformdirs, "user_data_dir", lambda *a, **k: str(tmp_path / "data"))
    assert _cli_account.default_db_url() == f"sqlite:///{tmp_path / 'data' / 'kashflow-sync.db'}"


# ---------------------------------------------------------------------------- exit codes


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.AuthenticationError("x"), cli.EXIT_AUTH),
        (errors.IPNotAllowedError("x"), cli.EXIT_AUTH),
        (errors.PermissionDeniedError("x"), cli.EXIT_AUTH),
        (errors.NotConnectedError("x"), cli.EXIT_USAGE),
        (errors.ConfigurationError("x"), cli.EXIT_USAGE),
        (errors.StorageError("x"), cli.EXIT_USAGE),
        (errors.DocumentFileError({"a.json": []}), cli.EXIT_USAGE),
        (errors.ProtocolError("x", code="http_404", retryable=False), cli.EXIT_USAGE),
        (RuntimeError("x"), cli.EXIT_INTERNAL),
        (KeyboardInterrupt(), cli.EXIT_INTERRUPTED),
        (errors.ValidationError([]), cli.EXIT_FAILED),
        (errors.RejectedError("x"), cli.EXIT_FAILED),
        (errors.TransientError("x"), cli.EXIT_TRANSIENT),
        (errors.PublishUncertainError("x"), cli.EXIT_TRANSIENT),
        (errors.ProtocolError("x"), cli.EXIT_TRANSIENT),
        (errors.KashFlowError("x"), cli.EXIT_FAILED),
    ],
)
def test_exit_code_for_each_error(error: BaseException, code: int) -> None:
    """Each error class maps to its documented exit code."""
    assert cli.exit_code_for(error) == code


@pytest.mark.parametrize(
    ("outcomes", "code"),
    [
        ([], cli.EXIT_OK),
        ([errors.TransientError("x"), errors.RejectedError("x")], cli.EXIT_FAILED),
        ([errors.RejectedError("x"), errors.ConfigurationError("x")], cli.EXIT_USAGE),
        ([errors.ConfigurationError("x"), errors.AuthenticationError("x")], cli.EXIT_AUTH),
        ([errors.PublishUncertainError("x"), errors.TransientError("x")], cli.EXIT_TRANSIENT),
    ],
    ids=["none", "fix before retry", "usage before fix", "auth first", "retry"],
)
def test_a_batch_exits_with_its_most_pressing_failure(
    outcomes: list[errors.KashFlowError], code: int
) -> None:
    """3, then 2, then 1, then 4: whatever order the documents came in."""
    assert _batch_exit_code(outcomes) == code
    assert _batch_exit_code(outcomes[::-1]) == code


# ---------------------------------------------------------------------------- demo


def test_demo_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    """``demo`` exits 0 and walks through every step."""
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    for fragment in (
        "kashflow-sync demo",
        "127.0.0.1",
        "unsupported_location",
        "already_published",
        "Receipt 1",
        "Invoice",
        "kept, marked archived",
        "similar_contact",
        "applied        True",
        "Apply Credit",
        "'forgotten'",
        "Done",
    ):
        assert fragment in out


def test_demo_console_script() -> None:
    """The installed ``kashflow-sync demo`` exits 0 and prints the key steps, uncoloured."""
    env = {k: v for k, v in os.environ.items() if k != "FORCE_COLOR"}
    proc = subprocess.run(
        [*console_script(), "demo"], capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert "Connected" in proc.stdout
    assert "already_published" in proc.stdout
    assert "\x1b[" not in proc.stdout


# ---------------------------------------------------------------------------- dry runs


def test_dry_run_shows_gross_after_rules_and_computed_vat(connected: Any, docs: Path) -> None:
    """The dry run's totals are what will be published: VAT worked out from rules' rates."""
    doc = purchase(lines=[{"description": "Toner", "net": "120.00", "category": 7500}])
    doc["lines"].insert(0, {"net": "45.00", "vat": "9.00", "vat_rate": "20", "category": 7500})
    path = str(write_doc(docs, doc))
    no_rule = connected("publish", "--dry-run", "--json", path).json()["documents"][0]
    assert no_rule["gross"] is None  # the second line has no VAT rate: unknown, not 0
    from kashflow_sync._clients import sync_client as client_module

    with client_module.KashFlowClient(
        kfs.Credentials("u", "p"),
        storage=kfs.SQLStorage(f"sqlite:///{docs.parent / 'kf.db'}"),
    ) as client:
        client.rules.set_supplier_rule("Acme Paper Ltd", kfs.Rule(vat_rate=20))
    data = connected("publish", "--dry-run", "--json", path).json()["documents"][0]
    assert (data["net"], data["vat"], data["gross"]) == ("165.00", "33.00", "198.00")
    text = connected("publish", "--dry-run", path)
    assert "165.00 + VAT 33.00 = 198.00" in text.out


def test_dry_run_announces_a_new_supplier_with_the_closest(connected: Any, docs: Path) -> None:
    """A close name said to be new is ready to publish but announced: will create, closest."""
    path = str(write_doc(docs, purchase(supplier="Acme Papr Ltd")))
    result = connected("publish", "--dry-run", "--create-contacts", path)
    assert result.code == 0
    assert "will create supplier 'Acme Papr Ltd' (closest: Acme Paper Ltd)" in result.out
    data = connected("publish", "--dry-run", "--create-contacts", "--json", path).json()
    assert [n["code"] for n in data["documents"][0]["notices"]] == ["new_supplier"]


def test_misspelt_supplier_is_refused_naming_the_existing_one(
    connected: Any, docs: Path, kashflow_fake: FakeKashFlow
) -> None:
    """'Acme Papr Ltd' is similar_contact (exit 1), naming Acme Paper Ltd; nothing is sent."""
    path = str(write_doc(docs, purchase(supplier="Acme Papr Ltd")))
    suppliers = len(kashflow_fake.suppliers)
    result = connected("publish", path)
    assert result.code == cli.EXIT_FAILED
    said = " ".join(result.out.split())  # the message is wrapped to the terminal
    assert "similar_contact" in said and "'Acme Paper Ltd' (ACME01)" in said
    assert "kashflow-sync publish --create-contacts" in said
    assert len(kashflow_fake.suppliers) == suppliers and kashflow_fake.receipts == []


def test_create_and_no_create_contacts_exclude_each_other(connected: Any, docs: Path) -> None:
    """Saying both --create-contacts and --no-create-contacts is a usage error."""
    path = str(write_doc(docs, purchase()))
    result = connected("publish", "--create-contacts", "--no-create-contacts", path)
    assert result.code == cli.EXIT_USAGE and "not allowed with" in result.err


def test_no_create_contacts_refuses_a_new_supplier(
    connected: Any, docs: Path, kashflow_fake: FakeKashFlow
) -> None:
    """--no-create-contacts makes an unknown supplier a problem; nothing is created."""
    path = str(write_doc(docs, purchase(supplier="Acme Papr Ltd")))
    suppliers = len(kashflow_fake.suppliers)
    result = connected("publish", "--no-create-contacts", path)
    assert result.code == cli.EXIT_FAILED
    assert "unknown_supplier" in result.out and "closest: Acme Paper Ltd" in result.out
    assert len(kashflow_fake.suppliers) == suppliers and kashflow_fake.receipts == []


@pytest.mark.parametrize(
    "supplier", ["Acme Paper Ltd\u200b", "Acme\u00a0Paper Ltd"], ids=["zero-width", "nbsp"]
)
def test_look_alike_supplier_publishes_to_the_existing_one(
    connected: Any, docs: Path, kashflow_fake: FakeKashFlow, supplier: str
) -> None:
    """Invisible differences in the name publish to the existing supplier, creating none."""
    suppliers = len(kashflow_fake.suppliers)
    assert connected("publish", str(write_doc(docs, purchase(supplier=supplier)))).code == 0
    assert len(kashflow_fake.suppliers) == suppliers
    assert kashflow_fake.receipts[0].customer == "ACME01"


def test_confusable_supplier_is_refused(
    connected: Any, docs: Path, kashflow_fake: FakeKashFlow
) -> None:
    """A Cyrillic A in the supplier's name is a problem, not a new supplier."""
    suppliers = len(kashflow_fake.suppliers)
    result = connected("publish", str(write_doc(docs, purchase(supplier="\u0410cme Paper Ltd"))))
    assert result.code == cli.EXIT_FAILED and "confusable_contact" in result.out
    assert len(kashflow_fake.suppliers) == suppliers


def test_dry_run_after_a_refused_first_connect_says_connect(
    run: Any, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first connect KashFlow refused leaves nothing synced: the dry run says to connect."""
    monkeypatch.setenv(cli.ENV_PASSWORD, "wrong")
    assert run("connect").code == cli.EXIT_AUTH
    result = run("publish", "--dry-run", str(write_doc(docs, purchase())))
    assert result.code == cli.EXIT_USAGE and "kashflow-sync connect" in result.err


# ---------------------------------------------------------------------------- the CLI itself


def test_schema_command_prints_the_shipped_schema(capsys: pytest.CaptureFixture[str]) -> None:
    """``kashflow-sync schema`` prints the document format's JSON Schema."""
    assert cli.main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["$id"] == "urn:kashflow-sync:document:1"


def test_help_loads_no_heavy_module() -> None:
    """``--help`` builds every parser without importing zeep, SQLAlchemy, httpx or the client."""
    code = (
        "import sys, json, contextlib, io\n"
        "from kashflow_sync import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    cli.main(['publish', '--help'])\n"
        "heavy = ('zeep', 'sqlalchemy', 'httpx', 'kashflow_sync._clients.sync_client')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(heavy))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout) == []


def test_commands_are_registered_in_one_list() -> None:
    """Each subcommand comes from cli.COMMANDS; adding an entry adds a command."""
    names = {
        name
        for action in cli.build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
    }
    assert names == {
        "demo",
        "connect",
        "refresh",
        "status",
        "publish",
        "journal",
        "lists",
        "rules",
        "profile",
        "forget",
        "verify",
        "schema",
        "doctor",
        "fake",
    }
    # One registrar may add related commands (forget and verify come from one module).
    assert len({spec.partition(":")[0] for spec in cli.COMMANDS}) <= len(names)
    assert len(cli.COMMANDS) == len(names) - 1


def test_publish_says_which_supplier_it_will_create(
    connected: Any, docs: Path, kashflow_fake: FakeKashFlow
) -> None:
    """A real publish announces a supplier it creates; never a new supplier without a word."""
    path = str(write_doc(docs, purchase(supplier="Acme Papr Ltd")))
    result = connected("publish", "--create-contacts", path)
    assert result.code == 0
    assert "will create supplier 'Acme Papr Ltd' (closest: Acme Paper Ltd)" in result.out
    assert any(s.name == "Acme Papr Ltd" for s in kashflow_fake.suppliers)


def test_endpoint_from_the_environment(
    env: Path, kashflow_fake: FakeKashFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --endpoint, KASHFLOW_ENDPOINT names the endpoint, and status shows it."""
    monkeypatch.setenv("KASHFLOW_ENDPOINT", kashflow_fake.url)
    db = ["--db", f"sqlite:///{env / 'kf.db'}"]
    assert cli.main(["connect", *db]) == 0
    monkeypatch.delenv("KASHFLOW_ENDPOINT")
    assert cli.main(["status", "--check", *db]) == 0  # remembered from connect
