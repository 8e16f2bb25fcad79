"""Effects from bandit data by inverse-propensity weighting. Pure: no Django.

In a bandit the arms' shares change from batch to batch in response to the data, and the
population often changes over time too (weekdays, campaigns). An arm that got most of its
traffic in a good week then looks better than it is: comparing plain per-arm means (and a
t-test on them) is biased. Every assignment logs its probability π (the arm's weight in the
batch it was made in), and weighting each unit by 1/π recovers what the whole population
would have done under each arm.

With N units in the experiment, unit i in arm A_i with outcome y_i and propensity π_i:

- Horvitz-Thompson:  μ̂_a = (1/N) Σ_{A_i=a} y_i/π_i (unbiased; needs the exact π and N).
- Hajek (self-normalised):  μ̂_a = Σ_{A_i=a} y_i/π_i / Σ_{A_i=a} 1/π_i. Slightly biased
  in small samples but usually of smaller variance, and unchanged if every π is off by the
  same factor (e.g. logged without the coverage). The default.

Variances are sandwich (influence-function) estimates: with the unit's influence ψ_i, the
estimate's variance is Σψ_i²/N². Horvitz-Thompson: ψ_i = 1[A_i=a]·y_i/π_i - μ̂_a (sample
variance form); Hajek: ψ_i = 1[A_i=a]·(y_i - μ̂_a)/π_i / W̄_a with W̄_a = (1/N)Σ 1[A_i=a]/π_i.
Two arms' estimates share the units, so the difference uses the difference of influences:
Horvitz-Thompson estimates covary by -μ̂_a·μ̂_b/(N - 1); Hajek's influences have disjoint
support and sum to zero, so they do not covary. The relative lift μ̂_b/μ̂_c - 1 takes the
delta method with that covariance. Intervals are normal ("fixed", one look) or the
asymptotic confidence sequence of experiments.stats ("sequential", safe to peek), with
the same always-valid p-value. Propensities bounded below (the bandit's floor) keep the
weights bounded, which is what the central limit theorem for these adaptively weighted
sums needs (Hadad et al., "Confidence intervals for policy evaluation in adaptive
experiments", PNAS 2021).

**Sufficient statistics.** The estimates need, per arm, only Σ1/π, Σy/π, Σ1/π², Σy/π²
and Σy²/π². A bandit has one propensity per arm per batch, so the per-(arm, batch) sums
n, Σy, Σy² that the rollups keep give them exactly: Σy/π = Σ_batches Σy_batch/π_batch,
and so on. `moments_from_strata` builds them from such strata, `moments_from_arrays` from
per-unit logs; both give the same answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import special

from experiments.stats import InsufficientDataError, SampleStats
from experiments.stats.sequential import always_valid_p_value, confidence_sequence_half_width

Estimator = Literal["hajek", "horvitz_thompson"]
IntervalMethod = Literal["sequential", "fixed"]
ESTIMATORS: tuple[Estimator, ...] = ("hajek", "horvitz_thompson")


@dataclass(frozen=True, slots=True)
class Stratum:
    """The units of one arm assigned with one propensity (one batch of a bandit)."""

    arm: str
    propensity: float  # P(this arm) for these units when they were assigned
    stats: SampleStats  # n, Σy, Σy² of the metric over these units


@dataclass(frozen=True, slots=True)
class IpwMoments:
    """An arm's inverse-propensity-weighted sums (scalars, or arrays for simulations)."""

    n: Any  # units
    w: Any  # Σ 1/π
    wy: Any  # Σ y/π
    w2: Any  # Σ 1/π²
    w2y: Any  # Σ y/π²
    w2y2: Any  # Σ y²/π²


@dataclass(frozen=True, slots=True)
class ArmEstimate:
    arm: str
    mean: float
    std_error: float
    units: int


@dataclass(frozen=True, slots=True)
class IpwEffect:
    """Treatment against control from bandit data."""

    arm: str
    control: str
    estimator: Estimator
    method: IntervalMethod
    relative: bool
    alpha: float
    effect: float
    ci_low: float
    ci_high: float
    std_error: float
    p_value: float
    control_mean: float
    treatment_mean: float

    @property
    def significant(self) -> bool:
        return self.ci_low > 0 or self.ci_high < 0


def _check_propensity(p: Any) -> None:
    p = np.asarray(p, dtype=float)
    if not np.all(np.isfinite(p) & (p > 0) & (p <= 1)):
        raise ValueError("propensities must be in (0, 1]")


def moments_from_strata(strata: Sequence[Stratum]) -> dict[str, IpwMoments]:
    """Per-arm IPW sums from per-(arm, propensity) sufficient statistics."""
    sums: dict[str, list[float]] = {}
    for stratum in strata:
        if not isinstance(stratum, Stratum):
            raise ValueError("strata must be Stratum objects")
        _check_propensity(stratum.propensity)
        s, p = stratum.stats, float(stratum.propensity)
        row = sums.setdefault(stratum.arm, [0, 0.0, 0.0, 0.0, 0.0, 0.0])
        row[0] += s.n
        row[1] += s.n / p
        row[2] += s.sum / p
        row[3] += s.n / p**2
        row[4] += s.sum / p**2
        row[5] += s.sum_sq / p**2
    return {arm: IpwMoments(*row) for arm, row in sums.items()}


def moments_from_arrays(arms: Any, outcomes: Any, propensities: Any) -> dict[str, IpwMoments]:
    """Per-arm IPW sums from per-unit logs: each unit's arm, outcome and propensity."""
    a = np.asarray(arms)
    y = np.asarray(outcomes, dtype=float)
    p = np.asarray(propensities, dtype=float)
    if not (a.ndim == 1 and a.shape == y.shape == p.shape):
        raise ValueError("arms, outcomes and propensities must be 1-d arrays of one length")
    if not np.all(np.isfinite(y)):
        raise ValueError("outcomes must be finite numbers")
    _check_propensity(p)
    result = {}
    for arm in dict.fromkeys(a.tolist()):
        m = a == arm
        w = 1 / p[m]
        result[str(arm)] = IpwMoments(
            n=int(m.sum()),
            w=float(w.sum()),
            wy=float((w * y[m]).sum()),
            w2=float((w * w).sum()),
            w2y=float((w * w * y[m]).sum()),
            w2y2=float((w * w * y[m] ** 2).sum()),
        )
    return result


def arm_mean(m: IpwMoments, n_total: Any, *, estimator: Estimator) -> tuple[Any, Any]:
    """(μ̂, Var(μ̂)) of one arm; scalars or numpy arrays. `n_total`: units in all arms."""
    n_total = np.asarray(n_total, dtype=float)
    if estimator == "horvitz_thompson":
        mu = m.wy / n_total
        # Sample variance of z_i = 1[A_i=a]·y_i/π_i over all N units, divided by N.
        var = (m.w2y2 - n_total * mu**2) / (n_total * (n_total - 1))
        return mu, np.maximum(var, 0.0)
    if estimator == "hajek":
        safe_w = np.where(m.w > 0, m.w, 1.0)
        mu = np.where(m.w > 0, m.wy / safe_w, 0.0)
        w_bar = safe_w / n_total
        squares = m.w2y2 - 2 * mu * m.w2y + mu**2 * m.w2
        var = squares / (w_bar**2 * n_total**2) * n_total / (n_total - 1)
        return mu, np.maximum(var, 0.0)
    raise ValueError(f"estimator must be one of {', '.join(ESTIMATORS)}; got {estimator!r}")


def effect_and_variance(
    control: IpwMoments,
    treatment: IpwMoments,
    n_total: Any,
    *,
    estimator: Estimator,
    relative: bool,
) -> tuple[Any, Any, Any, Any]:
    """(effect, Var(effect), control mean, treatment mean); scalars or arrays."""
    mu_c, var_c = arm_mean(control, n_total, estimator=estimator)
    mu_b, var_b = arm_mean(treatment, n_total, estimator=estimator)
    n_total = np.asarray(n_total, dtype=float)
    cov = -mu_b * mu_c / (n_total - 1) if estimator == "horvitz_thompson" else 0.0
    if relative:
        safe_c = np.where(mu_c != 0, mu_c, 1.0)
        effect = mu_b / safe_c - 1
        var = var_b / safe_c**2 + mu_b**2 * var_c / safe_c**4 - 2 * mu_b * cov / safe_c**3
    else:
        effect = mu_b - mu_c
        var = var_b + var_c - 2 * cov
    return effect, var, mu_c, mu_b


def interval(
    effect: Any,
    variance: Any,
    n_total: Any,
    *,
    method: IntervalMethod,
    alpha: float,
    tuning: float,
) -> tuple[Any, Any]:
    """(half-width, p-value): normal at one look, or the always-valid confidence sequence."""
    if method == "fixed":
        se = np.sqrt(variance)
        return special.ndtri(1 - alpha / 2) * se, 2 * special.ndtr(-np.abs(effect) / se)
    if method == "sequential":
        return (
            confidence_sequence_half_width(variance, n_total, alpha=alpha, tuning=tuning),
            always_valid_p_value(effect, variance, n_total, alpha=alpha, tuning=tuning),
        )
    raise ValueError(f"method must be 'sequential' or 'fixed', got {method!r}")


def estimate_arms(
    moments: Mapping[str, IpwMoments], *, estimator: Estimator = "hajek"
) -> dict[str, ArmEstimate]:
    """Each arm's population mean had everyone received it."""
    n_total = sum(m.n for m in moments.values())
    if n_total < 2:
        raise ValueError("at least 2 units are needed")
    result = {}
    for arm, m in moments.items():
        mu, var = arm_mean(m, n_total, estimator=estimator)
        result[arm] = ArmEstimate(
            arm=arm, mean=float(mu), std_error=float(np.sqrt(var)), units=int(m.n)
        )
    return result


def ipw_effect(
    control: IpwMoments,
    treatment: IpwMoments,
    *,
    n_total: int,
    arm: str = "treatment",
    control_key: str = "control",
    estimator: Estimator = "hajek",
    relative: bool = True,
    method: IntervalMethod = "sequential",
    alpha: float = 0.05,
    tuning: float = 5000.0,
) -> IpwEffect:
    """One arm against control; `n_total` counts the units of every arm of the experiment
    (Horvitz-Thompson divides by it). See ipw_effects for the errors raised."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {', '.join(ESTIMATORS)}; got {estimator!r}")
    for name, m in ((control_key, control), (arm, treatment)):
        if m.n < 2:
            raise InsufficientDataError(f"arm {name!r} has {m.n} unit(s); 2 are needed")
    effect, var, mu_c, mu_b = effect_and_variance(
        control, treatment, n_total, estimator=estimator, relative=relative
    )
    if relative and mu_c == 0:
        raise InsufficientDataError("the control mean is 0, so a relative lift is undefined")
    if not var > 0:
        raise InsufficientDataError("the metric has no variance in either arm")
    half, p = interval(effect, var, n_total, method=method, alpha=alpha, tuning=tuning)
    return IpwEffect(
        arm=arm,
        control=control_key,
        estimator=estimator,
        method=method,
        relative=relative,
        alpha=alpha,
        effect=float(effect),
        ci_low=float(effect - half),
        ci_high=float(effect + half),
        std_error=float(np.sqrt(var)),
        p_value=float(p),
        control_mean=float(mu_c),
        treatment_mean=float(mu_b),
    )


def ipw_effects(
    moments: Mapping[str, IpwMoments],
    *,
    control: str,
    estimator: Estimator = "hajek",
    relative: bool = True,
    method: IntervalMethod = "sequential",
    alpha: float = 0.05,
    tuning: float = 5000.0,
) -> dict[str, IpwEffect]:
    """Every other arm against `control`. `tuning` is the sequential method's planned
    total sample (as in experiments.stats.compare), here of the whole experiment.

    Raises ValueError for malformed input, and experiments.stats.InsufficientDataError
    when an arm has fewer than 2 units, a relative lift has a zero control mean, or an
    effect has no variance.
    """
    if control not in moments:
        raise ValueError(f"no data for the control arm {control!r}")
    n_total = sum(m.n for m in moments.values())
    return {
        arm: ipw_effect(
            moments[control],
            m,
            n_total=n_total,
            arm=arm,
            control_key=control,
            estimator=estimator,
            relative=relative,
            method=method,
            alpha=alpha,
            tuning=tuning,
        )
        for arm, m in moments.items()
        if arm != control
    }
