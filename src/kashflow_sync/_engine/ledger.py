"""Finding a document in KashFlow: duplicates before the first send, reconciling after.

Before a document's first send, the same contact + reference + gross already in KashFlow is a
duplicate keyed in by hand or by another tool (``duplicate_in_ledger``). After an uncertain send,
the document is looked up by contact + reference + date + net + VAT to learn whether KashFlow
recorded it; a match another journal entry created is never taken for ours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import errors
from .._documents import Document, Problem
from .._lists import ListsSnapshot
from .._problem_codes import DUPLICATE_IN_LEDGER
from .._wire import document_lines
from ..soap.records import LedgerDocument
from .effects import Flow, documents_for_contact, get_document, get_state
from .keys import document_owner_key

__all__ = ["find_in_ledger", "reconcile", "refuse_ledger_duplicate"]


def _kind_word(document: Document) -> str:
    return "receipt" if document.kind == "purchase" else "invoice"


def find_in_ledger(
    document: Document, contact_id: int, *, exact: bool = True
) -> Flow[list[LedgerDocument]]:
    """Documents in KashFlow with the same contact, reference and total.

    ``exact`` (reconciling our own send) also wants the same date and the same net and VAT;
    otherwise (looking for someone else's copy) reference and gross decide.
    """
    reference = document.reference.strip().casefold()
    held = yield from documents_for_contact(document.kind, contact_id)
    return [
        d
        for d in held
        if d.reference.strip().casefold() == reference
        and (
            (
                d.issue_date == document.issue_date
                and d.net == document.net
                and d.vat == document.vat
            )
            if exact
            else d.gross == document.gross
        )
    ]


def refuse_ledger_duplicate(document: Document, contact_id: int) -> Flow[None]:
    """Raise ``duplicate_in_ledger`` if KashFlow already holds this invoice from elsewhere.

    Runs before the first send only (journal state ``claimed``): nothing of ours can be in
    KashFlow yet, so a match was keyed in by hand, published by another tool, or published by a
    run whose journal was lost (a MemoryStorage process that died).
    """
    if not document.reference.strip():
        return
    found = yield from find_in_ledger(document, contact_id, exact=False)
    if not found:
        return
    numbers = ", ".join(str(d.number) for d in found)
    raise errors.ValidationError(
        [
            Problem(
                code=DUPLICATE_IN_LEDGER,
                field="reference",
                message=(
                    f"KashFlow already holds {_kind_word(document)} {numbers} from "
                    f"{document.contact!r} with reference {document.reference!r} and total "
                    f"{document.gross}"
                ),
                remedy=(
                    "Check that KashFlow document; if this is a different invoice, correct its "
                    "reference; if it is the same one, do not publish it again."
                ),
            )
        ],
        external_id=document.external_id,
    )


def reconcile(
    document: Document, contact_id: int, connection_id: str, lists: ListsSnapshot
) -> Flow[LedgerDocument | None]:
    """After an uncertain send: the document if KashFlow has it, None if it surely has not.

    Raises:
        PublishUncertainError: the lookup failed, or several documents match
            (``publish_ambiguous``: the SDK never guesses).

    """
    try:
        matches: list[LedgerDocument] = []
        for candidate in (yield from find_in_ledger(document, contact_id)):
            # A document another journal entry created is not ours, however alike.
            owner = yield from get_state(
                connection_id, document_owner_key(document.kind, candidate.number)
            )
            if owner in (None, document.external_id):
                matches.append(candidate)
        if matches and not document.reference.strip():
            # Without a reference, contact + date + totals is weak: the lines must match too.
            lines = document_lines(document, lists)
            alike = []
            for match in matches:
                if (yield from _same_lines(document.kind, match, lines)):
                    alike.append(match)
            matches = alike
    except errors.KashFlowError as exc:
        raise errors.PublishUncertainError(
            f"could not check whether KashFlow recorded {document.external_id!r}",
            detail=str(exc),
        ) from exc
    if len(matches) > 1:
        numbers = ", ".join(str(m.number) for m in matches)
        raise errors.PublishUncertainError(
            f"KashFlow holds several documents matching {document.external_id!r} "
            f"(numbers {numbers}); not guessing which one is this document's",
            code="publish_ambiguous",
            remedy="Check those documents in KashFlow and delete the extra copies by hand.",
            retryable=False,
        )
    return matches[0] if matches else None


def _same_lines(
    kind: str, candidate: LedgerDocument, lines: Sequence[Mapping[str, Any]]
) -> Flow[bool]:
    held = yield from get_document(kind, candidate.number)
    if held is None or len(held.lines) != len(lines):
        return False
    return all(
        (h.quantity, h.rate, h.vat_amount, h.charge_type, h.description)
        == (w["Quantity"], w["Rate"], w["VatAmount"], w["ChargeType"], w["Description"])
        for h, w in zip(held.lines, lines, strict=True)
    )
