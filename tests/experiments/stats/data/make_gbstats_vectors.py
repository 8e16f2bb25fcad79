"""Regenerate gbstats_vectors.json from GrowthBook's `gbstats` (the reference implementation).

gbstats pins numpy < 2, so it runs in a throwaway virtualenv, never in the project's:

    python3 -m venv /tmp/gbstats-venv && /tmp/gbstats-venv/bin/pip install gbstats
    /tmp/gbstats-venv/bin/python tests/experiments/stats/data/make_gbstats_vectors.py

The arms' sufficient statistics come from simulated unit-level data (fixed seed), so the
cases look like real experiments: conversions, skewed revenue, a pre-period covariate
correlated with the metric, ratio metrics. tests/experiments/stats/test_gbstats_vectors.py
checks experiments.stats against the frozen outputs. Not a test module: pytest only
collects test_*.py.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import numpy as np
from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig, GaussianPrior
from gbstats.frequentist.tests import (
    FrequentistConfig,
    SequentialConfig,
    SequentialTwoSidedTTest,
    TwoSidedTTest,
)
from gbstats.models.statistics import (
    RatioStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
)
from gbstats.utils import check_srm

OUT = Path(__file__).with_name("gbstats_vectors.json")
rng = np.random.default_rng(20240614)


def sums(y, x=None) -> dict:
    arm = {"n": int(y.size), "sum": float(y.sum()), "sum_sq": float((y * y).sum())}
    if x is not None:
        arm |= {
            "cov_sum": float(x.sum()),
            "cov_sum_sq": float((x * x).sum()),
            "cross_sum": float((x * y).sum()),
        }
    return arm


def mean_stat(arm: dict) -> SampleMeanStatistic:
    return SampleMeanStatistic(n=arm["n"], sum=arm["sum"], sum_squares=arm["sum_sq"])


def covariate_stat(arm: dict) -> SampleMeanStatistic:
    return SampleMeanStatistic(n=arm["n"], sum=arm["cov_sum"], sum_squares=arm["cov_sum_sq"])


def frequentist(result) -> dict:
    return {"effect": result.expected, "ci": list(result.ci), "p_value": result.p_value}


def bayesian(result) -> dict:
    return {
        "effect": result.expected,
        "ci": list(result.ci),
        "chance_to_win": result.chance_to_win,
        "risk_control": result.risk[0],
        "risk_treatment": result.risk[1],
    }


def run_all(make_stats, case: dict) -> dict:
    """Every method on one pair of arms; make_stats builds fresh gbstats statistics."""
    out = {}
    for scale in ("absolute", "relative"):
        out[f"fixed_{scale}"] = frequentist(
            TwoSidedTTest(*make_stats(), FrequentistConfig(difference_type=scale)).compute_result()
        )
        for tuning in (5000, 50000):
            for alpha in (0.05, 0.1):
                config = SequentialConfig(
                    difference_type=scale, alpha=alpha, sequential_tuning_parameter=tuning
                )
                out[f"sequential_{scale}_{tuning}_{alpha}"] = frequentist(
                    SequentialTwoSidedTTest(*make_stats(), config).compute_result()
                )
        out[f"bayesian_{scale}_flat"] = bayesian(
            EffectBayesianABTest(
                *make_stats(), EffectBayesianConfig(difference_type=scale)
            ).compute_result()
        )
        prior = GaussianPrior(mean=0.01, variance=0.05**2, proper=True)
        out[f"bayesian_{scale}_prior"] = bayesian(
            EffectBayesianABTest(
                *make_stats(),
                EffectBayesianConfig(difference_type=scale, prior_effect=prior),
            ).compute_result()
        )
    return {**case, "expected": out}


def mean_case(name: str, control_y, treatment_y) -> dict:
    case = {
        "name": name,
        "kind": "mean",
        "control": sums(control_y),
        "treatment": sums(treatment_y),
    }
    return run_all(lambda: (mean_stat(case["control"]), mean_stat(case["treatment"])), case)


def cuped_case(name: str, control: tuple, treatment: tuple) -> dict:
    case = {"name": name, "kind": "cuped", "control": sums(*control), "treatment": sums(*treatment)}

    def make():
        stats = [
            RegressionAdjustedStatistic(
                n=arm["n"],
                post_statistic=mean_stat(arm),
                pre_statistic=covariate_stat(arm),
                post_pre_sum_of_products=arm["cross_sum"],
                theta=0,
            )
            for arm in (case["control"], case["treatment"])
        ]
        return stats

    result = run_all(make, case)
    probe = TwoSidedTTest(*make())
    result["theta"] = probe.stat_a.theta
    return result


def ratio_case(name: str, control: tuple, treatment: tuple) -> dict:
    case = {"name": name, "kind": "ratio", "control": sums(*control), "treatment": sums(*treatment)}

    def make():
        return [
            RatioStatistic(
                n=arm["n"],
                m_statistic=mean_stat(arm),
                d_statistic=covariate_stat(arm),
                m_d_sum_of_products=arm["cross_sum"],
            )
            for arm in (case["control"], case["treatment"])
        ]

    return run_all(make, case)


def revenue(n: int, rate: float, scale: float):
    return rng.binomial(1, rate, n) * rng.lognormal(np.log(scale), 1.0, n)


def with_pre_period(n: int, lift: float):
    pre = rng.gamma(2.0, 10.0, n)
    post = 0.8 * pre + rng.normal(5.0, 6.0, n) * (1 + lift)
    return post, pre


def sessions_and_clicks(n: int, ctr: float):
    sessions = rng.poisson(3.0, n) + 1
    clicks = rng.binomial(sessions, ctr)
    return clicks.astype(float), sessions.astype(float)


cases = [
    mean_case("conversion, +10 %", rng.binomial(1, 0.10, 8000), rng.binomial(1, 0.11, 8100)),
    mean_case("conversion, A/A", rng.binomial(1, 0.32, 2500), rng.binomial(1, 0.32, 2450)),
    mean_case("conversion, small", rng.binomial(1, 0.2, 60), rng.binomial(1, 0.3, 55)),
    mean_case("revenue, -3 %", revenue(20000, 0.05, 40.0), revenue(19800, 0.05, 38.8)),
    mean_case("count, unequal arms", rng.poisson(2.0, 3000), rng.poisson(2.3, 900)),
    mean_case("negative mean", rng.normal(-4.0, 3.0, 1500), rng.normal(-3.7, 3.5, 1400)),
    cuped_case("cuped, +2 %", with_pre_period(5000, 0.0), with_pre_period(5100, 0.02)),
    cuped_case("cuped, small", with_pre_period(80, 0.0), with_pre_period(90, 0.1)),
    ratio_case(
        "ratio, ctr +5 %", sessions_and_clicks(6000, 0.10), sessions_and_clicks(6000, 0.105)
    ),
    ratio_case("ratio, small", sessions_and_clicks(200, 0.3), sessions_and_clicks(180, 0.25)),
]

srm_cases = [
    {"counts": counts, "weights": weights, "p_value": check_srm(counts, weights)}
    for counts, weights in [
        ([5100, 4900], [0.5, 0.5]),
        ([5000, 5000], [0.5, 0.5]),
        ([1010, 980, 1003], [1 / 3, 1 / 3, 1 / 3]),
        ([9050, 950], [0.9, 0.1]),
        ([8800, 1200], [0.9, 0.1]),
        ([450, 4400, 4600], [0.05, 0.475, 0.475]),
        ([10, 20, 30, 40], [1, 2, 3, 4]),
        ([101, 99], [2, 2]),
    ]
]

OUT.write_text(
    json.dumps(
        {
            "generator": "tests/experiments/stats/data/make_gbstats_vectors.py",
            "gbstats_version": importlib.metadata.version("gbstats"),
            "numpy_version": np.__version__,
            "cases": cases,
            "srm": srm_cases,
        },
        indent=1,
    )
    + "\n"
)
print(f"wrote {len(cases)} cases and {len(srm_cases)} SRM cases to {OUT}")
