"""Sufficient statistics and intervals: what rollups store and reports show."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class SufficientStats:
    """n units, how many had a non-zero value, Σy and Σy²: enough for means and variances,
    and additive across days, slots and segments."""

    n: int = 0
    converted: int = 0
    total: float = 0.0
    total_sq: float = 0.0

    @classmethod
    def of(cls, values: Iterable[float]) -> SufficientStats:
        n = converted = 0
        total = total_sq = 0.0
        for y in values:
            n += 1
            converted += y != 0
            total += y
            total_sq += y * y
        return cls(n, converted, total, total_sq)

    def __add__(self, other: SufficientStats) -> SufficientStats:
        return SufficientStats(
            self.n + other.n,
            self.converted + other.converted,
            self.total + other.total,
            self.total_sq + other.total_sq,
        )

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    @property
    def variance(self) -> float | None:
        """The sample variance (n - 1)."""
        if self.n < 2:
            return None
        return max(0.0, (self.total_sq - self.total * self.total / self.n) / (self.n - 1))


def wilson_interval(successes: int, trials: int) -> tuple[float, float] | None:
    """The 95 % Wilson score interval of a rate; None without trials."""
    if trials <= 0:
        return None
    # Imported here: statsmodels is heavy, and web workers that never draw a report
    # (delivery) should not load it.
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(min(successes, trials), trials, alpha=0.05, method="wilson")
    return float(low), float(high)


def mean_interval(stats: SufficientStats) -> tuple[float, float] | None:
    """The normal 95 % interval of a mean from its sufficient statistics."""
    if stats.variance is None or stats.mean is None:
        return None
    half = Z95 * math.sqrt(stats.variance / stats.n)
    return stats.mean - half, stats.mean + half


def ratio_interval(
    n: int, num: float, num_sq: float, den: float, den_sq: float, cross: float
) -> tuple[float, float] | None:
    """The delta-method 95 % interval of Σnum / Σden over n units."""
    if n < 2 or den == 0:
        return None
    mean_num, mean_den = num / n, den / n
    var_num = (num_sq - num * num / n) / (n - 1)
    var_den = (den_sq - den * den / n) / (n - 1)
    cov = (cross - num * den / n) / (n - 1)
    ratio = mean_num / mean_den
    variance = (var_num - 2 * ratio * cov + ratio * ratio * var_den) / (mean_den * mean_den * n)
    half = Z95 * math.sqrt(max(0.0, variance))
    return ratio - half, ratio + half
