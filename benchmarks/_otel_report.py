"""The statistics and tables of ``bench_otel.py``: CPU, instructions and the verdicts."""

from __future__ import annotations

import argparse
import math
import statistics
from typing import Any

from _otel_workers import MODES

#: The bar of issue 24: exporting costs under 5% of a publish.
BAR = 1.05


#: Per storage and mode, the CPU worker's chunk reports, run by run.
Chunks = dict[str, dict[str, list[dict[str, Any]]]]

#: Per (storage, mode, layout), the callgrind report with ``per_publish`` instructions.
Counts = dict[tuple[str, str, int], dict[str, Any]]


# ---------------------------------------------------------------------- CPU time


def median_ci(values: list[float], level: float = 0.95) -> tuple[float, float]:
    """A distribution-free confidence interval of the median of *values* (order statistics).

    The median lies between the k-th smallest and the k-th largest value with probability
    1 - 2 P(Binomial(n, 1/2) < k); k is the largest for which that is at least *level*.
    """
    ordered = sorted(values)
    n = len(ordered)
    k, below = 0, 0.0
    while k < n // 2:
        below += math.comb(n, k) / 2**n  # P(Binomial(n, 1/2) <= k)
        if 1 - 2 * below < level:
            break
        k += 1
    k = max(k, 1)
    return ordered[k - 1], ordered[n - k]


def paired(
    results: dict[str, list[dict[str, Any]]], mode: str, against: str = "before"
) -> list[float]:
    """Per run: *mode*'s chunk median over *against*'s chunk median of the same run."""
    return [
        statistics.median(m["cpu"]) / statistics.median(b["cpu"])
        for m, b in zip(results[mode], results[against], strict=True)
    ]


def print_cpu(args: argparse.Namespace, results: Chunks) -> None:
    """The CPU table, one block per storage."""
    print(
        f"\nCPU per publish (receipt with attachment and payment), client process only; "
        f"{args.runs} chunks x {args.chunk} publishes per mode and storage, alternating, "
        f"medians; baseline {args.baseline}, other modes on {args.tree or 'the working tree'}"
    )
    print(
        f"  {'storage':<10} {'mode':<12} {'CPU ms':>7} {'ratio':>6} {'paired':>7} "
        f"{'95% CI':>13} {'wall ms':>8} {'KashFlow':>9} {'storage':>8} {'spans':>6}"
        f"  imported opentelemetry"
    )
    for storage, by_mode in results.items():
        cpu_of = {m: [t for r in by_mode[m] for t in r["cpu"]] for m in MODES}
        base = statistics.median(cpu_of["before"])
        for mode in MODES:
            rows = by_mode[mode]
            cpu = statistics.median(cpu_of[mode])
            wall = statistics.median(t for r in rows for t in r["wall"])
            pairs = paired(by_mode, mode)
            low, high = median_ci(pairs)
            print(
                f"  {storage:<10} {mode:<12} {cpu * 1000:7.3f} {cpu / base:6.3f} "
                f"{statistics.median(pairs):7.3f} {f'{low:.3f}..{high:.3f}':>13} "
                f"{wall * 1000:8.3f} "
                f"{statistics.median(r['kashflow_calls'] for r in rows):9.1f} "
                f"{statistics.median(r['storage_calls'] for r in rows):8.1f} "
                f"{statistics.median(r['spans'] for r in rows):6.1f}  "
                f"{rows[0]['otel_imported']} ({rows[0]['telemetry']})"
            )
        chunks = [statistics.median(r["cpu"]) * 1000 for r in by_mode["before"]]
        print(
            f"  {storage:<10} 'before' chunk medians range (ms): "
            f"{min(chunks):.3f} .. {max(chunks):.3f}"
        )


# ---------------------------------------------------------------------- instructions


def layouts_of(counts: Counts, storage: str, mode: str) -> list[float]:
    """*mode*'s instructions per publish on *storage*, one per layout it was measured in."""
    return [
        float(c["per_publish"])
        for (s, m, _), c in sorted(counts.items())
        if (s, m) == (storage, mode)
    ]


def mean_of(counts: Counts, storage: str, mode: str, layouts: int) -> float:
    """*mode*'s mean over the ``--layouts`` layouts (not the ``--repeat`` one)."""
    return statistics.mean(float(counts[storage, mode, k]["per_publish"]) for k in range(layouts))


def min_max_ratio(
    counts: Counts, storage: str, mode: str, against: str, layouts: int
) -> tuple[float, float]:
    """The lowest and highest of *mode* / *against* on *storage*, layout by layout."""
    ratios = [
        counts[storage, mode, k]["per_publish"] / counts[storage, against, k]["per_publish"]
        for k in range(layouts)
    ]
    return min(ratios), max(ratios)


def repeatability(counts: Counts) -> dict[str, float]:
    """Per storage: the largest relative range (max - min over mean) of a mode's layouts."""
    spread: dict[str, float] = {}
    for storage, mode, _ in counts:
        values = layouts_of(counts, storage, mode)
        if len(values) > 1:
            rel = (max(values) - min(values)) / statistics.mean(values)
            spread[storage] = max(spread.get(storage, 0.0), rel)
    return spread


def instruction_noise(spread: dict[str, float], storage: str) -> float:
    """What "within noise" allows on *storage*: twice the measured spread, at least 0.1%."""
    return max(2 * spread.get(storage, max(spread.values(), default=0.0)), 0.001)


def print_instructions(args: argparse.Namespace, storages: list[str], counts: Counts) -> None:
    """The instructions table, and how far the repeated measurement agreed."""
    print(
        f"\nInstructions per publish under callgrind: (I({args.n2}) - I({args.n1})) / "
        f"{args.n2 - args.n1}, after {args.cg_warmup} warm-up publishes; PYTHONHASHSEED=0; "
        f"mean over {args.layouts} layout(s); "
        f"baseline {args.baseline}, other modes on {args.tree or 'the working tree'}"
    )
    print(
        f"  {'storage':<10} {'mode':<12} {'M instr':>9} {'range':>17} {'ratio':>7} "
        f"{'overhead':>9} {'/absent':>8} {'spans':>6}  imported opentelemetry"
    )
    for storage in storages:
        base = mean_of(counts, storage, "before", args.layouts)
        absent = mean_of(counts, storage, "absent", args.layouts)
        for mode in MODES:
            count = counts[storage, mode, 0]
            value = mean_of(counts, storage, mode, args.layouts)
            values = layouts_of(counts, storage, mode)
            print(
                f"  {storage:<10} {mode:<12} {value / 1e6:9.3f} "
                f"{f'{min(values) / 1e6:.3f}..{max(values) / 1e6:.3f}':>17} "
                f"{value / base:7.4f} "
                f"{(value / base - 1) * 100:+8.2f}% {(value / absent - 1) * 100:+7.2f}% "
                f"{count['spans']:6.1f}  "
                f"{count['otel_imported']} ({count['telemetry']})"
            )
    for storage, spread in repeatability(counts).items():
        print(
            f"  {storage:<10} layout spread: a mode's layouts up to {spread * 100:.3f}% apart "
            f"(range column; {args.repeat!r} also in layout {args.layouts})"
        )


# ---------------------------------------------------------------------- verdicts


def _measurable(faster: bool, against: str = "before") -> str:
    return f"MEASURABLE ({'faster' if faster else 'slower'} than {against})"


def _bar(low: float, high: float) -> str:
    if high < BAR:
        return "under 5%"
    if low > BAR:
        return "OVER 5%"
    return "undecided (the CI holds 1.05)"


def print_verdicts(
    storages: list[str], cpu: Chunks | None, counts: Counts | None, layouts: int = 1
) -> None:
    """Per storage: is ``absent`` within noise of ``before``, is ``memory`` under 5%?"""
    print(
        "\nVerdicts (issue 24: absent costs nothing measurable; exporting, 'memory', "
        "under 5% of a publish); 'memory/absent' is the same tree with telemetry off"
    )
    spread = repeatability(counts) if counts else {}
    for storage in storages:
        faster = False  # this tree without telemetry beats the baseline: memory/before flatters
        if cpu is not None:
            for mode, against in (("absent", "before"), ("memory", "before"), ("memory", "absent")):
                pairs = paired(cpu[storage], mode, against)
                low, high = median_ci(pairs)
                if mode == "absent":
                    verdict = "within noise" if low <= 1 <= high else _measurable(high < 1)
                    faster |= high < 1
                else:
                    verdict = _bar(low, high)
                print(
                    f"  {storage:<10} CPU           {f'{mode}/{against}':<14} "
                    f"{statistics.median(pairs):.3f} (95% CI {low:.3f}..{high:.3f}): {verdict}"
                )
        if counts is not None:
            allowed = instruction_noise(spread, storage)
            for mode, against in (
                ("absent", "before"),
                ("no provider", "absent"),
                ("memory", "before"),
                ("memory", "absent"),
            ):
                ratio = mean_of(counts, storage, mode, layouts) / mean_of(
                    counts, storage, against, layouts
                )
                low, high = min_max_ratio(counts, storage, mode, against, layouts)
                if mode == "memory":
                    verdict = _bar(low, high) if layouts > 1 else _bar(ratio, ratio)
                elif layouts > 1:  # the same sign in every layout, beyond 0.1%: measurable
                    within = low - 0.001 <= 1 <= high + 0.001
                    verdict = "within noise" if within else _measurable(high < 1, against)
                else:
                    within = abs(ratio - 1) <= allowed
                    verdict = "within noise" if within else _measurable(ratio < 1, against)
                if mode == "absent" and not within:
                    faster |= ratio < 1
                how = (
                    f"layouts {(low - 1) * 100:+.2f}..{(high - 1) * 100:+.2f}%"
                    if layouts > 1
                    else f"noise +-{allowed * 100:.2f}%"
                )
                print(
                    f"  {storage:<10} instructions  {f'{mode}/{against}':<18} "
                    f"{(ratio - 1) * 100:+.2f}% ({how}): {verdict}"
                )
        if faster:
            print(
                f"  {storage:<10} NOTE: 'absent' is cheaper than 'before' here (the trees differ "
                f"in more than telemetry),\n  {'':<10} so memory/before understates what "
                f"exporting costs: read memory/absent"
            )
