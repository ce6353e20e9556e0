"""Every example in examples/ runs against the fake with no arguments and exits 0."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from _support import requirement_closure
from kashflow_sync.testing.conformance import StorageConformance

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

#: Every Python example, as a user finds them.
SCRIPTS = sorted(EXAMPLES.rglob("*.py"))


def run_example(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd or EXAMPLES.parent,
    )


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("publish_one_receipt.py", ["as receipt 1", "TKT-88213.pdf", "already_published"]),
        ("bulk_publish_folder.py", ["5 documents", "already_published", "Leeds Taxis"]),
        ("custom_storage_and_rules.py", ["keyword rule", "DictStorage", "VAT 4.00"]),
        (
            "fastapi_app.py",
            ["inbox-0001 (posted again): HTTP 200", "already_published", "receipts in the fake: 4"],
        ),
    ],
)
def test_example_script_runs(script: str, expected: list[str], tmp_path: Path) -> None:
    """The script exits 0 with no arguments and prints what it promises."""
    proc = run_example(str(EXAMPLES / script), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for fragment in expected:
        assert fragment in proc.stdout


def test_plugin_example_passes_under_pytest(tmp_path: Path) -> None:
    """examples/test_with_plugin.py passes when run with pytest, as a host project would."""
    proc = run_example(
        "-m", "pytest", str(EXAMPLES / "test_with_plugin.py"), "-q", "-p", "no:cacheprovider"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "4 passed" in proc.stdout


def test_plugin_example_runs_as_a_script() -> None:
    """``python examples/test_with_plugin.py`` runs the same tests through pytest.main."""
    proc = run_example(str(EXAMPLES / "test_with_plugin.py"))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_bulk_example_reports_a_bad_folder(tmp_path: Path) -> None:
    """Given a folder with a document that has problems, the bulk example exits 1."""
    shutil.copy(EXAMPLES / "documents" / "sale-bloggs.json", tmp_path)
    (tmp_path / "bad.json").write_text(
        json.dumps(
            {
                "external_id": "bad-1",
                "supplier": "Acme Paper Ltd",
                "reference": "X-1",
                "issue_date": "2026-11-02",
                "lines": [{"net": "5.00", "vat_rate": "17.5", "category": 9999}],
            }
        )
    )
    proc = run_example(str(EXAMPLES / "bulk_publish_folder.py"), str(tmp_path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "unknown_category" in proc.stdout or "nominal code 9999" in proc.stdout


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sample_documents_all_load() -> None:
    """Every sample document file in examples/documents loads with the CLI's loader."""
    from kashflow_sync.cli import load_documents

    ids = [
        d.external_id for p in sorted(EXAMPLES.glob("documents/*.json")) for d in load_documents(p)
    ]
    assert len(ids) == len(set(ids)) == 5


class TestExampleDictStorage(StorageConformance):
    """The example's DictStorage passes the storage conformance suite."""

    @pytest.fixture
    def storage(self) -> Iterator[object]:
        yield _load("custom_storage_and_rules").DictStorage()


def test_fastapi_example_serves_under_uvicorn(tmp_path: Path) -> None:
    """``uvicorn examples.fastapi_app:app``, as the example's docstring runs it (credentials,
    endpoint and journal from the environment; here the fake's): a posted document publishes,
    and posting it again answers already_published."""
    import os
    import re
    import time

    import httpx

    from kashflow_sync import cli
    from kashflow_sync.testing import FakeKashFlow

    uvicorn = Path(sys.executable).with_name("uvicorn")
    posted = _load("fastapi_app")._as_posted(EXAMPLES / "documents" / "acme-paper-INV-1001.json")
    with FakeKashFlow.serve() as fake:
        env = {
            **os.environ,
            cli.ENV_USERNAME: fake.username,
            cli.ENV_PASSWORD: fake.password,
            cli.ENV_AUTOAUTH_KEY: fake.autoauth_key or "",
            "KASHFLOW_ENDPOINT": fake.url,
            "KASHFLOW_SYNC_DB": f"sqlite:///{tmp_path / 'kashflow.db'}",
        }
        log = tmp_path / "uvicorn.log"
        with log.open("w") as out:
            server = subprocess.Popen(
                [str(uvicorn), "examples.fastapi_app:app", "--port", "0"],
                cwd=EXAMPLES.parent,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 60
            while not (found := re.search(r"running on (http://\S+)", log.read_text())):
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            url = found.group(1)
            answers = [httpx.post(f"{url}/documents", json=posted[0], timeout=60) for _ in "12"]
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert [a.status_code for a in answers] == [200, 200], log.read_text()
    assert [a.json()["status"] for a in answers] == ["published", "already_published"]
    assert len(fake.receipts) == 1


def _imported_distributions(script: Path) -> set[str]:
    """The installed distributions whose modules *script* imports (the standard library and
    the example's own sibling modules left out)."""
    import ast
    from importlib import metadata

    from packaging.utils import canonicalize_name

    modules: set[str] = set()
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.partition(".")[0])
    siblings = {p.stem for p in script.parent.glob("*.py")}
    owners = metadata.packages_distributions()
    return {canonicalize_name(d) for m in modules - siblings for d in owners.get(m, [])}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_names_the_extra_it_needs(script: Path) -> None:
    """Each example's docstring says what to install; what it imports is in exactly that."""
    import ast

    doc = ast.get_docstring(ast.parse(script.read_text())) or ""
    if "``examples`` extra" in doc:
        allowed = requirement_closure("kashflow-sync", {"examples"})
    else:
        assert "nothing beyond kashflow-sync itself" in " ".join(doc.split()), doc
        allowed = requirement_closure("kashflow-sync", set())
    assert _imported_distributions(script) - allowed == set()
