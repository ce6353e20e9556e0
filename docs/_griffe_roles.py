"""Griffe extension for the API reference: Sphinx roles as links, default values as values.

The package's docstrings use Sphinx roles (``:class:`~kashflow_sync.SQLStorage```), which read
well in ``help()`` and IDEs. MkDocs renders Markdown, so this extension rewrites each role before
mkdocstrings renders the docstring: a role naming a documented public object becomes an autorefs
cross-reference (``[SQLStorage][kashflow_sync.SQLStorage]``); any other (a private module, a
method named without its class, another library) becomes inline code. A ``~`` shows the last
name only, as in Sphinx.

Signatures name their defaults by constant (``timeout: float = DEFAULT_TIMEOUT``), which tells
a reader nothing: a parameter default or attribute value that names a module-level constant is
replaced by the constant's own value as written in the source (``60.0``,
``timedelta(minutes=5)``), following a constant that names another.

A class that inherits its ``__init__`` from a generic base (``KashFlowClient(BaseClient[
httpx.Client])``) shows it with the base's type variables replaced by the class's own types
(``http_client: httpx.Client | None``, not ``H | None``).
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from functools import cache
from typing import Any

import griffe

_ROLE = re.compile(
    r":(?:class|func|meth|attr|data|mod|exc|obj|const):`(?P<tilde>~?)(?P<path>[^`]+)`"
)

#: Modules whose ``__all__`` names are rendered in the API reference. A name exported by more
#: than one is documented under the first (``ErrorCode`` under ``kashflow_sync.errors``,
#: ``Storage`` under ``kashflow_sync``).
_DOCUMENTED = (
    "kashflow_sync.errors",
    "kashflow_sync",
    "kashflow_sync.typing",
    "kashflow_sync.storage",
)

#: How many constants naming constants are followed before giving up (a cycle is a bug).
_MAX_HOPS = 5


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
    for module in (*_DOCUMENTED, testing):
        if module != "kashflow_sync":
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


def constant_value(expr: Any, loader: griffe.GriffeLoader) -> Any:
    """The value of the module-level constant *expr* names, as written; *expr* if none.

    Only a bare name (``DEFAULT_TIMEOUT``) that resolves to a module attribute with a value is
    replaced; a class, a function or an enum member stays as written.
    """
    for _ in range(_MAX_HOPS):
        if not isinstance(expr, griffe.ExprName):
            return expr
        try:
            target = loader.modules_collection[expr.canonical_path]
            if isinstance(target, griffe.Alias):
                target = target.final_target
        except (KeyError, ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
            return expr
        if (
            not isinstance(target, griffe.Attribute)
            or not isinstance(target.parent, griffe.Module)
            or target.value is None
        ):
            return expr
        expr = target.value
    return expr


def _items(subscript: griffe.ExprSubscript) -> list[Any]:
    """The expressions between a subscript's brackets: ``X[A, B]`` -> [A, B]."""
    inside = subscript.slice
    return list(inside.elements) if isinstance(inside, griffe.ExprTuple) else [inside]


def _type_variables(cls: griffe.Class) -> list[str]:
    """The names of *cls*'s type variables, from its ``Generic[...]`` base."""
    for base in cls.bases:
        if isinstance(base, griffe.ExprSubscript) and str(base.left) in {
            "Generic",
            "typing.Generic",
        }:
            return [str(item) for item in _items(base)]
    return []


def substitute(expr: Any, types: dict[str, Any]) -> Any:
    """*expr* with each name in *types* replaced by its expression."""
    if isinstance(expr, griffe.ExprName):
        return types.get(expr.name, expr)
    if isinstance(expr, list):
        return [substitute(item, types) for item in expr]
    if isinstance(expr, griffe.Expr) and dataclasses.is_dataclass(expr):
        changes = {
            field.name: substitute(getattr(expr, field.name), types)
            for field in dataclasses.fields(expr)
            if field.name != "parent"
        }
        return dataclasses.replace(expr, **changes)
    return expr


def bind_inherited_init(cls: griffe.Class, loader: griffe.GriffeLoader) -> None:
    """Give *cls* its generic base's ``__init__`` with the base's type variables bound."""
    if "__init__" in cls.members:
        return
    for base in cls.bases:
        if not isinstance(base, griffe.ExprSubscript):
            continue
        try:
            parent = loader.modules_collection[base.canonical_path]
            if isinstance(parent, griffe.Alias):
                parent = parent.final_target
        except (KeyError, ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
            continue
        init = parent.members.get("__init__") if isinstance(parent, griffe.Class) else None
        names = _type_variables(parent) if isinstance(parent, griffe.Class) else []
        if not isinstance(init, griffe.Function) or not names:
            continue
        args = _items(base)
        if len(args) != len(names):
            continue
        types = dict(zip(names, args, strict=True))
        bound = griffe.Function(
            "__init__",
            lineno=init.lineno,
            endlineno=init.endlineno,
            parameters=griffe.Parameters(
                *(
                    griffe.Parameter(
                        p.name,
                        annotation=substitute(p.annotation, types),
                        kind=p.kind,
                        default=p.default,
                        docstring=p.docstring,
                    )
                    for p in init.parameters
                )
            ),
            returns=init.returns,
            docstring=init.docstring,
        )
        cls.set_member("__init__", bound)
        return


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles in every docstring; show constants' values as defaults."""

    def on_instance(self, *, obj: griffe.Object, **_kwargs: Any) -> None:
        """Rewrite the roles of *obj*'s docstring."""
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)

    def on_class(self, *, cls: griffe.Class, loader: griffe.GriffeLoader, **_: Any) -> None:
        """Bind the type variables of an ``__init__`` inherited from a generic base."""
        bind_inherited_init(cls, loader)

    def on_function(self, *, func: griffe.Function, loader: griffe.GriffeLoader, **_: Any) -> None:
        """Replace each parameter default naming a constant by the constant's value."""
        for parameter in func.parameters:
            parameter.default = constant_value(parameter.default, loader)

    def on_attribute(
        self, *, attr: griffe.Attribute, loader: griffe.GriffeLoader, **_: Any
    ) -> None:
        """Replace a class attribute's value naming a constant by the constant's value."""
        if isinstance(attr.parent, griffe.Class):
            attr.value = constant_value(attr.value, loader)
