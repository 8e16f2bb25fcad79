"""`compare()`: the one entry point that runs a method on two arms' sufficient statistics."""

from __future__ import annotations

import math

from .bayesian import GaussianPrior, bayesian
from .effect import estimate_effect
from .frequentist import fixed_horizon
from .result import METHODS, CompareResult, Method
from .sample import SampleStats
from .sequential import DEFAULT_TUNING, sequential


def compare(
    control: SampleStats,
    treatment: SampleStats,
    *,
    relative: bool = True,
    method: Method = "sequential",
    alpha: float = 0.05,
    tuning: float = DEFAULT_TUNING,
    ratio: bool = False,
    cuped: bool = True,
    prior: GaussianPrior | None = None,
    lower_is_better: bool = False,
) -> CompareResult:
    """Treatment against control for one metric.

    relative: report the lift (Δ/control) instead of the difference of means.
    method: "sequential" (always-valid; the default, safe to peek at), "fixed" (Welch t,
        one look at a planned sample) or "bayesian" (chance to win, expected loss).
    tuning: the sequential method's planned total sample N* of the two arms.
    ratio: the arms' covariate sums are a ratio metric's denominator (Σy/Σx per arm).
    cuped: adjust with the pre-period covariate when the arms carry one (and not `ratio`).
    prior: the Bayesian prior on the relative lift; None is flat.
    lower_is_better: for the Bayesian chance to win and expected loss (e.g. error rates).

    Raises ValueError on malformed input and InsufficientDataError (a ValueError) when the
    data cannot answer yet.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if not (isinstance(alpha, int | float) and 0 < alpha < 1):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if not (isinstance(tuning, int | float) and math.isfinite(tuning) and tuning > 0):
        raise ValueError(f"tuning must be a positive number, got {tuning!r}")
    estimate = estimate_effect(control, treatment, relative=relative, ratio=ratio, use_cuped=cuped)
    if method == "fixed":
        return fixed_horizon(estimate, relative=relative, alpha=alpha)
    if method == "sequential":
        return sequential(estimate, relative=relative, alpha=alpha, tuning=tuning)
    return bayesian(
        estimate,
        relative=relative,
        alpha=alpha,
        prior=prior,
        lower_is_better=lower_is_better,
    )
