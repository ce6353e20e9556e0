"""Validation of one document line: description length, category, VAT rate, amounts, project.

:func:`check_line` is called by :func:`~.validate.validate_document` for each line
and reports into its problem collector; like the rest of validation it is pure over values.
"""

from __future__ import annotations

from typing import Any, Protocol

from .._account.items import NominalCode
from .._account.lists import ListsSnapshot
from .amounts import EXEMPT_VAT_RATE, VAT_TOLERANCE, has_pennies_only, vat_from_rate
from .model import Document, Line
from .problems import (
    ARCHIVED_CATEGORY,
    ARCHIVED_PROJECT,
    MAX_DESCRIPTION_LENGTH,
    MISSING_CATEGORY,
    MISSING_VAT_RATE,
    TEXT_TOO_LONG,
    TOO_MANY_DECIMALS,
    UNKNOWN_CATEGORY,
    UNKNOWN_PROJECT,
    UNKNOWN_VAT_RATE,
    VAT_EXCEEDS_NET,
    VAT_MISMATCH,
    WRONG_CATEGORY_KIND,
    ZERO_QUANTITY,
    ProblemCode,
)

__all__ = ["ProblemSink", "check_line", "gone"]


class ProblemSink(Protocol):
    """Where checks report problems; validation's collector words them with their source."""

    def add(self, code: ProblemCode, field: str, message: str, remedy: str) -> None:
        """Record one problem with its code, field path, message and remedy."""


def gone(item: Any) -> str:
    """How an archived list item is described: removed from KashFlow, or archived there."""
    return "was removed from KashFlow" if item.removed else "is archived in KashFlow"


def check_line(
    out: ProblemSink, document: Document, index: int, line: Line, lists: ListsSnapshot
) -> None:
    """Check line *index* (from 0) of *document* against the lists; report problems into *out*."""
    path = f"lines[{index}]"
    if line.description is not None and len(line.description.strip()) > MAX_DESCRIPTION_LENGTH:
        out.add(
            TEXT_TOO_LONG,
            f"{path}.description",
            f"Line {index + 1}'s description is {len(line.description.strip())} characters; "
            f"KashFlow keeps {MAX_DESCRIPTION_LENGTH}.",
            f"Shorten the description to {MAX_DESCRIPTION_LENGTH} characters.",
        )
    _check_category(out, document, index, line, lists)
    rate_known = _check_vat_rate(out, index, line, lists)
    _check_amounts(out, index, line, rate_known)
    if line.project is not None:
        project = lists.projects.find(line.project)
        if project is None:
            out.add(
                UNKNOWN_PROJECT,
                f"{path}.project",
                f"Line {index + 1}'s project {line.project} is not in KashFlow.",
                "Pick an existing project number, or create the project in KashFlow and "
                "refresh lists.",
            )
        elif project.archived:
            out.add(
                ARCHIVED_PROJECT,
                f"{path}.project",
                f"Line {index + 1}'s project {project.number} ({project.name}) {gone(project)}.",
                "Pick an active project, or reopen the project in KashFlow and refresh lists.",
            )


def _check_category(
    out: ProblemSink, document: Document, index: int, line: Line, lists: ListsSnapshot
) -> None:
    field = f"lines[{index}].category"
    if line.category is None:
        out.add(
            MISSING_CATEGORY,
            field,
            f"Line {index + 1} has no category (nominal code).",
            "Choose a nominal code for the line, or set a category on the "
            f"{'supplier' if document.side == 'purchase' else 'customer'} rule.",
        )
        return
    code: NominalCode | None = lists.nominal_codes.find(line.category)
    if code is None:
        out.add(
            UNKNOWN_CATEGORY,
            field,
            f"Line {index + 1}'s nominal code {line.category} is not in the chart of accounts.",
            "Refresh lists, then pick an existing nominal code (or create it in KashFlow).",
        )
        return
    if code.archived:
        out.add(
            ARCHIVED_CATEGORY,
            field,
            f"Line {index + 1}'s nominal code {code.code} ({code.name}) {gone(code)}.",
            "Pick another nominal code, or unarchive it in KashFlow and refresh lists.",
        )
        return
    if document.side == "purchase" and code.is_sales:
        out.add(
            WRONG_CATEGORY_KIND,
            field,
            f"Line {index + 1}'s nominal code {code.code} ({code.name}) is a sales (turnover) "
            "code, used on a purchase.",
            "Pick a cost-of-sale or expense nominal code for a purchase.",
        )
    elif document.side == "sales" and code.is_purchase:
        out.add(
            WRONG_CATEGORY_KIND,
            field,
            f"Line {index + 1}'s nominal code {code.code} ({code.name}) is a cost-of-sale or "
            "expense code, used on a sales invoice.",
            "Pick a turnover (sales) nominal code for a sales invoice.",
        )


def _check_vat_rate(out: ProblemSink, index: int, line: Line, lists: ListsSnapshot) -> bool:
    """Check the line's VAT rate; True when it is one KashFlow will take."""
    field = f"lines[{index}].vat_rate"
    rate = line.vat_rate
    if rate is None:
        out.add(
            MISSING_VAT_RATE,
            field,
            f"Line {index + 1} has no VAT rate.",
            "Enter the line's VAT rate (20 for 20%, -1 for exempt), or set one on the rule.",
        )
        return False
    if rate == EXEMPT_VAT_RATE:
        return True  # KashFlow's "n/a" code on a line, whether or not GetVATRates lists it.
    matches = [r for r in lists.vat_rates if r.rate == rate]
    if any(not r.archived for r in matches):
        return True
    state = "is no longer offered" if matches else "is not offered"
    offered = ", ".join(f"{r.rate.normalize():f}" for r in lists.vat_rates.active) or "(none)"
    out.add(
        UNKNOWN_VAT_RATE,
        field,
        f"Line {index + 1}'s VAT rate {rate.normalize():f}% {state} by the KashFlow account.",
        f"Use one of the account's VAT rates: {offered} (-1 for exempt); refresh lists if the "
        "rate was added in KashFlow.",
    )
    return False


def _check_amounts(out: ProblemSink, index: int, line: Line, rate_known: bool) -> None:
    path = f"lines[{index}]"
    if not has_pennies_only(line.net):
        out.add(
            TOO_MANY_DECIMALS,
            f"{path}.net",
            f"Line {index + 1}'s net {line.net} has more than two decimal places.",
            "Round the net amount to the penny.",
        )
    if line.vat is not None and not has_pennies_only(line.vat):
        out.add(
            TOO_MANY_DECIMALS,
            f"{path}.vat",
            f"Line {index + 1}'s VAT {line.vat} has more than two decimal places.",
            "Round the VAT amount to the penny.",
        )
    if line.quantity == 0:
        out.add(
            ZERO_QUANTITY,
            f"{path}.quantity",
            f"Line {index + 1} has quantity 0.",
            "Enter the number of units (1 when the line is a single amount).",
        )
    if line.vat is None:
        return
    if abs(line.vat) > abs(line.net):
        out.add(
            VAT_EXCEEDS_NET,
            f"{path}.vat",
            f"Line {index + 1}'s VAT {line.vat} is more than its net {line.net}.",
            "Check the line's net and VAT: they may have been swapped or mis-read.",
        )
        return
    if rate_known and line.vat_rate is not None:
        expected = vat_from_rate(line.net, line.vat_rate)
        if abs(line.vat - expected) > VAT_TOLERANCE:
            out.add(
                VAT_MISMATCH,
                f"{path}.vat",
                f"Line {index + 1}'s VAT {line.vat} does not match {line.net} at "
                f"{line.vat_rate.normalize():f}% ({expected}).",
                "Correct the VAT amount or the VAT rate so they agree (KashFlow rounds per line).",
            )
