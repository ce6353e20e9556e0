"""A supplier or customer missing from the lists, created in KashFlow exactly once.

A new contact is itself published under a journal entry of its own (key
``_storage_keys.contact_journal_key``), so two documents from one new supplier, in one process or
many, never create it twice. The code chosen for it is kept in the entry's ``fingerprint`` while
the insert is uncertain, so a later attempt looks under that code first.

Once created, the contact is added to the stored list and the lists version is changed, so this
client, a long-lived worker's and every other client of the storage find it by name at once
(:func:`list_contact`), without a refresh. The stored list is one value that every writer
replaces whole, so two workers adding two new suppliers at once would each write the list they
read, and one supplier would be lost: the addition is made under a short lease on a journal entry
of its own (``_storage_keys.list_lock_key``), the compare-and-set every storage already offers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

import attrs

from .. import errors
from .._account.items import Customer, ItemList, Supplier
from .._account.lists import ListsSnapshot
from .._documents.model import Document, side
from .._error_codes import ErrorCode
from .._journal.entry import JournalEntry
from .._journal.states import CLAIMED, PUBLISHED, SENDING
from .._storage_keys import LISTS_VERSION, contact_journal_key, list_lock_key
from .effects import (
    FindContact,
    Flow,
    GetJournal,
    InsertContact,
    LoadList,
    ReplaceList,
    SetState,
    ask,
    renewing,
)
from .lease import Lease
from .settle import Settle

__all__ = [
    "LIST_LEASE",
    "REFUSALS",
    "contact_code",
    "contact_id",
    "list_contact",
    "may_have_applied",
]

#: Times a new contact's insert is tried again with another code after KashFlow says the code
#: is taken (another contact got it between our lookup and our insert).
CODE_RETRIES = 3

#: How long adding a new contact to a stored list may hold the list: a worker killed while
#: holding it delays the next addition by at most this.
LIST_LEASE = timedelta(seconds=30)

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


def contact_id(
    document: Document,
    lists: ListsSnapshot,
    lease: Lease,
    settle: Settle,
    *,
    new_id: Callable[[], str],
) -> Flow[tuple[int, bool]]:
    """The KashFlow id of the document's supplier or customer, and whether it was new.

    A contact missing from the lists is created, exactly once across calls and workers; ``True``
    says this call created it (so it has no documents in KashFlow yet). *new_id* gives fresh
    random ids (the lists' new version, a crowded code's suffix).
    """
    contacts = lists.contacts(document.kind)
    found = contacts.find(document.contact)
    if found is not None:
        return found.kashflow_id, False
    key = contact_journal_key(document.side, document.contact)
    existing = yield from ask(GetJournal(lease.connection_id, key))
    if existing is not None and existing.state == PUBLISHED and existing.kashflow_id:
        # Created earlier, yet not in these lists: the creator may have died before listing it.
        yield from list_contact(
            document, lease, existing.kashflow_id, existing.fingerprint, new_id=new_id
        )
        return existing.kashflow_id, False
    template = JournalEntry(
        connection_id=lease.connection_id, external_id=key, kind=document.side, fingerprint=""
    )
    entry, waited = yield from lease.claim(template)
    taken_over = waited or (existing is not None and existing.owner not in (None, lease.owner))
    if entry.state == PUBLISHED:
        if not entry.kashflow_id:
            raise errors.PublishUncertainError(
                f"the journal says {document.contact!r} was created, without its id",
                code=ErrorCode.CONTACT_UNKNOWN,
                remedy="Refresh the lists so the contact is found by name, then retry.",
                retryable=False,
            )
        yield from list_contact(
            document, lease, entry.kashflow_id, entry.fingerprint, new_id=new_id
        )
        return entry.kashflow_id, False
    try:
        made, code = yield from _create(
            document, entry, contacts, lease, settle, taken_over, new_id
        )
    except BaseException:
        yield from lease.release(key)
        raise
    yield from lease.record(document.external_id, "contact", "created", f"{code} id {made}")
    yield from list_contact(document, lease, made, code, new_id=new_id)
    return made, True


def list_contact(
    document: Document,
    lease: Lease,
    kashflow_id: int,
    code: str,
    *,
    new_id: Callable[[], str],
) -> Flow[None]:
    """Add the contact the SDK created for *document* to the stored list, if it is not there.

    Read, added and written under the list's own lease (see the module docstring), then the
    lists version is changed so every client reloads. The next refresh from KashFlow remains the
    truth: it keeps the contact by its id and corrects anything KashFlow holds differently.
    """
    if not code:
        return  # an entry from before codes were kept: only a refresh can list it
    purchase = side(document.kind) == "purchase"
    name = "suppliers" if purchase else "customers"
    cls = Supplier if purchase else Customer
    item = cls(kashflow_id=kashflow_id, code=code, name=document.contact.strip())
    cid = lease.connection_id
    holder = attrs.evolve(lease, duration=LIST_LEASE)
    lock = list_lock_key(name)
    template = JournalEntry(connection_id=cid, external_id=lock, kind=document.side, fingerprint="")
    yield from holder.claim(template)
    try:
        # Read under the lease, right before writing: whatever another worker added is kept.
        stored = yield from ask(LoadList(cid, name))
        if any(i.kashflow_id == kashflow_id for i in stored):
            return
        yield from ask(ReplaceList(cid, name, [*stored, item]))
        yield from ask(SetState(cid, LISTS_VERSION, new_id()))
    finally:
        yield from holder.release(lock)


def _create(
    document: Document,
    entry: JournalEntry,
    contacts: ItemList[Any],
    lease: Lease,
    settle: Settle,
    taken_over: bool,
    new_id: Callable[[], str],
) -> Flow[tuple[int, str]]:
    """Create the supplier or customer once; return its id and code."""
    name = document.contact.strip()
    if entry.state == SENDING and entry.fingerprint:
        # An earlier attempt may have created it under the code it chose. Only a contact with
        # our name counts: another new contact may have taken that code meanwhile.
        found = yield from _our_contact(document, entry.fingerprint, name)
        if found is not None:
            yield from lease.save(entry, state=PUBLISHED, kashflow_id=found, release=True)
            return found, entry.fingerprint
        # Not there yet proves nothing until the earlier insert can no longer be applied.
        settle.check(entry, taken_over=taken_over, step="contact", what=f"new contact {name!r}")
    taken = {c.code.casefold() for c in contacts}
    for _try in range(CODE_RETRIES):
        code = yield from _free_code(document, name, taken, new_id)
        # Saved right before the insert: the lease is confirmed, and the code is known to any
        # later attempt that must look for what this one may have created.
        entry = yield from lease.save(entry, state=SENDING, fingerprint=code)
        try:
            created = yield from renewing(
                lease.renewal(entry), ask(InsertContact(document.kind, name, code))
            )
        except errors.KashFlowError as exc:
            if exc.code == ErrorCode.CONTACT_CODE_TAKEN:
                taken.add(code.casefold())  # someone got it first: nothing of ours was created
                continue
            if not may_have_applied(exc):
                # Refused or never sent: nothing under this code is ours.
                yield from lease.save(entry, state=CLAIMED, fingerprint="")
                raise
            yield from lease.record(entry.external_id, "contact", "uncertain", exc.code)
            found = yield from _our_contact(document, code, name)
            if found is None:
                raise
            created = found
        yield from lease.save(entry, state=PUBLISHED, kashflow_id=created, release=True)
        return created, code
    yield from lease.save(entry, state=CLAIMED, fingerprint="")
    raise errors.RejectedError(
        f"KashFlow refused every code tried for the new contact {name!r} as taken",
        code=ErrorCode.CONTACT_CODE_TAKEN,
        remedy="Refresh the lists (the contact may exist under another name) and publish again.",
    )


def _our_contact(document: Document, code: str, name: str) -> Flow[int | None]:
    """The id of the contact with *code*, if it is the one we meant to create."""
    found = yield from ask(FindContact(document.kind, code))
    if found is None or found[1].strip().casefold() != name.casefold():
        return None
    return found[0]


def _free_code(
    document: Document, name: str, taken: set[str], new_id: Callable[[], str]
) -> Flow[str]:
    """A code no contact in the lists or in KashFlow has (one lookup per candidate)."""
    code = ""
    for _ in range(20):
        code = contact_code(name, taken, new_id)
        # A contact created in KashFlow since the last sync may hold it; then the lookup after
        # an uncertain insert would mistake that contact for ours.
        if (yield from ask(FindContact(document.kind, code))) is None:
            return code
        taken.add(code.casefold())
    return f"{code[:6]}{new_id()[:6].upper()}"  # crowded stem: a random suffix


def contact_code(name: str, taken: Iterable[str], new_id: Callable[[], str]) -> str:
    """A short code for a new contact, unique among *taken* (``ACMEPA01``).

    A stem with 999 codes taken gets a random suffix from *new_id* instead of a number.
    """
    stem = "".join(ch for ch in name.upper() if ch.isalnum())[:6] or "NEW"
    used = set(taken)
    for n in range(1, 1000):
        code = f"{stem}{n:02d}"
        if code.casefold() not in used:
            return code
    return f"{stem}{new_id()[:6].upper()}"
