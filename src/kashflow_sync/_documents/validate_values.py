"""Validation of values every document carries: dates KashFlow can hold, texts it can carry.

Texts are checked twice: for characters KashFlow or the journal cannot carry at all (NUL, a lone
surrogate), and for invisible ones that would write something other than what a person sees: a
bidirectional control in a supplier name creates a new supplier that looks like the existing
one, a zero-width space in a reference defeats the duplicate check, a C1 control is text decoded
with the wrong encoding.

Called by :func:`~.validate.validate_document`; like the rest of validation these
are pure functions over values that report into its problem collector.
"""

from __future__ import annotations

from datetime import date

from .._limits import (
    EARLIEST_DATE,
    LATEST_DATE,
    date_in_range,
    describe_character,
    unsendable_character,
)
from .model import Document
from .names import (
    BIDI_CONTROLS,
    C1_CONTROLS,
    ZERO_WIDTH,
    describe_characters,
    hidden_characters,
)
from .problems import DATE_OUT_OF_RANGE, EMPTY_CURRENCY, HIDDEN_CHARACTERS, INVALID_CHARACTERS
from .validate_lines import ProblemSink

__all__ = ["check_characters", "check_currency", "check_dates", "document_texts"]

#: What is refused where. A name or an attachment's name identifies something a person picks by
#: sight: no bidirectional control. A reference is matched by the duplicate checks: nothing
#: invisible at all (a zero-width space in a name is harmless: names are matched without them).
#: Descriptions may hold right-to-left text, which needs its bidi marks. No text holds C1.
_HIDDEN_IN_NAMES = BIDI_CONTROLS | C1_CONTROLS
_HIDDEN: dict[str, frozenset[str]] = {
    "supplier": _HIDDEN_IN_NAMES,
    "customer": _HIDDEN_IN_NAMES,
    "attachment": _HIDDEN_IN_NAMES,
    "reference": _HIDDEN_IN_NAMES | ZERO_WIDTH,
}
_WHAT = {
    "supplier": "supplier name",
    "customer": "customer name",
    "attachment": "attachment's file name",
    "reference": "reference",
}


def check_dates(out: ProblemSink, document: Document) -> None:
    """Report each date of *document* that KashFlow would not read back as itself."""
    dates: list[tuple[str, str, date | None]] = [
        ("issue_date", "issue date", document.issue_date),
        ("due_date", "due date", document.due_date),
    ]
    if document.payment is not None:
        dates.append(("payment.paid_on", "payment date", document.payment.paid_on))
    for field, words, value in dates:
        if value is None or date_in_range(value):
            continue
        early = value < EARLIEST_DATE
        out.add(
            DATE_OUT_OF_RANGE,
            field,
            f"The {words} {value} is {'before' if early else 'after'} the dates KashFlow holds "
            f"({EARLIEST_DATE} to {LATEST_DATE}).",
            "Enter the date printed on the invoice"
            + (
                f"; {date.min} usually stands for a missing date."
                if early
                else "; check the year, which may have been mis-read."
            ),
        )


def document_texts(document: Document) -> list[tuple[str, str]]:
    """``(field, text)`` for every text of *document* that may reach KashFlow or storage."""
    candidates: list[tuple[str, object]] = [
        ("supplier" if document.side == "purchase" else "customer", document.contact),
        ("reference", document.reference),
        ("currency", document.currency),
        ("location", document.location),
    ]
    candidates += [
        (f"lines[{i}].description", line.description) for i, line in enumerate(document.lines)
    ]
    if document.attachment is not None:
        candidates.append(("attachment", document.attachment.filename))
        candidates.append(("attachment.content_type", document.attachment.content_type))
    if document.payment is not None:
        candidates.append(("payment.method", document.payment.method))
        candidates.append(("payment.bank_account", document.payment.bank_account))
    return [(field, text) for field, text in candidates if isinstance(text, str) and text]


def check_currency(out: ProblemSink, document: Document) -> None:
    """Report a currency given as an empty text, which would be read as the home currency."""
    if document.currency is not None and not document.currency.strip():
        out.add(
            EMPTY_CURRENCY,
            "currency",
            f"The currency is empty ({document.currency!r}); it would have been published in "
            "the account's home currency.",
            "Give the currency's code (e.g. GBP, EUR, USD), or leave the currency out (None, "
            "or null in a document file) for the account's home currency.",
        )


def check_characters(out: ProblemSink, document: Document) -> set[str]:
    """Report texts KashFlow or the journal cannot carry; return the fields that hold one.

    A lone surrogate cannot be encoded to send and NUL cannot be stored in PostgreSQL: found
    here, they stop the publish before any request rather than halfway through it. Invisible
    characters that make a name or reference look like another are reported too (see
    :func:`_check_hidden`); they can be stored, so their fields are not returned.
    """
    bad_fields: set[str] = set()
    for field, text in document_texts(document):
        bad = unsendable_character(text)
        if bad is None:
            _check_hidden(out, field, text)
            continue
        bad_fields.add(field)
        out.add(
            INVALID_CHARACTERS,
            field,
            f"The {field} holds the character {describe_character(bad)}, which KashFlow's API "
            "cannot carry.",
            "Remove the stray character (often left by copy-and-paste, OCR or a text decoded "
            "with the wrong encoding).",
        )
    return bad_fields


def _check_hidden(out: ProblemSink, field: str, text: str) -> None:
    """Report the invisible characters *text* may not hold in *field* (see :data:`_HIDDEN`)."""
    found = hidden_characters(text, _HIDDEN.get(field, C1_CONTROLS))
    if not found:
        return
    what = _WHAT.get(field, "text")
    seen = "".join(ch for ch in text if ch not in found)
    controls = [ch for ch in found if ch in C1_CONTROLS]
    out.add(
        HIDDEN_CHARACTERS,
        field,
        f"The {what} {text!r} holds {describe_characters(found)}: invisible, "
        + (
            "a C1 control is left by text decoded with the wrong encoding."
            if len(controls) == len(found)
            else f"so it would be written as another text than the {seen!r} it looks like."
        ),
        f"Retype the {what} without {'it' if len(found) == 1 else 'them'} (copy-and-paste from "
        "web pages and PDFs, and text decoded with the wrong encoding, leave such characters); "
        + (
            "a name or reference that looks the same must be the same, or KashFlow gets a new "
            "supplier, customer or duplicate invoice that nobody can tell apart."
            if field in _HIDDEN
            else "they would reach KashFlow as stray characters."
        ),
    )
