"""What KashFlow and the journal can hold: dates, key lengths and characters.

Validation, the document models, the clients and the storages check values against these
before anything is sent or stored, so a value outside them is a problem or a typed error up
front, never a crash halfway through a publish. The length limits of KashFlow's own text fields
live with the problem catalogue (:mod:`kashflow_sync._documents.problems`).
"""

from __future__ import annotations

import re
from datetime import date

__all__ = [
    "EARLIEST_DATE",
    "LATEST_DATE",
    "MAX_CONNECTION_ID_LENGTH",
    "MAX_EXTERNAL_ID_LENGTH",
    "MAX_RULE_CONTACT_LENGTH",
    "date_in_range",
    "describe_character",
    "key_problem",
    "unsendable_character",
]

#: The earliest document or payment date published. KashFlow's SOAP API writes "no date" as
#: 0001-01-01 (the minimum .NET DateTime) and its REST API as 1900-01-01: a document dated on
#: either reads back as undated, so the publisher's reconciliation could never find it again
#: and would send it twice. 1901 keeps clear of both; no invoice being published is older.
EARLIEST_DATE = date(1901, 1, 1)
#: The latest document or payment date published. .NET's DateTime (and SQL Server's datetime)
#: end on 9999-12-31, and KashFlow adds payment terms to a document's date: a year of room
#: keeps its own arithmetic (and the SDK's due-days rules) inside the calendar.
LATEST_DATE = date(9998, 12, 31)

# PostgreSQL refuses an index entry above 2704 bytes, and UTF-8 takes up to 4 bytes a
# character: 255 + 255 characters keep the journal's key, (connection_id, external_id), at
# 2040 bytes at most. A rule's key is (connection_id, kind, casefolded contact); casefolding
# takes a character to at most 6 bytes, so 255 characters stay below the limit there too.
#: Longest ``external_id`` (characters): ids from host apps (UUIDs, database keys) are far
#: shorter.
MAX_EXTERNAL_ID_LENGTH = 255
#: Longest ``connection_id`` (characters).
MAX_CONNECTION_ID_LENGTH = 255
#: Longest supplier or customer name or code a rule may be set for (characters).
MAX_RULE_CONTACT_LENGTH = 255

#: Characters neither XML 1.0 (so KashFlow's SOAP API) nor the journal can carry: C0 controls
#: but tab, line feed and carriage return (NUL among them, which PostgreSQL text refuses), lone
#: surrogates (which UTF-8 cannot encode), and the non-characters U+FFFE and U+FFFF.
_UNSENDABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def unsendable_character(text: str) -> str | None:
    """The first character of *text* that KashFlow or the journal cannot carry, or None."""
    found = _UNSENDABLE.search(text)
    return None if found is None else found.group()


def describe_character(char: str) -> str:
    """How a problem names a character: ``U+0000 (a control character)``."""
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        kind = "half of a UTF-16 pair, alone"
    elif code < 0x20:
        kind = "a control character"
    else:
        kind = "not a character"
    return f"U+{code:04X} ({kind})"


def date_in_range(value: date) -> bool:
    """True when KashFlow holds *value* as the date it is (see :data:`EARLIEST_DATE`)."""
    return EARLIEST_DATE <= value <= LATEST_DATE


def key_problem(what: str, value: object, limit: int | None) -> str | None:
    """Why *value* cannot key a record in storage, or None when it can.

    Args:
        what: the value's name in the message, e.g. ``"external_id"``.
        value: the key to check.
        limit: its longest length, in characters; None for no limit.

    """
    if not isinstance(value, str):
        return f"{what} must be a str, not {type(value).__name__}"
    if limit is not None and len(value) > limit:
        return f"{what} is {len(value)} characters long; the limit is {limit}"
    bad = unsendable_character(value)
    if bad is not None:
        return f"{what} holds the character {describe_character(bad)}, which cannot be stored"
    return None
