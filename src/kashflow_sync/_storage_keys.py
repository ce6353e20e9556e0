"""Every storage state key and journal prefix the SDK writes: their one home.

State values are short strings in ``Storage.get_state``/``set_state``, per connection.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from ._documents.model import RESERVED_PREFIX
from ._documents.names import name_key

_PENNY = Decimal("0.01")

__all__ = [
    "ACCOUNT_FACTS",
    "CONTACT_KEY_PREFIX",
    "CONTENT_KEY_PREFIX",
    "CUSTOMERS_FULL_SYNC_AT",
    "CUSTOMERS_WATERMARK",
    "LISTS_VERSION",
    "LIST_LOCK_PREFIX",
    "RESERVED_PREFIX",
    "STATUS",
    "VERIFY_KEY_PREFIX",
    "contact_journal_key",
    "content_journal_key",
    "document_owner_key",
    "duplicate_key",
    "list_lock_key",
    "money_key",
    "verify_journal_key",
]

#: ``ConnectionStatus`` value of the connection.
STATUS = "connection.status"
#: ISO timestamp: the next incremental customer fetch starts here (KashFlow's clock).
CUSTOMERS_WATERMARK = "customers.modified_watermark"
#: ISO timestamp of the last full customer pass.
CUSTOMERS_FULL_SYNC_AT = "customers.full_sync_at"

#: Changes whenever a list is stored: a client holding lists from before reloads them, so a
#: long-lived client (a worker's) sees a refresh another process made.
LISTS_VERSION = "lists.version"

#: JSON of the ``AccountFacts`` that ``kashflow-sync doctor`` learned about the account.
ACCOUNT_FACTS = "doctor.account_facts"

#: Journal keys of new contacts, each published exactly once like a document.
CONTACT_KEY_PREFIX = f"{RESERVED_PREFIX}contact:"
#: Journal keys of document contents: which external id owns an invoice (see ``.content``).
CONTENT_KEY_PREFIX = f"{RESERVED_PREFIX}content:"
#: Journal keys of documents to look at again for a late second copy (see ``.verify``).
VERIFY_KEY_PREFIX = f"{RESERVED_PREFIX}verify:"
#: Journal keys held, like a lock, while a contact the SDK created is added to a stored list.
LIST_LOCK_PREFIX = f"{RESERVED_PREFIX}lists:"


def contact_journal_key(kind: str, name: str) -> str:
    """The journal key under which a new supplier or customer is created exactly once.

    Names that read the same (case, space runs, invisible characters) share one key, as they
    share one list match, so two spellings of one new supplier never create two.
    """
    return f"{CONTACT_KEY_PREFIX}{kind}:{name_key(name)}"


def list_lock_key(name: str) -> str:
    """The journal key whose lease serialises additions to the stored list *name*."""
    return f"{LIST_LOCK_PREFIX}{name}"


def content_journal_key(kind: str, contact_id: int, reference: str, gross: Decimal) -> str:
    """The journal key under which one invoice's content is claimed before its first send.

    Contact, reference (compared as the duplicate checks compare it) and gross; the reference
    is hashed, so the key has a fixed length whatever the reference holds.
    """
    digest = hashlib.sha256(reference.strip().casefold().encode()).hexdigest()[:32]
    return f"{CONTENT_KEY_PREFIX}{kind}:{contact_id}:{money_key(gross)}:{digest}"


def verify_journal_key(external_id: str) -> str:
    """The journal key of the watch on *external_id*'s create (fixed length, hashed id)."""
    digest = hashlib.sha256(external_id.encode()).hexdigest()[:32]
    return f"{VERIFY_KEY_PREFIX}{digest}"


def document_owner_key(kind: str, number: int) -> str:
    """State key holding the external_id whose publish created KashFlow document *number*."""
    return f"number:{kind}:{number}"


def money_key(amount: Decimal) -> str:
    """An amount as keys hold it: pence, so 100, 100.0 and 100.00 are one key."""
    return f"{amount.quantize(_PENNY):f}"


def duplicate_key(kind: str, contact: str | int, reference: str, gross: Decimal) -> str:
    """State key under which a published document is remembered for duplicate checks."""
    contact_key, reference_key = str(contact).casefold(), reference.strip().casefold()
    return f"published:{kind}:{contact_key}:{reference_key}:{money_key(gross)}"
