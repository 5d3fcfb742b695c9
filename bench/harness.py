"""Timing and results for scripts/bench: Row and Results (what the report is made of), medians of methods timed
round-robin (interleaved, both_orders), value formatting and cProfile summaries."""

from __future__ import annotations

import cProfile
import gc
import io
import pstats
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional


@dataclass
class Row:
    section: str
    name: str
    value: float            # seconds (median) unless unit says otherwise
    baseline: Optional[str] = None
    ratio: Optional[float] = None
    unit: str = "s"
    note: str = ""
    samples: List[float] = field(default_factory=list)


class Results:
    def __init__(self):
        self.rows: List[Row] = []
        self.notes: Dict[str, List[str]] = {}
        self.goals: List[tuple] = []  # (goal text, measured text, met: bool|None)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        print(f"  [{row.section}] {row.name}: {fmt(row.value, row.unit)}"
              + (f"  x{row.ratio:.2f} vs {row.baseline}" if row.ratio is not None else "")
              + (f"  ({row.note})" if row.note else ""), flush=True)
        return row

    def note(self, section: str, text: str) -> None:
        self.notes.setdefault(section, []).append(text)

    def goal(self, text: str, measured: str, met: Optional[bool]) -> None:
        self.goals.append((text, measured, met))


def fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit == "count":
        return f"{int(value)}"
    return f"{value:,.0f} {unit}"


def median(values: List[float]) -> float:
    return statistics.median(values) if values else float("nan")


def interleaved(methods: Dict[str, Callable[[], Any]], reps: int, before: Optional[Callable] = None,
                warmup: bool = True) -> Dict[str, List[float]]:
    """Time each method ``reps`` times, round-robin (drift hits all alike); ``before`` runs untimed."""
    if warmup:
        for fn in methods.values():
            if before:
                before()
            fn()
    times: Dict[str, List[float]] = {name: [] for name in methods}
    for _ in range(reps):
        for name, fn in methods.items():
            if before:
                before()
            gc.collect()
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def both_orders(methods: Dict[str, Callable[[], Any]], reps: int, **kwargs: Any) -> Dict[str, List[float]]:
    """interleaved() once in each order, samples merged: here whichever ran first in a round was slower
    (x0.6 or x1.04 for the same %images depending on the order)."""
    first = interleaved(methods, reps, **kwargs)
    second = interleaved(dict(reversed(list(methods.items()))), reps, **kwargs)
    return {name: first[name] + second[name] for name in methods}


def profile_text(prof: cProfile.Profile, limit: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("cumulative").print_stats(limit)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    keep = [line for line in lines if "function calls" in line or "ncalls" in line or "{" in line or ".py" in line]
    return "```\n" + "\n".join(keep[: limit + 3]) + "\n```"
