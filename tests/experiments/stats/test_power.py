"""Power, MDE, sample size and duration: statsmodels' NormalIndPower and simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.power import NormalIndPower

from experiments.stats import Design, SampleStats, compare, proportion_variance

BASELINE = 0.1
VARIANCE = proportion_variance(BASELINE)


@pytest.mark.parametrize("alpha", [0.05, 0.01])
@pytest.mark.parametrize("units", [500, 20_000])
def test_absolute_fixed_power_is_normal_ind_power(alpha: float, units: int) -> None:
    design = Design(
        baseline_mean=BASELINE,
        baseline_variance=VARIANCE,
        alpha=alpha,
        method="fixed",
        relative=False,
    )
    effect_size = 0.1 * BASELINE / math.sqrt(VARIANCE)  # a +10 % lift in sd units
    expected = NormalIndPower().power(effect_size, nobs1=units, alpha=alpha, ratio=1.0)
    assert design.power(lift=0.1, units_per_arm=units) == pytest.approx(expected, rel=1e-9)


def test_absolute_fixed_sample_size_is_normal_ind_power() -> None:
    design = Design(
        baseline_mean=BASELINE, baseline_variance=VARIANCE, method="fixed", relative=False
    )
    effect_size = 0.05 * BASELINE / math.sqrt(VARIANCE)
    expected = NormalIndPower().solve_power(effect_size, alpha=0.05, power=0.8, ratio=1.0)
    assert design.units_per_arm(lift=0.05, power=0.8) == math.ceil(expected)


@pytest.mark.parametrize("method", ["fixed", "sequential"])
def test_mde_and_sample_size_are_inverse(method: str) -> None:
    design = Design(baseline_mean=BASELINE, baseline_variance=VARIANCE, method=method)
    units = design.units_per_arm(lift=0.05)
    assert design.power(lift=0.05, units_per_arm=units) >= 0.8
    assert design.power(lift=0.05, units_per_arm=units - 1) < 0.8
    assert design.minimum_detectable_effect(units_per_arm=units) == pytest.approx(0.05, rel=1e-3)


def test_sequential_needs_more_units_than_fixed() -> None:
    fixed = Design(baseline_mean=BASELINE, baseline_variance=VARIANCE, method="fixed")
    sequential = Design(baseline_mean=BASELINE, baseline_variance=VARIANCE)
    ratio = sequential.units_per_arm(lift=0.05) / fixed.units_per_arm(lift=0.05)
    # ((3.04 + 0.84) / (1.96 + 0.84))² ≈ 1.92 at alpha = 0.05, power 0.8, tuning = the plan.
    assert 1.8 < ratio < 2.0


def test_duration_splits_daily_traffic_over_the_arms() -> None:
    design = Design(baseline_mean=BASELINE, baseline_variance=VARIANCE, method="fixed")
    needed = design.units_per_arm(lift=0.05)
    duration = design.duration(lift=0.05, daily_units=10_000, arms=3)
    assert duration.units_per_arm == needed
    assert duration.total_units == 3 * needed
    assert duration.days == math.ceil(3 * needed / 10_000)


def test_simulated_fixed_power_matches_the_prediction() -> None:
    design = Design(baseline_mean=BASELINE, baseline_variance=VARIANCE, method="fixed")
    units = design.units_per_arm(lift=0.1)
    rng = np.random.default_rng(9)
    control = rng.binomial(units, BASELINE, 1500)
    treatment = rng.binomial(units, BASELINE * 1.1, 1500)
    rejected = np.mean(
        [
            compare(
                SampleStats(n=units, sum=int(c), sum_sq=int(c)),
                SampleStats(n=units, sum=int(t), sum_sq=int(t)),
                method="fixed",
            ).p_value
            < 0.05
            for c, t in zip(control, treatment, strict=True)
        ]
    )
    # 1,500 experiments: the standard error of an 80 % rate is 1 point.
    assert rejected == pytest.approx(0.8, abs=0.035)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"baseline_mean": 0.0}, "baseline_mean"),
        ({"baseline_variance": 0.0}, "baseline_variance"),
        ({"alpha": 1.0}, "alpha"),
        ({"method": "bayesian"}, "method"),
        ({"tuning": -5}, "tuning"),
    ],
)
def test_bad_designs_are_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Design(**{"baseline_mean": BASELINE, "baseline_variance": VARIANCE, **kwargs})


def test_impossible_requests_say_so() -> None:
    design = Design(baseline_mean=BASELINE, baseline_variance=VARIANCE)
    with pytest.raises(ValueError, match="cannot be detected"):
        design.units_per_arm(lift=0.0)
    with pytest.raises(ValueError, match="power"):
        design.units_per_arm(lift=0.05, power=1.0)
    with pytest.raises(ValueError, match="no lift is detectable"):
        design.minimum_detectable_effect(units_per_arm=3)
    with pytest.raises(ValueError, match="at least 2 arms"):
        design.duration(lift=0.05, daily_units=100, arms=1)
    with pytest.raises(ValueError, match="conversion rate"):
        proportion_variance(1.5)
