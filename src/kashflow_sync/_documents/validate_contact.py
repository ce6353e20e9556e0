"""Which existing supplier or customer a document's contact means, and what validation says.

:func:`match_contact` is the one decision, made the way a careful bookkeeper would:

``found``
    the name or code, read as a person reads it (case, spacing, invisible characters aside),
    is in the lists: it is used.
``lookalike``
    it is an existing name spelled with look-alike letters of another script (a Cyrillic
    A, U+0410, in "Acme"): ``confusable_contact``, never a new contact.
``similar``
    it is a near-miss of an existing name (a typo, a dropped word, "Ltd" for "Limited"; the
    rule is in :mod:`.similar`): ``similar_contact``, unless the document says
    it is a new one (``create_contact=True``).
``new``
    nothing like it is in the lists: created on publish (the notice ``new_supplier`` /
    ``new_customer``), or ``unknown_supplier`` / ``unknown_customer`` when creating is off.

:func:`check_unmatched_contact` turns the last three into problems with their remedies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

import attrs

from .._account.items import Customer, ItemList, Supplier
from .names import describe_characters, lookalike_characters
from .problems import (
    CONFUSABLE_CONTACT,
    MAX_CONTACT_NAME_LENGTH,
    NEW_CUSTOMER,
    NEW_SUPPLIER,
    SIMILAR_CONTACT,
    TEXT_TOO_LONG,
    UNKNOWN_CUSTOMER,
    UNKNOWN_SUPPLIER,
    ProblemCode,
    Severity,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["ContactMatch", "Verdict", "check_unmatched_contact", "match_contact"]

Verdict = Literal["found", "lookalike", "similar", "new"]

Contact = Supplier | Customer
Contacts = ItemList[Supplier] | ItemList[Customer]


@attrs.frozen
class ContactMatch:
    """What a written supplier or customer name means against the lists.

    ``item`` is the contact found or imitated (``found``, ``lookalike``); ``similar`` the
    near-misses, closest first (``similar``).
    """

    verdict: Verdict
    item: Contact | None = None
    similar: tuple[Contact, ...] = ()


def match_contact(written: str, contacts: Contacts) -> ContactMatch:
    """Decide which contact *written* means (see the module docstring), in this order."""
    item = contacts.find(written)
    if item is not None:
        return ContactMatch("found", item)
    imitated = contacts.lookalike(written)
    if imitated is not None:
        return ContactMatch("lookalike", imitated)
    near = contacts.similar(written)
    if near:
        return ContactMatch("similar", similar=tuple(near))
    return ContactMatch("new")


class _Problems(Protocol):
    def add(
        self,
        code: ProblemCode,
        field: str,
        message: str,
        remedy: str,
        *,
        severity: Severity = "error",
    ) -> None: ...


def _named(items: Sequence[Contact]) -> str:
    return ", ".join(f"{i.name!r} ({i.code})" for i in items)


def check_unmatched_contact(
    out: _Problems,
    field: Literal["supplier", "customer"],
    written: str,
    match: ContactMatch,
    contacts: Contacts,
    *,
    create_missing: bool,
    create_contact: bool,
) -> None:
    """Report a contact :func:`match_contact` did not find: look-alike, near-miss, or new.

    Args:
        out: where problems go.
        field: ``"supplier"`` or ``"customer"``.
        written: the name as the document gives it (stripped).
        match: the decision for *written*.
        contacts: the suppliers or customers it was matched against.
        create_missing: the client's ``create_missing_contacts``.
        create_contact: the document's ``create_contact``: the caller says it is a new one.

    """
    if match.verdict == "lookalike":
        imitated = match.item
        assert imitated is not None
        odd = describe_characters(lookalike_characters(written))
        # Letters of another script that look Latin: the same business, mistyped or pasted.
        out.add(
            CONFUSABLE_CONTACT,
            field,
            f"The {field} {written!r} looks like {imitated.name!r} ({imitated.code}) but is "
            f"spelled with look-alike letters: {odd}.",
            f"Retype the {field}'s name (it was probably pasted or read by OCR), or use the "
            f"{field} code {imitated.code}.",
        )
        return
    if match.verdict == "similar" and create_missing and not create_contact:
        _similar(out, field, written, match.similar)
        return
    nearest = [i.name for i in match.similar] if match.similar else contacts.closest_names(written)
    hint = f" (closest: {', '.join(nearest)})" if nearest else ""
    if not create_missing:
        out.add(
            UNKNOWN_SUPPLIER if field == "supplier" else UNKNOWN_CUSTOMER,
            field,
            f"No {field} called or coded {written!r} is in KashFlow{hint}.",
            f"Create the {field} in KashFlow and refresh lists, or correct the name to an "
            f"existing {field}.",
        )
    elif len(written) > MAX_CONTACT_NAME_LENGTH:
        out.add(
            TEXT_TOO_LONG,
            field,
            f"The new {field}'s name is {len(written)} characters; KashFlow keeps "
            f"{MAX_CONTACT_NAME_LENGTH}.",
            f"Shorten the {field} name, or pick an existing {field}.",
        )
    else:
        meant = f"if you meant {nearest[0]}, correct the name; " if nearest else ""
        out.add(
            NEW_SUPPLIER if field == "supplier" else NEW_CUSTOMER,
            field,
            f"Publishing will create {field} {written!r}{hint}.",
            f"Nothing to do if {written!r} is a new {field}; {meant}to refuse new {field}s, "
            "build the client with create_missing_contacts=False.",
            severity="notice",
        )


def _similar(
    out: _Problems,
    field: Literal["supplier", "customer"],
    written: str,
    near: Sequence[Contact],
) -> None:
    best = near[0]
    odd = lookalike_characters(written)
    spelled = (
        f"; it is also spelled with look-alike letters: {describe_characters(odd)}" if odd else ""
    )
    others = "s" if len(near) > 1 else ""
    out.add(
        SIMILAR_CONTACT,
        field,
        f"The {field} {written!r} is not in KashFlow but is close to the existing {field}"
        f"{others} {_named(near)}{spelled}: probably the same {field}, mistyped or misread.",
        f"If it is {best.name!r}, correct the {field} to that name (or its code {best.code}). "
        f"If {written!r} really is a new {field}, say so: create_contact=True on the document "
        '(in a document file, "create_contact": true), or `kashflow-sync publish '
        "--create-contacts`.",
    )
