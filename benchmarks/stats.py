"""How every benchmark figure is reported: the median of interleaved rounds, with min/max."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Figure:
    median: float
    low: float
    high: float
    rounds: int

    def show(self, unit: str = "", fmt: str = "{:,.1f}") -> str:
        m, lo, hi = (fmt.format(x) for x in (self.median, self.low, self.high))
        return f"{m}{unit} [{lo}..{hi}, {self.rounds} rounds]"


def figure(samples: Sequence[float]) -> Figure:
    return Figure(statistics.median(samples), min(samples), max(samples), len(samples))


def interleaved(
    contenders: dict[str, Callable[[], Any]], rounds: int, per_round: int = 1
) -> dict[str, Figure]:
    """Seconds per call of each contender: each round runs every contender `per_round`
    times, one after the other, so load from elsewhere on the machine hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            for _ in range(per_round):
                fn()
            samples[name].append((time.perf_counter() - t0) / per_round)
    return {name: figure(s) for name, s in samples.items()}


def ratio_line(label: str, value: float, target: str, ok: bool) -> str:
    return f"  {'PASS' if ok else 'MISS'}  {label}: {value:.2f} (target {target})"
