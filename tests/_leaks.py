"""Where a secret could hide after an error: the scan the secrets tests run.

A secret is looked for in any case (``PA55-WORD`` is the password ``Pa55-word`` echoed by a
server that upper-cases what it repeats).

:func:`error_leaks` looks at everything a host app could print, log, pickle or poke at:
``str``/``repr``/``detail``/``remedy`` of the error and of every exception chained to it (cause
and context, recursively), the attributes of those exceptions (an httpx error's request holds
the whole envelope), the traceback rendered with local variables, and the locals of the SDK's
own frames in it, where no httpx request or response may remain reachable.
:func:`object_leaks` walks any object (a storage) the same way.
"""

from __future__ import annotations

import logging
import traceback
import types
from collections.abc import Iterable
from typing import Any

import httpx

import kashflow_sync as kfs
from kashflow_sync._clients.drivers import AsyncDriver, SyncDriver
from kashflow_sync._config import Secrets
from kashflow_sync.soap.caller import AsyncKashFlowService, KashFlowService
from kashflow_sync.testing import FakeKashFlow

#: Objects that hold the credentials by design (and show them in no repr): not walked into.
HOLDERS: tuple[type, ...] = (
    kfs.Credentials,
    Secrets,
    kfs.KashFlowClient,
    kfs.AsyncKashFlowClient,
    KashFlowService,
    AsyncKashFlowService,
    SyncDriver,
    AsyncDriver,
    httpx.Client,
    httpx.AsyncClient,
    FakeKashFlow,
)
_OPAQUE = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType)
_SDK_FILES = "/kashflow_sync/"
_FAKE_FILES = "/kashflow_sync/testing/"


class _Walk:
    def __init__(self, secrets: Iterable[str], *, max_depth: int) -> None:
        self.secrets = [s for s in secrets if s]
        self.max_depth = max_depth
        self.seen: set[int] = set()
        self.found: list[str] = []

    def text(self, where: str, value: str) -> None:
        # In any case: a server may echo a secret upper- or lower-cased.
        folded = value.casefold()
        for secret in self.secrets:
            if secret.casefold() in folded:
                self.found.append(f"{where} holds a secret")

    def visit(self, obj: Any, where: str, depth: int = 0) -> None:
        if obj is None or id(obj) in self.seen or depth > self.max_depth:
            return
        self.seen.add(id(obj))
        if isinstance(obj, str):
            self.text(where, obj)
            return
        if isinstance(obj, (bytes, bytearray, memoryview)):
            self.text(where, bytes(obj).decode("utf-8", "replace"))
            return
        if isinstance(obj, (httpx.Request, httpx.Response)):
            self.found.append(f"{where} is a reachable {type(obj).__name__}")
            request = obj if isinstance(obj, httpx.Request) else obj.request
            self.text(f"{where}.content", request.content.decode("utf-8", "replace"))
            return
        if isinstance(obj, HOLDERS + _OPAQUE):
            return
        if isinstance(obj, BaseException):
            self.exception(obj, where, depth)
            return
        if isinstance(obj, types.TracebackType):
            self.traceback(obj, where, depth)
            return
        if isinstance(obj, dict):
            for key, value in list(obj.items()):
                self.visit(key, f"{where}[key]", depth + 1)
                self.visit(value, f"{where}[{key!r}]", depth + 1)
            return
        if isinstance(obj, (list, tuple, set, frozenset)):
            for index, value in enumerate(list(obj)):
                self.visit(value, f"{where}[{index}]", depth + 1)
            return
        self.attributes(obj, where, depth)

    def attributes(self, obj: Any, where: str, depth: int) -> None:
        names: list[str] = list(getattr(obj, "__dict__", {}))
        for cls in type(obj).__mro__:
            slots = cls.__dict__.get("__slots__", ())
            names.extend([slots] if isinstance(slots, str) else slots)
        for name in names:
            try:
                value = object.__getattribute__(obj, name)
            except AttributeError:
                continue
            self.visit(value, f"{where}.{name}", depth + 1)

    def exception(self, exc: BaseException, where: str, depth: int) -> None:
        self.text(f"str({where})", str(exc))
        self.text(f"repr({where})", repr(exc))
        self.visit(exc.args, f"{where}.args", depth + 1)
        self.attributes(exc, where, depth)
        self.visit(exc.__cause__, f"{where}.__cause__", depth + 1)
        self.visit(exc.__context__, f"{where}.__context__", depth + 1)
        self.visit(exc.__traceback__, f"{where}.__traceback__", depth + 1)

    def traceback(self, tb: types.TracebackType, where: str, depth: int) -> None:
        step: types.TracebackType | None = tb
        while step is not None:
            code = step.tb_frame.f_code
            if _SDK_FILES in code.co_filename and _FAKE_FILES not in code.co_filename:
                for name, value in step.tb_frame.f_locals.items():
                    self.visit(value, f"{where} frame {code.co_name}:{name}", depth + 1)
            step = step.tb_next


def error_leaks(exc: BaseException, secrets: Iterable[str], *, max_depth: int = 8) -> list[str]:
    """Every place a secret (or an httpx request/response) is reachable from *exc*."""
    walk = _Walk(secrets, max_depth=max_depth)
    if isinstance(exc, kfs.errors.KashFlowError):
        for field in ("message", "detail", "remedy", "code", "operation"):
            walk.text(f"error.{field}", str(getattr(exc, field)))
    walk.visit(exc, "error")
    rendered = "".join(
        traceback.TracebackException(
            type(exc), exc, exc.__traceback__, capture_locals=True
        ).format()
    )
    walk.text("traceback with locals", rendered)
    return walk.found


def object_leaks(obj: Any, secrets: Iterable[str], *, max_depth: int = 10) -> list[str]:
    """Every place a secret is reachable from *obj* (a storage, say)."""
    walk = _Walk(secrets, max_depth=max_depth)
    walk.attributes(obj, type(obj).__name__, 0)
    return walk.found


def log_leaks(records: Iterable[logging.LogRecord], secrets: Iterable[str]) -> list[str]:
    """Every log record whose message, arguments or attached traceback holds a secret."""
    walk = _Walk(secrets, max_depth=4)
    formatter = logging.Formatter()
    for record in records:
        where = f"log {record.name}:{record.levelname}"
        walk.text(where, record.getMessage())
        walk.visit(record.args, f"{where} args")
        if record.exc_info:
            walk.text(f"{where} traceback", formatter.formatException(record.exc_info))
    return walk.found
