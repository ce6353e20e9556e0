"""The docs: runnable examples run, generated tables cover every code, the site builds strictly.

Convention for runnable examples: a ```python block preceded by the line ``<!-- run -->``
runs. The marked blocks of one page run in order in one namespace (like a doctest session),
in a temporary directory, against the fake KashFlow they start themselves. Unmarked python
blocks (real-account snippets) must still compile.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from _support import requirement_closure
from kashflow_sync import errors
from kashflow_sync._documents.validate import PROBLEM_CODES
from kashflow_sync._error_codes import CATALOGUE, HTTP_STATUS_FAMILIES

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

_BLOCK = re.compile(r"(?P<marker><!-- run -->\n)?```python\n(?P<code>.*?)\n```", re.S)


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def python_blocks(page: Path) -> list[tuple[bool, str]]:
    """``(marked to run, code)`` for every python block of *page*."""
    return [(bool(m["marker"]), m["code"]) for m in _BLOCK.finditer(page.read_text())]


def _hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "_hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RUNNABLE = [p for p in pages() if any(run for run, _ in python_blocks(p))]


@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: str(p.relative_to(DOCS)))
def test_marked_examples_run(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every ``<!-- run -->`` block of the page runs, in order, without error."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for index, (run, code) in enumerate(python_blocks(page)):
        if run:
            exec(compile(code, f"{page.name}[block {index}]", "exec"), namespace)


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_every_python_block_compiles(page: Path) -> None:
    """Python blocks that do not run (real-account snippets) are at least valid Python."""
    for index, (_run, code) in enumerate(python_blocks(page)):
        compile(code, f"{page.name}[block {index}]", "exec")


def test_enough_examples_run() -> None:
    """Most guide pages carry runnable examples (the convention is in use, not forgotten)."""
    marked = sum(run for p in pages() for run, _ in python_blocks(p))
    assert len(RUNNABLE) >= 8 and marked >= 15


def _errors_page() -> str:
    return str(_hooks().render((DOCS / "errors.md").read_text()))


@pytest.mark.parametrize("code", sorted(PROBLEM_CODES))
def test_every_problem_code_is_in_the_catalogue(code: str) -> None:
    """Each validation problem code appears in the rendered error catalogue."""
    assert f"`{code}`" in _errors_page()


def _error_classes() -> list[type[errors.KashFlowError]]:
    return [
        obj
        for name in errors.__all__
        if isinstance(obj := getattr(errors, name), type) and issubclass(obj, errors.KashFlowError)
    ]


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda c: c.__name__)
def test_every_error_class_is_in_the_catalogue(cls: type[errors.KashFlowError]) -> None:
    """Each error class appears with its default code and remedy."""
    page = _errors_page()
    assert f"`{cls.__name__}`" in page
    assert f"`{cls.default_code}`" in page
    assert " ".join(cls.default_remedy.split()) in page


def _specific_codes() -> list[errors.ErrorCode]:
    """The catalogue's codes other than the error classes' own (those have their own table)."""
    own = {cls.default_code for cls in _error_classes()}
    return [code for code in errors.ErrorCode if code not in own]


@pytest.mark.parametrize("code", list(errors.ErrorCode), ids=str)
def test_every_error_code_is_documented(code: errors.ErrorCode) -> None:
    """Each code of the ErrorCode catalogue appears in the rendered error catalogue."""
    assert f"`{code}`" in _errors_page()


@pytest.mark.parametrize("code", _specific_codes(), ids=str)
def test_every_specific_code_has_its_row(code: errors.ErrorCode) -> None:
    """Each specific code's row says its class, meaning and remedy, as the catalogue does."""
    entry = CATALOGUE[code]
    row = f"| `{code}` | {_cell(entry.error)} | {_cell(entry.meaning)} | {_cell(code.remedy)} |"
    assert row in _errors_page().splitlines()


def test_error_code_table_holds_every_specific_code_once() -> None:
    """The generated table lists each specific code once, in the catalogue's order, and the
    ``http_<status>`` families."""
    table = _hooks().error_codes_table().splitlines()[2:]
    listed = [row.split(" | ")[0].removeprefix("| ") for row in table]
    families = [codes for codes, _entry, _after in HTTP_STATUS_FAMILIES]
    assert [c for c in listed if c not in families] == [f"`{c}`" for c in _specific_codes()]
    assert all(f in listed for f in families)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def test_exit_codes_table_lists_all_five() -> None:
    """The generated exit-code table has the five documented codes."""
    table = _hooks().exit_codes_table()
    for code in range(5):
        assert f"| `{code}` |" in table


def _journal_moves() -> list[tuple[str, str, str]]:
    from kashflow_sync._journal.states import ROLES, TRANSITIONS

    return [
        (role, source, target)
        for role in ROLES
        for source, targets in TRANSITIONS[role].items()
        for target in targets or ["(stays)"]
    ]


@pytest.mark.parametrize("move", _journal_moves(), ids="{0[0]}:{0[1]}->{0[2]}".format)
def test_every_journal_move_is_on_the_publishing_page(move: tuple[str, str, str]) -> None:
    """Each move of the journal's transition table is a row of the rendered publishing page."""
    hooks = _hooks()
    role, source, target = move
    page = str(hooks.render((DOCS / "publishing.md").read_text()))
    to = target if target == "(stays)" else f"`{target}`"
    assert f"| {hooks._ROLE_WORDS[role]} | `{source}` | {to} |" in page


def test_the_publishing_page_draws_every_move_of_a_document() -> None:
    """The page's state diagram has an arrow for each move a document's entry may make."""
    from kashflow_sync._journal.states import TRANSITIONS

    page = str(_hooks().render((DOCS / "publishing.md").read_text()))
    diagram = page.split("```mermaid\n", 1)[1].split("```", 1)[0]
    arrows = {
        tuple(line.split(":", 1)[0].split(" --> "))
        for line in diagram.splitlines()
        if " --> " in line and "[*]" not in line
    }
    moves = {
        (source.strip(), target.strip())
        for source, targets in TRANSITIONS["document"].items()
        for target in targets
        if target != source
    }
    assert {(s.strip(), t.strip()) for s, t in arrows} == moves
    assert "[*] --> claimed" in diagram


def test_unknown_generated_block_is_an_error() -> None:
    """A mistyped generated-block name fails the build instead of vanishing."""
    with pytest.raises(ValueError, match="unknown generated block"):
        _hooks().render("<!-- generated: nope -->")


#: Run in the build's process: mkdocs as its command line runs it, then, on the way out, the
#: top-level modules it imported written to the file named by argv[1].
_BUILD_AND_RECORD = """
import atexit, runpy, sys
record = sys.argv.pop(1)
def write():
    with open(record, "w") as out:
        out.write("\\n".join(sorted({name.partition(".")[0] for name in sys.modules})))
atexit.register(write)
sys.argv[0] = "mkdocs"
runpy.run_module("mkdocs", run_name="__main__")
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    """The docs built with ``mkdocs build --strict`` (needs the dev extra), and the top-level
    modules the build imported.

    No ``--quiet``: with it, mkdocs 1.6 drops the warnings before ``--strict`` counts them, and
    a build with unresolved references passes.
    """
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    folder = tmp_path_factory.mktemp("site")
    record = folder.parent / f"{folder.name}-modules.txt"
    command = ["build", "--strict", "--site-dir", str(folder)]
    proc = subprocess.run(
        [sys.executable, "-c", _BUILD_AND_RECORD, str(record), *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr
    return folder, set(record.read_text().split())


@pytest.fixture(scope="module")
def site(built: tuple[Path, set[str]]) -> Path:
    """The folder of the strictly built site."""
    return built[0]


def _visible_text(page: Path) -> str:
    """The words a reader sees on a built page: tags, attributes and scripts removed."""
    html = page.read_text()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_mkdocs_build_is_strict_clean(site: Path) -> None:
    """``mkdocs build --strict`` succeeds and renders the guide and the reference."""
    assert (site / "errors" / "index.html").exists()
    assert (site / "logging" / "index.html").exists()


def test_built_docs_have_no_raw_rest_roles(site: Path) -> None:
    """No page shows a Sphinx role such as :class: as text: they render as links or code."""
    role = re.compile(r":(class|meth|func|data|mod|attr|exc|obj):")
    found = {
        str(page.relative_to(site)): role.findall(_visible_text(page))
        for page in site.rglob("*.html")
    }
    assert {page: roles for page, roles in found.items() if roles} == {}


def test_api_reference_shows_no_private_names(site: Path) -> None:
    """The API reference shows no private names (_LAZY, __all__, _module paths)."""
    # A leading "/" is a URL path (the fake's /_fake/ control API), not a Python name.
    private = re.compile(r"(?<![\w./])_{1,2}[A-Za-z]\w*|\b\w+\._[a-z]\w*|__all__")
    allowed = {"__init__", "__enter__", "__exit__", "__iter__", "__len__", "__getitem__"}
    allowed |= {"__cause__"}  # Python's own attribute, named where errors keep their cause
    shown: dict[str, set[str]] = {}
    for page in (site / "reference").rglob("*.html"):
        names = set(private.findall(_visible_text(page))) - allowed
        if names:
            shown[str(page.relative_to(site))] = names
    assert shown == {}


def test_roles_become_links_to_documented_objects(site: Path) -> None:
    """A role naming a public object (re-exported from a private module) links to its entry."""
    html = (site / "reference" / "client" / "index.html").read_text()
    assert 'href="../storage/#kashflow_sync.MemoryStorage"' in html
    assert 'href="../rules/#kashflow_sync.RuleResolver"' in html


def _words(page: Path) -> str:
    return " ".join(_visible_text(page).split())


def test_client_page_lists_what_the_client_inherits(site: Path) -> None:
    """KashFlowClient's page shows the methods and properties it inherits from its private
    base class (the daily API: validate, resolve, lists, rules...), each with its own entry."""
    html = (site / "reference" / "client" / "index.html").read_text()
    for name in (
        "validate",
        "resolve",
        "publish_history",
        "status",
        "lists",
        "rules",
        "account_facts",
        "disconnect",
        "connect",
        "publish",
    ):
        assert f'id="kashflow_sync.KashFlowClient.{name}"' in html, name
    async_html = (site / "reference" / "async-client" / "index.html").read_text()
    for name in ("validate", "resolve", "publish_history", "lists", "rules", "connect"):
        assert f'id="kashflow_sync.AsyncKashFlowClient.{name}"' in async_html, name


def test_signatures_show_default_values_not_constant_names(site: Path) -> None:
    """Defaults read as values (``timeout = 60.0``), never as a constant's name, and every
    parameter of the client is in its parameter table."""
    from kashflow_sync._config import DEFAULT_TIMEOUT

    words = _words(site / "reference" / "client" / "index.html")
    assert f"timeout : float = {DEFAULT_TIMEOUT}" in words
    assert "publish_lease : timedelta = timedelta ( minutes = 5 )" in words
    # The base class's type variable bound: the sync client takes an httpx.Client.
    assert "http_client : Client | None = None" in words
    async_words = _words(site / "reference" / "async-client" / "index.html")
    assert "http_client : AsyncClient | None = None" in async_words
    table = words.split("Parameters:", 1)[1].split("Raises:", 1)[0]
    for parameter in ("timeout", "settle_time", "ledger_cache_ttl", "max_answer_bytes"):
        assert f" {parameter} " in table, parameter
    assert "timeout float seconds for each whole KashFlow call" in table
    # A constant a module exports (testing's DEFAULT_SUCCESS_NOTE) may be named in prose.
    from kashflow_sync import testing

    shown = {
        str(page.relative_to(site)): set(re.findall(r"\bDEFAULT_[A-Z_]+", _words(page)))
        - set(testing.__all__)
        for page in (site / "reference").rglob("*.html")
    }
    assert {page: names for page, names in shown.items() if names} == {}


def test_storage_plumbing_is_listed_once(site: Path) -> None:
    """The Storage protocol's methods have one entry each, on the Storage page; the storages
    shipped with the package show only what is their own."""
    pages = list((site / "reference").rglob("*.html"))
    anchors = [
        anchor
        for page in pages
        for anchor in re.findall(r'id="([\w.]+\.claim_journal)"', page.read_text())
    ]
    assert anchors == ["kashflow_sync.Storage.claim_journal"]


def test_every_public_name_has_a_reference_entry(site: Path) -> None:
    """Every name of ``kashflow_sync.__all__`` links from the overview to its own entry."""
    import kashflow_sync

    html = (site / "reference" / "index.html").read_text()
    for name in set(kashflow_sync.__all__) - {"__version__", "errors"}:
        home = "kashflow_sync.errors" if name in errors.__all__ else "kashflow_sync"
        assert re.search(rf'href="[\w./-]*#{re.escape(home)}\.{name}"', html), name


def test_docs_build_from_the_dev_extra_alone(built: tuple[Path, set[str]]) -> None:
    """Every installed distribution the build imported is required by ``kashflow-sync[dev]``
    (so ``pip install -e '.[dev]'`` alone builds the docs)."""
    from importlib import metadata

    from packaging.utils import canonicalize_name

    _site, modules = built
    # setuptools' .pth file imports _distutils_hack into every process of a venv that has it.
    modules = modules - {"_distutils_hack"}
    owners = metadata.packages_distributions()
    used = {canonicalize_name(d) for m in modules for d in owners.get(m, [])}
    needed = requirement_closure("kashflow-sync", {"dev"})
    assert {"mkdocs", "mkdocstrings", "mkdocstrings-python"} <= used
    assert used - needed == set()


#: The docs toolchain: each bounded in the dev extra (docs/_griffe_roles.py and
#: docs/_templates lean on griffe's and mkdocstrings-python's APIs).
DOCS_TOOLCHAIN = (
    "mkdocs",
    "mkdocs-material",
    "mkdocs-autorefs",
    "mkdocstrings",
    "mkdocstrings-python",
    "griffelib",
)


@pytest.mark.parametrize("name", DOCS_TOOLCHAIN)
def test_docs_toolchain_is_bounded(name: str) -> None:
    """The dev extra names each tool of the docs build with a lower and an upper bound."""
    from importlib import metadata

    from packaging.requirements import Requirement

    declared = [Requirement(r) for r in metadata.requires("kashflow-sync") or []]
    dev = [r for r in declared if r.marker is not None and r.marker.evaluate({"extra": "dev"})]
    [req] = [r for r in dev if r.name == name]
    operators = {spec.operator for spec in req.specifier}
    assert ">=" in operators and "<" in operators, str(req)


def test_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's Python example runs as printed."""
    monkeypatch.chdir(tmp_path)
    [(_run, code)] = python_blocks(ROOT / "README.md")
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})


def test_readme_quick_start_is_exactly_two_commands() -> None:
    """The README's Quick start is one code block holding the two documented command lines."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```[a-z]*\n(.*?)```", section, re.S)
    assert len(blocks) == 1
    lines = [line for line in blocks[0].splitlines() if line.strip()]
    assert lines == [
        "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/kashflow-sync demo",
        "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && "
        ".venv/bin/python -m pytest -n 2",
    ]


def test_mass_archive_threshold_in_the_docs_is_the_engines() -> None:
    """The docs say "ten" where the engine's private constant decides; they must agree."""
    from kashflow_sync._engine.listsync import MASS_ARCHIVE_MIN_ITEMS

    words = {10: "ten"}
    lists_page = (Path(__file__).parent.parent / "docs" / "lists.md").read_text()
    assert f"holding at least {words.get(MASS_ARCHIVE_MIN_ITEMS, '?')} refuses" in lists_page
