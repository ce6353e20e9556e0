"""Griffe extension: Sphinx roles in docstrings rendered as links, not as raw ``:class:`` text.

The package's docstrings use Sphinx roles (``:class:`~kashflow_sync.SQLStorage```), which read
well in ``help()`` and IDEs. MkDocs renders Markdown, so this extension rewrites each role before
mkdocstrings renders the docstring: a role naming a documented public object becomes an autorefs
cross-reference (``[SQLStorage][kashflow_sync.SQLStorage]``); any other (a private module, a
method named without its class, another library) becomes inline code. A ``~`` shows the last
name only, as in Sphinx.
"""

from __future__ import annotations

import importlib
import re
from functools import cache
from typing import Any

import griffe

_ROLE = re.compile(
    r":(?:class|func|meth|attr|data|mod|exc|obj|const):`(?P<tilde>~?)(?P<path>[^`]+)`"
)

#: Modules whose ``__all__`` names are rendered in the API reference.
_DOCUMENTED = ("kashflow_sync", "kashflow_sync.errors", "kashflow_sync.typing")


@cache
def _public() -> dict[str, str]:
    """Last name -> documented dotted path, for every object the API reference renders."""
    found: dict[str, str] = {}
    for name in _DOCUMENTED:
        module = importlib.import_module(name)
        for member in getattr(module, "__all__", []):
            found.setdefault(member, f"{name}.{member}")
        found.setdefault(name.rpartition(".")[2], name)
    testing = "kashflow_sync.testing"
    for member in ("FakeKashFlow", "Faults"):
        found.setdefault(member, f"{testing}.{member}")
    for module in (*_DOCUMENTED[1:], testing):
        found[module] = module
    return found


def _target(path: str) -> str | None:
    """The documented identifier *path* stands for, or None."""
    public = _public()
    if path in public.values():
        return path
    parts = path.split(".")
    if path.startswith("kashflow_sync") and parts[-1] in public:
        return public[parts[-1]]  # kashflow_sync._account.items.ItemList -> kashflow_sync.ItemList
    if len(parts) >= 2 and parts[-2] in public and path.startswith("kashflow_sync"):
        return f"{public[parts[-2]]}.{parts[-1]}"  # a member of a documented class
    return None


def rewrite(text: str) -> str:
    """*text* with every Sphinx role turned into a cross-reference or inline code."""

    def replace(match: re.Match[str]) -> str:
        path = match["path"].strip()
        shown = path.rpartition(".")[2] if match["tilde"] else path
        target = _target(path)
        return f"[`{shown}`][{target}]" if target else f"`{shown}`"

    return _ROLE.sub(replace, text)


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles in every docstring griffe loads; hide private base classes."""

    def on_instance(self, *, obj: griffe.Object, **_kwargs: Any) -> None:
        """Rewrite the roles of *obj*'s docstring; drop private bases ("Bases: _Base")."""
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)
        if isinstance(obj, griffe.Class):
            obj.bases = [b for b in obj.bases if not str(b).rpartition(".")[2].startswith("_")]
