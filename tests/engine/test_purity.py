"""The engine is pure: no module of it, nor any module it pulls in, does I/O or keeps time."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import kashflow_sync

PACKAGE = Path(kashflow_sync.__file__).parent
ENGINE = PACKAGE / "_engine"
#: What the engine must never import, directly or through the package modules it uses.
FORBIDDEN = {"httpx", "zeep", "sqlalchemy", "threading", "time", "asyncio", "socket", "lxml"}


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:`` (never imported at run time)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(child) for child in ast.walk(node)}
    return [node for node in ast.walk(tree) if id(node) not in skipped]


def _imports(path: Path) -> tuple[set[str], set[Path]]:
    """(outside top-level names, package module files) that *path* imports at run time.

    The package's ``__init__`` files only name things lazily, so they are not followed.
    """
    outside: set[str] = set()
    inside: set[Path] = set()
    package_parts = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    for node in _runtime_nodes(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            outside |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and (node.module or "").split(".")[0] != "kashflow_sync":
                outside.add((node.module or "").split(".")[0])
                continue
            if node.level == 0:
                target = tuple((node.module or "").split("."))
            else:
                base = package_parts[: len(package_parts) - node.level + 1]
                target = base + tuple(node.module.split(".")) if node.module else base
            for candidate in [target, *((*target, a.name) for a in node.names)]:
                found = _module_file(candidate)
                if found.exists() and found.name != "__init__.py":
                    inside.add(found)
    return outside, inside


def _module_file(parts: tuple[str, ...]) -> Path:
    path = PACKAGE.parent.joinpath(*parts)
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _closure() -> dict[Path, set[str]]:
    """Every package module the engine reaches, with what each imports from outside."""
    todo = sorted(ENGINE.glob("*.py"))
    seen: dict[Path, set[str]] = {}
    while todo:
        path = todo.pop()
        if path in seen or not path.exists():
            continue
        outside, inside = _imports(path)
        seen[path] = outside
        todo.extend(inside - seen.keys())
    return seen


def test_the_closure_covers_the_flows_and_what_they_use() -> None:
    """The walk reaches the flows and the pure layers they call (so the guard is not empty)."""
    names = {p.relative_to(PACKAGE).as_posix() for p in _closure()}
    expected = {"_engine/publish.py", "_engine/listsync.py", "soap/wire.py", "_account/lists.py"}
    assert expected <= names


@pytest.mark.parametrize(
    "path", sorted(_closure()), ids=lambda p: p.relative_to(PACKAGE).as_posix()
)
def test_module_imports_nothing_that_does_io_or_keeps_time(path: Path) -> None:
    """No engine module, nor a package module it uses, imports an I/O or clock library."""
    assert not (_closure()[path] & FORBIDDEN)


def test_importing_the_engine_loads_no_io_library() -> None:
    """Importing every engine module in a fresh interpreter loads no httpx, zeep, lxml or SQL."""
    code = (
        "import sys, kashflow_sync._engine.publish, kashflow_sync._engine.listsync;"
        "print(sorted(m for m in ('httpx', 'zeep', 'lxml', 'sqlalchemy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


#: What hands out time or chance: the engine gets both from its caller (settings' clock, new_id).
CHANCE = {"uuid", "random", "secrets"}
#: Reading the machine's clock: ``datetime.now``, ``datetime.utcnow``, ``date.today``...
CLOCK_READS = {"now", "utcnow", "today", "fromtimestamp"}


@pytest.mark.parametrize(
    "path", sorted(ENGINE.glob("*.py")), ids=lambda p: p.relative_to(PACKAGE).as_posix()
)
def test_engine_module_reads_no_clock_and_draws_no_ids(path: Path) -> None:
    """An engine module neither reads the machine's clock nor draws random ids itself."""
    outside, _inside = _imports(path)
    assert not (outside & CHANCE)
    reads = [
        ast.unparse(node)
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, ast.Attribute)
        and node.attr in CLOCK_READS
        and isinstance(node.value, ast.Name)
        and node.value.id in ("datetime", "date")
    ]
    assert reads == []
