"""Top-two Thompson sampling with a floor: weights, determinism, convergence, exploration."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.bandit import (
    apply_floor,
    next_weights,
    posterior_draws,
    proportion_weights,
    thompson_weights,
    top_two_allocation,
)
from experiments.stats import SampleStats


def conv(n: int, conversions: int) -> SampleStats:
    return SampleStats(n=n, sum=conversions, sum_sq=conversions)


def random_arms(rng: np.random.Generator, k: int) -> dict[str, SampleStats]:
    arms = {}
    for i in range(k):
        n = int(rng.integers(0, 5000))
        arms[f"arm{i}"] = conv(n, int(rng.binomial(n, rng.uniform(0.01, 0.3))))
    return arms


@pytest.mark.parametrize("case", range(20))
@pytest.mark.parametrize("floor", [0.0, 0.02, 0.1])
def test_weights_sum_to_one_and_respect_the_floor(case: int, floor: float) -> None:
    rng = np.random.default_rng(case)
    k = int(rng.integers(2, 7))
    update = thompson_weights(random_arms(rng, k), seed=case, floor=floor, draws=2000)
    weights = np.array(list(update.weights.values()))
    assert weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert weights.min() >= floor - 1e-12
    assert sum(update.probability_best.values()) == pytest.approx(1.0)


def test_deterministic_for_a_seed() -> None:
    arms = {"a": conv(400, 40), "b": conv(400, 46), "c": conv(400, 44)}
    first = thompson_weights(arms, seed=7)
    assert thompson_weights(arms, seed=7) == first
    other = thompson_weights(arms, seed=8)
    assert other.weights != first.weights  # the seed is really used
    # ... but the Monte Carlo error is small: 20,000 draws.
    for key in arms:
        assert other.weights[key] == pytest.approx(first.weights[key], abs=0.02)


def test_floor_is_water_filling() -> None:
    assert list(apply_floor(np.array([0.5, 0.3, 0.2]), 0.1)) == pytest.approx([0.5, 0.3, 0.2])
    # The arm under the floor is raised; the others give way in proportion to their weight.
    assert list(apply_floor(np.array([0.99, 0.01, 0.0]), 0.05)) == pytest.approx([0.9, 0.05, 0.05])
    assert list(apply_floor(np.array([0.6, 0.4, 0.0]), 0.1)) == pytest.approx([0.54, 0.36, 0.1])
    assert list(apply_floor(np.array([1.0, 0.0]), 0.5)) == pytest.approx([0.5, 0.5])


def test_top_two_formula_matches_the_algorithm_played_out() -> None:
    """Russo's TTTS played literally (draw, leader; with prob 1 - beta resample until a
    different leader appears) allocates as the closed form computes it."""
    arms = {"a": conv(200, 20), "b": conv(200, 26), "c": conv(200, 24), "d": conv(200, 17)}
    rng = np.random.default_rng(3)
    samples = posterior_draws(arms, metric="proportion", rng=rng, draws=200_000)
    psi, p = top_two_allocation(samples, beta=0.5)

    # Simulate the algorithm: leader from one draw; challenger = first later draw whose
    # leader differs (fresh, independent draws).
    play_rng = np.random.default_rng(4)
    leaders = samples.argmax(axis=1)
    plays = np.empty(40_000, dtype=int)
    for t in range(plays.size):
        leader = leaders[play_rng.integers(leaders.size)]
        if play_rng.random() < 0.5:
            plays[t] = leader
            continue
        while True:
            challenger = leaders[play_rng.integers(leaders.size)]
            if challenger != leader:
                plays[t] = challenger
                break
    played = np.bincount(plays, minlength=4) / plays.size
    assert played == pytest.approx(psi, abs=0.01)
    assert p.argmax() == 1


def test_top_two_keeps_the_runner_up_explored() -> None:
    # c is clearly best, b a clear second, a far behind.
    arms = {"a": conv(5000, 250), "b": conv(5000, 480), "c": conv(5000, 560)}
    plain = thompson_weights(arms, seed=1, beta=1.0, floor=0.05)
    top_two = thompson_weights(arms, seed=1, beta=0.5, floor=0.05)
    assert plain.weights["c"] > 0.89
    assert plain.weights["b"] == pytest.approx(0.05)  # plain Thompson starves the runner-up
    # The leader gets beta and the runner-up the challenger's turn, both scaled by 0.95 to
    # make room for a's floor.
    assert top_two.weights["c"] == pytest.approx(0.5 * 0.95, abs=0.01)
    assert top_two.weights["b"] == pytest.approx(0.5 * 0.95, abs=0.01)
    assert top_two.weights["a"] == pytest.approx(0.05)


def test_two_arms_with_beta_one_half_stay_even() -> None:
    """With two arms the challenger is always the other arm: w = beta·p + (1 - beta)·(1 - p)."""
    arms = {"a": conv(1000, 100), "b": conv(1000, 120)}
    even = thompson_weights(arms, seed=2, beta=0.5)
    assert even.weights == pytest.approx({"a": 0.5, "b": 0.5})
    leaning = thompson_weights(arms, seed=2, beta=0.9, floor=0.0)
    p_b = leaning.probability_best["b"]
    assert leaning.weights["b"] == pytest.approx(0.9 * p_b + 0.1 * (1 - p_b))


def test_converges_to_the_best_arm_in_simulation() -> None:
    """3 arms with known conversion rates, 20 daily batches of 3,000 units."""
    rates = np.array([0.040, 0.050, 0.060])
    rng = np.random.default_rng(11)
    keys = ["a", "b", "c"]
    weights = dict.fromkeys(keys, 1 / 3)
    n = np.zeros(3, dtype=int)
    conversions = np.zeros(3, dtype=int)
    for batch in range(20):
        units = rng.multinomial(3000, [weights[k] for k in keys])
        n += units
        conversions += rng.binomial(units, rates)
        update = next_weights(
            weights,
            {k: conv(int(n[i]), int(conversions[i])) for i, k in enumerate(keys)},
            seed=batch,
        )
        weights = update.weights
    assert update.probability_best["c"] > 0.95
    # beta = 0.5: the leader keeps half (less the floor), the runner-up gets the challenger's
    # turn, so b ties with c, and the clearly worst arm is down to the floor.
    assert weights["c"] == pytest.approx(0.475, abs=0.01)
    assert weights["c"] >= max(weights.values()) - 0.01
    assert weights["a"] < 0.1  # the worst arm is down to about the floor
    # Over the whole run the worst arm got far less than an equal split's third.
    assert n[0] / n.sum() < 0.1
    assert n[2] / n.sum() > 0.4


def test_continuous_metric_and_lower_is_better() -> None:
    rng = np.random.default_rng(0)
    values = {k: rng.lognormal(np.log(m), 0.8, 2000) for k, m in [("a", 30), ("b", 36), ("c", 30)]}
    arms = {
        k: SampleStats(n=v.size, sum=float(v.sum()), sum_sq=float((v**2).sum()))
        for k, v in values.items()
    }
    higher = thompson_weights(arms, metric="continuous", seed=1, beta=1.0)
    assert higher.probability_best["b"] > 0.99
    lower = thompson_weights(arms, metric="continuous", seed=1, beta=1.0, lower_is_better=True)
    assert lower.probability_best["b"] < 0.01
    # Arms without data are as uncertain as one pooled unit, not an error.
    empty = thompson_weights(
        {"a": SampleStats(n=0, sum=0, sum_sq=0), "b": arms["b"]}, metric="continuous", seed=1
    )
    assert sum(empty.weights.values()) == pytest.approx(1.0)


def test_previous_weights_are_kept_until_every_arm_has_min_units() -> None:
    previous = {"a": 0.2, "b": 0.8}
    window = {"a": conv(30, 10), "b": conv(500, 5)}
    update = next_weights(previous, window, seed=1, min_units=50, beta=1.0)
    assert update.kept_previous
    assert update.weights == {"a": 0.2, "b": 0.8}
    moved = next_weights(previous, window, seed=1, min_units=30, beta=1.0)
    assert not moved.kept_previous
    assert moved.weights["a"] > 0.9


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"floor": 0.6}, "floor"),
        ({"beta": 0.0}, "beta"),
        ({"draws": 10}, "draws"),
        ({"metric": "ratio"}, "metric"),
    ],
)
def test_bad_configuration_is_a_value_error(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        thompson_weights({"a": conv(10, 1), "b": conv(10, 2)}, seed=1, **kwargs)


def test_bad_input_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="conversions"):
        thompson_weights({"a": conv(10, 11), "b": conv(10, 2)}, seed=1)
    with pytest.raises(ValueError, match="two arms"):
        thompson_weights({"a": conv(10, 1)}, seed=1)
    with pytest.raises(ValueError, match="same arms"):
        next_weights({"a": 0.5, "b": 0.5}, {"a": conv(10, 1), "c": conv(10, 1)}, seed=1)
    with pytest.raises(ValueError, match="previous weights"):
        next_weights({"a": 0, "b": 0}, {"a": conv(10, 1), "b": conv(10, 1)}, seed=1)


def test_vectorised_weights_match_one_bandit_at_a_time() -> None:
    n = np.array([[400, 400, 400], [1000, 200, 50]])
    conversions = np.array([[40, 46, 44], [90, 30, 2]])
    weights, p = proportion_weights(n, conversions, rng=np.random.default_rng(9), draws=5000)
    assert weights.sum(axis=1) == pytest.approx([1.0, 1.0])
    one = thompson_weights(
        {k: conv(int(n[0, i]), int(conversions[0, i])) for i, k in enumerate("abc")},
        seed=9,
        draws=5000,
    )
    # The first bandit consumes the generator first: the same draws, the same answer.
    assert list(one.weights.values()) == pytest.approx(list(weights[0]), rel=1e-12)
    assert list(one.probability_best.values()) == pytest.approx(list(p[0]), rel=1e-12)
    assert weights[1].min() >= 0.05 - 1e-12
    assert p[1].argmax() == 1  # 30/200 beats 90/1,000 and 2/50
