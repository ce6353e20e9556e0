"""``kashflow-sync lists`` and ``kashflow-sync rules``: ``client.lists`` and ``client.rules``.

Both read and write the local database only (no credentials, no network): ``lists`` shows what
the last ``connect`` or ``refresh`` stored; ``rules set`` checks a rule's nominal code, VAT
rate, project, payment method and bank account against those lists, as validation would when a
document uses the rule, so a mistake is caught when the rule is written rather than at publish.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import attrs

from .. import errors
from .._error_codes import ErrorCode
from ._account import Subparsers, account_command
from ._errors import EXIT_OK, usage_error
from ._output import Console, emit_json

if TYPE_CHECKING:
    from .._clients.sync_client import KashFlowClient

__all__ = ["LIST_ALIASES", "list_name", "register_lists", "register_rules"]

#: Friendly spellings of the lists' names (after lower-casing and turning spaces and hyphens
#: into underscores), with Dext's words for them.
LIST_ALIASES: Mapping[str, str] = {
    "nominal_code": "nominal_codes",
    "nominals": "nominal_codes",
    "nominal": "nominal_codes",
    "categories": "nominal_codes",
    "category": "nominal_codes",
    "chart_of_accounts": "nominal_codes",
    "supplier": "suppliers",
    "customer": "customers",
    "project": "projects",
    "classes": "projects",
    "class": "projects",
    "purchase_payment_method": "purchase_payment_methods",
    "sales_payment_method": "sales_payment_methods",
    "bank_account": "bank_accounts",
    "banks": "bank_accounts",
    "bank": "bank_accounts",
    "vat_rate": "vat_rates",
    "vat": "vat_rates",
    "currency": "currencies",
}


def list_name(text: str) -> str:
    """The SDK's name of the list *text* names (``"VAT rates"`` -> ``"vat_rates"``).

    Raises:
        ConfigurationError: ``usage``: no list is called that (with the nearest names).

    """
    from .._account.items import LIST_NAMES

    key = "_".join(text.strip().lower().replace("-", " ").split())
    if key in LIST_NAMES:
        return key
    if key in LIST_ALIASES:
        return LIST_ALIASES[key]
    if key in ("payment_methods", "payment_method", "methods"):
        raise usage_error(
            f"{text!r} is two lists: purchase_payment_methods and sales_payment_methods", "lists"
        )
    close = difflib.get_close_matches(key, [*LIST_NAMES, *LIST_ALIASES], n=1, cutoff=0.6)
    hint = ""
    if close:
        hint = f"; did you mean {LIST_ALIASES.get(close[0], close[0])!r}?"
    raise usage_error(f"no list is called {text!r}{hint} (lists: {', '.join(LIST_NAMES)})", "lists")


@contextmanager
def _stored_client(
    args: argparse.Namespace, *, connected: bool, create: bool = False
) -> Iterator[KashFlowClient]:
    """The client of the connection in the local database (no credentials needed).

    Args:
        args: the command's arguments.
        connected: refuse a connection never connected (it has no lists).
        create: make a SQLite database file that does not exist yet, rather than refuse.

    """
    from .._account.items import ConnectionStatus
    from ._account import credentials, db_url, missing_sqlite_file, open_client

    missing = missing_sqlite_file(db_url(args))
    if missing is not None and not create:
        raise errors.NotConnectedError(
            f"no local database at {missing}: no lists were synced into it",
            remedy="Pass the database `connect` used (--db or $KASHFLOW_SYNC_DB), or run "
            "`kashflow-sync connect` first.",
        )
    with open_client(args, credentials=credentials(required=False)) as client:
        if connected and client.status is ConnectionStatus.NOT_CONNECTED:
            raise errors.NotConnectedError(
                f"connection {client.connection_id!r} has never been connected: it has no "
                "synced lists"
            )
        yield client


#: The columns a list's table shows (``--json`` gives every field).
_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "nominal_codes": ("code", "name", "classification_name", "archived"),
    "suppliers": ("code", "name", "email", "vat_number", "archived"),
    "customers": ("code", "name", "email", "vat_number", "archived"),
    "projects": ("number", "name", "reference", "archived"),
    "purchase_payment_methods": ("kashflow_id", "name", "archived"),
    "sales_payment_methods": ("kashflow_id", "name", "archived"),
    "bank_accounts": ("code", "name", "archived"),
    "vat_rates": ("rate", "name", "archived"),
    "currencies": ("code", "name", "exchange_rate", "is_default", "archived"),
}


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else ""
    return "" if value is None else value


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value.normalize():f}" if value == value.to_integral() else str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _item_json(item: Any) -> dict[str, Any]:
    return attrs.asdict(
        item,
        filter=lambda field, _value: field.name != "removed",
        value_serializer=lambda _item, _field, value: _plain(value),
    )


# ---------------------------------------------------------------------------- lists


def register_lists(commands: Subparsers) -> None:
    """``kashflow-sync lists [NAME]``."""
    with account_command(commands, "lists", run_lists, network=False) as parser:
        parser.add_argument(
            "name",
            nargs="?",
            metavar="NAME",
            help=(
                "the list to show, e.g. nominal_codes, suppliers, customers, projects, "
                "purchase_payment_methods, sales_payment_methods, bank_accounts, vat_rates, "
                "currencies (friendly spellings work: 'VAT rates', categories, banks); none: "
                "every list's counts"
            ),
        )
        parser.add_argument("--active", action="store_true", help="leave out archived items")


def run_lists(args: argparse.Namespace) -> int:
    """Every list's counts, or one list's items."""
    from .._account.items import LIST_NAMES

    name = list_name(args.name) if args.name else None
    with _stored_client(args, connected=True) as client:
        if name is None:
            counts = {
                n: {"active": len(items.active), "total": len(items)}
                for n in LIST_NAMES
                for items in (client.lists.get(n),)
            }
            if args.json:
                emit_json({"ok": True, "connection_id": client.connection_id, "lists": counts})
                return EXIT_OK
            counted = [(n, c["active"], c["total"] - c["active"]) for n, c in counts.items()]
            Console().table(("list", "active", "archived"), counted, align="lrr")
            return EXIT_OK
        items = client.lists.get(name)
        shown = list(items.active if args.active else items)
        data = [_item_json(item) for item in shown]
    if args.json:
        emit_json({"ok": True, "connection_id": args.connection_id, "list": name, "items": data})
        return EXIT_OK
    console = Console()
    if not data:
        console.ok(f"{name}: no items")
        return EXIT_OK
    columns = [c for c in _COLUMNS[name] if c in data[0]]
    rows: list[tuple[Any, ...]] = [tuple(_cell(row[c]) for c in columns) for row in data]
    align = "".join(
        "r" if isinstance(data[0][c], int) and not isinstance(data[0][c], bool) else "l"
        for c in columns
    )
    console.table(tuple(c.replace("_", " ") for c in columns), rows, align=align)
    return EXIT_OK


# ---------------------------------------------------------------------------- rules

#: The rule fields ``rules set`` takes, as options, with what each parses its text into.
_KINDS = ("supplier", "customer")


def _int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def _rate(text: str) -> Decimal:
    try:
        value = Decimal(text.strip().removesuffix("%"))
    except InvalidOperation:
        raise argparse.ArgumentTypeError(
            f"not a VAT rate: {text!r} (write e.g. 20, 5, 0 or -1 for exempt)"
        ) from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"not a VAT rate: {text!r}")
    return value


def _days(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"due days cannot be negative: {text!r}")
    return value


def _key(text: str) -> int | str:
    """A bank account given by nominal code (1200) or name."""
    stripped = text.strip()
    return int(stripped) if stripped.isdigit() else stripped


def _add_contact(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=_KINDS, help="whose rule: supplier or customer")
    parser.add_argument(
        "contact", metavar="CONTACT", help="the supplier's or customer's name or code"
    )


def register_rules(commands: Subparsers) -> None:
    """``kashflow-sync rules set|show|delete``."""
    from ._account import add_account_options, add_command

    parser = add_command(commands, "rules", _no_action)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    actions.required = True

    set_ = actions.add_parser(
        "set",
        help="set fields of a supplier's or customer's rule (checked against the lists)",
        description=(
            "Set fields of the rule for one supplier or customer; fields not given keep their "
            "value (--replace starts from an empty rule). The nominal code, VAT rate, project, "
            "payment method and bank account must be active in the synced lists, as "
            "validation would require when a document uses the rule."
        ),
    )
    _add_contact(set_)
    fields = set_.add_argument_group("rule fields (what a document leaves blank)")
    fields.add_argument("--category", type=_int, metavar="CODE", help="nominal code, e.g. 7500")
    fields.add_argument("--vat-rate", type=_rate, metavar="RATE", help="e.g. 20, or -1 exempt")
    fields.add_argument("--project", type=_int, metavar="NUMBER", help="project number")
    fields.add_argument("--payment-method", metavar="NAME", help="payment method name or id")
    fields.add_argument(
        "--bank-account", type=_key, metavar="CODE", help="bank account nominal code or name"
    )
    fields.add_argument("--description", metavar="TEXT", help="each line's description")
    fields.add_argument("--due-days", type=_days, metavar="DAYS", help="due date = issue + DAYS")
    fields.add_argument(
        "--check-duplicates",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="keep (default) or switch off duplicate checks for this contact's documents",
    )
    set_.add_argument(
        "--replace", action="store_true", help="start from an empty rule, not the stored one"
    )
    set_.add_argument(
        "--no-check",
        action="store_true",
        help="store the rule without checking it against the lists (e.g. before connecting)",
    )
    add_account_options(set_, network=False)
    set_.set_defaults(run=run_rules_set)

    show = actions.add_parser("show", help="show the rules (all, one kind, or one contact's)")
    show.add_argument("kind", nargs="?", choices=_KINDS, help="only supplier or customer rules")
    show.add_argument("contact", nargs="?", metavar="CONTACT", help="only this contact's rule")
    add_account_options(show, network=False)
    show.set_defaults(run=run_rules_show)

    delete = actions.add_parser("delete", help="delete a supplier's or customer's rule")
    _add_contact(delete)
    add_account_options(delete, network=False)
    delete.set_defaults(run=run_rules_delete)


def _no_action(_args: argparse.Namespace) -> int:  # pragma: no cover - argparse requires one
    raise usage_error("an action is required: set, show or delete", "rules")


_RULE_OPTIONS = {
    "category": "category",
    "vat_rate": "vat_rate",
    "project": "project",
    "payment_method": "payment_method",
    "bank_account": "bank_account",
    "description": "description",
    "due_days": "due_days",
    "check_duplicates": "check_duplicates",
}


def _rule_json(rule: Any) -> dict[str, Any]:
    return {k: _plain(v) for k, v in attrs.asdict(rule).items()}


def _rule_problems(kind: str, rule: Any, lists: Any) -> list[tuple[str, str, str]]:
    """``(code, message, remedy)`` per rule field the synced lists do not hold active.

    The same lookups validation makes when a document takes the value from the rule.
    """
    from .._documents import problems as p
    from .._documents.amounts import EXEMPT_VAT_RATE

    out: list[tuple[str, str, str]] = []

    def names(items: Any, key: str) -> str:
        near = items.closest_names(key, limit=3)
        if near:
            return "Did you mean " + " or ".join(repr(n) for n in near) + "?"
        shown = [i.name if i.key == i.name else f"{i.key} ({i.name})" for i in items.active[:8]]
        return "Use one of: " + (", ".join(shown) or "(none synced)") + "."

    if rule.category is not None:
        code = lists.nominal_codes.find(rule.category)
        if code is None or code.archived:
            out.append(
                (
                    p.UNKNOWN_CATEGORY if code is None else p.ARCHIVED_CATEGORY,
                    f"nominal code {rule.category} "
                    + ("is not in the chart of accounts" if code is None else "is archived"),
                    "Pick an active nominal code (`kashflow-sync lists nominal_codes`).",
                )
            )
        elif (kind == "supplier" and code.is_sales) or (kind == "customer" and code.is_purchase):
            out.append(
                (
                    p.WRONG_CATEGORY_KIND,
                    f"nominal code {code.code} ({code.name}) is a "
                    + ("sales (turnover) code" if code.is_sales else "cost-of-sale or expense code")
                    + f", for a {kind}",
                    "Pick a "
                    + ("cost-of-sale or expense" if kind == "supplier" else "turnover")
                    + " nominal code.",
                )
            )
    rate = rule.vat_rate
    offered_rates = [r.rate for r in lists.vat_rates.active]
    if rate is not None and rate != EXEMPT_VAT_RATE and rate not in offered_rates:
        offered = ", ".join(f"{r.normalize():f}" for r in offered_rates)
        out.append(
            (
                p.UNKNOWN_VAT_RATE,
                f"VAT rate {rate.normalize():f}% is not offered by the account",
                f"Use one of: {offered or '(none synced)'} (-1 for exempt).",
            )
        )
    if rule.project is not None:
        project = lists.projects.find(rule.project)
        if project is None or project.archived:
            state = "is not in KashFlow" if project is None else "is archived"
            out.append(
                (
                    p.UNKNOWN_PROJECT if project is None else p.ARCHIVED_PROJECT,
                    f"project {rule.project} {state}",
                    "Pick an active project (`kashflow-sync lists projects`).",
                )
            )
    if rule.payment_method is not None:
        side = "purchase" if kind == "supplier" else "sales"
        method = lists.payment_method(side, rule.payment_method)
        if method is None or method.archived:
            methods = lists.get(f"{side}_payment_methods")
            out.append(
                (
                    p.UNKNOWN_PAYMENT_METHOD,
                    f"payment method {rule.payment_method!r} is not an active {side} payment "
                    "method",
                    names(methods, str(rule.payment_method)),
                )
            )
    if rule.bank_account is not None:
        bank = lists.bank_account(rule.bank_account)
        if bank is None or bank.archived:
            out.append(
                (
                    p.UNKNOWN_BANK_ACCOUNT,
                    f"bank account {rule.bank_account!r} is not an active bank account",
                    names(lists.bank_accounts, str(rule.bank_account)),
                )
            )
    return out


def _rule_error(kind: str, contact: str, found: list[tuple[str, str, str]]) -> errors.KashFlowError:
    said = "; ".join(f"{message} ({code})" for code, message, _r in found)
    return errors.ConfigurationError(
        f"the {kind} rule for {contact!r} was not stored: {said}",
        code=ErrorCode.INVALID_RULE,
        remedy=" ".join(dict.fromkeys(r for _c, _m, r in found))
        + " Refresh the lists (`kashflow-sync refresh`) if it was just added in KashFlow; "
        "--no-check stores it anyway.",
    )


def _contact(text: str) -> str:
    if not text.strip():
        raise usage_error("the supplier or customer name is empty", "rules")
    return text


def run_rules_set(args: argparse.Namespace) -> int:
    """Set fields of one rule, checked against the synced lists unless ``--no-check``."""
    from .._documents.model import Rule

    contact = _contact(args.contact)
    given = {f: getattr(args, o) for o, f in _RULE_OPTIONS.items() if getattr(args, o) is not None}
    if not given and not args.replace:
        raise usage_error(
            "give at least one rule field, e.g. --category 7500 (see `rules set --help`)",
            "rules set",
        )
    with _stored_client(args, connected=not args.no_check, create=args.no_check) as client:
        book = client.rules
        get = book.supplier_rule if args.kind == "supplier" else book.customer_rule
        try:
            stored = None if args.replace else get(contact)
            rule = attrs.evolve(stored or Rule(), **given)
        except ValueError as exc:
            raise usage_error(str(exc), "rules set") from None
        if not args.no_check:
            found = _rule_problems(args.kind, rule, client.lists.snapshot())
            if found:
                raise _rule_error(args.kind, contact, found)
        setter = book.set_supplier_rule if args.kind == "supplier" else book.set_customer_rule
        setter(contact, rule)
    if args.json:
        emit_json({"ok": True, "kind": args.kind, "contact": contact, "rule": _rule_json(rule)})
        return EXIT_OK
    console = Console()
    console.ok(f"{args.kind.capitalize()} rule for {contact!r} stored")
    _show_rule(console, rule)
    return EXIT_OK


def _show_rule(console: Console, rule: Any) -> None:
    for name, value in _rule_json(rule).items():
        if value is not None:
            console.detail(name.replace("_", " "), str(value), width=18)


def run_rules_show(args: argparse.Namespace) -> int:
    """The stored rules: all, of one kind, or one contact's."""
    if args.contact is not None and args.kind is None:  # pragma: no cover - argparse order
        raise usage_error("name the kind before the contact", "rules show")
    with _stored_client(args, connected=False) as client:
        book = client.rules
        rules: list[tuple[str, str, Any]] = []
        for kind in [args.kind] if args.kind else list(_KINDS):
            if args.contact is not None:
                get = book.supplier_rule if kind == "supplier" else book.customer_rule
                rule = get(_contact(args.contact))
                if rule is None:
                    raise errors.ConfigurationError(
                        f"no {kind} rule for {args.contact!r}",
                        code=ErrorCode.USAGE,
                        remedy=f"Set one with `kashflow-sync rules set {kind} "
                        f"{args.contact!r} --category ...`, or see `kashflow-sync rules show`.",
                    )
                rules.append((kind, args.contact, rule))
                continue
            every = book.supplier_rules() if kind == "supplier" else book.customer_rules()
            rules.extend((kind, contact, rule) for contact, rule in sorted(every.items()))
    if args.json:
        emit_json(
            {
                "ok": True,
                "rules": [{"kind": k, "contact": c, "rule": _rule_json(r)} for k, c, r in rules],
            }
        )
        return EXIT_OK
    console = Console()
    if not rules:
        console.ok("No rules yet: set one with `kashflow-sync rules set supplier NAME ...`.")
        return EXIT_OK
    for kind, contact, rule in rules:
        console.heading(f"{kind} rule: {contact}")
        _show_rule(console, rule)
    return EXIT_OK


def run_rules_delete(args: argparse.Namespace) -> int:
    """Delete one rule (no error when there was none, as in the SDK; the output says so)."""
    contact = _contact(args.contact)
    with _stored_client(args, connected=False) as client:
        book = client.rules
        get = book.supplier_rule if args.kind == "supplier" else book.customer_rule
        existed = get(contact) is not None
        delete = book.delete_supplier_rule if args.kind == "supplier" else book.delete_customer_rule
        delete(contact)
    if args.json:
        emit_json({"ok": True, "kind": args.kind, "contact": contact, "deleted": existed})
        return EXIT_OK
    console = Console()
    if existed:
        console.ok(f"{args.kind.capitalize()} rule for {contact!r} deleted")
    else:
        console.ok(f"There was no {args.kind} rule for {contact!r}: nothing to delete")
    return EXIT_OK
