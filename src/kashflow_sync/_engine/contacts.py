"""A supplier or customer missing from the lists, created in KashFlow exactly once.

A new contact is itself published under a journal entry of its own (key
:func:`~.keys.contact_journal_key`), so two documents from one new supplier, in one process or
many, never create it twice. The code chosen for it is kept in the entry's ``fingerprint`` while
the insert is uncertain, so a later attempt looks under that code first.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from .. import errors
from .._documents import Document
from .._journal import JournalEntry
from .._lists import ListsSnapshot
from .._models import ItemList
from .effects import Flow, find_contact, get_journal, insert_contact
from .journal import Lease
from .keys import contact_journal_key

__all__ = ["REFUSALS", "contact_code", "contact_id", "may_have_applied"]

#: Answers in which KashFlow itself said no: nothing of the request was applied.
REFUSALS = (
    errors.RejectedError,
    errors.AuthenticationError,
    errors.IPNotAllowedError,
    errors.PermissionDeniedError,
)


def may_have_applied(exc: errors.KashFlowError) -> bool:
    """Whether KashFlow may have applied a write that failed with *exc*."""
    return exc.request_sent and not isinstance(exc, REFUSALS)


def contact_id(document: Document, lists: ListsSnapshot, lease: Lease) -> Flow[int]:
    """The KashFlow id of the document's supplier or customer, creating it if it is new."""
    contacts = lists.contacts(document.kind)
    found = contacts.find(document.contact)
    if found is not None:
        return found.kashflow_id
    key = contact_journal_key(document.kind, document.contact)
    existing = yield from get_journal(lease.connection_id, key)
    if existing is not None and existing.state == "published" and existing.kashflow_id:
        return existing.kashflow_id
    template = JournalEntry(
        connection_id=lease.connection_id, external_id=key, kind=document.kind, fingerprint=""
    )
    entry = yield from lease.claim(template)
    if entry.state == "published":
        if not entry.kashflow_id:
            raise errors.PublishUncertainError(
                f"the journal says {document.contact!r} was created, without its id",
                code="contact_unknown",
                remedy="Refresh the lists so the contact is found by name, then retry.",
                retryable=False,
            )
        return entry.kashflow_id
    try:
        new_id, code = yield from _create(document, entry, contacts, lease)
    except BaseException:
        yield from lease.release(key)
        raise
    yield from lease.record(document.external_id, "contact", "created", f"{code} id {new_id}")
    return new_id


def _create(
    document: Document, entry: JournalEntry, contacts: ItemList[Any], lease: Lease
) -> Flow[tuple[int, str]]:
    """Create the supplier or customer once; return its id and code."""
    name = document.contact.strip()
    if entry.state == "sending" and entry.fingerprint:
        # An earlier attempt may have created it under the code it chose. Only a contact with
        # our name counts: another new contact may have taken that code meanwhile.
        found = yield from _our_contact(document, entry.fingerprint, name)
        if found is not None:
            yield from lease.save(entry, state="published", kashflow_id=found, owner=None)
            return found, entry.fingerprint
    code = yield from _free_code(document, name, contacts)
    entry = yield from lease.save(entry, state="sending", fingerprint=code)
    try:
        new_id = yield from insert_contact(document.kind, name, code)
    except errors.KashFlowError as exc:
        found = (yield from _our_contact(document, code, name)) if may_have_applied(exc) else None
        if found is None:
            if not may_have_applied(exc):
                # Refused or never sent: nothing under this code is ours.
                yield from lease.save(entry, state="claimed", fingerprint="")
            raise
        new_id = found
    yield from lease.save(entry, state="published", kashflow_id=new_id, owner=None)
    return new_id, code


def _our_contact(document: Document, code: str, name: str) -> Flow[int | None]:
    """The id of the contact with *code*, if it is the one we meant to create."""
    found = yield from find_contact(document.kind, code)
    if found is None or found[1].strip().casefold() != name.casefold():
        return None
    return found[0]


def _free_code(document: Document, name: str, contacts: ItemList[Any]) -> Flow[str]:
    """A code no contact in the lists or in KashFlow has (one lookup per candidate)."""
    taken = {c.code.casefold() for c in contacts}
    code = ""
    for _ in range(20):
        code = contact_code(name, taken)
        # A contact created in KashFlow since the last sync may hold it; then the lookup after
        # an uncertain insert would mistake that contact for ours.
        if (yield from find_contact(document.kind, code)) is None:
            return code
        taken.add(code.casefold())
    return f"{code[:6]}{uuid.uuid4().hex[:6].upper()}"  # crowded stem: a random suffix


def contact_code(name: str, taken: Iterable[str]) -> str:
    """A short code for a new contact, unique among *taken* (``ACMEPA01``)."""
    stem = "".join(ch for ch in name.upper() if ch.isalnum())[:6] or "NEW"
    used = set(taken)
    for n in range(1, 1000):
        code = f"{stem}{n:02d}"
        if code.casefold() not in used:
            return code
    return f"{stem}{uuid.uuid4().hex[:6].upper()}"
