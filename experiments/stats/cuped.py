"""CUPED: variance reduction with a pre-period covariate (Deng et al., 2013).

Each arm's metric y is replaced by y - θ·x, where x is the same unit's value in the
pre-period and θ = Cov(y, x) / Var(x) is pooled over both arms (the sums are added up, as
gbstats' `compute_theta` does), so the adjustment is the same in every arm and the effect
stays unbiased under randomisation. The adjusted variance is
Var(y) + θ²·Var(x) - 2θ·Cov(y, x) = Var(y)·(1 - rho²) with the pooled θ.
"""

from __future__ import annotations

from .sample import SampleStats, covariance, variance


def pooled_theta(control: SampleStats, treatment: SampleStats) -> float:
    """θ from the two arms' sums taken together; 0 when either quantity has no variance."""
    n = control.n + treatment.n
    y_sum = control.sum + treatment.sum
    x_sum = control.cov_sum + treatment.cov_sum  # type: ignore[operator]
    var_x = variance(n, x_sum, control.cov_sum_sq + treatment.cov_sum_sq)  # type: ignore[operator]
    var_y = variance(n, y_sum, control.sum_sq + treatment.sum_sq)
    if var_x <= 0 or var_y <= 0:
        return 0.0
    cov = covariance(n, y_sum, x_sum, control.cross_sum + treatment.cross_sum)  # type: ignore[operator]
    return float(cov / var_x)


def adjusted_mean(stats: SampleStats, theta: float) -> float:
    return stats.mean - theta * stats.cov_mean


def adjusted_variance(stats: SampleStats, theta: float) -> float:
    return stats.variance + theta**2 * stats.cov_variance - 2 * theta * stats.covariance
