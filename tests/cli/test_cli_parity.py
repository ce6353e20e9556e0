"""The command line as a whole tool: ``lists``, ``rules`` and profiles, through the installed
console script against the fake on loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _cli_helpers import purchase, write_doc

from kashflow_sync.testing import FakeKashFlow

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

CREDENTIALS = ("KASHFLOW_USERNAME", "KASHFLOW_PASSWORD", "KASHFLOW_AUTOAUTH_KEY")
ALL_ACCOUNT = (*CREDENTIALS, "KASHFLOW_SYNC_DB")

# ---------------------------------------------------------------------------- lists


def test_lists_without_a_name_counts_every_list(connected_sh: Any) -> None:
    """``lists`` gives each list's active and total counts, from the database alone."""
    shown = connected_sh("lists", "--json", unset=CREDENTIALS)
    assert shown.code == 0, shown.err
    lists = shown.json()["lists"]
    assert lists["nominal_codes"] == {"active": 9, "total": 10}
    assert set(lists) >= {"suppliers", "customers", "vat_rates", "bank_accounts", "currencies"}
    table = connected_sh("lists", unset=CREDENTIALS)
    assert table.code == 0 and "purchase_payment_methods" in table.out


@pytest.mark.parametrize("spelling", ["vat_rates", "VAT rates", "vat-rates", "vat"])
def test_lists_takes_friendly_names(connected_sh: Any, spelling: str) -> None:
    """A list is found by its SDK name or a friendly spelling; its items as JSON."""
    shown = connected_sh("lists", spelling, "--json", unset=CREDENTIALS)
    assert shown.code == 0, shown.err
    data = shown.json()
    assert data["list"] == "vat_rates"
    assert {item["rate"] for item in data["items"]} == {"20", "5", "0", "-1"}


def test_lists_shows_one_list_as_a_table(connected_sh: Any) -> None:
    """``lists nominal codes`` prints the chart of accounts, archived ones too unless --active."""
    every = connected_sh("lists", "nominal codes")
    assert every.code == 0, every.err
    assert "7500" in every.out and "Printing postage and stationery" in every.out
    active = connected_sh("lists", "categories", "--active", "--json").json()["items"]
    assert len(active) == 9 and not any(item["archived"] for item in active)


def test_lists_misspelt_name_suggests_the_list(connected_sh: Any) -> None:
    """A misspelt list name is a usage error naming the list meant."""
    shown = connected_sh("lists", "vatrats")
    assert shown.code == 2
    assert "did you mean 'vat_rates'?" in shown.err and "\n" not in shown.err.strip()


def test_lists_of_a_connection_never_connected_is_refused(sh: Any) -> None:
    """No synced lists: ``lists`` says the connection is not connected (exit 2)."""
    shown = sh("lists", "suppliers", "--json", "--db", "sqlite:///:memory:")
    assert shown.code == 2
    assert shown.json()["error"]["code"] == "not_connected"


# ---------------------------------------------------------------------------- rules


def test_rules_set_show_delete(connected_sh: Any) -> None:
    """A rule set from the shell is stored, merged on a second set, shown, then deleted."""
    first = connected_sh(
        "rules", "set", "supplier", "Acme Paper Ltd", "--category", "7500", "--vat-rate", "20",
        "--payment-method", "credit card", "--bank-account", "1200", "--due-days", "30",
    )  # fmt: skip
    assert first.code == 0, first.err
    again = connected_sh("rules", "set", "supplier", "Acme Paper Ltd", "--project", "1")
    assert again.code == 0, again.err
    [shown] = connected_sh("rules", "show", "--json").json()["rules"]
    assert shown["kind"] == "supplier" and shown["contact"] == "Acme Paper Ltd"
    assert shown["rule"] == {
        "category": 7500,
        "vat_rate": "20",
        "project": 1,
        "payment_method": "credit card",
        "bank_account": 1200,
        "description": None,
        "due_days": 30,
        "check_duplicates": True,
    }
    assert "payment method" in connected_sh("rules", "show", "supplier", "acme paper ltd").out
    deleted = connected_sh("rules", "delete", "supplier", "Acme Paper Ltd", "--json")
    assert deleted.json() == {
        "ok": True,
        "kind": "supplier",
        "contact": "Acme Paper Ltd",
        "deleted": True,
    }
    assert connected_sh("rules", "show", "--json").json()["rules"] == []


def test_rule_set_from_the_shell_fills_documents(connected_sh: Any, tmp_path: Path) -> None:
    """A document leaving its category, VAT rate and payment blank validates once the
    supplier's rule supplies them."""
    doc = purchase()
    for line in doc["lines"]:
        del line["category"], line["vat_rate"]
    del doc["lines"][1]["vat"]
    doc["payment"] = {"paid_on": "2026-11-03"}
    write_doc(tmp_path, doc)
    (tmp_path / "inv.pdf").write_bytes(b"%PDF-1.4\n")
    before = connected_sh("publish", "--dry-run", "doc.json")
    assert before.code == 1 and "missing_category" in before.out + before.err
    connected_sh(
        "rules", "set", "supplier", "Acme Paper Ltd", "--category", "7500", "--vat-rate", "20",
        "--payment-method", "Credit card", "--bank-account", "1200",
    )  # fmt: skip
    after = connected_sh("publish", "--dry-run", "doc.json")
    assert after.code == 0, after.out + after.err


@pytest.mark.parametrize(
    ("options", "code"),
    [
        (("--category", "9999"), "unknown_category"),
        (("--category", "4000"), "wrong_category_kind"),
        (("--vat-rate", "17.5"), "unknown_vat_rate"),
        (("--project", "99"), "unknown_project"),
        (("--payment-method", "Credit crad"), "unknown_payment_method"),
        (("--bank-account", "1201"), "unknown_bank_account"),
    ],
)
def test_rule_checked_against_the_lists(
    connected_sh: Any, options: tuple[str, ...], code: str
) -> None:
    """A rule field the synced lists do not hold active is refused (invalid_rule, exit 2),
    naming the problem; nothing is stored."""
    shown = connected_sh("rules", "set", "supplier", "Acme Paper Ltd", *options, "--json")
    assert shown.code == 2
    error = shown.json()["error"]
    assert error["code"] == "invalid_rule" and code in error["message"]
    assert connected_sh("rules", "show", "--json").json()["rules"] == []


def test_rule_error_suggests_the_name_meant(connected_sh: Any) -> None:
    """A misspelt payment method is answered with the one meant, on one line."""
    shown = connected_sh("rules", "set", "supplier", "Acme", "--payment-method", "Credit crad")
    assert shown.code == 2 and "Did you mean 'Credit card'?" in shown.err
    assert len(shown.err.strip().splitlines()) == 1


def test_rule_no_check_stores_before_connecting(sh: Any) -> None:
    """--no-check stores a rule with no lists to check it against (before connect)."""
    stored = sh("rules", "set", "customer", "Bloggs & Co", "--category", "4000", "--no-check")
    assert stored.code == 0, stored.err
    refused = sh("rules", "set", "customer", "Bloggs & Co", "--category", "4000")
    assert refused.code == 2 and "not_connected" in refused.err


# ---------------------------------------------------------------------------- profiles


@pytest.fixture
def keyring_env(tmp_path: Path) -> dict[str, str]:
    """A config file and a file-backed keyring of the test's own (never the real keyring)."""
    return {
        "KASHFLOW_SYNC_CONFIG": str(tmp_path / "conf" / "config.toml"),
        "PYTHON_KEYRING_BACKEND": "_file_keyring.FileKeyring",
        "KFS_TEST_KEYRING": str(tmp_path / "keyring.json"),
        "PYTHONPATH": str(Path(__file__).parent),
    }


def test_profile_with_secrets_in_the_keyring(
    sh: Any, kashflow_fake: FakeKashFlow, keyring_env: dict[str, str], tmp_path: Path
) -> None:
    """``profile add --store-secrets`` keeps the secrets in the keyring, the rest in the file;
    ``--profile`` then connects and checks with no KashFlow variable in the environment."""
    creds = kashflow_fake.credentials
    db = f"sqlite:///{tmp_path / 'books.db'}"
    added = sh(
        "profile", "add", "books", "--username", creds.username, "--db", db,
        "--connection-id", "books-1", "--endpoint", kashflow_fake.url, "--store-secrets",
        **keyring_env,
    )  # fmt: skip
    assert added.code == 0, added.err
    config = Path(keyring_env["KASHFLOW_SYNC_CONFIG"]).read_text()
    assert creds.password not in config and (creds.autoauth_key or "?") not in config
    assert tomllib.loads(config)["profiles"]["books"] == {
        "username": creds.username,
        "db": db,
        "connection_id": "books-1",
        "endpoint": kashflow_fake.url,
    }
    assert creds.password in Path(keyring_env["KFS_TEST_KEYRING"]).read_text()

    connected = sh("connect", "--profile", "books", "--json", unset=ALL_ACCOUNT, **keyring_env)
    assert connected.code == 0, connected.err
    assert connected.json()["connection_id"] == "books-1"
    status = sh(
        "status", "--profile", "books", "--check", "--json", unset=ALL_ACCOUNT, **keyring_env
    )
    assert status.code == 0, status.err
    assert status.json()["checked"] is True and status.json()["database"] == db
    listed = sh("profile", "list", "--json", **keyring_env).json()["profiles"]
    assert [p["name"] for p in listed] == ["books"]
    assert creds.password not in json.dumps(listed)


def test_profile_secrets_from_the_environment(
    connected_sh: Any, kashflow_fake: FakeKashFlow, keyring_env: dict[str, str], tmp_path: Path
) -> None:
    """A profile without keyring secrets takes the password from the environment; options
    given on the command line win over the profile's."""
    sh = connected_sh
    db = str(tmp_path / "kf.db")
    assert sh("profile", "add", "env", "--db", f"sqlite:///{db}", **keyring_env).code == 0
    status = sh("status", "--profile", "env", "--check", "--json", **keyring_env)
    assert status.code == 0, status.err
    assert status.json()["checked"] is True
    other = sh("status", "--profile", "env", "--connection-id", "other", "--json", **keyring_env)
    assert other.json()["connection_id"] == "other"
    missing = sh("status", "--profile", "env", "--check", unset=CREDENTIALS, **keyring_env)
    assert missing.code == 2 and "KASHFLOW_USERNAME" in missing.err


def test_misspelt_profile_suggests_one(sh: Any, keyring_env: dict[str, str]) -> None:
    """``--profile`` naming no profile is a one-line configuration error with the near name."""
    assert sh("profile", "add", "books", "--connection-id", "b", **keyring_env).code == 0
    shown = sh("status", "--profile", "boks", "--json", **keyring_env)
    assert shown.code == 2
    error = shown.json()["error"]
    assert error["code"] == "invalid_profile" and "'books'" in error["remedy"]


def test_secret_in_the_config_file_is_refused(sh: Any, keyring_env: dict[str, str]) -> None:
    """A profile holding a password in the file is refused, not used."""
    path = Path(keyring_env["KASHFLOW_SYNC_CONFIG"])
    path.parent.mkdir()
    path.write_text('[profiles.bad]\nusername = "u"\npassword = "hunter2"\n')
    shown = sh("status", "--profile", "bad", **keyring_env)
    assert shown.code == 2
    assert "invalid_profile" in shown.err and "secrets never go in the file" in shown.err
    assert "hunter2" not in shown.err + shown.out
