"""Every failure through the real ``kashflow-sync`` entry point, in a subprocess.

Each one must end in one line on stderr (what happened and what to do), the documented exit
code and no traceback; under ``--json`` stdout holds one valid JSON object with ``"ok": false``
and the error's code. The fake KashFlow runs in this process, on loopback.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from _cli_helpers import console_script, one_line_purchase, write_doc

from _cli_run import Run
from kashflow_sync import cli
from kashflow_sync.testing import FakeKashFlow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _assert_one_line(done: Run, code: int, *fragments: str) -> None:
    assert done.code == code, done.err + done.out
    assert "Traceback" not in done.err + done.out
    lines = done.err.splitlines()
    assert len(lines) == 1, done.err
    for fragment in fragments:
        assert fragment in lines[0]


def _assert_json(done: Run, code: int, error_code: str) -> dict[str, Any]:
    assert done.code == code, done.err + done.out
    assert done.err == ""
    data: dict[str, Any] = done.json()
    assert data["ok"] is False
    assert data["error"]["code"] == error_code and data["error"]["remedy"]
    return data


def _write(folder: Path, data: Any, name: str = "doc.json") -> str:
    return str(write_doc(folder, data, name))


# Failures that need no account at all: (argv, exit code, error code, fragment of the line).
OFFLINE = [
    (["status", "--db", "/tmp/kf.db"], 2, "database_url_invalid", "not a usable database URL"),
    (
        ["status", "--db", f"postgresql://jane:pw@127.0.0.1:{_free_port()}/kf"],
        2,
        "database_unavailable",
        "Connection refused",
    ),
    (["status", "--endpoint", "127.0.0.1:9"], 2, "invalid_endpoint", "not an http(s) URL"),
    (["publish", "--concurrency", "0", "x.json"], 2, "usage", "--concurrency"),
    (["refresh", "--only", "locations"], 2, "usage", "invalid choice"),
    (["status"], 2, "not_connected", "kashflow-sync connect"),
]


@pytest.mark.parametrize(("argv", "code", "error_code", "fragment"), OFFLINE)
def test_offline_failures_are_one_line(
    sh: Any, argv: list[str], code: int, error_code: str, fragment: str
) -> None:
    """Bad database URLs, endpoints and arguments: one line, exit 2, no traceback."""
    done = sh(*argv)
    if argv == ["status"]:  # not connected is a report on stdout, not an error line
        assert done.code == code and "Traceback" not in done.err and fragment in done.out
    else:
        _assert_one_line(done, code, fragment, f"({error_code})")
    assert "pw" not in done.err


@pytest.mark.parametrize(("argv", "code", "error_code", "fragment"), OFFLINE)
def test_offline_failures_are_json_under_json(
    sh: Any, argv: list[str], code: int, error_code: str, fragment: str
) -> None:
    """The same failures under --json: one JSON object with ok false and the code."""
    _assert_json(sh(*argv, "--json"), code, error_code)


def test_status_json_never_says_ok_with_a_failing_exit(sh: Any) -> None:
    """``status --json`` before connecting says ok false and exits 2."""
    data = _assert_json(sh("status", "--json"), 2, "not_connected")
    assert data["status"] == "not_connected"


def test_missing_password_names_the_variable(sh: Any) -> None:
    """A missing credential variable is named, with exit 2."""
    done = sh("connect", unset=("KASHFLOW_PASSWORD",))
    _assert_one_line(done, 2, "KASHFLOW_PASSWORD", "(missing_environment_variable)")


def test_refused_endpoint_names_url_and_cause(sh: Any) -> None:
    """Nothing listening at a custom endpoint: the URL and 'refused', a configuration error."""
    url = f"http://127.0.0.1:{_free_port()}/api/service.asmx"
    done = sh("connect", "--endpoint", url)
    _assert_one_line(done, 2, url, "refused", "(connection_failed)", "--endpoint")
    assert "ConnectError" not in done.err


def test_endpoint_that_is_not_soap_is_a_configuration_error(
    sh: Any, kashflow_fake: FakeKashFlow
) -> None:
    """A URL on the right server but the wrong path answers 404: exit 2, check the endpoint."""
    wrong = kashflow_fake.url.replace("/api/service.asmx", "/nothing-here")
    _assert_one_line(sh("connect", "--endpoint", wrong), 2, "HTTP 404", "--endpoint")


def test_wrong_password_is_exit_3_with_cli_remedy(sh: Any, kashflow_fake: FakeKashFlow) -> None:
    """Wrong password: exit 3 and a remedy in the command line's words."""
    done = sh("connect", "--endpoint", kashflow_fake.url, KASHFLOW_PASSWORD="wrong")
    _assert_one_line(done, 3, "(authentication_failed)", "Export the right", "connect")
    assert "client.reconnect" not in done.err


def test_broken_document_file_is_one_line_per_problem(sh: Any, tmp_path: Path) -> None:
    """A float for money in a file: one line naming file, field and remedy; exit 2."""
    path = tmp_path / "float.json"
    path.write_text(json.dumps(one_line_purchase()).replace('"100.00"', "100.5"))
    _assert_one_line(sh("publish", "--dry-run", str(path)), 2, str(path), "lines[0].net", '"100.5"')


def test_five_broken_files_all_reported(sh: Any, tmp_path: Path) -> None:
    """A folder of five broken files: every problem of every file in one run, exit 2."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    _write(folder, {**one_line_purchase("a"), "issue_date": "2026-02-30"}, "1.json")
    _write(folder, {**one_line_purchase("b"), "totl": 1, "lines": [{"net": "1e3"}]}, "2.json")
    (folder / "3.json").write_text("{not json")
    _write(folder, [one_line_purchase("c"), {"supplier": "x"}], "4.json")
    _write(folder, {**one_line_purchase("d"), "attachment": "missing.pdf"}, "5.json")
    done = sh("publish", str(folder), "--json")
    data = _assert_json(done, 2, "invalid_document_file")
    problems = {(Path(f).name, p["field"]) for f, ps in data["error"]["files"].items() for p in ps}
    assert problems == {
        ("1.json", "issue_date"),
        ("2.json", "totl"),
        ("2.json", "lines[0].net"),
        ("3.json", ""),
        ("4.json", "[1].external_id"),
        ("4.json", "[1].issue_date"),
        ("4.json", "[1].lines"),
        ("5.json", "attachment.path"),
    }
    text = sh("publish", str(folder))
    assert text.code == 2 and "Traceback" not in text.err
    assert len(text.err.splitlines()) == 9  # one per problem, and the count


# ---------------------------------------------------------------------------- with an account


def test_endpoint_is_remembered_after_connect(
    connected_sh: Any, kashflow_fake: FakeKashFlow
) -> None:
    """``status --check`` after ``connect --endpoint URL`` asks that endpoint, not KashFlow's."""
    kashflow_fake.reset_calls()
    done = connected_sh("status", "--check", "--json")
    assert done.code == 0, done.err
    assert done.json()["endpoint"] == kashflow_fake.url
    assert [c.operation for c in kashflow_fake.calls] == ["GetCurrencies"]


def test_one_wrong_password_heals(connected_sh: Any, tmp_path: Path) -> None:
    """After a refused password: dry runs still work, publish says needs_reconnect (exit 3)."""
    _assert_one_line(connected_sh("connect", KASHFLOW_PASSWORD="wrong"), 3, "authentication")
    path = _write(tmp_path, one_line_purchase())
    dry = connected_sh("publish", "--dry-run", path)
    assert dry.code == 0, dry.err + dry.out
    assert "ready to publish" in dry.out
    status = connected_sh("status", "--json")
    assert _assert_json(status, 3, "needs_reconnect")["status"] == "needs_reconnect"
    done = connected_sh("publish", path)
    _assert_one_line(done, 3, "(needs_reconnect)", "dry runs still work", "kashflow-sync connect")
    assert connected_sh("connect").code == 0  # the right password again: healed
    assert connected_sh("publish", path).code == 0


def test_ctrl_c_mid_publish_lists_what_was_published(
    connected_sh: Any, kashflow_fake: FakeKashFlow, tmp_path: Path, sh: Any
) -> None:
    """Ctrl-C while the first receipt is in flight: it finishes, the rest are not sent; 130."""
    path = _write(
        tmp_path,
        [one_line_purchase("first"), one_line_purchase("second"), one_line_purchase("third")],
    )
    kashflow_fake.faults.delay(2.0, op="InsertReceipt")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KASHFLOW")}
    creds = kashflow_fake.credentials
    env.update(
        KASHFLOW_USERNAME=creds.username,
        KASHFLOW_PASSWORD=creds.password,
        KASHFLOW_SYNC_DB=f"sqlite:///{tmp_path / 'kf.db'}",
        NO_COLOR="1",
    )
    proc = subprocess.Popen(
        [*console_script(), "publish", "--concurrency", "1", path],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 30
    while not kashflow_fake.faults.fired:  # the first receipt is now being held by the fake
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == cli.EXIT_INTERRUPTED, err
    assert "Traceback" not in err
    [line] = [line for line in err.splitlines() if "Interrupted" in line]
    assert "1 published (first)" in line and "2 not started (second, third)" in line
    assert "again is safe" in line
    assert [r.customer_reference for r in kashflow_fake.receipts] == ["INV-first"]
    again = connected_sh("publish", path, "--json")
    assert again.code == 0
    assert [d["status"] for d in again.json()["documents"]] == [
        "already_published",
        "published",
        "published",
    ]
