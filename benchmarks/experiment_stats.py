"""Experiment statistics by simulation: error rates and power with known truth.

Vectorised numpy over thousands of simulated experiments, through the same functions
`experiments.stats.compare()` uses (and checked against compare() on a sample of them):

- 2,000 A/A experiments looked at daily for 14 days: how often the sequential test
  (always-valid p-value) ever says "significant", beside a naive t-test under the same
  peeking and the t-test looked at once at the end; for a conversion metric and a skewed
  revenue metric. Target: <= 5 %.
- Power for a +5 % relative lift on a 10 % conversion rate at the fixed-horizon sample for
  80 % power: the sequential test with daily peeks vs the fixed-horizon test at the end,
  each beside its prediction by experiments.stats.Design.
- SRM: detection rate on an experiment configured 50/50 that really splits 51/49, at
  20,000 units, beside the chi-square test's theoretical power; and false alarms on a true
  90/10 split (target: the 0.1 % threshold, by construction of the test).

    python benchmarks/experiment_stats.py
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import optimize, stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from experiments.stats import Design, SampleStats, compare, proportion_variance
from experiments.stats.effect import difference, welch_degrees_of_freedom
from experiments.stats.frequentist import t_test
from experiments.stats.sample import mean, variance
from experiments.stats.sequential import always_valid_p_value
from experiments.stats.srm import DEFAULT_THRESHOLD, srm_p_values

EXPERIMENTS = 2_000
DAYS = 14
ALPHA = 0.05
RATE = 0.10
LIFT = 0.05
SEED = 20_240_614

Arm = dict[str, Any]  # cumulative n, sum, sum_sq per experiment (rows) and day (columns)


def daily_n(units_per_day: int) -> np.ndarray:
    return np.broadcast_to(units_per_day * np.arange(1, DAYS + 1), (EXPERIMENTS, DAYS))


def conversions(rng: np.random.Generator, units_per_day: int, rate: float) -> Arm:
    converted = rng.binomial(units_per_day, rate, (EXPERIMENTS, DAYS)).cumsum(axis=1)
    return {"n": daily_n(units_per_day), "sum": converted, "sum_sq": converted}


def revenue(rng: np.random.Generator, units_per_day: int) -> Arm:
    """Skewed revenue per unit: 5 % buy, lognormal basket (median 30, long right tail)."""
    total = np.zeros((EXPERIMENTS, DAYS))
    total_sq = np.zeros((EXPERIMENTS, DAYS))
    for day in range(DAYS):
        buys = rng.random((EXPERIMENTS, units_per_day)) < 0.05
        basket = rng.lognormal(np.log(30.0), 0.8, (EXPERIMENTS, units_per_day))
        value = np.where(buys, basket, 0.0)
        total[:, day] = value.sum(axis=1)
        total_sq[:, day] = (value * value).sum(axis=1)
    return {
        "n": daily_n(units_per_day),
        "sum": total.cumsum(axis=1),
        "sum_sq": total_sq.cumsum(axis=1),
    }


def p_values(control: Arm, treatment: Arm, *, tuning: float) -> tuple[np.ndarray, np.ndarray]:
    """(Welch t-test, always-valid sequential) p-values of the relative lift, per day."""
    mean_a, var_a = mean(control["n"], control["sum"]), variance(*control.values())
    mean_b, var_b = mean(treatment["n"], treatment["sum"]), variance(*treatment.values())
    n_a, n_b = control["n"], treatment["n"]
    effect, var = difference(mean_a, var_a, n_a, mean_b, var_b, n_b, relative=True)
    naive, _ = t_test(effect, var, welch_degrees_of_freedom(var_a, n_a, var_b, n_b), ALPHA)
    sequential = always_valid_p_value(effect, var, n_a + n_b, alpha=ALPHA, tuning=tuning)
    return naive, sequential


def check_against_compare(control: Arm, treatment: Arm, naive, sequential, tuning) -> None:
    """The vectorised path answers exactly what compare() answers."""
    for i, day in [(0, 0), (7, 5), (EXPERIMENTS - 1, DAYS - 1)]:
        a, b = (
            SampleStats(
                n=int(arm["n"][i, day]),
                sum=float(arm["sum"][i, day]),
                sum_sq=float(arm["sum_sq"][i, day]),
            )
            for arm in (control, treatment)
        )
        fixed = compare(a, b, method="fixed")
        seq = compare(a, b, method="sequential", tuning=tuning)
        assert np.isclose(fixed.p_value, naive[i, day], rtol=1e-9, atol=0)
        assert np.isclose(seq.p_value, sequential[i, day], rtol=1e-9, atol=0)


def peeking(control: Arm, treatment: Arm, *, tuning: float) -> dict[str, Any]:
    naive, sequential = p_values(control, treatment, tuning=tuning)
    check_against_compare(control, treatment, naive, sequential, tuning)
    rejected = sequential < ALPHA
    first_day = np.where(rejected.any(axis=1), rejected.argmax(axis=1) + 1, 0)
    return {
        "sequential_any": float(rejected.any(axis=1).mean()),
        "naive_any": float((naive < ALPHA).any(axis=1).mean()),
        "fixed_final": float((naive[:, -1] < ALPHA).mean()),
        "median_stop_day": float(np.median(first_day[first_day > 0])) if first_day.any() else 0,
    }


def aa_tests(rng: np.random.Generator) -> dict[str, dict[str, Any]]:
    units_per_day = 1_000  # per arm
    tuning = 2 * units_per_day * DAYS  # the planned total sample
    return {
        "conversion": peeking(
            conversions(rng, units_per_day, RATE),
            conversions(rng, units_per_day, RATE),
            tuning=tuning,
        ),
        "revenue": peeking(revenue(rng, units_per_day), revenue(rng, units_per_day), tuning=tuning),
    }


def power_test(rng: np.random.Generator) -> dict[str, Any]:
    fixed_design = Design(
        baseline_mean=RATE, baseline_variance=proportion_variance(RATE), method="fixed"
    )
    units = fixed_design.units_per_arm(lift=LIFT, power=0.8)
    units_per_day = -(-units // DAYS)
    units = units_per_day * DAYS
    sequential_design = Design(
        baseline_mean=RATE, baseline_variance=proportion_variance(RATE), method="sequential"
    )
    result = peeking(
        conversions(rng, units_per_day, RATE),
        conversions(rng, units_per_day, RATE * (1 + LIFT)),
        tuning=2 * units,
    )
    return {
        "units_per_arm": units,
        "fixed": result["fixed_final"],
        "fixed_predicted": fixed_design.power(lift=LIFT, units_per_arm=units),
        "sequential": result["sequential_any"],
        "sequential_predicted_final_look": sequential_design.power(lift=LIFT, units_per_arm=units),
        "sequential_units_for_80": sequential_design.units_per_arm(lift=LIFT, power=0.8),
        "median_stop_day": result["median_stop_day"],
    }


def srm_tests(rng: np.random.Generator, repetitions: int = 100_000) -> dict[str, float]:
    units = 20_000
    skewed = rng.multinomial(units, [0.51, 0.49], size=repetitions)
    uneven = rng.multinomial(units, [0.9, 0.1], size=repetitions)
    detected = float((srm_p_values(skewed, [0.5, 0.5]) < DEFAULT_THRESHOLD).mean())
    false_alarms = float((srm_p_values(uneven, [0.9, 0.1]) < DEFAULT_THRESHOLD).mean())
    # Pearson's chi-square is noncentral under the alternative: lambda = N * sum((p - q)^2 / q).
    noncentrality = units * sum((p - q) ** 2 / q for p, q in [(0.51, 0.5), (0.49, 0.5)])
    critical = stats.chi2.isf(DEFAULT_THRESHOLD, 1)
    per_unit = noncentrality / units
    needed = optimize.brentq(lambda n: stats.ncx2.sf(critical, 1, n * per_unit) - 0.8, 1, 1e9)
    return {
        "units_for_80": math.ceil(needed),
        "repetitions": repetitions,
        "detected": detected,
        "detected_theory": float(stats.ncx2.sf(critical, 1, noncentrality)),
        "false_alarms": false_alarms,
    }


def main() -> dict[str, Any]:
    start = time.perf_counter()
    rng = np.random.default_rng(SEED)
    aa = aa_tests(rng)
    power = power_test(rng)
    srm = srm_tests(rng)
    elapsed = time.perf_counter() - start

    print(f"== Experiment statistics by simulation (seed {SEED}, {elapsed:.1f} s) ==")
    print(
        f"A/A: {EXPERIMENTS:,} experiments, 1,000 units per arm a day, {DAYS} daily peeks, "
        f"alpha = {ALPHA:.0%}; share ever 'significant' (target <= 5 %):"
    )
    for metric, row in aa.items():
        print(
            f"  {metric:<10} sequential {row['sequential_any']:6.1%} "
            f"({row['sequential_any'] / ALPHA:.2f}x of target) | naive t-test peeking "
            f"{row['naive_any']:6.1%} ({row['naive_any'] / ALPHA:.2f}x) | t-test once at the "
            f"end {row['fixed_final']:6.1%} ({row['fixed_final'] / ALPHA:.2f}x)"
        )
    print(
        f"Power, +{LIFT:.0%} relative lift on a {RATE:.0%} conversion rate, "
        f"{power['units_per_arm']:,} units per arm (the fixed-horizon sample for 80 %):"
    )
    print(
        f"  fixed horizon, one look at day {DAYS}: {power['fixed']:.1%} "
        f"(predicted {power['fixed_predicted']:.1%}; ratio {power['fixed'] / power['fixed_predicted']:.2f})"  # noqa: E501
    )
    print(
        f"  sequential, {DAYS} daily peeks:       {power['sequential']:.1%} "
        f"(final-look lower bound {power['sequential_predicted_final_look']:.1%}; "
        f"{power['sequential'] / power['fixed']:.2f}x of fixed-horizon power); "
        f"median stop on day {power['median_stop_day']:.0f}; "
        f"80 % sequential power needs {power['sequential_units_for_80']:,} units per arm"
    )
    print(f"SRM at p < {DEFAULT_THRESHOLD} over {srm['repetitions']:,} simulated experiments:")
    print(
        f"  50/50 configured, really 51/49, 20,000 units: detected {srm['detected']:.1%} "
        f"(theoretical chi-square power {srm['detected_theory']:.1%}; "
        f"ratio {srm['detected'] / srm['detected_theory']:.2f}); 80 % detection needs "
        f"{srm['units_for_80']:,} units"
    )
    print(
        f"  90/10 configured and true: false alarms {srm['false_alarms']:.3%} "
        f"(target: the {DEFAULT_THRESHOLD:.1%} threshold; "
        f"{srm['false_alarms'] / DEFAULT_THRESHOLD:.2f}x)"
    )
    return {"aa": aa, "power": power, "srm": srm, "seconds": elapsed}


if __name__ == "__main__":
    main()
