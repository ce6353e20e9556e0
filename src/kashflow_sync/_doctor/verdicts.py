"""The SDK's uncertain assumptions, each confirmed, contradicted or left open by one run.

The assumptions are those of ``kashflow-soap-notes.md`` sections 8 and 9 (credit notes) that
an account can settle:
each :class:`~.model.Assumption` says what the SDK assumes, the verdict, and the
evidence. :func:`learned_facts` turns the same findings into the
:class:`~kashflow_sync.AccountFacts` kept for the connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

from .._account.facts import WRITE_PROBED, AccountFacts, NotFoundForm
from .model import Assumption, LookupAnswer, Verdict
from .probe import ProbeFindings

__all__ = ["ASSUMPTIONS", "assess", "learned_facts"]

#: Each assumption doctor can settle: key -> what the SDK assumes.
ASSUMPTIONS: dict[str, str] = {
    "not_found": (
        "A lookup of something that does not exist answers Status NO with words beginning "
        "'There is no ...', or Status OK with an empty object (id and number 0); the SDK reads "
        "both as 'not there'."
    ),
    "success_note": (
        "Only Status decides success: StatusDetail may carry a note on a successful answer."
    ),
    "contact_without_code": ("A supplier can be created without a Code (KashFlow makes one up)."),
    "rate_decimals": (
        "KashFlow keeps 2 or 4 decimals of a line's unit Rate (or every one sent); the SDK "
        "sends lines whose net lands to the penny either way."
    ),
    "rounding": (
        "When KashFlow cuts a Rate's decimals it rounds half up or half to even, not by truncating."
    ),
    "recompute_vat": (
        "KashFlow keeps each line's VatAmount as sent, or recomputes it from the stored line; "
        "the SDK's totals hold either way."
    ),
    "values_in_currency": (
        "On a foreign-currency document a line marked ValuesInCurrency=1 lands as sent (lines "
        "without it may be converted); the SDK marks every such line."
    ),
    "attachments": (
        "An attachment may be refused (for example without Dropbox connected); the document "
        "stays published and the refusal is reported with a remedy."
    ),
    "credit_lines": (
        "A credit note is a receipt or an invoice whose lines carry a minus on the Rate or on "
        "the Quantity, or KashFlow refuses negative lines; the SDK sends the form both take, "
        "tries a negative rate then a negative quantity when unsure, and refuses before "
        "writing where none is taken."
    ),
    "credit_vat": (
        "A credit line's VatAmount, sent negative like its net, is kept as sent (whether "
        "KashFlow keeps any VatAmount as sent or gives it the net's sign)."
    ),
    "credit_refund": (
        "A refund on a credit note is a payment of negative amount, or of positive amount, or "
        "refused; the SDK tries negative then positive, and reports a refusal as a notice."
    ),
    "apply_false": (
        "applyCreditNoteToInvoice answers true when it applied the credit; a false may mean "
        "'not applied' or come even when it was applied, so the SDK reads the credit note's "
        "payments back before believing a false (unless doctor learned what it means)."
    ),
}

_NOT_PROBED = "needs --probe-writes (throwaway documents, deleted afterwards)"


def _not_found(lookups: Sequence[LookupAnswer]) -> Assumption:
    text = ASSUMPTIONS["not_found"]
    if not lookups:
        return Assumption("not_found", text, "open", "the lookups did not run")
    said = "; ".join(
        f"{a.lookup}: " + (f"Status NO '{a.words}'" if a.form == "status_no" else a.form)
        for a in lookups
    )
    if any(a.form in ("status_no", "empty_object") and not a.sdk_reads_absent for a in lookups):
        return Assumption("not_found", text, "contradicted", said)
    if all(a.sdk_reads_absent for a in lookups):
        return Assumption("not_found", text, "confirmed", said)
    return Assumption("not_found", text, "open", said)


def _note(notes: Sequence[str], answers: int) -> Assumption:
    text = ASSUMPTIONS["success_note"]
    if notes:
        return Assumption(
            "success_note", text, "confirmed", f"a successful answer carried '{notes[0][:160]}'"
        )
    read = "the 1 successful answer" if answers == 1 else f"the {answers} successful answers"
    return Assumption("success_note", text, "open", f"no note on {read} doctor read")


def _probed(key: str, findings: ProbeFindings | None, verdict: Verdict | None) -> Assumption:
    text = ASSUMPTIONS[key]
    if findings is None:
        return Assumption(key, text, "open", _NOT_PROBED)
    evidence = findings.evidence.get(key, "not learned")
    return Assumption(key, text, verdict or "open", evidence)


def _probe_verdicts(f: ProbeFindings) -> dict[str, Verdict | None]:
    """The verdict on each assumption only the write probe can settle (None: not learned)."""
    decimals: Verdict | None = None
    if f.rate_decimals is not None:
        decimals = "confirmed" if f.rate_decimals in (2, 4, 6) else "contradicted"
    rounding: Verdict | None = None
    if f.rounding is not None:
        rounding = "contradicted" if f.rounding == "truncate" else "confirmed"
    currency: Verdict | None = None
    if f.currency_in_flagged_line_kept is not None:
        currency = "confirmed" if f.currency_in_flagged_line_kept else "contradicted"
    return {
        "contact_without_code": (
            None
            if f.contact_without_code is None
            else ("confirmed" if f.contact_without_code else "contradicted")
        ),
        "rate_decimals": decimals,
        "rounding": rounding,
        # Either reading of VAT and of attachments is one the SDK handles.
        "recompute_vat": None if f.recompute_vat is None else "confirmed",
        "values_in_currency": currency,
        "attachments": None if f.attachments_accepted is None else "confirmed",
        **_credit_verdicts(f),
    }


def _credit_verdicts(f: ProbeFindings) -> dict[str, Verdict | None]:
    """Every learned reading of credit notes is one the SDK handles; a sign lost is not."""
    lines: Verdict | None = None
    if f.credit_net_kept is False:
        lines = "contradicted"  # a minus KashFlow dropped: the credit note became an invoice
    elif f.credit_lines is not None or len(f.credit_forms) == 2:
        lines = "confirmed"
    vat: Verdict | None = None
    if f.credit_vat_as_sent is not None:
        vat = "confirmed" if f.credit_vat_as_sent else "contradicted"
    apply: Verdict | None = None
    if f.apply_true_applied is False:
        apply = "contradicted"  # true, yet nothing applied: the SDK would trust a true
    elif f.apply_false is not None or f.apply_true_applied:
        apply = "confirmed"
    return {
        "credit_lines": lines,
        "credit_vat": vat,
        "credit_refund": None if f.credit_refund is None else "confirmed",
        "apply_false": apply,
    }


def assess(
    lookups: Sequence[LookupAnswer],
    notes: Sequence[str],
    ok_answers: int,
    findings: ProbeFindings | None,
) -> list[Assumption]:
    """Every assumption with its verdict from this run's findings."""
    result = [_not_found(lookups), _note(notes, ok_answers)]
    if findings is None:
        probed = [k for k in ASSUMPTIONS if k not in ("not_found", "success_note")]
        return [*result, *(_probed(key, None, None) for key in probed)]
    verdicts = _probe_verdicts(findings)
    return [*result, *(_probed(key, findings, v) for key, v in verdicts.items())]


def learned_facts(
    *,
    learned_at: datetime,
    sdk_version: str,
    lookups: Sequence[LookupAnswer],
    notes: Sequence[str],
    ok_answers: int,
    clock_skew: float | None,
    findings: ProbeFindings | None,
) -> AccountFacts | None:
    """The facts this run learned, or None when it learned nothing (e.g. credentials refused)."""
    forms = {a.form for a in lookups}
    if not lookups and not ok_answers and findings is None:
        return None
    not_found: NotFoundForm | None = None
    if forms == {"status_no"} or forms == {"empty_object"}:
        not_found = "status_no" if forms == {"status_no"} else "empty_object"
    elif forms == {"status_no", "empty_object"}:
        not_found = "mixed"
    facts = AccountFacts(
        learned_at=learned_at,
        sdk_version=sdk_version,
        not_found=not_found,
        not_found_words={
            a.lookup: a.words if a.form == "status_no" else ""
            for a in lookups
            if a.form in ("status_no", "empty_object")
        },
        success_note=bool(notes) if ok_answers else None,
        clock_skew=None if clock_skew is None else round(clock_skew, 1),
    )
    if findings is None:
        return facts
    return attrs.evolve(
        facts,
        writes_probed_at=learned_at,
        writes_probed_by=sdk_version,
        **{name: getattr(findings, name) for name in WRITE_PROBED},
    )
