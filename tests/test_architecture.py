"""The package's shape, enforced: layers that only look down, no import cycles, a pure engine.

Every import counts: at the top of a module, under ``if TYPE_CHECKING:`` and inside functions.
A cycle hidden under ``TYPE_CHECKING`` or in a function body still says two modules depend on
each other. docs/architecture.md describes the layers below; change both together.
"""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import NamedTuple

import pytest

import kashflow_sync

PACKAGE = Path(kashflow_sync.__file__).parent
NAME = "kashflow_sync"
#: The package's own ``__init__``, as :data:`LAYERS` names it.
ROOT = "__init__"

#: The layers, lowest first. A module may import from its own layer and the layers below, never
#: from a layer above. A name covers a module or a sub-package (relative to ``kashflow_sync``);
#: the longest name that matches a module places it.
LAYERS: tuple[tuple[str, ...], ...] = (
    # 0 foundation: the error tree, settings, limits, logging context, the retry policy, the
    #   one ``with`` protocol of what must be closed, and traces and metrics.
    (
        "errors",
        "_error_codes",
        "_problem",
        "_config",
        "_limits",
        "_logcontext",
        "_retry",
        "_closing",
        "_telemetry",
    ),
    # 1 values: documents and their validation, the account's lists and facts, the journal's
    #   records and states, the storage keys and converter, and the host-facing Protocols.
    ("_documents", "_account", "_journal", "_convert", "_storage_keys", "typing"),
    # 2 the two outsides: KashFlow's SOAP API and the host's database.
    ("soap", "storage"),
    # 3 the pure flows: decisions as effects, no I/O.
    ("_engine",),
    # 4 the clients that drive the flows, and their view of the journal.
    ("_clients",),
    # 5 the public face: ``kashflow_sync/__init__.py`` re-exports from below.
    (ROOT,),
    # 6 applications of the public face.
    ("_doctor", "celery"),
    # 7 the outermost shells: the command line, and what the package ships for tests.
    ("cli", "testing"),
)

#: Rooms in one layer that must not import each other either.
INDEPENDENT: tuple[tuple[str, str], ...] = (("soap", "storage"), ("_doctor", "celery"))

#: How many private modules may sit loose at the top of the package before a room is due.
MAX_LOOSE_PRIVATE_MODULES = 12

#: What the engine must never import, directly or through the package modules it uses.
FORBIDDEN = {"httpx", "zeep", "sqlalchemy", "threading", "time", "asyncio", "socket", "lxml"}


class Import(NamedTuple):
    """One import statement's target, as the importing module's source says it."""

    importer: str  # dotted, relative to the package ("_engine.publish", "__init__")
    imported: str  # a package module (relative, as importer) or an outside top-level name
    inside: bool  # whether *imported* is a module of the package
    line: int
    runtime: bool  # False under ``if TYPE_CHECKING:``


@cache
def _modules() -> dict[str, Path]:
    """Every module of the package by relative dotted name (a package by its ``__init__``)."""
    found: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts) or ROOT] = path
    return found


def _nearest_module(dotted: str) -> str:
    """The package module *dotted* (absolute) names, or the package holding the name."""
    relative = dotted.removeprefix(NAME).removeprefix(".")
    while relative and relative not in _modules():
        relative = relative.rpartition(".")[0]
    return relative or ROOT


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """The ids of nodes under ``if TYPE_CHECKING:`` (never imported at run time)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(child) for child in ast.walk(node)}
    return skipped


@cache
def _imports_of(module: str) -> tuple[Import, ...]:
    """Every import in *module*: top level, under ``TYPE_CHECKING`` and inside functions."""
    path = _modules()[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    typing_only = _type_checking_nodes(tree)
    is_package = path.name == "__init__.py"
    here = [NAME, *([] if module == ROOT else module.split("."))]
    found: list[Import] = []

    def add(target: str, node: ast.stmt) -> None:
        runtime = id(node) not in typing_only
        if target == NAME or target.startswith(NAME + "."):
            inside = _nearest_module(target)
            if inside != module:
                found.append(Import(module, inside, True, node.lineno, runtime))
        else:
            found.append(Import(module, target.split(".")[0], False, node.lineno, runtime))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here if is_package else here[:-1]
                base = base[: len(base) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                # ``from . import errors`` imports the module ``errors``; ``from .x import y``
                # imports the module ``x`` (or ``x.y`` when that is a module).
                add(f"{source}.{alias.name}", node)
    return tuple(found)


def _package_imports() -> Iterator[Import]:
    for module in _modules():
        yield from (i for i in _imports_of(module) if i.inside)


def _layer_name(module: str) -> str:
    """The :data:`LAYERS` entry that places *module* (the longest name that covers it)."""
    names = [n for layer in LAYERS for n in layer if module == n or module.startswith(n + ".")]
    if not names:
        raise LookupError(f"{module} is in no layer: add it (or its room) to LAYERS")
    return max(names, key=len)


def _layer(module: str) -> int:
    name = _layer_name(module)
    return next(i for i, layer in enumerate(LAYERS) if name in layer)


def _cycle() -> list[str] | None:
    """One import cycle among the package's modules, or None."""
    graph: dict[str, set[str]] = {m: set() for m in _modules()}
    for imp in _package_imports():
        graph[imp.importer].add(imp.imported)
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


# -- the walker sees every kind of import -------------------------------------------------


def test_the_walker_sees_imports_under_type_checking_and_inside_functions() -> None:
    """The guard is not empty: it finds a TYPE_CHECKING import and one inside a function."""
    by_errors = {(i.imported, i.runtime) for i in _imports_of("errors")}
    assert ("_problem", False) in by_errors
    in_function = {i.imported for i in _imports_of("_doctor.run")}
    assert {"_clients.sync_client", ROOT} <= in_function
    assert ("_journal.entry", True) in {(i.imported, i.runtime) for i in _imports_of("_convert")}


# -- no cycles ------------------------------------------------------------------------------


def test_the_import_graph_has_no_cycles() -> None:
    """No module imports, directly or through others, a module that imports it back."""
    cycle = _cycle()
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


# -- layers ---------------------------------------------------------------------------------


def test_every_module_has_a_layer() -> None:
    """Each module of the package is placed in a layer (a new room needs a decision)."""
    unplaced = []
    for module in _modules():
        try:
            _layer(module)
        except LookupError:
            unplaced.append(module)
    assert not unplaced


def test_every_layer_name_exists() -> None:
    """LAYERS names only rooms and modules that exist (a rename cannot empty a layer)."""
    names = {n for layer in LAYERS for n in layer}
    assert names <= set(_modules())


def test_imports_only_look_down() -> None:
    """No module imports from a layer above its own (see LAYERS)."""
    upward = [
        f"{i.importer} (layer {_layer(i.importer)}) imports {i.imported} "
        f"(layer {_layer(i.imported)}), line {i.line}"
        for i in _package_imports()
        if _layer(i.imported) > _layer(i.importer)
    ]
    assert not upward


@pytest.mark.parametrize("pair", INDEPENDENT, ids="|".join)
def test_independent_rooms_do_not_import_each_other(pair: tuple[str, str]) -> None:
    """Rooms side by side in a layer (SOAP and storage; doctor and Celery) stay apart."""
    crossing = [
        f"{i.importer} imports {i.imported}, line {i.line}"
        for i in _package_imports()
        if {_layer_name(i.importer), _layer_name(i.imported)} == set(pair)
    ]
    assert not crossing


def test_few_private_modules_lie_loose_at_the_top() -> None:
    """At most a dozen private modules sit at the top of the package; the rest live in rooms."""
    loose = sorted(p.name for p in PACKAGE.glob("_*.py") if p.name != "__init__.py")
    assert len(loose) <= MAX_LOOSE_PRIVATE_MODULES, loose


# -- the engine is pure ---------------------------------------------------------------------


def _engine_closure() -> dict[str, set[str]]:
    """Every package module the engine reaches at run time, with what each imports from outside.

    The package's ``__init__`` files only name things lazily, so they are not followed.
    """
    todo = sorted(m for m in _modules() if m == "_engine" or m.startswith("_engine."))
    seen: dict[str, set[str]] = {}
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        runtime = [i for i in _imports_of(module) if i.runtime]
        seen[module] = {i.imported for i in runtime if not i.inside}
        todo.extend(
            i.imported
            for i in runtime
            if i.inside and _modules()[i.imported].name != "__init__.py" and i.imported not in seen
        )
    return seen


def test_the_closure_covers_the_flows_and_what_they_use() -> None:
    """The walk reaches the flows and the pure layers they call (so the guard is not empty)."""
    expected = {"_engine.publish", "_engine.listsync", "soap.wire", "_account.lists"}
    assert expected <= _engine_closure().keys()


@pytest.mark.parametrize("module", sorted(_engine_closure()))
def test_module_imports_nothing_that_does_io_or_keeps_time(module: str) -> None:
    """No engine module, nor a package module it uses, imports an I/O or clock library."""
    assert not (_engine_closure()[module] & FORBIDDEN)


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
    "module", sorted(m for m in _modules() if m == "_engine" or m.startswith("_engine."))
)
def test_engine_module_reads_no_clock_and_draws_no_ids(module: str) -> None:
    """An engine module neither reads the machine's clock nor draws random ids itself."""
    outside = {i.imported for i in _imports_of(module) if not i.inside}
    assert not (outside & CHANCE)
    path = _modules()[module]
    reads = [
        ast.unparse(node)
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, ast.Attribute)
        and node.attr in CLOCK_READS
        and isinstance(node.value, ast.Name)
        and node.value.id in ("datetime", "date")
    ]
    assert reads == []
