"""Timing helpers shared by the benchmarks: medians of repeated runs, printed tables."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_time(fn: Callable[[], object], repeat: int = 7, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def interleaved_medians(fns: dict[str, Callable[[], object]], repeat: int = 7) -> dict[str, float]:
    """Median times of several callables run alternately, so drift hits them equally."""
    for fn in fns.values():
        fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - t0)
    return {name: statistics.median(values) for name, values in samples.items()}


def report(title: str, rows: list[tuple[str, str, str, str]]) -> None:
    """Print a table of (what, measured, baseline, ratio / target)."""
    print(f"\n== {title}")
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)))


#: Every target a benchmark measured in this run: (what, measured, target, met), printed as one
#: table at the end of ``make bench`` (see conftest.py).
TARGETS: list[tuple[str, str, str, bool]] = []


def target(what: str, value: float, limit: float, unit: str = "x", *, at_least: bool = False,
           digits: int = 2) -> bool:
    """Record one target: ``value`` (a ratio when ``unit`` is "x", else a measure in ``unit``)
    against ``limit`` (an upper bound, or a lower bound when ``at_least``). Returns whether it
    was met; the summary table says met/missed. Benchmarks assert only generous bounds."""
    met = value >= limit if at_least else value <= limit
    sign = ">=" if at_least else "<="
    sep = "" if unit == "x" else " "
    TARGETS.append((what, f"{value:.{digits}f}{sep}{unit}", f"{sign} {limit:g}{sep}{unit}", met))
    return met


def summary_lines() -> list[str]:
    """The table of every recorded target (empty when none was measured)."""
    if not TARGETS:
        return []
    rows = [("target", "measured", "goal", "")] + [
        (w, m, g, "met" if ok else "MISSED") for w, m, g, ok in TARGETS]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    met = sum(ok for *_, ok in TARGETS)
    lines = [f"== every benchmark target of this run: {met} of {len(TARGETS)} met"]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip()
              for r in rows]
    return lines
