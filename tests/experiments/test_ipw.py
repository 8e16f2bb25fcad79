"""Inverse-propensity-weighted effects: unbiased under a time trend where naive means are not."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.ipw import (
    IpwMoments,
    Stratum,
    effect_and_variance,
    estimate_arms,
    interval,
    ipw_effects,
    moments_from_arrays,
    moments_from_strata,
)
from experiments.stats import InsufficientDataError, SampleStats, compare
from experiments.stats.sequential import always_valid_p_value

# A bandit-like log: two batches; the population converts more in the second batch, and
# the bandit gave arm b most of the second batch. True lift of b: +20 % relative in both.
BASES = (0.05, 0.15)
SHARE_B = (0.5, 0.9)
LIFT = 0.2
UNITS = 20_000  # per batch
TRUE_MEANS = {"c": np.mean(BASES), "b": np.mean(BASES) * (1 + LIFT)}


def simulate_strata(
    rng: np.random.Generator, runs: int
) -> tuple[dict[str, IpwMoments], dict[str, np.ndarray]]:
    """Vectorised over `runs` simulated experiments: per-arm IPW moments (arrays) and the
    plain per-arm means."""
    sums = {arm: np.zeros((6, runs)) for arm in ("c", "b")}
    plain = {arm: np.zeros((2, runs)) for arm in ("c", "b")}
    for base, share_b in zip(BASES, SHARE_B, strict=True):
        n_b = rng.binomial(UNITS, share_b, runs)
        for arm, n, p, rate in (
            ("b", n_b, share_b, base * (1 + LIFT)),
            ("c", UNITS - n_b, 1 - share_b, base),
        ):
            y = rng.binomial(n, rate)
            sums[arm] += np.array([n, n / p, y / p, n / p**2, y / p**2, y / p**2])
            plain[arm] += np.array([n, y])
    return (
        {arm: IpwMoments(*s) for arm, s in sums.items()},
        {arm: y / n for arm, (n, y) in plain.items()},
    )


@pytest.mark.parametrize("estimator", ["hajek", "horvitz_thompson"])
@pytest.mark.parametrize("relative", [False, True])
def test_unbiased_with_a_time_trend_while_the_naive_mean_is_not(estimator, relative) -> None:
    runs = 4000
    moments, plain = simulate_strata(np.random.default_rng(1), runs)
    n_total = moments["c"].n + moments["b"].n
    effect, var, _, _ = effect_and_variance(
        moments["c"], moments["b"], n_total, estimator=estimator, relative=relative
    )
    truth = LIFT if relative else TRUE_MEANS["b"] - TRUE_MEANS["c"]
    error = effect - truth
    if relative:
        # A ratio of two estimates has an O(1/n) bias (Jensen); it is small beside the effect.
        assert abs(error.mean()) < 0.05 * truth
    else:
        assert abs(error.mean()) < 4 * error.std() / np.sqrt(runs)
    # The variance estimate matches the spread over runs.
    assert var.mean() == pytest.approx(error.var(), rel=0.1)
    # Intervals at one look cover at the nominal rate.
    half, _ = interval(effect, var, n_total, method="fixed", alpha=0.05, tuning=1)
    coverage = (np.abs(error) <= half).mean()
    assert 0.935 <= coverage <= 0.965

    # The naive per-arm means: b got most of the good batch, so it looks much better.
    naive = plain["b"] / plain["c"] - 1 if relative else plain["b"] - plain["c"]
    naive_error = naive - truth
    assert naive_error.mean() > 10 * naive_error.std() / np.sqrt(runs)
    assert naive_error.mean() > 0.5 * truth


def test_strata_and_arrays_give_the_same_moments() -> None:
    rng = np.random.default_rng(2)
    arms, outcomes, propensities, strata = [], [], [], []
    for batch, weights in enumerate([{"a": 0.5, "b": 0.5}, {"a": 0.2, "b": 0.8}]):
        for arm, p in weights.items():
            n = 300 + 100 * batch
            y = rng.lognormal(0, 1, n) * (rng.random(n) < 0.3)
            arms += [arm] * n
            outcomes += list(y)
            propensities += [p] * n
            strata.append(
                Stratum(
                    arm=arm,
                    propensity=p,
                    stats=SampleStats(n=n, sum=float(y.sum()), sum_sq=float((y**2).sum())),
                )
            )
    from_arrays = moments_from_arrays(np.array(arms), outcomes, propensities)
    from_strata = moments_from_strata(strata)
    for arm in ("a", "b"):
        for field in ("n", "w", "wy", "w2", "w2y", "w2y2"):
            assert getattr(from_strata[arm], field) == pytest.approx(
                getattr(from_arrays[arm], field), rel=1e-12
            )
    effects_a = ipw_effects(from_arrays, control="a")
    effects_s = ipw_effects(from_strata, control="a")
    assert effects_a["b"].effect == pytest.approx(effects_s["b"].effect, rel=1e-12)
    assert effects_a["b"].ci_low == pytest.approx(effects_s["b"].ci_low, rel=1e-12)


def test_constant_propensities_reduce_to_the_plain_difference() -> None:
    """Without a bandit, Hajek is the plain difference of means, its variance about Welch's."""
    rng = np.random.default_rng(3)
    y_a = rng.normal(10, 3, 2000)
    y_b = rng.normal(10.4, 4, 2000)
    strata = [
        Stratum(
            arm=k, propensity=0.5, stats=SampleStats(n=y.size, sum=y.sum(), sum_sq=(y**2).sum())
        )
        for k, y in (("a", y_a), ("b", y_b))
    ]
    ours = ipw_effects(moments_from_strata(strata), control="a", relative=False, method="fixed")[
        "b"
    ]
    welch = compare(strata[0].stats, strata[1].stats, relative=False, method="fixed")
    assert ours.effect == pytest.approx(welch.effect, rel=1e-12)
    assert ours.std_error == pytest.approx(welch.std_error, rel=0.01)
    assert ours.ci_low == pytest.approx(welch.ci_low, rel=0.01)


def test_sequential_interval_is_the_confidence_sequence() -> None:
    arrays, _ = simulate_strata(np.random.default_rng(4), 1)
    moments = {k: IpwMoments(*(float(v[0]) for v in _fields(m))) for k, m in arrays.items()}
    seq = ipw_effects(moments, control="c", method="sequential", tuning=8000)["b"]
    fixed = ipw_effects(moments, control="c", method="fixed")["b"]
    assert seq.effect == fixed.effect
    assert seq.ci_high - seq.ci_low > fixed.ci_high - fixed.ci_low
    n_total = moments["c"].n + moments["b"].n
    expected_p = always_valid_p_value(
        seq.effect, seq.std_error**2, n_total, alpha=0.05, tuning=8000
    )
    assert seq.p_value == pytest.approx(float(expected_p), rel=1e-12)
    assert seq.significant == (seq.p_value < 0.05)


def _fields(m: IpwMoments) -> tuple:
    return (m.n, m.w, m.wy, m.w2, m.w2y, m.w2y2)


def test_arm_estimates() -> None:
    moments = moments_from_arrays(
        np.array(["a", "a", "b", "b"]), [1.0, 0.0, 1.0, 1.0], [0.5, 0.25, 0.5, 0.75]
    )
    arms = estimate_arms(moments)
    # Hajek: (1/0.5) / (1/0.5 + 1/0.25) = 1/3.
    assert arms["a"].mean == pytest.approx(1 / 3)
    assert arms["b"].mean == pytest.approx(1.0)
    ht = estimate_arms(moments, estimator="horvitz_thompson")
    assert ht["a"].mean == pytest.approx(2 / 4)
    assert ht["b"].mean == pytest.approx((2 + 4 / 3) / 4)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="propensities"):
        moments_from_arrays(np.array(["a"]), [1.0], [0.0])
    with pytest.raises(ValueError, match="propensities"):
        moments_from_strata(
            [Stratum(arm="a", propensity=1.5, stats=SampleStats(n=1, sum=1, sum_sq=1))]
        )
    with pytest.raises(ValueError, match="one length"):
        moments_from_arrays(np.array(["a", "b"]), [1.0], [0.5])
    with pytest.raises(ValueError, match="control"):
        ipw_effects(moments_from_arrays(np.array(["a", "b"]), [1.0, 0], [0.5, 0.5]), control="z")
    with pytest.raises(ValueError, match="estimator"):
        ipw_effects(
            moments_from_arrays(np.array(["a", "a", "b", "b"]), [1.0, 0, 1, 0], [0.5] * 4),
            control="a",
            estimator="naive",
        )
    with pytest.raises(InsufficientDataError, match="unit"):
        ipw_effects(
            moments_from_arrays(np.array(["a", "b", "b"]), [1.0, 0, 1], [0.5] * 3), control="a"
        )
