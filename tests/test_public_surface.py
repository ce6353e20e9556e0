"""The public surface a user meets, pinned: the command line's commands and options, and the
names each public module exports.

``tests/public_surface.json`` is the snapshot. A change to it is a change to the public API or
the CLI: make it on purpose, regenerate the file with ``python tests/test_public_surface.py``
and say so in the changelog. (``kashflow_sync.__all__`` itself is pinned, with docstrings, in
``test_exported_members.py``.)
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

SNAPSHOT = Path(__file__).with_name("public_surface.json")

#: Public modules whose exported names are pinned (besides ``kashflow_sync`` itself).
MODULES = [
    "kashflow_sync.celery",
    "kashflow_sync.cli",
    "kashflow_sync.errors",
    "kashflow_sync.storage",
    "kashflow_sync.testing",
    "kashflow_sync.testing.conformance",
    "kashflow_sync.testing.plugin",
    "kashflow_sync.typing",
]


def cli_surface() -> dict[str, dict[str, list[str]]]:
    """Every command of ``kashflow-sync`` (space-separated path) with its options and arguments."""
    from kashflow_sync.cli import build_parser

    def walk(parser: argparse.ArgumentParser, path: str) -> dict[str, dict[str, list[str]]]:
        found = {
            path: {
                "options": sorted(o for a in parser._actions for o in a.option_strings),
                "positionals": [
                    a.dest
                    for a in parser._actions
                    if not a.option_strings and not isinstance(a, argparse._SubParsersAction)
                ],
            }
        }
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found.update(walk(sub, f"{path} {name}"))
        return found

    return walk(build_parser(), "kashflow-sync")


def module_surface() -> dict[str, list[str]]:
    """The names each public module exports (its ``__all__``, else its public attributes)."""
    surface = {}
    for name in MODULES:
        module = importlib.import_module(name)
        exported = getattr(module, "__all__", None)
        if exported is None:
            exported = [n for n in vars(module) if not n.startswith("_")]
        surface[name] = sorted(exported)
    return surface


def current() -> dict[str, Any]:
    """The surface as the code has it now."""
    return {"cli": cli_surface(), "modules": module_surface()}


def test_the_command_line_is_as_pinned() -> None:
    """Commands and options of ``kashflow-sync`` are those of the snapshot, no more, no fewer."""
    assert cli_surface() == json.loads(SNAPSHOT.read_text())["cli"]


def test_public_modules_export_what_is_pinned() -> None:
    """Each public module exports exactly the pinned names."""
    assert module_surface() == json.loads(SNAPSHOT.read_text())["modules"]


if __name__ == "__main__":  # regenerate the snapshot after a deliberate change
    SNAPSHOT.write_text(json.dumps(current(), indent=1, sort_keys=True) + "\n")
    sys.stdout.write(f"wrote {SNAPSHOT}\n")
