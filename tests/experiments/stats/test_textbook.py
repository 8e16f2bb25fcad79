"""Each method against an independent textbook computation (scipy, statsmodels, closed forms)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from experiments.stats import GaussianPrior, SampleStats, compare

rng = np.random.default_rng(7)
SETS = [
    (rng.normal(10, 3, 400), rng.normal(10.6, 4, 380)),
    (rng.exponential(5, 60), rng.exponential(6, 45)),
    (rng.binomial(1, 0.3, 900).astype(float), rng.binomial(1, 0.34, 950).astype(float)),
]


def summarize(y: np.ndarray) -> SampleStats:
    return SampleStats(n=y.size, sum=float(y.sum()), sum_sq=float((y * y).sum()))


@pytest.mark.parametrize(("a", "b"), SETS, ids=["normal", "skewed small", "conversion"])
def test_absolute_fixed_is_welch(a: np.ndarray, b: np.ndarray) -> None:
    result = compare(summarize(a), summarize(b), method="fixed", relative=False, alpha=0.1)
    welch = stats.ttest_ind(b, a, equal_var=False)
    reference = stats.ttest_ind_from_stats(
        b.mean(), b.std(ddof=1), b.size, a.mean(), a.std(ddof=1), a.size, equal_var=False
    )
    interval = welch.confidence_interval(confidence_level=0.9)

    assert result.effect == pytest.approx(b.mean() - a.mean())
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert result.p_value == pytest.approx(welch.pvalue, rel=1e-9)
    assert result.degrees_of_freedom == pytest.approx(welch.df, rel=1e-9)
    assert (result.ci_low, result.ci_high) == pytest.approx((interval.low, interval.high), rel=1e-9)


@pytest.mark.parametrize(("a", "b"), SETS, ids=["normal", "skewed small", "conversion"])
def test_relative_fixed_is_the_delta_method(a: np.ndarray, b: np.ndarray) -> None:
    result = compare(summarize(a), summarize(b), method="fixed", relative=True)
    ma, mb = a.mean(), b.mean()
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    # Gradient of g(ma, mb) = mb/ma - 1 is (-mb/ma², 1/ma).
    se = np.sqrt((mb / ma**2) ** 2 * va + vb / ma**2)
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))

    assert result.effect == pytest.approx(mb / ma - 1)
    assert result.std_error == pytest.approx(se)
    assert result.p_value == pytest.approx(2 * stats.t.sf(abs(mb / ma - 1) / se, dof))
    assert result.ci_high - result.effect == pytest.approx(stats.t.ppf(0.975, dof) * se)


def test_sequential_p_value_is_optimizely_msprt() -> None:
    a, b = summarize(SETS[0][0]), summarize(SETS[0][1])
    for tuning in (500, 5000, 1e6):
        result = compare(a, b, method="sequential", relative=False, tuning=tuning)
        # Johari et al.: Λ = sqrt(V/(V+τ²))·exp(τ²Δ²/(2V(V+τ²))) with the mixing variance
        # τ² = s²rho², s² = V·N (the per-unit scale of the effect's variance).
        v = result.std_error**2
        n_total = a.n + b.n
        rho2 = (-2 * np.log(0.05) + np.log(-2 * np.log(0.05) + 1)) / tuning
        tau2 = v * n_total * rho2
        delta = result.effect
        likelihood_ratio = np.sqrt(v / (v + tau2)) * np.exp(tau2 * delta**2 / (2 * v * (v + tau2)))
        assert result.p_value == pytest.approx(min(1.0, 1 / likelihood_ratio), rel=1e-9)


def test_confidence_sequence_is_wider_than_the_fixed_interval_and_tightest_near_tuning() -> None:
    a, b = summarize(SETS[0][0]), summarize(SETS[0][1])
    fixed = compare(a, b, method="fixed")
    n_total = a.n + b.n

    def width(tuning: float) -> float:
        result = compare(a, b, method="sequential", tuning=tuning)
        return result.ci_high - result.ci_low

    assert width(n_total) > fixed.ci_high - fixed.ci_low
    assert width(n_total) < width(n_total / 10) and width(n_total) < width(n_total * 10)


def test_bayesian_flat_prior_agrees_with_the_normal_test() -> None:
    a, b = summarize(SETS[0][0]), summarize(SETS[0][1])
    result = compare(a, b, method="bayesian")
    z = result.effect / result.std_error

    assert result.p_value is None
    assert result.chance_to_win == pytest.approx(stats.norm.cdf(z))
    assert result.ci_low == pytest.approx(result.effect - 1.959963984540054 * result.std_error)


def test_bayesian_expected_loss_is_the_integral_of_the_loss() -> None:
    a, b = summarize(SETS[1][0]), summarize(SETS[1][1])
    result = compare(a, b, method="bayesian", relative=False)
    posterior = stats.norm(result.effect, result.std_error)
    span = (result.effect - 12 * result.std_error, result.effect + 12 * result.std_error)

    ship, _ = integrate.quad(lambda d: max(-d, 0) * posterior.pdf(d), *span, points=[0])
    keep, _ = integrate.quad(lambda d: max(d, 0) * posterior.pdf(d), *span, points=[0])

    assert result.expected_loss == pytest.approx(ship, rel=1e-7)
    assert result.expected_loss_control == pytest.approx(keep, rel=1e-7)

    inverse = compare(a, b, method="bayesian", relative=False, lower_is_better=True)
    assert inverse.chance_to_win == pytest.approx(1 - result.chance_to_win)
    assert inverse.expected_loss == pytest.approx(keep, rel=1e-7)


def test_a_proper_prior_shrinks_towards_its_mean() -> None:
    a, b = summarize(SETS[1][0]), summarize(SETS[1][1])
    flat = compare(a, b, method="bayesian")
    prior = GaussianPrior(mean=0.0, stddev=0.05)
    shrunk = compare(a, b, method="bayesian", prior=prior)
    weight = (1 / prior.stddev**2) / (1 / prior.stddev**2 + 1 / flat.std_error**2)

    assert shrunk.effect == pytest.approx(flat.effect * (1 - weight))
    assert shrunk.std_error < flat.std_error


def test_ratio_relative_equals_the_relative_change_of_the_ratio() -> None:
    control = SampleStats(n=500, sum=310, sum_sq=500, cov_sum=2000, cov_sum_sq=9800, cross_sum=1500)
    treatment = SampleStats(
        n=520, sum=360, sum_sq=560, cov_sum=2050, cov_sum_sq=9900, cross_sum=1650
    )
    result = compare(control, treatment, method="fixed", ratio=True)

    assert result.control_mean == pytest.approx(310 / 2000)
    assert result.treatment_mean == pytest.approx(360 / 2050)
    assert result.effect == pytest.approx((360 / 2050) / (310 / 2000) - 1)


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.2])
def test_sequential_p_value_is_below_alpha_exactly_when_the_sequence_excludes_zero(
    alpha: float,
) -> None:
    rng = np.random.default_rng(17)
    for _ in range(200):
        n = int(rng.integers(20, 3000))
        a, b = (int(c) for c in rng.binomial(n, rng.uniform(0.05, 0.5, 2)))
        result = compare(
            SampleStats(n=n, sum=a, sum_sq=a),
            SampleStats(n=n, sum=b, sum_sq=b),
            method="sequential",
            relative=False,
            alpha=alpha,
            tuning=float(rng.integers(100, 10**5)),
        )
        assert (result.p_value < alpha) == result.significant
