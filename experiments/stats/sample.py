"""Per-arm sufficient statistics, and the mean and variance of a metric computed from them.

An arm is kept as n, Σy, Σy² (and Σx, Σx², Σxy for a second per-unit quantity x: a
pre-period covariate for CUPED, or the denominator of a ratio metric). Every method of the
package runs on these sums, so they can be added up across days or shards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class SampleStats:
    """One arm's sufficient statistics for one metric.

    A proportion (conversion) metric is `SampleStats(n=units, sum=conversions,
    sum_sq=conversions)`. `cov_sum`, `cov_sum_sq` and `cross_sum` (Σx, Σx², Σxy) are given
    together or not at all.
    """

    n: int
    sum: float
    sum_sq: float
    cov_sum: float | None = None
    cov_sum_sq: float | None = None
    cross_sum: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int | np.integer) or self.n < 0:
            raise ValueError(f"n must be a non-negative integer, got {self.n!r}")
        covariate = (self.cov_sum, self.cov_sum_sq, self.cross_sum)
        if any(v is None for v in covariate) and not all(v is None for v in covariate):
            raise ValueError("cov_sum, cov_sum_sq and cross_sum are given together or not at all")
        for name in ("sum", "sum_sq", "cov_sum", "cov_sum_sq", "cross_sum"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise ValueError(f"{name} must be a number, got {value!r}")
            if not np.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        if self.sum_sq < 0 or (self.cov_sum_sq is not None and self.cov_sum_sq < 0):
            raise ValueError("a sum of squares cannot be negative")

    @property
    def has_covariate(self) -> bool:
        return self.cov_sum is not None

    @property
    def mean(self) -> float:
        return float(mean(self.n, self.sum))

    @property
    def variance(self) -> float:
        """The unbiased sample variance of y (n - 1 in the denominator)."""
        return float(variance(self.n, self.sum, self.sum_sq))

    @property
    def cov_mean(self) -> float:
        return float(mean(self.n, self._covariate()[0]))

    @property
    def cov_variance(self) -> float:
        x_sum, x_sum_sq, _ = self._covariate()
        return float(variance(self.n, x_sum, x_sum_sq))

    @property
    def covariance(self) -> float:
        """The sample covariance of y and x."""
        x_sum, _, xy_sum = self._covariate()
        return float(covariance(self.n, self.sum, x_sum, xy_sum))

    @property
    def ratio_mean(self) -> float:
        """Σy / Σx: the ratio metric (e.g. revenue per session, with x = sessions)."""
        x_sum = self._covariate()[0]
        return self.sum / x_sum if x_sum else 0.0

    @property
    def ratio_variance(self) -> float:
        """The per-unit variance of the ratio by the delta method (see ratio_variance())."""
        x_sum, x_sum_sq, xy_sum = self._covariate()
        return float(ratio_variance(self.n, self.sum, self.sum_sq, x_sum, x_sum_sq, xy_sum))

    def _covariate(self) -> tuple[float, float, float]:
        if self.cov_sum is None or self.cov_sum_sq is None or self.cross_sum is None:
            raise ValueError("this metric has no covariate or denominator (cov_sum etc.)")
        return self.cov_sum, self.cov_sum_sq, self.cross_sum


# The functions below take scalars or numpy arrays alike (the simulation benchmark runs
# thousands of experiments at once through them).


def mean(n: Any, total: Any) -> Any:
    """Σy / n; 0 for an empty arm."""
    n = np.asarray(n, dtype=float)
    return np.where(n > 0, np.asarray(total, dtype=float) / np.where(n > 0, n, 1.0), 0.0)


def covariance(n: Any, y_sum: Any, x_sum: Any, xy_sum: Any) -> Any:
    """Unbiased sample covariance; 0 for fewer than two units."""
    n = np.asarray(n, dtype=float)
    centred = np.asarray(xy_sum, dtype=float) - np.asarray(y_sum, dtype=float) * np.asarray(
        x_sum, dtype=float
    ) / np.where(n > 0, n, 1.0)
    return np.where(n > 1, centred / np.where(n > 1, n - 1, 1.0), 0.0)


def variance(n: Any, total: Any, total_sq: Any) -> Any:
    """Unbiased sample variance; 0 for fewer than two units."""
    return covariance(n, total, total, total_sq)


def ratio_variance(
    n: Any, y_sum: Any, y_sum_sq: Any, x_sum: Any, x_sum_sq: Any, xy_sum: Any
) -> Any:
    """Per-unit variance of Σy/Σx by the delta method (first-order Taylor expansion).

    Var(ȳ/x̄)·n ≈ s²_y/μ²_x - 2·s_xy·μ_y/μ³_x + μ²_y·s²_x/μ⁴_x, the form gbstats'
    RatioStatistic uses; 0 when the denominator's mean is 0.
    """
    mu_y, mu_x = mean(n, y_sum), mean(n, x_sum)
    safe_mu_x = np.where(mu_x != 0, mu_x, 1.0)
    value = (
        variance(n, y_sum, y_sum_sq) / safe_mu_x**2
        - 2 * covariance(n, y_sum, x_sum, xy_sum) * mu_y / safe_mu_x**3
        + mu_y**2 * variance(n, x_sum, x_sum_sq) / safe_mu_x**4
    )
    return np.where(mu_x != 0, value, 0.0)
