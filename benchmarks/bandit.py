"""Bandit by simulation: regret against an equal split, and IPW effects against naive ones.

Vectorised numpy over many simulated bandits at once, through the same functions the
product uses (experiments.bandit.proportion_weights, which thompson_weights wraps, and
experiments.ipw.effect_and_variance / interval):

- A 3-arm Bernoulli bandit with known conversion rates (4.0 %, 4.5 %, 5.0 %) over 20 daily
  batches of 3,000 units, whose traffic converts more as the weeks go by (a time trend:
  the rates rise by half over the 20 days). Top-two Thompson sampling (beta 0.5, floor
  5 %) recomputes the weights after every day from the data so far.
- Cumulative regret (expected conversions lost against always showing the best arm) of
  the bandit beside a fixed equal split's.
- The best arm's lift over the first arm (control), estimated after the last day by IPW
  (Hajek, Horvitz-Thompson) with each batch's logged propensities, beside the naive
  comparison of pooled per-arm means (what a t-test on bandit data does): bias, RMSE
  and coverage of the 95 % intervals (fixed at one look, and the sequential confidence
  sequence).

    python benchmarks/bandit.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from experiments.bandit import proportion_weights
from experiments.ipw import IpwMoments, effect_and_variance, interval
from experiments.stats import SampleStats, compare
from experiments.stats.effect import difference

RUNS = 1_000
DAYS = 20
UNITS_PER_DAY = 3_000
RATES = np.array([0.040, 0.045, 0.050])
TREND = np.linspace(0.8, 1.2, DAYS)  # the day's multiplier of every arm's rate
FLOOR = 0.05
BETA = 0.5
DRAWS = 1_000  # Monte Carlo draws per bandit and day (the product's default is 20,000)
ALPHA = 0.05
SEED = 20_240_614


def simulate(rng: np.random.Generator) -> dict[str, Any]:
    k = RATES.size
    weights = np.full((RUNS, k), 1 / k)
    n = np.zeros((RUNS, k))
    conversions = np.zeros((RUNS, k))
    # IPW moments per arm: Σ1/π, Σy/π, Σ1/π², Σy/π², Σy²/π² (y² = y for conversions).
    w, wy, w2, w2y = (np.zeros((RUNS, k)) for _ in range(4))
    regret = np.zeros(RUNS)
    best_share = np.zeros((DAYS, RUNS))
    for day in range(DAYS):
        rates = RATES * TREND[day]
        units = np.array([rng.multinomial(UNITS_PER_DAY, row) for row in weights])
        converted = rng.binomial(units.astype(int), rates)
        regret += (units * (rates.max() - rates)).sum(axis=1)
        n += units
        conversions += converted
        w += units / weights
        wy += converted / weights
        w2 += units / weights**2
        w2y += converted / weights**2
        best_share[day] = weights[:, -1]
        weights, _ = proportion_weights(
            n, conversions, rng=rng, beta=BETA, floor=FLOOR, draws=DRAWS
        )
    equal_regret = UNITS_PER_DAY * (TREND * (RATES.max() - RATES).mean()).sum()
    return {
        "n": n,
        "conversions": conversions,
        "moments": [
            IpwMoments(n[:, i], w[:, i], wy[:, i], w2[:, i], w2y[:, i], w2y[:, i]) for i in range(k)
        ],
        "regret": regret,
        "equal_regret": equal_regret,
        "final_weights": weights,
        "best_share": best_share,
    }


def estimates(sim: dict[str, Any], *, relative: bool) -> dict[str, dict[str, float]]:
    """The best arm (last) against control (first): relative lift or absolute difference."""
    # The trend multiplies every arm alike, so the truth is the rates' over the mean day.
    scale = TREND.mean()
    truth = RATES[-1] / RATES[0] - 1 if relative else (RATES[-1] - RATES[0]) * scale
    control, best = sim["moments"][0], sim["moments"][-1]
    n_total = sim["n"].sum(axis=1)
    rows: dict[str, dict[str, float]] = {}
    for estimator in ("hajek", "horvitz_thompson"):
        effect, var, _, _ = effect_and_variance(
            control, best, n_total, estimator=estimator, relative=relative
        )
        fixed, _ = interval(effect, var, n_total, method="fixed", alpha=ALPHA, tuning=1)
        seq, _ = interval(
            effect, var, n_total, method="sequential", alpha=ALPHA, tuning=DAYS * UNITS_PER_DAY
        )
        rows[estimator] = summary(effect, truth, fixed, seq)
    # Naive: pooled per-arm means and Welch's interval, exactly as compare() computes them
    # (checked on the first run).
    n, y = sim["n"], sim["conversions"]
    mean_c, mean_b = y[:, 0] / n[:, 0], y[:, -1] / n[:, -1]
    var_c = mean_c * (1 - mean_c) * n[:, 0] / (n[:, 0] - 1)
    var_b = mean_b * (1 - mean_b) * n[:, -1] / (n[:, -1] - 1)
    naive, naive_var = difference(
        mean_c, var_c, n[:, 0], mean_b, var_b, n[:, -1], relative=relative
    )
    check = compare(
        SampleStats(n=int(n[0, 0]), sum=y[0, 0], sum_sq=y[0, 0]),
        SampleStats(n=int(n[0, -1]), sum=y[0, -1], sum_sq=y[0, -1]),
        method="fixed",
        relative=relative,
    )
    assert np.isclose(check.effect, naive[0], rtol=1e-9)
    assert np.isclose(check.std_error**2, naive_var[0], rtol=1e-9)
    half = 1.959964 * np.sqrt(naive_var)
    rows["naive"] = summary(naive, truth, half, half * np.nan)
    rows["naive"]["truth"] = truth
    return rows


def summary(
    effect: np.ndarray, truth: float, fixed: np.ndarray, seq: np.ndarray
) -> dict[str, float]:
    error = effect - truth
    return {
        "bias": float(error.mean()),
        "bias_se": float(error.std() / np.sqrt(error.size)),
        "rmse": float(np.sqrt((error**2).mean())),
        "coverage_fixed": float((np.abs(error) <= fixed).mean()),
        "coverage_sequential": float((np.abs(error) <= seq).mean()),
    }


def main() -> dict[str, Any]:
    start = time.perf_counter()
    rng = np.random.default_rng(SEED)
    sim = simulate(rng)
    rows = {relative: estimates(sim, relative=relative) for relative in (True, False)}
    elapsed = time.perf_counter() - start
    ratio = sim["regret"].mean() / sim["equal_regret"]

    print(f"== Bandit by simulation (seed {SEED}, {RUNS:,} runs, {elapsed:.1f} s) ==")
    print(
        f"3 arms converting {', '.join(f'{r:.1%}' for r in RATES)} (x{TREND[0]:.1f} on day 1 "
        f"rising to x{TREND[-1]:.1f} on day {DAYS}), {DAYS} daily batches of "
        f"{UNITS_PER_DAY:,} units; top-two Thompson sampling, beta {BETA}, floor {FLOOR:.0%}"
    )
    print(
        f"  cumulative regret (conversions lost vs the best arm): bandit "
        f"{sim['regret'].mean():,.0f} (5-95 % {np.percentile(sim['regret'], 5):,.0f}-"
        f"{np.percentile(sim['regret'], 95):,.0f}), equal split {sim['equal_regret']:,.0f}: "
        f"ratio {ratio:.2f}"
    )
    share = sim["best_share"].mean(axis=1)
    print(
        f"  best arm's share: day 1 {share[0]:.0%}, day 5 {share[4]:.0%}, day 10 {share[9]:.0%}, "
        f"day {DAYS} {share[-1]:.0%} (top-two keeps about half on the runner-up)"
    )
    for relative, what, unit in ((False, "difference", "pp"), (True, "relative lift", "%")):
        truth = rows[relative]["naive"].pop("truth")
        factor = 100
        print(
            f"  best arm vs control, {what} (truth {truth * factor:+.3f} {unit}), after day {DAYS}:"
        )
        for name, label in (
            ("hajek", "IPW Hajek           "),
            ("horvitz_thompson", "IPW Horvitz-Thompson"),
            ("naive", "naive pooled means  "),
        ):
            r = rows[relative][name]
            sequential = f", sequential {r['coverage_sequential']:.1%}" if name != "naive" else ""
            print(
                f"    {label} bias {r['bias'] * factor:+.3f} {unit} "
                f"({r['bias'] / r['bias_se']:+.1f} SE, {r['bias'] / truth:+.0%} of the truth), "
                f"RMSE {r['rmse'] * factor:.3f} {unit}; 95 % coverage: fixed "
                f"{r['coverage_fixed']:.1%}{sequential}"
            )
    return {
        "regret": float(sim["regret"].mean()),
        "equal_regret": float(sim["equal_regret"]),
        "regret_ratio": float(ratio),
        "difference": rows[False],
        "relative": rows[True],
        "seconds": elapsed,
    }


if __name__ == "__main__":
    main()
