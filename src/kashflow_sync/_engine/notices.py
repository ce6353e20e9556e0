"""What a published document's recorded steps tell a person: one place, for every result.

A fresh publish and an ``already_published`` answer give the same ``applied`` and notices,
because both are read from the journal's attempts: whether a credit note was applied to the
invoice it credits (and if not, why and what to click in KashFlow), and whether KashFlow was
later found to hold the document twice.
"""

from __future__ import annotations

from collections.abc import Iterable

from .._documents.model import Problem, PublishAttempt, kashflow_noun
from .._documents.problems import (
    CREDIT_NOT_APPLIED,
    DUPLICATED_IN_KASHFLOW,
    REFUND_NOT_RECORDED,
    SUPPLIER_CREDIT_NOT_ALLOCATED,
)
from .._journal.entry import JournalEntry
from .._journal.states import DUPLICATED
from .settle import current_attempts
from .verify import other_copies

__all__ = ["APPLY_DONE", "step_notices"]

#: The outcomes that end a credit note's apply step: it is never sent again after one.
APPLY_DONE = frozenset({"applied", "found", "not_applied", "refused", "not_possible"})


def _last(attempts: Iterable[PublishAttempt], step: str) -> PublishAttempt | None:
    found = [a for a in attempts if a.step == step]
    return found[-1] if found else None


def step_notices(
    entry: JournalEntry, also: Iterable[PublishAttempt] = ()
) -> tuple[bool | None, tuple[Problem, ...]]:
    """``(applied, notices)`` for *entry*, from its attempts (and *also*, recorded since).

    ``applied`` is None when nothing was to be applied (an invoice, or a credit note naming no
    invoice), True when KashFlow applied the credit, False when it did not or cannot.
    """
    attempts = (*current_attempts(entry), *also)
    noun = kashflow_noun(entry.kind)
    this = f"{noun} {entry.number}" if entry.number else f"{noun} {entry.external_id!r}"
    notices: list[Problem] = []
    applied: bool | None = None
    apply = _last((a for a in attempts if a.outcome in APPLY_DONE), "apply")
    if apply is not None:
        target, _, reason = apply.detail.partition(": ")
        if apply.outcome in ("applied", "found"):
            applied = True
        elif apply.outcome == "not_possible":
            applied = False
            notices.append(
                Problem(
                    SUPPLIER_CREDIT_NOT_ALLOCATED,
                    "credits",
                    f"{this} is in KashFlow; KashFlow's API cannot allocate a supplier credit "
                    f"note to the {target} it credits",
                    f"In KashFlow, open the supplier's {target} and use Apply Credit to "
                    f"allocate {this} to it (or leave it as credit on the supplier's account).",
                    severity="notice",
                )
            )
        else:
            applied = False
            notices.append(
                Problem(
                    CREDIT_NOT_APPLIED,
                    "credits",
                    f"{this} is in KashFlow but was not applied to {target}: {reason}",
                    f"In KashFlow, open {this} and apply it to {target} by hand (check that "
                    "the invoice still has an amount outstanding and that the account has a "
                    "bank account and a sales payment method); or leave it as credit on the "
                    "customer's account.",
                    severity="notice",
                )
            )
    refund = _last(attempts, "payment")
    if refund is not None and refund.outcome == "refused":
        amount, _, said = refund.detail.partition(": ")
        notices.append(
            Problem(
                REFUND_NOT_RECORDED,
                "payment",
                f"{this} is in KashFlow, but KashFlow refused the refund of {amount} on it: {said}",
                f"Record the refund against {this} in KashFlow by hand (the account takes no "
                "refund on a credit note through the API).",
                severity="notice",
            )
        )
    if entry.state == DUPLICATED:
        others = ", ".join(map(str, other_copies(entry))) or "?"
        notices.append(
            Problem(
                DUPLICATED_IN_KASHFLOW,
                "external_id",
                f"KashFlow holds this document twice ({this} and {others}): an earlier send was "
                "applied after it had been proven absent",
                f"Delete the other copy, {noun} {others}, in KashFlow by hand (keep {this}), "
                "then run `kashflow-sync verify` (client.verify()) to mark it published again.",
                severity="notice",
            )
        )
    return applied, tuple(notices)
