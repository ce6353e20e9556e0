"""A supplier or customer missing from the lists, created in KashFlow exactly once.

A new contact is itself published under a journal entry of its own (key
``_storage_keys.contact_journal_key``), so two documents from one new supplier, in one process or
many, never create it twice. Its code follows from its name (:func:`contact_code`), so clients of
other storages or connections that create the same contact pick the same code and KashFlow's
uniqueness check lets only one through; creating it costs one insert, and one lookup more only
when the code is found taken. The code is kept in the entry's ``fingerprint`` while the insert is
uncertain, so a later attempt looks under that code first.

Once created, the contact is added to the stored list and the lists version is changed, so this
client, a long-lived worker's and every other client of the storage find it by name at once
(:func:`list_contact`), without a refresh. The stored list is one value that every writer
replaces whole, so two workers adding two new suppliers at once would each write the list they
read, and one supplier would be lost: the addition is made under a short lease on a journal entry
of its own (``_storage_keys.list_lock_key``), the compare-and-set every storage already offers.
"""

from __future__ import annotations

import base64
import hashlib
import unicodedata
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import attrs

from .. import errors
from .._account.items import Customer, ItemList, Supplier
from .._account.lists import ListsSnapshot
from .._documents.model import Document, side
from .._documents.names import name_key
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
    "CODE_MAX",
    "CODE_VARIANTS",
    "LIST_LEASE",
    "REFUSALS",
    "contact_code",
    "contact_id",
    "list_contact",
    "may_have_applied",
]

#: Characters of a new contact's code taken from its name, and of the digest that follows.
#: KashFlow documents no length limit for a code (only "an alphanumeric ID ... unique"): 10 stays
#: within the 12 the SDK's codes reached before and is as long as the ``doctor``'s probe code.
CODE_STEM = 5
CODE_DIGEST = 5
CODE_MAX = CODE_STEM + CODE_DIGEST

#: Codes tried for one new contact (see :func:`contact_code`) before giving up as taken.
CODE_VARIANTS = 2

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
    random ids (the lists' new version).
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
        made, code, new = yield from _create(
            document, entry, contacts, lease, settle, taken_over, new_id
        )
    except BaseException:
        yield from lease.release(key)
        raise
    yield from lease.record(document.external_id, "contact", "created", f"{code} id {made}")
    yield from list_contact(document, lease, made, code, new_id=new_id)
    return made, new


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
) -> Flow[tuple[int, str, bool]]:
    """Create the supplier or customer once; return its id, its code and whether this call made it.

    No lookup before the insert: the code follows from the name (:func:`contact_code`), so a
    contact that already holds it under the same name is this very contact, made by another
    connection or client since the last sync, and is adopted. One insert in the usual case; one
    lookup more when KashFlow says the code is taken; only a different name holding the code (a
    digest collision) moves on to the second code.

    A contact found rather than inserted counts as not made here (False), whatever made it: a
    contact with the same code and name may come from another connection or client, and may
    already have documents, so the duplicate check must still look.
    """
    name = document.contact.strip()
    if entry.state == SENDING and entry.fingerprint:
        # An earlier attempt may have created it under the code it chose. Only a contact with
        # our name counts: another new contact may have taken that code meanwhile.
        found = yield from _our_contact(document, entry.fingerprint, name)
        if found is not None:
            yield from lease.save(entry, state=PUBLISHED, kashflow_id=found, release=True)
            return found, entry.fingerprint, False
        # Not there yet proves nothing until the earlier insert can no longer be applied.
        settle.check(entry, taken_over=taken_over, step="contact", what=f"new contact {name!r}")
    # A listed contact holding a code has another name (ours would have been found by name).
    taken = {c.code.casefold() for c in contacts}
    codes = [contact_code(name, variant) for variant in range(CODE_VARIANTS)]
    for code in codes:
        if code.casefold() in taken:
            continue
        # Saved right before the insert: the lease is confirmed, and the code is known to any
        # later attempt that must look for what this one may have created.
        entry = yield from lease.save(entry, state=SENDING, fingerprint=code)
        new = False
        try:
            created = yield from renewing(
                lease.renewal(entry), ask(InsertContact(document.kind, name, code))
            )
            new = True
        except errors.KashFlowError as exc:
            if exc.code == ErrorCode.CONTACT_CODE_TAKEN:
                # Nothing of this insert was applied. The holder is either this contact, made
                # elsewhere under the same code (adopted: still one contact), or another name.
                found = yield from _our_contact(document, code, name)
                if found is None:
                    continue
                created = found
            elif not may_have_applied(exc):
                # Refused or never sent: nothing under this code is ours.
                yield from lease.save(entry, state=CLAIMED, fingerprint="")
                raise
            else:
                yield from lease.record(entry.external_id, "contact", "uncertain", exc.code)
                found = yield from _our_contact(document, code, name)
                if found is None:
                    raise
                created = found
        yield from lease.save(entry, state=PUBLISHED, kashflow_id=created, release=True)
        return created, code, new
    yield from lease.save(entry, state=CLAIMED, fingerprint="")
    raise errors.RejectedError(
        f"other contacts hold both codes the SDK gives the new contact {name!r} "
        f"({', '.join(codes)})",
        code=ErrorCode.CONTACT_CODE_TAKEN,
        remedy=(
            "Refresh the lists and publish again (the contact may exist under another name); "
            f"if it repeats, give the KashFlow contact holding {codes[0]} another code, or name "
            "the new contact differently (a town or a trading name added)."
        ),
    )


def _our_contact(document: Document, code: str, name: str) -> Flow[int | None]:
    """The id of the contact with *code*, if it is the one we meant to create.

    Names are compared as the lists compare them (:func:`name_key`), so the same contact made
    by another client under a differently spaced or cased name is still recognised.
    """
    found = yield from ask(FindContact(document.kind, code))
    if found is None or name_key(found[1]) != name_key(name):
        return None
    return found[0]


def contact_code(name: str, variant: int = 0) -> str:
    """The code the SDK gives a new contact called *name*: a stem and a digest (``BRAND7KQ2M``).

    The stem is the name's first :data:`CODE_STEM` letters and digits (accents dropped,
    ``NEW`` when there are none), the digest :data:`CODE_DIGEST` characters of a hash of the
    whole name as the lists compare it (:func:`name_key`), in base 32 (``A``-``Z``, ``2``-``7``).
    The same name always gets the same code, in every process and connection; two names
    sharing a stem differ in the digest but for about one pair in 33 million. *variant* 1 is
    the second code, tried when a contact of another name holds the first. At most
    :data:`CODE_MAX` characters, all upper-case letters and digits.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    stem = "".join(ch for ch in ascii_name.upper() if ch.isalnum())
    key = name_key(name) if variant == 0 else f"{variant}\x1f{name_key(name)}"
    digest = hashlib.blake2b(key.encode(), digest_size=5).digest()
    return f"{stem[:CODE_STEM] or 'NEW'}{base64.b32encode(digest).decode()[:CODE_DIGEST]}"
