"""SampleStats from sums agree with numpy on the raw data; bad input fails clearly."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.stats import InsufficientDataError, SampleStats, compare


def from_data(y: np.ndarray, x: np.ndarray | None = None) -> SampleStats:
    if x is None:
        return SampleStats(n=y.size, sum=float(y.sum()), sum_sq=float((y * y).sum()))
    return SampleStats(
        n=y.size,
        sum=float(y.sum()),
        sum_sq=float((y * y).sum()),
        cov_sum=float(x.sum()),
        cov_sum_sq=float((x * x).sum()),
        cross_sum=float((x * y).sum()),
    )


def test_moments_match_numpy() -> None:
    rng = np.random.default_rng(1)
    x = rng.gamma(2.0, 3.0, 500)
    y = 0.5 * x + rng.normal(0, 1, 500)
    stats = from_data(y, x)

    assert stats.mean == pytest.approx(y.mean())
    assert stats.variance == pytest.approx(y.var(ddof=1))
    assert stats.cov_mean == pytest.approx(x.mean())
    assert stats.cov_variance == pytest.approx(x.var(ddof=1))
    assert stats.covariance == pytest.approx(np.cov(y, x, ddof=1)[0, 1])
    assert stats.ratio_mean == pytest.approx(y.sum() / x.sum())


def test_ratio_variance_matches_the_delta_method_by_bootstrap() -> None:
    # Var(Σy/Σx) across resamples ≈ ratio_variance / n (first-order delta method).
    rng = np.random.default_rng(2)
    x = (rng.poisson(3.0, 4000) + 1).astype(float)
    y = rng.binomial(x.astype(int), 0.2).astype(float)
    stats = from_data(y, x)
    idx = rng.integers(0, x.size, (2000, x.size))
    ratios = y[idx].sum(axis=1) / x[idx].sum(axis=1)

    assert ratios.var(ddof=1) == pytest.approx(stats.ratio_variance / stats.n, rel=0.1)


def test_a_proportion_is_sum_equal_sum_sq() -> None:
    stats = SampleStats(n=1000, sum=120, sum_sq=120)
    assert stats.mean == pytest.approx(0.12)
    assert stats.variance == pytest.approx(0.12 * 0.88 * 1000 / 999)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": -1, "sum": 0, "sum_sq": 0}, "non-negative integer"),
        ({"n": 2.5, "sum": 0, "sum_sq": 0}, "non-negative integer"),
        ({"n": True, "sum": 0, "sum_sq": 0}, "non-negative integer"),
        ({"n": 10, "sum": float("nan"), "sum_sq": 0}, "finite"),
        ({"n": 10, "sum": "3", "sum_sq": 0}, "must be a number"),
        ({"n": 10, "sum": 1, "sum_sq": -1}, "cannot be negative"),
        ({"n": 10, "sum": 1, "sum_sq": 1, "cov_sum": 1}, "together or not at all"),
    ],
)
def test_malformed_stats_are_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SampleStats(**kwargs)


ARM = SampleStats(n=100, sum=50, sum_sq=80)


@pytest.mark.parametrize(
    ("control", "treatment", "kwargs", "message"),
    [
        (SampleStats(n=1, sum=1, sum_sq=1), ARM, {}, "control has 1 unit"),
        (ARM, SampleStats(n=0, sum=0, sum_sq=0), {}, "treatment has 0 unit"),
        (SampleStats(n=50, sum=0, sum_sq=0), ARM, {"relative": True}, "control mean is 0"),
        (  # every unit is 0.1 in both arms
            SampleStats(n=50, sum=5, sum_sq=0.5),
            SampleStats(n=50, sum=5, sum_sq=0.5),
            {"relative": False},
            "no variance",
        ),
        (
            SampleStats(n=50, sum=0, sum_sq=0, cov_sum=0, cov_sum_sq=0, cross_sum=0),
            SampleStats(n=50, sum=3, sum_sq=3, cov_sum=9, cov_sum_sq=20, cross_sum=5),
            {"ratio": True},
            "denominator sums to 0 in control",
        ),
    ],
)
def test_data_that_cannot_answer_yet_says_why(control, treatment, kwargs, message) -> None:
    for method in ("fixed", "sequential", "bayesian"):
        with pytest.raises(InsufficientDataError, match=message):
            compare(control, treatment, method=method, **kwargs)


def test_zero_variance_in_one_arm_still_answers() -> None:
    control = SampleStats(n=200, sum=600, sum_sq=1800)  # every unit is 3
    treatment = SampleStats(n=200, sum=700, sum_sq=2600)
    result = compare(control, treatment, method="fixed", relative=False)
    assert result.degrees_of_freedom == pytest.approx(199)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "frequentist"}, "method must be one of"),
        ({"alpha": 0}, "alpha"),
        ({"alpha": 1.5}, "alpha"),
        ({"tuning": 0}, "tuning"),
        ({"tuning": float("inf")}, "tuning"),
        ({"ratio": True}, "denominator sums"),
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compare(ARM, SampleStats(n=90, sum=50, sum_sq=70), **kwargs)


def test_one_arm_with_a_covariate_is_rejected() -> None:
    with_covariate = SampleStats(n=90, sum=50, sum_sq=70, cov_sum=1, cov_sum_sq=2, cross_sum=3)
    with pytest.raises(ValueError, match="both arms or neither"):
        compare(ARM, with_covariate)


def test_cuped_without_pre_period_variance_falls_back_to_plain() -> None:
    control = SampleStats(n=100, sum=50, sum_sq=80, cov_sum=100, cov_sum_sq=100, cross_sum=50)
    treatment = SampleStats(n=90, sum=50, sum_sq=70, cov_sum=90, cov_sum_sq=90, cross_sum=50)
    adjusted = compare(control, treatment, method="fixed")
    plain = compare(control, treatment, method="fixed", cuped=False)
    assert adjusted.theta == 0.0
    assert adjusted.effect == plain.effect and adjusted.ci_low == plain.ci_low
