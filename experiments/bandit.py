"""Bandit allocation: top-two Thompson sampling with a per-arm weight floor. Pure: no Django.

A bandit experiment moves traffic towards the arms that look best while it runs. Every
batch (a Celery beat tick, e.g. daily) the caller passes each arm's sufficient statistics
for the primary metric over the batch window and gets the weights of the next batch:

    from experiments.bandit import next_weights
    update = next_weights(
        previous={"a": 0.34, "b": 0.33, "c": 0.33},
        window={"a": SampleStats(n=900, sum=81, sum_sq=81), ...},
        metric="proportion",
        seed=20240614 * 1000 + batch_number,
    )
    update.weights            # {"a": 0.21, "b": 0.05, "c": 0.74}: sums to 1, each >= floor

The allocation is Russo's top-two Thompson sampling ("Simple Bayesian algorithms for best
arm identification", 2016) with β = 0.5: with probability β play the arm a posterior draw
says is best, otherwise the best arm of a fresh draw that disagrees with it (the
challenger). Given p_i = P(arm i is best) under the posterior, the implied allocation is

    ψ_i = β·p_i + (1 - β)·p_i·Σ_{j≠i} p_j / (1 - p_j)

(the challenger of leader j is arm i with probability p_i / (1 - p_j)). p is estimated by
Monte Carlo from `draws` joint posterior samples with a seeded numpy Generator, so the
answer is deterministic for a given seed. Plain Thompson sampling (β = 1) pours almost all
traffic into the leader as soon as it leads; top-two keeps the runner-up measured, which is
what identifies the best arm quickly and keeps the effect estimates usable.

The floor: every arm keeps at least `floor` of the traffic. Arms below it are raised to it
and the rest of the traffic is shared by the others in proportion to ψ (water-filling),
so a losing arm is still seen. The floor bounds the inverse-propensity weights 1/π by
1/floor, which keeps the IPW effect estimates (experiments.ipw) of bounded variance and
their normal intervals valid.

Posteriors (documented priors):
- "proportion" (conversion: y ∈ {0, 1}, sum = conversions): Beta(1 + conversions,
  1 + n - conversions), i.e. a uniform Beta(1, 1) prior on each arm's rate (`prior_a`,
  `prior_b` change it).
- "continuous" (revenue per unit, ...): the arm mean is Normal(m, σ²/(n + n0)) with
  m = (Σy + n0·m0)/(n + n0): a normal prior worth n0 = `prior_units` units (default 1)
  centred on the pooled mean m0 of all arms, and σ² the arm's sample variance (the pooled
  variance while the arm has fewer than 2 units or no spread). An arm with no data is
  therefore as uncertain as one unit of the pooled metric.

Batches: the window is whatever the caller sums: the phase's data so far (the usual
choice: the arms' true rates are assumed stable) or a sliding window of recent batches
if they drift. Until every arm has `min_units` units in the window the previous weights
are kept, so that a handful of early conversions does not swing the traffic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from experiments.stats import SampleStats

BanditMetric = Literal["proportion", "continuous"]
DEFAULT_BETA = 0.5
DEFAULT_FLOOR = 0.05
DEFAULT_DRAWS = 20_000
DEFAULT_MIN_UNITS = 50


@dataclass(frozen=True, slots=True)
class BanditUpdate:
    """The next batch's weights and why."""

    weights: dict[str, float]  # sums to 1, every arm >= floor
    probability_best: dict[str, float]  # P(arm is best) under the posterior (Monte Carlo)
    kept_previous: bool  # True while some arm has fewer than min_units in the window


def _validate(
    stats: Mapping[str, SampleStats], *, floor: float, beta: float, draws: int, metric: str
) -> None:
    if len(stats) < 2:
        raise ValueError("a bandit needs at least two arms")
    if not all(isinstance(s, SampleStats) for s in stats.values()):
        raise ValueError("every arm's statistics must be a SampleStats")
    if not (isinstance(floor, int | float) and floor >= 0 and floor * len(stats) <= 1):
        raise ValueError(f"floor must be in [0, 1/arms] = [0, {1 / len(stats):.4f}], got {floor!r}")
    if not (isinstance(beta, int | float) and 0 < beta <= 1):
        raise ValueError(f"beta (the top-two parameter) must be in (0, 1], got {beta!r}")
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 100:
        raise ValueError(f"draws must be an integer >= 100, got {draws!r}")
    if metric not in ("proportion", "continuous"):
        raise ValueError(f"metric must be 'proportion' or 'continuous', got {metric!r}")
    if metric == "proportion":
        for key, s in stats.items():
            if not 0 <= s.sum <= s.n:
                raise ValueError(
                    f"arm {key!r}: conversions ({s.sum}) must be between 0 and n ({s.n})"
                )


def posterior_draws(
    stats: Mapping[str, SampleStats],
    *,
    metric: BanditMetric,
    rng: np.random.Generator,
    draws: int,
    prior_a: float = 1.0,
    prior_b: float = 1.0,
    prior_units: float = 1.0,
) -> np.ndarray:
    """Joint posterior samples of the arms' means: shape (draws, arms), arms in dict order."""
    arms = list(stats.values())
    if metric == "proportion":
        a = np.array([prior_a + s.sum for s in arms], dtype=float)
        b = np.array([prior_b + s.n - s.sum for s in arms], dtype=float)
        return rng.beta(a, b, size=(draws, len(arms)))
    n = np.array([s.n for s in arms], dtype=float)
    total_n = n.sum()
    total = sum(s.sum for s in arms)
    pooled_mean = total / total_n if total_n else 0.0
    pooled_var = (
        (sum(s.sum_sq for s in arms) - total * pooled_mean) / (total_n - 1) if total_n > 1 else 0.0
    )
    if not pooled_var > 0:
        # No spread anywhere yet: a unit variance keeps the draws exploratory.
        pooled_var = 1.0
    var = np.array([s.variance if s.n > 1 and s.variance > 0 else pooled_var for s in arms])
    post_n = n + prior_units
    post_mean = (np.array([s.sum for s in arms]) + prior_units * pooled_mean) / post_n
    return rng.normal(post_mean, np.sqrt(var / post_n), size=(draws, len(arms)))


def top_two_allocation(
    samples: np.ndarray, *, beta: float = DEFAULT_BETA
) -> tuple[np.ndarray, np.ndarray]:
    """(ψ, p) from posterior samples: top-two allocation and P(best).

    `samples` has shape (..., draws, arms); leading axes are independent problems (the
    benchmark runs thousands of bandits at once), and ψ and p have shape (..., arms).
    """
    k = samples.shape[-1]
    order = np.argsort(samples, axis=-1)
    best, second = order[..., -1], order[..., -2]
    arms = np.arange(k)
    p = (best[..., None] == arms).mean(axis=-2)
    # challenger[..., j, i] = P(challenger is i | leader is j) = p_i / (1 - p_j), i ≠ j.
    with np.errstate(divide="ignore", invalid="ignore"):
        challenger = p[..., None, :] / (1 - p[..., :, None])
    # A leader that won every draw leaves P(best) silent about the others: share its
    # challenger's turn by how often each arm came second in the draws.
    runner_up = (second[..., None] == arms).mean(axis=-2)
    certain = p >= 1
    challenger = np.where(certain[..., :, None], runner_up[..., None, :], challenger)
    challenger = np.where(np.eye(k, dtype=bool), 0.0, challenger)
    psi = beta * p + (1 - beta) * np.einsum("...j,...ji->...i", p, challenger)
    return psi / psi.sum(axis=-1, keepdims=True), p


def apply_floor(weights: np.ndarray, floor: float) -> np.ndarray:
    """Raise every weight to at least `floor`, taking the difference from the others in
    proportion to their weight (water-filling). Sums to 1 along the last axis."""
    w = np.asarray(weights, dtype=float)
    w = w / w.sum(axis=-1, keepdims=True)
    k = w.shape[-1]
    if floor * k > 1 + 1e-12:
        raise ValueError("floor x arms exceeds 1")
    pinned = np.zeros(w.shape, dtype=bool)
    scaled = w
    for _ in range(k):
        free = ~pinned
        budget = 1 - floor * pinned.sum(axis=-1, keepdims=True)
        share = np.where(free, w, 0.0).sum(axis=-1, keepdims=True)
        n_free = np.maximum(free.sum(axis=-1, keepdims=True), 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            spread = np.where(share > 0, w * budget / share, budget / n_free)
        scaled = np.where(free, spread, floor)
        low = free & (scaled < floor)
        if not low.any():
            break
        pinned |= low
    return scaled


def proportion_weights(
    n: np.ndarray,
    conversions: np.ndarray,
    *,
    rng: np.random.Generator,
    beta: float = DEFAULT_BETA,
    floor: float = DEFAULT_FLOOR,
    draws: int = DEFAULT_DRAWS,
    prior_a: float = 1.0,
    prior_b: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised top-two weights for conversion metrics: `n` and `conversions` of shape
    (..., arms) (many bandits at once); returns (weights, P(best)) of the same shape.
    Unvalidated: thompson_weights is the checked entry point for one bandit."""
    a = prior_a + np.asarray(conversions, dtype=float)
    b = prior_b + np.asarray(n, dtype=float) - np.asarray(conversions, dtype=float)
    shape = (*a.shape[:-1], draws, a.shape[-1])
    samples = rng.beta(a[..., None, :], b[..., None, :], size=shape)
    psi, p = top_two_allocation(samples, beta=beta)
    return apply_floor(psi, floor), p


def thompson_weights(
    stats: Mapping[str, SampleStats],
    *,
    metric: BanditMetric = "proportion",
    seed: int,
    beta: float = DEFAULT_BETA,
    floor: float = DEFAULT_FLOOR,
    draws: int = DEFAULT_DRAWS,
    lower_is_better: bool = False,
    prior_a: float = 1.0,
    prior_b: float = 1.0,
    prior_units: float = 1.0,
) -> BanditUpdate:
    """Top-two Thompson sampling weights from each arm's statistics (see the module doc)."""
    _validate(stats, floor=floor, beta=beta, draws=draws, metric=metric)
    rng = np.random.default_rng(seed)
    samples = posterior_draws(
        stats,
        metric=metric,
        rng=rng,
        draws=draws,
        prior_a=prior_a,
        prior_b=prior_b,
        prior_units=prior_units,
    )
    if lower_is_better:
        samples = -samples
    psi, p = top_two_allocation(samples, beta=beta)
    weights = apply_floor(psi, floor)
    keys = list(stats)
    return BanditUpdate(
        weights={key: float(w) for key, w in zip(keys, weights, strict=True)},
        probability_best={key: float(v) for key, v in zip(keys, p, strict=True)},
        kept_previous=False,
    )


def next_weights(
    previous: Mapping[str, float],
    window: Mapping[str, SampleStats],
    *,
    metric: BanditMetric = "proportion",
    seed: int,
    beta: float = DEFAULT_BETA,
    floor: float = DEFAULT_FLOOR,
    draws: int = DEFAULT_DRAWS,
    min_units: int = DEFAULT_MIN_UNITS,
    lower_is_better: bool = False,
    prior_a: float = 1.0,
    prior_b: float = 1.0,
    prior_units: float = 1.0,
) -> BanditUpdate:
    """One batch update: the weights of the next batch from the previous weights and the
    arms' statistics over the batch window.

    The arms of `previous` and `window` must be the same. While some arm has fewer than
    `min_units` units in the window the previous weights are kept (normalised); after that
    the answer depends only on the window and the seed (pass a different seed per batch,
    e.g. derived from the experiment's seed and the batch number).
    """
    if set(previous) != set(window):
        raise ValueError(
            "previous weights and window statistics must name the same arms; got "
            f"{sorted(previous)} and {sorted(window)}"
        )
    values = list(previous.values())
    if (
        not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
            for v in values
        )
        or not sum(values) > 0
    ):
        raise ValueError("previous weights must be non-negative numbers, not all zero")
    if isinstance(min_units, bool) or not isinstance(min_units, int) or min_units < 0:
        raise ValueError(f"min_units must be a non-negative integer, got {min_units!r}")
    update = thompson_weights(
        {key: window[key] for key in previous},
        metric=metric,
        seed=seed,
        beta=beta,
        floor=floor,
        draws=draws,
        lower_is_better=lower_is_better,
        prior_a=prior_a,
        prior_b=prior_b,
        prior_units=prior_units,
    )
    if min(window[key].n for key in previous) < min_units:
        total = sum(values)
        return BanditUpdate(
            weights={key: float(v) / total for key, v in previous.items()},
            probability_best=update.probability_best,
            kept_previous=True,
        )
    return update
