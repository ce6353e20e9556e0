"""Validation of values every document carries: dates KashFlow can hold, texts it can carry.

Called by :func:`~kashflow_sync._validate.validate_document`; like the rest of validation these
are pure functions over values that report into its problem collector.
"""

from __future__ import annotations

from datetime import date

from ._documents import Document
from ._limits import (
    EARLIEST_DATE,
    LATEST_DATE,
    date_in_range,
    describe_character,
    unsendable_character,
)
from ._problem_codes import DATE_OUT_OF_RANGE, INVALID_CHARACTERS
from ._validate_lines import ProblemSink

__all__ = ["check_characters", "check_dates", "document_texts"]


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


def check_characters(out: ProblemSink, document: Document) -> set[str]:
    """Report texts KashFlow or the journal cannot carry; return the fields that hold one.

    A lone surrogate cannot be encoded to send and NUL cannot be stored in PostgreSQL: found
    here, they stop the publish before any request rather than halfway through it.
    """
    bad_fields: set[str] = set()
    for field, text in document_texts(document):
        bad = unsendable_character(text)
        if bad is None:
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
