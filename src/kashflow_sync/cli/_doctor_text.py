"""The doctor's report as a person reads it: checks, tables, verdicts, what the probe left.

Drawn through the command line's :class:`~._output.Console` (rich), so it follows the same
rules for colour, width and ASCII fallbacks as every other command. The docs' sample output is
drawn by this same function from a real run against the fake KashFlow.
"""

from __future__ import annotations

from .._account.facts import AccountFacts
from .._doctor.model import Check, DoctorReport
from ._output import Console

__all__ = ["learned_lines", "show_report"]

_VERDICT_MARK = {"confirmed": ("✓", "green"), "contradicted": ("✗", "red"), "open": ("·", "dim")}


def _check(console: Console, check: Check) -> None:
    text = f"{check.title}: {check.summary}"
    if check.outcome == "ok":
        console.ok(text)
    elif check.outcome == "problem":
        console.fail(text)
    elif check.outcome == "warning":
        console.warn(text)
    else:
        console.print(console.styled("·", "dim"), " ", text)
    if check.remedy and check.outcome != "ok":
        console.wrapped(check.remedy, indent=2, prefix=console.styled("→ ", "cyan"))


def _skew(seconds: float) -> str:
    if abs(seconds) < 1:
        return "under a second"
    return f"{abs(seconds):.0f}s ({'KashFlow ahead' if seconds > 0 else 'KashFlow behind'})"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _yes_no(value: bool | None, yes: str, no: str) -> str | None:
    return None if value is None else (yes if value else no)


_CREDIT_LINES = {
    "either": "a minus on the Rate or the Quantity",
    "rate": "a minus on the Rate only",
    "quantity": "a minus on the Quantity only",
    "refused": "refused: no negative lines",
}
_REFUNDS = {
    "negative": "a negative payment",
    "positive": "a positive payment",
    "refused": "refused",
}
_APPLY_FALSE = {
    "not_applied": "not applied",
    "applied": "may be applied all the same (read back)",
}


def learned_lines(facts: AccountFacts) -> list[tuple[str, str]]:
    """``(fact, what was learned)`` in words, for the facts this run settled."""
    forms = {"status_no": "Status NO", "empty_object": "Status OK, empty object"}
    rows: list[tuple[str, str | None]] = [
        ("not found answered as", forms.get(facts.not_found or "", facts.not_found)),
        ("success notes", _yes_no(facts.success_note, "seen", "not seen")),
        ("clock skew", None if facts.clock_skew is None else _skew(facts.clock_skew)),
        (
            "Rate decimals kept",
            None
            if facts.rate_decimals is None
            else ("every one sent (6)" if facts.rate_decimals >= 6 else str(facts.rate_decimals)),
        ),
        ("Rate rounding", (facts.rounding or "").replace("_", " ") or None),
        ("line VAT", _yes_no(facts.recompute_vat, "recomputed by KashFlow", "kept as sent")),
        (
            "foreign-currency lines",
            _yes_no(
                facts.values_in_currency,
                "converted unless ValuesInCurrency=1",
                "kept as sent, flagged or not",
            ),
        ),
        ("attachments", _yes_no(facts.attachments_accepted, "accepted", "refused")),
        ("supplier without a Code", _yes_no(facts.contact_without_code, "accepted", "refused")),
        ("credit-note lines", _CREDIT_LINES.get(facts.credit_lines or "")),
        (
            "credit-note VAT",
            _yes_no(facts.credit_vat_kept, "kept as sent", "given the net's sign or worked out"),
        ),
        ("refund on a credit note", _REFUNDS.get(facts.credit_refund or "")),
        ("apply answering false", _APPLY_FALSE.get(facts.apply_false or "")),
    ]
    return [(name, value) for name, value in rows if value is not None]


def show_report(
    console: Console,
    report: DoctorReport,
    *,
    username: str,
    saved: str | None = None,
    cassette: str | None = None,
) -> None:
    """Draw *report* on *console*.

    Args:
        console: where to draw.
        report: what doctor found.
        username: shown in the heading (the terminal only; never in JSON or cassettes).
        saved: where the facts were stored, if they were.
        cassette: the cassette file written by ``--record``, if any.

    """
    console.print(
        console.styled("kashflow-sync doctor", "bold"), f" · {report.endpoint} as {username!r}"
    )
    if report.writes_probed:
        console.print(
            "Probing writes: a throwaway supplier and customer with receipts, an invoice and "
            "credit notes, deleted afterwards."
        )
    else:
        console.print("Read-only: only Get... lookups are sent (--probe-writes also tries writes).")

    console.heading("Checks")
    for check in report.checks:
        _check(console, check)

    if report.lists:
        console.heading("Full list sync (into a throwaway in-memory storage)")
        timing_rows = [(t.name, f"{t.items:,}", f"{t.seconds:.3f}") for t in report.lists]
        console.table(("list", "items", "seconds"), timing_rows, align="lrr")

    if report.lookups:
        console.heading("Lookups of things that do not exist")
        rows = [
            (
                a.lookup,
                a.operation,
                {"status_no": "Status NO", "empty_object": "empty object"}.get(a.form, a.form),
                a.words or "-",
                "yes" if a.sdk_reads_absent else "NO",
            )
            for a in report.lookups
        ]
        console.table(("lookup", "operation", "answer", "KashFlow's words", "SDK: absent"), rows)

    console.heading("The SDK's uncertain assumptions")
    if report.stopped_by is not None or not report.lookups:
        console.print("  Not checked: the checks above stopped before reaching them.")
    for assumption in report.assumptions if report.lookups else ():
        mark, colour = _VERDICT_MARK[assumption.verdict]
        console.print(
            console.styled(mark, f"bold {colour}"),
            " ",
            console.styled(f"{assumption.verdict:<12}", colour),
            " ",
            console.styled(assumption.key, "bold"),
        )
        console.wrapped(assumption.assumption, indent=15)
        console.wrapped(assumption.evidence, indent=15, prefix=console.styled("seen: ", "dim"))

    probe = report.probe
    if probe is not None:
        console.heading("Write probe")
        for note in probe.notes:
            console.print("  ", note)
        for item in probe.items:
            if item.state == "deleted":
                console.ok(f"deleted {item.label}")
            else:
                console.fail(f"{item.state.upper()}: {item.label}: {item.reason}")
                console.wrapped(item.how_to_remove, indent=2, prefix=console.styled("→ ", "cyan"))
        for change in probe.lasting:
            console.warn(f"kept on purpose: {change}")
        if probe.items and not probe.left:
            console.ok("everything the probe made is deleted again")

    if report.facts is not None:
        console.heading("Learned")
        console.table(("fact", "this account"), learned_lines(report.facts))

    console.print()
    writes = report.writes_sent
    lookups = len(report.sent) - len(writes)
    console.print(
        f"Sent {_count(len(report.sent), 'request')}: {_count(lookups, 'lookup')}, "
        + (
            f"{_count(len(writes), 'write')} ({', '.join(sorted(set(writes)))})."
            if writes
            else "no writes."
        )
    )
    if saved:
        console.print(f"What was learned is stored for connection {saved}.")
    if cassette:
        console.print(f"Cassette (credentials and contacts scrubbed): {cassette}")
    left = len(probe.left) if probe is not None else 0
    if report.interrupted:
        console.fail(
            "interrupted (Ctrl-C): the checks after that point did not run"
            + (f"; {_count(left, 'thing')} left in KashFlow (see above)" if left else "")
        )
    elif report.ok:
        console.ok("No problems found.")
    else:
        count = len(report.problems) + left
        console.fail(f"{_count(count, 'problem')} found: see the remedies above.")
