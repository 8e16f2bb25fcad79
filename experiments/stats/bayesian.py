"""Bayesian effect: a Gaussian posterior on the effect, chance to win and expected loss.

As gbstats' `EffectBayesianABTest`: the likelihood of the effect is its normal
approximation N(Δ̂, V) (the same Δ̂ and V as the frequentist methods, so relative lifts,
ratio metrics and CUPED carry over). The prior is Gaussian on the relative lift,
N(m, s²), rescaled by the control mean for an absolute effect; by default it is flat
(improper), and the posterior is then N(Δ̂, V). With a proper prior the posterior is

    precision = 1/V + 1/s²,   mean = (Δ̂/V + m/s²) / precision.

Chance to win is P(Δ > 0) (P(Δ < 0) when lower is better). Expected loss of shipping the
treatment is E[max(-Δ, 0)] = dφ(μ/d) - μΦ(-μ/d) under the posterior N(μ, d²) (for a
lower-is-better metric, E[max(Δ, 0)]); it is on the scale of the effect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from .effect import EffectEstimate
from .result import CompareResult


@dataclass(frozen=True, slots=True)
class GaussianPrior:
    """A normal prior on the relative lift, e.g. GaussianPrior(mean=0, stddev=0.1): lifts
    beyond ±20 % are a priori unlikely."""

    mean: float = 0.0
    stddev: float = 0.1

    def __post_init__(self) -> None:
        if not self.stddev > 0:
            raise ValueError(f"the prior's stddev must be positive, got {self.stddev!r}")


def _phi(z: float) -> float:
    return float(np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi))


def expected_losses(mu: float, sigma: float) -> tuple[float, float]:
    """(E[max(Δ, 0)], E[max(-Δ, 0)]) for Δ ~ N(mu, sigma²)."""
    z = mu / sigma
    positive = mu * float(special.ndtr(z)) + sigma * _phi(z)
    negative = sigma * _phi(z) - mu * float(special.ndtr(-z))
    return positive, negative


def bayesian(
    estimate: EffectEstimate,
    *,
    relative: bool,
    alpha: float,
    prior: GaussianPrior | None,
    lower_is_better: bool,
) -> CompareResult:
    if prior is None:
        mu, var = estimate.effect, estimate.variance
    else:
        scale = 1.0 if relative else abs(estimate.control_mean)
        prior_mean, prior_var = prior.mean * scale, (prior.stddev * scale) ** 2
        precision = 1 / estimate.variance + 1 / prior_var
        mu = (estimate.effect / estimate.variance + prior_mean / prior_var) / precision
        var = 1 / precision
    sigma = float(np.sqrt(var))
    z = float(special.ndtri(1 - alpha / 2))
    gain, drop = expected_losses(mu, sigma)
    win = float(special.ndtr(mu / sigma))
    if lower_is_better:
        win, loss_treatment, loss_control = 1 - win, gain, drop
    else:
        loss_treatment, loss_control = drop, gain
    return estimate.to_result(
        method="bayesian",
        relative=relative,
        alpha=alpha,
        half_width=z * sigma,
        center=float(mu),
        std_error=sigma,
        chance_to_win=win,
        expected_loss=loss_treatment,
        expected_loss_control=loss_control,
    )
