"""Known truth by simulation (fixed seeds, a few seconds): intervals cover as promised."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.stats import SampleStats, compare

EXPERIMENTS = 600
LOOKS = 10
UNITS_PER_LOOK = 500  # per arm
RATE = 0.1


def conversions(seed: int, lift: float) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative conversions per look, shape (EXPERIMENTS, LOOKS), for control and treatment."""
    rng = np.random.default_rng(seed)
    shape = (EXPERIMENTS, LOOKS)
    control = rng.binomial(UNITS_PER_LOOK, RATE, shape).cumsum(axis=1)
    treatment = rng.binomial(UNITS_PER_LOOK, RATE * (1 + lift), shape).cumsum(axis=1)
    return control, treatment


def arm(n: int, converted: int) -> SampleStats:
    return SampleStats(n=n, sum=int(converted), sum_sq=int(converted))


def misses(method: str, lift: float, *, relative: bool, seed: int, looks: range) -> float:
    """Share of experiments whose interval excluded the true effect at any of `looks`."""
    control, treatment = conversions(seed, lift)
    truth = lift if relative else RATE * lift
    missed = 0
    for i in range(EXPERIMENTS):
        for look in looks:
            n = UNITS_PER_LOOK * (look + 1)
            result = compare(
                arm(n, control[i, look]),
                arm(n, treatment[i, look]),
                method=method,
                relative=relative,
                tuning=2 * UNITS_PER_LOOK * LOOKS,
            )
            if not result.ci_low <= truth <= result.ci_high:
                missed += 1
                break
    return missed / EXPERIMENTS


@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative"])
def test_fixed_interval_covers_95_percent_at_its_one_look(relative: bool) -> None:
    rate = misses("fixed", 0.0, relative=relative, seed=11, looks=range(LOOKS - 1, LOOKS))
    # 600 experiments: the standard error of a 5 % rate is 0.9 points.
    assert 0.025 <= rate <= 0.075


def test_peeking_at_the_fixed_interval_breaks_it() -> None:
    assert misses("fixed", 0.0, relative=True, seed=12, looks=range(LOOKS)) > 0.10


@pytest.mark.parametrize(
    ("lift", "relative"),
    [(0.0, False), (0.0, True), (0.2, True)],
    ids=["null absolute", "null relative", "lift 20 % relative"],
)
def test_confidence_sequence_covers_at_every_look(lift: float, relative: bool) -> None:
    assert misses("sequential", lift, relative=relative, seed=13, looks=range(LOOKS)) <= 0.05
