"""The fake's JSON control API under ``/_fake/``: the Python API, for any language.

Every route maps a JSON body onto the Python API's keyword arguments, so a new fault kind, a
new reading or a new seeding helper is reachable over HTTP without new code here:

=============================  =======================================================
``GET  /_fake/``               what the fake is: URLs, fault kinds and their options,
                               readings, collections
``POST /_fake/reset``          a new account (``{"seed": "demo"|"empty"|{...}}`` optional)
``POST /_fake/seed``           add lists: ``{"suppliers": [{"name": ...}], ...}``
``GET|POST|DELETE /_fake/faults``  list, queue (``{"kind": ..., options}`` or a list;
                               with ``"rate"`` it fires at random), clear
``GET|POST|PUT /_fake/readings``   read, change some (POST), replace all (PUT)
``GET|POST /_fake/settings``   ``api_enabled``, ``ip_restriction``, ``autoauth_enabled``,
                               ``echo_secrets``, ``client_ip``
``GET|POST /_fake/ips``        the API access list; ``{"ip": ..., "comment": ...}`` adds
``DELETE /_fake/ips/{ip}``     drops one
``POST /_fake/settle``         wait for late writes (``{"timeout": 10}``)
``GET  /_fake/{collection}``   receipts, invoices, payments, attachments, suppliers,
                               customers, calls, late_writes and the other lists
=============================  =======================================================
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import unquote

import attrs

from .docrecords import DocumentRecord, PaymentRecord
from .faults import FAULT_KINDS, FaultRule, Faults
from .jsonio import call_with_json, converted_kwargs, dumps, loads, to_json
from .late import LateWrite
from .readings import Readings
from .reply import Reply
from .seed import add_lists

__all__ = ["COLLECTIONS", "SETTINGS", "ControlApi", "Controlled"]

#: What ``GET /_fake/{name}`` reads: each a property of the fake.
COLLECTIONS = (
    "receipts",
    "invoices",
    "payments",
    "attachments",
    "suppliers",
    "customers",
    "nominal_codes",
    "projects",
    "bank_accounts",
    "vat_rates",
    "currencies",
    "purchase_payment_methods",
    "sales_payment_methods",
    "calls",
    "late_writes",
)

#: The account switches ``POST /_fake/settings`` may change (attributes of the fake).
SETTINGS = ("api_enabled", "ip_restriction", "autoauth_enabled", "echo_secrets", "client_ip")

_JSON = (("Content-Type", "application/json; charset=utf-8"),)
_EXTRA: Mapping[type, tuple[str, ...]] = {
    DocumentRecord: ("gross", "issue_date"),
    PaymentRecord: ("paid_on",),
}


class _HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Controlled(Protocol):
    """What the control API drives: the fake's public face (a FakeKashFlow is one).

    Named here, rather than importing FakeKashFlow, because FakeKashFlow builds its control
    API: the serving class sits above this module and hands itself in.
    """

    username: str
    faults: Faults
    readings: Readings

    @property
    def url(self) -> str:
        """The SOAP endpoint."""

    @property
    def wsdl_url(self) -> str:
        """The service description."""

    @property
    def control_url(self) -> str:
        """Where this control API answers."""

    @property
    def allowed_ips(self) -> dict[str, str]:
        """The API access list: IP address to comment."""

    @property
    def late_writes(self) -> list[LateWrite]:
        """Every request the ``late_apply`` fault hit."""

    def reset(self, *, seed: Any = "initial") -> None:
        """Make the account new again."""

    def set_readings(self, **changes: Any) -> Readings:
        """Change some readings."""

    def allow_ip(self, ip: str, comment: str = "") -> None:
        """Add *ip* to the access list."""

    def revoke_ip(self, ip: str) -> None:
        """Remove *ip* from the access list."""

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until every late write has been applied or cancelled."""


class ControlApi:
    """Answers ``/_fake/...`` requests for one fake."""

    def __init__(self, fake: Controlled) -> None:
        """Serve the control API of *fake*."""
        self._fake = fake

    def handle(self, method: str, path: str, query: str, body: bytes) -> Reply:
        """Answer one control request with JSON (errors too: ``{"error": ...}``)."""
        parts = [unquote(p) for p in path.strip("/").split("/")[1:] if p]
        try:
            data = self._route(method, parts, loads(body) if method != "GET" else {})
        except _HttpError as exc:
            return _reply(exc.status, {"error": str(exc)})
        except (TypeError, ValueError) as exc:
            return _reply(400, {"error": str(exc)})
        return _reply(200, data)

    def _route(self, method: str, parts: list[str], body: Any) -> Any:
        fake = self._fake
        name = parts[0] if parts else ""
        if not name:
            _allow(method, "GET")
            return self._index()
        if name in COLLECTIONS and len(parts) == 1:
            _allow(method, "GET")
            return [to_json(r, extra=_EXTRA.get(type(r), ())) for r in getattr(fake, name)]
        handlers: dict[str, Callable[[str, list[str], Any], Any]] = {
            "reset": self._reset,
            "seed": self._seed,
            "faults": self._faults,
            "readings": self._readings,
            "settings": self._settings,
            "ips": self._ips,
            "settle": self._settle,
        }
        if name not in handlers:
            raise _HttpError(404, f"no control route /_fake/{'/'.join(parts)}")
        return handlers[name](method, parts[1:], body)

    def _index(self) -> Any:
        fake = self._fake
        return {
            "endpoint": fake.url,
            "wsdl": fake.wsdl_url,
            "control": fake.control_url,
            "username": fake.username,
            "fault_kinds": {kind: _options(getattr(fake.faults, kind)) for kind in FAULT_KINDS},
            "readings": to_json(fake.readings),
            "settings": {name: getattr(fake, name) for name in SETTINGS},
            "collections": list(COLLECTIONS),
        }

    def _reset(self, method: str, rest: list[str], body: Any) -> Any:
        _allow(method, "POST")
        self._fake.reset(seed=_object(body).get("seed", "initial"))
        return {"reset": True}

    def _seed(self, method: str, rest: list[str], body: Any) -> Any:
        _allow(method, "POST")
        lists = _object(body)
        add_lists(self._fake, lists)
        return {"added": {key: len(value) for key, value in lists.items()}}

    def _faults(self, method: str, rest: list[str], body: Any) -> Any:
        faults = self._fake.faults
        if method == "GET":
            return {"pending": [_rule(r) for r in faults.pending], "fired": to_json(faults.fired)}
        if method == "DELETE":
            faults.clear()
            return {"cleared": True}
        _allow(method, "POST")
        specs = body if isinstance(body, list) else [body]
        return [_rule(self._queue(_object(spec))) for spec in specs]

    def _queue(self, spec: dict[str, Any]) -> FaultRule:
        """Queue one fault: ``{"kind": ..., options}``; with ``"rate"`` it fires at random.

        ``{"kind": "late_apply", "rate": 0.2, "seed": 1, "apply_after": 2}`` is
        ``faults.random("late_apply", 0.2, seed=1, apply_after=2)``.
        """
        options = dict(spec)
        kind = options.pop("kind", None)
        faults = self._fake.faults
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        if "rate" in options:
            # The options belong to the kind that fires: convert them by its signature.
            shared = {k: options.pop(k) for k in ("rate", "seed", "op") if k in options}
            own = converted_kwargs(getattr(faults, kind), options)
            rule: FaultRule = call_with_json(faults.random, kind=kind, **shared, **own)
            return rule
        result: FaultRule = call_with_json(getattr(faults, kind), **options)
        return result

    def _readings(self, method: str, rest: list[str], body: Any) -> Any:
        fake = self._fake
        if method == "PUT":
            fake.readings = Readings(**_object(body))
        elif method in ("POST", "PATCH"):
            fake.set_readings(**_object(body))
        else:
            _allow(method, "GET")
        return to_json(fake.readings)

    def _settings(self, method: str, rest: list[str], body: Any) -> Any:
        fake = self._fake
        if method != "GET":
            _allow(method, "POST")
            changes = _object(body)
            unknown = sorted(set(changes) - set(SETTINGS))
            if unknown:
                raise ValueError(f"unknown setting(s) {unknown}; known: {', '.join(SETTINGS)}")
            for name, value in changes.items():
                if name != "client_ip" and not isinstance(value, bool):
                    raise ValueError(f"{name} takes true or false, not {value!r}")
                setattr(fake, name, value)
        return {name: getattr(fake, name) for name in SETTINGS}

    def _ips(self, method: str, rest: list[str], body: Any) -> Any:
        fake = self._fake
        if rest:
            _allow(method, "DELETE")
            fake.revoke_ip(rest[0])
        elif method == "POST":
            values = _object(body)
            if not isinstance(values.get("ip"), str):
                raise ValueError('give the address as {"ip": "203.0.113.9", "comment": "..."}')
            fake.allow_ip(values["ip"], str(values.get("comment") or ""))
        else:
            _allow(method, "GET")
        return fake.allowed_ips

    def _settle(self, method: str, rest: list[str], body: Any) -> Any:
        _allow(method, "POST")
        timeout = float(_object(body).get("timeout", 30))
        try:
            self._fake.settle(timeout)
        except TimeoutError as exc:
            raise _HttpError(504, str(exc)) from None
        return to_json(self._fake.late_writes)


def _reply(status: int, data: Any) -> Reply:
    return Reply(status, dumps(data), _JSON)


def _allow(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise _HttpError(405, f"use {' or '.join(allowed)} here, not {method}")


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    return body


def _rule(rule: FaultRule) -> Any:
    data = to_json(attrs.evolve(rule, rng=None))
    data.pop("rng", None)
    return data


def _options(method: Callable[..., Any]) -> list[str]:
    """The keyword options a fault method takes (what a JSON fault object may carry)."""
    return [
        name
        for name, parameter in inspect.signature(method).parameters.items()
        if parameter.kind is not inspect.Parameter.VAR_KEYWORD
    ]
