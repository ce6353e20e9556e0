"""Supplier and customer rules: where they are kept, how they are found, how they fill a document.

Filling is a pure function (:func:`apply_rule`); finding the rule (:func:`find_rule`) reads the
rule store and, when given, the synced lists, so a rule set on a supplier's name also applies to
a document that names the supplier by code, and the other way round.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import attrs

from .._account.lists import Lists, ListsSnapshot
from .._limits import MAX_RULE_CONTACT_LENGTH, key_problem, unsendable_character
from .amounts import vat_from_rate
from .model import Document, Line, Payment, ResolvedDocument, Rule

if TYPE_CHECKING:
    from ..typing import RuleKind, Storage

__all__ = [
    "COMPUTED_FROM_VAT_RATE",
    "FROM_DOCUMENT",
    "RuleBook",
    "RuleMatch",
    "StoredRuleResolver",
    "apply_rule",
    "due_date_after",
    "find_rule",
    "rule_kind",
]

#: ``explain`` value for a field the document itself set.
FROM_DOCUMENT = "document"
#: ``explain`` value for a line's VAT worked out from its VAT rate.
COMPUTED_FROM_VAT_RATE = "computed from vat_rate"

SUPPLIER: Literal["supplier"] = "supplier"
CUSTOMER: Literal["customer"] = "customer"


def _check_contact(contact: str) -> str:
    if not isinstance(contact, str) or not contact.strip():
        raise ValueError("a rule needs a non-empty supplier or customer name or code")
    problem = key_problem("a rule's supplier or customer", contact.strip(), MAX_RULE_CONTACT_LENGTH)
    if problem is not None:
        raise ValueError(problem)
    return contact.strip()


def _check_rule(rule: Rule) -> Rule:
    if not isinstance(rule, Rule):
        raise TypeError(f"expected a kashflow_sync.Rule, not {type(rule).__name__}")
    return rule


class RuleBook:
    """``client.rules``: the supplier and customer rules of one connection, kept in storage.

    Contacts are matched case-insensitively (the storage does that). A rule may be set on a
    contact's name or its code: resolving a document tries both when the lists know the contact.
    """

    def __init__(self, storage: Storage, connection_id: str) -> None:
        """Edit the rules of *connection_id* held in *storage*."""
        self._storage = storage
        self._connection_id = connection_id

    def __repr__(self) -> str:
        return f"RuleBook(connection_id={self._connection_id!r})"

    def set_supplier_rule(self, contact: str, rule: Rule) -> None:
        """Store (or replace) the rule for a supplier, by name or code.

        Raises:
            ValueError: *contact* is empty, longer than ``MAX_RULE_CONTACT_LENGTH`` (255)
                characters, or holds a character no storage can hold (NUL, a lone surrogate).
            TypeError: *rule* is not a :class:`Rule`.

        """
        self._storage.set_rule(
            self._connection_id, SUPPLIER, _check_contact(contact), _check_rule(rule)
        )

    def set_customer_rule(self, contact: str, rule: Rule) -> None:
        """Store (or replace) the rule for a customer, by name or code.

        Raises:
            ValueError: *contact* is empty, longer than ``MAX_RULE_CONTACT_LENGTH`` (255)
                characters, or holds a character no storage can hold (NUL, a lone surrogate).
            TypeError: *rule* is not a :class:`Rule`.

        """
        self._storage.set_rule(
            self._connection_id, CUSTOMER, _check_contact(contact), _check_rule(rule)
        )

    def supplier_rule(self, contact: str) -> Rule | None:
        """The rule stored for this supplier name or code, or None."""
        return self._storage.get_rule(self._connection_id, SUPPLIER, _check_contact(contact))

    def customer_rule(self, contact: str) -> Rule | None:
        """The rule stored for this customer name or code, or None."""
        return self._storage.get_rule(self._connection_id, CUSTOMER, _check_contact(contact))

    def delete_supplier_rule(self, contact: str) -> None:
        """Remove the supplier's rule; no error if there was none."""
        self._storage.delete_rule(self._connection_id, SUPPLIER, _check_contact(contact))

    def delete_customer_rule(self, contact: str) -> None:
        """Remove the customer's rule; no error if there was none."""
        self._storage.delete_rule(self._connection_id, CUSTOMER, _check_contact(contact))

    def supplier_rules(self) -> Mapping[str, Rule]:
        """Every supplier rule, by the name or code it was set for."""
        return self._storage.list_rules(self._connection_id, SUPPLIER)

    def customer_rules(self) -> Mapping[str, Rule]:
        """Every customer rule, by the name or code it was set for."""
        return self._storage.list_rules(self._connection_id, CUSTOMER)


def rule_kind(document: Document) -> Literal["supplier", "customer"]:
    """Whose rule applies: ``"supplier"`` for purchases, ``"customer"`` for sales."""
    return SUPPLIER if document.side == "purchase" else CUSTOMER


@attrs.frozen
class RuleMatch:
    """The rule found for a document, and the contact key it was stored under."""

    kind: Literal["supplier", "customer"]
    contact: str
    rule: Rule

    @property
    def source(self) -> str:
        """What ``explain`` says for fields this rule set, e.g. ``supplier rule: Acme Ltd``."""
        return f"{self.kind} rule: {self.contact}"


def _contact_keys(document: Document, lists: ListsSnapshot | None) -> list[str]:
    """The document's contact as written, then the matching list item's name and code."""
    written = document.contact.strip() if document.contact else ""
    keys: list[str] = [written] if written else []
    if written and lists is not None:
        item = lists.contacts(document.kind).find(written)
        if item is not None:
            keys.extend([item.name, item.code])
    seen: set[str] = set()
    unique: list[str] = []
    for key in keys:
        folded = key.casefold()
        # No rule can be stored under a key like that (RuleBook refuses it), and asking a
        # storage for one would fail; validation reports the contact instead.
        if len(key) > MAX_RULE_CONTACT_LENGTH or unsendable_character(key) is not None:
            continue
        if key and folded not in seen:
            seen.add(folded)
            unique.append(key)
    return unique


def find_rule(
    get_rule: Callable[[RuleKind, str], Rule | None],
    document: Document,
    lists: ListsSnapshot | None = None,
) -> RuleMatch | None:
    """Find the rule for the document's supplier or customer.

    Args:
        get_rule: ``(kind, contact) -> Rule | None``, e.g. a storage's ``get_rule`` bound to a
            connection.
        document: the document whose contact is looked up.
        lists: the synced lists; when they know the contact, its name and code are tried too.

    Returns:
        The first rule found (the contact as written first), or None.

    """
    kind = rule_kind(document)
    for key in _contact_keys(document, lists):
        rule = get_rule(kind, key)
        if rule is not None:
            return RuleMatch(kind=kind, contact=key, rule=rule)
    return None


def _has_value(value: object) -> bool:
    """True unless *value* is None or a string of nothing but spaces."""
    return value is not None and not (isinstance(value, str) and not value.strip())


def _fill_line(
    index: int, line: Line, rule: Rule | None, source: str, explain: dict[str, str]
) -> Line:
    path = f"lines[{index}]"
    changes: dict[str, Any] = {}

    def fill(name: str, value: object, from_rule: object) -> None:
        if _has_value(value):
            explain[f"{path}.{name}"] = FROM_DOCUMENT
        elif _has_value(from_rule):
            changes[name] = from_rule
            explain[f"{path}.{name}"] = source

    fill("description", line.description, rule.description if rule else None)
    explain[f"{path}.net"] = FROM_DOCUMENT
    explain[f"{path}.quantity"] = FROM_DOCUMENT
    fill("vat_rate", line.vat_rate, rule.vat_rate if rule else None)
    fill("category", line.category, rule.category if rule else None)
    fill("project", line.project, rule.project if rule else None)
    if changes:
        line = attrs.evolve(line, **changes)
    if line.vat is not None:
        explain[f"{path}.vat"] = FROM_DOCUMENT
    elif line.vat_rate is not None:
        line = attrs.evolve(line, vat=vat_from_rate(line.net, line.vat_rate))
        explain[f"{path}.vat"] = COMPUTED_FROM_VAT_RATE
    return line


def _fill_payment(
    payment: Payment, rule: Rule | None, source: str, explain: dict[str, str]
) -> Payment:
    changes: dict[str, Any] = {}
    if _has_value(payment.method):
        explain["payment.method"] = FROM_DOCUMENT
    elif rule is not None and _has_value(rule.payment_method):
        changes["method"] = rule.payment_method
        explain["payment.method"] = source
    if _has_value(payment.bank_account):
        explain["payment.bank_account"] = FROM_DOCUMENT
    elif rule is not None and _has_value(rule.bank_account):
        changes["bank_account"] = rule.bank_account
        explain["payment.bank_account"] = source
    if payment.paid_on is not None:
        explain["payment.paid_on"] = FROM_DOCUMENT
    if payment.amount is not None:
        explain["payment.amount"] = FROM_DOCUMENT
    return attrs.evolve(payment, **changes) if changes else payment


def due_date_after(issue_date: date, due_days: int) -> date:
    """*issue_date* plus *due_days*, held at the calendar's ends rather than overflowing.

    A date past the calendar (a rule's due days on a date near 9999) comes back as
    :attr:`date.max` (or :attr:`date.min`), outside the dates KashFlow holds, so validation
    reports it as ``date_out_of_range`` on ``due_date``, naming the rule.
    """
    try:
        return issue_date + timedelta(days=due_days)
    except OverflowError:
        return date.max if due_days > 0 else date.min


def _explain_header(document: Document, names: Iterable[str], explain: dict[str, str]) -> None:
    for name in names:
        value = getattr(document, name)
        if _has_value(value):
            explain[name] = FROM_DOCUMENT


def apply_rule(document: Document, rule: Rule | None, source_label: str) -> ResolvedDocument:
    """Fill the document's blanks from *rule* and say what set every field that has a value.

    What the document says wins. The rule fills, per line, ``category``, ``vat_rate``,
    ``project`` and ``description`` when blank; ``due_date`` as issue date + ``due_days``; and
    the payment's ``method`` and ``bank_account`` when the document has a payment (a rule never
    creates one). A line's VAT missing while its rate is known is worked out (half-up to the
    penny; exempt gives 0). A rule with ``check_duplicates=False`` gives a result with
    ``check_duplicates`` False and ``explain["check_duplicates"]`` naming the rule.

    Args:
        document: the document as the host captured it.
        rule: the rule for its supplier or customer, or None for no rule.
        source_label: what ``explain`` says for fields the rule set, e.g.
            ``"supplier rule: Acme Paper Ltd"``.

    Returns:
        The filled document and its ``explain`` mapping (field path -> source), read-only.

    """
    source = source_label if rule is not None else FROM_DOCUMENT
    explain: dict[str, str] = {}
    contact_field = "supplier" if document.side == "purchase" else "customer"
    _explain_header(document, ("external_id", contact_field, "reference", "issue_date"), explain)
    changes: dict[str, Any] = {}
    if document.due_date is not None:
        explain["due_date"] = FROM_DOCUMENT
    elif rule is not None and rule.due_days is not None and document.issue_date is not None:
        changes["due_date"] = due_date_after(document.issue_date, rule.due_days)
        explain["due_date"] = source
    _explain_header(document, ("currency", "location", "attachment"), explain)
    changes["lines"] = tuple(
        _fill_line(index, line, rule, source, explain) for index, line in enumerate(document.lines)
    )
    if document.payment is not None:
        explain["payment"] = FROM_DOCUMENT
        changes["payment"] = _fill_payment(document.payment, rule, source, explain)
    filled = attrs.evolve(document, **changes)
    check_duplicates = rule is None or rule.check_duplicates
    if not check_duplicates:
        explain["check_duplicates"] = source
    return ResolvedDocument(
        document=filled, explain=MappingProxyType(explain), check_duplicates=check_duplicates
    )


class StoredRuleResolver:
    """The default :class:`~kashflow_sync.typing.RuleResolver`: rules kept in a storage.

    Args:
        storage: where the rules (and, by default, the synced lists) are kept.
        lists_for: ``connection_id -> Lists`` (or a ``ListsSnapshot``); the client passes its
            cached lists. Without it the lists are read from *storage* on every call, which is
            correct but slower.

    """

    def __init__(
        self, storage: Storage, lists_for: Callable[[str], Lists | ListsSnapshot] | None = None
    ) -> None:
        """Resolve rules from *storage*, matching contacts through *lists_for* when given."""
        self._storage = storage
        self._lists_for = lists_for

    def __repr__(self) -> str:
        return f"StoredRuleResolver(storage={type(self._storage).__name__})"

    def _lists(self, connection_id: str) -> Lists | ListsSnapshot:
        if self._lists_for is not None:
            return self._lists_for(connection_id)
        return Lists(self._storage, connection_id)

    def find(self, connection_id: str, document: Document) -> RuleMatch | None:
        """The rule that applies to *document* on this connection, or None."""

        def get_rule(kind: RuleKind, contact: str) -> Rule | None:
            return self._storage.get_rule(connection_id, kind, contact)

        return find_rule(get_rule, document, self._lists(connection_id).for_kind(document.kind))

    def resolve(self, connection_id: str, document: Document) -> ResolvedDocument:
        """Return the document with its rule's defaults filled in and what set each field."""
        match = self.find(connection_id, document)
        if match is None:
            return apply_rule(document, None, FROM_DOCUMENT)
        return apply_rule(document, match.rule, match.source)
