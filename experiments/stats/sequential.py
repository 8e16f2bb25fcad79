"""Always-valid inference: a normal-mixture confidence sequence and its p-value.

The interval is the asymptotic confidence sequence of Waudby-Smith et al. (2023, "Time-
uniform central limit theory and asymptotic confidence sequences", arXiv:2103.06476v7,
eq. 9), exactly as GrowthBook's gbstats computes it (`SequentialTwoSidedTTest`): with
N = n_A + n_B, the effect's variance V and s² = V·N, the half-width is

    s · sqrt( 2(Nrho² + 1) / (N²rho²) · ln( sqrt(Nrho² + 1) / alpha ) ).

It covers the true effect at every sample size simultaneously with probability 1 - alpha, so
results may be looked at daily and an experiment stopped as soon as the interval excludes 0.
The p-value is the reciprocal of the mixture e-value (eq. 155),

    p = min(1, sqrt(Nrho² + 1) · exp( -rho²·N·Δ²/V / (2(Nrho² + 1)) ) ),

which is the always-valid p-value of Optimizely's mixture SPRT (Johari et al., 2017) with
mixing variance τ² = V·N·rho². rho is tuned so that the sequence is tightest at the planned
total sample size N* (`tuning`, eq. 161): rho² = (-2 ln alpha + ln(-2 ln alpha + 1)) / N*.

A caller holding the history of an experiment may intersect the intervals over time and
keep the running minimum of the p-values; both stay valid.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .effect import EffectEstimate
from .result import CompareResult

# gbstats' default. Set it to the planned total sample of the two arms compared: the
# sequence is then tightest at the end of the planned run and still valid before and after.
DEFAULT_TUNING = 5000.0


def mixing_rate(alpha: float, tuning: float) -> float:
    """rho, chosen to minimise the confidence sequence's width at N = tuning."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if not tuning > 0:
        raise ValueError(f"tuning (the planned sample size) must be positive, got {tuning!r}")
    log_alpha = -2 * np.log(alpha)
    return float(np.sqrt((log_alpha + np.log(log_alpha + 1)) / tuning))


def confidence_sequence_half_width(
    variance: Any, n_total: Any, *, alpha: float, tuning: float
) -> Any:
    rho = mixing_rate(alpha, tuning)
    n_rho2_1 = n_total * rho**2 + 1
    return np.sqrt(variance * n_total) * np.sqrt(
        2 * n_rho2_1 * np.log(np.sqrt(n_rho2_1) / alpha) / (n_total * rho) ** 2
    )


def always_valid_p_value(
    effect: Any, variance: Any, n_total: Any, *, alpha: float, tuning: float
) -> Any:
    rho = mixing_rate(alpha, tuning)
    n_rho2_1 = n_total * rho**2 + 1
    z2 = effect**2 * n_total / variance
    log_p = 0.5 * np.log(n_rho2_1) - rho**2 * z2 / (2 * n_rho2_1)
    return np.minimum(1.0, np.exp(log_p))


def sequential(
    estimate: EffectEstimate, *, relative: bool, alpha: float, tuning: float
) -> CompareResult:
    half_width = confidence_sequence_half_width(
        estimate.variance, estimate.n_total, alpha=alpha, tuning=tuning
    )
    p_value = always_valid_p_value(
        estimate.effect, estimate.variance, estimate.n_total, alpha=alpha, tuning=tuning
    )
    return estimate.to_result(
        method="sequential",
        relative=relative,
        alpha=alpha,
        half_width=float(half_width),
        p_value=float(p_value),
        tuning=float(tuning),
    )
